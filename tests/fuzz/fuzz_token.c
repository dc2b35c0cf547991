/* fuzz_token: token classification on arbitrary bytes (the first parse of every credential). */
#include "crypto.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	crypto_token_kind((const char *)data, size);
	return 0;
}
