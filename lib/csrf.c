/* csrf: the session-bound CSRF token and the cross-site check of unsafe cookie requests. */
#include "csrf.h"

#include "crypto.h"
#include "words.h"

#include <stdio.h>
#include <string.h>

int csrf_token(const unsigned char key[32], const char *session_id, char out[CSRF_TOKEN_LEN + 1])
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "postern-csrf:%s", session_id);

	if (n < 0 || (size_t)n >= sizeof msg)
		return -1;
	return crypto_mac_b64url(key, msg, out);
}

bool csrf_token_matches(const unsigned char key[32], const char *session_id, const char *value)
{
	char want[CSRF_TOKEN_LEN + 1];
	bool ok;

	if (value == NULL || strlen(value) != CSRF_TOKEN_LEN ||
	    csrf_token(key, session_id, want) != 0)
		return false;
	ok = crypto_equal(want, value, CSRF_TOKEN_LEN);
	crypto_wipe(want, sizeof want);
	return ok;
}

static bool csrf_origin_listed(const char *origin, const char *origins)
{
	return words_has(origins, origin, strlen(origin), false);
}

bool csrf_same_site_ok(const char *sec_fetch_site, const char *origin, const char *own_origin,
                       const char *origins)
{
	bool origin_ok = origin != NULL && strcmp(origin, "null") != 0 &&
	                 (strcmp(origin, own_origin) == 0 || csrf_origin_listed(origin, origins));

	if (sec_fetch_site != NULL) {
		if (strcmp(sec_fetch_site, "same-origin") == 0 ||
		    strcmp(sec_fetch_site, "none") == 0)
			return true;
		/* same-site is still another origin (a sibling subdomain): only listed ones pass */
		return origin != NULL && csrf_origin_listed(origin, origins);
	}
	if (origin != NULL)
		return origin_ok;
	return true;
}
