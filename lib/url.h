/* url: which URLs Postern may fetch (configuration and discovery documents), checked without
 * libcurl so that the authorizer, which never fetches, does not link it. */
#ifndef POSTERN_URL_H
#define POSTERN_URL_H

#include <stdbool.h>

#define URL_MAX 2048

/*
 * Whether url may be fetched: https://, or http:// to a loopback address (127.0.0.0/8 in
 * dotted decimal, [::1], localhost); a host of letters, digits, '-', '.' and '_', or an IPv6
 * literal; an optional port 1-65535; then path and query in RFC 3986 characters (no user
 * info, no fragment, nothing outside printable ASCII), at most URL_MAX bytes.
 *
 * It is stricter than libcurl's parser, which the responder's fetches check again
 * (http_url_ok): every URL accepted here is accepted there (tests/fuzz/fuzz_url.c).
 */
bool url_ok(const char *url);

#endif
