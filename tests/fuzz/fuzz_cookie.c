/* fuzz_cookie: cookie_find on arbitrary headers; a found value lies within the header and is
 * all cookie-octets. */
#include "cookie.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_COOKIE_NAME_MAX 64

static const char *const fuzz_cookie_names[] = { "a", "b", "x", "__Host-x", "postern" };

static void fuzz_cookie_one(const char *h, size_t hlen, const char *name)
{
	const char *v = NULL;
	size_t len = 0;
	int rc = cookie_find(h, name, &v, &len);

	if (rc < -1 || rc > 1 || (hlen > COOKIE_HEADER_MAX && rc != -1))
		abort();
	if (rc != 1)
		return;
	if (v < h || v + len > h + hlen)
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1), name[FUZZ_COOKIE_NAME_MAX + 1];
	size_t hlen, s = 0, e;

	if (h == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	hlen = strlen(h);
	for (size_t i = 0; i < sizeof fuzz_cookie_names / sizeof fuzz_cookie_names[0]; i++)
		fuzz_cookie_one(h, hlen, fuzz_cookie_names[i]);
	/* and the name of the first pair, so that matching is exercised on any input */
	while (s < hlen && (h[s] == ' ' || h[s] == '\t'))
		s++;
	for (e = s; e < hlen && e - s < FUZZ_COOKIE_NAME_MAX && h[e] != '=' && h[e] != ';'; e++)
		;
	while (e > s && (h[e - 1] == ' ' || h[e - 1] == '\t'))
		e--;
	memcpy(name, h + s, e - s);
	name[e - s] = '\0';
	fuzz_cookie_one(h, hlen, name);
	free(h);
	return 0;
}
