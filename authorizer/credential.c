/* credential: which credential a request carries, by precedence, before any lookup. */
#include "authorizer.h"

#include "cookie.h"
#include "header.h"
#include "query.h"

#include <string.h>

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

/* A query parameter of a rule that accepts it: 1 found, 0 absent, -1 duplicated/malformed. */
static int credential_query(const struct authz_request *r, const char *name, char *out,
                            size_t outlen)
{
	if (r->query == NULL)
		return 0;
	return query_get(r->query, r->query_len, name, out, outlen);
}

/*
 * Precedence: on a rule that accepts them, a shared-link key or a single-use token (they were
 * put into this very URL for it); then Authorization, X-Api-Key, the session cookie. The
 * first credential present decides: if it is malformed the request is denied, never retried
 * with a lower one.
 */
void authz_credential(const struct authz_app *app, const struct authz_request *r,
                      const struct rule *rule, struct credential *c)
{
	char q[CRYPTO_TOKEN_LEN + 2];
	const char *v;
	size_t len;
	int rc;

	memset(c, 0, sizeof *c);
	c->token_kind = -1;
	if (rule != NULL && rule->allow_shared_links) {
		if (r->share_key != NULL) {
			credential_take(c, CRED_SHARE_KEY, r->share_key, strlen(r->share_key),
			                TOKEN_LINK);
			return;
		}
		rc = credential_query(r, "key", q, sizeof q);
		if (rc != 0) {
			credential_take(c, CRED_SHARE_KEY, q, rc > 0 ? strlen(q) : 0, TOKEN_LINK);
			return;
		}
	}
	if (rule != NULL && rule->token_purpose != NULL) {
		rc = credential_query(r, "token", q, sizeof q);
		if (rc != 0) {
			credential_take(c, CRED_TOKEN, q, rc > 0 ? strlen(q) : 0, TOKEN_ONE_TIME);
			return;
		}
	}
	if (r->authorization != NULL) {
		rc = header_bearer(r->authorization, &v, &len);
		c->source = CRED_BEARER;
		if (rc <= 0) {
			c->malformed = true;
			return;
		}
		if (memchr(v, '.', len) != NULL) {
			c->jwt = v; /* an access JWT, verified by the decision */
			c->jwt_len = len;
			return;
		}
		credential_take(c, CRED_BEARER, v, len, TOKEN_SESSION);
		return;
	}
	if (r->api_key != NULL) {
		credential_take(c, CRED_API_KEY, r->api_key, strlen(r->api_key), TOKEN_API_KEY);
		return;
	}
	rc = cookie_find(r->cookie, app->session_cookie, &v, &len);
	if (rc != 0) {
		if (rc < 0) {
			c->source = CRED_COOKIE;
			c->malformed = true;
			return;
		}
		credential_take(c, CRED_COOKIE, v, len, TOKEN_SESSION);
	}
}
