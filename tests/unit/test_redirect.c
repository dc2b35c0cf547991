/* test_redirect: the open-redirect payload table for return_to (lib/redirect). */
#include "redirect.h"
#include "suites.h"

static const struct {
	const char *target;
	bool ok;
} redirect_cases[] = {
	{ "/", true },
	{ "/app/page?x=1&y=%2A#frag", true },
	{ "/a%20b", false },
	{ "https://spa.example/after", true },
	{ "https://SPA.example", true },
	{ "https://spa.example:8443/x", true },
	{ "", false },
	{ "//evil.example", false },
	{ "///evil.example", false },
	{ "/\\evil.example", false },
	{ "\\\\evil.example", false },
	{ "/\t/evil.example", false },
	{ "/\n/evil.example", false },
	{ " /x", false },
	{ "/%2F/evil.example", false },
	{ "/%2f%2fevil.example", false },
	{ "/%5Cevil.example", false },
	{ "/%09/evil.example", false },
	{ "/x%0d%0aSet-Cookie:a=b", false },
	{ "/x%", false },
	{ "https://evil.example", false },
	{ "https://spa.example.evil.example/", false },
	{ "https://spa.example@evil.example/", false },
	{ "http://spa.example/", false }, /* scheme is part of the origin */
	{ "javascript:alert(1)", false },
	{ "JavaScript://%0aalert(1)", false },
	{ "data:text/html,<script>", false },
	{ "evil.example", false },
	{ "https:/evil.example", false },
	{ "/caf\xc3\xa9", false }, /* raw non-ASCII: must arrive percent-encoded */
};

START_TEST(test_redirects)
{
	ck_assert_msg(redirect_target_ok(redirect_cases[_i].target,
	                                 "https://spa.example "
	                                 "https://spa.example:8443") == redirect_cases[_i].ok,
	              "case %d: %s", _i, redirect_cases[_i].target);
}
END_TEST

Suite *suite_redirect(void)
{
	Suite *s = suite_create("redirect");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_redirects, 0,
	                    sizeof redirect_cases / sizeof redirect_cases[0]);
	suite_add_tcase(s, tc);
	return s;
}
