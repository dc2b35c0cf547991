/* test_header: lib/header Authorization: Bearer parsing and header-value safety. */
#include "header.h"
#include "suites.h"

#include <string.h>

/* header_bearer(value): the result and the token when it is 1. */
static const struct {
	const char *value;
	int rc;
	const char *token;
} bearer_cases[] = {
	{ "", 0, NULL },
	{ "Bearer abc", 1, "abc" },
	{ "bearer abc", 1, "abc" },
	{ "BEARER abc", 1, "abc" },
	{ "BeArEr abc", 1, "abc" },
	{ "Bearer abc==", 1, "abc==" },
	{ "Bearer a=", 1, "a=" },
	{ "Bearer AZaz09-._~+/", 1, "AZaz09-._~+/" },
	{ "Bearer pst_s_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", 1,
	  "pst_s_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG" },
	{ "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", 1,
	  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl" },
	{ "Bearer  abc", -1, NULL }, /* two spaces */
	{ "Bearer", -1, NULL },
	{ "Bearer ", -1, NULL },
	{ "Bearer =", -1, NULL }, /* token68 needs one character before the '=' */
	{ "Bearer ==", -1, NULL },
	{ "Bearer ab=c", -1, NULL }, /* '=' only at the end */
	{ "Bearer abc= ", -1, NULL },
	{ "Bearer abc ", -1, NULL }, /* trailing space */
	{ " Bearer abc", -1, NULL }, /* leading space */
	{ "Bearer\tabc", -1, NULL },
	{ "Bearer abc\t", -1, NULL },
	{ "Bearer a b", -1, NULL },
	{ "Bearer a,Bearer b", -1, NULL }, /* several credentials */
	{ "Bearer a, Bearer b", -1, NULL },
	{ "Bearer abc,", -1, NULL },
	{ ",Bearer abc", -1, NULL },
	{ "Basic abc", -1, NULL },
	{ "Basic YWxhZGRpbjpvcGVuc2VzYW1l", -1, NULL },
	{ "Token abc", -1, NULL },
	{ "Bearerx abc", -1, NULL },
	{ "Bearerabc", -1, NULL },
	{ "Beare abc", -1, NULL },
	{ "abc", -1, NULL },
	{ "Bearer a\"b", -1, NULL },
	{ "Bearer a;b", -1, NULL },
	{ "Bearer a\x7f", -1, NULL },
	{ "Bearer a\r\nX: y", -1, NULL },
	{ "Bearer \xc3\xa9", -1, NULL },
	{ "Bearer realm=\"x\"", -1, NULL },
};

START_TEST(test_bearer)
{
	const char *value = bearer_cases[_i].value, *tok = "untouched";
	size_t len = 999;
	int rc = header_bearer(value, &tok, &len);

	ck_assert_msg(rc == bearer_cases[_i].rc, "header_bearer(\"%s\") = %d", value, rc);
	if (rc == 1) {
		ck_assert_uint_eq(len, strlen(bearer_cases[_i].token));
		ck_assert_mem_eq(tok, bearer_cases[_i].token, len);
		ck_assert_ptr_eq(tok, value + 7);
	} else {
		ck_assert_str_eq(tok, "untouched");
		ck_assert_uint_eq(len, 999);
	}
}
END_TEST

START_TEST(test_bearer_bounds)
{
	static char v[HEADER_VALUE_MAX + 2];
	const char *tok;
	size_t len;

	ck_assert_int_eq(header_bearer(NULL, &tok, &len), 0);
	memset(v, 'a', sizeof v);
	memcpy(v, "Bearer ", 7);
	v[HEADER_VALUE_MAX] = '\0';
	ck_assert_int_eq(header_bearer(v, &tok, &len), 1);
	ck_assert_uint_eq(len, HEADER_VALUE_MAX - 7);
	v[HEADER_VALUE_MAX] = 'a';
	v[HEADER_VALUE_MAX + 1] = '\0';
	ck_assert_int_eq(header_bearer(v, &tok, &len), -1);
}
END_TEST

static const struct {
	const char *s;
	size_t len;
	bool safe;
} safe_cases[] = {
	{ "", 0, true },
	{ "alice", 5, true },
	{ "alice@example.org", 17, true },
	{ "read write admin", 16, true },
	{ "J\xc3\xa9r\xc3\xb4me", 8, true }, /* non-ASCII passes */
	{ "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", 32, true },
	{ "a\rb", 3, false },
	{ "a\nb", 3, false },
	{ "a\r\nVariable-REMOTE_USER: admin", 30, false },
	{ "a\tb", 3, false },
	{ "a\0b", 3, false }, /* NUL inside the given length */
	{ "\x01", 1, false },
	{ "\x1f", 1, false },
	{ "a\x7f", 2, false },
	{ "\x7f", 1, false },
};

START_TEST(test_value_safe)
{
	ck_assert_msg(header_value_safe(safe_cases[_i].s, safe_cases[_i].len) ==
	                  safe_cases[_i].safe,
	              "header_value_safe case %d", _i);
}
END_TEST

START_TEST(test_value_safe_bounds)
{
	ck_assert(header_value_safe(NULL, 0));
	ck_assert(header_value_safe("ab\n", 2)); /* len is the bound */
	for (int c = 0; c < 256; c++) {
		char b = (char)c;
		ck_assert(header_value_safe(&b, 1) == (c >= 0x20 && c != 0x7f));
	}
}
END_TEST

Suite *suite_header(void)
{
	Suite *s = suite_create("header");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bearer, 0, sizeof bearer_cases / sizeof bearer_cases[0]);
	tcase_add_test(tc, test_bearer_bounds);
	tcase_add_loop_test(tc, test_value_safe, 0, sizeof safe_cases / sizeof safe_cases[0]);
	tcase_add_test(tc, test_value_safe_bounds);
	suite_add_tcase(s, tc);
	return s;
}
