/* credential: finding the one credential a request carries (precedence) and verifying it. */
#ifndef POSTERN_CREDENTIAL_H
#define POSTERN_CREDENTIAL_H

#include "cache.h"
#include "crypto.h"
#include "db.h"
#include "identity.h"
#include "site.h"

#include <stdbool.h>
#include <stddef.h>

enum cred_source { CRED_NONE, CRED_BEARER, CRED_API_KEY, CRED_COOKIE, CRED_SHARE_KEY, CRED_TOKEN };

/* Where credentials may come from in one request (header values may be NULL). */
struct credential_request {
	const char *authorization;
	const char *api_key;
	const char *cookie;
	const char *share_key;
	const char *query; /* raw query string or NULL */
	size_t query_len;
	const char *session_cookie; /* the session cookie's name */
	bool shared_links;          /* the rule accepts shared-link keys */
	bool tokens;                /* the rule accepts single-use tokens */
};

struct credential {
	enum cred_source source;
	int token_kind; /* TOKEN_* of crypto.h; -1 for a JWT */
	char value[CRYPTO_TOKEN_LEN + 1];
	const char *jwt; /* a Bearer JWT (points into the request), else NULL */
	size_t jwt_len;
	bool malformed; /* present but unusable: deny, never fall back */
};

/*
 * Precedence: where allowed, a shared-link key or a single-use token (they were put into this
 * very URL for it); then Authorization, X-Api-Key, the session cookie. The first credential
 * present decides: if it is malformed or duplicated the request must be denied, never retried
 * with a lower one.
 */
void credential_extract(const struct credential_request *r, struct credential *c);

/* What verifying needs besides the database. */
struct credential_keys {
	const struct site *site; /* the JWT keys: current, and previous during a rotation */
	const char *issuer;
	const char *audience;
};

/*
 * Looks the credential up by the SHA-256 of its token (or checks an access JWT and then its
 * session) and fills *id, kind included. A single-use token is consumed for purpose and path
 * (never cached). With a cache, lookups are answered from it when they can be and stored in
 * it (unknown credentials too, briefly). Returns DB_OK, DB_NOT_FOUND (unknown, expired,
 * revoked or an invalid JWT), DB_UNAVAILABLE or DB_ERROR.
 */
enum db_status credential_verify(struct db *db, struct cache *cache,
                                 const struct credential_keys *keys, const struct credential *c,
                                 const char *token_purpose, const char *path, long long now,
                                 struct identity *id);

#endif
