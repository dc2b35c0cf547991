/* seal: authenticated encryption (AES-256-GCM) of small secrets kept in the database. */
#ifndef POSTERN_SEAL_H
#define POSTERN_SEAL_H

#include <stddef.h>

#define SEAL_OVERHEAD (12 + 16) /* nonce + tag */

/* Seals n bytes under key, bound to context (e.g. the user id, so a sealed value copied to
 * another row does not open): out receives nonce || ciphertext || tag, n + SEAL_OVERHEAD
 * bytes. Returns 0 or -1. */
int seal(const unsigned char key[32], const char *context, const unsigned char *in, size_t n,
         unsigned char *out);
/* Opens what seal wrote (len bytes) into out (len - SEAL_OVERHEAD bytes); -1 if it was
 * changed, sealed under another key or context, or is too short. */
int seal_open(const unsigned char key[32], const char *context, const unsigned char *in, size_t len,
              unsigned char *out);

#endif
