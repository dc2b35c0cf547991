/* suites: the Check suites of the unit tests, one per lib module. */
#ifndef POSTERN_TEST_SUITES_H
#define POSTERN_TEST_SUITES_H

#include <check.h>

Suite *suite_base64url(void);
Suite *suite_body(void);
Suite *suite_cache(void);
Suite *suite_config(void);
Suite *suite_cookie(void);
Suite *suite_crypto(void);
Suite *suite_csrf(void);
Suite *suite_db(void);
Suite *suite_fcgi(void);
Suite *suite_fcgi_wire(void);
Suite *suite_header(void);
Suite *suite_http(void);
Suite *suite_identity(void);
Suite *suite_jwk(void);
Suite *suite_jws(void);
Suite *suite_log(void);
Suite *suite_oidc(void);
Suite *suite_path(void);
Suite *suite_query(void);
Suite *suite_redirect(void);
Suite *suite_rules(void);
Suite *suite_totp(void);
Suite *suite_url(void);
Suite *suite_words(void);

/* A fresh temporary directory for one test (removed by the OS tmp cleaner; tests are forked). */
const char *test_tmpdir(void);
/* Writes text to dir/name with the given mode; returns the full path (static buffer). */
const char *test_write_file(const char *dir, const char *name, const char *text, int mode);

#endif
