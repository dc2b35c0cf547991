/* keys: API keys managed by their owner: create (secret shown once), list, change, rotate,
 * revoke; never more than the creator holds. */
#include "responder.h"

#include <stdlib.h>
#include <string.h>

#define KEYS_PREFIX_LEN 12

/* An API key acting on keys passes its own permissions as the ceiling; a session has none. */
static const char *keys_ceiling(const struct resp_ctx *c)
{
	return c->id.kind == AUTH_API_KEY ? c->id.permissions : NULL;
}

/* The optional fields of a create or update body; -1 after answering 400. */
static int keys_fields(struct resp_ctx *c, char *name, size_t namelen, char **perms_json,
                       char *expires, size_t expireslen)
{
	json_t *perms = resp_json_field(c, "permissions");

	if (c->body_type != BODY_JSON) {
		resp_error(c, 415, "UNSUPPORTED_MEDIA_TYPE", "send application/json");
		return -1;
	}
	if (resp_field(c, "name", name, namelen) < 0 ||
	    resp_field(c, "expires_at", expires, expireslen) < 0) {
		resp_error(c, 400, "BAD_REQUEST", "name and expires_at must be strings");
		return -1;
	}
	*perms_json = NULL;
	if (perms != NULL && !json_is_null(perms)) {
		if (!json_is_array(perms)) {
			resp_error(c, 400, "BAD_REQUEST",
			           "permissions must be an array of strings");
			return -1;
		}
		*perms_json = json_dumps(perms, JSON_COMPACT);
		if (*perms_json == NULL) {
			resp_error(c, 500, "INTERNAL", "out of memory");
			return -1;
		}
	}
	return 0;
}

static int keys_new_secret(char token[CRYPTO_TOKEN_LEN + 1], unsigned char hash[32],
                           char prefix[KEYS_PREFIX_LEN + 1])
{
	if (crypto_token_new(TOKEN_API_KEY, token) != 0)
		return -1;
	crypto_sha256(token, strlen(token), hash);
	memcpy(prefix, token, KEYS_PREFIX_LEN);
	prefix[KEYS_PREFIX_LEN] = '\0';
	return 0;
}

void resp_keys_list(struct resp_ctx *c)
{
	char *json = NULL;
	enum db_status st = db_user_api_keys_json(c->t->db, c->id.user_id, &json);

	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	resp_raw_json(c, 200, json);
	free(json);
}

void resp_keys_create(struct resp_ctx *c)
{
	char name[256] = "", expires[64] = "", token[CRYPTO_TOKEN_LEN + 1], prefix[16];
	char *perms = NULL, *id = NULL;
	unsigned char hash[CRYPTO_SHA256_LEN];
	enum db_status st;

	if (keys_fields(c, name, sizeof name, &perms, expires, sizeof expires) != 0)
		return;
	if (name[0] == '\0' || perms == NULL) {
		resp_error(c, 400, "BAD_REQUEST", "name and permissions are required");
		goto out;
	}
	if (keys_new_secret(token, hash, prefix) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a secret");
		goto out;
	}
	st = db_create_user_api_key(c->t->db,
	                            &(struct db_new_key){
	                                .user_id = c->id.user_id,
	                                .name = name,
	                                .permissions_json = perms,
	                                .expires_at = expires[0] ? expires : NULL,
	                                .token_hash = hash,
	                                .prefix = prefix,
	                                .ceiling = keys_ceiling(c),
	                            },
	                            &id);
	if (st != DB_OK)
		resp_db_error(c, st);
	else /* the secret is shown this once; only its hash and prefix are kept */
		resp_json(c, 201, NULL,
		          json_pack("{s:s, s:s, s:s, s:s}", "id", id, "name", name, "prefix",
		                    prefix, "secret", token));
	crypto_wipe(token, sizeof token);
out:
	free(perms);
	free(id);
}

void resp_keys_update(struct resp_ctx *c)
{
	char name[256] = "", expires[64] = "";
	char *perms = NULL;
	bool done = false;
	enum db_status st;

	if (keys_fields(c, name, sizeof name, &perms, expires, sizeof expires) != 0)
		return;
	st = db_update_user_api_key(c->t->db, c->id.user_id, c->arg, name[0] ? name : NULL, perms,
	                            expires[0] ? expires : NULL, keys_ceiling(c), &done);
	free(perms);
	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!done)
		resp_error(c, 404, "NOT_FOUND", "no such API key of yours");
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "updated", 1));
}

void resp_keys_rotate(struct resp_ctx *c)
{
	char token[CRYPTO_TOKEN_LEN + 1], prefix[16];
	unsigned char hash[CRYPTO_SHA256_LEN];
	bool done = false;
	enum db_status st;

	if (keys_new_secret(token, hash, prefix) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a secret");
		return;
	}
	st = db_rotate_user_api_key(c->t->db, c->id.user_id, c->arg, hash, prefix, keys_ceiling(c),
	                            &done);
	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!done)
		resp_error(c, 404, "NOT_FOUND", "no such API key of yours");
	else
		resp_json(
		    c, 200, NULL,
		    json_pack("{s:s, s:s, s:s}", "id", c->arg, "prefix", prefix, "secret", token));
	crypto_wipe(token, sizeof token);
}

void resp_keys_revoke(struct resp_ctx *c)
{
	bool done = false;
	enum db_status st = db_revoke_user_api_key(c->t->db, c->id.user_id, c->arg, &done);

	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!done)
		resp_error(c, 404, "NOT_FOUND", "no such API key of yours");
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "revoked", 1));
}
