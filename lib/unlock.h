/* unlock: the cookie that opens a password-protected shared link in one browser. */
#ifndef POSTERN_UNLOCK_H
#define POSTERN_UNLOCK_H

#include <stdbool.h>
#include <stddef.h>

#define UNLOCK_TOKEN_LEN 43
#define UNLOCK_NAME_MAX 64

/* The cookie's name for a link: "postern_link_" + the link id's 32 hex digits (with the
 * __Host- prefix when secure), so a browser can hold several unlocked links at once. */
void unlock_cookie_name(const char *link_id, bool secure, char out[UNLOCK_NAME_MAX]);

/* Its value: base64url(HMAC-SHA256(link key, "postern-link:" id ":" password version)); a new
 * password gives a new version, so every earlier unlock stops working. */
int unlock_token(const unsigned char key[32], const char *link_id, const char *version,
                 char out[UNLOCK_TOKEN_LEN + 1]);

/* Whether the Cookie header holds exactly one valid unlock cookie for this link and version. */
bool unlock_cookie_ok(const unsigned char key[32], const char *cookie_header, const char *link_id,
                      const char *version, bool secure);

#endif
