/* sessions: a user's own sessions, an administrator's view of anyone's, and administrators'
 * settings (POST /auth/admin/settings). */
#include "responder.h"

#include <stdlib.h>

static void sessions_list_of(struct resp_ctx *c, const char *user_id)
{
	char *json = NULL;
	enum db_status st = db_user_sessions_json(
	    c->t->db, user_id, c->id.session_id[0] ? c->id.session_id : NULL, &json);

	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	resp_raw_json(c, 200, json);
	free(json);
}

void resp_sessions_list(struct resp_ctx *c)
{
	sessions_list_of(c, c->id.user_id);
}

void resp_sessions_revoke_one(struct resp_ctx *c)
{
	bool revoked = false;
	enum db_status st =
	    db_revoke_user_session(c->t->db, c->id.user_id, c->arg, "user_revoked", &revoked);

	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!revoked)
		resp_error(c, 404, "NOT_FOUND", "no such live session of yours");
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "revoked", 1));
}

void resp_sessions_revoke_others(struct resp_ctx *c)
{
	long long n = 0;
	enum db_status st = db_revoke_other_sessions(c->t->db, c->id.user_id, c->id.session_id,
	                                             "user_revoked_others", &n);

	if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL, json_pack("{s:I}", "revoked", (json_int_t)n));
}

void resp_admin_sessions_list(struct resp_ctx *c)
{
	sessions_list_of(c, c->arg);
}

void resp_admin_sessions_revoke(struct resp_ctx *c)
{
	long long n = 0;
	enum db_status st = db_revoke_other_sessions(c->t->db, c->arg, NULL, "admin_revoked", &n);

	if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL, json_pack("{s:I}", "revoked", (json_int_t)n));
}

void resp_admin_setting(struct resp_ctx *c)
{
	char key[64] = "", value[256] = "";
	enum db_status st;

	if (resp_field(c, "key", key, sizeof key) != 1 ||
	    resp_field(c, "value", value, sizeof value) != 1) {
		resp_error(c, 400, "BAD_REQUEST", "key and value (strings) are required");
		return;
	}
	st = db_admin_set_setting(c->t->db, c->id.user_id, key, value);
	if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL, json_pack("{s:s, s:s}", "key", key, "value", value));
}
