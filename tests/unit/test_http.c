/* test_http: the pure part of lib/http: percent-encoding (its URL check is test_url's). */
#include "http.h"
#include "suites.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *in;
	const char *out;
} escape_cases[] = {
	{ "", "" },
	{ "postern", "postern" },
	{ "AZaz09-._~", "AZaz09-._~" },
	{ "a b", "a%20b" },
	{ "a+b", "a%2Bb" },
	{ "k=v&x=y", "k%3Dv%26x%3Dy" },
	{ "https://rp.example/cb?x=1#f", "https%3A%2F%2Frp.example%2Fcb%3Fx%3D1%23f" },
	{ "100%", "100%25" },
	{ "caf\xc3\xa9", "caf%C3%A9" },
	{ "\x01\x7f\xff", "%01%7F%FF" },
	{ "p@ss:w\"rd'", "p%40ss%3Aw%22rd%27" },
};

START_TEST(test_escape)
{
	char *got = http_escape(escape_cases[_i].in);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, escape_cases[_i].out);
	free(got);
}
END_TEST

Suite *suite_http(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_escape, 0, sizeof escape_cases / sizeof escape_cases[0]);
	suite_add_tcase(s, tc);
	return s;
}
