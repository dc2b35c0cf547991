/* oidc: sign-in with an OpenID Provider (authorization code + PKCE S256, nonce, state bound
 * to the browser), account linking, RP-initiated and back-channel logout. */
#include "responder.h"

#include "base64url.h"
#include "cookie.h"
#include "http.h"
#include "jws.h"
#include "log.h"
#include "oidc.h"
#include "query.h"
#include "redirect.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OIDC_CODE_MAX 4096
#define OIDC_TOKEN_RESPONSE_MAX (256 * 1024)
#define OIDC_USERINFO_MAX (64 * 1024)
#define OIDC_ID_TYPS "JWT"                /* an ID token may say JWT, or nothing */
#define OIDC_LOGOUT_TYPS "logout+jwt JWT" /* Back-Channel Logout 1.0 §2.4 */

/* ---- answers -------------------------------------------------------------------------- */

static void oidc_fail(struct resp_ctx *c, bool html, int status, const char *code,
                      const char *message)
{
	if (html)
		resp_message_page(c, status, "Sign-in failed", message);
	else
		resp_error(c, status, code, message);
}

/* 404 unless OIDC is configured, 403 while the oidc_login setting is off. */
static bool oidc_available(struct resp_ctx *c, bool html)
{
	bool on = false;
	enum db_status st;

	if (c->t->app->oidc == NULL) {
		oidc_fail(c, html, 404, "OIDC_NOT_CONFIGURED",
		          "sign-in with a provider is not set up");
		return false;
	}
	st = resp_setting_on(c, "oidc_login", &on);
	if (st != DB_OK) {
		resp_db_error(c, st);
		return false;
	}
	if (!on)
		oidc_fail(c, html, 403, "OIDC_DISABLED", "sign-in with a provider is turned off");
	return on;
}

static bool oidc_endpoints(struct resp_ctx *c, bool html, struct resp_oidc_endpoints *e)
{
	if (resp_oidc_endpoints(c->t->app, e) == 0)
		return true;
	oidc_fail(c, html, 502, "OIDC_PROVIDER_UNAVAILABLE",
	          "the identity provider cannot be reached");
	return false;
}

static void oidc_redirect_uri(const struct config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s/oidc/callback", cfg->external_url, cfg->auth_prefix);
}

/* The cookie that binds a login in progress to the browser that started it. */
static void oidc_cookie_name(const struct config *cfg, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s_oidc", cfg->cookie_secure ? "__Host-" : "", cfg->cookie_name);
}

/* The browser's binding secret: the one its cookie holds (several tabs may sign in at once),
 * or a new one. */
static int oidc_browser_secret(struct resp_ctx *c, char out[OIDC_PKCE_LEN + 1])
{
	char name[128];
	const char *v;
	size_t n;
	unsigned char raw[32];

	oidc_cookie_name(c->cfg, name, sizeof name);
	if (cookie_find(fcgi_param(c->req, "HTTP_COOKIE"), name, &v, &n) == 1 &&
	    n == OIDC_PKCE_LEN && base64url_decode(raw, sizeof raw, v, n) == 32) {
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return oidc_random(out);
}

/* ---- start ---------------------------------------------------------------------------- */

static char *oidc_authorize_url(const struct config *cfg, const struct resp_oidc_endpoints *e,
                                const char *state, const char *nonce, const char *challenge)
{
	char redirect[1024];
	char *client, *redir, *scope, *url = NULL;

	oidc_redirect_uri(cfg, redirect, sizeof redirect);
	client = http_escape(cfg->oidc_client_id);
	redir = http_escape(redirect);
	scope = http_escape(cfg->oidc_scopes);
	if (client != NULL && redir != NULL && scope != NULL &&
	    asprintf(&url,
	             "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s"
	             "&nonce=%s&code_challenge=%s&code_challenge_method=S256",
	             e->authorize, strchr(e->authorize, '?') ? '&' : '?', client, redir, scope,
	             state, nonce, challenge) < 0)
		url = NULL;
	free(client);
	free(redir);
	free(scope);
	return url;
}

struct oidc_begin {
	const char *return_to;
	const char *client_challenge; /* a client that keeps its own verifier; NULL: we keep it */
	const char *link_user_id;     /* linking for this signed-in user; NULL: signing in */
	bool json;                    /* answer {url} instead of a 302 */
};

/* Records a new login and sends the browser (or the client) to the provider. */
static void oidc_begin(struct resp_ctx *c, const struct oidc_begin *b)
{
	struct resp_oidc_endpoints e;
	char state[OIDC_PKCE_LEN + 1], nonce[OIDC_PKCE_LEN + 1], verifier[OIDC_PKCE_LEN + 1];
	char challenge[OIDC_PKCE_LEN + 1], browser[OIDC_PKCE_LEN + 1], name[128], cookie[384] = "";
	unsigned char state_hash[CRYPTO_SHA256_LEN], browser_hash[CRYPTO_SHA256_LEN];
	const char *rt = b->return_to;
	long long expires = 0;
	char *url = NULL;
	enum db_status st;

	if (!oidc_endpoints(c, !b->json && resp_wants_html(c), &e))
		return;
	if (rt[0] != '\0' && !redirect_target_ok(rt, c->cfg->origins))
		rt = ""; /* never an open redirect: go home instead */
	if (oidc_random(state) != 0 || oidc_random(nonce) != 0 || oidc_random(verifier) != 0 ||
	    (b->client_challenge == NULL && oidc_browser_secret(c, browser) != 0)) {
		resp_error(c, 500, "INTERNAL", "no randomness");
		return;
	}
	if (b->client_challenge != NULL)
		snprintf(challenge, sizeof challenge, "%s", b->client_challenge);
	else
		oidc_pkce_challenge(verifier, challenge);
	crypto_sha256(state, strlen(state), state_hash);
	if (b->client_challenge == NULL)
		crypto_sha256(browser, strlen(browser), browser_hash);
	st = db_oidc_state_create(c->t->db,
	                          &(struct db_oidc_state){
	                              .state_hash = state_hash,
	                              .browser_hash = b->client_challenge ? NULL : browser_hash,
	                              .nonce = nonce,
	                              .code_verifier = b->client_challenge ? NULL : verifier,
	                              .code_challenge = b->client_challenge,
	                              .return_to = rt,
	                              .link_user_id = b->link_user_id,
	                          },
	                          &expires);
	crypto_wipe(verifier, sizeof verifier);
	if (st == DB_REFUSED && strcmp(db_refusal_state(c->t->db), "53400") == 0) {
		reply_error(c->req, 503, "Retry-After: 60\r\n", "TOO_MANY_PENDING_LOGINS",
		            "too many sign-ins in progress, try again later");
		return;
	}
	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	url = oidc_authorize_url(c->cfg, &e, state, nonce, challenge);
	if (url == NULL) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	if (b->client_challenge == NULL) {
		oidc_cookie_name(c->cfg, name, sizeof name);
		/* Lax: the provider sends the browser back with a top-level GET from its site */
		snprintf(cookie, sizeof cookie,
		         "Set-Cookie: %s=%s; Path=/; Max-Age=%lld; HttpOnly%s; SameSite=Lax\r\n",
		         name, browser, expires - (long long)time(NULL),
		         c->cfg->cookie_secure ? "; Secure" : "");
	}
	if (b->json)
		resp_json(c, 200, cookie,
		          json_pack("{s:s, s:s, s:I}", "url", url, "state", state, "expires_at",
		                    (json_int_t)expires));
	else
		fcgi_printf(c->req,
		            "Status: 302 Found\r\nLocation: %s\r\nCache-Control: no-store\r\n"
		            "Referrer-Policy: no-referrer\r\n%sContent-Length: 0\r\n\r\n",
		            url, cookie);
	free(url);
}

void resp_oidc_start(struct resp_ctx *c)
{
	char rt[REDIRECT_MAX + 1] = "";

	if (!oidc_available(c, resp_wants_html(c)))
		return;
	if (c->query && query_get(c->query, c->query_len, "return_to", rt, sizeof rt) < 0) {
		oidc_fail(c, resp_wants_html(c), 400, "BAD_REQUEST", "malformed return_to");
		return;
	}
	oidc_begin(c, &(struct oidc_begin){ .return_to = rt });
}

void resp_oidc_start_json(struct resp_ctx *c)
{
	char rt[REDIRECT_MAX + 1] = "", challenge[OIDC_PKCE_LEN + 2] = "";
	unsigned char raw[32];

	if (!oidc_available(c, false))
		return;
	if (resp_field(c, "code_challenge", challenge, sizeof challenge) != 1 ||
	    strlen(challenge) != OIDC_PKCE_LEN ||
	    base64url_decode(raw, sizeof raw, challenge, OIDC_PKCE_LEN) != 32 ||
	    resp_field(c, "return_to", rt, sizeof rt) < 0) {
		resp_error(
		    c, 400, "BAD_REQUEST",
		    "code_challenge (the S256 of your code_verifier, 43 characters) is required");
		return;
	}
	oidc_begin(c, &(struct oidc_begin){
	                  .return_to = rt, .client_challenge = challenge, .json = true });
}

/* ---- callback ------------------------------------------------------------------------- */

/* The authorization response's parameters. */
struct oidc_response {
	char state[OIDC_PKCE_LEN + 2];
	char code[OIDC_CODE_MAX + 1];
	char error[65];
	char iss[2049];
	bool has_state, has_code, has_error, has_iss;
};

static int oidc_param(const char *qs, size_t len, const char *name, char *out, size_t outlen,
                      bool *has)
{
	int rc = query_get(qs, len, name, out, outlen);

	*has = rc == 1;
	return rc < 0 ? -1 : 0;
}

static int oidc_response_parse(const char *qs, size_t len, struct oidc_response *r)
{
	memset(r, 0, sizeof *r);
	if (oidc_param(qs, len, "state", r->state, sizeof r->state, &r->has_state) != 0 ||
	    oidc_param(qs, len, "code", r->code, sizeof r->code, &r->has_code) != 0 ||
	    oidc_param(qs, len, "error", r->error, sizeof r->error, &r->has_error) != 0 ||
	    oidc_param(qs, len, "iss", r->iss, sizeof r->iss, &r->has_iss) != 0)
		return -1;
	/* the provider's error code is shown on a page: keep it to the characters RFC 6749 uses */
	for (char *p = r->error; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
			*p = '?';
	return 0;
}

/* Takes the login's state out of the database: first, before anything else is looked at, so
 * a state is never used twice whatever happens next. NULL after answering. */
static json_t *oidc_take_state(struct resp_ctx *c, bool html, const struct oidc_response *r)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	char *text = NULL;
	json_t *state;
	enum db_status st;

	if (!r->has_state || r->state[0] == '\0') {
		oidc_fail(c, html, 400, "OIDC_STATE_MISSING", "the sign-in response has no state");
		return NULL;
	}
	crypto_sha256(r->state, strlen(r->state), hash);
	st = db_oidc_state_consume(c->t->db, hash, &text);
	if (st == DB_NOT_FOUND) {
		oidc_fail(c, html, 400, "OIDC_STATE_INVALID",
		          "this sign-in is unknown, expired or already used: start again");
		return NULL;
	}
	if (st != DB_OK) {
		resp_db_error(c, st);
		return NULL;
	}
	state = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(state)) {
		json_decref(state);
		resp_error(c, 500, "INTERNAL", "unreadable sign-in state");
		return NULL;
	}
	return state;
}

static const char *oidc_state_str(json_t *state, const char *name)
{
	json_t *v = json_object_get(state, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The checks of the authorization response after the state: the provider's error, RFC 9207
 * iss, and a code. */
static bool oidc_response_ok(struct resp_ctx *c, bool html, const struct oidc_response *r,
                             const struct resp_oidc_endpoints *e)
{
	char msg[160];

	if (r->has_error) {
		log_info("oidc: the provider answered error=%s", r->error);
		snprintf(msg, sizeof msg, "the identity provider did not sign you in (%s)",
		         r->error);
		oidc_fail(c, html, 400, "OIDC_PROVIDER_ERROR", msg);
		return false;
	}
	if ((r->has_iss && strcmp(r->iss, e->issuer) != 0) || (!r->has_iss && e->iss_parameter)) {
		log_warn("oidc: authorization response with %s iss", r->has_iss ? "a wrong" : "no");
		oidc_fail(c, html, 400, "OIDC_ISS_MISMATCH",
		          "the sign-in response comes from another provider");
		return false;
	}
	if (!r->has_code || r->code[0] == '\0') {
		oidc_fail(c, html, 400, "OIDC_CODE_MISSING", "the sign-in response has no code");
		return false;
	}
	return true;
}

/* POSTs the code and verifier to the token endpoint; *tokens is its JSON answer. */
static int oidc_redeem(struct resp_ctx *c, const struct resp_oidc_endpoints *e, const char *code,
                       const char *verifier, json_t **tokens)
{
	const struct config *cfg = c->cfg;
	const struct config_secret *sec = &cfg->oidc_client_secret_file;
	struct http_opts ho = { cfg->oidc_http_timeout, OIDC_TOKEN_RESPONSE_MAX,
		                cfg->oidc_ca_file };
	char redirect[1024], err[HTTP_ERR_MAX], *secret = NULL, *form = NULL;
	char *ecode = http_escape(code), *eredir, *ever = http_escape(verifier);
	char *eclient = http_escape(cfg->oidc_client_id), *esecret = NULL;
	struct http_resp r = { 0 };
	int rc = -1;

	oidc_redirect_uri(cfg, redirect, sizeof redirect);
	eredir = http_escape(redirect);
	if (sec->data != NULL && (secret = strndup((const char *)sec->data, sec->len)) != NULL)
		esecret = http_escape(secret);
	if (ecode == NULL || eredir == NULL || ever == NULL || eclient == NULL ||
	    (sec->data != NULL && esecret == NULL) ||
	    asprintf(&form,
	             "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s"
	             "%s%s%s%s",
	             ecode, eredir, ever,
	             cfg->oidc_token_auth != CFG_OIDC_AUTH_BASIC ? "&client_id=" : "",
	             cfg->oidc_token_auth != CFG_OIDC_AUTH_BASIC ? eclient : "",
	             cfg->oidc_token_auth == CFG_OIDC_AUTH_POST ? "&client_secret=" : "",
	             cfg->oidc_token_auth == CFG_OIDC_AUTH_POST ? esecret : "") < 0)
		form = NULL;
	if (form == NULL) {
		log_error("oidc: out of memory");
	} else if (http_post_form(&ho, e->token, form,
	                          cfg->oidc_token_auth == CFG_OIDC_AUTH_BASIC ? cfg->oidc_client_id
	                                                                      : NULL,
	                          secret, &r, err, sizeof err) != 0) {
		log_error("oidc: token endpoint %s: %s", e->token, err);
	} else {
		*tokens = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
		if (r.status == 200 && json_is_object(*tokens)) {
			rc = 0;
		} else {
			json_t *er = json_object_get(*tokens, "error");
			char esc[128];
			log_escape(esc, sizeof esc,
			           json_is_string(er) ? json_string_value(er) : "?",
			           json_is_string(er) ? strlen(json_string_value(er)) : 1);
			log_error("oidc: token endpoint answered HTTP %ld, error %s", r.status,
			          esc);
			json_decref(*tokens);
			*tokens = NULL;
		}
	}
	if (form != NULL)
		crypto_wipe(form, strlen(form));
	if (secret != NULL)
		crypto_wipe(secret, strlen(secret));
	if (esecret != NULL)
		crypto_wipe(esecret, strlen(esecret));
	if (r.body != NULL)
		crypto_wipe(r.body, r.len);
	http_resp_free(&r);
	free(form);
	free(secret);
	free(esecret);
	free(ecode);
	free(eredir);
	free(ever);
	free(eclient);
	return rc;
}

/* Verifies a provider's JWT with its keys, refetching them once for an unknown kid. */
static enum jws_status oidc_verify(struct resp_app *app, const char *jwt, const char *typs,
                                   json_t **claims, bool *no_keys)
{
	struct jwks *keys = resp_oidc_keys(app, false);
	enum jws_status st;

	*no_keys = keys == NULL;
	if (keys == NULL)
		return JWS_NO_KEY;
	st = jws_verify(jwt, strlen(jwt), keys, app->cfg->oidc_algorithms, typs, claims);
	if (st == JWS_NO_KEY) {
		jwks_unref(keys);
		keys = resp_oidc_keys(app, true); /* the provider may have rotated its keys */
		*no_keys = keys == NULL;
		if (keys != NULL)
			st = jws_verify(jwt, strlen(jwt), keys, app->cfg->oidc_algorithms, typs,
			                claims);
	}
	jwks_unref(keys);
	return st;
}

static struct oidc_expect oidc_expectation(const struct config *cfg,
                                           const struct resp_oidc_endpoints *e, const char *nonce)
{
	return (struct oidc_expect){
		.issuer = e->issuer,
		.client_id = cfg->oidc_client_id,
		.nonce = nonce,
		.now = (long long)time(NULL),
		.skew = cfg->oidc_clock_skew / 1000,
		.max_age = cfg->oidc_token_max_age / 1000,
	};
}

/* The validated ID token's claims, or NULL after answering. */
static json_t *oidc_id_token(struct resp_ctx *c, bool html, const struct resp_oidc_endpoints *e,
                             const char *id_token, const char *nonce)
{
	struct oidc_expect ex = oidc_expectation(c->cfg, e, nonce);
	json_t *claims = NULL;
	bool no_keys;
	enum jws_status st = oidc_verify(c->t->app, id_token, OIDC_ID_TYPS, &claims, &no_keys);
	const char *bad;

	if (st != JWS_OK) {
		log_warn("oidc: ID token refused: %s",
		         no_keys ? "no key set" : jws_status_text(st));
		if (no_keys)
			oidc_fail(c, html, 502, "OIDC_PROVIDER_UNAVAILABLE",
			          "the identity provider's keys cannot be fetched");
		else
			oidc_fail(c, html, 401, "OIDC_INVALID_ID_TOKEN",
			          "the identity provider's answer did not verify");
		return NULL;
	}
	bad = oidc_check_id_token(claims, &ex);
	if (bad != NULL) {
		log_warn("oidc: ID token refused: claim %s", bad);
		json_decref(claims);
		oidc_fail(c, html, 401, "OIDC_INVALID_ID_TOKEN",
		          "the identity provider's answer did not verify");
		return NULL;
	}
	return claims;
}

/* Adds the userinfo endpoint's claims the ID token lacks; only if its sub is the ID token's
 * (OIDC Core §5.3.2). -1 after answering. */
static int oidc_userinfo(struct resp_ctx *c, bool html, const struct resp_oidc_endpoints *e,
                         const char *access_token, json_t *claims)
{
	struct http_opts ho = { c->cfg->oidc_http_timeout, OIDC_USERINFO_MAX,
		                c->cfg->oidc_ca_file };
	struct http_resp r;
	char err[HTTP_ERR_MAX];
	json_t *info;
	const char *sub = oidc_claim_string(claims, "sub", OIDC_SUB_MAX);

	if (e->userinfo[0] == '\0' || access_token == NULL)
		return 0;
	if (http_get(&ho, e->userinfo, access_token, &r, err, sizeof err) != 0 || r.status != 200) {
		if (r.body != NULL)
			snprintf(err, sizeof err, "HTTP status %ld", r.status);
		http_resp_free(&r);
		log_error("oidc: userinfo %s: %s", e->userinfo, err);
		oidc_fail(c, html, 502, "OIDC_PROVIDER_UNAVAILABLE",
		          "the identity provider's user information cannot be fetched");
		return -1;
	}
	info = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
	http_resp_free(&r);
	if (!json_is_object(info) || !json_is_string(json_object_get(info, "sub")) ||
	    strcmp(json_string_value(json_object_get(info, "sub")), sub) != 0) {
		log_warn("oidc: userinfo refused: %s", json_is_object(info)
		                                           ? "its sub is not the ID token's"
		                                           : "not a JSON object");
		json_decref(info);
		oidc_fail(
		    c, html, 401, "OIDC_USERINFO_MISMATCH",
		    "the identity provider's user information is not about the signed-in user");
		return -1;
	}
	json_object_update_missing(claims, info);
	json_decref(info);
	return 0;
}

static bool oidc_email_verified(const json_t *claims)
{
	json_t *v = json_object_get(claims, "email_verified");

	/* some providers (Cognito) send the string */
	return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* Maps a refusal of postern.oidc_login to an answer. */
static void oidc_login_refused(struct resp_ctx *c, bool html, enum db_status st)
{
	const char *state = st == DB_REFUSED ? db_refusal_state(c->t->db) : "";

	if (strcmp(state, "P0002") == 0)
		oidc_fail(c, html, 403, "OIDC_NO_ACCOUNT", "there is no account for this sign-in");
	else if (strcmp(state, "23505") == 0)
		oidc_fail(c, html, 409, "OIDC_ACCOUNT_CONFLICT", db_refusal_message(c->t->db));
	else if (strcmp(state, "55000") == 0)
		oidc_fail(c, html, 403, "ACCOUNT_DISABLED", "this account is disabled");
	else
		resp_db_error(c, st);
}

/* Links the verified identity to the user who started the link. */
static void oidc_finish_link(struct resp_ctx *c, bool html, const char *user_id, const char *issuer,
                             const char *sub, const char *email, const char *return_to)
{
	enum db_status st = db_oidc_link(c->t->db, user_id, issuer, sub, email);

	if (st != DB_OK) {
		oidc_login_refused(c, html, st);
		return;
	}
	if (!html) {
		resp_json(c, 200, NULL, json_pack("{s:b, s:s}", "linked", 1, "issuer", issuer));
		return;
	}
	fcgi_printf(c->req,
	            "Status: 303 See Other\r\nLocation: %s\r\nCache-Control: no-store\r\n"
	            "Content-Length: 0\r\n\r\n",
	            return_to[0] && redirect_target_ok(return_to, c->cfg->origins) ? return_to
	                                                                           : "/");
}

/* Who the claims say the user is, and the session for them. */
static void oidc_sign_in(struct resp_ctx *c, bool html, const char *issuer, json_t *claims,
                         const char *id_token, const char *return_to)
{
	const struct config *cfg = c->cfg;
	const char *sub = oidc_claim_string(claims, "sub", OIDC_SUB_MAX);
	const char *email = oidc_claim_string(claims, cfg->oidc_email_claim, IDENTITY_EMAIL_MAX);
	char role[64] = "", *text = NULL;
	bool mapped = false;
	json_t *res, *uid;
	enum db_status st;

	if (cfg->oidc_role_claim[0] != '\0')
		mapped = oidc_map_role(claims, cfg->oidc_role_claim, cfg->oidc_role_map, role,
		                       sizeof role) == 1;
	st = db_oidc_login(c->t->db,
	                   &(struct db_oidc_identity){
	                       .issuer = issuer,
	                       .subject = sub,
	                       .email = email,
	                       .email_verified = oidc_email_verified(claims),
	                       .name = oidc_claim_string(claims, cfg->oidc_name_claim, 200),
	                       .sync_role = cfg->oidc_role_claim[0] != '\0',
	                       .role = mapped ? role : NULL,
	                       .ip = resp_client_ip(c),
	                   },
	                   &text);
	if (st != DB_OK) {
		oidc_login_refused(c, html, st);
		return;
	}
	res = json_loads(text, 0, NULL);
	free(text);
	uid = json_object_get(res, "user_id");
	if (!json_is_string(uid)) {
		json_decref(res);
		resp_error(c, 500, "INTERNAL", "unreadable answer of oidc_login");
		return;
	}
	resp_login_finish(c,
	                  &(struct db_new_session){
	                      .user_id = json_string_value(uid),
	                      .auth_method = "oidc",
	                      .mfa = oidc_amr_mfa(claims),
	                      .oidc_issuer = issuer,
	                      .oidc_sid = oidc_claim_string(claims, "sid", 255),
	                      .oidc_id_token = id_token,
	                  },
	                  return_to);
	json_decref(res);
}

/* Everything after the state checked out: code for tokens, the ID token, userinfo, policy,
 * then a session (or a link). */
static void oidc_finish(struct resp_ctx *c, bool html, const struct resp_oidc_endpoints *e,
                        json_t *state, const char *code, const char *verifier)
{
	const struct config *cfg = c->cfg;
	json_t *tokens = NULL, *claims = NULL, *idt, *at, *tt;
	const char *return_to = oidc_state_str(state, "return_to");
	const char *link_user = oidc_state_str(state, "link_user_id");

	if (oidc_redeem(c, e, code, verifier, &tokens) != 0) {
		oidc_fail(c, html, 502, "OIDC_TOKEN_ERROR",
		          "the identity provider did not accept the sign-in");
		return;
	}
	idt = json_object_get(tokens, "id_token");
	at = json_object_get(tokens, "access_token");
	tt = json_object_get(tokens, "token_type");
	if (!json_is_string(idt) || (at != NULL && !json_is_string(at)) ||
	    (at != NULL &&
	     !(json_is_string(tt) && strcasecmp(json_string_value(tt), "Bearer") == 0))) {
		log_error("oidc: the token response has no ID token or an unusable access token");
		oidc_fail(c, html, 502, "OIDC_TOKEN_ERROR",
		          "the identity provider did not accept the sign-in");
		goto out;
	}
	claims = oidc_id_token(c, html, e, json_string_value(idt), oidc_state_str(state, "nonce"));
	if (claims == NULL ||
	    oidc_userinfo(c, html, e, at ? json_string_value(at) : NULL, claims) != 0)
		goto out;
	if (cfg->oidc_allowed_groups[0] != '\0' &&
	    !oidc_claim_has_any(claims, cfg->oidc_groups_claim, cfg->oidc_allowed_groups)) {
		oidc_fail(c, html, 403, "OIDC_GROUP_DENIED",
		          "your account at the identity provider is not in a group allowed here");
		goto out;
	}
	if (link_user != NULL)
		oidc_finish_link(
		    c, html, link_user, e->issuer, oidc_claim_string(claims, "sub", OIDC_SUB_MAX),
		    oidc_claim_string(claims, cfg->oidc_email_claim, IDENTITY_EMAIL_MAX),
		    return_to ? return_to : "");
	else
		oidc_sign_in(c, html, e->issuer, claims, json_string_value(idt),
		             return_to ? return_to : "");
out:
	json_decref(claims);
	json_decref(tokens);
}

/* Whether the browser presenting the state is the one that started the login. */
static bool oidc_same_browser(struct resp_ctx *c, json_t *state)
{
	const char *want = oidc_state_str(state, "browser_hash");
	char name[128], hex[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	const char *v;
	size_t n;

	oidc_cookie_name(c->cfg, name, sizeof name);
	if (want == NULL || strlen(want) != sizeof hex - 1 ||
	    cookie_find(fcgi_param(c->req, "HTTP_COOKIE"), name, &v, &n) != 1)
		return false;
	crypto_sha256(v, n, hash);
	crypto_hex(hash, sizeof hash, hex);
	return crypto_equal(hex, want, sizeof hex - 1);
}

void resp_oidc_callback(struct resp_ctx *c)
{
	struct oidc_response *r = calloc(1, sizeof *r);
	struct resp_oidc_endpoints e;
	json_t *state = NULL;
	bool html = resp_wants_html(c);

	if (r == NULL) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	if (!oidc_available(c, html))
		goto out;
	if (c->query == NULL || oidc_response_parse(c->query, c->query_len, r) != 0) {
		oidc_fail(c, html, 400, "BAD_REQUEST", "malformed sign-in response");
		goto out;
	}
	state = oidc_take_state(c, html, r);
	if (state == NULL)
		goto out;
	/* a state of another browser (login CSRF) or of a client keeping its own verifier */
	if (oidc_state_str(state, "code_verifier") == NULL || !oidc_same_browser(c, state)) {
		log_warn(
		    "oidc: a sign-in response came back to another browser than the one that started it");
		oidc_fail(c, html, 400, "OIDC_STATE_INVALID",
		          "this sign-in was started in another browser: start again");
		goto out;
	}
	if (oidc_endpoints(c, html, &e) && oidc_response_ok(c, html, r, &e))
		oidc_finish(c, html, &e, state, r->code, oidc_state_str(state, "code_verifier"));
out:
	json_decref(state);
	crypto_wipe(r, sizeof *r);
	free(r);
}

/* POST {url, state, code_verifier}: a client that kept its own PKCE verifier finishes. */
void resp_oidc_callback_json(struct resp_ctx *c)
{
	struct oidc_response *r = calloc(1, sizeof *r);
	char *url = malloc(OIDC_CODE_MAX + 4096), redirect[1024];
	char state_field[OIDC_PKCE_LEN + 2], verifier[130], challenge[OIDC_PKCE_LEN + 1];
	struct resp_oidc_endpoints e;
	json_t *state = NULL;
	const char *qs, *want;
	size_t rl;

	if (r == NULL || url == NULL) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		goto out;
	}
	if (!oidc_available(c, false))
		goto out;
	oidc_redirect_uri(c->cfg, redirect, sizeof redirect);
	rl = strlen(redirect);
	if (resp_field(c, "url", url, OIDC_CODE_MAX + 4096) != 1 ||
	    resp_field(c, "state", state_field, sizeof state_field) != 1 ||
	    resp_field(c, "code_verifier", verifier, sizeof verifier) != 1 ||
	    !oidc_pkce_verifier_ok(verifier)) {
		resp_error(c, 400, "BAD_REQUEST", "url, state and code_verifier are required");
		goto out;
	}
	/* the redirect the provider made, to our redirect URI: its query is the response */
	if (strncmp(url, redirect, rl) != 0 || url[rl] != '?') {
		resp_error(c, 400, "BAD_REQUEST", "url is not a redirect to this site's callback");
		goto out;
	}
	qs = url + rl + 1;
	if (oidc_response_parse(qs, strcspn(qs, "#"), r) != 0) {
		resp_error(c, 400, "BAD_REQUEST", "malformed sign-in response");
		goto out;
	}
	if (r->has_state && strcmp(r->state, state_field) != 0) {
		resp_error(c, 400, "OIDC_STATE_INVALID", "state does not match the response's");
		goto out;
	}
	snprintf(r->state, sizeof r->state, "%s", state_field);
	r->has_state = true;
	state = oidc_take_state(c, false, r);
	if (state == NULL)
		goto out;
	want = oidc_state_str(state, "code_challenge");
	oidc_pkce_challenge(verifier, challenge);
	if (want == NULL || strlen(want) != OIDC_PKCE_LEN ||
	    !crypto_equal(want, challenge, OIDC_PKCE_LEN)) {
		resp_error(c, 400, "OIDC_PKCE_MISMATCH",
		           "code_verifier does not match the code_challenge of this sign-in");
		goto out;
	}
	if (oidc_endpoints(c, false, &e) && oidc_response_ok(c, false, r, &e))
		oidc_finish(c, false, &e, state, r->code, verifier);
out:
	json_decref(state);
	if (r != NULL)
		crypto_wipe(r, sizeof *r);
	crypto_wipe(verifier, sizeof verifier);
	free(r);
	free(url);
}

/* ---- linking -------------------------------------------------------------------------- */

void resp_oidc_link_start(struct resp_ctx *c)
{
	char rt[REDIRECT_MAX + 1] = "";

	if (!oidc_available(c, false))
		return;
	if (c->body_type != BODY_NONE && resp_field(c, "return_to", rt, sizeof rt) < 0) {
		resp_error(c, 400, "BAD_REQUEST", "malformed return_to");
		return;
	}
	oidc_begin(c, &(struct oidc_begin){
	                  .return_to = rt, .link_user_id = c->id.user_id, .json = true });
}

void resp_oidc_link_list(struct resp_ctx *c)
{
	char *json = NULL;
	enum db_status st = db_user_identities_json(c->t->db, c->id.user_id, &json);

	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	resp_json(c, 200, NULL, json_pack("{s:o}", "identities", json_loads(json, 0, NULL)));
	free(json);
}

static void oidc_unlink_user(struct resp_ctx *c, const char *user_id, bool by_admin)
{
	struct resp_oidc_endpoints e;
	bool done = false;
	enum db_status st;

	if (!oidc_available(c, false) || !oidc_endpoints(c, false, &e))
		return;
	st = db_oidc_unlink(c->t->db, user_id, e.issuer, by_admin, &done);
	if (st == DB_REFUSED && strcmp(db_refusal_state(c->t->db), "55000") == 0) {
		resp_error(c, 409, "LAST_SIGN_IN_METHOD",
		           "this is the only way to sign in to the account: set a password first");
		return;
	}
	if (st == DB_REFUSED && strcmp(db_refusal_state(c->t->db), "P0002") == 0) {
		resp_error(c, 404, "NOT_FOUND", "no such user");
		return;
	}
	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	resp_json(c, 200, NULL, json_pack("{s:b}", "unlinked", done));
}

void resp_oidc_unlink(struct resp_ctx *c)
{
	oidc_unlink_user(c, c->id.user_id, false);
}

void resp_oidc_admin_unlink(struct resp_ctx *c)
{
	oidc_unlink_user(c, c->arg, true);
}

/* ---- logout --------------------------------------------------------------------------- */

char *resp_oidc_logout_url(struct resp_ctx *c, const unsigned char session_hash[32])
{
	struct resp_oidc_endpoints e;
	char *id_token = NULL, *hint = NULL, *post = NULL, *client = NULL, *url = NULL, back[512];

	if (c->t->app->oidc == NULL ||
	    db_session_id_token(c->t->db, session_hash, &id_token) != DB_OK)
		return NULL;
	snprintf(back, sizeof back, "%s/", c->cfg->external_url);
	if (resp_oidc_endpoints(c->t->app, &e) == 0 && e.end_session[0] != '\0' &&
	    (hint = http_escape(id_token)) != NULL && (post = http_escape(back)) != NULL &&
	    (client = http_escape(c->cfg->oidc_client_id)) != NULL &&
	    asprintf(&url, "%s%cid_token_hint=%s&post_logout_redirect_uri=%s&client_id=%s",
	             e.end_session, strchr(e.end_session, '?') ? '&' : '?', hint, post, client) < 0)
		url = NULL;
	free(id_token);
	free(hint);
	free(post);
	free(client);
	return url;
}

/* ---- back-channel logout -------------------------------------------------------------- */

static void oidc_backchannel_refuse(struct resp_ctx *c, const char *why)
{
	log_warn("oidc: back-channel logout refused: %s", why);
	resp_json(c, 400, NULL,
	          json_pack("{s:s, s:s}", "error", "invalid_request", "error_description", why));
}

void resp_oidc_backchannel_logout(struct resp_ctx *c)
{
	char *token = malloc(JWS_TOKEN_MAX + 2);
	struct resp_oidc_endpoints e;
	struct oidc_expect ex;
	json_t *claims = NULL;
	const char *bad;
	long long revoked = 0;
	bool no_keys;
	enum jws_status js;
	enum db_status st;

	if (token == NULL) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	if (c->t->app->oidc == NULL) {
		resp_error(c, 404, "OIDC_NOT_CONFIGURED", "sign-in with a provider is not set up");
		goto out;
	}
	if (c->body_type != BODY_FORM ||
	    resp_field(c, "logout_token", token, JWS_TOKEN_MAX + 2) != 1) {
		oidc_backchannel_refuse(c, "a form with one logout_token is required");
		goto out;
	}
	if (!oidc_endpoints(c, false, &e))
		goto out;
	js = oidc_verify(c->t->app, token, OIDC_LOGOUT_TYPS, &claims, &no_keys);
	if (js != JWS_OK) {
		if (no_keys)
			oidc_fail(c, false, 502, "OIDC_PROVIDER_UNAVAILABLE",
			          "the identity provider's keys cannot be fetched");
		else
			oidc_backchannel_refuse(c, jws_status_text(js));
		goto out;
	}
	ex = oidc_expectation(c->cfg, &e, NULL);
	bad = oidc_check_logout_token(claims, &ex);
	if (bad != NULL) {
		char why[64];
		snprintf(why, sizeof why, "the logout token's %s claim is not acceptable", bad);
		oidc_backchannel_refuse(c, why);
		goto out;
	}
	/* a jti is remembered for as long as its token would be accepted */
	st = db_oidc_backchannel_logout(
	    c->t->db, e.issuer, oidc_claim_string(claims, "sub", OIDC_SUB_MAX),
	    oidc_claim_string(claims, "sid", 255), oidc_claim_string(claims, "jti", 256),
	    ex.now + ex.max_age + 2 * ex.skew, &revoked);
	if (st == DB_REFUSED && strcmp(db_refusal_state(c->t->db), "23505") == 0) {
		oidc_backchannel_refuse(c, "this logout token was already used");
		goto out;
	}
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	log_info("oidc: back-channel logout revoked %lld sessions", revoked);
	fcgi_printf(c->req,
	            "Status: 200 OK\r\nCache-Control: no-store\r\nContent-Length: 0\r\n\r\n");
out:
	json_decref(claims);
	free(token);
}
