/* responder: state, request context and helpers shared by the responder's endpoint files. */
#ifndef POSTERN_RESPONDER_H
#define POSTERN_RESPONDER_H

#include "body.h"
#include "config.h"
#include "credential.h"
#include "crypto.h"
#include "db.h"
#include "fcgi.h"
#include "identity.h"
#include "jwk.h"
#include "path.h"
#include "site.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#define RESP_BODY_MAX (64 * 1024)

struct resp_app {
	const struct config *cfg;
	struct site site;                            /* keys and cookie names */
	char dummy_hash[CRYPTO_BCRYPT_HASH_LEN + 1]; /* verified for unknown users: same time */
	char style_csp[64];                          /* "sha256-..." of the login page's style */
	/* housekeeping.c */
	pthread_t hk_thread;
	pthread_mutex_t hk_lock;
	pthread_cond_t hk_wake;
	bool hk_started, hk_stop;
	/* oidc_provider.c: NULL when OIDC is not configured */
	struct resp_oidc *oidc;
};

/* One per worker thread. */
struct resp_thread {
	struct resp_app *app;
	struct db *db;
};

/* A request after routing. */
struct resp_ctx {
	struct fcgi_req *req;
	struct resp_thread *t;
	const struct config *cfg;
	const char *method;
	char path[PATH_LEN_MAX + 1]; /* normalised */
	const char *subpath;         /* below auth_prefix, e.g. "/login" */
	const char *query;
	size_t query_len;
	char arg[IDENTITY_UUID_LEN + 1]; /* the {id} of the route, validated as a UUID */
	/* the body, for routes that take one */
	enum body_type body_type;
	char *body;
	size_t body_len;
	json_t *json;
	/* the caller, for routes that need one */
	struct credential cred;
	struct identity id;
};

/* request.c */
void resp_route(struct fcgi_req *req, void *thread_ctx);
/* A string field of the JSON or form body: 1 found, 0 absent, -1 not a string, duplicated or
 * longer than outlen - 1. */
int resp_field(struct resp_ctx *c, const char *name, char *out, size_t outlen);
/* The raw JSON value of a field (JSON bodies only), or NULL. */
json_t *resp_json_field(struct resp_ctx *c, const char *name);
const char *resp_client_ip(const struct resp_ctx *c);
/* Whether a cookie-authenticated or anonymous unsafe request passes the same-site check. */
bool resp_same_site(const struct resp_ctx *c);
bool resp_wants_html(const struct resp_ctx *c);

/* One integer setting of postern.settings (DB_ERROR if there is no such key). */
enum db_status resp_setting(struct resp_ctx *c, const char *key, long *value);
/* Authenticates the caller as a session (cookie, Bearer token or access JWT), with the CSRF
 * checks of cookie-authenticated changes; -1 after answering the error. */
int resp_require_session(struct resp_ctx *c);

/* reply helpers (request.c): JSON answers built with jansson; obj is consumed. */
void resp_json(struct resp_ctx *c, int status, const char *extra_headers, json_t *obj);
void resp_raw_json(struct resp_ctx *c, int status, const char *json);
void resp_error(struct resp_ctx *c, int status, const char *code, const char *message);
/* 503 for DB_UNAVAILABLE, 400 with the database's reason for DB_REFUSED, 500 otherwise. */
void resp_db_error(struct resp_ctx *c, enum db_status st);

/* cookies.c */
/* Set-Cookie lines (each ending in \r\n) for a new session, and for clearing every cookie. */
void resp_session_cookies(const struct resp_ctx *c, const char *token, const char *session_id,
                          long long max_age, char *out, size_t outlen);
void resp_clear_cookies(const struct resp_ctx *c, char *out, size_t outlen);

/* login.c: the dummy bcrypt hash and the login page's CSP hash, once per process. */
int resp_login_init(struct resp_app *app);

/* login.c: a new session for a user who passed every step (cookies, then JSON or a 303 to
 * return_to, which is validated again). */
void resp_login_complete(struct resp_ctx *c, const char *user_id, bool mfa, const char *return_to);
/* The same for any sign-in method: s->user_id, auth_method, mfa and the oidc_* fields are
 * taken; the request's user agent and IP are added. */
void resp_login_finish(struct resp_ctx *c, const struct db_new_session *s, const char *return_to);
/* login.c: HTML pages with the login page's style and security headers. */
void resp_html_escape(const char *s, char *out, size_t outlen);
void resp_send_page(struct resp_ctx *c, int status, const char *page, size_t n);
/* A page with a title, an escaped message and a link back to the login page. */
void resp_message_page(struct resp_ctx *c, int status, const char *title, const char *message);
/* request.c: a bool setting ("on"/"off") of postern.settings. */
enum db_status resp_setting_on(struct resp_ctx *c, const char *key, bool *on);

/* oidc_provider.c: the provider's endpoints (a copy, so the cache can change meanwhile) and
 * key set (a reference: jwks_unref it), fetched on first use and cached. */
struct resp_oidc_endpoints {
	char issuer[2049], authorize[2049], token[2049], userinfo[2049], end_session[2049];
	bool iss_parameter;
};
int resp_oidc_init(struct resp_app *app);
void resp_oidc_fini(struct resp_app *app);
int resp_oidc_endpoints(struct resp_app *app, struct resp_oidc_endpoints *e);
/* refresh: a token named a key we lack; refetches unless that was done moments ago. */
struct jwks *resp_oidc_keys(struct resp_app *app, bool refresh);
/* oidc.c: where RP-initiated logout sends the browser for an OIDC session (caller frees), or
 * NULL when the session is not one or the provider has no end_session_endpoint. */
char *resp_oidc_logout_url(struct resp_ctx *c, const unsigned char session_hash[32]);
/* account.c: why a new password is refused ("PASSWORD_TOO_SHORT", ...), or NULL; *st reports
 * the common-password lookup. */
const char *resp_password_problem(struct resp_ctx *c, const char *email, const char *pw,
                                  enum db_status *st);
/* pin.c: verifies the caller's password (true) or answers 403/429 and counts the failure. */
bool resp_check_password(struct resp_ctx *c, const char *password);

/* mfa.c: the MFA challenge token after a right password. -1 after answering an error. */
int resp_mfa_challenge(struct resp_ctx *c, const char *user_id, char out[CRYPTO_TOKEN_LEN + 1],
                       long long *expires_at);

/* housekeeping.c: postern.run_cleanup() every cleanup_interval, in a thread of its own. */
int resp_housekeeping_start(struct resp_app *app);
void resp_housekeeping_stop(struct resp_app *app);

/* Endpoints, one file per family. */
void resp_health(struct resp_ctx *c);
void resp_metrics(struct resp_ctx *c);
void resp_login_page(struct resp_ctx *c);
void resp_login(struct resp_ctx *c);
void resp_logout(struct resp_ctx *c);
void resp_me(struct resp_ctx *c);
void resp_password(struct resp_ctx *c);
void resp_sessions_list(struct resp_ctx *c);
void resp_sessions_revoke_one(struct resp_ctx *c);
void resp_sessions_revoke_others(struct resp_ctx *c);
void resp_admin_sessions_list(struct resp_ctx *c);
void resp_admin_sessions_revoke(struct resp_ctx *c);
void resp_admin_setting(struct resp_ctx *c);
void resp_link_unlock(struct resp_ctx *c);
void resp_links_list(struct resp_ctx *c);
void resp_links_create(struct resp_ctx *c);
void resp_links_update(struct resp_ctx *c);
void resp_links_revoke(struct resp_ctx *c);
void resp_pin_set(struct resp_ctx *c);
void resp_session_unlock(struct resp_ctx *c);
void resp_session_lock(struct resp_ctx *c);
void resp_mfa_setup(struct resp_ctx *c);
void resp_mfa_enable(struct resp_ctx *c);
void resp_mfa_verify(struct resp_ctx *c);
void resp_mfa_disable(struct resp_ctx *c);
void resp_token(struct resp_ctx *c);
void resp_ws_token(struct resp_ctx *c);
void resp_resource_token(struct resp_ctx *c);
void resp_keys_list(struct resp_ctx *c);
void resp_keys_create(struct resp_ctx *c);
void resp_keys_update(struct resp_ctx *c);
void resp_keys_rotate(struct resp_ctx *c);
void resp_keys_revoke(struct resp_ctx *c);
void resp_oidc_start(struct resp_ctx *c);
void resp_oidc_start_json(struct resp_ctx *c);
void resp_oidc_callback(struct resp_ctx *c);
void resp_oidc_callback_json(struct resp_ctx *c);
void resp_oidc_link_start(struct resp_ctx *c);
void resp_oidc_link_list(struct resp_ctx *c);
void resp_oidc_unlink(struct resp_ctx *c);
void resp_oidc_admin_unlink(struct resp_ctx *c);
void resp_oidc_backchannel_logout(struct resp_ctx *c);

#endif
