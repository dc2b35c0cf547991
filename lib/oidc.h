/* oidc: the relying party's pure logic: provider metadata, ID and logout token claims, PKCE,
 * and mapping claims to a Postern user (no I/O: the responder does the fetching). */
#ifndef POSTERN_OIDC_H
#define POSTERN_OIDC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OIDC_DISCOVERY_MAX (64 * 1024)
#define OIDC_PKCE_LEN 43 /* 32 random bytes, base64url: verifier, challenge and state alike */
#define OIDC_SUB_MAX 255 /* OIDC Core §2: sub is at most 255 ASCII characters */
#define OIDC_BACKCHANNEL_EVENT "http://schemas.openid.net/event/backchannel-logout"

/* The parts of the discovery document (OpenID Connect Discovery §3) the RP uses. */
struct oidc_meta {
	char *issuer;
	char *authorization_endpoint, *token_endpoint, *jwks_uri;
	char *userinfo_endpoint;    /* NULL when the provider has none */
	char *end_session_endpoint; /* NULL when the provider has none */
	bool iss_parameter;         /* RFC 9207: the callback must carry iss */
};

/* Parses and checks a discovery document: the endpoints must be URLs url_ok accepts,
 * response_types_supported (when given) must include "code", and the issuer must equal
 * `expected` exactly, unless trust_issuer (a configured discovery URL at another place, as
 * Authentik publishes it) — then the document's issuer is taken. 0, or -1 with err. */
int oidc_meta_parse(const char *json, size_t len, const char *expected, bool trust_issuer,
                    struct oidc_meta *m, char *err, size_t errlen);
void oidc_meta_free(struct oidc_meta *m);

/* What a token's claims are checked against (times in unix seconds). */
struct oidc_expect {
	const char *issuer;
	const char *client_id;
	const char *nonce; /* ID tokens: the one sent with the authorization request */
	long long now;
	long skew;    /* seconds of clock difference tolerated */
	long max_age; /* seconds an iat may lie in the past */
};

/* The checks of OIDC Core §3.1.3.7 on a verified ID token's claims: iss exact, aud our
 * client_id alone (string or one-element array), azp (if any) our client_id, exp in the
 * future, iat present, not in the future and not older than max_age, nbf (if any) passed,
 * nonce equal, sub a non-empty string of at most 255 characters. NULL when they pass, else
 * the name of the first claim that failed ("iss", "aud", ...). */
const char *oidc_check_id_token(const json_t *claims, const struct oidc_expect *e);
/* The checks of Back-Channel Logout 1.0 §2.6 (nonce is ignored in e): iss, aud, iat (and exp
 * if present) as above, a jti, the back-channel logout event, no nonce claim, and a sub or a
 * sid. NULL when they pass, else the failing claim. */
const char *oidc_check_logout_token(const json_t *claims, const struct oidc_expect *e);

/* A new random value of OIDC_PKCE_LEN base64url characters (state, nonce, verifier). */
int oidc_random(char out[OIDC_PKCE_LEN + 1]);
/* The S256 challenge of a verifier (RFC 7636 §4.2). */
void oidc_pkce_challenge(const char *verifier, char out[OIDC_PKCE_LEN + 1]);
/* Whether s is a code verifier RFC 7636 §4.1 allows (43-128 unreserved characters). */
bool oidc_pkce_verifier_ok(const char *s);

/* A claim by name: the member of that name, or else, for a dotted name, the nested member
 * ("realm_access.roles"). Borrowed, NULL if absent. */
json_t *oidc_claim(const json_t *claims, const char *name);
/* A string claim that is non-empty and at most max characters without control characters,
 * or NULL. */
const char *oidc_claim_string(const json_t *claims, const char *name, size_t max);

/* The Postern role for a user's claim values (a string or an array of strings): map is
 * space-separated "value=role" pairs; the first pair whose value the claim holds wins.
 * Writes the role and returns 1, or 0 when no pair matches. */
int oidc_map_role(const json_t *claims, const char *claim, const char *map, char *role,
                  size_t rolelen);
/* Whether the claim (string or array) holds one of the space-separated values. */
bool oidc_claim_has_any(const json_t *claims, const char *claim, const char *values);
/* Whether the amr claim (RFC 8176) says more than one factor was used. */
bool oidc_amr_mfa(const json_t *claims);

/* Config validator of oidc_role_map ("value=role ..."). */
int oidc_role_map_check(const char *value, char *err, size_t errlen);

#endif
