/* test_query: lib/query form-urlencoded lookup and iteration. */
#include "query.h"
#include "suites.h"

#include <string.h>

/* query_get(qs, name): the result and the decoded value when it is 1. */
static const struct {
	const char *qs, *name;
	int rc;
	const char *value;
} query_get_cases[] = {
	{ "a=1&b=2", "a", 1, "1" },
	{ "a=1&b=2", "b", 1, "2" },
	{ "a=1&b=2", "c", 0, NULL },
	{ "", "a", 0, NULL },
	{ "a=1&a=2", "a", -1, NULL },   /* duplicate: ambiguous */
	{ "a=1&a=1", "a", -1, NULL },   /* even with the same value */
	{ "a=1&%61=2", "a", -1, NULL }, /* duplicate after decoding */
	{ "a=1&A=2", "a", 1, "1" },     /* case-sensitive */
	{ "a=1&b=2&a", "a", -1, NULL }, /* a bare name is a pair too */
	{ "a=1&a=2", "b", 0, NULL },    /* other names' duplicates do not matter */
	{ "q=a+b", "q", 1, "a b" },
	{ "q=a%2Bb", "q", 1, "a+b" },
	{ "q=%41%42%63", "q", 1, "ABc" },
	{ "q=%e2%82%ac", "q", 1, "\xe2\x82\xac" },
	{ "a+b=1", "a b", 1, "1" },
	{ "a%20b=1", "a b", 1, "1" },
	{ "a=", "a", 1, "" },
	{ "a", "a", 1, "" },
	{ "a&b", "b", 1, "" },
	{ "=1", "", 1, "1" }, /* an empty name */
	{ "=1&=2", "", -1, NULL },
	{ "a==b", "a", 1, "=b" }, /* split at the first '=' */
	{ "a=1=2", "a", 1, "1=2" },
	{ "a=1&&b=2", "b", 1, "2" }, /* empty pairs skipped */
	{ "&&a=1&&", "a", 1, "1" },
	{ "&", "a", 0, NULL },
	{ "a=1;b=2", "a", 1, "1;b=2" }, /* ';' is not a separator */
	{ "a=1;b=2", "b", 0, NULL },
	{ "a=%", "a", -1, NULL },
	{ "a=%4", "a", -1, NULL },
	{ "a=%zz", "a", -1, NULL },
	{ "a=%4g", "a", -1, NULL },
	{ "a=%%41", "a", -1, NULL },
	{ "a=%00", "a", -1, NULL },     /* decoded NUL */
	{ "a=1&b=%zz", "a", -1, NULL }, /* a malformed string is rejected whole */
	{ "b=%&a=1", "a", -1, NULL },
	{ "%zz=1&a=1", "a", -1, NULL },
	{ "b=%00&a=1", "a", -1, NULL },
	{ "b=%&a=1", "c", -1, NULL },
	{ "token=pst_t_abc&key=x", "token", 1, "pst_t_abc" },
	{ "return_to=%2Fapp%3Fx%3D1%26y", "return_to", 1, "/app?x=1&y" },
};

START_TEST(test_get)
{
	const char *qs = query_get_cases[_i].qs, *want = query_get_cases[_i].value;
	char out[64];
	int rc;

	memset(out, 'X', sizeof out);
	rc = query_get(qs, strlen(qs), query_get_cases[_i].name, out, sizeof out);
	ck_assert_msg(rc == query_get_cases[_i].rc, "query_get(\"%s\", \"%s\") = %d", qs,
	              query_get_cases[_i].name, rc);
	if (rc == 1)
		ck_assert_str_eq(out, want);
	else
		ck_assert_int_eq(out[0], 'X');
}
END_TEST

START_TEST(test_get_bounds)
{
	char out[4];

	memset(out, 'X', sizeof out);
	ck_assert_int_eq(query_get("a=abcd", 6, "a", out, sizeof out), -1); /* 4 + NUL */
	ck_assert_int_eq(out[0], 'X');
	ck_assert_int_eq(query_get("a=abc", 5, "a", out, sizeof out), 1);
	ck_assert_str_eq(out, "abc");
	ck_assert_int_eq(query_get("a=%41%42%43", 11, "a", out, sizeof out), 1); /* decoded fits */
	ck_assert_str_eq(out, "ABC");
	ck_assert_int_eq(query_get("a=", 2, "a", out, 1), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(query_get("a=", 2, "a", out, 0), -1);
	/* another pair too long for out does not matter */
	ck_assert_int_eq(query_get("b=abcdefgh&a=1", 14, "a", out, sizeof out), 1);
	ck_assert_str_eq(out, "1");
	/* len bounds the string: "a=1&a=2" cut after the first pair */
	ck_assert_int_eq(query_get("a=1&a=2", 3, "a", out, sizeof out), 1);
	ck_assert_int_eq(query_get("a=%4", 3, "a", out, sizeof out), -1);
	ck_assert_int_eq(query_get(NULL, 0, "a", out, sizeof out), 0);
	ck_assert_int_eq(query_get("a=1", 3, NULL, out, sizeof out), -1);
	ck_assert_int_eq(query_get("a=1\0&a=2", 8, "a", out, sizeof out), -1); /* raw NUL */
}
END_TEST

START_TEST(test_iter)
{
	static const char qs[] = "a=1&&b+c=%20d&e&=f&a=2&g=&";
	static const char *const want[][2] = {
		{ "a", "1" }, { "b c", " d" }, { "e", "" }, { "", "f" }, { "a", "2" }, { "g", "" },
	};
	struct query_iter it;
	char name[16], value[16];

	query_iter_init(&it, qs, strlen(qs));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 1);
		ck_assert_str_eq(name, want[i][0]);
		ck_assert_str_eq(value, want[i][1]);
	}
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 0);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 0);
}
END_TEST

START_TEST(test_iter_errors)
{
	struct query_iter it;
	char name[4], value[4];

	/* a malformed pair stops the iteration, and stays an error */
	query_iter_init(&it, "a=1&b=%zz&c=3", 13);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 1);
	memset(name, 'X', sizeof name);
	memset(value, 'X', sizeof value);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), -1);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), -1);
	ck_assert_int_eq(name[0], 'X');
	ck_assert_int_eq(value[0], 'X');

	/* a name or a value too long for its buffer is an error, nothing written */
	query_iter_init(&it, "abcd=1", 6);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), -1);
	ck_assert_int_eq(name[0], 'X');
	query_iter_init(&it, "a=1234", 6);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), -1);
	ck_assert_int_eq(value[0], 'X');
	query_iter_init(&it, "abc=123", 7);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 1);
	ck_assert_str_eq(name, "abc");
	ck_assert_str_eq(value, "123");

	query_iter_init(&it, "a=%00", 5);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), -1);
	query_iter_init(&it, "%", 1);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), -1);
	query_iter_init(&it, NULL, 0);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 0);
	query_iter_init(&it, "&&&", 3);
	ck_assert_int_eq(query_next(&it, name, sizeof name, value, sizeof value), 0);
}
END_TEST

Suite *suite_query(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_get, 0, sizeof query_get_cases / sizeof query_get_cases[0]);
	tcase_add_test(tc, test_get_bounds);
	tcase_add_test(tc, test_iter);
	tcase_add_test(tc, test_iter_errors);
	suite_add_tcase(s, tc);
	return s;
}
