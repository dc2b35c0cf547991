/* db: PostgreSQL connections, the prepared-statement table and typed queries (only libpq user). */
#ifndef POSTERN_DB_H
#define POSTERN_DB_H

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

/* Config validators and printers (config keys use these; they need libpq's parser). */
int db_conninfo_check(const char *conninfo, char *err, size_t errlen);
/* Writes the conninfo as given, or, if it holds a password, re-rendered as key=value pairs
 * with the password replaced by "********". */
void db_conninfo_redact(const char *conninfo, char *out, size_t outlen);

#endif
