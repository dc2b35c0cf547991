/* fuzz_header: header_bearer on arbitrary values (a token is the whole rest of "Bearer " and
 * all token68) and header_value_safe against a plain byte loop. */
#include "fuzz.h"
#include "header.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = malloc(size + 1);
	const char *tok = NULL;
	size_t len = 0, vlen;
	bool safe = true;
	int rc;

	if (v == NULL)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	vlen = strlen(v);
	rc = header_bearer(v, &tok, &len);
	if (rc < -1 || rc > 1 || (vlen == 0) != (rc == 0) || (vlen > HEADER_VALUE_MAX && rc != -1))
		abort();
	if (rc == 1) {
		size_t eq = len;
		if (tok != v + 7 || len != vlen - 7 || strncasecmp(v, "bearer ", 7) != 0)
			abort();
		while (eq > 0 && tok[eq - 1] == '=')
			eq--;
		if (eq == 0 || strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		                           "0123456789-._~+/") != eq)
			abort();
	}
	for (size_t i = 0; i < size; i++)
		if (data[i] < 0x20 || data[i] == 0x7f)
			safe = false;
	if (header_value_safe((const char *)data, size) != safe)
		abort();
	free(v);
	return 0;
}
