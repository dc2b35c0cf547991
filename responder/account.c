/* account: who am I (GET /auth/me) and changing the password (POST /auth/password). */
#include "responder.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void resp_me(struct resp_ctx *c)
{
	char *user = NULL;
	enum db_status st = db_get_user_json(c->t->db, c->id.user_id, &user);
	json_t *u;

	if (st != DB_OK) {
		resp_db_error(c, st == DB_NOT_FOUND ? DB_UNAVAILABLE : st);
		return;
	}
	u = json_loads(user, 0, NULL);
	free(user);
	resp_json(c, 200, NULL,
	          json_pack("{s:o, s:s, s:s?, s:s?, s:s, s:I}", "user", u ? u : json_null(), "auth",
	                    identity_kind_name(c->id.kind), "session_id",
	                    c->id.session_id[0] ? c->id.session_id : NULL, "key_id",
	                    c->id.key_id[0] ? c->id.key_id : NULL, "permissions", c->id.permissions,
	                    "expires_at", (json_int_t)c->id.expires_at));
}

/* The password policy: 12 to 72 bytes, not the email or its local part, not a common one. */
const char *resp_password_problem(struct resp_ctx *c, const char *email, const char *pw,
                                  enum db_status *st)
{
	size_t n = strlen(pw), local = strcspn(email, "@");
	char lower[CRYPTO_BCRYPT_MAX_PASSWORD + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	bool common = false;

	*st = DB_OK;
	if (n < 12)
		return "PASSWORD_TOO_SHORT";
	if (n > CRYPTO_BCRYPT_MAX_PASSWORD)
		return "PASSWORD_TOO_LONG"; /* bcrypt reads 72 bytes: refused, never truncated */
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)pw[i]);
	if (strcmp(lower, email) == 0 || (n == local && strncmp(lower, email, local) == 0)) {
		crypto_wipe(lower, sizeof lower);
		return "PASSWORD_IS_EMAIL";
	}
	crypto_sha256(lower, n, hash);
	crypto_wipe(lower, sizeof lower);
	*st = db_password_is_common(c->t->db, hash, &common);
	return *st == DB_OK && common ? "PASSWORD_TOO_COMMON" : NULL;
}

void resp_password(struct resp_ctx *c)
{
	char current[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "",
	                                          next[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "";
	char hash[CRYPTO_BCRYPT_HASH_LEN + 1];
	struct db_login u;
	const char *problem;
	enum db_status st;
	long cost = CRYPTO_BCRYPT_MIN_COST;
	int retry_after = 0;
	long long revoked = 0;

	if (resp_field(c, "current_password", current, sizeof current) != 1 ||
	    resp_field(c, "new_password", next, sizeof next) != 1) {
		resp_error(c, 400, "BAD_REQUEST", "current_password and new_password are required");
		goto out;
	}
	st = db_login_begin(c->t->db, c->id.email, resp_client_ip(c), &u);
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	if (u.retry_after > 0) {
		resp_error(c, 429, "LOCKED_OUT", "too many attempts, try again later");
		goto out;
	}
	if (strlen(current) > CRYPTO_BCRYPT_MAX_PASSWORD || u.password_hash[0] == '\0' ||
	    !crypto_bcrypt_verify(current, u.password_hash)) {
		/* a wrong current password counts like a failed login */
		db_login_failed(c->t->db, c->id.email, resp_client_ip(c), &retry_after);
		resp_error(c, 403, "WRONG_PASSWORD", "the current password is wrong");
		goto out;
	}
	problem = resp_password_problem(c, c->id.email, next, &st);
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	if (problem != NULL) {
		resp_error(c, 400, problem, "the new password does not meet the password policy");
		goto out;
	}
	st = resp_setting(c, "bcrypt_cost", &cost);
	if (st != DB_OK || crypto_bcrypt_hash(next, (int)cost, hash) != 0) {
		resp_db_error(c, st == DB_OK ? DB_ERROR : st);
		goto out;
	}
	st = db_set_user_password(c->t->db, c->id.user_id, hash, c->id.session_id, &revoked);
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	resp_json(
	    c, 200, NULL,
	    json_pack("{s:b, s:I}", "changed", 1, "other_sessions_revoked", (json_int_t)revoked));
out:
	crypto_wipe(current, sizeof current);
	crypto_wipe(next, sizeof next);
}
