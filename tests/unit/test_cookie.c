/* test_cookie: lib/cookie lookup of one cookie in a Cookie header. */
#include "cookie.h"
#include "suites.h"

#include <string.h>

/* cookie_find(header, name): the result and the value when it is 1. */
static const struct {
	const char *header, *name;
	int rc;
	const char *value;
} cookie_cases[] = {
	{ "a=1", "a", 1, "1" },
	{ "a=1; b=2", "b", 1, "2" },
	{ "a=1;b=2", "b", 1, "2" },
	{ "a=1;\tb=2", "b", 1, "2" }, /* tab after ';' */
	{ "a=1; \t b=2", "b", 1, "2" },
	{ "a=1; b=2", "c", 0, NULL },
	{ "", "a", 0, NULL },
	{ "a=1; a=1", "a", -1, NULL }, /* duplicate, even with the same value */
	{ "a=1; a=2", "a", -1, NULL },
	{ "a=1; a", "a", 1, "1" },        /* "a" alone is a value without a name */
	{ "a=1; a =2", "a", -1, NULL },   /* spaces around a name do not hide a duplicate */
	{ "a=1; b=2; b=3", "a", 1, "1" }, /* others' duplicates do not matter */
	{ "a=", "a", 1, "" },
	{ "a=\"\"", "a", 1, "" },
	{ "a=\"xyz\"", "a", 1, "xyz" },     /* one pair of quotes stripped */
	{ "a=\"\"xyz\"\"", "a", -1, NULL }, /* only one */
	{ "a=\"xyz", "a", -1, NULL },
	{ "a=xyz\"", "a", -1, NULL },
	{ "a=\"", "a", -1, NULL },
	{ "a=x\"y", "a", -1, NULL },
	{ "a=x y", "a", -1, NULL }, /* space inside */
	{ "a=\"x y\"", "a", -1, NULL },
	{ "a= x", "a", 1, "x" }, /* white space around the value is dropped */
	{ "a=x ; b=2", "a", 1, "x" },
	{ "a=x\t", "a", 1, "x" },
	{ "a=x,y", "a", -1, NULL },    /* ',' is not a cookie-octet */
	{ "a=1, b=2", "a", -1, NULL }, /* ", " is not a separator */
	{ "a=1, b=2", "b", 0, NULL },
	{ "b=2, a=1", "a", 0, NULL },
	{ "x=1; a=1, a=2", "a", -1, NULL },
	{ "a=x\\y", "a", -1, NULL },   /* backslash */
	{ "a=x\x01y", "a", -1, NULL }, /* control */
	{ "a=x\x7fy", "a", -1, NULL },
	{ "a=\xc3\xa9", "a", -1, NULL },    /* non-ASCII */
	{ "b=\xc3\xa9; a=1", "a", 1, "1" }, /* in another cookie it does not matter */
	{ "b=x y; a=1", "a", 1, "1" },
	{ "junk; a=1", "a", 1, "1" }, /* others' malformed pairs are skipped */
	{ "a=1; junk", "a", 1, "1" },
	{ "; ; a=1;;", "a", 1, "1" },
	{ "=x; a=1", "a", 1, "1" },
	{ "a", "a", 0, NULL },
	{ "A=1", "a", 0, NULL },        /* case-sensitive */
	{ "__Host-x=1", "x", 0, NULL }, /* a prefix is part of the name */
	{ "__Host-x=1; x=2", "x", 1, "2" },
	{ "__Host-x=1; x=2", "__Host-x", 1, "1" },
	{ "__Secure-x=1; __Host-x=2", "__Host-x", 1, "2" },
	{ "xa=1; ax=2; a=3", "a", 1, "3" },
	{ "a=b=c", "a", 1, "b=c" }, /* '=' is a cookie-octet */
	{ "a==", "a", 1, "=" },
	{ "a=pst_s_AbC-_09", "a", 1, "pst_s_AbC-_09" },
	{ "a=!#$%&'()*+-./:<=>?@[]^_`{|}~", "a", 1, "!#$%&'()*+-./:<=>?@[]^_`{|}~" },
};

START_TEST(test_find)
{
	const char *h = cookie_cases[_i].header, *want = cookie_cases[_i].value;
	const char *v = "untouched";
	size_t len = 999;
	int rc = cookie_find(h, cookie_cases[_i].name, &v, &len);

	ck_assert_msg(rc == cookie_cases[_i].rc, "cookie_find(\"%s\", \"%s\") = %d", h,
	              cookie_cases[_i].name, rc);
	if (rc == 1) {
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_mem_eq(v, want, len);
		ck_assert(v >= h && v + len <= h + strlen(h));
	} else {
		ck_assert_str_eq(v, "untouched");
		ck_assert_uint_eq(len, 999);
	}
}
END_TEST

START_TEST(test_bounds)
{
	static char h[COOKIE_HEADER_MAX + 2];
	const char *v;
	size_t len;

	ck_assert_int_eq(cookie_find(NULL, "a", &v, &len), 0);
	ck_assert_int_eq(cookie_find("a=1", NULL, &v, &len), -1);
	ck_assert_int_eq(cookie_find("a=1", "", &v, &len), -1);
	ck_assert_int_eq(cookie_find("=1", "", &v, &len), -1);

	/* exactly COOKIE_HEADER_MAX bytes are looked at; one more is refused */
	memset(h, 'x', COOKIE_HEADER_MAX);
	memcpy(h, "a=1; b=", 7);
	h[COOKIE_HEADER_MAX] = '\0';
	ck_assert_int_eq(cookie_find(h, "a", &v, &len), 1);
	ck_assert_ptr_eq(v, h + 2);
	h[COOKIE_HEADER_MAX] = 'x';
	h[COOKIE_HEADER_MAX + 1] = '\0';
	ck_assert_int_eq(cookie_find(h, "a", &v, &len), -1);
	ck_assert_int_eq(cookie_find(h, "c", &v, &len), -1);
}
END_TEST

Suite *suite_cookie(void)
{
	Suite *s = suite_create("cookie");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_find, 0, sizeof cookie_cases / sizeof cookie_cases[0]);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}
