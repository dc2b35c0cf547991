/* request: the responder's route table, body parsing, caller authentication, CSRF, replies. */
#include "responder.h"

#include "cookie.h"
#include "csrf.h"
#include "log.h"
#include "query.h"
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define R_BODY 1u    /* reads a JSON or form body */
#define R_CALLER 2u  /* needs an authenticated caller (session, JWT or API key) */
#define R_SESSION 4u /* ... and that caller must be a session, not an API key */
#define R_ADMIN 8u   /* ... holding the "all" permission */

static const struct resp_route {
	const char *method;
	const char *path; /* "{id}" matches one UUID segment */
	void (*fn)(struct resp_ctx *c);
	unsigned flags;
} resp_routes[] = {
	{ "GET", "/health", resp_health, 0 },
	{ "HEAD", "/health", resp_health, 0 },
	{ "GET", "/metrics", resp_metrics, R_CALLER | R_ADMIN },
	{ "GET", "/login", resp_login_page, 0 },
	{ "HEAD", "/login", resp_login_page, 0 },
	{ "POST", "/login", resp_login, R_BODY },
	{ "POST", "/logout", resp_logout, 0 },
	{ "GET", "/me", resp_me, R_CALLER },
	{ "POST", "/password", resp_password, R_BODY | R_CALLER | R_SESSION },
	{ "GET", "/sessions", resp_sessions_list, R_CALLER | R_SESSION },
	{ "DELETE", "/sessions", resp_sessions_revoke_others, R_CALLER | R_SESSION },
	{ "DELETE", "/sessions/{id}", resp_sessions_revoke_one, R_CALLER | R_SESSION },
	{ "GET", "/admin/users/{id}/sessions", resp_admin_sessions_list, R_CALLER | R_ADMIN },
	{ "DELETE", "/admin/users/{id}/sessions", resp_admin_sessions_revoke, R_CALLER | R_ADMIN },
	{ "POST", "/admin/settings", resp_admin_setting, R_BODY | R_CALLER | R_SESSION | R_ADMIN },
	{ "POST", "/shared-links/unlock", resp_link_unlock, R_BODY },
	{ "GET", "/shared-links", resp_links_list, R_CALLER | R_SESSION },
	{ "POST", "/shared-links", resp_links_create, R_BODY | R_CALLER | R_SESSION },
	{ "PATCH", "/shared-links/{id}", resp_links_update, R_BODY | R_CALLER | R_SESSION },
	{ "DELETE", "/shared-links/{id}", resp_links_revoke, R_CALLER | R_SESSION },
	{ "POST", "/pin", resp_pin_set, R_BODY | R_CALLER | R_SESSION },
	{ "POST", "/session/unlock", resp_session_unlock, R_BODY | R_CALLER | R_SESSION },
	{ "POST", "/session/lock", resp_session_lock, R_CALLER | R_SESSION },
	{ "POST", "/token", resp_token, R_BODY },
	{ "POST", "/mfa/setup", resp_mfa_setup, R_CALLER | R_SESSION },
	{ "POST", "/mfa/enable", resp_mfa_enable, R_BODY | R_CALLER | R_SESSION },
	{ "POST", "/mfa/verify", resp_mfa_verify, R_BODY },
	{ "POST", "/mfa/disable", resp_mfa_disable, R_BODY | R_CALLER | R_SESSION },
	{ "POST", "/ws-token", resp_ws_token, R_BODY | R_CALLER | R_SESSION },
	{ "POST", "/resource-token", resp_resource_token, R_BODY | R_CALLER | R_SESSION },
	{ "GET", "/api-keys", resp_keys_list, R_CALLER },
	{ "POST", "/api-keys", resp_keys_create, R_BODY | R_CALLER },
	{ "PATCH", "/api-keys/{id}", resp_keys_update, R_BODY | R_CALLER },
	{ "DELETE", "/api-keys/{id}", resp_keys_revoke, R_CALLER },
	{ "POST", "/api-keys/{id}/rotate", resp_keys_rotate, R_CALLER },
	{ "GET", "/oidc/start", resp_oidc_start, 0 },
	{ "POST", "/oidc/start", resp_oidc_start_json, R_BODY },
	{ "GET", "/oidc/callback", resp_oidc_callback, 0 },
	{ "POST", "/oidc/callback", resp_oidc_callback_json, R_BODY },
	{ "GET", "/oidc/link", resp_oidc_link_list, R_CALLER | R_SESSION },
	{ "POST", "/oidc/link", resp_oidc_link_start, R_BODY | R_CALLER | R_SESSION },
	{ "DELETE", "/oidc/link", resp_oidc_unlink, R_CALLER | R_SESSION },
	{ "DELETE", "/admin/users/{id}/oidc", resp_oidc_admin_unlink, R_CALLER | R_ADMIN },
	{ "POST", "/oidc/backchannel-logout", resp_oidc_backchannel_logout, R_BODY },
};

/* ---- replies -------------------------------------------------------------------------- */

void resp_raw_json(struct resp_ctx *c, int status, const char *json)
{
	reply_json(c->req, status, NULL, json);
}

void resp_json(struct resp_ctx *c, int status, const char *extra_headers, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (text == NULL) {
		reply_error(c->req, 500, NULL, "INTERNAL", "out of memory");
		return;
	}
	reply_json(c->req, status, extra_headers, text);
	free(text);
}

void resp_error(struct resp_ctx *c, int status, const char *code, const char *message)
{
	char headers[64] = "";

	if (status == 401)
		snprintf(headers, sizeof headers, "WWW-Authenticate: Bearer realm=\"postern\"\r\n");
	else if (status == 503)
		snprintf(headers, sizeof headers, "Retry-After: 5\r\n");
	resp_json(c, status, headers, json_pack("{s:s, s:s}", "error", message, "code", code));
}

void resp_db_error(struct resp_ctx *c, enum db_status st)
{
	static const struct {
		const char *state;
		int status;
		const char *code;
	} refusals[] = {
		{ "42501", 403, "PERMISSION_CEILING" }, { "54000", 409, "LIMIT_REACHED" },
		{ "P0002", 404, "NOT_FOUND" },          { "23505", 409, "CONFLICT" },
		{ "55000", 409, "NOT_ALLOWED_NOW" },
	};

	if (st == DB_UNAVAILABLE) {
		resp_error(c, 503, "DATABASE_UNAVAILABLE", "database unavailable");
		return;
	}
	if (st == DB_REFUSED) {
		const char *state = db_refusal_state(c->t->db);
		for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
			if (strcmp(state, refusals[i].state) == 0) {
				resp_error(c, refusals[i].status, refusals[i].code,
				           db_refusal_message(c->t->db));
				return;
			}
		}
		resp_error(c, 400, "INVALID_INPUT", db_refusal_message(c->t->db));
		return;
	}
	resp_error(c, 500, "INTERNAL", "internal error");
}

/* ---- request facts -------------------------------------------------------------------- */

const char *resp_client_ip(const struct resp_ctx *c)
{
	/* the web server's peer; X-Forwarded-For is a client's claim and never trusted */
	return fcgi_param(c->req, "REMOTE_ADDR");
}

bool resp_wants_html(const struct resp_ctx *c)
{
	const char *ct = fcgi_param(c->req, "CONTENT_TYPE");
	const char *accept = fcgi_param(c->req, "HTTP_ACCEPT");

	if (c->body_type == BODY_JSON)
		return false;
	return (ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) ||
	       (accept != NULL && strstr(accept, "text/html") != NULL);
}

bool resp_same_site(const struct resp_ctx *c)
{
	const char *https = fcgi_param(c->req, "HTTPS");
	const char *host = fcgi_param(c->req, "HTTP_HOST");
	char own[300];

	snprintf(own, sizeof own, "%s://%s",
	         https && strcasecmp(https, "on") == 0 ? "https" : "http", host ? host : "");
	for (char *p = own; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return csrf_same_site_ok(fcgi_param(c->req, "HTTP_SEC_FETCH_SITE"),
	                         fcgi_param(c->req, "HTTP_ORIGIN"), own, c->cfg->origins);
}

/* ---- settings ------------------------------------------------------------------------- */

struct resp_setting_want {
	const char *key;
	long value;
	bool found, on;
};

static int resp_setting_pick(void *ctx, const char *key, const char *value)
{
	struct resp_setting_want *w = ctx;

	if (strcmp(key, w->key) == 0) {
		w->value = strtol(value, NULL, 10);
		w->on = strcmp(value, "on") == 0;
		w->found = true;
	}
	return 0;
}

/* The setting called key (DB_ERROR if there is none). */
static enum db_status resp_setting_find(struct resp_ctx *c, const char *key,
                                        struct resp_setting_want *w)
{
	enum db_status st;

	*w = (struct resp_setting_want){ .key = key };
	st = db_load_settings(c->t->db, resp_setting_pick, w);
	return st == DB_OK && !w->found ? DB_ERROR : st;
}

enum db_status resp_setting(struct resp_ctx *c, const char *key, long *value)
{
	struct resp_setting_want w;
	enum db_status st = resp_setting_find(c, key, &w);

	if (st == DB_OK)
		*value = w.value;
	return st;
}

enum db_status resp_setting_on(struct resp_ctx *c, const char *key, bool *on)
{
	struct resp_setting_want w;
	enum db_status st = resp_setting_find(c, key, &w);

	if (st == DB_OK)
		*on = w.on;
	return st;
}

/* ---- body ----------------------------------------------------------------------------- */

static int resp_read_body(struct resp_ctx *c)
{
	const char *ct = fcgi_param(c->req, "CONTENT_TYPE");
	const char *cl = fcgi_param(c->req, "CONTENT_LENGTH");
	char *end;
	long n = cl && *cl ? strtol(cl, &end, 10) : 0;

	if (cl && *cl && (*end != '\0' || n < 0)) {
		resp_error(c, 400, "BAD_REQUEST", "malformed Content-Length");
		return -1;
	}
	if (n > RESP_BODY_MAX) {
		resp_error(c, 413, "BODY_TOO_LARGE", "request body too large");
		return -1;
	}
	c->body_type = body_type_of(ct);
	if (c->body_type == BODY_UNSUPPORTED || (c->body_type == BODY_NONE && n > 0)) {
		resp_error(c, 415, "UNSUPPORTED_MEDIA_TYPE",
		           "send application/json or application/x-www-form-urlencoded");
		return -1;
	}
	c->body = malloc((size_t)n + 1);
	if (c->body == NULL || fcgi_read(c->req, c->body, (size_t)n) != n) {
		resp_error(c, 400, "BAD_REQUEST", "request body shorter than Content-Length");
		return -1;
	}
	c->body[n] = '\0';
	c->body_len = (size_t)n;
	if (c->body_type == BODY_JSON) {
		c->json = body_parse_json(c->body, c->body_len);
		if (c->json == NULL) {
			resp_error(c, 400, "BAD_JSON", "the body must be a JSON object");
			return -1;
		}
	}
	return 0;
}

json_t *resp_json_field(struct resp_ctx *c, const char *name)
{
	return c->json ? json_object_get(c->json, name) : NULL;
}

int resp_field(struct resp_ctx *c, const char *name, char *out, size_t outlen)
{
	return body_field(c->body_type, c->body, c->body_len, c->json, name, out, outlen);
}

/* ---- caller --------------------------------------------------------------------------- */

static int resp_authenticate(struct resp_ctx *c, unsigned flags)
{
	const struct resp_app *app = c->t->app;
	const struct credential_keys keys = { &app->site, c->cfg->token_issuer,
		                              c->cfg->token_audience };
	enum db_status st;

	credential_extract(
	    &(struct credential_request){
	        .authorization = fcgi_param(c->req, "HTTP_AUTHORIZATION"),
	        .api_key = fcgi_param(c->req, "HTTP_X_API_KEY"),
	        .cookie = fcgi_param(c->req, "HTTP_COOKIE"),
	        .session_cookie = app->site.session_cookie,
	    },
	    &c->cred);
	if (c->cred.source == CRED_NONE) {
		resp_error(c, 401, "UNAUTHENTICATED", "authentication required");
		return -1;
	}
	if (c->cred.malformed) {
		resp_error(c, 401, "CREDENTIAL_MALFORMED", "malformed or duplicated credential");
		return -1;
	}
	/* no cache: the responder changes what it reads, and is not on every request's path */
	st = credential_verify(c->t->db, NULL, &keys, &c->cred, NULL, c->path,
	                       (long long)time(NULL), &c->id);
	if (st == DB_NOT_FOUND) {
		resp_error(c, 401, "CREDENTIAL_INVALID", "credential unknown, expired or revoked");
		return -1;
	}
	if (st != DB_OK) {
		resp_db_error(c, st);
		return -1;
	}
	if ((flags & R_SESSION) && c->id.kind != AUTH_SESSION && c->id.kind != AUTH_JWT) {
		resp_error(c, 403, "SESSION_REQUIRED", "this endpoint needs a signed-in session");
		return -1;
	}
	if ((flags & R_ADMIN) && !identity_has_permission(&c->id, "all")) {
		resp_error(c, 403, "ADMIN_REQUIRED", "administrators only");
		return -1;
	}
	return 0;
}

static bool resp_unsafe(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* Cookie-authenticated changes need the same site and the session's X-CSRF-Token. */
static int resp_csrf(struct resp_ctx *c, unsigned flags)
{
	if (!resp_unsafe(c->method))
		return 0;
	if (!(flags & R_CALLER)) {
		/* anonymous forms (login, logout): a cross-site post must not sign anyone in */
		if (!resp_same_site(c)) {
			resp_error(c, 403, "CSRF", "cross-site request refused");
			return -1;
		}
		return 0;
	}
	if (c->cred.source != CRED_COOKIE)
		return 0;
	if (!resp_same_site(c)) {
		resp_error(c, 403, "CSRF", "cross-site request refused");
		return -1;
	}
	if (!site_csrf_matches(&c->t->app->site, c->id.session_id,
	                       fcgi_param(c->req, "HTTP_X_CSRF_TOKEN"), (long long)time(NULL))) {
		resp_error(c, 403, "CSRF_TOKEN", "missing or wrong X-CSRF-Token");
		return -1;
	}
	return 0;
}

int resp_require_session(struct resp_ctx *c)
{
	return resp_authenticate(c, R_CALLER | R_SESSION) == 0 && resp_csrf(c, R_CALLER) == 0 ? 0
	                                                                                      : -1;
}

/* ---- routing -------------------------------------------------------------------------- */

/* Matches a route path against subpath, capturing the {id} segment into arg. */
static bool resp_path_matches(const char *pattern, const char *subpath, char *arg)
{
	const char *p = pattern, *s = subpath;

	while (*p && *s) {
		if (strncmp(p, "{id}", 4) == 0) {
			size_t l = strcspn(s, "/");
			if (identity_uuid_parse(s, l, NULL) != 0)
				return false;
			memcpy(arg, s, l);
			arg[l] = '\0';
			p += 4;
			s += l;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	return *p == '\0' && *s == '\0';
}

static void resp_method_not_allowed(struct resp_ctx *c)
{
	char allow[160] = "Allow: ";
	size_t n = strlen(allow);
	char arg[IDENTITY_UUID_LEN + 1];

	for (size_t i = 0; i < sizeof resp_routes / sizeof resp_routes[0]; i++) {
		if (!resp_path_matches(resp_routes[i].path, c->subpath, arg))
			continue;
		n += (size_t)snprintf(allow + n, sizeof allow - n, "%s%s",
		                      n > strlen("Allow: ") ? ", " : "", resp_routes[i].method);
		if (n >= sizeof allow - 3)
			break;
	}
	snprintf(allow + n, sizeof allow - n, "\r\n");
	reply_error(c->req, 405, allow, "METHOD_NOT_ALLOWED", "method not allowed here");
}

static void resp_dispatch(struct resp_ctx *c)
{
	bool path_known = false;

	for (size_t i = 0; i < sizeof resp_routes / sizeof resp_routes[0]; i++) {
		const struct resp_route *r = &resp_routes[i];
		if (!resp_path_matches(r->path, c->subpath, c->arg))
			continue;
		path_known = true;
		if (strcmp(r->method, c->method) != 0)
			continue;
		if (((r->flags & R_BODY) && resp_read_body(c) != 0) ||
		    ((r->flags & R_CALLER) && resp_authenticate(c, r->flags) != 0) ||
		    resp_csrf(c, r->flags) != 0)
			return;
		r->fn(c);
		return;
	}
	if (path_known)
		resp_method_not_allowed(c);
	else
		reply_error(c->req, 404, NULL, "NOT_FOUND", "no such endpoint");
}

void resp_route(struct fcgi_req *req, void *thread_ctx)
{
	struct resp_thread *t = thread_ctx;
	struct resp_ctx *c = calloc(1, sizeof *c);
	const char *uri = fcgi_param(req, "REQUEST_URI");
	size_t plen;

	if (c == NULL) {
		reply_error(req, 500, NULL, "INTERNAL", "out of memory");
		return;
	}
	c->req = req;
	c->t = t;
	c->cfg = t->app->cfg;
	c->method = fcgi_param(req, "REQUEST_METHOD");
	plen = strlen(c->cfg->auth_prefix);
	if (uri == NULL || c->method == NULL ||
	    path_normalize(uri, strnlen(uri, PATH_LEN_MAX + 1), c->path, sizeof c->path, &c->query,
	                   &c->query_len) != PATH_OK) {
		reply_error(req, 400, NULL, "BAD_PATH", "missing or malformed request URI");
	} else if (strncmp(c->path, c->cfg->auth_prefix, plen) != 0 ||
	           (c->path[plen] != '/' && c->path[plen] != '\0')) {
		reply_error(req, 404, NULL, "NOT_FOUND", "no such endpoint");
	} else {
		c->subpath = c->path + plen;
		resp_dispatch(c);
	}
	json_decref(c->json);
	if (c->body != NULL) {
		crypto_wipe(c->body, c->body_len); /* it may hold a password */
		free(c->body);
	}
	free(c);
}
