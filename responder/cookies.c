/* cookies: the Set-Cookie lines of a new session and of signing out. */
#include "responder.h"

#include "csrf.h"

#include <stdio.h>

static const char *cookies_samesite(const struct config *cfg)
{
	static const char *const names[] = { "Lax", "Strict", "None" };

	return names[cfg->cookie_samesite];
}

/* "; Path=/; Secure" with __Host- names: no Domain, so no sibling host can set or read them. */
static const char *cookies_secure(const struct config *cfg)
{
	return cfg->cookie_secure ? "; Secure" : "";
}

void resp_session_cookies(const struct resp_ctx *c, const char *token, const char *session_id,
                          long long max_age, char *out, size_t outlen)
{
	const struct resp_app *app = c->t->app;
	char csrf[CSRF_TOKEN_LEN + 1] = "";

	csrf_token(app->site.cur.csrf, session_id, csrf);
	snprintf(out, outlen,
	         "Set-Cookie: %s=%s; Path=/; Max-Age=%lld; HttpOnly%s; SameSite=%s\r\n"
	         "Set-Cookie: %s=%s; Path=/; Max-Age=%lld%s; SameSite=%s\r\n",
	         app->site.session_cookie, token, max_age, cookies_secure(c->cfg),
	         cookies_samesite(c->cfg), app->site.csrf_cookie, csrf, max_age,
	         cookies_secure(c->cfg), cookies_samesite(c->cfg));
}

void resp_clear_cookies(const struct resp_ctx *c, char *out, size_t outlen)
{
	const struct resp_app *app = c->t->app;

	/* the same name, path and attributes as when they were set, or browsers keep them */
	snprintf(out, outlen,
	         "Set-Cookie: %s=; Path=/; Max-Age=0; HttpOnly%s; SameSite=%s\r\n"
	         "Set-Cookie: %s=; Path=/; Max-Age=0%s; SameSite=%s\r\n"
	         "Clear-Site-Data: \"cookies\"\r\n",
	         app->site.session_cookie, cookies_secure(c->cfg), cookies_samesite(c->cfg),
	         app->site.csrf_cookie, cookies_secure(c->cfg), cookies_samesite(c->cfg));
}
