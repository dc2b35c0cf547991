/* test_log: levels, escaping of control bytes and the secret tag of lib/log. */
#include "log.h"
#include "suites.h"

#include <string.h>
#include <unistd.h>

static void read_line(int fd, char *buf, size_t n)
{
	ssize_t r = read(fd, buf, n - 1);
	ck_assert_int_gt(r, 0);
	buf[r] = '\0';
}

START_TEST(test_levels_and_escaping)
{
	int p[2];
	char line[4096];

	ck_assert_int_eq(pipe(p), 0);
	log_init("unit", LOG_TARGET_STDERR, LOG_LVL_INFO, 0, p[1]);
	log_debug("hidden");
	log_info("user=%s", "a\nb\r\x1b[31m\\");
	read_line(p[0], line, sizeof line);
	ck_assert_ptr_nonnull(strstr(line, " unit["));
	ck_assert_ptr_nonnull(strstr(line, "] info: user=a\\x0ab\\x0d\\x1b[31m\\\\\n"));
	/* one line only: the debug message was dropped, the newline inside was escaped */
	ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
	close(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_escape_truncates_whole_escapes)
{
	char out[8];

	ck_assert_uint_eq(log_escape(out, sizeof out, "ab\x01\x02", 4), 6);
	ck_assert_str_eq(out, "ab\\x01");
	ck_assert_uint_eq(log_escape(out, sizeof out, "\xff", 1), 4);
	ck_assert_str_eq(out, "\\xff");
}
END_TEST

START_TEST(test_secret_tag)
{
	char tag[LOG_TAG_LEN + 1];

	/* sha256("abc") = ba7816bf8f01... */
	log_secret_tag("abc", 3, tag);
	ck_assert_str_eq(tag, "ba7816bf8f01");
}
END_TEST

Suite *suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_levels_and_escaping);
	tcase_add_test(tc, test_escape_truncates_whole_escapes);
	tcase_add_test(tc, test_secret_tag);
	suite_add_tcase(s, tc);
	return s;
}
