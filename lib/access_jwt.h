/* access_jwt: verifying Postern's own access tokens (compact JWS, HS256 only) with libjwt. */
#ifndef POSTERN_ACCESS_JWT_H
#define POSTERN_ACCESS_JWT_H

#include <stddef.h>

#define ACCESS_JWT_MAX 4096
#define ACCESS_JWT_SKEW 30 /* seconds of leeway for iat and nbf */

struct access_jwt {
	char sub[37]; /* user id */
	char sid[37]; /* session id */
	char jti[65];
	long long iat, exp;
};

/* Verifies token as an access JWT: the header must be exactly HS256 (typ JWT or absent), the
 * signature valid under key, and libjwt's decoded algorithm HS256 again (pinned after
 * decode); then our code checks typ "access", iss, aud, exp > now, iat and nbf not in the
 * future (with ACCESS_JWT_SKEW), and that sub, sid and jti are present. libjwt 1.10 checks no
 * claim itself. Returns 0 and fills *out, or -1. */
int access_jwt_verify(const unsigned char key[32], const char *token, size_t len,
                      const char *issuer, const char *audience, long long now,
                      struct access_jwt *out);

/* Signs an access JWT for that user and session, valid for ttl seconds from now, with a random
 * jti. Returns a string the caller frees with free(), or NULL. */
char *access_jwt_sign(const unsigned char key[32], const char *user_id, const char *session_id,
                      const char *issuer, const char *audience, long long now, long ttl);

#endif
