/* utf8: strict validation of UTF-8 byte strings (RFC 3629, Unicode table 3-7). */
#ifndef POSTERN_UTF8_H
#define POSTERN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if the len bytes of s are well-formed UTF-8: no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated or stray continuation bytes.
 * U+0000 is valid UTF-8 (callers refuse NUL themselves). s may be NULL when len is 0. */
bool utf8_valid(const char *s, size_t len);

#endif
