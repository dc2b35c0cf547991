/* base64url: strict RFC 4648 §5 encoding without padding, canonical decoding only. */
#include "base64url.h"

#include <stdint.h>

static const char b64u_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

long base64url_encode(char *dst, size_t dstlen, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t need = BASE64URL_ENCODED_LEN(n);
	size_t o = 0, i = 0;

	if (dstlen < need + 1)
		return -1;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		dst[o++] = b64u_alphabet[v >> 18];
		dst[o++] = b64u_alphabet[(v >> 12) & 63];
		dst[o++] = b64u_alphabet[(v >> 6) & 63];
		dst[o++] = b64u_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;
		dst[o++] = b64u_alphabet[v >> 18];
		dst[o++] = b64u_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		dst[o++] = b64u_alphabet[v >> 18];
		dst[o++] = b64u_alphabet[(v >> 12) & 63];
		dst[o++] = b64u_alphabet[(v >> 6) & 63];
	}
	dst[o] = '\0';
	return (long)o;
}

/* Each byte's value in the alphabet, -1 outside it: one load per character on the hot path
 * (every token is checked as it arrives). */
static const signed char b64u_values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, 62, -1, -1, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1, -1, 0,
	1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
	23, 24, 25, -1, -1, -1, -1, 63, -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38,
	39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64u_value(unsigned char c)
{
	return b64u_values[c];
}

long base64url_decode(void *dst, size_t dstlen, const char *src, size_t srclen)
{
	unsigned char *d = dst;
	size_t rem = srclen % 4;
	size_t out_len = srclen / 4 * 3 + (rem ? rem - 1 : 0);
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	if (rem == 1 || out_len > dstlen)
		return -1;
	for (size_t i = 0; i < srclen; i++) {
		int v = b64u_value((unsigned char)src[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two encodings would decode to the same bytes. */
	if (acc != 0)
		return -1;
	return (long)o;
}
