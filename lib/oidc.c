/* oidc: the relying party's pure logic: provider metadata, ID and logout token claims, PKCE,
 * and mapping claims to a Postern user (no I/O: the responder does the fetching). */
#include "oidc.h"

#include "base64url.h"
#include "crypto.h"
#include "url.h"
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string member that is a URL we may fetch (or redirect to), copied; -1 when it is there
 * but unacceptable or (required) missing. */
static int oidc_meta_url(json_t *doc, const char *name, bool required, char **out, char *err,
                         size_t errlen)
{
	json_t *v = json_object_get(doc, name);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v) || !url_ok(json_string_value(v))) {
		snprintf(err, errlen, "%s must be an https URL (http only to a loopback address)",
		         name);
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static bool oidc_array_has(json_t *arr, const char *value)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
			return true;
	}
	return false;
}

int oidc_meta_parse(const char *json, size_t len, const char *expected, bool trust_issuer,
                    struct oidc_meta *m, char *err, size_t errlen)
{
	json_t *doc, *iss, *rts;
	int rc = -1;

	memset(m, 0, sizeof *m);
	if (len > OIDC_DISCOVERY_MAX) {
		snprintf(err, errlen, "the discovery document is larger than %d bytes",
		         OIDC_DISCOVERY_MAX);
		return -1;
	}
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "the discovery document is not a JSON object");
		goto out;
	}
	iss = json_object_get(doc, "issuer");
	if (!json_is_string(iss) || !url_ok(json_string_value(iss))) {
		snprintf(err, errlen, "the discovery document has no usable issuer");
		goto out;
	}
	if (!trust_issuer && strcmp(json_string_value(iss), expected) != 0) {
		snprintf(
		    err, errlen,
		    "the discovery document's issuer \"%.200s\" is not the configured \"%.200s\"",
		    json_string_value(iss), expected);
		goto out;
	}
	rts = json_object_get(doc, "response_types_supported");
	if (rts != NULL && !oidc_array_has(rts, "code")) {
		snprintf(err, errlen, "the provider does not support the code flow");
		goto out;
	}
	m->issuer = strdup(json_string_value(iss));
	if (m->issuer == NULL ||
	    oidc_meta_url(doc, "authorization_endpoint", true, &m->authorization_endpoint, err,
	                  errlen) != 0 ||
	    oidc_meta_url(doc, "token_endpoint", true, &m->token_endpoint, err, errlen) != 0 ||
	    oidc_meta_url(doc, "jwks_uri", true, &m->jwks_uri, err, errlen) != 0 ||
	    oidc_meta_url(doc, "userinfo_endpoint", false, &m->userinfo_endpoint, err, errlen) !=
	        0 ||
	    oidc_meta_url(doc, "end_session_endpoint", false, &m->end_session_endpoint, err,
	                  errlen) != 0)
		goto out;
	m->iss_parameter =
	    json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported"));
	rc = 0;
out:
	json_decref(doc);
	if (rc != 0)
		oidc_meta_free(m);
	return rc;
}

void oidc_meta_free(struct oidc_meta *m)
{
	free(m->issuer);
	free(m->authorization_endpoint);
	free(m->token_endpoint);
	free(m->jwks_uri);
	free(m->userinfo_endpoint);
	free(m->end_session_endpoint);
	memset(m, 0, sizeof *m);
}

/* A NumericDate claim as whole seconds; false when absent or not a number. */
static bool oidc_time(const json_t *claims, const char *name, long long *out)
{
	json_t *v = json_object_get(claims, name);

	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (json_is_real(v) && json_real_value(v) > -1e15 && json_real_value(v) < 1e15)
		*out = (long long)json_real_value(v);
	else
		return false;
	return true;
}

static bool oidc_string_is(const json_t *claims, const char *name, const char *want)
{
	json_t *v = json_object_get(claims, name);

	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	       strcmp(json_string_value(v), want) == 0;
}

/* iss, aud, azp and the times every token from the provider must pass. */
static const char *oidc_check_common(const json_t *claims, const struct oidc_expect *e)
{
	json_t *aud = json_object_get(claims, "aud");
	long long exp, iat, nbf;

	if (!oidc_string_is(claims, "iss", e->issuer))
		return "iss";
	/* our client id alone: another audience would be a party we do not trust */
	if (json_is_array(aud)) {
		if (json_array_size(aud) != 1)
			return "aud";
		aud = json_array_get(aud, 0);
	}
	if (!json_is_string(aud) || strcmp(json_string_value(aud), e->client_id) != 0)
		return "aud";
	if (json_object_get(claims, "azp") != NULL && !oidc_string_is(claims, "azp", e->client_id))
		return "azp";
	if (!oidc_time(claims, "iat", &iat) || iat > e->now + e->skew ||
	    iat < e->now - e->max_age - e->skew)
		return "iat";
	if (json_object_get(claims, "nbf") != NULL &&
	    (!oidc_time(claims, "nbf", &nbf) || nbf > e->now + e->skew))
		return "nbf";
	if (json_object_get(claims, "exp") != NULL &&
	    (!oidc_time(claims, "exp", &exp) || exp <= e->now - e->skew))
		return "exp";
	return NULL;
}

static bool oidc_sub_ok(const json_t *claims)
{
	return oidc_claim_string(claims, "sub", OIDC_SUB_MAX) != NULL;
}

const char *oidc_check_id_token(const json_t *claims, const struct oidc_expect *e)
{
	const char *bad = oidc_check_common(claims, e);
	json_t *nonce = json_object_get(claims, "nonce");

	if (bad != NULL)
		return bad;
	if (json_object_get(claims, "exp") == NULL)
		return "exp";
	if (!json_is_string(nonce) || e->nonce == NULL || e->nonce[0] == '\0' ||
	    json_string_length(nonce) != strlen(e->nonce) ||
	    !crypto_equal(json_string_value(nonce), e->nonce, strlen(e->nonce)))
		return "nonce";
	if (!oidc_sub_ok(claims))
		return "sub";
	/* a logout token must never pass as an ID token */
	if (json_object_get(claims, "events") != NULL)
		return "events";
	return NULL;
}

const char *oidc_check_logout_token(const json_t *claims, const struct oidc_expect *e)
{
	const char *bad = oidc_check_common(claims, e);
	json_t *events = json_object_get(claims, "events");

	if (bad != NULL)
		return bad;
	if (oidc_claim_string(claims, "jti", 256) == NULL)
		return "jti";
	if (!json_is_object(events) ||
	    !json_is_object(json_object_get(events, OIDC_BACKCHANNEL_EVENT)))
		return "events";
	if (json_object_get(claims, "nonce") != NULL)
		return "nonce";
	if (json_object_get(claims, "sub") != NULL && !oidc_sub_ok(claims))
		return "sub";
	if (json_object_get(claims, "sid") != NULL && oidc_claim_string(claims, "sid", 255) == NULL)
		return "sid";
	if (json_object_get(claims, "sub") == NULL && json_object_get(claims, "sid") == NULL)
		return "sub";
	return NULL;
}

int oidc_random(char out[OIDC_PKCE_LEN + 1])
{
	unsigned char raw[32];

	if (crypto_random(raw, sizeof raw) != 0)
		return -1;
	base64url_encode(out, OIDC_PKCE_LEN + 1, raw, sizeof raw);
	crypto_wipe(raw, sizeof raw);
	return 0;
}

void oidc_pkce_challenge(const char *verifier, char out[OIDC_PKCE_LEN + 1])
{
	unsigned char d[CRYPTO_SHA256_LEN];

	crypto_sha256(verifier, strlen(verifier), d);
	base64url_encode(out, OIDC_PKCE_LEN + 1, d, sizeof d);
}

bool oidc_pkce_verifier_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 43 && n <= 128 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") == n;
}

json_t *oidc_claim(const json_t *claims, const char *name)
{
	json_t *v = json_object_get(claims, name);
	char part[128];

	if (v != NULL || strchr(name, '.') == NULL)
		return v;
	v = (json_t *)claims;
	for (const char *p = name; v != NULL;) {
		size_t w = strcspn(p, ".");
		if (w == 0 || w >= sizeof part)
			return NULL;
		memcpy(part, p, w);
		part[w] = '\0';
		v = json_object_get(v, part);
		if (p[w] == '\0')
			return v;
		p += w + 1;
	}
	return NULL;
}

const char *oidc_claim_string(const json_t *claims, const char *name, size_t max)
{
	json_t *v = oidc_claim(claims, name);
	const char *s;

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max)
		return NULL;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return NULL; /* an embedded NUL */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return NULL;
	return s;
}

/* Whether the claim's value, a string or an array of strings, holds value. */
static bool oidc_claim_holds(json_t *v, const char *value, size_t n)
{
	size_t i;
	json_t *e;

	if (json_is_string(v))
		return json_string_length(v) == n && strncmp(json_string_value(v), value, n) == 0;
	json_array_foreach(v, i, e)
	{
		if (json_is_string(e) && json_string_length(e) == n &&
		    strncmp(json_string_value(e), value, n) == 0)
			return true;
	}
	return false;
}

int oidc_map_role(const json_t *claims, const char *claim, const char *map, char *role,
                  size_t rolelen)
{
	json_t *v = oidc_claim(claims, claim);
	const char *p;
	size_t w;

	while (words_next(&map, &p, &w)) {
		const char *eq = memchr(p, '=', w);
		if (eq != NULL && oidc_claim_holds(v, p, (size_t)(eq - p))) {
			size_t rl = w - (size_t)(eq + 1 - p);
			if (rl == 0 || rl >= rolelen)
				return 0;
			memcpy(role, eq + 1, rl);
			role[rl] = '\0';
			return 1;
		}
	}
	return 0;
}

bool oidc_claim_has_any(const json_t *claims, const char *claim, const char *values)
{
	json_t *v = oidc_claim(claims, claim);
	const char *p;
	size_t w;

	while (words_next(&values, &p, &w))
		if (oidc_claim_holds(v, p, w))
			return true;
	return false;
}

bool oidc_amr_mfa(const json_t *claims)
{
	/* RFC 8176 values that are a second factor by themselves, or say several were used */
	return oidc_claim_has_any(claims, "amr",
	                          "mfa mca otp hwk sc sms tel fpt face iris retina vbm");
}

int oidc_role_map_check(const char *value, char *err, size_t errlen)
{
	const char *p;
	size_t w;

	while (words_next(&value, &p, &w)) {
		const char *eq = memchr(p, '=', w);
		if (eq == NULL || eq == p || eq == p + w - 1 ||
		    memchr(eq + 1, '=', w - (size_t)(eq + 1 - p))) {
			snprintf(err, errlen, "\"%.*s\" is not claim-value=role",
			         (int)(w > 100 ? 100 : w), p);
			return -1;
		}
	}
	return 0;
}
