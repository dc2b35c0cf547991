/* site: what both programs derive from the configuration at start: purpose-bound keys, cookie
 * names, and database handles. */
#ifndef POSTERN_SITE_H
#define POSTERN_SITE_H

#include "config.h"
#include "crypto.h"
#include "db.h"

#include <stdbool.h>

/* The purpose-bound keys derived from one server key. */
struct site_keys {
	unsigned char csrf[CRYPTO_SHA256_LEN]; /* CSRF tokens */
	unsigned char jwt[CRYPTO_SHA256_LEN];  /* access JWTs */
	unsigned char link[CRYPTO_SHA256_LEN]; /* shared-link unlock cookies */
	unsigned char totp[CRYPTO_SHA256_LEN]; /* sealing TOTP secrets at rest */
};

struct site {
	const struct config *cfg;
	struct site_keys cur;  /* makes and checks everything */
	struct site_keys prev; /* during a rotation: still checked until prev_until */
	long long prev_until;  /* unix seconds; 0: no previous key */
	char
	    session_cookie[96]; /* "__Host-postern_session", or "postern_session" when not secure */
	char csrf_cookie[96];
};

/* The keys to try when checking something at now: 0 the current ones, 1 the previous ones
 * while they are still accepted; NULL past the last. */
const struct site_keys *site_keys(const struct site *s, int i, long long now);

/* Derives the keys from server_key_file (and previous_server_key_file; neither is ever used
 * directly) and the cookie names. */
int site_init(struct site *s, const struct config *cfg);
/* Checks with the current key, then the previous one while it is accepted. */
bool site_csrf_matches(const struct site *s, const char *session_id, const char *value,
                       long long now);
bool site_unlock_ok(const struct site *s, const char *cookie_header, const char *link_id,
                    const char *version, long long now);

/* Wipes the keys. */
void site_wipe(struct site *s);

/* A database handle with the configured timeouts; application_name "<program>/<index>" (or
 * "<program>/<what>" when index < 0). NULL on allocation failure; free with db_close. */
struct db *site_db_new(const struct site *s, const char *program, const char *what, int index);

#endif
