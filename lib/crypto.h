/* crypto: CSPRNG, prefixed tokens, SHA-256, HMAC-SHA256, constant-time compare, wipe, bcrypt. */
#ifndef POSTERN_CRYPTO_H
#define POSTERN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_TOKEN_BYTES 32
/* "pst_x_" + 43 base64url characters */
#define CRYPTO_TOKEN_PREFIX_LEN 6
#define CRYPTO_TOKEN_LEN (CRYPTO_TOKEN_PREFIX_LEN + 43)
#define CRYPTO_BCRYPT_MAX_PASSWORD 72
#define CRYPTO_BCRYPT_HASH_LEN 60
#define CRYPTO_BCRYPT_MIN_COST 12

/* Token kinds; the prefix makes a leaked secret recognisable and one kind unusable as another. */
enum crypto_token_kind {
	TOKEN_SESSION,  /* pst_s_ */
	TOKEN_API_KEY,  /* pst_k_ */
	TOKEN_LINK,     /* pst_l_ */
	TOKEN_REFRESH,  /* pst_r_ */
	TOKEN_ONE_TIME, /* pst_t_ */
	TOKEN_MFA,      /* pst_m_: the login's MFA challenge */
	TOKEN_KIND_COUNT
};

int crypto_random(void *buf, size_t n);

/* Writes a new token of `kind` into out (CRYPTO_TOKEN_LEN + 1 bytes, NUL-terminated). */
int crypto_token_new(enum crypto_token_kind kind, char out[CRYPTO_TOKEN_LEN + 1]);

/* Returns the kind of a well-formed token (prefix + exactly 43 canonical base64url characters
 * encoding 32 bytes) or -1. Does not touch the database; constant work for a given length. */
int crypto_token_kind(const char *s, size_t len);

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[CRYPTO_SHA256_LEN]);

/* A purpose-bound key from the server key: HMAC-SHA256(master, "postern-key:" label), so the
 * JWT, CSRF and encryption keys never equal each other or the master. */
int crypto_derive_key(const void *master, size_t len, const char *label,
                      unsigned char out[CRYPTO_SHA256_LEN]);

/* base64url(HMAC-SHA256(key, msg)): 43 characters + NUL, for tokens that bind a value to a
 * server key (CSRF tokens, shared-link unlock cookies). */
#define CRYPTO_MAC_B64_LEN 43
int crypto_mac_b64url(const unsigned char key[CRYPTO_SHA256_LEN], const char *msg,
                      char out[CRYPTO_MAC_B64_LEN + 1]);

/* Lower-case hex of n bytes into out (2 * n + 1 bytes, NUL-terminated). */
void crypto_hex(const void *data, size_t n, char *out);
/* Back: the 2 * n lower-case hex digits at in into n bytes. 0, or -1 at any other character
 * (upper case too: the text must be what crypto_hex or PostgreSQL's encode wrote). */
int crypto_unhex(const char *in, size_t n, unsigned char *out);

/* Constant-time equality of two n-byte buffers. */
bool crypto_equal(const void *a, const void *b, size_t n);
void crypto_wipe(void *p, size_t n);

/* bcrypt through libxcrypt. Passwords longer than 72 bytes are refused (bcrypt would silently
 * truncate them). hash_out receives a NUL-terminated "$2b$" hash. */
int crypto_bcrypt_hash(const char *password, int cost, char hash_out[CRYPTO_BCRYPT_HASH_LEN + 1]);
/* Returns true only if `hash` is a $2a$/$2b$ bcrypt hash of `password`. */
bool crypto_bcrypt_verify(const char *password, const char *hash);

#endif
