/* config: the key table, the `key = value` file parser, validation, printing and docs output. */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum config_type { CFG_STRING, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_DURATION, CFG_SECRET_FILE };

#define CFG_REQUIRED 1u /* must be set in the file */
#define CFG_MASKED 2u   /* printed through its validator's redaction (e.g. a conninfo password) */

/* A value checker: returns 0, or -1 with a message (no file/line/key: the caller adds them). */
typedef int (*config_check_fn)(const char *value, char *err, size_t errlen);

/*
 * Every key, once: X(name, type, default, min, max, choices, flags, check, help).
 * min/max bound integers, durations (in milliseconds) and secret sizes (bytes). Durations take
 * a unit: ms, s, m, h or d (a bare number means seconds). Enums list their choices with '|'.
 */
#define CONFIG_KEYS(X)                                                                                 \
	X(database, CFG_STRING, "dbname=postern", 0, 0, NULL, CFG_MASKED, db_conninfo_check,           \
	  "libpq connection string (key=value or postgresql:// URI). Each worker thread opens one "    \
	  "connection. A password in it is masked by --print-config; prefer ~/.pgpass or peer auth.")  \
	X(db_connect_timeout, CFG_DURATION, "3s", 1000, 60000, NULL, 0, NULL,                          \
	  "How long to wait for PostgreSQL to accept a connection before answering 503.")              \
	X(db_statement_timeout, CFG_DURATION, "2s", 10, 60000, NULL, 0, NULL,                          \
	  "statement_timeout of every connection: a slow database answers 503, well inside the web "   \
	  "server's FastCGI timeout.")                                                                 \
	X(db_retry_interval, CFG_DURATION, "1s", 100, 60000, NULL, 0, NULL,                            \
	  "After a failed connection attempt, answer 503 at once for this long before trying again, "  \
	  "so a database outage cannot pile up blocked workers.")                                      \
	X(listen, CFG_STRING, "", 0, 0, NULL, 0, fcgi_listen_check,                                    \
	  "Where to accept FastCGI connections: empty = the socket on fd 0 handed over by spawn-fcgi " \
	  "or mod_fcgid; unix:/path; 127.0.0.1:9000; [::1]:9000. --listen overrides it.")              \
	X(threads, CFG_INT, "4", 1, 256, NULL, 0, NULL,                                                \
	  "Worker threads per process, each with its own FastCGI request and database connection. "    \
	  "--threads overrides it.")                                                                   \
	X(cache_entries, CFG_INT, "100000", 0, 10000000, NULL, 0, NULL,                                \
	  "Credentials the authorizer keeps per process (0 turns the cache off). Revocations, "        \
	  "role and key changes evict entries at once through LISTEN/NOTIFY.")                         \
	X(cache_ttl, CFG_DURATION, "5s", 100, 3600000, NULL, 0, NULL,                                  \
	  "The longest a cached credential is trusted without asking PostgreSQL again: the bound "     \
	  "on staleness should a notification ever be missed.")                                        \
	X(cache_negative_ttl, CFG_DURATION, "1s", 100, 60000, NULL, 0, NULL,                           \
	  "How long an unknown credential is remembered, so floods of garbage tokens cost no "         \
	  "queries.")                                                                                  \
	X(cleanup_interval, CFG_DURATION, "5m", 10000, 86400000, NULL, 0, NULL,                        \
	  "How often postern-responder runs postern.cleanup() (one process at a time, through an "     \
	  "advisory lock), deleting expired sessions, tokens, challenges and attempt counters.")       \
	X(log_level, CFG_ENUM, "info", 0, 0, "error|warn|info|debug", 0, NULL,                         \
	  "Least severe level written.")                                                               \
	X(log_target, CFG_ENUM, "stderr", 0, 0, "stderr|syslog", 0, NULL,                              \
	  "stderr is the web server's error log under mod_fcgid and lighttpd; syslog uses "            \
	  "syslog_facility.")                                                                          \
	X(syslog_facility, CFG_ENUM, "authpriv", 0, 0,                                                 \
	  "auth|authpriv|daemon|local0|local1|local2|local3|local4|local5|local6|local7", 0, NULL,     \
	  "Facility of syslog lines (log_target = syslog).")                                           \
	X(server_key_file, CFG_SECRET_FILE, "", 32, 4096, NULL, CFG_REQUIRED, NULL,                    \
	  "File holding the server key (at least 32 bytes, e.g. `openssl rand -base64 48`) that "      \
	  "signs access tokens and CSRF tokens. Must not be readable by group or others. A relative "  \
	  "path is relative to this file's directory. Every process and host must share it.")          \
	X(previous_server_key_file, CFG_SECRET_FILE, "", 32, 4096, NULL, 0, NULL,                      \
	  "During a key rotation: the server key before this one. Tokens, CSRF tokens, unlock "        \
	  "cookies and sealed TOTP secrets made with it are still accepted until "                     \
	  "previous_key_until; everything new is made with server_key_file.")                          \
	X(previous_key_until, CFG_STRING, "", 0, 0, NULL, 0, config_check_utc,                         \
	  "When the previous server key stops being accepted, as UTC: 2027-01-31T00:00:00Z.")          \
	X(auth_prefix, CFG_STRING, "/auth", 0, 0, NULL, 0, config_check_url_prefix,                    \
	  "URL path under which the web server hands requests to postern-responder.")                  \
	X(login_url, CFG_STRING, "/auth/login", 0, 0, NULL, 0, config_check_url_prefix,                \
	  "Where browser navigations without a valid session are redirected (302, with a "             \
	  "return_to parameter holding the path they asked for).")                                     \
	X(cookie_name, CFG_STRING, "postern_session", 0, 0, NULL, 0, config_check_cookie_name,         \
	  "Name of the session cookie; the CSRF cookie is this name + \"_csrf\". With "                \
	  "cookie_secure on, both get the __Host- prefix.")                                            \
	X(cookie_secure, CFG_BOOL, "on", 0, 0, NULL, 0, NULL,                                          \
	  "Cookies are Secure and named __Host-<name>. Turn off only for plain-HTTP development.")     \
	X(cookie_samesite, CFG_ENUM, "lax", 0, 0, "lax|strict|none", 0, NULL,                          \
	  "SameSite of the session cookie. lax lets users arrive signed in from links elsewhere; "     \
	  "none needs cookie_secure on (embedding in other sites' frames).")                           \
	X(origins, CFG_STRING, "", 0, 0, NULL, 0, config_check_origins,                                \
	  "Space-separated origins (https://app.example.com) besides the request's own that may "      \
	  "send cookie-authenticated POST/PUT/PATCH/DELETE requests; all other cross-site ones are "   \
	  "refused (CSRF).")                                                                           \
	X(token_issuer, CFG_STRING, "postern", 0, 0, NULL, 0, config_check_word,                       \
	  "iss claim of the access JWTs the responder signs and the authorizer accepts.")              \
	X(token_audience, CFG_STRING, "postern", 0, 0, NULL, 0, config_check_word,                     \
	  "aud claim of those access JWTs; give each deployment sharing a server key its own.")

enum config_log_level { CFG_LOG_ERROR, CFG_LOG_WARN, CFG_LOG_INFO, CFG_LOG_DEBUG };
enum config_log_target { CFG_LOG_STDERR, CFG_LOG_SYSLOG };
enum config_samesite { CFG_SAMESITE_LAX, CFG_SAMESITE_STRICT, CFG_SAMESITE_NONE };

struct config_secret {
	char *path;          /* as written in the file */
	unsigned char *data; /* the file's content without trailing white space; wiped on free */
	size_t len;
};

#define CFG_CTYPE_CFG_STRING char *
#define CFG_CTYPE_CFG_INT long
#define CFG_CTYPE_CFG_BOOL bool
#define CFG_CTYPE_CFG_ENUM int
#define CFG_CTYPE_CFG_DURATION long /* milliseconds */
#define CFG_CTYPE_CFG_SECRET_FILE struct config_secret

enum config_key_id {
#define CFG_X_ID(name, ...) CFG_KEY_##name,
	CONFIG_KEYS(CFG_X_ID)
#undef CFG_X_ID
	    CONFIG_KEY_COUNT
};

struct config {
#define CFG_X_FIELD(name, type, ...) CFG_CTYPE_##type name;
	CONFIG_KEYS(CFG_X_FIELD)
#undef CFG_X_FIELD
	char *file;                 /* path the values came from, NULL for defaults only */
	int line[CONFIG_KEY_COUNT]; /* line each key was set on, 0 = default */
};

#define CONFIG_ERR_MAX 4096

int config_check_url_prefix(const char *value, char *err, size_t errlen);
int config_check_cookie_name(const char *value, char *err, size_t errlen);
int config_check_origins(const char *value, char *err, size_t errlen);
int config_check_word(const char *value, char *err, size_t errlen);
int config_check_utc(const char *value, char *err, size_t errlen);
/* Seconds since the epoch of a value config_check_utc accepted ("" -> 0). */
long long config_utc_seconds(const char *value);

/* Fills cfg with the defaults. cfg must be freed with config_free. */
int config_init(struct config *cfg);

/* Parses `key = value` lines from buf (named `file` in messages) into cfg, which must have been
 * initialised. Does not read secret files. On error writes every problem, one per line, as
 * "file:line: key: message" into err and returns -1; cfg must then only be freed. */
int config_parse(struct config *cfg, const char *file, const char *buf, size_t len, char *err,
                 size_t errlen);

/* Reads and parses the file, checks required keys and loads secret files. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Overrides one key as if set on the command line (`source` names it in messages). */
int config_set(struct config *cfg, const char *key, const char *value, const char *source,
               char *err, size_t errlen);

void config_free(struct config *cfg);

/* The effective values, secrets masked, one `key = value` per line. */
void config_print(const struct config *cfg, FILE *out);
/* conf/postern.conf.example, generated from the key table. */
void config_write_example(FILE *out);
/* The README's Markdown configuration reference, generated from the key table. */
void config_write_reference(FILE *out);

#endif
