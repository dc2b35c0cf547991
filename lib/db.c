/* db: PostgreSQL connections, the prepared-statement table and typed queries (only libpq user). */
#include "db.h"

#include "log.h"

#include "crypto.h"
#include "identity.h"
#include "rules.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Every statement the programs run: X(id, sql, parameter count, safe to retry once after a lost
 * connection). Each is prepared once per connection, on first use (the two programs use
 * different subsets, and their database roles may execute only their own functions).
 * Timestamps come back as unix seconds and arrays as space-separated words, so that nothing
 * depends on the server's DateStyle or array quoting.
 */
#define DB_STATEMENTS(X)                                                                              \
	X(PING, "SELECT 1", 0, true)                                                                  \
	X(SCHEMA_VERSION, "SELECT postern.get_schema_version()", 0, true)                             \
	X(AUTH_SESSION,                                                                               \
	  "SELECT session_id, user_id, email, coalesce(display_name, ''), role, "                     \
	  "array_to_string(permissions, ' '), user_mfa, session_mfa, must_change_password, "          \
	  "extract(epoch FROM expires_at)::bigint, "                                                  \
	  "coalesce(extract(epoch FROM elevated_until)::bigint, 0) "                                  \
	  "FROM postern.auth_session($1)",                                                            \
	  1, true)                                                                                    \
	X(AUTH_SESSION_ID,                                                                            \
	  "SELECT session_id, user_id, email, coalesce(display_name, ''), role, "                     \
	  "array_to_string(permissions, ' '), user_mfa, session_mfa, must_change_password, "          \
	  "extract(epoch FROM expires_at)::bigint, "                                                  \
	  "coalesce(extract(epoch FROM elevated_until)::bigint, 0) "                                  \
	  "FROM postern.auth_session_id($1::uuid)",                                                   \
	  1, true)                                                                                    \
	X(AUTHZ_SESSION,                                                                              \
	  "SELECT session_id, user_id, email, display_name, role, user_mfa, session_mfa, "            \
	  "must_change_password, expires_at, elevated_until FROM postern.authz_session($1, $2)",      \
	  2, true)                                                                                    \
	X(AUTHZ_SESSION_ID,                                                                           \
	  "SELECT session_id, user_id, email, display_name, role, user_mfa, session_mfa, "            \
	  "must_change_password, expires_at, elevated_until "                                         \
	  "FROM postern.authz_session_id($1::uuid, $2)",                                              \
	  2, true)                                                                                    \
	X(LOAD_ROLE_PERMISSIONS, "SELECT role, permissions FROM postern.load_role_permissions()",     \
	  0, true)                                                                                    \
	X(AUTH_API_KEY,                                                                               \
	  "SELECT key_id, user_id, email, role, array_to_string(permissions, ' '), user_mfa, "        \
	  "coalesce(extract(epoch FROM expires_at)::bigint, 0) FROM postern.auth_api_key($1)",        \
	  1, true)                                                                                    \
	X(AUTH_SHARED_LINK,                                                                           \
	  "SELECT link_id, user_id, email, path_prefix, array_to_string(permissions, ' '), "          \
	  "has_password, coalesce(extract(epoch FROM expires_at)::bigint, 0), "                       \
	  "coalesce(password_version, '') "                                                           \
	  "FROM postern.auth_shared_link($1)",                                                        \
	  1, true)                                                                                    \
	X(CONSUME_TOKEN,                                                                              \
	  "SELECT user_id, email, role, array_to_string(permissions, ' '), "                          \
	  "coalesce(session_id::text, ''), user_mfa FROM postern.consume_token($1, $2, $3)",          \
	  3, false)                                                                                   \
	X(TOUCH_SESSION, "SELECT postern.touch_session($1)", 1, true)                                 \
	X(TOUCH_API_KEY, "SELECT postern.touch_api_key($1)", 1, true)                                 \
	X(LOAD_RULES,                                                                                 \
	  "SELECT id, priority, host, array_to_string(methods, ' '), path_pattern, access, "          \
	  "permission, allow_api_keys, allow_shared_links, token_purpose, require_csrf_token, "       \
	  "require_elevation, policy_function FROM postern.load_rules()",                             \
	  0, true)                                                                                    \
	X(CHECK_POLICY, "SELECT postern.check_policy($1::bigint, $2::jsonb, $3, $4, $5)", 5, true)    \
	X(LOAD_SETTINGS, "SELECT key, value FROM postern.load_settings()", 0, true)                   \
	X(LOGIN_BEGIN,                                                                                \
	  "SELECT coalesce(user_id::text, ''), coalesce(password_hash, ''), "                         \
	  "coalesce(disabled, false), coalesce(mfa_enabled, false), "                                 \
	  "coalesce(must_change_password, false), retry_after "                                       \
	  "FROM postern.login_begin($1, $2::inet)",                                                   \
	  2, true)                                                                                    \
	X(LOGIN_FAILED, "SELECT postern.login_failed($1, $2::inet)", 2, false)                        \
	X(CREATE_SESSION,                                                                             \
	  "SELECT session_id, extract(epoch FROM expires_at)::bigint "                                \
	  "FROM postern.create_session($1::uuid, $2, $3, $4::boolean, $5, $6::inet, $7, $8, $9, "     \
	  "$10)",                                                                                     \
	  10, false)                                                                                  \
	X(LOGOUT_SESSION, "SELECT coalesce(postern.logout_session($1)::text, '')", 1, true)           \
	X(USER_SESSIONS,                                                                              \
	  "SELECT coalesce(json_agg(json_build_object('id', s.id, 'created_at', s.created_at, "       \
	  "'last_seen_at', s.last_seen_at, 'expires_at', s.expires_at, 'auth_method', "               \
	  "s.auth_method, 'mfa', s.mfa, 'user_agent', s.user_agent, 'ip', host(s.ip), 'device', "     \
	  "s.device, 'current', s.id IS NOT DISTINCT FROM $2::uuid) ORDER BY s.created_at DESC), "    \
	  "'[]')::text FROM postern.user_sessions($1::uuid) s",                                       \
	  2, true)                                                                                    \
	X(REVOKE_USER_SESSION, "SELECT postern.revoke_user_session($1::uuid, $2::uuid, $3)::int",     \
	  3, true)                                                                                    \
	X(REVOKE_OTHER_SESSIONS, "SELECT postern.revoke_other_sessions($1::uuid, $2::uuid, $3)",      \
	  3, true)                                                                                    \
	X(PASSWORD_IS_COMMON, "SELECT postern.password_is_common($1)::int", 1, true)                  \
	X(SET_USER_PASSWORD, "SELECT postern.set_user_password($1::uuid, $2, $3::uuid)", 3, false)    \
	X(LINK_UNLOCK_INFO,                                                                           \
	  "SELECT link_id, password_hash, password_version, "                                         \
	  "coalesce(extract(epoch FROM expires_at)::bigint, 0) "                                      \
	  "FROM postern.shared_link_unlock_info($1)",                                                 \
	  1, true)                                                                                    \
	X(ISSUE_REFRESH_TOKEN,                                                                        \
	  "SELECT extract(epoch FROM postern.issue_refresh_token($1::uuid, $2))::bigint", 2,          \
	  false)                                                                                      \
	X(ROTATE_REFRESH_TOKEN,                                                                       \
	  "SELECT status, coalesce(session_id::text, ''), coalesce(user_id::text, ''), "              \
	  "coalesce(extract(epoch FROM expires_at)::bigint, 0) "                                      \
	  "FROM postern.rotate_refresh_token($1, $2)",                                                \
	  2, false)                                                                                   \
	X(ISSUE_SINGLE_USE_TOKEN,                                                                     \
	  "SELECT extract(epoch FROM postern.issue_single_use_token($1::uuid, $2::uuid, $3, $4, $5, " \
	  "$6::int))::bigint",                                                                        \
	  6, false)                                                                                   \
	X(MFA_SETUP, "SELECT postern.mfa_setup($1::uuid, decode($2, 'hex'))", 2, false)               \
	X(MFA_SECRET,                                                                                 \
	  "SELECT encode(secret_enc, 'hex'), enabled FROM postern.mfa_secret($1::uuid)", 1, true)     \
	X(MFA_USE_STEP,                                                                               \
	  "SELECT postern.mfa_use_step($1::uuid, $2::bigint, $3::boolean, "                           \
	  "ARRAY(SELECT decode(h, 'hex') FROM unnest(string_to_array($4, ' ')) h))::int",             \
	  4, false)                                                                                   \
	X(MFA_USE_BACKUP, "SELECT postern.mfa_use_backup_code($1::uuid, $2)::int", 2, false)          \
	X(MFA_DISABLE, "SELECT postern.mfa_disable($1::uuid)", 1, false)                              \
	X(MFA_CHALLENGE_CREATE,                                                                       \
	  "SELECT extract(epoch FROM postern.mfa_challenge_create($1::uuid, $2))::bigint", 2,         \
	  false)                                                                                      \
	X(MFA_CHALLENGE_ATTEMPT, "SELECT user_id, email FROM postern.mfa_challenge_attempt($1)",      \
	  1, false)                                                                                   \
	X(MFA_CHALLENGE_DONE, "SELECT postern.mfa_challenge_done($1)", 1, true)                       \
	X(SET_USER_PIN, "SELECT postern.set_user_pin($1::uuid, $2)", 2, false)                        \
	X(USER_PIN_HASH, "SELECT postern.user_pin_hash($1::uuid)", 1, true)                           \
	X(SET_SESSION_ELEVATION,                                                                      \
	  "SELECT coalesce(extract(epoch FROM postern.set_session_elevation($1::uuid, "               \
	  "$2::boolean))::bigint, 0)",                                                                \
	  2, false)                                                                                   \
	X(CREATE_USER_SHARED_LINK,                                                                    \
	  "SELECT postern.create_user_shared_link($1::uuid, $2, "                                     \
	  "ARRAY(SELECT json_array_elements_text($3::json)), $4::timestamptz, $5, $6, $7, $8)::text", \
	  8, false)                                                                                   \
	X(USER_SHARED_LINKS,                                                                          \
	  "SELECT coalesce(json_agg(l ORDER BY l.created_at DESC), '[]')::text "                      \
	  "FROM postern.user_shared_links($1::uuid) l",                                               \
	  1, true)                                                                                    \
	X(UPDATE_USER_SHARED_LINK,                                                                    \
	  "SELECT postern.update_user_shared_link($1::uuid, $2::uuid, $3::timestamptz)::int", 3,      \
	  false)                                                                                      \
	X(REVOKE_USER_SHARED_LINK,                                                                    \
	  "SELECT postern.revoke_user_shared_link($1::uuid, $2::uuid)::int", 2, true)                 \
	X(RUN_CLEANUP, "SELECT postern.run_cleanup()", 0, false)                                      \
	X(ADMIN_SET_SETTING, "SELECT postern.admin_set_setting($1::uuid, $2, $3)", 3, false)          \
	X(REPORT_STATS, "SELECT postern.report_stats($1, $2::jsonb)", 2, true)                        \
	X(METRICS_TEXT,                                                                               \
	  "SELECT coalesce(string_agg(CASE WHEN rn = 1 THEN '# TYPE ' || base || ' ' || "             \
	  "CASE WHEN base LIKE '%\\_total' THEN 'counter' ELSE 'gauge' END || E'\\n' ELSE '' END "    \
	  "|| metric || ' ' || value, E'\\n' ORDER BY metric) || E'\\n', '') FROM (SELECT metric, "   \
	  "value, split_part(metric, '{', 1) AS base, row_number() OVER (PARTITION BY "               \
	  "split_part(metric, '{', 1) ORDER BY metric) AS rn FROM postern.metrics()) m",              \
	  0, true)                                                                                    \
	X(GET_USER, "SELECT row_to_json(u)::text FROM postern.get_user($1::uuid) u", 1, true)         \
	X(CREATE_USER_API_KEY,                                                                        \
	  "SELECT postern.create_user_api_key($1::uuid, $2, "                                         \
	  "ARRAY(SELECT json_array_elements_text($3::json)), $4::timestamptz, $5, $6, "               \
	  "string_to_array($7, ' '))::text",                                                          \
	  7, false)                                                                                   \
	X(USER_API_KEYS,                                                                              \
	  "SELECT coalesce(json_agg(k ORDER BY k.created_at DESC), '[]')::text "                      \
	  "FROM postern.user_api_keys($1::uuid) k",                                                   \
	  1, true)                                                                                    \
	X(UPDATE_USER_API_KEY,                                                                        \
	  "SELECT postern.update_user_api_key($1::uuid, $2::uuid, $3, "                               \
	  "CASE WHEN $4::text IS NULL THEN NULL "                                                     \
	  "ELSE ARRAY(SELECT json_array_elements_text($4::json)) END, $5::timestamptz, "              \
	  "string_to_array($6, ' '))::int",                                                           \
	  6, false)                                                                                   \
	X(ROTATE_USER_API_KEY,                                                                        \
	  "SELECT postern.rotate_user_api_key($1::uuid, $2::uuid, $3, $4, "                           \
	  "string_to_array($5, ' '))::int",                                                           \
	  5, false)                                                                                   \
	X(REVOKE_USER_API_KEY, "SELECT postern.revoke_user_api_key($1::uuid, $2::uuid)::int", 2,      \
	  true)                                                                                       \
	X(OIDC_STATE_CREATE, "SELECT postern.oidc_state_create($1, $2, $3, $4, $5, $6, $7::uuid)",    \
	  7, false)                                                                                   \
	X(OIDC_STATE_CONSUME, "SELECT postern.oidc_state_consume($1)::text", 1, false)                \
	X(OIDC_LOGIN,                                                                                 \
	  "SELECT postern.oidc_login($1, $2, $3, $4::boolean, $5, $6::boolean, $7, $8::inet)::text",  \
	  8, false)                                                                                   \
	X(OIDC_LINK, "SELECT postern.oidc_link($1::uuid, $2, $3, $4)", 4, false)                      \
	X(OIDC_UNLINK, "SELECT postern.oidc_unlink($1::uuid, $2, $3::boolean)::int", 3, false)        \
	X(USER_IDENTITIES, "SELECT postern.user_identities_json($1::uuid)::text", 1, true)            \
	X(OIDC_BACKCHANNEL,                                                                           \
	  "SELECT postern.oidc_backchannel_logout($1, $2, $3, $4, to_timestamp($5::bigint))", 5,      \
	  false)                                                                                      \
	X(SESSION_ID_TOKEN, "SELECT postern.session_id_token($1)", 1, true)

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

/* db->prepared has one bit per statement */
_Static_assert(DB_STMT_COUNT <= 64, "more statements than bits in db->prepared");

struct db {
	PGconn *conn;
	char *conninfo;
	char *appname;
	long connect_timeout_ms;
	long statement_timeout_ms;
	long retry_interval_ms;
	struct timespec next_attempt; /* CLOCK_MONOTONIC: no connection attempt before this */
	unsigned long prepared;       /* bit i: statement i is prepared on this connection */
	char refusal_state[6];        /* the last DB_REFUSED: SQLSTATE and message */
	char refusal_message[256];
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
	db->prepared = 0;
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

static int db_prepare(struct db *db, enum db_stmt id)
{
	PGresult *res;
	char what[96];

	if (db->prepared & (1ul << id))
		return 0;
	res = PQprepare(db->conn, db_statements[id].name, db_statements[id].sql,
	                db_statements[id].nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(what, sizeof what, "preparing %s (is sql/install.sql applied?)",
		         db_statements[id].name);
		db_log_pq(what, PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	db->prepared |= 1ul << id;
	return 0;
}

/* A schema older than this build would fail in confusing ways later: refuse it up front. */
static int db_check_version(struct db *db)
{
	PGresult *res;
	int version = -1;

	if (db_prepare(db, DB_STMT_SCHEMA_VERSION) != 0)
		return -1;
	res = PQexecPrepared(db->conn, db_statements[DB_STMT_SCHEMA_VERSION].name, 0, NULL, NULL,
	                     NULL, 0);
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

/* How often a server running one of our statements checks that we are still there. */
#define DB_CLIENT_CHECK_MS 250

static int db_setup(struct db *db)
{
	char timeout[32], check[32];
	const char *values[2] = { timeout, check };
	/* A program killed while its statement waits (a lock, a slow disk) must not have that
	 * statement finish and commit after all: a login would leave a session nobody holds.
	 * PostgreSQL 14+ notices the closed connection within this interval and rolls back. */
	bool check_ok = PQserverVersion(db->conn) >= 140000;
	PGresult *res;

	snprintf(timeout, sizeof timeout, "%ld", db->statement_timeout_ms);
	snprintf(check, sizeof check, "%d", DB_CLIENT_CHECK_MS);
	res =
	    PQexecParams(db->conn,
	                 check_ok ? "SELECT pg_catalog.set_config('statement_timeout', $1, false), "
	                            "pg_catalog.set_config('client_connection_check_interval', $2, "
	                            "false)"
	                          : "SELECT pg_catalog.set_config('statement_timeout', $1, false)",
	                 check_ok ? 2 : 1, NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_log_pq("setting statement_timeout", PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	PQclear(res);
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
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (state == NULL)
		return true; /* no SQLSTATE: libpq lost the connection */
	/* a bound of ours (53400 "postern: too many ...") refuses the input; the server is fine */
	if (msg != NULL && strncmp(msg, "postern: ", 9) == 0)
		return false;
	/* 08 connection exception, 57014 statement timeout / cancel, 57P0x shutdown, 53 resources */
	return strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	       strncmp(state, "53", 2) == 0;
}

/* Whether a failed result refuses the input ("postern: ..." raised by one of our functions, or
 * a data exception); if so, remembers its SQLSTATE and message for the caller. */
static bool db_refused(struct db *db, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	bool ours = msg != NULL && strncmp(msg, "postern: ", 9) == 0;

	/* class 22 (data exception: a bad date, uuid or JSON from the client) is the input's
	 * fault too */
	if (state == NULL || msg == NULL || (!ours && strncmp(state, "22", 2) != 0))
		return false;
	snprintf(db->refusal_state, sizeof db->refusal_state, "%s", state);
	snprintf(db->refusal_message, sizeof db->refusal_message, "%s", ours ? msg + 9 : msg);
	return true;
}

const char *db_refusal_state(const struct db *db)
{
	return db->refusal_state;
}

const char *db_refusal_message(const struct db *db)
{
	return db->refusal_message;
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
		if (db_prepare(db, id) != 0) {
			/* a statement this schema cannot prepare will not work on a retry either */
			*st = PQstatus(db->conn) == CONNECTION_OK ? DB_ERROR : DB_UNAVAILABLE;
			if (*st == DB_UNAVAILABLE)
				db_disconnect(db);
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
			*st = db_refused(db, res) ? DB_REFUSED : DB_ERROR;
			if (*st == DB_ERROR)
				db_log_pq(db_statements[id].name, PQresultErrorMessage(res));
			PQclear(res);
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

/* Copies one text column into a fixed buffer; -1 if it does not fit (a schema surprise). */
static int db_copy(char *dst, size_t n, const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);
	size_t l = (size_t)PQgetlength(res, row, col);

	if (l >= n)
		return -1;
	memcpy(dst, v, l);
	dst[l] = '\0';
	return 0;
}

static bool db_bool(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

static long long db_int8(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Runs a lookup taking the 32-byte hash (binary) and optional text parameters; returns the
 * result holding exactly one row, or NULL with *st set (DB_NOT_FOUND for none). */
static PGresult *db_lookup(struct db *db, enum db_stmt id, const unsigned char hash[32],
                           const char *p2, const char *p3, enum db_status *st)
{
	const char *values[3] = { (const char *)hash, p2, p3 };
	const int lengths[3] = { 32, 0, 0 };
	const int formats[3] = { 1, 0, 0 };
	PGresult *res = db_exec(db, id, values, lengths, formats, st);

	if (res == NULL)
		return NULL;
	if (PQntuples(res) != 1) {
		*st = PQntuples(res) == 0 ? DB_NOT_FOUND : DB_ERROR;
		PQclear(res);
		return NULL;
	}
	return res;
}

static enum db_status db_lookup_done(PGresult *res, int copy_failed, const char *what)
{
	PQclear(res);
	if (copy_failed) {
		log_error("database: %s returned a value longer than this build expects", what);
		return DB_ERROR;
	}
	return DB_OK;
}

/* The columns of AUTH_SESSION and AUTH_SESSION_ID; AUTHZ_SESSION(_ID) have the same without
 * the permissions (column 5), and the identity's stay as they are. */
static enum db_status db_session_row(PGresult *res, bool with_permissions, struct identity *id)
{
	int p = with_permissions ? 1 : 0;
	int bad = db_copy(id->session_id, sizeof id->session_id, res, 0, 0) |
	          db_copy(id->user_id, sizeof id->user_id, res, 0, 1) |
	          db_copy(id->email, sizeof id->email, res, 0, 2) |
	          db_copy(id->display_name, sizeof id->display_name, res, 0, 3) |
	          db_copy(id->role, sizeof id->role, res, 0, 4);

	if (with_permissions)
		bad |= db_copy(id->permissions, sizeof id->permissions, res, 0, 5);
	id->user_mfa = db_bool(res, 0, 5 + p);
	id->session_mfa = db_bool(res, 0, 6 + p);
	id->must_change_password = db_bool(res, 0, 7 + p);
	id->expires_at = db_int8(res, 0, 8 + p);
	id->elevated_until = db_int8(res, 0, 9 + p);
	return db_lookup_done(res, bad, "the session lookup");
}

/* idle: AUTHZ_SESSION(_ID)'s idle timeout as text; NULL for AUTH_SESSION(_ID). */
static enum db_status db_session_by_hash(struct db *db, enum db_stmt stmt,
                                         const unsigned char hash[32], const char *idle,
                                         struct identity *id)
{
	enum db_status st;
	PGresult *res = db_lookup(db, stmt, hash, idle, NULL, &st);

	return res == NULL ? st : db_session_row(res, stmt == DB_STMT_AUTH_SESSION, id);
}

static enum db_status db_session_by_id(struct db *db, enum db_stmt stmt, const char *session_id,
                                       const char *idle, struct identity *id)
{
	const char *values[2] = { session_id, idle };
	enum db_status st;
	PGresult *res = db_exec(db, stmt, values, NULL, NULL, &st);

	if (res == NULL)
		return st;
	if (PQntuples(res) != 1) {
		st = PQntuples(res) == 0 ? DB_NOT_FOUND : DB_ERROR;
		PQclear(res);
		return st;
	}
	return db_session_row(res, stmt == DB_STMT_AUTH_SESSION_ID, id);
}

enum db_status db_auth_session(struct db *db, const unsigned char hash[32], struct identity *id)
{
	return db_session_by_hash(db, DB_STMT_AUTH_SESSION, hash, NULL, id);
}

enum db_status db_auth_session_id(struct db *db, const char *session_id, struct identity *id)
{
	return db_session_by_id(db, DB_STMT_AUTH_SESSION_ID, session_id, NULL, id);
}

enum db_status db_authz_session(struct db *db, const unsigned char hash[32], long idle_timeout,
                                struct identity *id)
{
	char idle[24];

	snprintf(idle, sizeof idle, "%ld", idle_timeout);
	return db_session_by_hash(db, DB_STMT_AUTHZ_SESSION, hash, idle, id);
}

enum db_status db_authz_session_id(struct db *db, const char *session_id, long idle_timeout,
                                   struct identity *id)
{
	char idle[24];

	snprintf(idle, sizeof idle, "%ld", idle_timeout);
	return db_session_by_id(db, DB_STMT_AUTHZ_SESSION_ID, session_id, idle, id);
}

enum db_status db_auth_api_key(struct db *db, const unsigned char hash[32], struct identity *id)
{
	enum db_status st;
	PGresult *res = db_lookup(db, DB_STMT_AUTH_API_KEY, hash, NULL, NULL, &st);
	int bad;

	if (res == NULL)
		return st;
	bad = db_copy(id->key_id, sizeof id->key_id, res, 0, 0) |
	      db_copy(id->user_id, sizeof id->user_id, res, 0, 1) |
	      db_copy(id->email, sizeof id->email, res, 0, 2) |
	      db_copy(id->role, sizeof id->role, res, 0, 3) |
	      db_copy(id->permissions, sizeof id->permissions, res, 0, 4);
	id->user_mfa = db_bool(res, 0, 5);
	id->expires_at = db_int8(res, 0, 6);
	return db_lookup_done(res, bad, "auth_api_key");
}

enum db_status db_auth_shared_link(struct db *db, const unsigned char hash[32], struct identity *id)
{
	enum db_status st;
	PGresult *res = db_lookup(db, DB_STMT_AUTH_SHARED_LINK, hash, NULL, NULL, &st);
	int bad;

	if (res == NULL)
		return st;
	bad = db_copy(id->link_id, sizeof id->link_id, res, 0, 0) |
	      db_copy(id->user_id, sizeof id->user_id, res, 0, 1) |
	      db_copy(id->email, sizeof id->email, res, 0, 2) |
	      db_copy(id->path_prefix, sizeof id->path_prefix, res, 0, 3) |
	      db_copy(id->permissions, sizeof id->permissions, res, 0, 4);
	id->has_password = db_bool(res, 0, 5);
	id->expires_at = db_int8(res, 0, 6);
	bad |= db_copy(id->link_version, sizeof id->link_version, res, 0, 7);
	return db_lookup_done(res, bad, "auth_shared_link");
}

enum db_status db_consume_token(struct db *db, const unsigned char hash[32], const char *purpose,
                                const char *path, struct identity *id)
{
	enum db_status st;
	PGresult *res = db_lookup(db, DB_STMT_CONSUME_TOKEN, hash, purpose, path, &st);
	int bad;

	if (res == NULL)
		return st;
	bad = db_copy(id->user_id, sizeof id->user_id, res, 0, 0) |
	      db_copy(id->email, sizeof id->email, res, 0, 1) |
	      db_copy(id->role, sizeof id->role, res, 0, 2) |
	      db_copy(id->permissions, sizeof id->permissions, res, 0, 3) |
	      db_copy(id->session_id, sizeof id->session_id, res, 0, 4);
	id->user_mfa = db_bool(res, 0, 5);
	return db_lookup_done(res, bad, "consume_token");
}

enum db_status db_check_policy(struct db *db, long rule_id, const char *identity_json,
                               const char *method, const char *host, const char *path,
                               bool *allowed)
{
	char id[24];
	const char *values[5] = { id, identity_json, method, host, path };
	enum db_status st;
	PGresult *res;

	snprintf(id, sizeof id, "%ld", rule_id);
	res = db_exec(db, DB_STMT_CHECK_POLICY, values, NULL, NULL, &st);
	if (res == NULL)
		return st;
	*allowed = PQntuples(res) == 1 && db_bool(res, 0, 0);
	PQclear(res);
	return DB_OK;
}

static enum db_status db_touch(struct db *db, enum db_stmt id, const char *uuid)
{
	const char *values[1] = { uuid };
	enum db_status st;
	PGresult *res = db_exec(db, id, values, NULL, NULL, &st);

	PQclear(res);
	return st;
}

enum db_status db_touch_session(struct db *db, const char *session_id)
{
	return db_touch(db, DB_STMT_TOUCH_SESSION, session_id);
}

enum db_status db_touch_api_key(struct db *db, const char *key_id)
{
	return db_touch(db, DB_STMT_TOUCH_API_KEY, key_id);
}

/* NULL for SQL NULL, else the text value. */
static const char *db_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

enum db_status db_load_rules(struct db *db, int (*fn)(void *ctx, const struct rule_row *row),
                             void *ctx)
{
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_LOAD_RULES, NULL, NULL, NULL, &st);

	if (res == NULL)
		return st;
	for (int i = 0; i < PQntuples(res); i++) {
		const struct rule_row row = {
			.id = db_text(res, i, 0),
			.priority = db_text(res, i, 1),
			.host = db_text(res, i, 2),
			.methods = db_text(res, i, 3),
			.path_pattern = db_text(res, i, 4),
			.access = db_text(res, i, 5),
			.permission = db_text(res, i, 6),
			.allow_api_keys = db_text(res, i, 7),
			.allow_shared_links = db_text(res, i, 8),
			.token_purpose = db_text(res, i, 9),
			.require_csrf_token = db_text(res, i, 10),
			.require_elevation = db_text(res, i, 11),
			.policy_function = db_text(res, i, 12),
		};
		if (fn(ctx, &row) != 0) {
			PQclear(res);
			return DB_ERROR;
		}
	}
	PQclear(res);
	return DB_OK;
}

/* A statement of two text columns, row by row into fn. */
static enum db_status db_load_pairs(struct db *db, enum db_stmt stmt,
                                    int (*fn)(void *ctx, const char *a, const char *b), void *ctx)
{
	enum db_status st;
	PGresult *res = db_exec(db, stmt, NULL, NULL, NULL, &st);

	if (res == NULL)
		return st;
	for (int i = 0; i < PQntuples(res); i++) {
		if (fn(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) != 0) {
			PQclear(res);
			return DB_ERROR;
		}
	}
	PQclear(res);
	return DB_OK;
}

enum db_status db_load_settings(struct db *db,
                                int (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	return db_load_pairs(db, DB_STMT_LOAD_SETTINGS, fn, ctx);
}

enum db_status
db_load_role_permissions(struct db *db,
                         int (*fn)(void *ctx, const char *role, const char *permissions), void *ctx)
{
	return db_load_pairs(db, DB_STMT_LOAD_ROLE_PERMISSIONS, fn, ctx);
}

enum db_status db_listen(struct db *db)
{
	PGresult *res;

	if (db->conn == NULL && db_connect(db) != 0)
		return DB_UNAVAILABLE;
	/* a fixed utility statement: nothing to parameterise, and LISTEN cannot be prepared */
	res = PQexec(db->conn, "LISTEN postern");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		db_log_pq("LISTEN postern", PQresultErrorMessage(res));
		PQclear(res);
		db_disconnect(db);
		db_defer_attempts(db);
		return DB_UNAVAILABLE;
	}
	PQclear(res);
	return DB_OK;
}

int db_wait_notify(struct db *db, int timeout_ms, char *payload, size_t len)
{
	PGnotify *n;
	struct pollfd pfd;

	if (db->conn == NULL)
		return DB_UNAVAILABLE;
	for (int pass = 0; pass < 2; pass++) {
		if (PQconsumeInput(db->conn) == 0) {
			db_log_pq("listener", PQerrorMessage(db->conn));
			db_disconnect(db);
			return DB_UNAVAILABLE;
		}
		n = PQnotifies(db->conn);
		if (n != NULL) {
			snprintf(payload, len, "%s", n->extra);
			PQfreemem(n);
			return 1;
		}
		if (pass == 1)
			break;
		pfd.fd = PQsocket(db->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, timeout_ms) < 0) {
			db_disconnect(db);
			return DB_UNAVAILABLE;
		}
		if (pfd.revents == 0)
			return 0;
	}
	return 0;
}

/* The first column of a statement's single row as text (caller frees), or DB_NOT_FOUND when
 * it returned no row or NULL. NULL entries of values are SQL NULLs; hash parameters (formats
 * 1) are 32-byte binary. */
static enum db_status db_scalar(struct db *db, enum db_stmt id, const char *const *values,
                                const int *formats, char **out)
{
	int lengths[8] = { 0 };
	enum db_status st;
	PGresult *res;

	for (int i = 0; formats && i < db_statements[id].nparams && i < 8; i++)
		lengths[i] = formats[i] ? CRYPTO_SHA256_LEN : 0;
	res = db_exec(db, id, values, lengths, formats, &st);
	if (res == NULL)
		return st;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	*out = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return *out ? DB_OK : DB_ERROR;
}

/* db_scalar for an integer result. */
static enum db_status db_scalar_int(struct db *db, enum db_stmt id, const char *const *values,
                                    const int *formats, long long *out)
{
	char *text = NULL;
	enum db_status st = db_scalar(db, id, values, formats, &text);

	if (st == DB_OK)
		*out = strtoll(text, NULL, 10);
	free(text);
	return st;
}

/* db_scalar for a boolean result (the statements cast it to int). */
static enum db_status db_scalar_bool(struct db *db, enum db_stmt id, const char *const *values,
                                     const int *formats, bool *out)
{
	long long v = 0;
	enum db_status st = db_scalar_int(db, id, values, formats, &v);

	*out = v != 0;
	return st;
}

enum db_status db_login_begin(struct db *db, const char *email, const char *ip,
                              struct db_login *out)
{
	const char *values[2] = { email, ip };
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_LOGIN_BEGIN, values, NULL, NULL, &st);
	int bad;

	if (res == NULL)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_ERROR;
	}
	bad = db_copy(out->user_id, sizeof out->user_id, res, 0, 0) |
	      db_copy(out->password_hash, sizeof out->password_hash, res, 0, 1);
	out->disabled = db_bool(res, 0, 2);
	out->mfa_enabled = db_bool(res, 0, 3);
	out->must_change_password = db_bool(res, 0, 4);
	out->retry_after = (int)db_int8(res, 0, 5);
	return db_lookup_done(res, bad, "login_begin");
}

enum db_status db_login_failed(struct db *db, const char *email, const char *ip, int *retry_after)
{
	const char *values[2] = { email, ip };
	long long v = 0;
	enum db_status st = db_scalar_int(db, DB_STMT_LOGIN_FAILED, values, NULL, &v);

	*retry_after = (int)v;
	return st;
}

enum db_status db_create_session(struct db *db, const struct db_new_session *s, char session_id[37],
                                 long long *expires_at)
{
	const char *values[10] = { s->user_id,     (const char *)s->token_hash,
		                   s->auth_method, s->mfa ? "true" : "false",
		                   s->user_agent,  s->ip,
		                   s->device,      s->oidc_issuer,
		                   s->oidc_sid,    s->oidc_id_token };
	const int lengths[10] = { 0, CRYPTO_SHA256_LEN };
	const int formats[10] = { 0, 1 };
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_CREATE_SESSION, values, lengths, formats, &st);
	int bad;

	if (res == NULL)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_ERROR;
	}
	bad = db_copy(session_id, 37, res, 0, 0);
	*expires_at = db_int8(res, 0, 1);
	return db_lookup_done(res, bad, "create_session");
}

enum db_status db_logout_session(struct db *db, const unsigned char hash[32])
{
	const char *values[1] = { (const char *)hash };
	const int formats[1] = { 1 };
	char *id = NULL;
	enum db_status st = db_scalar(db, DB_STMT_LOGOUT_SESSION, values, formats, &id);

	free(id);
	return st;
}

enum db_status db_user_sessions_json(struct db *db, const char *user_id,
                                     const char *current_session, char **json)
{
	const char *values[2] = { user_id, current_session };

	return db_scalar(db, DB_STMT_USER_SESSIONS, values, NULL, json);
}

enum db_status db_revoke_user_session(struct db *db, const char *user_id, const char *session_id,
                                      const char *reason, bool *revoked)
{
	const char *values[3] = { user_id, session_id, reason };
	return db_scalar_bool(db, DB_STMT_REVOKE_USER_SESSION, values, NULL, revoked);
}

enum db_status db_revoke_other_sessions(struct db *db, const char *user_id, const char *keep,
                                        const char *reason, long long *count)
{
	const char *values[3] = { user_id, keep, reason };

	return db_scalar_int(db, DB_STMT_REVOKE_OTHER_SESSIONS, values, NULL, count);
}

enum db_status db_password_is_common(struct db *db, const unsigned char hash[32], bool *common)
{
	const char *values[1] = { (const char *)hash };
	const int formats[1] = { 1 };
	return db_scalar_bool(db, DB_STMT_PASSWORD_IS_COMMON, values, formats, common);
}

enum db_status db_set_user_password(struct db *db, const char *user_id, const char *bcrypt_hash,
                                    const char *keep_session, long long *revoked)
{
	const char *values[3] = { user_id, bcrypt_hash, keep_session };

	return db_scalar_int(db, DB_STMT_SET_USER_PASSWORD, values, NULL, revoked);
}

enum db_status db_get_user_json(struct db *db, const char *user_id, char **json)
{
	const char *values[1] = { user_id };

	return db_scalar(db, DB_STMT_GET_USER, values, NULL, json);
}

enum db_status db_create_user_api_key(struct db *db, const struct db_new_key *k, char **key_id)
{
	const char *values[7] = { k->user_id,
		                  k->name,
		                  k->permissions_json,
		                  k->expires_at,
		                  (const char *)k->token_hash,
		                  k->prefix,
		                  k->ceiling };
	const int formats[7] = { 0, 0, 0, 0, 1, 0, 0 };

	return db_scalar(db, DB_STMT_CREATE_USER_API_KEY, values, formats, key_id);
}

enum db_status db_user_api_keys_json(struct db *db, const char *user_id, char **json)
{
	const char *values[1] = { user_id };

	return db_scalar(db, DB_STMT_USER_API_KEYS, values, NULL, json);
}

enum db_status db_update_user_api_key(struct db *db, const char *user_id, const char *key_id,
                                      const char *name, const char *permissions_json,
                                      const char *expires_at, const char *ceiling, bool *done)
{
	const char *values[6] = { user_id, key_id, name, permissions_json, expires_at, ceiling };
	return db_scalar_bool(db, DB_STMT_UPDATE_USER_API_KEY, values, NULL, done);
}

enum db_status db_rotate_user_api_key(struct db *db, const char *user_id, const char *key_id,
                                      const unsigned char hash[32], const char *prefix,
                                      const char *ceiling, bool *done)
{
	const char *values[5] = { user_id, key_id, (const char *)hash, prefix, ceiling };
	const int formats[5] = { 0, 0, 1, 0, 0 };
	return db_scalar_bool(db, DB_STMT_ROTATE_USER_API_KEY, values, formats, done);
}

enum db_status db_revoke_user_api_key(struct db *db, const char *user_id, const char *key_id,
                                      bool *done)
{
	const char *values[2] = { user_id, key_id };
	return db_scalar_bool(db, DB_STMT_REVOKE_USER_API_KEY, values, NULL, done);
}

enum db_status db_link_unlock_info(struct db *db, const unsigned char hash[32],
                                   struct db_link_lock *out)
{
	enum db_status st;
	PGresult *res = db_lookup(db, DB_STMT_LINK_UNLOCK_INFO, hash, NULL, NULL, &st);
	int bad;

	if (res == NULL)
		return st;
	bad = db_copy(out->link_id, sizeof out->link_id, res, 0, 0) |
	      db_copy(out->password_hash, sizeof out->password_hash, res, 0, 1) |
	      db_copy(out->version, sizeof out->version, res, 0, 2);
	out->expires_at = db_int8(res, 0, 3);
	return db_lookup_done(res, bad, "shared_link_unlock_info");
}

enum db_status db_issue_refresh_token(struct db *db, const char *session_id,
                                      const unsigned char hash[32], long long *expires_at)
{
	const char *values[2] = { session_id, (const char *)hash };
	const int formats[2] = { 0, 1 };

	return db_scalar_int(db, DB_STMT_ISSUE_REFRESH_TOKEN, values, formats, expires_at);
}

enum db_status db_rotate_refresh_token(struct db *db, const unsigned char old_hash[32],
                                       const unsigned char new_hash[32], struct db_rotation *out)
{
	const char *values[2] = { (const char *)old_hash, (const char *)new_hash };
	const int lengths[2] = { CRYPTO_SHA256_LEN, CRYPTO_SHA256_LEN };
	const int formats[2] = { 1, 1 };
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_ROTATE_REFRESH_TOKEN, values, lengths, formats, &st);
	int bad;

	if (res == NULL)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_ERROR;
	}
	bad = db_copy(out->status, sizeof out->status, res, 0, 0) |
	      db_copy(out->session_id, sizeof out->session_id, res, 0, 1) |
	      db_copy(out->user_id, sizeof out->user_id, res, 0, 2);
	out->expires_at = db_int8(res, 0, 3);
	return db_lookup_done(res, bad, "rotate_refresh_token");
}

enum db_status db_issue_single_use_token(struct db *db, const struct db_new_token *t,
                                         long long *expires_at)
{
	char ttl[16];
	const char *values[6] = { t->user_id, t->session_id, (const char *)t->token_hash,
		                  t->purpose, t->path,       ttl };
	const int formats[6] = { 0, 0, 1, 0, 0, 0 };

	snprintf(ttl, sizeof ttl, "%d", t->ttl_seconds);
	return db_scalar_int(db, DB_STMT_ISSUE_SINGLE_USE_TOKEN, values, formats, expires_at);
}

enum db_status db_mfa_setup(struct db *db, const char *user_id, const char *sealed_hex)
{
	const char *values[2] = { user_id, sealed_hex };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_MFA_SETUP, values, NULL, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st; /* a void function returns one NULL */
}

enum db_status db_mfa_secret(struct db *db, const char *user_id, char *sealed_hex, size_t len,
                             bool *enabled)
{
	const char *values[1] = { user_id };
	enum db_status st;
	PGresult *res = db_exec(db, DB_STMT_MFA_SECRET, values, NULL, NULL, &st);
	int bad;

	if (res == NULL)
		return st;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return DB_NOT_FOUND;
	}
	bad = db_copy(sealed_hex, len, res, 0, 0);
	*enabled = db_bool(res, 0, 1);
	return db_lookup_done(res, bad, "mfa_secret");
}

enum db_status db_mfa_use_step(struct db *db, const char *user_id, long long step, bool enable,
                               const char *backup_hashes_hex, bool *used)
{
	char s[24];
	const char *values[4] = { user_id, s, enable ? "true" : "false", backup_hashes_hex };

	snprintf(s, sizeof s, "%lld", step);
	return db_scalar_bool(db, DB_STMT_MFA_USE_STEP, values, NULL, used);
}

enum db_status db_mfa_use_backup_code(struct db *db, const char *user_id,
                                      const unsigned char hash[32], bool *used)
{
	const char *values[2] = { user_id, (const char *)hash };
	const int formats[2] = { 0, 1 };
	return db_scalar_bool(db, DB_STMT_MFA_USE_BACKUP, values, formats, used);
}

enum db_status db_mfa_disable(struct db *db, const char *user_id)
{
	const char *values[1] = { user_id };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_MFA_DISABLE, values, NULL, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status db_mfa_challenge_create(struct db *db, const char *user_id,
                                       const unsigned char hash[32], long long *expires_at)
{
	const char *values[2] = { user_id, (const char *)hash };
	const int formats[2] = { 0, 1 };

	return db_scalar_int(db, DB_STMT_MFA_CHALLENGE_CREATE, values, formats, expires_at);
}

enum db_status db_mfa_challenge_attempt(struct db *db, const unsigned char hash[32],
                                        char user_id[37], char *email, size_t email_len)
{
	enum db_status st;
	PGresult *res = db_lookup(db, DB_STMT_MFA_CHALLENGE_ATTEMPT, hash, NULL, NULL, &st);
	int bad;

	if (res == NULL)
		return st;
	bad = db_copy(user_id, 37, res, 0, 0) | db_copy(email, email_len, res, 0, 1);
	return db_lookup_done(res, bad, "mfa_challenge_attempt");
}

enum db_status db_mfa_challenge_done(struct db *db, const unsigned char hash[32])
{
	const char *values[1] = { (const char *)hash };
	const int formats[1] = { 1 };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_MFA_CHALLENGE_DONE, values, formats, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status db_set_user_pin(struct db *db, const char *user_id, const char *pin_hash)
{
	const char *values[2] = { user_id, pin_hash };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_SET_USER_PIN, values, NULL, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status db_user_pin_hash(struct db *db, const char *user_id, char *out, size_t len)
{
	const char *values[1] = { user_id };
	char *hash = NULL;
	enum db_status st = db_scalar(db, DB_STMT_USER_PIN_HASH, values, NULL, &hash);

	if (st == DB_OK && strlen(hash) >= len)
		st = DB_ERROR;
	if (st == DB_OK)
		memcpy(out, hash, strlen(hash) + 1);
	free(hash);
	return st;
}

enum db_status db_set_session_elevation(struct db *db, const char *session_id, bool elevate,
                                        long long *until)
{
	const char *values[2] = { session_id, elevate ? "true" : "false" };

	return db_scalar_int(db, DB_STMT_SET_SESSION_ELEVATION, values, NULL, until);
}

enum db_status db_create_user_shared_link(struct db *db, const struct db_new_link *l,
                                          char **link_id)
{
	const char *values[8] = { l->user_id,    l->path_prefix,   l->permissions_json,
		                  l->expires_at, l->password_hash, (const char *)l->token_hash,
		                  l->prefix,     l->description };
	const int formats[8] = { 0, 0, 0, 0, 0, 1, 0, 0 };

	return db_scalar(db, DB_STMT_CREATE_USER_SHARED_LINK, values, formats, link_id);
}

enum db_status db_user_shared_links_json(struct db *db, const char *user_id, char **json)
{
	const char *values[1] = { user_id };

	return db_scalar(db, DB_STMT_USER_SHARED_LINKS, values, NULL, json);
}

enum db_status db_update_user_shared_link(struct db *db, const char *user_id, const char *link_id,
                                          const char *expires_at, bool *done)
{
	const char *values[3] = { user_id, link_id, expires_at };
	return db_scalar_bool(db, DB_STMT_UPDATE_USER_SHARED_LINK, values, NULL, done);
}

enum db_status db_revoke_user_shared_link(struct db *db, const char *user_id, const char *link_id,
                                          bool *done)
{
	const char *values[2] = { user_id, link_id };
	return db_scalar_bool(db, DB_STMT_REVOKE_USER_SHARED_LINK, values, NULL, done);
}

enum db_status db_run_cleanup(struct db *db, long long *deleted)
{
	return db_scalar_int(db, DB_STMT_RUN_CLEANUP, NULL, NULL, deleted);
}

enum db_status db_admin_set_setting(struct db *db, const char *user_id, const char *key,
                                    const char *value)
{
	const char *values[3] = { user_id, key, value };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_ADMIN_SET_SETTING, values, NULL, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status db_report_stats(struct db *db, const char *instance, const char *counters_json)
{
	const char *values[2] = { instance, counters_json };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_REPORT_STATS, values, NULL, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status db_metrics_text(struct db *db, char **text)
{
	return db_scalar(db, DB_STMT_METRICS_TEXT, NULL, NULL, text);
}

enum db_status db_oidc_state_create(struct db *db, const struct db_oidc_state *o,
                                    long long *expires_at)
{
	const char *values[7] = { (const char *)o->state_hash,
		                  o->nonce,
		                  o->code_verifier,
		                  o->code_challenge,
		                  o->return_to,
		                  (const char *)o->browser_hash,
		                  o->link_user_id };
	const int formats[7] = { 1, 0, 0, 0, 0, o->browser_hash ? 1 : 0, 0 };

	return db_scalar_int(db, DB_STMT_OIDC_STATE_CREATE, values, formats, expires_at);
}

enum db_status db_oidc_state_consume(struct db *db, const unsigned char hash[32], char **json)
{
	const char *values[1] = { (const char *)hash };
	const int formats[1] = { 1 };

	return db_scalar(db, DB_STMT_OIDC_STATE_CONSUME, values, formats, json);
}

enum db_status db_oidc_login(struct db *db, const struct db_oidc_identity *o, char **json)
{
	const char *values[8] = { o->issuer, o->subject,
		                  o->email,  o->email_verified ? "true" : "false",
		                  o->name,   o->sync_role ? "true" : "false",
		                  o->role,   o->ip };

	return db_scalar(db, DB_STMT_OIDC_LOGIN, values, NULL, json);
}

enum db_status db_oidc_link(struct db *db, const char *user_id, const char *issuer,
                            const char *subject, const char *email)
{
	const char *values[4] = { user_id, issuer, subject, email };
	char *none = NULL;
	enum db_status st = db_scalar(db, DB_STMT_OIDC_LINK, values, NULL, &none);

	free(none);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status db_oidc_unlink(struct db *db, const char *user_id, const char *issuer, bool by_admin,
                              bool *done)
{
	const char *values[3] = { user_id, issuer, by_admin ? "true" : "false" };

	return db_scalar_bool(db, DB_STMT_OIDC_UNLINK, values, NULL, done);
}

enum db_status db_user_identities_json(struct db *db, const char *user_id, char **json)
{
	const char *values[1] = { user_id };

	return db_scalar(db, DB_STMT_USER_IDENTITIES, values, NULL, json);
}

enum db_status db_oidc_backchannel_logout(struct db *db, const char *issuer, const char *subject,
                                          const char *sid, const char *jti, long long expires_at,
                                          long long *revoked)
{
	char exp[24];
	const char *values[5] = { issuer, subject, sid, jti, exp };

	snprintf(exp, sizeof exp, "%lld", expires_at);
	return db_scalar_int(db, DB_STMT_OIDC_BACKCHANNEL, values, NULL, revoked);
}

enum db_status db_session_id_token(struct db *db, const unsigned char hash[32], char **id_token)
{
	const char *values[1] = { (const char *)hash };
	const int formats[1] = { 1 };

	return db_scalar(db, DB_STMT_SESSION_ID_TOKEN, values, formats, id_token);
}
