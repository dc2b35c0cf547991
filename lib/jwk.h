/* jwk: a provider's JSON Web Key Set, turned into OpenSSL public keys (RSA, EC P-256/P-384). */
#ifndef POSTERN_JWK_H
#define POSTERN_JWK_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#define JWKS_MAX_KEYS 32
#define JWK_KID_MAX 128
#define JWKS_DOC_MAX (256 * 1024)

enum jwk_type { JWK_RSA, JWK_EC_P256, JWK_EC_P384 };

struct jwk {
	char kid[JWK_KID_MAX + 1]; /* "" when the key has none */
	char alg[16];              /* "" when the key does not name one */
	enum jwk_type type;
	EVP_PKEY *pkey;
};

/* Shared by the threads of a process: a verifier takes a reference for as long as it uses
 * the set, so the provider cache can swap in a new one at any time. */
struct jwks {
	int refs;
	size_t n;
	struct jwk
	    keys[JWKS_MAX_KEYS + 1]; /* one spare: a key past the limit is parsed, then refused */
};

/* Parses a JWKS document ({"keys": [...]}). Keys that are not for signatures ("use" other than
 * "sig", key_ops without "verify"), of another type (oct, OKP) or curve, RSA keys under 2048
 * bits and private keys are skipped; a malformed member of a key we would use is an error, so
 * is a set with no usable key or a repeated kid. On success *out has one reference. */
int jwks_parse(const char *json, size_t len, struct jwks **out, char *err, size_t errlen);

struct jwks *jwks_ref(struct jwks *k);
/* Drops a reference; the last one frees the keys. NULL is ignored. */
void jwks_unref(struct jwks *k);

#endif
