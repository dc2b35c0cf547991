/* testkeys: throwaway signing keys for the JOSE unit tests (generated with OpenSSL when a suite
 * starts), their public halves as JWK members, and compact JWS signing with them. */
#include "testkeys.h"

#include "base64url.h"

#include <check.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TESTKEY_JWK_MAX 2048

static EVP_PKEY *testkeys[TK_COUNT];
static char testkey_jwks[TK_COUNT][TESTKEY_JWK_MAX];

/* How each algorithm signs (the same table as lib/jws.c, written again so a mistake there
 * does not hide in both). */
static const struct testkey_alg {
	const char *alg;
	const char *digest;
	bool pss;
	size_t ec_size;
} testkey_algs[] = {
	{ "RS256", "SHA256", false, 0 },  { "RS384", "SHA384", false, 0 },
	{ "RS512", "SHA512", false, 0 },  { "PS256", "SHA256", true, 0 },
	{ "PS384", "SHA384", true, 0 },   { "PS512", "SHA512", true, 0 },
	{ "ES256", "SHA256", false, 32 }, { "ES384", "SHA384", false, 48 },
};

static const struct testkey_alg *testkey_alg(const char *alg)
{
	for (size_t i = 0; i < sizeof testkey_algs / sizeof testkey_algs[0]; i++)
		if (strcmp(testkey_algs[i].alg, alg) == 0)
			return &testkey_algs[i];
	ck_abort_msg("no such alg %s", alg);
	return &testkey_algs[0];
}

char *test_b64(const void *data, size_t n)
{
	char *s = malloc(BASE64URL_ENCODED_LEN(n) + 1);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_ge(base64url_encode(s, BASE64URL_ENCODED_LEN(n) + 1, data, n), 0);
	return s;
}

/* A big-number parameter of the key, base64url, padded to size bytes (0: minimal). */
static char *testkey_bn(EVP_PKEY *k, const char *param, size_t size)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *s;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(k, param, &bn), 1);
	n = size ? BN_bn2binpad(bn, buf, (int)size) : BN_bn2bin(bn, buf);
	ck_assert_int_gt(n, 0);
	s = test_b64(buf, (size_t)n);
	BN_free(bn);
	return s;
}

static void testkey_export(enum testkey k)
{
	EVP_PKEY *p = testkeys[k];

	if (EVP_PKEY_is_a(p, "RSA")) {
		char *n = testkey_bn(p, OSSL_PKEY_PARAM_RSA_N, 0);
		char *e = testkey_bn(p, OSSL_PKEY_PARAM_RSA_E, 0);
		snprintf(testkey_jwks[k], TESTKEY_JWK_MAX,
		         "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", n, e);
		free(n);
		free(e);
	} else {
		size_t size = k == TK_EC256 ? 32 : 48;
		char *x = testkey_bn(p, OSSL_PKEY_PARAM_EC_PUB_X, size);
		char *y = testkey_bn(p, OSSL_PKEY_PARAM_EC_PUB_Y, size);
		snprintf(testkey_jwks[k], TESTKEY_JWK_MAX,
		         "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"",
		         k == TK_EC256 ? "P-256" : "P-384", x, y);
		free(x);
		free(y);
	}
}

static void testkeys_free(void)
{
	for (int k = 0; k < TK_COUNT; k++) {
		EVP_PKEY_free(testkeys[k]);
		testkeys[k] = NULL;
	}
}

void testkeys_init(void)
{
	static const struct {
		const char *type;
		size_t bits;
		const char *curve;
	} specs[TK_COUNT] = {
		[TK_RSA] = { "RSA", 2048, NULL },     [TK_RSA2] = { "RSA", 2048, NULL },
		[TK_RSA1024] = { "RSA", 1024, NULL }, [TK_EC256] = { "EC", 0, "P-256" },
		[TK_EC384] = { "EC", 0, "P-384" },
	};

	if (testkeys[0] != NULL)
		return;
	for (int k = 0; k < TK_COUNT; k++) {
		testkeys[k] = specs[k].curve ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", specs[k].curve)
		                             : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", specs[k].bits);
		ck_assert_ptr_nonnull(testkeys[k]);
		testkey_export((enum testkey)k);
	}
	atexit(testkeys_free);
}

EVP_PKEY *testkey(enum testkey k)
{
	return testkeys[k];
}

const char *testkey_jwk(enum testkey k)
{
	return testkey_jwks[k];
}

size_t testkey_signature(enum testkey k, const char *alg, const char *input, size_t len,
                         unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char der[1024];
	size_t derlen = sizeof der;
	const struct testkey_alg *a = testkey_alg(alg);

	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(EVP_DigestSignInit_ex(md, &pctx, a->digest, NULL, NULL, testkeys[k], NULL),
	                 1);
	if (a->pss) {
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ck_assert_int_eq(EVP_DigestSign(md, der, &derlen, (const unsigned char *)input, len), 1);
	EVP_MD_CTX_free(md);
	if (a->ec_size == 0) {
		ck_assert_uint_le(derlen, siglen);
		memcpy(sig, der, derlen);
		return derlen;
	}
	/* ECDSA: OpenSSL's DER SEQUENCE { r, s } to the JWS form r || s (RFC 7518 §3.4) */
	{
		const unsigned char *p = der;
		size_t size = a->ec_size;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
		const BIGNUM *r, *s;

		ck_assert_ptr_nonnull(es);
		ck_assert_uint_le(2 * size, siglen);
		ECDSA_SIG_get0(es, &r, &s);
		ck_assert_int_eq(BN_bn2binpad(r, sig, (int)size), (int)size);
		ck_assert_int_eq(BN_bn2binpad(s, sig + size, (int)size), (int)size);
		ECDSA_SIG_free(es);
		return 2 * size;
	}
}

char *testkey_token(enum testkey k, const char *alg, const char *header, const char *payload)
{
	char *h = test_b64(header, strlen(header)), *p = test_b64(payload, strlen(payload)), *s;
	size_t inlen = strlen(h) + 1 + strlen(p), siglen;
	char *input = malloc(inlen + 1), *token;
	unsigned char sig[1024];

	ck_assert_ptr_nonnull(input);
	snprintf(input, inlen + 1, "%s.%s", h, p);
	siglen = testkey_signature(k, alg, input, inlen, sig, sizeof sig);
	s = test_b64(sig, siglen);
	token = malloc(inlen + 1 + strlen(s) + 1);
	ck_assert_ptr_nonnull(token);
	sprintf(token, "%s.%s", input, s);
	free(h);
	free(p);
	free(s);
	free(input);
	return token;
}
