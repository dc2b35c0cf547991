/* oidc_provider: the identity provider as the responder knows it: the discovery document and
 * the key set, fetched with libcurl, cached per process and refetched when they go stale or a
 * token names an unknown key. */
#include "responder.h"

#include "http.h"
#include "log.h"
#include "oidc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OIDC_META_TTL 3600 /* seconds the discovery document is used before a refetch */
#define OIDC_KEYS_TTL 3600 /* ... and the key set */
#define OIDC_RETRY_GAP 5   /* seconds before a failed discovery fetch is tried again */
#define OIDC_KEYS_MIN_GAP \
	10 /* at most one key refetch this often (an unknown kid is cheap to send) */

struct resp_oidc {
	pthread_mutex_t lock;
	char discovery_url[2048 + 64];
	struct oidc_meta meta;
	long long meta_at;        /* 0: never fetched */
	long long meta_failed_at; /* the last failed fetch, 0 after a good one */
	struct jwks *keys;
	long long keys_at, keys_refreshed_at;
};

static long long oidc_now(void)
{
	return (long long)time(NULL);
}

int resp_oidc_init(struct resp_app *app)
{
	const struct config *cfg = app->cfg;
	struct resp_oidc *o;
	size_t n;

	if (cfg->oidc_issuer[0] == '\0')
		return 0;
	o = calloc(1, sizeof *o);
	if (o == NULL || pthread_mutex_init(&o->lock, NULL) != 0) {
		free(o);
		return -1;
	}
	if (cfg->oidc_discovery_url[0] != '\0') {
		snprintf(o->discovery_url, sizeof o->discovery_url, "%s", cfg->oidc_discovery_url);
	} else {
		n = strlen(cfg->oidc_issuer);
		/* OpenID Connect Discovery §4: the issuer's path, then /.well-known/... */
		snprintf(o->discovery_url, sizeof o->discovery_url,
		         "%.*s/.well-known/openid-configuration",
		         (int)(n > 0 && cfg->oidc_issuer[n - 1] == '/' ? n - 1 : n),
		         cfg->oidc_issuer);
	}
	app->oidc = o;
	return 0;
}

void resp_oidc_fini(struct resp_app *app)
{
	struct resp_oidc *o = app->oidc;

	if (o == NULL)
		return;
	oidc_meta_free(&o->meta);
	jwks_unref(o->keys);
	pthread_mutex_destroy(&o->lock);
	free(o);
	app->oidc = NULL;
}

static struct http_opts oidc_http_opts(const struct config *cfg, size_t max)
{
	return (struct http_opts){ .timeout_ms = cfg->oidc_http_timeout,
		                   .max_body = max,
		                   .ca_file = cfg->oidc_ca_file };
}

/* Fetches a JSON document that must answer 200. Caller frees r. */
static int oidc_fetch(const struct config *cfg, const char *url, size_t max, struct http_resp *r,
                      char *err, size_t errlen)
{
	struct http_opts ho = oidc_http_opts(cfg, max);

	if (http_get(&ho, url, NULL, r, err, errlen) != 0)
		return -1;
	if (r->status != 200) {
		snprintf(err, errlen, "HTTP status %ld", r->status);
		http_resp_free(r);
		return -1;
	}
	return 0;
}

/* With o->lock held: the discovery document, fetched if missing or stale. A failed refetch
 * keeps the document we have (the provider may be briefly down). */
static int oidc_meta_locked(const struct config *cfg, struct resp_oidc *o)
{
	struct http_resp r;
	struct oidc_meta m;
	char err[HTTP_ERR_MAX + 256];
	long long now = oidc_now();

	if (o->meta_at != 0 && now - o->meta_at < OIDC_META_TTL)
		return 0;
	/* a provider that just failed is not asked again at once: every worker would queue
	 * behind the lock for the whole timeout */
	if (o->meta_failed_at != 0 && now - o->meta_failed_at < OIDC_RETRY_GAP)
		return o->meta_at != 0 ? 0 : -1;
	if (oidc_fetch(cfg, o->discovery_url, OIDC_DISCOVERY_MAX, &r, err, sizeof err) == 0) {
		int rc = oidc_meta_parse(r.body, r.len, cfg->oidc_issuer,
		                         cfg->oidc_trust_discovery_issuer, &m, err, sizeof err);
		http_resp_free(&r);
		if (rc == 0) {
			if (strcmp(m.issuer, cfg->oidc_issuer) != 0)
				log_warn(
				    "oidc: trusting the discovery document's issuer %s (configured %s)",
				    m.issuer, cfg->oidc_issuer);
			oidc_meta_free(&o->meta);
			o->meta = m;
			o->meta_at = now;
			o->meta_failed_at = 0;
			return 0;
		}
	}
	log_error("oidc: discovery document %s: %s", o->discovery_url, err);
	o->meta_failed_at = oidc_now(); /* after the timeout, not before it */
	return o->meta_at != 0 ? 0 : -1;
}

int resp_oidc_endpoints(struct resp_app *app, struct resp_oidc_endpoints *e)
{
	struct resp_oidc *o = app->oidc;
	int rc;

	pthread_mutex_lock(&o->lock);
	rc = oidc_meta_locked(app->cfg, o);
	if (rc == 0) {
		snprintf(e->issuer, sizeof e->issuer, "%s", o->meta.issuer);
		snprintf(e->authorize, sizeof e->authorize, "%s", o->meta.authorization_endpoint);
		snprintf(e->token, sizeof e->token, "%s", o->meta.token_endpoint);
		snprintf(e->userinfo, sizeof e->userinfo, "%s",
		         o->meta.userinfo_endpoint ? o->meta.userinfo_endpoint : "");
		snprintf(e->end_session, sizeof e->end_session, "%s",
		         o->meta.end_session_endpoint ? o->meta.end_session_endpoint : "");
		e->iss_parameter = o->meta.iss_parameter;
	}
	pthread_mutex_unlock(&o->lock);
	return rc;
}

struct jwks *resp_oidc_keys(struct resp_app *app, bool refresh)
{
	struct resp_oidc *o = app->oidc;
	const struct config *cfg = app->cfg;
	long long now = oidc_now();
	struct jwks *keys = NULL, *fresh;
	struct http_resp r;
	char err[HTTP_ERR_MAX + 256] = "";

	bool stale;

	pthread_mutex_lock(&o->lock);
	if (oidc_meta_locked(cfg, o) != 0)
		goto out;
	stale = o->keys == NULL || now - o->keys_at >= OIDC_KEYS_TTL;

	/* an unknown kid refetches, but not again within moments of the last such refetch (a
	 * first fetch does not count: the provider may rotate right after it) */
	if (stale || (refresh && now - o->keys_refreshed_at >= OIDC_KEYS_MIN_GAP)) {
		if (!stale)
			o->keys_refreshed_at = now;
		if (oidc_fetch(cfg, o->meta.jwks_uri, JWKS_DOC_MAX, &r, err, sizeof err) == 0) {
			int rc = jwks_parse(r.body, r.len, &fresh, err, sizeof err);
			http_resp_free(&r);
			if (rc == 0) {
				jwks_unref(o->keys);
				o->keys = fresh;
				o->keys_at = now;
				log_info("oidc: %zu signing keys from %s", fresh->n,
				         o->meta.jwks_uri);
			}
		}
		if (err[0] != '\0')
			log_error("oidc: key set %s: %s", o->meta.jwks_uri, err);
	}
	if (o->keys != NULL)
		keys = jwks_ref(o->keys);
out:
	pthread_mutex_unlock(&o->lock);
	return keys;
}
