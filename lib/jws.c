/* jws: verifying a provider's signed JWTs (compact JWS: RS*, PS*, ES256, ES384) with OpenSSL. */
#include "jws.h"

#include "base64url.h"
#include "words.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What each algorithm needs: the digest, the key type, and the padding (RSA) or the size of
 * r and s (ECDSA). */
static const struct jws_alg {
	const char *name;
	const char *digest;
	enum jwk_type type;
	bool pss;
	size_t ec_size;
} jws_algs[] = {
	{ "RS256", "SHA256", JWK_RSA, false, 0 },
	{ "RS384", "SHA384", JWK_RSA, false, 0 },
	{ "RS512", "SHA512", JWK_RSA, false, 0 },
	{ "PS256", "SHA256", JWK_RSA, true, 0 },
	{ "PS384", "SHA384", JWK_RSA, true, 0 },
	{ "PS512", "SHA512", JWK_RSA, true, 0 },
	{ "ES256", "SHA256", JWK_EC_P256, false, 32 },
	{ "ES384", "SHA384", JWK_EC_P384, false, 48 },
};

static const struct jws_alg *jws_alg_find(const char *name)
{
	for (size_t i = 0; i < sizeof jws_algs / sizeof jws_algs[0]; i++)
		if (strcmp(jws_algs[i].name, name) == 0)
			return &jws_algs[i];
	return NULL;
}

int jws_algs_check(const char *value, char *err, size_t errlen)
{
	char word[32];
	const char *w;
	size_t n;

	if (value[strspn(value, " ")] == '\0') {
		snprintf(err, errlen, "name at least one algorithm (%s)", JWS_ALGS_SUPPORTED);
		return -1;
	}
	while (words_next(&value, &w, &n)) {
		snprintf(word, sizeof word, "%.*s", (int)(n < sizeof word ? n : sizeof word - 1),
		         w);
		if (n >= sizeof word || jws_alg_find(word) == NULL) {
			snprintf(err, errlen, "\"%s\" is not one of %s", word, JWS_ALGS_SUPPORTED);
			return -1;
		}
	}
	return 0;
}

/* Decodes one base64url part into a JSON object (NULL if it is not one). */
static json_t *jws_json_part(const char *s, size_t n)
{
	char *buf = malloc(BASE64URL_DECODED_MAX(n) + 1);
	long len;
	json_t *v = NULL;

	if (buf == NULL)
		return NULL;
	len = base64url_decode(buf, BASE64URL_DECODED_MAX(n) + 1, s, n);
	if (len >= 0)
		v = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* The header's checks; *alg and *kid point into it. */
static enum jws_status jws_header(json_t *h, const char *allowed, const char *typs,
                                  const struct jws_alg **alg, const char **kid)
{
	json_t *a = json_object_get(h, "alg"), *k = json_object_get(h, "kid");
	json_t *t = json_object_get(h, "typ");

	/* an extension we would have to understand: we understand none */
	if (json_object_get(h, "crit") != NULL || (k != NULL && !json_is_string(k)))
		return JWS_MALFORMED;
	if (!json_is_string(a) || strcmp(json_string_value(a), "none") == 0 ||
	    !words_has(allowed, json_string_value(a), json_string_length(a), false) ||
	    (*alg = jws_alg_find(json_string_value(a))) == NULL)
		return JWS_ALG;
	if (t != NULL) {
		const char *tv = json_is_string(t) ? json_string_value(t) : "";
		if (strncasecmp(tv, "application/", 12) == 0)
			tv += 12;
		if (tv[0] == '\0' || !words_has(typs, tv, strlen(tv), true))
			return JWS_TYP;
	}
	*kid = k ? json_string_value(k) : NULL;
	return JWS_OK;
}

static const struct jwk *jws_key(const struct jwks *keys, const struct jws_alg *alg,
                                 const char *kid)
{
	const struct jwk *found = NULL;

	for (size_t i = 0; i < keys->n; i++) {
		const struct jwk *k = &keys->keys[i];
		if (k->type != alg->type || (k->alg[0] && strcmp(k->alg, alg->name) != 0))
			continue;
		if (kid != NULL) {
			if (strcmp(k->kid, kid) == 0)
				return k;
			continue;
		}
		if (found != NULL)
			return NULL; /* no kid and several candidates: ambiguous */
		found = k;
	}
	return found;
}

/* An ECDSA signature in JWS form (r || s, fixed size) as DER for OpenSSL. */
static int jws_ec_der(const unsigned char *sig, size_t n, size_t size, unsigned char **der,
                      int *derlen)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;

	if (n != 2 * size)
		return -1;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)size, NULL);
	s = BN_bin2bn(sig + size, (int)size, NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	*der = NULL;
	*derlen = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? 0 : -1;
}

static bool jws_signature_ok(const struct jws_alg *alg, EVP_PKEY *pkey, const char *input,
                             size_t inlen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int derlen = 0;
	bool ok = false;

	if (md == NULL)
		return false;
	if (alg->ec_size != 0 && jws_ec_der(sig, siglen, alg->ec_size, &der, &derlen) != 0)
		goto out;
	if (EVP_DigestVerifyInit_ex(md, &pctx, alg->digest, NULL, NULL, pkey, NULL) != 1)
		goto out;
	if (alg->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	ok = der != NULL
	         ? EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)input, inlen) ==
	               1
	         : EVP_DigestVerify(md, sig, siglen, (const unsigned char *)input, inlen) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

enum jws_status jws_verify(const char *token, size_t len, const struct jwks *keys,
                           const char *allowed, const char *typs, json_t **claims)
{
	const char *d1, *d2, *kid = NULL;
	const struct jws_alg *alg = NULL;
	const struct jwk *key;
	json_t *h = NULL, *c = NULL;
	unsigned char *sig = NULL;
	long siglen;
	enum jws_status st = JWS_MALFORMED;

	if (len == 0 || len > JWS_TOKEN_MAX || memchr(token, '\0', len) != NULL)
		return JWS_MALFORMED;
	d1 = memchr(token, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	/* exactly three parts: a fourth dot is a JWE (five parts) or garbage */
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return JWS_MALFORMED;
	h = jws_json_part(token, (size_t)(d1 - token));
	if (h == NULL)
		goto out;
	st = jws_header(h, allowed, typs, &alg, &kid);
	if (st != JWS_OK)
		goto out;
	st = JWS_MALFORMED;
	c = jws_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
	sig = malloc(BASE64URL_DECODED_MAX(len) + 1);
	if (c == NULL || sig == NULL)
		goto out;
	siglen = base64url_decode(sig, BASE64URL_DECODED_MAX(len) + 1, d2 + 1,
	                          len - (size_t)(d2 + 1 - token));
	if (siglen <= 0)
		goto out;
	key = jws_key(keys, alg, kid);
	if (key == NULL) {
		st = JWS_NO_KEY;
		goto out;
	}
	if (!jws_signature_ok(alg, key->pkey, token, (size_t)(d2 - token), sig, (size_t)siglen)) {
		st = JWS_BAD_SIG;
		goto out;
	}
	*claims = c;
	c = NULL;
	st = JWS_OK;
out:
	free(sig);
	json_decref(h);
	json_decref(c);
	return st;
}

const char *jws_status_text(enum jws_status st)
{
	switch (st) {
	case JWS_OK: return "valid";
	case JWS_MALFORMED: return "not a well-formed signed JWT";
	case JWS_ALG: return "signed with an algorithm that is not allowed";
	case JWS_TYP: return "of the wrong type (typ)";
	case JWS_NO_KEY: return "signed with an unknown key";
	case JWS_BAD_SIG: return "signature does not verify";
	}
	return "invalid";
}
