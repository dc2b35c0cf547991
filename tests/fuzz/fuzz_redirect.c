/* fuzz_redirect: return_to validation never accepts a target that starts another site. */
#include "fuzz.h"
#include "redirect.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (redirect_target_ok(s, "https://spa.example") &&
	    (strncmp(s, "//", 2) == 0 || strchr(s, '\\') != NULL ||
	     (s[0] != '/' && strncasecmp(s, "https://spa.example", 19) != 0)))
		abort();
	free(s);
	return 0;
}
