/* path: normalising the request path from REQUEST_URI the way the web server serves it. */
#ifndef POSTERN_PATH_H
#define POSTERN_PATH_H

#include <stddef.h>

/* Longest REQUEST_URI (raw path and query together) that is accepted. */
#define PATH_LEN_MAX 4096

enum path_error {
	PATH_OK = 0,
	PATH_EMPTY = -1,
	PATH_NOT_ABSOLUTE = -2,
	PATH_TOO_LONG = -3,
	PATH_BAD_PERCENT = -4,
	PATH_ENCODED_SLASH = -5,
	PATH_NUL = -6,
	PATH_BACKSLASH = -7,
	PATH_BAD_UTF8 = -8,
	PATH_CONTROL = -9,
	PATH_FRAGMENT = -10
};

/* Splits uri (REQUEST_URI exactly as received, len bytes, need not be NUL-terminated) at the
 * first '?' and normalises the path part into out (outlen bytes, NUL-terminated):
 *  - percent-decoded exactly once (%252e becomes the literal "%2e", not a dot);
 *  - then dot segments removed as RFC 3986 §5.2.4 does, decoded dots counting as dots; ".."
 *    above the root stays at the root (/../admin is /admin);
 *  - runs of '/' collapsed to one before that (empty segments are ignored, as the file system
 *    does: /a//../b is /b);
 *  - a trailing '/' kept, and a final "." or ".." segment leaves one (/a/. is /a/);
 *  - case and trailing dots kept.
 * Refuses with: PATH_EMPTY (len 0 or uri NULL); PATH_NOT_ABSOLUTE (not starting with '/':
 * "*", "http://...", "?x"); PATH_TOO_LONG (len above PATH_LEN_MAX, query included, or the
 * result with its NUL does not fit outlen); PATH_BAD_PERCENT ('%' without two hex digits);
 * PATH_ENCODED_SLASH (%2F); PATH_BACKSLASH (raw '\' or %5C); PATH_NUL (raw or %00);
 * PATH_CONTROL (raw or decoded byte < 0x20 or 0x7F); PATH_BAD_UTF8 (decoded path not strict
 * UTF-8); PATH_FRAGMENT (a raw '#' anywhere in uri, query included: clients never send one).
 * Within the path the first error from the left wins; UTF-8 is checked once the whole path is
 * decoded, and a '#' in the query after that.
 * On success returns PATH_OK and sets *query to the text after the first '?' (a pointer into
 * uri, not decoded, not NUL-terminated; "" for a bare '?') or NULL when there is no '?', and
 * *query_len to its length (0 for NULL). Nothing is written on error. */
int path_normalize(const char *uri, size_t len, char *out, size_t outlen, const char **query,
                   size_t *query_len);

/* Short English text for a path_error ("encoded slash in path"); a static string, never NULL
 * (an unknown code gives "invalid path"). */
const char *path_error_message(int err);

#endif
