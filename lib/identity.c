/* identity: who a verified credential speaks for, as both programs pass it around. */
#include "identity.h"

#include <string.h>

const char *identity_kind_name(enum auth_kind kind)
{
	static const char *const names[] = {
		[AUTH_NONE] = "none",
		[AUTH_SESSION] = "session",
		[AUTH_JWT] = "jwt",
		[AUTH_API_KEY] = "api_key",
		[AUTH_SHARED_LINK] = "shared_link",
		[AUTH_TOKEN] = "token",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "none";
}

static bool identity_list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, " ");
		if (l == wl && memcmp(p, word, l) == 0)
			return true;
		p += l;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool identity_has_permission(const struct identity *id, const char *perm)
{
	return identity_list_has(id->permissions, "all") ||
	       identity_list_has(id->permissions, perm);
}
