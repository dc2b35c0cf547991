/* login: the login page, password login (lockout, throttle, session limit), and logout. */
#include "responder.h"

#include "csrf.h"
#include "http.h"
#include "query.h"
#include "redirect.h"
#include "reply.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGIN_STYLE                                                                                 \
	"body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;"         \
	"min-height:100vh;align-items:center;justify-content:center}"                               \
	"main{background:#fff;padding:2rem 2.5rem;border-radius:8px;box-shadow:0 2px 12px "         \
	"#0002;width:20rem}h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 " \
	".2rem}input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit}"                  \
	"button{margin-top:1.2rem;width:100%;padding:.6rem;font:inherit;background:#2b5fd9;"        \
	"color:#fff;border:0;border-radius:4px}p.error{color:#b00020;margin:0 0 .5rem}"             \
	"a.sso{display:block;text-align:center;padding:.6rem;background:#24292f;color:#fff;"        \
	"border-radius:4px;text-decoration:none}p.or{text-align:center;color:#666;margin:.8rem 0 0}"

/* Writes s HTML-escaped into out (for attribute values and text). */
void resp_html_escape(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s && o + 7 < outlen; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		if (rep != NULL) {
			memcpy(out + o, rep, strlen(rep));
			o += strlen(rep);
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

int resp_login_init(struct resp_app *app)
{
	unsigned char d[CRYPTO_SHA256_LEN];

	/* CSP hashes are standard base64 (with padding), not base64url */
	crypto_sha256(LOGIN_STYLE, strlen(LOGIN_STYLE), d);
	memcpy(app->style_csp, "sha256-", 7);
	EVP_EncodeBlock((unsigned char *)app->style_csp + 7, d, sizeof d);
	return crypto_bcrypt_hash("postern dummy password, never a user's", CRYPTO_BCRYPT_MIN_COST,
	                          app->dummy_hash);
}

/* Sends an HTML page with the headers every Postern page carries. */
void resp_send_page(struct resp_ctx *c, int status, const char *page, size_t n)
{
	char headers[512];

	snprintf(headers, sizeof headers,
	         "Content-Security-Policy: default-src 'none'; style-src '%s'; form-action 'self'; "
	         "frame-ancestors 'none'; base-uri 'none'\r\n"
	         "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n",
	         c->t->app->style_csp);
	fcgi_printf(c->req,
	            "Status: %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
	            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n%s"
	            "Content-Length: %zu\r\n\r\n%s",
	            status, reply_reason(status), headers, n,
	            strcmp(c->method, "HEAD") == 0 ? "" : page);
}

/* The "Sign in with ..." link of the login page, when OIDC is set up (empty otherwise). */
static void login_oidc_button(const struct resp_ctx *c, const char *return_to, char *out,
                              size_t outlen)
{
	char label[6 * 100 + 1], href[REDIRECT_MAX * 3 + 256], hrefh[sizeof href * 6];
	char *rt;

	out[0] = '\0';
	if (c->t->app->oidc == NULL || (rt = http_escape(return_to ? return_to : "")) == NULL)
		return;
	snprintf(href, sizeof href, "%s/oidc/start%s%s", c->cfg->auth_prefix,
	         rt[0] ? "?return_to=" : "", rt);
	free(rt);
	resp_html_escape(href, hrefh, sizeof hrefh);
	resp_html_escape(c->cfg->oidc_button_text, label, sizeof label);
	snprintf(out, outlen,
	         "<a id=\"oidc\" class=\"sso\" href=\"%s\">%s</a><p class=\"or\">or</p>", hrefh,
	         label);
}

static void login_page(struct resp_ctx *c, int status, const char *error, const char *return_to)
{
	char rt[REDIRECT_MAX * 6 + 1], action[256], sso[REDIRECT_MAX * 18 + 1024], *page;
	int n;

	resp_html_escape(return_to ? return_to : "", rt, sizeof rt);
	resp_html_escape(c->cfg->auth_prefix, action, sizeof action);
	login_oidc_button(c, return_to, sso, sizeof sso);
	n = asprintf(&page,
	             "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	             "<title>Sign in</title><style>%s</style></head><body><main>"
	             "<h1>Sign in</h1>%s%s%s%s"
	             "<form method=\"post\" action=\"%s/login\">"
	             "<input type=\"hidden\" name=\"return_to\" value=\"%s\">"
	             "<label for=\"email\">Email</label>"
	             "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" "
	             "required autofocus>"
	             "<label for=\"password\">Password</label>"
	             "<input id=\"password\" name=\"password\" type=\"password\" "
	             "autocomplete=\"current-password\" required maxlength=\"72\">"
	             "<button type=\"submit\">Sign in</button></form></main></body></html>",
	             LOGIN_STYLE, error ? "<p class=\"error\" role=\"alert\">" : "",
	             error ? error : "", error ? "</p>" : "", sso, action, rt);
	if (n < 0) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	resp_send_page(c, status, page, (size_t)n);
	free(page);
}

void resp_login_page(struct resp_ctx *c)
{
	char rt[REDIRECT_MAX + 1] = "", local[8] = "", *ert;

	/* a return_to that is not safe is dropped here already, so the form never carries it */
	if (c->query && query_get(c->query, c->query_len, "return_to", rt, sizeof rt) == 1 &&
	    !redirect_target_ok(rt, c->cfg->origins))
		rt[0] = '\0';
	if (c->t->app->oidc != NULL && c->cfg->oidc_auto_launch &&
	    !(c->query && query_get(c->query, c->query_len, "local", local, sizeof local) == 1) &&
	    (ert = http_escape(rt)) != NULL) {
		fcgi_printf(c->req,
		            "Status: 302 Found\r\nLocation: %s/oidc/start%s%s\r\n"
		            "Cache-Control: no-store\r\nContent-Length: 0\r\n\r\n",
		            c->cfg->auth_prefix, ert[0] ? "?return_to=" : "", ert);
		free(ert);
		return;
	}
	login_page(c, 200, NULL, rt);
}

void resp_message_page(struct resp_ctx *c, int status, const char *title, const char *message)
{
	char t[600], m[6 * 512 + 1], login[256], *page;
	int n;

	resp_html_escape(title, t, sizeof t);
	resp_html_escape(message, m, sizeof m);
	resp_html_escape(c->cfg->login_url, login, sizeof login);
	n = asprintf(
	    &page,
	    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	    "<title>%s</title><style>%s</style></head><body><main><h1>%s</h1>"
	    "<p class=\"error\" role=\"alert\">%s</p><p><a href=\"%s\">Back to sign-in</a></p>"
	    "</main></body></html>",
	    t, LOGIN_STYLE, t, m, login);
	if (n < 0) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	resp_send_page(c, status, page, (size_t)n);
	free(page);
}

static void login_refused(struct resp_ctx *c, bool html, int retry_after, const char *return_to)
{
	char headers[64];

	if (retry_after > 0) {
		snprintf(headers, sizeof headers, "Retry-After: %d\r\n", retry_after);
		if (html) {
			login_page(c, 429, "Too many attempts. Try again later.", return_to);
			return;
		}
		resp_json(c, 429, headers,
		          json_pack("{s:s, s:s, s:i}", "error",
		                    "too many attempts, try again later", "code", "LOCKED_OUT",
		                    "retry_after", retry_after));
		return;
	}
	if (html)
		login_page(c, 401, "Wrong email or password.", return_to);
	else
		resp_error(c, 401, "INVALID_CREDENTIALS", "wrong email or password");
}

/* Verifies the password against the user's hash, or the dummy hash: the same bcrypt work
 * whether the user exists, is locked, disabled, has no password, or typed it wrong. */
static bool login_password_ok(const struct resp_ctx *c, const struct db_login *u,
                              const char *password, bool usable)
{
	bool real = usable && u->password_hash[0] != '\0';
	bool ok = crypto_bcrypt_verify(password, real ? u->password_hash : c->t->app->dummy_hash);

	return real && ok;
}

void resp_login_complete(struct resp_ctx *c, const char *user_id, bool mfa, const char *return_to)
{
	resp_login_finish(
	    c,
	    &(struct db_new_session){ .user_id = user_id, .auth_method = "password", .mfa = mfa },
	    return_to);
}

void resp_login_finish(struct resp_ctx *c, const struct db_new_session *s, const char *return_to)
{
	const char *user_id = s->user_id;
	bool html = resp_wants_html(c);
	char token[CRYPTO_TOKEN_LEN + 1], sid[37], cookies[1024];

	if (return_to[0] != '\0' && !redirect_target_ok(return_to, c->cfg->origins))
		return_to = ""; /* never an open redirect: go home instead */
	unsigned char hash[CRYPTO_SHA256_LEN];
	long long expires = 0, max_age;
	enum db_status st;

	/* always a new session: a token the browser brought along is never reused (fixation) */
	if (crypto_token_new(TOKEN_SESSION, token) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a session token");
		return;
	}
	crypto_sha256(token, strlen(token), hash);
	st = db_create_session(c->t->db,
	                       &(struct db_new_session){
	                           .user_id = user_id,
	                           .token_hash = hash,
	                           .auth_method = s->auth_method,
	                           .mfa = s->mfa,
	                           .user_agent = fcgi_param(c->req, "HTTP_USER_AGENT"),
	                           .ip = resp_client_ip(c),
	                           .oidc_issuer = s->oidc_issuer,
	                           .oidc_sid = s->oidc_sid,
	                           .oidc_id_token = s->oidc_id_token,
	                       },
	                       sid, &expires);
	if (st != DB_OK) {
		crypto_wipe(token, sizeof token);
		resp_db_error(c, st);
		return;
	}
	max_age = expires - (long long)time(NULL);
	resp_session_cookies(c, token, sid, max_age > 0 ? max_age : 0, cookies, sizeof cookies);
	if (html) {
		fcgi_printf(c->req,
		            "Status: 303 See Other\r\nLocation: %s\r\nCache-Control: no-store\r\n%s"
		            "Content-Length: 0\r\n\r\n",
		            return_to[0] ? return_to : "/", cookies);
	} else {
		char csrf[CSRF_TOKEN_LEN + 1] = "";
		csrf_token(c->t->app->site.cur.csrf, sid, csrf);
		resp_json(c, 200, cookies,
		          json_pack("{s:s, s:s, s:s, s:I, s:s}", "session_id", sid, "token", token,
		                    "csrf_token", csrf, "expires_at", (json_int_t)expires,
		                    "user_id", user_id));
	}
	crypto_wipe(token, sizeof token);
}

/* The password was right and the account has TOTP: a challenge for POST /auth/mfa/verify. */
static void login_second_step(struct resp_ctx *c, const struct db_login *u, bool html,
                              const char *return_to)
{
	char challenge[CRYPTO_TOKEN_LEN + 1], rt[REDIRECT_MAX * 6 + 1], action[256], *page;
	long long expires = 0;
	int n;

	if (resp_mfa_challenge(c, u->user_id, challenge, &expires) != 0)
		return;
	if (!html) {
		resp_json(c, 200, NULL,
		          json_pack("{s:b, s:s, s:I}", "mfa_required", 1, "challenge", challenge,
		                    "expires_at", (json_int_t)expires));
		crypto_wipe(challenge, sizeof challenge);
		return;
	}
	resp_html_escape(return_to, rt, sizeof rt);
	resp_html_escape(c->cfg->auth_prefix, action, sizeof action);
	n = asprintf(&page,
	             "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	             "<title>Second step</title><style>%s</style></head><body><main>"
	             "<h1>Second step</h1><form method=\"post\" action=\"%s/mfa/verify\">"
	             "<input type=\"hidden\" name=\"challenge\" value=\"%s\">"
	             "<input type=\"hidden\" name=\"return_to\" value=\"%s\">"
	             "<label for=\"code\">Code from your authenticator app (or a backup code)"
	             "</label><input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" "
	             "inputmode=\"numeric\" required autofocus maxlength=\"11\">"
	             "<button type=\"submit\">Verify</button></form></main></body></html>",
	             LOGIN_STYLE, action, challenge, rt);
	crypto_wipe(challenge, sizeof challenge);
	if (n < 0) {
		resp_error(c, 500, "INTERNAL", "out of memory");
		return;
	}
	resp_send_page(c, 200, page, (size_t)n);
	crypto_wipe(page, (size_t)n);
	free(page);
}

void resp_login(struct resp_ctx *c)
{
	char email[256] = "", password[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "";
	char return_to[REDIRECT_MAX + 1] = "";
	bool html = resp_wants_html(c);
	struct db_login u;
	int retry_after = 0;
	bool usable, ok;
	enum db_status st;

	if (resp_field(c, "email", email, sizeof email) != 1 || email[0] == '\0' ||
	    resp_field(c, "password", password, sizeof password) < 0 ||
	    resp_field(c, "return_to", return_to, sizeof return_to) < 0) {
		if (html)
			login_page(c, 400, "Enter your email and password.", NULL);
		else
			resp_error(c, 400, "BAD_REQUEST", "email and password are required");
		goto out;
	}
	if (return_to[0] != '\0' && !redirect_target_ok(return_to, c->cfg->origins))
		return_to[0] = '\0'; /* never an open redirect: go home instead */
	st = db_login_begin(c->t->db, email, resp_client_ip(c), &u);
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	/* longer than bcrypt reads: refused, never truncated (the field holds one byte more) */
	usable = u.user_id[0] != '\0' && !u.disabled && u.retry_after == 0 &&
	         strlen(password) <= CRYPTO_BCRYPT_MAX_PASSWORD;
	ok = login_password_ok(c, &u, password, usable);
	if (u.retry_after > 0) {
		login_refused(c, html, u.retry_after, return_to);
		goto out;
	}
	if (!ok) {
		st = db_login_failed(c->t->db, email, resp_client_ip(c), &retry_after);
		if (st != DB_OK)
			resp_db_error(c, st);
		else
			login_refused(c, html, retry_after, return_to);
		goto out;
	}
	if (u.mfa_enabled) {
		login_second_step(c, &u, html, return_to);
		goto out;
	}
	resp_login_complete(c, u.user_id, false, return_to);
out:
	crypto_wipe(password, sizeof password);
}

void resp_logout(struct resp_ctx *c)
{
	char headers[1024], *provider = NULL;
	struct credential cred;
	unsigned char hash[CRYPTO_SHA256_LEN];

	credential_extract(
	    &(struct credential_request){
	        .authorization = fcgi_param(c->req, "HTTP_AUTHORIZATION"),
	        .cookie = fcgi_param(c->req, "HTTP_COOKIE"),
	        .session_cookie = c->t->app->site.session_cookie,
	    },
	    &cred);
	/* idempotent: whatever was presented, the answer clears the cookies */
	if (!cred.malformed && cred.jwt == NULL && cred.token_kind == TOKEN_SESSION) {
		enum db_status st;
		crypto_sha256(cred.value, strlen(cred.value), hash);
		/* an OIDC session also ends at the provider: asked while the session is live */
		provider = resp_oidc_logout_url(c, hash);
		st = db_logout_session(c->t->db, hash);
		crypto_wipe(&cred, sizeof cred);
		if (st != DB_OK && st != DB_NOT_FOUND) {
			free(provider);
			resp_db_error(c, st);
			return;
		}
	}
	resp_clear_cookies(c, headers, sizeof headers);
	if (resp_wants_html(c)) /* a sign-out form: to the provider's logout, or the login page */
		fcgi_printf(c->req,
		            "Status: 303 See Other\r\nLocation: %s\r\nCache-Control: no-store\r\n"
		            "Referrer-Policy: no-referrer\r\n%sContent-Length: 0\r\n\r\n",
		            provider ? provider : c->cfg->login_url, headers);
	else if (provider != NULL)
		resp_json(c, 200, headers, json_pack("{s:s}", "logout_url", provider));
	else
		fcgi_printf(c->req, "Status: 204 No Content\r\nCache-Control: no-store\r\n%s\r\n",
		            headers);
	free(provider);
}
