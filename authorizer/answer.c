/* answer: writing the decision: Status 200 + Variable-* identity, or a deny the server relays. */
#include "authorizer.h"

#include "header.h"
#include "log.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

#define ANSWER_HEADERS_MAX 8192

struct answer_buf {
	char s[ANSWER_HEADERS_MAX];
	size_t n;
	bool bad;
};

/* Appends "Variable-NAME: value\r\n"; values with control characters poison the answer. */
static void answer_var(struct answer_buf *b, const char *name, const char *value)
{
	size_t vl = strlen(value);
	int n;

	if (vl == 0)
		return;
	if (!header_value_safe(value, vl)) {
		b->bad = true;
		return;
	}
	n = snprintf(b->s + b->n, sizeof b->s - b->n, "Variable-%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof b->s - b->n) {
		b->bad = true;
		return;
	}
	b->n += (size_t)n;
}

static void answer_allow(struct fcgi_req *req, const struct decision *d)
{
	const struct identity *id = &d->id;
	struct answer_buf b = { .n = 0 };
	char remote_user[IDENTITY_UUID_LEN + 16];

	if (id->kind != AUTH_NONE) {
		/* a shared-link visitor is not the link's owner: REMOTE_USER names the link */
		if (id->kind == AUTH_SHARED_LINK)
			snprintf(remote_user, sizeof remote_user, "shared-link:%s", id->link_id);
		else
			snprintf(remote_user, sizeof remote_user, "%s", id->email);
		answer_var(&b, "REMOTE_USER", remote_user);
		answer_var(&b, "POSTERN_USER_ID", id->user_id);
		answer_var(&b, "POSTERN_USER", id->email);
		answer_var(&b, "POSTERN_ROLE", id->role);
		answer_var(&b, "POSTERN_AUTH", identity_kind_name(id->kind));
		answer_var(&b, "POSTERN_SESSION_ID", id->session_id);
		answer_var(&b, "POSTERN_KEY_ID", id->key_id);
		answer_var(&b, "POSTERN_LINK_ID", id->link_id);
		answer_var(&b, "POSTERN_PERMISSIONS", id->permissions);
		answer_var(&b, "POSTERN_MFA", id->session_mfa ? "on" : "off");
	}
	if (b.bad) {
		log_error("identity of user %s cannot be written as a header; denying",
		          id->user_id);
		reply_error(req, 403, NULL, "IDENTITY_UNSAFE", "identity cannot be passed on");
		return;
	}
	/* Only Status and Variable-*: Apache passes any other header of a 200 to the client. */
	fcgi_printf(req, "Status: 200 OK\r\n%.*s\r\n", (int)b.n, b.s);
}

/* return_to: the normalised path and the raw query, percent-encoded as one query value. */
static void answer_return_to(const struct authz_request *r, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	char target[PATH_LEN_MAX * 2 + 2];
	size_t o = 0;

	snprintf(target, sizeof target, "%s%s%.*s", r->path, r->query ? "?" : "",
	         r->query ? (int)r->query_len : 0, r->query ? r->query : "");
	for (const unsigned char *p = (const unsigned char *)target; *p && o + 4 < outlen; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '/' || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

static bool answer_wants_html(const struct authz_request *r)
{
	return r->accept != NULL && strstr(r->accept, "text/html") != NULL;
}

void authz_answer(struct fcgi_req *req, const struct authz_app *app, const struct authz_request *r,
                  const struct decision *d)
{
	char headers[512] = "";
	int status = d->status;

	if (d->allow) {
		answer_allow(req, d);
		return;
	}
	/* nginx auth_request knows only 2xx, 401 and 403: its error_page 401 does the redirect */
	if (status == 302 && r->role == FCGI_ROLE_RESPONDER)
		status = 401;
	if (status == 302) {
		char rt[PATH_LEN_MAX * 3 + 1];
		answer_return_to(r, rt, sizeof rt);
		fcgi_printf(
		    req,
		    "Status: 302 Found\r\nLocation: %s?return_to=%s\r\nCache-Control: no-store\r\n"
		    "Content-Length: 0\r\n\r\n",
		    app->cfg->login_url, rt);
		return;
	}
	if (status == 401)
		snprintf(headers, sizeof headers,
		         "WWW-Authenticate: Bearer realm=\"postern\"%s%s%s\r\n",
		         d->www_authenticate_error ? ", error=\"" : "",
		         d->www_authenticate_error ? d->www_authenticate_error : "",
		         d->www_authenticate_error ? "\"" : "");
	else if (status == 503)
		snprintf(headers, sizeof headers, "Retry-After: %d\r\n",
		         d->code && strcmp(d->code, "MAINTENANCE") == 0 ? 300 : 5);
	if (d->code && strcmp(d->code, "MAINTENANCE") == 0 && answer_wants_html(r)) {
		static const char page[] =
		    "<!doctype html><html lang=\"en\"><head><meta "
		    "charset=\"utf-8\"><title>Maintenance</title></head><body>"
		    "<h1>Down for maintenance</h1><p>Back soon.</p></body></html>";
		fcgi_printf(req,
		            "Status: 503 Service Unavailable\r\nContent-Type: text/html; "
		            "charset=utf-8\r\nCache-Control: no-store\r\n%sContent-Length: %zu\r\n"
		            "\r\n%s",
		            headers, sizeof page - 1, page);
		return;
	}
	reply_error(req, status, headers, d->code, d->message);
}
