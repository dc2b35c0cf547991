/* csrf: the session-bound CSRF token and the cross-site check of unsafe cookie requests. */
#ifndef POSTERN_CSRF_H
#define POSTERN_CSRF_H

#include <stdbool.h>
#include <stddef.h>

#define CSRF_TOKEN_LEN 43 /* base64url of an HMAC-SHA256 */

/* The CSRF token of a session: base64url(HMAC-SHA256(csrf key, "postern-csrf:" session id)).
 * The responder sets it as the CSRF cookie; the authorizer recomputes it, so a cookie planted
 * by another site or subdomain is worthless without the session. */
int csrf_token(const unsigned char key[32], const char *session_id, char out[CSRF_TOKEN_LEN + 1]);

/* Whether a header value equals the session's token (constant time). */
bool csrf_token_matches(const unsigned char key[32], const char *session_id, const char *value);

/* The cross-site check: Sec-Fetch-Site if the browser sent it, else Origin, else allowed
 * (non-browser clients send neither; SameSite cookies cover old browsers).
 *   own_origin: "https://host[:port]" of this request; origins: space-separated extra origins. */
bool csrf_same_site_ok(const char *sec_fetch_site, const char *origin, const char *own_origin,
                       const char *origins);

#endif
