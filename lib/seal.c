/* seal: authenticated encryption (AES-256-GCM) of small secrets kept in the database. */
#include "seal.h"

#include "crypto.h"

#include <openssl/evp.h>
#include <string.h>

static int seal_run(int enc, const unsigned char key[32], const char *context,
                    const unsigned char *nonce, const unsigned char *in, size_t n,
                    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, rc = -1;

	if (ctx == NULL || n > 4096)
		goto out;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &len, (const unsigned char *)context,
	                     (int)strlen(context)) != 1 ||
	    EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &len) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int seal(const unsigned char key[32], const char *context, const unsigned char *in, size_t n,
         unsigned char *out)
{
	if (crypto_random(out, 12) != 0)
		return -1;
	return seal_run(1, key, context, out, in, n, out + 12, out + 12 + n);
}

int seal_open(const unsigned char key[32], const char *context, const unsigned char *in, size_t len,
              unsigned char *out)
{
	unsigned char tag[16];
	size_t n;

	if (len < SEAL_OVERHEAD)
		return -1;
	n = len - SEAL_OVERHEAD;
	memcpy(tag, in + 12 + n, 16);
	if (seal_run(0, key, context, in, in + 12, n, out, tag) != 0) {
		crypto_wipe(out, n);
		return -1;
	}
	return 0;
}
