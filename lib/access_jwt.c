/* access_jwt: verifying Postern's own access tokens (compact JWS, HS256 only) with libjwt. */
#include "access_jwt.h"

#include "base64url.h"
#include "crypto.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The header must say HS256 and nothing else that matters: no kid, jku, x5u, crit... */
static int access_jwt_header_ok(const char *token, size_t len)
{
	const char *dot = memchr(token, '.', len);
	char raw[256];
	long n;
	json_t *h;
	const char *key;
	json_t *v;
	int ok = 1;

	if (dot == NULL || (size_t)(dot - token) > BASE64URL_ENCODED_LEN(sizeof raw - 1))
		return 0;
	n = base64url_decode(raw, sizeof raw - 1, token, (size_t)(dot - token));
	if (n < 0)
		return 0;
	h = json_loadb(raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(h)) {
		json_decref(h);
		return 0;
	}
	json_object_foreach(h, key, v)
	{
		if (strcmp(key, "alg") == 0)
			ok &= json_is_string(v) && strcmp(json_string_value(v), "HS256") == 0;
		else if (strcmp(key, "typ") == 0)
			ok &= json_is_string(v) && strcmp(json_string_value(v), "JWT") == 0;
		else
			ok = 0;
	}
	ok &= json_object_get(h, "alg") != NULL;
	json_decref(h);
	return ok;
}

static int access_jwt_copy_claim(jwt_t *jwt, const char *name, char *out, size_t outlen)
{
	const char *v = jwt_get_grant(jwt, name);

	if (v == NULL || v[0] == '\0' || strlen(v) >= outlen)
		return -1;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

/* sub and sid are canonical lower-case UUIDs, checked before they reach a query. */
static int access_jwt_uuid(const char *s)
{
	if (strlen(s) != 36)
		return -1;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
		         : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	}
	return 0;
}

static int access_jwt_int_claim(jwt_t *jwt, const char *name, long long *out, int required)
{
	long v;

	errno = 0;
	v = jwt_get_grant_int(jwt, name);
	if (errno == ENOENT) {
		*out = 0;
		return required ? -1 : 0;
	}
	if (errno != 0)
		return -1;
	*out = v;
	return 0;
}

static int access_jwt_claim_is(jwt_t *jwt, const char *name, const char *want)
{
	const char *v = jwt_get_grant(jwt, name);

	return v != NULL && strcmp(v, want) == 0;
}

int access_jwt_verify(const unsigned char key[32], const char *token, size_t len,
                      const char *issuer, const char *audience, long long now,
                      struct access_jwt *out)
{
	char buf[ACCESS_JWT_MAX + 1];
	struct access_jwt a;
	long long nbf = 0;
	jwt_t *jwt = NULL;
	int rc = -1;

	if (len == 0 || len > ACCESS_JWT_MAX || memchr(token, '\0', len) != NULL ||
	    !access_jwt_header_ok(token, len))
		return -1;
	memcpy(buf, token, len);
	buf[len] = '\0';
	if (jwt_decode(&jwt, buf, key, 32) != 0 || jwt == NULL)
		goto out;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;
	memset(&a, 0, sizeof a);
	if (!access_jwt_claim_is(jwt, "typ", "access") ||
	    !access_jwt_claim_is(jwt, "iss", issuer) ||
	    !access_jwt_claim_is(jwt, "aud", audience) ||
	    access_jwt_copy_claim(jwt, "sub", a.sub, sizeof a.sub) ||
	    access_jwt_copy_claim(jwt, "sid", a.sid, sizeof a.sid) ||
	    access_jwt_copy_claim(jwt, "jti", a.jti, sizeof a.jti) ||
	    access_jwt_int_claim(jwt, "exp", &a.exp, 1) ||
	    access_jwt_int_claim(jwt, "iat", &a.iat, 1) ||
	    access_jwt_int_claim(jwt, "nbf", &nbf, 0))
		goto out;
	if (access_jwt_uuid(a.sub) != 0 || access_jwt_uuid(a.sid) != 0)
		goto out;
	if (a.exp <= now || a.iat > now + ACCESS_JWT_SKEW || nbf > now + ACCESS_JWT_SKEW)
		goto out;
	*out = a;
	rc = 0;
out:
	jwt_free(jwt);
	return rc;
}

char *access_jwt_sign(const unsigned char key[32], const char *user_id, const char *session_id,
                      const char *issuer, const char *audience, long long now, long ttl)
{
	unsigned char rnd[16];
	char jti[33];
	jwt_t *jwt = NULL;
	char *out = NULL;

	if (crypto_random(rnd, sizeof rnd) != 0)
		return NULL;
	crypto_hex(rnd, sizeof rnd, jti);
	/* exactly the claims the verifier checks, nothing else (no email, no role) */
	if (jwt_new(&jwt) == 0 && jwt_add_grant(jwt, "typ", "access") == 0 &&
	    jwt_add_grant(jwt, "iss", issuer) == 0 && jwt_add_grant(jwt, "aud", audience) == 0 &&
	    jwt_add_grant(jwt, "sub", user_id) == 0 && jwt_add_grant(jwt, "sid", session_id) == 0 &&
	    jwt_add_grant(jwt, "jti", jti) == 0 && jwt_add_grant_int(jwt, "iat", (long)now) == 0 &&
	    jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, 32) == 0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}
