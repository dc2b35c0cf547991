/* fuzz_base64url: strict decoding never overflows, and decode(encode(x)) == x. */
#include "base64url.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* room for decoding the input (at most 3/4 of it) and for the round trip (all of it) */
	unsigned char *dec = malloc(size + 1);
	char *enc = malloc(BASE64URL_ENCODED_LEN(size) + 1);
	long n;

	if (dec == NULL || enc == NULL)
		goto out;
	base64url_decode(dec, BASE64URL_DECODED_MAX(size), (const char *)data, size);
	n = base64url_encode(enc, BASE64URL_ENCODED_LEN(size) + 1, data, size);
	if (n != (long)BASE64URL_ENCODED_LEN(size) ||
	    base64url_decode(dec, size, enc, (size_t)n) != (long)size ||
	    (size > 0 && memcmp(dec, data, size) != 0))
		abort();
out:
	free(dec);
	free(enc);
	return 0;
}
