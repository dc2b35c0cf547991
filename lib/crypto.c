/* crypto: CSPRNG, prefixed tokens, SHA-256, HMAC-SHA256, constant-time compare, wipe, bcrypt. */
#include "crypto.h"

#include "base64url.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char crypto_token_prefixes[TOKEN_KIND_COUNT][CRYPTO_TOKEN_PREFIX_LEN + 1] = {
	[TOKEN_SESSION] = "pst_s_", [TOKEN_API_KEY] = "pst_k_",  [TOKEN_LINK] = "pst_l_",
	[TOKEN_REFRESH] = "pst_r_", [TOKEN_ONE_TIME] = "pst_t_", [TOKEN_MFA] = "pst_m_",
};

int crypto_random(void *buf, size_t n)
{
	if (n > (size_t)__INT_MAX__)
		return -1;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int crypto_token_new(enum crypto_token_kind kind, char out[CRYPTO_TOKEN_LEN + 1])
{
	unsigned char raw[CRYPTO_TOKEN_BYTES];
	int rc = -1;

	if ((unsigned)kind >= TOKEN_KIND_COUNT || crypto_random(raw, sizeof raw) != 0)
		goto out;
	memcpy(out, crypto_token_prefixes[kind], CRYPTO_TOKEN_PREFIX_LEN);
	if (base64url_encode(out + CRYPTO_TOKEN_PREFIX_LEN,
	                     CRYPTO_TOKEN_LEN + 1 - CRYPTO_TOKEN_PREFIX_LEN, raw,
	                     sizeof raw) != CRYPTO_TOKEN_LEN - CRYPTO_TOKEN_PREFIX_LEN)
		goto out;
	rc = 0;
out:
	crypto_wipe(raw, sizeof raw);
	return rc;
}

int crypto_token_kind(const char *s, size_t len)
{
	unsigned char raw[CRYPTO_TOKEN_BYTES];
	int kind = -1;

	if (len != CRYPTO_TOKEN_LEN)
		return -1;
	for (int k = 0; k < TOKEN_KIND_COUNT; k++)
		if (memcmp(s, crypto_token_prefixes[k], CRYPTO_TOKEN_PREFIX_LEN) == 0)
			kind = k;
	if (kind >= 0 && base64url_decode(raw, sizeof raw, s + CRYPTO_TOKEN_PREFIX_LEN,
	                                  len - CRYPTO_TOKEN_PREFIX_LEN) != CRYPTO_TOKEN_BYTES)
		kind = -1;
	crypto_wipe(raw, sizeof raw);
	return kind;
}

static EVP_MD *crypto_sha256_md;
static pthread_once_t crypto_sha256_once = PTHREAD_ONCE_INIT;

static void crypto_sha256_free(void)
{
	EVP_MD_free(crypto_sha256_md); /* before OpenSSL's own atexit cleanup, registered earlier */
}

static void crypto_sha256_fetch(void)
{
	crypto_sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (crypto_sha256_md != NULL)
		atexit(crypto_sha256_free);
}

/* OpenSSL 3 looks EVP_sha256() up in its provider store on every use (about 350 ns, a third
 * of a cached decision): the implementation is fetched once instead. */
void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int outlen = CRYPTO_SHA256_LEN;
	const EVP_MD *md;

	pthread_once(&crypto_sha256_once, crypto_sha256_fetch);
	md = crypto_sha256_md != NULL ? crypto_sha256_md : EVP_sha256();
	/* EVP_Digest cannot fail for SHA-256 on valid memory; zero the output if it ever does so
	 * no caller compares against stale bytes. */
	if (EVP_Digest(data, len, out, &outlen, md, NULL) != 1)
		memset(out, 0, CRYPTO_SHA256_LEN);
}

int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                       unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int outlen = CRYPTO_SHA256_LEN;

	if (keylen > (size_t)__INT_MAX__)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) == NULL ||
	    outlen != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int crypto_derive_key(const void *master, size_t len, const char *label,
                      unsigned char out[CRYPTO_SHA256_LEN])
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "postern-key:%s", label);

	if (n < 0 || (size_t)n >= sizeof msg)
		return -1;
	return crypto_hmac_sha256(master, len, msg, (size_t)n, out);
}

int crypto_mac_b64url(const unsigned char key[CRYPTO_SHA256_LEN], const char *msg,
                      char out[CRYPTO_MAC_B64_LEN + 1])
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	int rc = -1;

	if (crypto_hmac_sha256(key, CRYPTO_SHA256_LEN, msg, strlen(msg), mac) == 0 &&
	    base64url_encode(out, CRYPTO_MAC_B64_LEN + 1, mac, sizeof mac) == CRYPTO_MAC_B64_LEN)
		rc = 0;
	crypto_wipe(mac, sizeof mac);
	return rc;
}

void crypto_hex(const void *data, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *in = data;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int crypto_hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int crypto_unhex(const char *in, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = crypto_hex_digit(in[2 * i]),
		    lo = hi < 0 ? -1 : crypto_hex_digit(in[2 * i + 1]);

		if (lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

static bool crypto_bcrypt_hash_ok(const char *hash)
{
	return strlen(hash) == CRYPTO_BCRYPT_HASH_LEN &&
	       (strncmp(hash, "$2a$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0);
}

int crypto_bcrypt_hash(const char *password, int cost, char hash_out[CRYPTO_BCRYPT_HASH_LEN + 1])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rnd[16];
	struct crypt_data *cd = NULL;
	int rc = -1;

	if (strlen(password) > CRYPTO_BCRYPT_MAX_PASSWORD || cost < CRYPTO_BCRYPT_MIN_COST ||
	    cost > 31 || crypto_random(rnd, sizeof rnd) != 0)
		goto out;
	if (crypt_gensalt_rn("$2b$", (unsigned long)cost, (const char *)rnd, sizeof rnd, salt,
	                     sizeof salt) == NULL)
		goto out;
	/* struct crypt_data is ~32 KiB: keep it off the worker threads' stacks. */
	cd = OPENSSL_zalloc(sizeof *cd);
	if (cd == NULL || crypt_rn(password, salt, cd, sizeof *cd) == NULL ||
	    !crypto_bcrypt_hash_ok(cd->output))
		goto out;
	memcpy(hash_out, cd->output, CRYPTO_BCRYPT_HASH_LEN + 1);
	rc = 0;
out:
	crypto_wipe(rnd, sizeof rnd);
	if (cd != NULL)
		OPENSSL_clear_free(cd, sizeof *cd);
	return rc;
}

bool crypto_bcrypt_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	bool ok = false;

	if (strlen(password) > CRYPTO_BCRYPT_MAX_PASSWORD || !crypto_bcrypt_hash_ok(hash))
		return false;
	cd = OPENSSL_zalloc(sizeof *cd);
	if (cd == NULL)
		return false;
	if (crypt_rn(password, hash, cd, sizeof *cd) != NULL && crypto_bcrypt_hash_ok(cd->output))
		ok = crypto_equal(cd->output, hash, CRYPTO_BCRYPT_HASH_LEN);
	OPENSSL_clear_free(cd, sizeof *cd);
	return ok;
}
