/* links: shared links: unlocking a password-protected one (POST /auth/shared-links/unlock), and
 * a user managing their own (create, list, change expiry, revoke). */
#include "responder.h"

#include "unlock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINKS_UNLOCK_MAX_AGE 86400 /* a day, or until the link expires */

/* Wrong passwords count like failed logins, under "link:<id>" instead of an email. */
static void links_refused(struct resp_ctx *c, const char *attempt_key)
{
	int retry_after = 0;
	enum db_status st = db_login_failed(c->t->db, attempt_key, resp_client_ip(c), &retry_after);
	char headers[64];

	if (st != DB_OK) {
		resp_db_error(c, st);
	} else if (retry_after > 0) {
		snprintf(headers, sizeof headers, "Retry-After: %d\r\n", retry_after);
		resp_json(c, 429, headers,
		          json_pack("{s:s, s:s}", "error", "too many attempts, try again later",
		                    "code", "LOCKED_OUT"));
	} else {
		resp_error(c, 401, "INVALID_CREDENTIALS", "wrong key or password");
	}
}

void resp_link_unlock(struct resp_ctx *c)
{
	char key[CRYPTO_TOKEN_LEN + 2] = "", password[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "";
	char attempt_key[64], name[UNLOCK_NAME_MAX], value[UNLOCK_TOKEN_LEN + 1], headers[512];
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct db_link_lock link;
	struct db_login lock;
	long long max_age = LINKS_UNLOCK_MAX_AGE, now = (long long)time(NULL);
	enum db_status st;
	bool found;

	if (resp_field(c, "key", key, sizeof key) != 1 ||
	    resp_field(c, "password", password, sizeof password) != 1) {
		resp_error(c, 400, "BAD_REQUEST", "key and password are required");
		goto out;
	}
	crypto_sha256(key, strlen(key), hash);
	st = db_link_unlock_info(c->t->db, hash, &link);
	if (st != DB_OK && st != DB_NOT_FOUND) {
		resp_db_error(c, st);
		goto out;
	}
	found = st == DB_OK;
	snprintf(attempt_key, sizeof attempt_key, "link:%s", found ? link.link_id : "unknown");
	st = db_login_begin(c->t->db, attempt_key, resp_client_ip(c), &lock);
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	/* the same bcrypt work for unknown links and locked ones */
	if (!crypto_bcrypt_verify(password, found ? link.password_hash : c->t->app->dummy_hash) ||
	    !found || lock.retry_after > 0 || strlen(password) > CRYPTO_BCRYPT_MAX_PASSWORD) {
		if (lock.retry_after > 0) {
			snprintf(headers, sizeof headers, "Retry-After: %d\r\n", lock.retry_after);
			resp_json(c, 429, headers,
			          json_pack("{s:s, s:s}", "error",
			                    "too many attempts, try again later", "code",
			                    "LOCKED_OUT"));
		} else {
			links_refused(c, attempt_key);
		}
		goto out;
	}
	if (link.expires_at > 0 && link.expires_at - now < max_age)
		max_age = link.expires_at - now;
	unlock_cookie_name(link.link_id, c->cfg->cookie_secure, name);
	if (unlock_token(c->t->app->site.cur.link, link.link_id, link.version, value) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot make the unlock cookie");
		goto out;
	}
	snprintf(headers, sizeof headers,
	         "Set-Cookie: %s=%s; Path=/; Max-Age=%lld; HttpOnly%s; SameSite=Lax\r\n", name,
	         value, max_age, c->cfg->cookie_secure ? "; Secure" : "");
	resp_json(c, 200, headers,
	          json_pack("{s:s, s:I}", "link_id", link.link_id, "max_age", (json_int_t)max_age));
out:
	crypto_wipe(key, sizeof key);
	crypto_wipe(password, sizeof password);
}

void resp_links_list(struct resp_ctx *c)
{
	char *json = NULL;
	enum db_status st = db_user_shared_links_json(c->t->db, c->id.user_id, &json);

	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	resp_raw_json(c, 200, json);
	free(json);
}

void resp_links_create(struct resp_ctx *c)
{
	char prefix_path[1025] = "", expires[64] = "",
	     password[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "";
	char description[501] = "", token[CRYPTO_TOKEN_LEN + 1], prefix[16];
	char hash_pw[CRYPTO_BCRYPT_HASH_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	json_t *perms = resp_json_field(c, "permissions");
	char *perms_json = NULL, *id = NULL;
	const char *problem = NULL;
	long cost = CRYPTO_BCRYPT_MIN_COST;
	enum db_status st = DB_OK;

	if (c->body_type != BODY_JSON || !json_is_array(perms) ||
	    resp_field(c, "path_prefix", prefix_path, sizeof prefix_path) != 1 ||
	    resp_field(c, "expires_at", expires, sizeof expires) < 0 ||
	    resp_field(c, "password", password, sizeof password) < 0 ||
	    resp_field(c, "description", description, sizeof description) < 0) {
		resp_error(c, 400, "BAD_REQUEST",
		           "JSON with path_prefix and permissions (array) is required");
		goto out;
	}
	if (password[0] != '\0')
		problem = resp_password_problem(c, c->id.email, password, &st);
	if (st == DB_OK && problem != NULL) {
		resp_error(c, 400, problem, "the link password does not meet the password policy");
		goto out;
	}
	if (st == DB_OK && password[0] != '\0')
		st = resp_setting(c, "bcrypt_cost", &cost);
	if (st == DB_OK && password[0] != '\0' && crypto_bcrypt_hash(password, (int)cost, hash_pw))
		st = DB_ERROR;
	perms_json = json_dumps(perms, JSON_COMPACT);
	if (st == DB_OK && (perms_json == NULL || crypto_token_new(TOKEN_LINK, token) != 0))
		st = DB_ERROR;
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	crypto_sha256(token, strlen(token), hash);
	snprintf(prefix, sizeof prefix, "%.12s", token);
	st = db_create_user_shared_link(c->t->db,
	                                &(struct db_new_link){
	                                    .user_id = c->id.user_id,
	                                    .path_prefix = prefix_path,
	                                    .permissions_json = perms_json,
	                                    .expires_at = expires[0] ? expires : NULL,
	                                    .password_hash = password[0] ? hash_pw : NULL,
	                                    .token_hash = hash,
	                                    .prefix = prefix,
	                                    .description = description[0] ? description : NULL,
	                                },
	                                &id);
	if (st != DB_OK)
		resp_db_error(c, st);
	else /* the key is shown this once */
		resp_json(c, 201, NULL,
		          json_pack("{s:s, s:s, s:s}", "id", id, "prefix", prefix, "key", token));
	crypto_wipe(token, sizeof token);
out:
	crypto_wipe(password, sizeof password);
	free(perms_json);
	free(id);
}

void resp_links_update(struct resp_ctx *c)
{
	char expires[64] = "";
	bool done = false;
	enum db_status st;
	json_t *v = resp_json_field(c, "expires_at");

	if (c->body_type != BODY_JSON || v == NULL ||
	    resp_field(c, "expires_at", expires, sizeof expires) < 0) {
		resp_error(c, 400, "BAD_REQUEST",
		           "expires_at (a timestamp, or null: never) is required");
		return;
	}
	st = db_update_user_shared_link(c->t->db, c->id.user_id, c->arg,
	                                json_is_null(v) ? NULL : expires, &done);
	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!done)
		resp_error(c, 404, "NOT_FOUND", "no such shared link of yours");
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "updated", 1));
}

void resp_links_revoke(struct resp_ctx *c)
{
	bool done = false;
	enum db_status st = db_revoke_user_shared_link(c->t->db, c->id.user_id, c->arg, &done);

	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!done)
		resp_error(c, 404, "NOT_FOUND", "no such shared link of yours");
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "revoked", 1));
}
