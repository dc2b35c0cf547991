/* test_fcgi: listen address validation and socket opening of lib/fcgi. */
#include "fcgi.h"
#include "suites.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *spec;
	int ok;
} listen_cases[] = {
	{ "", 1 },
	{ "unix:/run/postern/authz.sock", 1 },
	{ "127.0.0.1:9000", 1 },
	{ "[::1]:9000", 1 },
	{ "0.0.0.0:1", 1 },
	{ "127.0.0.1:0", 0 },
	{ "127.0.0.1:65536", 0 },
	{ "127.0.0.1:", 0 },
	{ ":9000", 0 },
	{ "localhost:9000", 0 }, /* numeric only: no DNS at start-up */
	{ "::1:9000", 0 },       /* IPv6 needs brackets */
	{ "[::1]9000", 0 },
	{ "unix:", 0 },
	{ "unix:rel/path", 0 },
	{ "127.0.0.1:9000x", 0 },
};

START_TEST(test_listen_check)
{
	char err[256];

	ck_assert_int_eq(fcgi_listen_check(listen_cases[_i].spec, err, sizeof err) == 0,
	                 listen_cases[_i].ok);
}
END_TEST

START_TEST(test_listen_open)
{
	const char *dir = test_tmpdir();
	char spec[256], err[256];
	struct stat st;
	int fd = -1, accepting = 0;
	socklen_t len = sizeof accepting;

	snprintf(spec, sizeof spec, "unix:%s/a.sock", dir);
	ck_assert_int_eq(fcgi_listen_open(spec, &fd, err, sizeof err), 0);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len), 0);
	ck_assert_int_eq(accepting, 1);
	ck_assert_int_eq(stat(spec + 5, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	close(fd);
	/* a stale socket is replaced... */
	ck_assert_int_eq(fcgi_listen_open(spec, &fd, err, sizeof err), 0);
	close(fd);
	/* ...but never a regular file */
	snprintf(spec, sizeof spec, "unix:%s", test_write_file(dir, "file", "x", 0644));
	ck_assert_int_eq(fcgi_listen_open(spec, &fd, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "exists and is not a socket"));
}
END_TEST

/* fd 0 of the test runner is not a listening socket: the message says what to do. */
START_TEST(test_listen_fd0_not_socket)
{
	char err[256];
	int fd = -1;

	ck_assert_int_eq(fcgi_listen_open("", &fd, err, sizeof err), -1);
	ck_assert_str_eq(err, "fd 0 is not a listening socket: run under spawn-fcgi or mod_fcgid, "
	                      "or pass --listen unix:/path or --listen 127.0.0.1:9000");
	ck_assert_int_eq(fd, -1);
}
END_TEST

Suite *suite_fcgi(void)
{
	Suite *s = suite_create("fcgi");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_listen_check, 0, sizeof listen_cases / sizeof listen_cases[0]);
	tcase_add_test(tc, test_listen_open);
	tcase_add_test(tc, test_listen_fd0_not_socket);
	suite_add_tcase(s, tc);
	return s;
}
