/* links: unlocking a password-protected shared link (POST /auth/shared-links/unlock). */
#include "responder.h"

#include "unlock.h"

#include <stdio.h>
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
	if (unlock_token(c->t->app->site.link_key, link.link_id, link.version, value) != 0) {
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
