/* site: what both programs derive from the configuration at start: purpose-bound keys, cookie
 * names, and database handles. */
#ifndef POSTERN_SITE_H
#define POSTERN_SITE_H

#include "config.h"
#include "crypto.h"
#include "db.h"

struct site {
	const struct config *cfg;
	unsigned char csrf_key[CRYPTO_SHA256_LEN]; /* CSRF tokens */
	unsigned char jwt_key[CRYPTO_SHA256_LEN];  /* access JWTs */
	unsigned char link_key[CRYPTO_SHA256_LEN]; /* shared-link unlock cookies */
	unsigned char totp_key[CRYPTO_SHA256_LEN]; /* sealing TOTP secrets at rest */
	char
	    session_cookie[96]; /* "__Host-postern_session", or "postern_session" when not secure */
	char csrf_cookie[96];
};

/* Derives the keys from server_key_file (never used directly) and the cookie names. */
int site_init(struct site *s, const struct config *cfg);
/* Wipes the keys. */
void site_wipe(struct site *s);

/* A database handle with the configured timeouts; application_name "<program>/<index>" (or
 * "<program>/<what>" when index < 0). NULL on allocation failure; free with db_close. */
struct db *site_db_new(const struct site *s, const char *program, const char *what, int index);

#endif
