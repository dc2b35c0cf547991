/* totp: RFC 6238 time-based one-time passwords (SHA-1, 6 digits, 30 s) and RFC 4648 base32. */
#include "totp.h"

#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int totp_code(const unsigned char *secret, size_t len, long long step, char out[TOTP_DIGITS + 1])
{
	unsigned char msg[8], mac[20];
	unsigned int maclen = sizeof mac;
	unsigned long bin;
	int off;

	if (step < 0 || len > 64)
		return -1;
	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(step & 0xff);
		step >>= 8;
	}
	if (HMAC(EVP_sha1(), secret, (int)len, msg, sizeof msg, mac, &maclen) == NULL ||
	    maclen != sizeof mac)
		return -1;
	off = mac[19] & 0x0f; /* RFC 4226 dynamic truncation */
	bin = ((unsigned long)(mac[off] & 0x7f) << 24) | ((unsigned long)mac[off + 1] << 16) |
	      ((unsigned long)mac[off + 2] << 8) | mac[off + 3];
	snprintf(out, TOTP_DIGITS + 1, "%06lu", bin % 1000000);
	crypto_wipe(mac, sizeof mac);
	return 0;
}

long long totp_verify(const unsigned char *secret, size_t len, const char *code, long long now)
{
	long long base = now / TOTP_STEP, found = -1;
	char want[TOTP_DIGITS + 1];

	if (strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS)
		return -1;
	for (long long step = base - 1; step <= base + 1; step++) {
		if (totp_code(secret, len, step, want) == 0 &&
		    crypto_equal(want, code, TOTP_DIGITS))
			found = step; /* the latest matching step, so replays of it are caught */
	}
	crypto_wipe(want, sizeof want);
	return found;
}

int totp_base32(const unsigned char *src, size_t n, char *out, size_t outlen)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t need = (n * 8 + 4) / 5, o = 0;
	unsigned int acc = 0;
	int bits = 0;

	if (outlen < need + 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | src[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}
