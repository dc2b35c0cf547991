/* test_db: conninfo validation and redaction, and fail-fast behaviour without a database. */
#include "db.h"
#include "suites.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

START_TEST(test_conninfo_check)
{
	char err[256];

	ck_assert_int_eq(db_conninfo_check("dbname=postern host=/run/postgresql", err, sizeof err),
	                 0);
	ck_assert_int_eq(db_conninfo_check("postgresql://u@localhost/postern", err, sizeof err), 0);
	ck_assert_int_eq(db_conninfo_check("dbname=postern bogus=1", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "bogus"));
	ck_assert_int_eq(db_conninfo_check("dbname='unterminated", err, sizeof err), -1);
}
END_TEST

START_TEST(test_conninfo_redact)
{
	char out[512];

	db_conninfo_redact("dbname=postern host=/tmp", out, sizeof out);
	ck_assert_str_eq(out, "dbname=postern host=/tmp");
	db_conninfo_redact("dbname=postern password=s3cr3t", out, sizeof out);
	ck_assert_ptr_null(strstr(out, "s3cr3t"));
	ck_assert_ptr_nonnull(strstr(out, "password='********'"));
	ck_assert_ptr_nonnull(strstr(out, "dbname='postern'"));
	db_conninfo_redact("postgresql://u:s3cr3t@localhost/postern", out, sizeof out);
	ck_assert_ptr_null(strstr(out, "s3cr3t"));
	ck_assert_ptr_nonnull(strstr(out, "user='u'"));
}
END_TEST

/* Counts connection attempts: a unix socket where PostgreSQL's would be, never answered. */
static int fake_pg_socket(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/.s.PGSQL.5432", dir);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

static int pending_connections(int lfd)
{
	int n = 0, c;

	while ((c = accept(lfd, NULL, NULL)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

/* A database that does not answer: unavailable after connect_timeout, and within the retry
 * interval every further query fails at once without a new connection attempt. */
START_TEST(test_unavailable_fails_fast)
{
	char conninfo[256];
	const char *dir = test_tmpdir();
	int lfd = fake_pg_socket(dir);
	struct db *db;
	int version = -1;

	snprintf(conninfo, sizeof conninfo, "host=%s dbname=postern", dir);
	db = db_new(&(struct db_opts){
	    .conninfo = conninfo,
	    .connect_timeout_ms = 1000,
	    .statement_timeout_ms = 100,
	    .retry_interval_ms = 60000,
	    .application_name = "unit",
	});
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_ping(db), DB_UNAVAILABLE);
	ck_assert_int_eq(pending_connections(lfd), 1);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(db_ping(db), DB_UNAVAILABLE);
	ck_assert_int_eq(db_schema_version(db, &version), DB_UNAVAILABLE);
	ck_assert_int_eq(version, -1); /* outputs untouched on failure */
	ck_assert_int_eq(pending_connections(lfd), 0);
	db_close(db);
	close(lfd);
}
END_TEST

Suite *suite_db(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_conninfo_check);
	tcase_add_test(tc, test_conninfo_redact);
	tcase_add_test(tc, test_unavailable_fails_fast);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
