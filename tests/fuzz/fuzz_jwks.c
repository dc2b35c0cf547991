/* fuzz_jwks: JWKS parsing on arbitrary bytes; an accepted set holds only usable public keys. */
#include "fuzz.h"
#include "jwk.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwks *keys = NULL;
	char err[256];

	if (jwks_parse((const char *)data, size, &keys, err, sizeof err) != 0) {
		if (keys != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	if (keys->refs != 1 || keys->n == 0 || keys->n > JWKS_MAX_KEYS)
		abort();
	for (size_t i = 0; i < keys->n; i++) {
		const struct jwk *k = &keys->keys[i];
		int bits = k->pkey ? EVP_PKEY_get_bits(k->pkey) : 0;
		/* RSA keys of fewer than 2048 bits are skipped, never kept */
		if (k->pkey == NULL ||
		    EVP_PKEY_is_a(k->pkey, k->type == JWK_RSA ? "RSA" : "EC") != 1 ||
		    (k->type == JWK_RSA && bits < 2048) ||
		    (k->type == JWK_EC_P256 && bits != 256) ||
		    (k->type == JWK_EC_P384 && bits != 384))
			abort();
	}
	jwks_unref(jwks_ref(keys));
	jwks_unref(keys);
	return 0;
}
