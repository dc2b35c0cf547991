/* site: what both programs derive from the configuration at start: purpose-bound keys, cookie
 * names, and database handles. */
#include "site.h"

#include <stdio.h>
#include <string.h>

int site_init(struct site *s, const struct config *cfg)
{
	const struct config_secret *k = &cfg->server_key_file;
	const char *prefix = cfg->cookie_secure ? "__Host-" : "";

	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	snprintf(s->session_cookie, sizeof s->session_cookie, "%s%s", prefix, cfg->cookie_name);
	snprintf(s->csrf_cookie, sizeof s->csrf_cookie, "%s%s_csrf", prefix, cfg->cookie_name);
	if (crypto_derive_key(k->data, k->len, "csrf", s->csrf_key) != 0 ||
	    crypto_derive_key(k->data, k->len, "jwt", s->jwt_key) != 0 ||
	    crypto_derive_key(k->data, k->len, "link", s->link_key) != 0 ||
	    crypto_derive_key(k->data, k->len, "totp", s->totp_key) != 0) {
		site_wipe(s);
		return -1;
	}
	return 0;
}

void site_wipe(struct site *s)
{
	crypto_wipe(s->csrf_key, sizeof s->csrf_key);
	crypto_wipe(s->jwt_key, sizeof s->jwt_key);
	crypto_wipe(s->link_key, sizeof s->link_key);
	crypto_wipe(s->totp_key, sizeof s->totp_key);
}

struct db *site_db_new(const struct site *s, const char *program, const char *what, int index)
{
	const struct config *cfg = s->cfg;
	char name[64];

	if (index >= 0)
		snprintf(name, sizeof name, "%s/%d", program, index);
	else
		snprintf(name, sizeof name, "%s/%s", program, what);
	return db_new(&(struct db_opts){
	    .conninfo = cfg->database,
	    .connect_timeout_ms = cfg->db_connect_timeout,
	    .statement_timeout_ms = cfg->db_statement_timeout,
	    .retry_interval_ms = cfg->db_retry_interval,
	    .application_name = name,
	});
}
