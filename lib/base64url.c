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

static int b64u_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
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
