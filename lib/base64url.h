/* base64url: strict RFC 4648 §5 encoding without padding, canonical decoding only. */
#ifndef POSTERN_BASE64URL_H
#define POSTERN_BASE64URL_H

#include <stddef.h>

/* Length of the encoding of n bytes (no padding), not counting a NUL. */
#define BASE64URL_ENCODED_LEN(n) (((n)*4 + 2) / 3)
/* Upper bound of the decoding of n characters. */
#define BASE64URL_DECODED_MAX(n) (((n)*3) / 4)

/* Encodes src into dst, which must hold BASE64URL_ENCODED_LEN(n) + 1 bytes; NUL-terminates.
 * Returns the encoded length, or -1 if dst is too small. */
long base64url_encode(char *dst, size_t dstlen, const void *src, size_t n);

/* Decodes exactly srclen characters of src into dst. Refuses padding, whitespace, characters
 * outside [A-Za-z0-9_-], an impossible length (4k+1) and non-zero trailing bits, so every
 * byte string has exactly one accepted encoding. Returns the decoded length or -1. */
long base64url_decode(void *dst, size_t dstlen, const char *src, size_t srclen);

#endif
