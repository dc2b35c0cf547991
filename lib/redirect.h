/* redirect: validating where a browser may be sent after login (return_to). */
#ifndef POSTERN_REDIRECT_H
#define POSTERN_REDIRECT_H

#include <stdbool.h>

#define REDIRECT_MAX 2048

/*
 * Whether target is safe to put into a Location header: a path on this site ("/app?x=1") or
 * an absolute http(s) URL whose origin (scheme://host[:port]) is one of the space-separated
 * origins. Refuses everything a browser could read as another site: "//host", "/\host",
 * backslashes anywhere, white space and control characters (browsers strip tabs and newlines,
 * turning "/\t/evil" into "//evil"), encoded slashes or backslashes or controls ("%2F", "%5C",
 * "%09"), other schemes ("javascript:", "data:"), user info, and anything over REDIRECT_MAX.
 */
bool redirect_target_ok(const char *target, const char *origins);

#endif
