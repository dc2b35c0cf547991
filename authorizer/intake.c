/* intake: the FastCGI parameters the pipeline needs, bounded and normalised (never the body). */
#include "authorizer.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static void intake_deny(struct decision *d, int status, const char *code, const char *message)
{
	d->allow = false;
	d->status = status;
	d->code = code;
	d->message = message;
}

/* A header value, or NULL; -1 if it is longer than we ever accept. */
static int intake_header(struct fcgi_req *req, const char *name, const char **out)
{
	const char *v = fcgi_param(req, name);

	if (v != NULL && strnlen(v, AUTHZ_HEADER_MAX + 1) > AUTHZ_HEADER_MAX)
		return -1;
	*out = v;
	return 0;
}

static bool intake_method_ok(const char *m)
{
	size_t n = strlen(m);

	return n >= 1 && n <= 32 && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") == n;
}

/* Host: letters, digits, '.', '-', ':' and brackets (IPv6 literal); copied lower-case. */
static int intake_host(struct authz_request *r, const char *host)
{
	size_t n;

	if (host == NULL) {
		r->host = NULL;
		return 0;
	}
	n = strlen(host);
	if (n == 0 || n >= sizeof r->host_buf ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
	        n)
		return -1;
	for (size_t i = 0; i <= n; i++)
		r->host_buf[i] = (char)tolower((unsigned char)host[i]);
	r->host = r->host_buf;
	return 0;
}

int authz_intake(struct fcgi_req *req, struct authz_request *r, struct decision *d)
{
	static const struct {
		const char *param;
		size_t offset;
	} headers[] = {
		{ "HTTP_AUTHORIZATION", offsetof(struct authz_request, authorization) },
		{ "HTTP_X_API_KEY", offsetof(struct authz_request, api_key) },
		{ "HTTP_COOKIE", offsetof(struct authz_request, cookie) },
		{ "HTTP_X_POSTERN_SHARE_KEY", offsetof(struct authz_request, share_key) },
		{ "HTTP_ACCEPT", offsetof(struct authz_request, accept) },
		{ "HTTP_SEC_FETCH_SITE", offsetof(struct authz_request, sec_fetch_site) },
		{ "HTTP_ORIGIN", offsetof(struct authz_request, origin) },
		{ "HTTP_X_CSRF_TOKEN", offsetof(struct authz_request, csrf_header) },
	};
	const char *uri = fcgi_param(req, "REQUEST_URI");
	const char *https = fcgi_param(req, "HTTPS");
	const char *scheme = fcgi_param(req, "REQUEST_SCHEME");
	int rc;

	memset(r, 0, sizeof *r);
	r->role = fcgi_req_role(req);
	r->method = fcgi_param(req, "REQUEST_METHOD");
	if (r->method == NULL || !intake_method_ok(r->method)) {
		intake_deny(d, 400, "BAD_METHOD", "missing or malformed request method");
		return -1;
	}
	/* Decide on REQUEST_URI as the client sent it, never on X-Forwarded-* or SCRIPT_NAME. */
	if (uri == NULL) {
		intake_deny(d, 400, "BAD_PATH", "missing REQUEST_URI");
		return -1;
	}
	rc = path_normalize(uri, strnlen(uri, PATH_LEN_MAX + 1), r->path, sizeof r->path, &r->query,
	                    &r->query_len);
	if (rc != PATH_OK) {
		intake_deny(d, 400, "BAD_PATH", path_error_message(rc));
		return -1;
	}
	if (intake_host(r, fcgi_param(req, "HTTP_HOST")) != 0) {
		intake_deny(d, 400, "BAD_HOST", "malformed Host header");
		return -1;
	}
	r->https =
	    (https && strcasecmp(https, "on") == 0) || (scheme && strcmp(scheme, "https") == 0);
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		if (intake_header(req, headers[i].param,
		                  (const char **)((char *)r + headers[i].offset)) != 0) {
			intake_deny(d, 400, "HEADER_TOO_LARGE", "a request header is too large");
			return -1;
		}
	}
	return 0;
}
