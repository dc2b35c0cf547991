/* fuzz_url: url_ok on arbitrary bytes reads nothing past the string, and everything it accepts
 * libcurl's parser (http_url_ok, the responder's check before each fetch) accepts too. */
#include "fuzz.h"
#include "http.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1); /* exact size: ASan sees any read past the NUL */

	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	if (url_ok(url) && !http_url_ok(url))
		abort();
	free(url);
	return 0;
}
