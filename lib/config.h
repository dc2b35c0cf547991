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
	  "aud claim of those access JWTs; give each deployment sharing a server key its own.")        \
	X(external_url, CFG_STRING, "", 0, 0, NULL, 0, config_check_external_url,                      \
	  "The origin users reach the site at (https://app.example.com, no path). OIDC builds its "    \
	  "redirect URI from it (external_url + auth_prefix + /oidc/callback), never from request "    \
	  "headers.")                                                                                  \
	X(oidc_issuer, CFG_STRING, "", 0, 0, NULL, 0, config_check_opt_url,                            \
	  "The OpenID Provider's issuer identifier, exactly as its ID tokens carry it; empty turns "   \
	  "OIDC login off. https only, except for a loopback address.")                                \
	X(oidc_discovery_url, CFG_STRING, "", 0, 0, NULL, 0, config_check_opt_url,                     \
	  "Where the discovery document is, when not at oidc_issuer + "                                \
	  "/.well-known/openid-configuration.")                                                        \
	X(oidc_trust_discovery_issuer, CFG_BOOL, "off", 0, 0, NULL, 0, NULL,                           \
	  "With oidc_discovery_url set: accept the document even if its issuer differs from "          \
	  "oidc_issuer, and check tokens against the document's issuer (Authentik publishes its "      \
	  "documents that way). Off: a different issuer is refused.")                                  \
	X(oidc_client_id, CFG_STRING, "", 0, 0, NULL, 0, config_check_opt_word,                        \
	  "The client id registered at the provider.")                                                 \
	X(oidc_client_secret_file, CFG_SECRET_FILE, "", 1, 4096, NULL, 0, NULL,                        \
	  "File holding the client secret (mode 600). Not needed with oidc_token_auth = none.")        \
	X(oidc_token_auth, CFG_ENUM, "client_secret_basic", 0, 0,                                      \
	  "client_secret_basic|client_secret_post|none", 0, NULL,                                      \
	  "How the responder authenticates to the token endpoint; none for a public client (PKCE "     \
	  "alone).")                                                                                   \
	X(oidc_scopes, CFG_STRING, "openid email profile", 0, 0, NULL, 0, config_check_scopes,         \
	  "Scopes requested, space separated; must include openid.")                                   \
	X(oidc_algorithms, CFG_STRING, "RS256 ES256", 0, 0, NULL, 0, jws_algs_check,                   \
	  "Signature algorithms accepted on ID and logout tokens (RS256 RS384 RS512 PS256 PS384 "      \
	  "PS512 ES256 ES384). none and HMAC are never accepted.")                                     \
	X(oidc_email_claim, CFG_STRING, "email", 0, 0, NULL, 0, config_check_claim,                    \
	  "Claim holding the user's email (a dotted name reaches into objects: realm_access.roles).")  \
	X(oidc_name_claim, CFG_STRING, "name", 0, 0, NULL, 0, config_check_claim,                      \
	  "Claim holding the display name.")                                                           \
	X(oidc_role_claim, CFG_STRING, "", 0, 0, NULL, 0, config_check_opt_claim,                      \
	  "Claim (a string or an array of strings) whose values oidc_role_map turns into a Postern "   \
	  "role, set again on every login. Empty: roles are managed in SQL only.")                     \
	X(oidc_role_map, CFG_STRING, "", 0, 0, NULL, 0, oidc_role_map_check,                           \
	  "Space-separated claim-value=role pairs, first match wins: \"postern-admins=admin "          \
	  "staff=user\". A user whose claim matches none gets postern.settings oidc_default_role.")    \
	X(oidc_groups_claim, CFG_STRING, "groups", 0, 0, NULL, 0, config_check_claim,                  \
	  "Claim holding the user's groups, for oidc_allowed_groups.")                                 \
	X(oidc_allowed_groups, CFG_STRING, "", 0, 0, NULL, 0, NULL,                                    \
	  "Space-separated groups; when set, only users in one of them may sign in by OIDC.")          \
	X(oidc_button_text, CFG_STRING, "Sign in with SSO", 0, 0, NULL, 0, config_check_text,          \
	  "Label of the login page's OIDC button.")                                                    \
	X(oidc_auto_launch, CFG_BOOL, "off", 0, 0, NULL, 0, NULL,                                      \
	  "The login page goes straight to the provider (add ?local=1 to see the password form).")     \
	X(oidc_http_timeout, CFG_DURATION, "5s", 500, 60000, NULL, 0, NULL,                            \
	  "Time allowed for each request to the provider (discovery, keys, token, userinfo).")         \
	X(oidc_ca_file, CFG_STRING, "", 0, 0, NULL, 0, NULL,                                           \
	  "PEM file of the CA that signs the provider's certificate, instead of the system's.")        \
	X(oidc_clock_skew, CFG_DURATION, "60s", 0, 600000, NULL, 0, NULL,                              \
	  "Clock difference tolerated on exp, iat and nbf.")                                           \
	X(oidc_token_max_age, CFG_DURATION, "10m", 10000, 3600000, NULL, 0, NULL,                      \
	  "Oldest iat accepted on ID tokens and logout tokens.")

enum config_log_level { CFG_LOG_ERROR, CFG_LOG_WARN, CFG_LOG_INFO, CFG_LOG_DEBUG };
enum config_log_target { CFG_LOG_STDERR, CFG_LOG_SYSLOG };
enum config_samesite { CFG_SAMESITE_LAX, CFG_SAMESITE_STRICT, CFG_SAMESITE_NONE };
enum config_oidc_auth { CFG_OIDC_AUTH_BASIC, CFG_OIDC_AUTH_POST, CFG_OIDC_AUTH_NONE };

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
int config_check_external_url(const char *value, char *err, size_t errlen);
int config_check_opt_url(const char *value, char *err, size_t errlen);
int config_check_opt_word(const char *value, char *err, size_t errlen);
int config_check_scopes(const char *value, char *err, size_t errlen);
int config_check_claim(const char *value, char *err, size_t errlen);
int config_check_opt_claim(const char *value, char *err, size_t errlen);
int config_check_text(const char *value, char *err, size_t errlen);
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
