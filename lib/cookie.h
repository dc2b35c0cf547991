/* cookie: finding one cookie in a Cookie request header. */
#ifndef POSTERN_COOKIE_H
#define POSTERN_COOKIE_H

#include <stddef.h>

/* Longest Cookie header (strlen) that is looked at; a longer one is refused. */
#define COOKIE_HEADER_MAX 8192

/* Looks for the cookie called name in header (a NUL-terminated Cookie header value, as the web
 * server passes it: RFC 6265 §4.2/§5.4 "name=value" pairs separated by ';' and optional spaces
 * or tabs). Names compare exactly (case-sensitive, "__Host-x" is not "x") after spaces and
 * tabs around them are dropped; spaces and tabs around the value are dropped too. ", " is NOT
 * a separator (a server that joined two Cookie headers with ", " hides the second one).
 * Returns 1 if name occurs exactly once, with *value and *len pointing into header at the
 * value, one pair of surrounding double quotes stripped (the value may be empty); 0 if it is
 * absent or header is NULL; -1 if it occurs twice or more (even with the same value), if
 * header is longer than COOKIE_HEADER_MAX, if name is NULL or empty, or if the value holds a
 * byte outside RFC 6265 cookie-octet (space, '"', ',', ';', '\', a control or non-ASCII byte).
 * Malformed pairs of other cookies (no '=', bad bytes) are skipped. Writes *value and *len only
 * when returning 1. */
int cookie_find(const char *header, const char *name, const char **value, size_t *len);

#endif
