/* redirect: validating where a browser may be sent after login (return_to). */
#include "redirect.h"

#include "words.h"

#include <string.h>
#include <strings.h>

static bool redirect_bytes_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '\\')
			return false;
		if (*p == '%') {
			/* %2F %5C and encoded controls/space: the browser may decode them into a host */
			if (p[1] == '\0' || p[2] == '\0')
				return false;
			if ((p[1] == '2' && (p[2] == 'f' || p[2] == 'F')) ||
			    (p[1] == '5' && (p[2] == 'c' || p[2] == 'C')) || p[1] == '0' ||
			    p[1] == '1' || (p[1] == '2' && p[2] == '0') ||
			    (p[1] == '7' && (p[2] == 'f' || p[2] == 'F')))
				return false;
		}
	}
	return true;
}

static bool redirect_origin_listed(const char *origin, size_t len, const char *origins)
{
	return words_has(origins, origin, len, true);
}

bool redirect_target_ok(const char *target, const char *origins)
{
	size_t n = strlen(target);
	const char *rest;
	size_t origin_len;

	if (n == 0 || n > REDIRECT_MAX || !redirect_bytes_ok(target))
		return false;
	if (target[0] == '/')
		return target[1] != '/'; /* "//host" is another site */
	if (strncasecmp(target, "https://", 8) == 0)
		rest = target + 8;
	else if (strncasecmp(target, "http://", 7) == 0)
		rest = target + 7;
	else
		return false;
	origin_len = (size_t)(rest - target) + strcspn(rest, "/?#");
	/* user info ("https://app@evil") would make the host something else than it looks */
	if (memchr(rest, '@', origin_len - (size_t)(rest - target)) != NULL)
		return false;
	return redirect_origin_listed(target, origin_len, origins);
}
