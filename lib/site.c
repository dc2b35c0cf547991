/* site: what both programs derive from the configuration at start: purpose-bound keys, cookie
 * names, and database handles. */
#include "site.h"

#include "csrf.h"
#include "unlock.h"

#include <stdio.h>
#include <string.h>

static int site_derive(const struct config_secret *k, struct site_keys *out)
{
	return crypto_derive_key(k->data, k->len, "csrf", out->csrf) != 0 ||
	               crypto_derive_key(k->data, k->len, "jwt", out->jwt) != 0 ||
	               crypto_derive_key(k->data, k->len, "link", out->link) != 0 ||
	               crypto_derive_key(k->data, k->len, "totp", out->totp) != 0
	           ? -1
	           : 0;
}

int site_init(struct site *s, const struct config *cfg)
{
	const char *prefix = cfg->cookie_secure ? "__Host-" : "";

	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	snprintf(s->session_cookie, sizeof s->session_cookie, "%s%s", prefix, cfg->cookie_name);
	snprintf(s->csrf_cookie, sizeof s->csrf_cookie, "%s%s_csrf", prefix, cfg->cookie_name);
	if (site_derive(&cfg->server_key_file, &s->cur) != 0)
		goto fail;
	if (cfg->previous_server_key_file.data != NULL) {
		if (site_derive(&cfg->previous_server_key_file, &s->prev) != 0)
			goto fail;
		s->prev_until = config_utc_seconds(cfg->previous_key_until);
	}
	return 0;
fail:
	site_wipe(s);
	return -1;
}

const struct site_keys *site_keys(const struct site *s, int i, long long now)
{
	if (i == 0)
		return &s->cur;
	if (i == 1 && s->prev_until > now)
		return &s->prev;
	return NULL;
}

bool site_csrf_matches(const struct site *s, const char *session_id, const char *value,
                       long long now)
{
	const struct site_keys *k;

	for (int i = 0; (k = site_keys(s, i, now)) != NULL; i++)
		if (csrf_token_matches(k->csrf, session_id, value))
			return true;
	return false;
}

bool site_unlock_ok(const struct site *s, const char *cookie_header, const char *link_id,
                    const char *version, long long now)
{
	const struct site_keys *k;

	for (int i = 0; (k = site_keys(s, i, now)) != NULL; i++)
		if (unlock_cookie_ok(k->link, cookie_header, link_id, version,
		                     s->cfg->cookie_secure))
			return true;
	return false;
}

void site_wipe(struct site *s)
{
	crypto_wipe(&s->cur, sizeof s->cur);
	crypto_wipe(&s->prev, sizeof s->prev);
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
