/* test_config: the config parser's values, errors (file, line, key), secrets and outputs. */
#include "config.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each input and the exact error it must produce ("" = accepted). */
static const struct {
	const char *text;
	const char *error;
} cfg_cases[] = {
	{ "", "" },
	{ "# only a comment\n\n   \t\n", "" },
	{ "threads = 8\r\n", "" },
	{ "threads=8", "" },
	{ "threads = 0\n", "t.conf:1: threads: expected an integer from 1 to 256, got \"0\"\n" },
	{ "threads = 257\n",
	  "t.conf:1: threads: expected an integer from 1 to 256, got \"257\"\n" },
	{ "threads = 4x\n", "t.conf:1: threads: expected an integer from 1 to 256, got \"4x\"\n" },
	{ "threads = 99999999999999999999\n",
	  "t.conf:1: threads: expected an integer from 1 to 256, got \"99999999999999999999\"\n" },
	{ "threads =\n", "t.conf:1: threads: expected an integer from 1 to 256, got \"\"\n" },
	{ "\nthreds = 3\n", "t.conf:2: threds: unknown key (did you mean threads?)\n" },
	{ "frobnicate = 3\n", "t.conf:1: frobnicate: unknown key\n" },
	{ "Threads = 3\n", "t.conf:1: malformed key (lower-case letters, digits and _ only)\n" },
	{ "threads 3\n", "t.conf:1: expected \"key = value\" (comments start a line with #)\n" },
	{ "threads = 2\nthreads = 3\n", "t.conf:2: threads: set twice (first on line 1)\n" },
	{ "log_level = loud\n",
	  "t.conf:1: log_level: expected one of error|warn|info|debug, got \"loud\"\n" },
	{ "log_level = infox\n",
	  "t.conf:1: log_level: expected one of error|warn|info|debug, got \"infox\"\n" },
	{ "db_statement_timeout = 5\n", "" }, /* a bare number means seconds */
	{ "db_statement_timeout = 61\n", "t.conf:1: db_statement_timeout: expected a duration from "
	                                 "10ms to 1m (units ms, s, m, h, d), got \"61\"\n" },
	{ "db_statement_timeout = 5ms\n",
	  "t.conf:1: db_statement_timeout: expected a duration from "
	  "10ms to 1m (units ms, s, m, h, d), got \"5ms\"\n" },
	{ "db_statement_timeout = 2sec\n",
	  "t.conf:1: db_statement_timeout: expected a duration from "
	  "10ms to 1m (units ms, s, m, h, d), got \"2sec\"\n" },
	{ "db_statement_timeout = -1s\n",
	  "t.conf:1: db_statement_timeout: expected a duration from "
	  "10ms to 1m (units ms, s, m, h, d), got \"-1s\"\n" },
	{ "database = dbname=x nope=1\n",
	  "t.conf:1: database: not a valid libpq connection string: invalid connection option "
	  "\"nope\"\n" },
	{ "listen = 127.0.0.1\n",
	  "t.conf:1: listen: expected unix:/path, an IPv4 address and port "
	  "(127.0.0.1:9000) or [IPv6]:port (numeric only), got \"127.0.0.1\"\n" },
	{ "listen = localhost:9000\n",
	  "t.conf:1: listen: expected unix:/path, an IPv4 address and port (127.0.0.1:9000) or "
	  "[IPv6]:port (numeric only), got \"localhost:9000\"\n" },
	{ "listen = 127.0.0.1:70000\n",
	  "t.conf:1: listen: expected unix:/path, an IPv4 address and port (127.0.0.1:9000) or "
	  "[IPv6]:port (numeric only), got \"127.0.0.1:70000\"\n" },
	{ "listen = unix:relative.sock\n",
	  "t.conf:1: listen: unix: needs an absolute path shorter than 108 bytes\n" },
	{ "auth_prefix = /auth/\n",
	  "t.conf:1: auth_prefix: expected a path like /auth (leading "
	  "slash, no trailing slash, at most 128 characters), got \"/auth/\"\n" },
	{ "auth_prefix = /a/../b\n",
	  "t.conf:1: auth_prefix: only letters, digits, '-', '_', '.' and "
	  "single '/' between segments are allowed, got \"/a/../b\"\n" },
	/* OIDC keys */
	{ "oidc_issuer = https://id.example/realms/main\n", "" },
	{ "oidc_issuer = http://127.0.0.1:8080\n", "" },
	{ "oidc_issuer = http://id.example\n",
	  "t.conf:1: oidc_issuer: expected an https URL (http only for a loopback address; no user "
	  "info or fragment, only RFC 3986 characters), got \"http://id.example\"\n" },
	{ "oidc_discovery_url = https://id.example/a|b\n",
	  "t.conf:1: oidc_discovery_url: expected an https URL (http only for a loopback address; "
	  "no user info or fragment, only RFC 3986 characters), got \"https://id.example/a|b\"\n" },
	{ "external_url = https://app.example/path\n",
	  "t.conf:1: external_url: expected an origin like https://app.example.com (lower-case, no "
	  "path; http only for a loopback address), got \"https://app.example/path\"\n" },
	{ "oidc_scopes = email profile\n",
	  "t.conf:1: oidc_scopes: the scopes must include openid, got \"email profile\"\n" },
	{ "oidc_algorithms = RS256 HS256\n",
	  "t.conf:1: oidc_algorithms: \"HS256\" is not one of RS256 RS384 RS512 PS256 PS384 PS512 "
	  "ES256 ES384\n" },
	{ "oidc_role_map = admins staff=user\n",
	  "t.conf:1: oidc_role_map: \"admins\" is not claim-value=role\n" },
	{ "oidc_email_claim = e\"mail\n",
	  "t.conf:1: oidc_email_claim: expected a claim name (letters, digits, _ - . : /; at most "
	  "100), got \"e\"mail\"\n" },
	{ "oidc_token_auth = private_key_jwt\n",
	  "t.conf:1: oidc_token_auth: expected one of client_secret_basic|client_secret_post|none, "
	  "got \"private_key_jwt\"\n" },
	/* every problem is reported, each with its line */
	{ "threads = x\n# fine\nlog_level = no\n",
	  "t.conf:1: threads: expected an integer from 1 to 256, got \"x\"\n"
	  "t.conf:3: log_level: expected one of error|warn|info|debug, got \"no\"\n" },
};

START_TEST(test_cases)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	const char *text = cfg_cases[_i].text, *want = cfg_cases[_i].error;
	int rc;

	ck_assert_int_eq(config_init(&cfg), 0);
	rc = config_parse(&cfg, "t.conf", text, strlen(text), err, sizeof err);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(rc, want[0] ? -1 : 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_values)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	const char *text = "  threads   =   16  \n"
	                   "db_statement_timeout = 250ms\n"
	                   "db_connect_timeout = 1m\n"
	                   "log_level = debug\n"
	                   "log_target = syslog\n"
	                   "database = host=/run/postgresql dbname=x # not a comment\n"
	                   "listen = [::1]:9001\n";

	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(cfg.threads, 4); /* defaults */
	ck_assert_int_eq(cfg.db_statement_timeout, 2000);
	ck_assert_str_eq(cfg.auth_prefix, "/auth");
	ck_assert_str_eq(cfg.listen, "");
	ck_assert_int_eq(config_parse(&cfg, "t.conf", text, strlen(text), err, sizeof err), -1);
	/* '#' inside a value is part of it: libpq rejects the stray words */
	ck_assert_ptr_nonnull(strstr(err, "t.conf:6: database:"));
	config_free(&cfg);

	text = "  threads   =   16  \ndb_statement_timeout = 250ms\ndb_connect_timeout = 1m\n"
	       "log_level = debug\nlog_target = syslog\nlisten = [::1]:9001\n";
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse(&cfg, "t.conf", text, strlen(text), err, sizeof err), 0);
	ck_assert_int_eq(cfg.threads, 16);
	ck_assert_int_eq(cfg.db_statement_timeout, 250);
	ck_assert_int_eq(cfg.db_connect_timeout, 60000);
	ck_assert_int_eq(cfg.log_level, CFG_LOG_DEBUG);
	ck_assert_int_eq(cfg.log_target, CFG_LOG_SYSLOG);
	ck_assert_str_eq(cfg.listen, "[::1]:9001");
	ck_assert_int_eq(cfg.line[CFG_KEY_threads], 1);
	ck_assert_int_eq(cfg.line[CFG_KEY_auth_prefix], 0);
	ck_assert_int_eq(config_set(&cfg, "threads", "2", "--threads", err, sizeof err), 0);
	ck_assert_int_eq(cfg.threads, 2);
	ck_assert_int_eq(config_set(&cfg, "threads", "0", "--threads", err, sizeof err), -1);
	ck_assert_str_eq(err, "--threads: threads: expected an integer from 1 to 256, got \"0\"");
	config_free(&cfg);
}
END_TEST

START_TEST(test_binary_and_oversized)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	static char big[5000];

	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_parse(&cfg, "t.conf", "threads = 1\0x", 13, err, sizeof err), -1);
	ck_assert_str_eq(err, "t.conf: contains a NUL byte (not a text file?)\n");
	memset(big, 'a', sizeof big - 1);
	ck_assert_int_eq(config_parse(&cfg, "t.conf", big, strlen(big), err, sizeof err), -1);
	ck_assert_str_eq(err, "t.conf:1: line longer than 4096 bytes\n");
	config_free(&cfg);
}
END_TEST

#define KEY "0123456789abcdef0123456789abcdef-a-server-key\n"

START_TEST(test_load_and_secrets)
{
	const char *dir = test_tmpdir();
	char conf[512], err[CONFIG_ERR_MAX], want[1024];
	struct config cfg;

	test_write_file(dir, "server.key", KEY, 0600);
	snprintf(conf, sizeof conf, "%s",
	         test_write_file(dir, "p.conf", "server_key_file = server.key\n", 0644));
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), 0);
	ck_assert_uint_eq(cfg.server_key_file.len, strlen(KEY) - 1); /* trailing newline dropped */
	ck_assert_mem_eq(cfg.server_key_file.data, KEY, strlen(KEY) - 1);
	config_free(&cfg);

	/* readable by others: refused, naming file, line, key and the fix */
	test_write_file(dir, "server.key", KEY, 0644);
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), -1);
	snprintf(want, sizeof want,
	         "%s:1: server_key_file: %s/server.key is readable or writable by group or others "
	         "(mode 0644): chmod 600 it\n",
	         conf, dir);
	ck_assert_str_eq(err, want);
	config_free(&cfg);

	/* too short */
	test_write_file(dir, "server.key", "short\n", 0600);
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), -1);
	snprintf(want, sizeof want,
	         "%s:1: server_key_file: %s/server.key holds 5 bytes; expected 32 to 4096\n", conf,
	         dir);
	ck_assert_str_eq(err, want);
	config_free(&cfg);

	/* missing */
	test_write_file(dir, "p.conf", "server_key_file = /nonexistent/key\n", 0644);
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), -1);
	snprintf(
	    want, sizeof want,
	    "%s:1: server_key_file: /nonexistent/key: cannot open: No such file or directory\n",
	    conf);
	ck_assert_str_eq(err, want);
	config_free(&cfg);

	/* required but not set */
	test_write_file(dir, "p.conf", "threads = 2\n", 0644);
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: server_key_file: required, not set\n", conf);
	ck_assert_str_eq(err, want);
	config_free(&cfg);

	/* no such config file */
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, "/nonexistent/postern.conf", err, sizeof err), -1);
	ck_assert_str_eq(err,
	                 "/nonexistent/postern.conf: cannot open: No such file or directory\n");
	config_free(&cfg);
}
END_TEST

/* With oidc_issuer set, what OIDC needs is checked when the file is loaded. */
START_TEST(test_oidc_needs)
{
	const char *dir = test_tmpdir();
	char conf[512], err[CONFIG_ERR_MAX], want[2048];
	struct config cfg;

	test_write_file(dir, "server.key", KEY, 0600);
	test_write_file(dir, "client.secret", "s3cret\n", 0600);
	snprintf(conf, sizeof conf, "%s",
	         test_write_file(dir, "p.conf",
	                         "server_key_file = server.key\n"
	                         "oidc_issuer = https://id.example\n"
	                         "oidc_role_claim = groups\n",
	                         0644));
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), -1);
	snprintf(
	    want, sizeof want,
	    "%s:2: external_url: required with oidc_issuer (the redirect URI is built from it)\n"
	    "%s:2: oidc_client_id: required with oidc_issuer\n"
	    "%s:2: oidc_client_secret_file: required unless oidc_token_auth = none\n"
	    "%s:3: oidc_role_map: set it together with oidc_role_claim\n",
	    conf, conf, conf, conf);
	ck_assert_str_eq(err, want);
	config_free(&cfg);

	test_write_file(dir, "p.conf",
	                "server_key_file = server.key\noidc_issuer = https://id.example\n"
	                "external_url = https://app.example\noidc_client_id = postern\n"
	                "oidc_client_secret_file = client.secret\n",
	                0644);
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), 0);
	ck_assert_mem_eq(cfg.oidc_client_secret_file.data, "s3cret", 6);
	config_free(&cfg);

	/* a public client has no secret */
	test_write_file(dir, "p.conf",
	                "server_key_file = server.key\noidc_issuer = https://id.example\n"
	                "external_url = https://app.example\noidc_client_id = postern\n"
	                "oidc_client_secret_file = client.secret\noidc_token_auth = none\n",
	                0644);
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), -1);
	snprintf(want, sizeof want,
	         "%s:6: oidc_client_secret_file: not used with oidc_token_auth = none: remove one "
	         "of them\n",
	         conf);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}
END_TEST

static char *capture(void (*fn)(FILE *, const struct config *), const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fn(f, cfg);
	fclose(f);
	return buf;
}

static void do_print(FILE *f, const struct config *cfg)
{
	config_print(cfg, f);
}

START_TEST(test_print_masks_secrets)
{
	const char *dir = test_tmpdir();
	char conf[512], err[CONFIG_ERR_MAX];
	struct config cfg;
	char *out;

	test_write_file(dir, "server.key", KEY, 0600);
	snprintf(conf, sizeof conf, "%s",
	         test_write_file(dir, "p.conf",
	                         "server_key_file = server.key\n"
	                         "database = host=/tmp dbname=p password=hunter2hunter2\n",
	                         0644));
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, conf, err, sizeof err), 0);
	out = capture(do_print, &cfg);
	ck_assert_ptr_null(strstr(out, "hunter2"));
	ck_assert_ptr_null(strstr(out, "0123456789abcdef"));
	ck_assert_ptr_nonnull(strstr(out, "password='********'"));
	ck_assert_ptr_nonnull(strstr(out, "threads = 4   # default\n"));
	ck_assert_ptr_nonnull(strstr(out, "server_key_file = server.key   # 45 bytes loaded"));
	free(out);
	config_free(&cfg);
}
END_TEST

/* The shipped example must be exactly what the key table generates, and load as it is. */
START_TEST(test_example_file)
{
	const char *src = getenv("POSTERN_SRCDIR");
	const char *dir = test_tmpdir();
	char path[512], err[CONFIG_ERR_MAX], *text = NULL, *gen = NULL;
	size_t len = 0, glen = 0;
	struct config cfg;
	FILE *f;

	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof path, "%s/conf/postern.conf.example", src);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(getdelim(&text, &len, '\0', f) > 0, 1);
	fclose(f);
	f = open_memstream(&gen, &glen);
	config_write_example(f);
	fclose(f);
	ck_assert_str_eq(text, gen);

	test_write_file(dir, "server.key", KEY, 0600);
	snprintf(path, sizeof path, "%s", test_write_file(dir, "postern.conf", text, 0644));
	ck_assert_int_eq(config_init(&cfg), 0);
	ck_assert_int_eq(config_load(&cfg, path, err, sizeof err), 0);
	config_free(&cfg);
	free(text);
	free(gen);
}
END_TEST

Suite *suite_config(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cases, 0, sizeof cfg_cases / sizeof cfg_cases[0]);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_binary_and_oversized);
	tcase_add_test(tc, test_load_and_secrets);
	tcase_add_test(tc, test_oidc_needs);
	tcase_add_test(tc, test_print_masks_secrets);
	tcase_add_test(tc, test_example_file);
	suite_add_tcase(s, tc);
	return s;
}
