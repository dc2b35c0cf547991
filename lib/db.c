/* db: PostgreSQL connections, the prepared-statement table and typed queries (only libpq user). */
#include "db.h"

#include "log.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Every statement the programs run: X(id, sql, parameter count, safe to retry once after a lost
 * connection). Prepared once per connection, right after it is opened; executed by name.
 */
#define DB_STATEMENTS(X)             \
	X(PING, "SELECT 1", 0, true) \
	X(SCHEMA_VERSION, "SELECT postern.get_schema_version()", 0, true)

enum db_stmt {
#define DB_X_ID(id, ...) DB_STMT_##id,
	DB_STATEMENTS(DB_X_ID)
#undef DB_X_ID
	    DB_STMT_COUNT
};

static const struct {
	const char *name;
	const char *sql;
	int nparams;
	bool retry;
} db_statements[DB_STMT_COUNT] = {
#define DB_X_DEF(id, sql, n, retry) { "postern_" #id, sql, n, retry },
	DB_STATEMENTS(DB_X_DEF)
#undef DB_X_DEF
};

struct db {
	PGconn *conn;
	char *conninfo;
	char *appname;
	long connect_timeout_ms;
	long statement_timeout_ms;
	long retry_interval_ms;
	struct timespec next_attempt; /* CLOCK_MONOTONIC: no connection attempt before this */
};

struct db *db_new(const struct db_opts *opts)
{
	struct db *db = calloc(1, sizeof *db);

	if (db == NULL)
		return NULL;
	db->conninfo = strdup(opts->conninfo);
	db->appname = strdup(opts->application_name ? opts->application_name : "postern");
	if (db->conninfo == NULL || db->appname == NULL) {
		db_close(db);
		return NULL;
	}
	db->connect_timeout_ms = opts->connect_timeout_ms;
	db->statement_timeout_ms = opts->statement_timeout_ms;
	db->retry_interval_ms = opts->retry_interval_ms;
	return db;
}

static void db_disconnect(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	free(db->conninfo);
	free(db->appname);
	free(db);
}

static bool db_may_attempt(const struct db *db)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > db->next_attempt.tv_sec ||
	       (now.tv_sec == db->next_attempt.tv_sec && now.tv_nsec >= db->next_attempt.tv_nsec);
}

static void db_defer_attempts(struct db *db)
{
	clock_gettime(CLOCK_MONOTONIC, &db->next_attempt);
	db->next_attempt.tv_sec += db->retry_interval_ms / 1000;
	db->next_attempt.tv_nsec += (db->retry_interval_ms % 1000) * 1000000L;
	if (db->next_attempt.tv_nsec >= 1000000000L) {
		db->next_attempt.tv_sec++;
		db->next_attempt.tv_nsec -= 1000000000L;
	}
}

/* One line of a libpq message, for the log. */
static void db_log_pq(const char *what, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");
	log_error("database: %s: %.*s", what, (int)n, msg ? msg : "");
}

/* A schema older than this build would fail in confusing ways later: refuse it up front. */
static int db_check_version(struct db *db)
{
	PGresult *res = PQexecPrepared(db->conn, db_statements[DB_STMT_SCHEMA_VERSION].name, 0,
	                               NULL, NULL, NULL, 0);
	int version = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    !PQgetisnull(res, 0, 0))
		version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (version < DB_SCHEMA_VERSION) {
		log_error("database: schema version %d, this build needs %d: apply sql/install.sql",
		          version, DB_SCHEMA_VERSION);
		return -1;
	}
	return 0;
}

static int db_setup(struct db *db)
{
	char timeout[32];
	const char *values[1] = { timeout };
	PGresult *res;

	snprintf(timeout, sizeof timeout, "%ld", db->statement_timeout_ms);
	res = PQexecParams(db->conn, "SELECT pg_catalog.set_config('statement_timeout', $1, false)",
	                   1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_log_pq("setting statement_timeout", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	for (int i = 0; i < DB_STMT_COUNT; i++) {
		res = PQprepare(db->conn, db_statements[i].name, db_statements[i].sql,
		                db_statements[i].nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			char what[96];
			snprintf(what, sizeof what, "preparing %s (is sql/install.sql applied?)",
			         db_statements[i].name);
			db_log_pq(what, PQresultErrorMessage(res));
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	return db_check_version(db);
}

static int db_connect(struct db *db)
{
	char timeout[16];
	const char *keys[] = { "dbname", "connect_timeout", "application_name", "client_encoding",
		               NULL };
	const char *vals[] = { db->conninfo, timeout, db->appname, "UTF8", NULL };

	if (!db_may_attempt(db))
		return -1;
	/* libpq takes whole seconds; round up so a short timeout never becomes "wait forever" (0). */
	snprintf(timeout, sizeof timeout, "%ld", (db->connect_timeout_ms + 999) / 1000);
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK) {
		db_log_pq("cannot connect", db->conn ? PQerrorMessage(db->conn) : "out of memory");
		goto fail;
	}
	if (db_setup(db) != 0)
		goto fail;
	log_debug("database: connected");
	return 0;
fail:
	db_disconnect(db);
	db_defer_attempts(db);
	return -1;
}

/* Whether a failed result means the connection (not the statement) is the problem. */
static bool db_result_means_unavailable(const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (state == NULL)
		return true; /* no SQLSTATE: libpq lost the connection */
	/* 08 connection exception, 57014 statement timeout / cancel, 57P0x shutdown, 53 resources */
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	       strncmp(state, "53", 2) == 0;
}

/*
 * Runs a prepared statement; on success returns its result (caller PQclears it). Reconnects
 * once if the connection broke and the statement is safe to retry.
 */
static PGresult *db_exec(struct db *db, enum db_stmt id, const char *const *values,
                         const int *lengths, const int *formats, enum db_status *st)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *res;
		ExecStatusType rs;

		if (db->conn == NULL && db_connect(db) != 0) {
			*st = DB_UNAVAILABLE;
			return NULL;
		}
		res = PQexecPrepared(db->conn, db_statements[id].name, db_statements[id].nparams,
		                     values, lengths, formats, 0);
		rs = PQresultStatus(res);
		if (rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK) {
			*st = DB_OK;
			return res;
		}
		if (!db_result_means_unavailable(res)) {
			db_log_pq(db_statements[id].name, PQresultErrorMessage(res));
			PQclear(res);
			*st = DB_ERROR;
			return NULL;
		}
		db_log_pq(db_statements[id].name,
		          res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
		PQclear(res);
		if (PQstatus(db->conn) == CONNECTION_OK) {
			/* a statement timeout: the connection is fine, the database is slow */
			*st = DB_UNAVAILABLE;
			return NULL;
		}
		db_disconnect(db);
		if (!db_statements[id].retry)
			break;
	}
	*st = DB_UNAVAILABLE;
	return NULL;
}

enum db_status db_ping(struct db *db)
{
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_PING, NULL, NULL, NULL, &st);

	PQclear(res);
	return st;
}

enum db_status db_schema_version(struct db *db, int *version)
{
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_SCHEMA_VERSION, NULL, NULL, NULL, &st);

	if (res == NULL)
		return st;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return DB_OK;
}

int db_conninfo_check(const char *conninfo, char *err, size_t errlen)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &msg);

	if (opts == NULL) {
		snprintf(err, errlen, "not a valid libpq connection string: %.*s",
		         (int)strcspn(msg ? msg : "out of memory", "\n"),
		         msg ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

static bool db_conninfo_has_password(const PQconninfoOption *opts)
{
	for (const PQconninfoOption *p = opts; p->keyword != NULL; p++)
		if (strcmp(p->keyword, "password") == 0 && p->val != NULL)
			return true;
	return false;
}

void db_conninfo_redact(const char *conninfo, char *out, size_t outlen)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (opts == NULL) {
		snprintf(out, outlen, "(invalid)");
		return;
	}
	if (!db_conninfo_has_password(opts)) {
		snprintf(out, outlen, "%s", conninfo);
		PQconninfoFree(opts);
		return;
	}
	for (PQconninfoOption *p = opts; p->keyword != NULL; p++) {
		const char *v = p->val;
		int n;
		if (v == NULL)
			continue;
		if (strcmp(p->keyword, "password") == 0)
			v = "********";
		n = snprintf(out + o, outlen - o, "%s%s='", o ? " " : "", p->keyword);
		if (n < 0 || (size_t)n >= outlen - o)
			break;
		o += (size_t)n;
		for (const char *c = v; *c && o + 3 < outlen; c++) {
			if (*c == '\'' || *c == '\\')
				out[o++] = '\\';
			out[o++] = *c;
		}
		if (o + 1 >= outlen)
			break;
		out[o++] = '\'';
		out[o] = '\0';
	}
	PQconninfoFree(opts);
}
