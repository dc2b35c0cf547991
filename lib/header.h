/* header: Authorization and other request-header values. */
#ifndef POSTERN_HEADER_H
#define POSTERN_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* Longest header value (strlen) that header_bearer looks at; a longer one is refused. */
#define HEADER_VALUE_MAX 8192

/* Parses an Authorization header value (NUL-terminated) as RFC 6750 "Bearer <token68>".
 * Returns 0 if value is NULL or empty (no credential); 1 with *token (a pointer into value,
 * running to its end) and *len for "Bearer" (any case) + exactly one SP + token68, where
 * token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="; -1 for anything
 * else: another scheme (Basic, Token, Bearerx), a missing or empty token, a comma (several
 * credentials), leading or trailing white space, a tab, two spaces, '=' other than at the end,
 * or a value longer than HEADER_VALUE_MAX. Writes *token and *len only when returning 1. */
int header_bearer(const char *value, const char **token, size_t *len);

/* True if the len bytes of s hold no byte below 0x20 and no 0x7F (so CR, LF, NUL and TAB are
 * all refused): checked before identity goes into a Variable-* header. Bytes >= 0x80 pass.
 * s may be NULL when len is 0. */
bool header_value_safe(const char *s, size_t len);

#endif
