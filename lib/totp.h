/* totp: RFC 6238 time-based one-time passwords (SHA-1, 6 digits, 30 s) and RFC 4648 base32. */
#ifndef POSTERN_TOTP_H
#define POSTERN_TOTP_H

#include <stddef.h>

#define TOTP_SECRET_LEN 20 /* 160 bits, as RFC 4226 recommends */
#define TOTP_STEP 30
#define TOTP_DIGITS 6

/* The code for a time step (RFC 4226 HOTP over the step counter), written as 6 digits. */
int totp_code(const unsigned char *secret, size_t len, long long step, char out[TOTP_DIGITS + 1]);

/* Checks a 6-digit code against the steps around now (now/30 - 1 .. + 1). Returns the matching
 * step (>= 0), or -1. Every candidate is computed and compared in constant time. */
long long totp_verify(const unsigned char *secret, size_t len, const char *code, long long now);

/* Base32 without padding (what authenticator apps take): out needs ceil(n * 8 / 5) + 1 bytes. */
int totp_base32(const unsigned char *src, size_t n, char *out, size_t outlen);

#endif
