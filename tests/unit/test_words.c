/* test_words: space-separated word lists (lib/words). */
#include "suites.h"
#include "words.h"

#include <string.h>

static const struct {
	const char *list, *word;
	bool nocase, has;
} words_cases[] = {
	{ "a b c", "b", false, true },
	{ "  a   b ", "b", false, true },
	{ "ab", "a", false, false },
	{ "a", "ab", false, false },
	{ "", "a", false, false },
	{ "   ", "a", false, false },
	{ "JWT logout+jwt", "jwt", true, true },
	{ "JWT", "jwt", false, false },
	{ "a\tb", "b", false, false }, /* only spaces separate */
};

START_TEST(test_has)
{
	ck_assert_msg(words_has(words_cases[_i].list, words_cases[_i].word,
	                        strlen(words_cases[_i].word),
	                        words_cases[_i].nocase) == words_cases[_i].has,
	              "case %d", _i);
}
END_TEST

START_TEST(test_next)
{
	const char *p = "  one two  three ", *w;
	const char *want[] = { "one", "two", "three" };
	size_t n, i = 0;

	while (words_next(&p, &w, &n)) {
		ck_assert_uint_lt(i, 3);
		ck_assert_uint_eq(n, strlen(want[i]));
		ck_assert_int_eq(memcmp(w, want[i], n), 0);
		i++;
	}
	ck_assert_uint_eq(i, 3);
	ck_assert_str_eq(p, "");
	ck_assert_int_eq(words_next(&p, &w, &n), 0);
}
END_TEST

Suite *suite_words(void)
{
	Suite *s = suite_create("words");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_has, 0, sizeof words_cases / sizeof words_cases[0]);
	tcase_add_test(tc, test_next);
	suite_add_tcase(s, tc);
	return s;
}
