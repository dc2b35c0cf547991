/* fuzz_credential: credential precedence over arbitrary header values and query strings. */
#include "credential.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

/* The input is split at NUL bytes into Authorization, X-Api-Key, Cookie, share key, query. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *part[5] = { NULL };
	struct credential c;
	size_t n = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	part[0] = buf;
	for (size_t i = 0; i < size && n < 4; i++)
		if (buf[i] == '\0')
			part[++n] = buf + i + 1;
	credential_extract(
	    &(struct credential_request){
	        .authorization = part[0][0] ? part[0] : NULL,
	        .api_key = part[1],
	        .cookie = part[2],
	        .share_key = part[3],
	        .query = part[4],
	        .query_len = part[4] ? strlen(part[4]) : 0,
	        .session_cookie = "postern_session",
	        .shared_links = size % 2 == 0,
	        .tokens = size % 3 == 0,
	    },
	    &c);
	/* a taken token is always well-formed and of the kind its source allows */
	if (c.source != CRED_NONE && !c.malformed && c.jwt == NULL &&
	    crypto_token_kind(c.value, strlen(c.value)) != c.token_kind)
		abort();
	free(buf);
	return 0;
}
