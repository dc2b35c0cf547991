/* unlock: the cookie that opens a password-protected shared link in one browser. */
#include "unlock.h"

#include "cookie.h"
#include "crypto.h"

#include <stdio.h>
#include <string.h>

void unlock_cookie_name(const char *link_id, bool secure, char out[UNLOCK_NAME_MAX])
{
	size_t o =
	    (size_t)snprintf(out, UNLOCK_NAME_MAX, "%spostern_link_", secure ? "__Host-" : "");

	for (const char *p = link_id; *p && o + 1 < UNLOCK_NAME_MAX; p++)
		if (*p != '-')
			out[o++] = *p;
	out[o] = '\0';
}

int unlock_token(const unsigned char key[32], const char *link_id, const char *version,
                 char out[UNLOCK_TOKEN_LEN + 1])
{
	char msg[256];
	int n = snprintf(msg, sizeof msg, "postern-link:%s:%s", link_id, version);

	if (n < 0 || (size_t)n >= sizeof msg)
		return -1;
	return crypto_mac_b64url(key, msg, out);
}

bool unlock_cookie_ok(const unsigned char key[32], const char *cookie_header, const char *link_id,
                      const char *version, bool secure)
{
	char name[UNLOCK_NAME_MAX], want[UNLOCK_TOKEN_LEN + 1];
	const char *v = NULL;
	size_t len = 0;
	bool ok;

	unlock_cookie_name(link_id, secure, name);
	if (cookie_find(cookie_header, name, &v, &len) != 1 || len != UNLOCK_TOKEN_LEN ||
	    unlock_token(key, link_id, version, want) != 0)
		return false;
	ok = crypto_equal(v, want, UNLOCK_TOKEN_LEN);
	crypto_wipe(want, sizeof want);
	return ok;
}
