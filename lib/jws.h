/* jws: verifying a provider's signed JWTs (compact JWS: RS*, PS*, ES256, ES384) with OpenSSL. */
#ifndef POSTERN_JWS_H
#define POSTERN_JWS_H

#include "jwk.h"

#include <jansson.h>
#include <stddef.h>

#define JWS_TOKEN_MAX (16 * 1024)

enum jws_status {
	JWS_OK = 0,
	JWS_MALFORMED = -1, /* not three canonical base64url parts of JSON objects, or crit */
	JWS_ALG = -2,       /* alg missing, "none", or not in the allowed list */
	JWS_TYP = -3,       /* a typ this kind of token must not have */
	JWS_NO_KEY = -4,    /* no key for the kid (or, without kid, not exactly one candidate) */
	JWS_BAD_SIG = -5,
};

/* The algorithms this module can verify, space separated. */
#define JWS_ALGS_SUPPORTED "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384"

/*
 * Verifies token against keys. The algorithm is pinned before any key is touched: it must be
 * one of the space-separated `allowed` (never "none"); the key must be of its type, and carry
 * no other alg. With a kid, only the key of that kid is tried; without one, the only key of
 * the type (several: JWS_NO_KEY — the caller may refetch the set once). typ, when present in
 * the header, must be one of the space-separated `typs` (compared case-insensitively, an
 * "application/" prefix ignored). On JWS_OK *claims is the payload object (caller decrefs).
 */
enum jws_status jws_verify(const char *token, size_t len, const struct jwks *keys,
                           const char *allowed, const char *typs, json_t **claims);

/* A short English description of a status, for logs and error messages. */
const char *jws_status_text(enum jws_status st);

/* Whether every name of the space-separated list is one jws_verify supports. */
int jws_algs_check(const char *value, char *err, size_t errlen);

#endif
