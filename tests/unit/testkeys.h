/* testkeys: throwaway signing keys for the JOSE unit tests (generated with OpenSSL when a suite
 * starts), their public halves as JWK members, and compact JWS signing with them. */
#ifndef POSTERN_TEST_TESTKEYS_H
#define POSTERN_TEST_TESTKEYS_H

#include <openssl/evp.h>
#include <stddef.h>

enum testkey { TK_RSA, TK_RSA2, TK_RSA1024, TK_EC256, TK_EC384, TK_COUNT };

/* Generates the keys once per process (an unchecked fixture: forked tests inherit them);
 * they are freed at exit. */
void testkeys_init(void);

EVP_PKEY *testkey(enum testkey k);

/* The members of the key's public JWK without braces or kid, e.g. "kty":"RSA","n":"..","e":"AQAB"
 * (static storage). */
const char *testkey_jwk(enum testkey k);

/* base64url of n bytes; free with free(). */
char *test_b64(const void *data, size_t n);

/* The JWS signature (RSA: PKCS#1 v1.5 or PSS; ECDSA: r || s) of input under alg ("RS256",
 * "PS384", "ES256", ...) into sig; returns its length. */
size_t testkey_signature(enum testkey k, const char *alg, const char *input, size_t len,
                         unsigned char *sig, size_t siglen);

/* A compact JWS of the given header and payload JSON texts signed with alg; free with free(). */
char *testkey_token(enum testkey k, const char *alg, const char *header, const char *payload);

#endif
