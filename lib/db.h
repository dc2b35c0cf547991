/* db: PostgreSQL connections, the prepared-statement table and typed queries (only libpq user). */
#ifndef POSTERN_DB_H
#define POSTERN_DB_H

#include <stdbool.h>
#include <stddef.h>

/* Results of every db_* query function. */
enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND = 1,    /* the query ran and found nothing */
	DB_REFUSED = 2,      /* a Postern function refused the input (db_refusal says why) */
	DB_UNAVAILABLE = -1, /* no connection, connection lost, or statement timeout: 503 */
	DB_ERROR = -2,       /* the database refused the statement: a bug or a schema mismatch */
};

/* The schema version (sql/migrations) this build needs; checked on every new connection. */
#define DB_SCHEMA_VERSION 12

struct db_opts {
	const char *conninfo;
	long connect_timeout_ms;
	long statement_timeout_ms;
	long retry_interval_ms;
	const char *application_name;
};

struct db;

/* Creates a handle; connects lazily on first use, so a process starts while the database is
 * down. The opts strings are copied. Returns NULL on allocation failure. Free with db_close. */
struct db *db_new(const struct db_opts *opts);
void db_close(struct db *db);

/* After DB_REFUSED: the SQLSTATE (e.g. "22023", "42501", "54000", "P0002") and the message
 * of Postern's exception (without its "postern: " prefix). Valid until the next query. */
const char *db_refusal_state(const struct db *db);
const char *db_refusal_message(const struct db *db);

/* SELECT 1 on the handle's connection (connecting if needed). */
enum db_status db_ping(struct db *db);
/* The installed schema's version (postern.schema_version). */
enum db_status db_schema_version(struct db *db, int *version);

struct identity;
struct rule_row;

/* Credential lookups by the SHA-256 of the token (postern.auth_*): DB_OK fills *id (kind not
 * set: the caller knows it), DB_NOT_FOUND when there is no live credential for the hash. */
enum db_status db_auth_session(struct db *db, const unsigned char hash[32], struct identity *id);
/* The same by session id (an access JWT's sid claim; a malformed uuid is DB_ERROR). */
enum db_status db_auth_session_id(struct db *db, const char *session_id, struct identity *id);
/* The authorizer's (postern.authz_session*): the same sessions, without the role's
 * permissions, which the caller fills (id->permissions is left as it was), with the idle
 * timeout (settings.session_idle_timeout, seconds, > 0) the caller has. */
enum db_status db_authz_session(struct db *db, const unsigned char hash[32], long idle_timeout,
                                struct identity *id);
enum db_status db_authz_session_id(struct db *db, const char *session_id, long idle_timeout,
                                   struct identity *id);
enum db_status db_auth_api_key(struct db *db, const unsigned char hash[32], struct identity *id);
enum db_status db_auth_shared_link(struct db *db, const unsigned char hash[32],
                                   struct identity *id);
/* Burns a single-use token and returns its identity only if purpose and path match. */
enum db_status db_consume_token(struct db *db, const unsigned char hash[32], const char *purpose,
                                const char *path, struct identity *id);
/* Runs a rule's policy function (postern.check_policy) with the identity as JSON. */
enum db_status db_check_policy(struct db *db, long rule_id, const char *identity_json,
                               const char *method, const char *host, const char *path,
                               bool *allowed);
/* Records activity of a session (the database throttles the write to once a minute). */
enum db_status db_touch_session(struct db *db, const char *session_id);
/* Records use of an API key (last_used_at; also throttled to once a minute). */
enum db_status db_touch_api_key(struct db *db, const char *key_id);

/* Calls fn for every enabled rule in order, or for every setting; fn returning non-zero
 * stops the walk and makes the call return DB_ERROR. */
enum db_status db_load_rules(struct db *db, int (*fn)(void *ctx, const struct rule_row *row),
                             void *ctx);
enum db_status db_load_settings(struct db *db,
                                int (*fn)(void *ctx, const char *key, const char *value),
                                void *ctx);
/* Calls fn for every role that has permissions (space-separated, sorted). */
enum db_status db_load_role_permissions(
    struct db *db, int (*fn)(void *ctx, const char *role, const char *permissions), void *ctx);

/* LISTEN postern on this handle's connection (connecting if needed). */
enum db_status db_listen(struct db *db);
/* Waits up to timeout_ms for a notification on a listening handle: 1 with its payload copied
 * into payload (truncated to len - 1), 0 on timeout, DB_UNAVAILABLE if the connection is lost
 * (then db_listen again: notifications sent meanwhile are lost, so reload everything). */
int db_wait_notify(struct db *db, int timeout_ms, char *payload, size_t len);

/* ---- the responder's queries (postern.login_begin, create_session, ...) ---- */

struct db_login {
	char user_id[37];        /* "" when there is no such user (or the email is malformed) */
	char password_hash[128]; /* "" when the user has no password */
	bool disabled;
	bool mfa_enabled;
	bool must_change_password;
	int retry_after; /* seconds the account or the client IP stays locked; 0 = not locked */
};
enum db_status db_login_begin(struct db *db, const char *email, const char *ip,
                              struct db_login *out);
/* Counts a failed attempt for the email and the IP; *retry_after as in db_login. */
enum db_status db_login_failed(struct db *db, const char *email, const char *ip, int *retry_after);

struct db_new_session {
	const char *user_id;
	const unsigned char *token_hash; /* 32 bytes */
	const char *auth_method;         /* "password", "oidc" */
	bool mfa;
	const char *user_agent, *ip, *device; /* may be NULL */
	/* OIDC sessions: the provider, its session id (back-channel logout) and the ID token
	 * (id_token_hint at logout); NULL otherwise */
	const char *oidc_issuer, *oidc_sid, *oidc_id_token;
};
/* Creates the session (enforcing the per-user limit) and writes its id and expiry. */
enum db_status db_create_session(struct db *db, const struct db_new_session *s, char session_id[37],
                                 long long *expires_at);
/* Revokes the session of that token hash if it is live (DB_NOT_FOUND if there was none). */
enum db_status db_logout_session(struct db *db, const unsigned char hash[32]);

/* JSON documents built by SQL; the caller frees *json. */
enum db_status db_user_sessions_json(struct db *db, const char *user_id,
                                     const char *current_session, char **json);
enum db_status db_get_user_json(struct db *db, const char *user_id, char **json);
enum db_status db_user_api_keys_json(struct db *db, const char *user_id, char **json);

enum db_status db_revoke_user_session(struct db *db, const char *user_id, const char *session_id,
                                      const char *reason, bool *revoked);
/* Revokes every live session of the user but keep (NULL: all); *count of revoked ones. */
enum db_status db_revoke_other_sessions(struct db *db, const char *user_id, const char *keep,
                                        const char *reason, long long *count);

/* Whether sha256(lower-cased password) is on the common-password list. */
enum db_status db_password_is_common(struct db *db, const unsigned char hash[32], bool *common);
/* Stores a new bcrypt hash and revokes the user's other sessions (*revoked of them). */
enum db_status db_set_user_password(struct db *db, const char *user_id, const char *bcrypt_hash,
                                    const char *keep_session, long long *revoked);

struct db_new_key {
	const char *user_id;
	const char *name;
	const char *permissions_json; /* a JSON array of strings, as the client sent it */
	const char *expires_at;       /* timestamptz text or NULL */
	const unsigned char *token_hash;
	const char *prefix;  /* the secret's first 12 characters, for display */
	const char *ceiling; /* space-separated permissions of the calling API key, or NULL */
};
/* Creates an API key; DB_REFUSED for bad input or a permission beyond a ceiling. */
enum db_status db_create_user_api_key(struct db *db, const struct db_new_key *k, char **key_id);
/* NULL name, permissions_json or expires_at keep the current value. */
enum db_status db_update_user_api_key(struct db *db, const char *user_id, const char *key_id,
                                      const char *name, const char *permissions_json,
                                      const char *expires_at, const char *ceiling, bool *done);
enum db_status db_rotate_user_api_key(struct db *db, const char *user_id, const char *key_id,
                                      const unsigned char hash[32], const char *prefix,
                                      const char *ceiling, bool *done);
enum db_status db_revoke_user_api_key(struct db *db, const char *user_id, const char *key_id,
                                      bool *done);

/* Refresh tokens: a new family for a live session, and rotation (status "ok", "reuse" — the
 * family and its session were just revoked — or "invalid"). */
enum db_status db_issue_refresh_token(struct db *db, const char *session_id,
                                      const unsigned char hash[32], long long *expires_at);
struct db_rotation {
	char status[16];
	char session_id[37], user_id[37];
	long long expires_at; /* of the new refresh token */
};
enum db_status db_rotate_refresh_token(struct db *db, const unsigned char old_hash[32],
                                       const unsigned char new_hash[32], struct db_rotation *out);

struct db_new_token {
	const char *user_id, *session_id; /* session_id may be NULL */
	const unsigned char *token_hash;
	const char *purpose, *path;
	int ttl_seconds;
};
/* A single-use token; DB_REFUSED past the per-user (54000) or global (53400) bound. */
enum db_status db_issue_single_use_token(struct db *db, const struct db_new_token *t,
                                         long long *expires_at);

/* TOTP: the sealed secret travels as hex. use_step is true only for a step later than every
 * one used before (replays lose, also concurrent ones); with enable it turns a pending
 * secret on and stores the 10 backup-code hashes (hex, space separated). */
enum db_status db_mfa_setup(struct db *db, const char *user_id, const char *sealed_hex);
enum db_status db_mfa_secret(struct db *db, const char *user_id, char *sealed_hex, size_t len,
                             bool *enabled);
enum db_status db_mfa_use_step(struct db *db, const char *user_id, long long step, bool enable,
                               const char *backup_hashes_hex, bool *used);
enum db_status db_mfa_use_backup_code(struct db *db, const char *user_id,
                                      const unsigned char hash[32], bool *used);
enum db_status db_mfa_disable(struct db *db, const char *user_id);
/* The login's MFA challenge: created after the password, one counted attempt per call. */
enum db_status db_mfa_challenge_create(struct db *db, const char *user_id,
                                       const unsigned char hash[32], long long *expires_at);
enum db_status db_mfa_challenge_attempt(struct db *db, const unsigned char hash[32],
                                        char user_id[37], char *email, size_t email_len);
enum db_status db_mfa_challenge_done(struct db *db, const unsigned char hash[32]);

/* PIN step-up: the PIN's bcrypt hash (NULL removes it; every elevation ends), and a
 * session's elevation (until = 0 after locking). db_user_pin_hash: DB_NOT_FOUND without PIN. */
enum db_status db_set_user_pin(struct db *db, const char *user_id, const char *pin_hash);
enum db_status db_user_pin_hash(struct db *db, const char *user_id, char *out, size_t len);
enum db_status db_set_session_elevation(struct db *db, const char *session_id, bool elevate,
                                        long long *until);

/* Shared links managed by their owner. */
struct db_new_link {
	const char *user_id, *path_prefix;
	const char *permissions_json; /* JSON array of strings */
	const char *expires_at;       /* timestamptz text or NULL */
	const char *password_hash;    /* bcrypt or NULL */
	const unsigned char *token_hash;
	const char *prefix, *description;
};
enum db_status db_create_user_shared_link(struct db *db, const struct db_new_link *l,
                                          char **link_id);
enum db_status db_user_shared_links_json(struct db *db, const char *user_id, char **json);
enum db_status db_update_user_shared_link(struct db *db, const char *user_id, const char *link_id,
                                          const char *expires_at, bool *done);
enum db_status db_revoke_user_shared_link(struct db *db, const char *user_id, const char *link_id,
                                          bool *done);

/* Housekeeping: postern.run_cleanup() (DB_NOT_FOUND when another process holds the lock). */
enum db_status db_run_cleanup(struct db *db, long long *deleted);
/* A setting changed by an administrator (refused: require_mfa without MFA of one's own). */
enum db_status db_admin_set_setting(struct db *db, const char *user_id, const char *key,
                                    const char *value);

/* Metrics: one process's counters (a JSON object of metric -> count), and the sums over all
 * processes and hosts in the Prometheus text format (caller frees). */
enum db_status db_report_stats(struct db *db, const char *instance, const char *counters_json);
enum db_status db_metrics_text(struct db *db, char **text);

/* A live password-protected shared link, for its unlock endpoint. */
struct db_link_lock {
	char link_id[37];
	char password_hash[128];
	char version[65];
	long long expires_at; /* 0 = never */
};
enum db_status db_link_unlock_info(struct db *db, const unsigned char hash[32],
                                   struct db_link_lock *out);

/* OIDC: a login in progress (state_hash and browser_hash are SHA-256; browser_hash NULL and
 * code_challenge set for a client that keeps its own verifier; link_user_id for a link). */
struct db_oidc_state {
	const unsigned char *state_hash, *browser_hash;
	const char *nonce, *code_verifier, *code_challenge, *return_to, *link_user_id;
};
enum db_status db_oidc_state_create(struct db *db, const struct db_oidc_state *o,
                                    long long *expires_at);
/* Takes the state out (single use): *json {nonce, code_verifier, code_challenge, return_to,
 * browser_hash (hex or null), link_user_id}; DB_NOT_FOUND when unknown, used or expired. */
enum db_status db_oidc_state_consume(struct db *db, const unsigned char hash[32], char **json);

/* The user an ID token signs in (found, linked by email or created, per the settings):
 * *json {user_id, how}. DB_REFUSED: P0002 no account, 23505 email taken, 55000 disabled. */
struct db_oidc_identity {
	const char *issuer, *subject, *email, *name, *role, *ip; /* email, name, role may be NULL */
	bool email_verified, sync_role;
};
enum db_status db_oidc_login(struct db *db, const struct db_oidc_identity *o, char **json);
enum db_status db_oidc_link(struct db *db, const char *user_id, const char *issuer,
                            const char *subject, const char *email);
enum db_status db_oidc_unlink(struct db *db, const char *user_id, const char *issuer, bool by_admin,
                              bool *done);
enum db_status db_user_identities_json(struct db *db, const char *user_id, char **json);
/* Revokes the sessions a logout token names (subject and sid may be NULL, not both); a jti is
 * acted on once (DB_REFUSED 23505 on a replay). */
enum db_status db_oidc_backchannel_logout(struct db *db, const char *issuer, const char *subject,
                                          const char *sid, const char *jti, long long expires_at,
                                          long long *revoked);
/* The ID token of the live session of that token hash (DB_NOT_FOUND: none, or not OIDC). */
enum db_status db_session_id_token(struct db *db, const unsigned char hash[32], char **id_token);

/* Config validators and printers (config keys use these; they need libpq's parser). */
int db_conninfo_check(const char *conninfo, char *err, size_t errlen);
/* Writes the conninfo as given, or, if it holds a password, re-rendered as key=value pairs
 * with the password replaced by "********". */
void db_conninfo_redact(const char *conninfo, char *out, size_t outlen);

#endif
