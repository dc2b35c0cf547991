/* credential: finding the one credential a request carries (precedence) and verifying it. */
#include "credential.h"

#include "access_jwt.h"
#include "cookie.h"
#include "header.h"
#include "query.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Takes a token of the expected kind; anything else present there is malformed. */
static void credential_take(struct credential *c, enum cred_source source, const char *v,
                            size_t len, int want_kind)
{
	c->source = source;
	c->token_kind = crypto_token_kind(v, len);
	if (c->token_kind != want_kind) {
		c->malformed = true;
		return;
	}
	memcpy(c->value, v, len);
	c->value[len] = '\0';
}

/* A query parameter: 1 found, 0 absent, -1 duplicated or malformed. */
static int credential_query(const struct credential_request *r, const char *name, char *out,
                            size_t outlen)
{
	if (r->query == NULL)
		return 0;
	return query_get(r->query, r->query_len, name, out, outlen);
}

/* The URL-borne kinds, where the rule accepts them: 1 if one was taken (even malformed). */
static int credential_from_url(const struct credential_request *r, struct credential *c)
{
	char q[CRYPTO_TOKEN_LEN + 2];
	int rc;

	if (r->shared_links) {
		if (r->share_key != NULL) {
			credential_take(c, CRED_SHARE_KEY, r->share_key, strlen(r->share_key),
			                TOKEN_LINK);
			return 1;
		}
		rc = credential_query(r, "key", q, sizeof q);
		if (rc != 0) {
			credential_take(c, CRED_SHARE_KEY, q, rc > 0 ? strlen(q) : 0, TOKEN_LINK);
			return 1;
		}
	}
	if (r->tokens) {
		rc = credential_query(r, "token", q, sizeof q);
		if (rc != 0) {
			credential_take(c, CRED_TOKEN, q, rc > 0 ? strlen(q) : 0, TOKEN_ONE_TIME);
			return 1;
		}
	}
	return 0;
}

void credential_extract(const struct credential_request *r, struct credential *c)
{
	const char *v;
	size_t len;
	int rc;

	memset(c, 0, sizeof *c);
	c->token_kind = -1;
	if (credential_from_url(r, c))
		return;
	if (r->authorization != NULL) {
		c->source = CRED_BEARER;
		if (header_bearer(r->authorization, &v, &len) <= 0) {
			c->malformed = true;
		} else if (memchr(v, '.', len) != NULL) {
			c->jwt = v; /* an access JWT, checked by credential_verify */
			c->jwt_len = len;
		} else {
			credential_take(c, CRED_BEARER, v, len, TOKEN_SESSION);
		}
		return;
	}
	if (r->api_key != NULL) {
		credential_take(c, CRED_API_KEY, r->api_key, strlen(r->api_key), TOKEN_API_KEY);
		return;
	}
	rc = cookie_find(r->cookie, r->session_cookie, &v, &len);
	if (rc < 0) {
		c->source = CRED_COOKIE;
		c->malformed = true;
	} else if (rc > 0) {
		credential_take(c, CRED_COOKIE, v, len, TOKEN_SESSION);
	}
}

static long long credential_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A lookup on a cache miss: the session by hash or id, or a key or link by hash. */
typedef enum db_status (*credential_lookup_fn)(struct db *, struct cache *, const void *,
                                               struct identity *);

/* Asks the cache first; on a miss runs the lookup and remembers what it found (or that it
 * found nothing). Outages and errors are never cached. */
static enum db_status credential_cached(struct cache *cache, const unsigned char key[32],
                                        long long now, struct identity *id,
                                        credential_lookup_fn lookup, struct db *db, const void *arg)
{
	long long now_ms = credential_now_ms();
	enum auth_kind kind = id->kind;
	unsigned long long ticket;
	enum db_status st;

	switch (cache_get(cache, key, now_ms, id)) {
	case CACHE_HIT: return DB_OK;
	case CACHE_HIT_NEGATIVE: return DB_NOT_FOUND;
	case CACHE_MISS: break;
	}
	id->kind = kind;
	ticket = cache_ticket(cache); /* before the lookup reads anything; hits need none */
	st = lookup(db, cache, arg, id);
	if (st == DB_OK)
		cache_put(cache, ticket, key, now_ms, now, id);
	else if (st == DB_NOT_FOUND)
		cache_put(cache, ticket, key, now_ms, now, NULL);
	return st;
}

/* A session by token hash or (for a JWT) by id. With the roles' permissions and the idle
 * timeout in the cache (the authorizer) the lookup is the lean one and the permissions come
 * from there; else (the responder, or either not loaded) the database adds them. */
static enum db_status credential_session_row(struct db *db, struct cache *cache,
                                             const unsigned char *hash, const char *sid,
                                             struct identity *id)
{
	enum db_status st;
	long idle = cache_lean_lookup(cache);

	if (idle > 0) {
		st = hash != NULL ? db_authz_session(db, hash, idle, id)
		                  : db_authz_session_id(db, sid, idle, id);
		if (st != DB_OK || cache_role_permissions(cache, id->role, id->permissions,
		                                          sizeof id->permissions))
			return st;
	}
	return hash != NULL ? db_auth_session(db, hash, id) : db_auth_session_id(db, sid, id);
}

static enum db_status credential_session_by_id(struct db *db, struct cache *cache, const void *sid,
                                               struct identity *id)
{
	return credential_session_row(db, cache, NULL, sid, id);
}

static enum db_status credential_session(struct db *db, struct cache *cache, const void *hash,
                                         struct identity *id)
{
	return credential_session_row(db, cache, hash, NULL, id);
}

static enum db_status credential_api_key(struct db *db, struct cache *cache, const void *hash,
                                         struct identity *id)
{
	(void)cache;
	return db_auth_api_key(db, hash, id);
}

static enum db_status credential_link(struct db *db, struct cache *cache, const void *hash,
                                      struct identity *id)
{
	(void)cache;
	return db_auth_shared_link(db, hash, id);
}

/* An access JWT: valid signature and claims, and the session it names still live. */
static enum db_status credential_verify_jwt(struct db *db, struct cache *cache,
                                            const struct credential_keys *keys,
                                            const struct credential *c, long long now,
                                            struct identity *id)
{
	struct access_jwt a;
	unsigned char key[CRYPTO_SHA256_LEN], seen[CRYPTO_SHA256_LEN];
	char name[64];
	enum db_status st;
	long long now_ms = credential_now_ms(), session_expiry;
	unsigned long long ticket;
	const struct site_keys *k;
	int i;

	/* A token verified before is found by its own hash (a JWT has dots, which no opaque token
	 * has, so the hashes never meet): no signature check, no claims parsing, no lookup. */
	crypto_sha256(c->jwt, c->jwt_len, seen);
	id->kind = AUTH_JWT;
	if (cache_get(cache, seen, now_ms, id) == CACHE_HIT)
		return DB_OK;
	ticket = cache_ticket(cache);
	for (i = 0; (k = site_keys(keys->site, i, now)) != NULL; i++)
		if (access_jwt_verify(k->jwt, c->jwt, c->jwt_len, keys->issuer, keys->audience, now,
		                      &a) == 0)
			break;
	if (k == NULL)
		return DB_NOT_FOUND;
	/* cached under its session id, apart from the session tokens' hashes */
	snprintf(name, sizeof name, "postern-sid:%s", a.sid);
	crypto_sha256(name, strlen(name), key);
	id->kind = AUTH_JWT;
	st = credential_cached(cache, key, now, id, credential_session_by_id, db, a.sid);
	if (st == DB_OK && strcmp(id->user_id, a.sub) != 0)
		st = DB_NOT_FOUND; /* a token for another user than its session's: never valid */
	id->kind = AUTH_JWT;
	/* Remembered until the token's exp (a second early: the cache counts from whole seconds)
	 * at the latest, and only when signed with the current key, whose validity has no end. A
	 * revoked session or user evicts it with the session's other entries. */
	if (st == DB_OK && i == 0) {
		session_expiry = id->expires_at;
		if (id->expires_at == 0 || id->expires_at > a.exp - 1)
			id->expires_at = a.exp - 1;
		cache_put(cache, ticket, seen, now_ms, now, id);
		id->expires_at = session_expiry;
	}
	return st;
}

enum db_status credential_verify(struct db *db, struct cache *cache,
                                 const struct credential_keys *keys, const struct credential *c,
                                 const char *token_purpose, const char *path, long long now,
                                 struct identity *id)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	enum db_status st = DB_ERROR;

	if (c->jwt != NULL)
		return credential_verify_jwt(db, cache, keys, c, now, id);
	crypto_sha256(c->value, strlen(c->value), hash);
	switch (c->source) {
	case CRED_BEARER:
	case CRED_COOKIE:
		id->kind = AUTH_SESSION;
		st = credential_cached(cache, hash, now, id, credential_session, db, hash);
		break;
	case CRED_API_KEY:
		id->kind = AUTH_API_KEY;
		st = credential_cached(cache, hash, now, id, credential_api_key, db, hash);
		break;
	case CRED_SHARE_KEY:
		id->kind = AUTH_SHARED_LINK;
		st = credential_cached(cache, hash, now, id, credential_link, db, hash);
		break;
	case CRED_TOKEN:
		id->kind = AUTH_TOKEN;
		st = token_purpose ? db_consume_token(db, hash, token_purpose, path, id)
		                   : DB_NOT_FOUND;
		break;
	case CRED_NONE: break;
	}
	crypto_wipe(hash, sizeof hash);
	return st;
}
