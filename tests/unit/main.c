/* main: runs every unit-test suite with Check and prints its summary. */
#include "suites.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *test_tmpdir(void)
{
	static char dir[64];

	snprintf(dir, sizeof dir, "/tmp/postern-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

const char *test_write_file(const char *dir, const char *name, const char *text, int mode)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, (mode_t)mode), 0);
	return path;
}

static Suite *(*const unit_suites[])(void) = {
	suite_base64url, suite_config, suite_cookie, suite_crypto,    suite_db,       suite_fcgi,
	suite_header,    suite_log,    suite_path,   suite_query,     suite_csrf,     suite_rules,
	suite_redirect,  suite_cache,  suite_totp,   suite_http,      suite_jwk,      suite_jws,
	suite_oidc,      suite_body,   suite_words,  suite_fcgi_wire, suite_identity, suite_url
};

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (size_t i = 0; i < sizeof unit_suites / sizeof unit_suites[0]; i++)
		srunner_add_suite(sr, unit_suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
