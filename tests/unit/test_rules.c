/* test_rules: rule compilation and first-match by method, host and path (lib/rules). */
#include "rules.h"
#include "suites.h"

#include <string.h>

static struct rule_row row(const char *id, const char *pattern, const char *access,
                           const char *methods, const char *host)
{
	struct rule_row r = {
		.id = id,
		.priority = id,
		.host = host,
		.methods = methods,
		.path_pattern = pattern,
		.access = access,
		.allow_api_keys = "t",
		.allow_shared_links = "f",
		.require_csrf_token = "f",
		.require_elevation = "f",
	};
	return r;
}

static struct rules *rules_of(const struct rule_row *rows, size_t n)
{
	struct rules *rs = rules_new();
	char err[128];

	ck_assert_ptr_nonnull(rs);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(rules_add(rs, &rows[i], err, sizeof err) == 0, "%s", err);
	return rs;
}

/* pattern, path, matches? */
static const struct {
	const char *pattern, *path;
	bool match;
} path_cases[] = {
	{ "/", "/", true },
	{ "/", "/a", false },
	{ "/**", "/", true },
	{ "/**", "/a/b/c", true },
	{ "/admin", "/admin", true },
	{ "/admin", "/admin/", true }, /* a directory index is the same resource */
	{ "/admin", "/admin/x", false },
	{ "/admin", "/adminx", false },
	{ "/admin", "/ADMIN", false },
	{ "/admin/**", "/admin", true },
	{ "/admin/**", "/admin/", true },
	{ "/admin/**", "/admin/a/b", true },
	{ "/admin/**", "/administrator", false },
	{ "/api/*/items", "/api/v1/items", true },
	{ "/api/*/items", "/api/items", false },
	{ "/api/*/items", "/api/v1/v2/items", false },
	{ "/api/*", "/api/", false }, /* "*" is one non-empty segment */
	{ "/api/*/**", "/api/v1", true },
	{ "/auth/login", "/auth/login", true },
	{ "/auth/login", "/auth/logins", false },
};

START_TEST(test_path_matching)
{
	struct rule_row r = row("1", path_cases[_i].pattern, "public", NULL, NULL);
	struct rules *rs = rules_of(&r, 1);

	ck_assert_msg((rules_match(rs, "GET", NULL, path_cases[_i].path) != NULL) ==
	                  path_cases[_i].match,
	              "%s vs %s", path_cases[_i].pattern, path_cases[_i].path);
	rules_free(rs);
}
END_TEST

START_TEST(test_first_match_methods_hosts)
{
	const struct rule_row rows[] = {
		row("1", "/auth/login", "public", "GET HEAD", NULL),
		row("2", "/admin/**", "admin", NULL, "admin.example"),
		row("3", "/admin/**", "deny", NULL, NULL),
		row("4", "/**", "authenticated", NULL, NULL),
	};
	struct rules *rs = rules_of(rows, 4);
	const struct rule *r;

	ck_assert_uint_eq(rules_count(rs), 4);
	ck_assert_int_eq(rules_match(rs, "GET", NULL, "/auth/login")->id, 1);
	ck_assert_int_eq(rules_match(rs, "HEAD", NULL, "/auth/login")->id, 1);
	ck_assert_int_eq(rules_match(rs, "POST", NULL, "/auth/login")->id, 4);
	ck_assert_int_eq(rules_match(rs, "get", NULL, "/auth/login")->id,
	                 4); /* methods are exact */
	r = rules_match(rs, "GET", "admin.example", "/admin/x");
	ck_assert_int_eq(r->id, 2);
	ck_assert_int_eq(r->access, ACCESS_ADMIN);
	ck_assert_int_eq(rules_match(rs, "GET", "ADMIN.example:8443", "/admin/x")->id, 2);
	ck_assert_int_eq(rules_match(rs, "GET", "admin.example.evil", "/admin/x")->id, 3);
	ck_assert_int_eq(rules_match(rs, "GET", NULL, "/admin/x")->id, 3);
	ck_assert_int_eq(rules_match(rs, "GET", NULL, "/anything")->id, 4);
	rules_free(rs);
}
END_TEST

START_TEST(test_no_match)
{
	const struct rule_row r = row("1", "/only", "public", NULL, NULL);
	struct rules *rs = rules_of(&r, 1);

	ck_assert_ptr_null(rules_match(rs, "GET", NULL, "/other"));
	rules_free(rs);
}
END_TEST

START_TEST(test_bad_rows_refused)
{
	struct rules *rs = rules_new();
	char err[128];
	struct rule_row r = row("7", "/a/**/b", "public", NULL, NULL);

	ck_assert_int_eq(rules_add(rs, &r, err, sizeof err), -1);
	ck_assert_str_eq(err, "rule 7: bad path_pattern");
	r = row("8", "/a/x*", "public", NULL, NULL);
	ck_assert_int_eq(rules_add(rs, &r, err, sizeof err), -1);
	r = row("9", "/a", "maybe", NULL, NULL);
	ck_assert_int_eq(rules_add(rs, &r, err, sizeof err), -1);
	ck_assert_str_eq(err, "rule 9: bad access");
	r = row("10", "/a", "permission", NULL, NULL); /* no permission named */
	ck_assert_int_eq(rules_add(rs, &r, err, sizeof err), -1);
	r = row("11", "/a", "public", "", NULL);
	ck_assert_int_eq(rules_add(rs, &r, err, sizeof err), -1);
	ck_assert_str_eq(err, "rule 11: bad methods");
	ck_assert_uint_eq(rules_count(rs), 0);
	rules_free(rs);
}
END_TEST

Suite *suite_rules(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_path_matching, 0, sizeof path_cases / sizeof path_cases[0]);
	tcase_add_test(tc, test_first_match_methods_hosts);
	tcase_add_test(tc, test_no_match);
	tcase_add_test(tc, test_bad_rows_refused);
	suite_add_tcase(s, tc);
	return s;
}
