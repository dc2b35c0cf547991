/* jwk: a provider's JSON Web Key Set, turned into OpenSSL public keys (RSA, EC P-256/P-384). */
#include "jwk.h"

#include "base64url.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWK_RSA_MIN_BITS 2048
#define JWK_RSA_MAX_BYTES 1024 /* 8192-bit modulus */

/* A base64url member decoded into buf: its length, or -1 if it is missing or malformed. */
static long jwk_bytes(json_t *key, const char *name, unsigned char *buf, size_t buflen)
{
	json_t *v = json_object_get(key, name);

	if (!json_is_string(v))
		return -1;
	return base64url_decode(buf, buflen, json_string_value(v), json_string_length(v));
}

static EVP_PKEY *jwk_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	if (pkey != NULL) {
		/* a point off the curve (invalid-curve attacks) or a nonsense modulus is refused */
		EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (check == NULL || EVP_PKEY_public_check(check) <= 0) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		EVP_PKEY_CTX_free(check);
	}
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *jwk_rsa(json_t *key, const char **why)
{
	unsigned char n[JWK_RSA_MAX_BYTES], e[16];
	long nl = jwk_bytes(key, "n", n, sizeof n), el = jwk_bytes(key, "e", e, sizeof e);
	OSSL_PARAM_BLD *bld;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;

	if (nl <= 0 || el <= 0) {
		*why = "an RSA key needs base64url n and e";
		return NULL;
	}
	bn = BN_bin2bn(n, (int)nl, NULL);
	if (bn != NULL && BN_num_bits(bn) < JWK_RSA_MIN_BITS) {
		BN_free(bn);
		*why = NULL; /* too weak to use: skipped, not an error */
		return NULL;
	}
	bld = OSSL_PARAM_BLD_new();
	be = BN_bin2bn(e, (int)el, NULL);
	if (bld != NULL && bn != NULL && be != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		pkey = jwk_from_params("RSA", bld);
	if (pkey == NULL)
		*why = "the RSA key is not valid";
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *jwk_ec(json_t *key, enum jwk_type type, const char **why)
{
	size_t size = type == JWK_EC_P256 ? 32 : 48;
	unsigned char x[64], y[64], point[1 + 2 * 48];
	long xl = jwk_bytes(key, "x", x, sizeof x), yl = jwk_bytes(key, "y", y, sizeof y);
	OSSL_PARAM_BLD *bld;
	EVP_PKEY *pkey = NULL;

	if (xl != (long)size || yl != (long)size) {
		*why = "an EC key needs base64url x and y of the curve's size";
		return NULL;
	}
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, size);
	memcpy(point + 1 + size, y, size);
	bld = OSSL_PARAM_BLD_new();
	if (bld != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	                                    type == JWK_EC_P256 ? "prime256v1" : "secp384r1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size))
		pkey = jwk_from_params("EC", bld);
	if (pkey == NULL)
		*why = "the EC key is not a valid point of its curve";
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* Whether a key is meant for verifying signatures. */
static bool jwk_for_signing(json_t *key)
{
	json_t *use = json_object_get(key, "use"), *ops = json_object_get(key, "key_ops"), *op;
	size_t i;

	if (use != NULL && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
		return false;
	if (ops == NULL)
		return true;
	json_array_foreach(ops, i, op)
	{
		if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
			return true;
	}
	return false;
}

/* 1 a key was added, 0 skipped, -1 error (why says it). */
static int jwk_add(struct jwks *set, json_t *key, const char **why)
{
	json_t *kty = json_object_get(key, "kty"), *kid = json_object_get(key, "kid");
	json_t *alg = json_object_get(key, "alg");
	struct jwk *k = &set->keys[set->n];
	const char *t;

	*why = NULL;
	if (!json_is_object(key) || !json_is_string(kty)) {
		*why = "every key needs a kty";
		return -1;
	}
	if (!jwk_for_signing(key))
		return 0;
	t = json_string_value(kty);
	if (strcmp(t, "RSA") == 0) {
		k->type = JWK_RSA;
	} else if (strcmp(t, "EC") == 0) {
		json_t *crv = json_object_get(key, "crv");
		const char *c = json_is_string(crv) ? json_string_value(crv) : "";
		if (strcmp(c, "P-256") == 0)
			k->type = JWK_EC_P256;
		else if (strcmp(c, "P-384") == 0)
			k->type = JWK_EC_P384;
		else
			return 0;
	} else {
		return 0;
	}
	if (json_object_get(key, "d") != NULL) {
		*why = "the key set holds a private key: refusing it";
		return -1;
	}
	if ((kid != NULL && (!json_is_string(kid) || json_string_length(kid) > JWK_KID_MAX)) ||
	    (alg != NULL && (!json_is_string(alg) || json_string_length(alg) >= sizeof k->alg))) {
		*why = "kid and alg must be short strings";
		return -1;
	}
	snprintf(k->kid, sizeof k->kid, "%s", kid ? json_string_value(kid) : "");
	snprintf(k->alg, sizeof k->alg, "%s", alg ? json_string_value(alg) : "");
	for (size_t i = 0; i < set->n && k->kid[0]; i++)
		if (strcmp(set->keys[i].kid, k->kid) == 0) {
			*why = "two keys have the same kid";
			return -1;
		}
	k->pkey = k->type == JWK_RSA ? jwk_rsa(key, why) : jwk_ec(key, k->type, why);
	if (k->pkey == NULL)
		return *why ? -1 : 0;
	set->n++;
	return 1;
}

int jwks_parse(const char *json, size_t len, struct jwks **out, char *err, size_t errlen)
{
	json_t *doc = NULL, *keys, *key;
	struct jwks *set = NULL;
	const char *why = NULL;
	size_t i;

	if (len > JWKS_DOC_MAX) {
		snprintf(err, errlen, "the key set is larger than %d bytes", JWKS_DOC_MAX);
		return -1;
	}
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		snprintf(err, errlen, "not a JSON Web Key Set (no \"keys\" array)");
		goto fail;
	}
	set = calloc(1, sizeof *set);
	if (set == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(keys, i, key)
	{
		int rc = jwk_add(set, key, &why);
		if (rc < 0) {
			snprintf(err, errlen, "key %zu: %s", i, why);
			goto fail;
		}
		if (rc > 0 && set->n > JWKS_MAX_KEYS) {
			snprintf(err, errlen, "more than %d usable keys", JWKS_MAX_KEYS);
			goto fail;
		}
	}
	if (set->n == 0) {
		snprintf(err, errlen,
		         "no usable signing key (RSA of 2048+ bits, EC P-256 or P-384)");
		goto fail;
	}
	json_decref(doc);
	set->refs = 1;
	*out = set;
	return 0;
fail:
	json_decref(doc);
	if (set != NULL) {
		set->refs = 1;
		jwks_unref(set);
	}
	return -1;
}

struct jwks *jwks_ref(struct jwks *k)
{
	__atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
	return k;
}

void jwks_unref(struct jwks *k)
{
	if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->keys[i].pkey);
	free(k);
}
