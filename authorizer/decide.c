/* decide: the decision pipeline: rule, credential, lookup, checks -> allow or deny. */
#include "authorizer.h"

#include "cookie.h"
#include "csrf.h"
#include "unlock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void deny(struct decision *d, int status, const char *code, const char *message)
{
	d->allow = false;
	d->status = status;
	d->code = code;
	d->message = message;
}

static void deny_401(struct decision *d, const char *code, const char *message,
                     const char *bearer_error)
{
	deny(d, 401, code, message);
	d->www_authenticate_error = bearer_error;
}

static bool decide_is_browser_navigation(const struct authz_request *r)
{
	return (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
	       r->accept != NULL && strstr(r->accept, "text/html") != NULL;
}

/* No usable session: browsers go to the login page, API clients get 401. */
static void decide_unauthenticated(const struct authz_request *r, struct decision *d,
                                   const char *code, const char *message, const char *bearer_error)
{
	if (decide_is_browser_navigation(r))
		deny(d, 302, code, message);
	else
		deny_401(d, code, message, bearer_error);
}

static bool decide_unsafe_method(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0 &&
	       strcmp(m, "TRACE") != 0;
}

/* Whether path is the auth prefix + one of subpaths: "/me" is that path exactly, "/mfa/" is
 * "/mfa" and everything below it. */
static bool decide_under_auth(const struct authz_app *app, const char *path,
                              const char *const *subpaths)
{
	size_t pl = strlen(app->cfg->auth_prefix);

	if (strncmp(path, app->cfg->auth_prefix, pl) != 0)
		return false;
	path += pl;
	for (; *subpaths; subpaths++) {
		size_t l = strlen(*subpaths);
		bool tree = (*subpaths)[l - 1] == '/';

		if (strcmp(path, *subpaths) == 0 ||
		    (tree && (strncmp(path, *subpaths, l) == 0 ||
		              (strncmp(path, *subpaths, l - 1) == 0 && path[l - 1] == '\0'))))
			return true;
	}
	return false;
}

/* Looks the credential up; fills d->id. Returns 0, or -1 with d set to a deny. */
static int decide_verify(struct authz_thread *t, const struct authz_request *r,
                         const struct rule *rule, const struct credential *c, struct decision *d)
{
	const struct config *cfg = t->app->cfg;
	const struct credential_keys keys = { &t->app->site, cfg->token_issuer,
		                              cfg->token_audience };
	enum db_status st =
	    credential_verify(t->db, t->app->cache, &keys, c, rule ? rule->token_purpose : NULL,
	                      r->path, (long long)time(NULL), &d->id);

	if (st == DB_OK)
		return 0;
	if (st == DB_NOT_FOUND && c->source == CRED_COOKIE)
		decide_unauthenticated(r, d, "SESSION_INVALID", "session expired or revoked", NULL);
	else if (st == DB_NOT_FOUND)
		deny_401(d, "CREDENTIAL_INVALID", "credential unknown, expired or revoked",
		         "invalid_token");
	else
		deny(d, 503, "DATABASE_UNAVAILABLE", "authentication database unavailable");
	return -1;
}

/* Shared links act only under their path prefix, at a segment boundary. */
static bool decide_link_covers(const struct identity *id, const char *path)
{
	size_t l = strlen(id->path_prefix);

	if (l == 1 && id->path_prefix[0] == '/')
		return true;
	return strncmp(path, id->path_prefix, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

static bool decide_has_session(const struct identity *id)
{
	return id->kind == AUTH_SESSION || id->kind == AUTH_JWT;
}

/* The rule's SQL policy function has the last word; any failure denies. */
static int decide_policy_function(struct authz_thread *t, const struct authz_request *r,
                                  const struct rule *rule, struct decision *d)
{
	char *json = identity_to_json(&d->id);
	bool allowed = false;
	enum db_status st;

	if (json == NULL) {
		deny(d, 503, "POLICY_UNAVAILABLE", "this path's policy cannot be evaluated");
		return -1;
	}
	st = db_check_policy(t->db, rule->id, json, r->method, r->host ? r->host : "", r->path,
	                     &allowed);
	free(json);
	if (st == DB_OK && allowed)
		return 0;
	if (st == DB_OK)
		deny(d, 403, "POLICY_DENIED", "this path's policy refuses the request");
	else if (st == DB_UNAVAILABLE)
		deny(d, 503, "DATABASE_UNAVAILABLE", "authentication database unavailable");
	else
		deny(d, 403, "POLICY_ERROR", "this path's policy failed");
	return -1;
}

/* Checks that need the identity; returns 0 to allow, -1 with d set to a deny. */
static int decide_checks(struct authz_thread *t, const struct authz_request *r,
                         const struct policy *p, const struct rule *rule,
                         const struct credential *c, struct decision *d)
{
	static const char *const password_paths[] = { "/password", "/me", "/logout", NULL };
	static const char *const mfa_paths[] = { "/mfa/", "/me", "/logout", NULL };
	const struct authz_app *app = t->app;
	const struct identity *id = &d->id;
	enum rule_access access = rule ? rule->access : ACCESS_AUTHENTICATED;

	if (id->kind == AUTH_API_KEY && rule != NULL && !rule->allow_api_keys) {
		deny(d, 403, "API_KEY_NOT_ALLOWED", "API keys are not accepted here");
		return -1;
	}
	if (id->kind == AUTH_SHARED_LINK) {
		if (!decide_link_covers(id, r->path)) {
			deny(d, 403, "LINK_SCOPE", "the shared link does not cover this path");
			return -1;
		}
		if (id->has_password && !site_unlock_ok(&app->site, r->cookie, id->link_id,
		                                        id->link_version, (long long)time(NULL))) {
			deny_401(d, "LINK_LOCKED", "the shared link needs its password", NULL);
			return -1;
		}
	}
	if (decide_has_session(id) && id->must_change_password &&
	    !decide_under_auth(app, r->path, password_paths)) {
		deny(d, 403, "PASSWORD_CHANGE_REQUIRED", "the password must be changed first");
		return -1;
	}
	if (p->require_mfa && id->kind != AUTH_SHARED_LINK && !id->user_mfa && !id->session_mfa &&
	    !decide_under_auth(app, r->path, mfa_paths)) {
		deny(d, 403, "MFA_REQUIRED", "multi-factor authentication must be set up first");
		return -1;
	}
	if (access == ACCESS_PERMISSION && !identity_has_permission(id, rule->permission)) {
		deny(d, 403, "FORBIDDEN", "the credential lacks the permission this path needs");
		return -1;
	}
	if (access == ACCESS_ADMIN && !identity_has_permission(id, "all")) {
		deny(d, 403, "ADMIN_REQUIRED", "administrators only");
		return -1;
	}
	if (rule != NULL && rule->require_elevation &&
	    !(decide_has_session(id) && id->elevated_until > (long long)time(NULL))) {
		deny(d, 403, "ELEVATION_REQUIRED",
		     "unlock the session with the PIN or password first");
		return -1;
	}
	if (c->source == CRED_COOKIE && decide_unsafe_method(r->method)) {
		char own[300];
		snprintf(own, sizeof own, "%s://%s", r->https ? "https" : "http",
		         r->host ? r->host : "");
		if (!csrf_same_site_ok(r->sec_fetch_site, r->origin, own, app->cfg->origins)) {
			deny(d, 403, "CSRF", "cross-site request refused");
			return -1;
		}
		if (rule != NULL && rule->require_csrf_token) {
			const char *cv = NULL;
			size_t cl = 0;
			/* the header must carry the session's token, and so must the cookie */
			if (!site_csrf_matches(&app->site, id->session_id, r->csrf_header,
			                       (long long)time(NULL)) ||
			    cookie_find(r->cookie, app->site.csrf_cookie, &cv, &cl) != 1 ||
			    cl != CSRF_TOKEN_LEN || memcmp(cv, r->csrf_header, cl) != 0) {
				deny(d, 403, "CSRF_TOKEN", "missing or wrong X-CSRF-Token");
				return -1;
			}
		}
	}
	if (rule != NULL && rule->policy_function != NULL)
		return decide_policy_function(t, r, rule, d);
	return 0;
}

static void decide_with_policy(struct authz_thread *t, const struct authz_request *r,
                               const struct policy *p, struct decision *d)
{
	const struct rule *rule = rules_match(p->rules, r->method, r->host, r->path);
	struct credential c;

	if (rule == NULL && !p->unmatched_authenticated) {
		deny(d, 403, "NO_RULE", "no rule allows this request");
		return;
	}
	if (rule != NULL && rule->access == ACCESS_DENY) {
		deny(d, 403, "DENIED", "access to this path is denied");
		return;
	}
	if (rule != NULL && rule->access == ACCESS_PUBLIC) {
		d->allow = true; /* public: anonymous, whatever credential came along */
		d->status = 200;
		return;
	}
	credential_extract(
	    &(struct credential_request){
	        .authorization = r->authorization,
	        .api_key = r->api_key,
	        .cookie = r->cookie,
	        .share_key = r->share_key,
	        .query = r->query,
	        .query_len = r->query_len,
	        .session_cookie = t->app->site.session_cookie,
	        .shared_links = rule != NULL && rule->allow_shared_links,
	        .tokens = rule != NULL && rule->token_purpose != NULL,
	    },
	    &c);
	if (c.source == CRED_NONE) {
		decide_unauthenticated(r, d, "UNAUTHENTICATED", "authentication required", NULL);
		return;
	}
	if (c.malformed) {
		deny_401(d, "CREDENTIAL_MALFORMED", "malformed or duplicated credential",
		         "invalid_request");
		return;
	}
	if (decide_verify(t, r, rule, &c, d) != 0)
		return;
	if (p->maintenance && !identity_has_permission(&d->id, "all")) {
		/* public paths stay open (administrators can still sign in); everyone else waits */
		deny(d, 503, "MAINTENANCE", "down for maintenance, back soon");
		return;
	}
	if (decide_checks(t, r, p, rule, &c, d) != 0)
		return;
	d->allow = true;
	d->status = 200;
	if (decide_has_session(&d->id))
		touch_record(false, d->id.session_id, (long long)time(NULL));
	else if (d->id.kind == AUTH_API_KEY)
		touch_record(true, d->id.key_id, (long long)time(NULL));
}

void authz_decide(struct authz_thread *t, const struct authz_request *r, struct decision *d)
{
	struct policy *p = policy_acquire(t->app);

	if (p == NULL) {
		deny(d, 503, "POLICY_UNAVAILABLE", "rules not loaded yet");
		return;
	}
	decide_with_policy(t, r, p, d);
	policy_release(t->app, p);
}
