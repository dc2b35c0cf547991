/* db: PostgreSQL connections, the prepared-statement table and typed queries (only libpq user). */
#ifndef POSTERN_DB_H
#define POSTERN_DB_H

#include <stdbool.h>
#include <stddef.h>

/* Results of every db_* query function. */
enum db_status {
	DB_OK = 0,
	DB_NOT_FOUND = 1,    /* the query ran and found nothing */
	DB_UNAVAILABLE = -1, /* no connection, connection lost, or statement timeout: 503 */
	DB_ERROR = -2,       /* the database refused the statement: a bug or a schema mismatch */
};

/* The schema version (sql/migrations) this build needs; checked on every new connection. */
#define DB_SCHEMA_VERSION 1

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

/* Calls fn for every enabled rule in order, or for every setting; fn returning non-zero
 * stops the walk and makes the call return DB_ERROR. */
enum db_status db_load_rules(struct db *db, int (*fn)(void *ctx, const struct rule_row *row),
                             void *ctx);
enum db_status db_load_settings(struct db *db,
                                int (*fn)(void *ctx, const char *key, const char *value),
                                void *ctx);

/* LISTEN postern on this handle's connection (connecting if needed). */
enum db_status db_listen(struct db *db);
/* Waits up to timeout_ms for a notification on a listening handle: 1 with its payload copied
 * into payload (truncated to len - 1), 0 on timeout, DB_UNAVAILABLE if the connection is lost
 * (then db_listen again: notifications sent meanwhile are lost, so reload everything). */
int db_wait_notify(struct db *db, int timeout_ms, char *payload, size_t len);

/* Config validators and printers (config keys use these; they need libpq's parser). */
int db_conninfo_check(const char *conninfo, char *err, size_t errlen);
/* Writes the conninfo as given, or, if it holds a password, re-rendered as key=value pairs
 * with the password replaced by "********". */
void db_conninfo_redact(const char *conninfo, char *out, size_t outlen);

#endif
