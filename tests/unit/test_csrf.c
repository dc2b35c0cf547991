/* test_csrf: the session-bound token and the cross-site decision table (lib/csrf). */
#include "csrf.h"
#include "suites.h"

#include <string.h>

static const unsigned char key[32] = { 1, 2, 3 };

START_TEST(test_token_bound_to_session)
{
	char a[CSRF_TOKEN_LEN + 1], b[CSRF_TOKEN_LEN + 1];

	ck_assert_int_eq(csrf_token(key, "11111111-1111-1111-1111-111111111111", a), 0);
	ck_assert_int_eq(csrf_token(key, "22222222-2222-2222-2222-222222222222", b), 0);
	ck_assert_uint_eq(strlen(a), CSRF_TOKEN_LEN);
	ck_assert_str_ne(a, b);
	ck_assert(csrf_token_matches(key, "11111111-1111-1111-1111-111111111111", a));
	ck_assert(!csrf_token_matches(key, "22222222-2222-2222-2222-222222222222", a));
	ck_assert(!csrf_token_matches(key, "11111111-1111-1111-1111-111111111111", NULL));
	ck_assert(!csrf_token_matches(key, "11111111-1111-1111-1111-111111111111", ""));
	a[5] ^= 1;
	ck_assert(!csrf_token_matches(key, "11111111-1111-1111-1111-111111111111", a));
}
END_TEST

/* Sec-Fetch-Site, Origin, allowed? (own origin https://app.example, listed https://spa.example) */
static const struct {
	const char *site, *origin;
	bool ok;
} site_cases[] = {
	{ NULL, NULL, true },
	{ "same-origin", NULL, true },
	{ "none", NULL, true },
	{ "same-site", NULL, false },
	{ "cross-site", NULL, false },
	{ "cross-site", "https://evil.example", false },
	{ "cross-site", "https://spa.example", true },
	{ "same-site", "https://app.example", false }, /* lying Origin with same-site */
	{ NULL, "https://app.example", true },
	{ NULL, "https://spa.example", true },
	{ NULL, "http://app.example", false },
	{ NULL, "https://app.example.evil", false },
	{ NULL, "null", false },
	{ NULL, "https://spa.examplex", false },
};

START_TEST(test_same_site)
{
	ck_assert_msg(
	    csrf_same_site_ok(site_cases[_i].site, site_cases[_i].origin, "https://app.example",
	                      "https://other.example https://spa.example") == site_cases[_i].ok,
	    "case %d", _i);
}
END_TEST

Suite *suite_csrf(void)
{
	Suite *s = suite_create("csrf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_token_bound_to_session);
	tcase_add_loop_test(tc, test_same_site, 0, sizeof site_cases / sizeof site_cases[0]);
	suite_add_tcase(s, tc);
	return s;
}
