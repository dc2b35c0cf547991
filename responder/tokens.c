/* tokens: access JWTs with rotating refresh tokens (POST /auth/token) and single-use tokens
 * for URLs (POST /auth/ws-token, /auth/resource-token). */
#include "responder.h"

#include "access_jwt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A fresh access JWT and refresh token for the session, as the token response. */
static void tokens_answer(struct resp_ctx *c, const char *user_id, const char *session_id,
                          const char *refresh, long long refresh_expires)
{
	long ttl = 0;
	enum db_status st = resp_setting(c, "access_token_ttl", &ttl);
	char *jwt;

	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	jwt = access_jwt_sign(c->t->app->site.cur.jwt, user_id, session_id, c->cfg->token_issuer,
	                      c->cfg->token_audience, (long long)time(NULL), ttl);
	if (jwt == NULL) {
		resp_error(c, 500, "INTERNAL", "cannot sign the access token");
		return;
	}
	resp_json(c, 200, NULL,
	          json_pack("{s:s, s:s, s:I, s:s, s:I}", "access_token", jwt, "token_type",
	                    "Bearer", "expires_in", (json_int_t)ttl, "refresh_token", refresh,
	                    "refresh_expires_at", (json_int_t)refresh_expires));
	crypto_wipe(jwt, strlen(jwt));
	free(jwt);
}

/* grant_type "session" (the default): a signed-in session asks for its first pair. */
static void tokens_from_session(struct resp_ctx *c)
{
	char refresh[CRYPTO_TOKEN_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	long long expires = 0;
	enum db_status st;

	if (resp_require_session(c) != 0)
		return;
	if (crypto_token_new(TOKEN_REFRESH, refresh) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a token");
		return;
	}
	crypto_sha256(refresh, strlen(refresh), hash);
	st = db_issue_refresh_token(c->t->db, c->id.session_id, hash, &expires);
	if (st != DB_OK)
		resp_db_error(c, st);
	else
		tokens_answer(c, c->id.user_id, c->id.session_id, refresh, expires);
	crypto_wipe(refresh, sizeof refresh);
}

/* grant_type "refresh_token": the presented token is consumed and a new one issued; one that
 * was used before revokes its family and session (it leaked). */
static void tokens_from_refresh(struct resp_ctx *c)
{
	char old[CRYPTO_TOKEN_LEN + 2] = "", next[CRYPTO_TOKEN_LEN + 1];
	unsigned char old_hash[CRYPTO_SHA256_LEN], next_hash[CRYPTO_SHA256_LEN];
	struct db_rotation rot;
	enum db_status st;

	if (resp_field(c, "refresh_token", old, sizeof old) != 1 ||
	    crypto_token_kind(old, strlen(old)) != TOKEN_REFRESH) {
		resp_error(c, 400, "INVALID_GRANT", "refresh_token missing or malformed");
		goto out;
	}
	if (crypto_token_new(TOKEN_REFRESH, next) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a token");
		goto out;
	}
	crypto_sha256(old, strlen(old), old_hash);
	crypto_sha256(next, strlen(next), next_hash);
	st = db_rotate_refresh_token(c->t->db, old_hash, next_hash, &rot);
	if (st != DB_OK)
		resp_db_error(c, st);
	else if (strcmp(rot.status, "ok") == 0)
		tokens_answer(c, rot.user_id, rot.session_id, next, rot.expires_at);
	else if (strcmp(rot.status, "reuse") == 0)
		resp_error(c, 401, "REFRESH_TOKEN_REUSED",
		           "refresh token used twice: its session has been revoked");
	else
		resp_error(c, 401, "INVALID_GRANT",
		           "refresh token unknown, used, expired or revoked");
out:
	crypto_wipe(old, sizeof old);
	crypto_wipe(next, sizeof next);
}

void resp_token(struct resp_ctx *c)
{
	char grant[32] = "";

	if (resp_field(c, "grant_type", grant, sizeof grant) < 0) {
		resp_error(c, 400, "BAD_REQUEST", "grant_type must be a string");
		return;
	}
	if (grant[0] == '\0' || strcmp(grant, "session") == 0)
		tokens_from_session(c);
	else if (strcmp(grant, "refresh_token") == 0)
		tokens_from_refresh(c);
	else
		resp_error(c, 400, "UNSUPPORTED_GRANT_TYPE",
		           "grant_type is session or refresh_token");
}

/* A single-use token for purpose and path, living the purpose's TTL setting. */
static void tokens_single_use(struct resp_ctx *c, const char *purpose, const char *ttl_key)
{
	char path[1025] = "", token[CRYPTO_TOKEN_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	long ttl = 0;
	long long expires = 0;
	enum db_status st;

	if (resp_field(c, "path", path, sizeof path) < 0 || (path[0] != '\0' && path[0] != '/')) {
		resp_error(c, 400, "BAD_REQUEST", "path must be a string starting with /");
		return;
	}
	st = resp_setting(c, ttl_key, &ttl);
	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	if (crypto_token_new(TOKEN_ONE_TIME, token) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a token");
		return;
	}
	crypto_sha256(token, strlen(token), hash);
	st = db_issue_single_use_token(c->t->db,
	                               &(struct db_new_token){
	                                   .user_id = c->id.user_id,
	                                   .session_id = c->id.session_id,
	                                   .token_hash = hash,
	                                   .purpose = purpose,
	                                   .path = path[0] ? path : NULL,
	                                   .ttl_seconds = (int)ttl,
	                               },
	                               &expires);
	if (st == DB_REFUSED && strcmp(db_refusal_state(c->t->db), "53400") == 0)
		resp_error(c, 503, "TOKEN_STORE_FULL", "too many single-use tokens pending");
	else if (st == DB_REFUSED && strcmp(db_refusal_state(c->t->db), "54000") == 0)
		resp_error(c, 429, "TOO_MANY_TOKENS", db_refusal_message(c->t->db));
	else if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL,
		          json_pack("{s:s, s:s, s:I}", "token", token, "purpose", purpose,
		                    "expires_at", (json_int_t)expires));
	crypto_wipe(token, sizeof token);
}

void resp_ws_token(struct resp_ctx *c)
{
	tokens_single_use(c, "websocket", "websocket_token_ttl");
}

void resp_resource_token(struct resp_ctx *c)
{
	char purpose[64] = "";

	if (resp_field(c, "purpose", purpose, sizeof purpose) != 1 ||
	    strcmp(purpose, "websocket") == 0) {
		resp_error(c, 400, "BAD_REQUEST",
		           "purpose is required (websocket tokens: /ws-token)");
		return;
	}
	tokens_single_use(c, purpose, "download_token_ttl");
}
