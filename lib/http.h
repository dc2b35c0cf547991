/* http: the HTTP client that talks to the identity provider (only libcurl user). */
#ifndef POSTERN_HTTP_H
#define POSTERN_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_ERR_MAX 256

struct http_opts {
	long timeout_ms;     /* the whole exchange, connection included */
	size_t max_body;     /* a longer answer is an error, not truncated */
	const char *ca_file; /* PEM bundle to trust instead of the system's; NULL or "" = system */
};

struct http_resp {
	long status;
	char *body; /* NUL-terminated (the NUL is not counted in len); free with http_resp_free */
	size_t len;
};

/* Once, before any thread starts. */
int http_global_init(void);

/* Whether url may be fetched: https://, or http:// to a loopback address (127.0.0.0/8, [::1],
 * localhost), with a host, no user info and no fragment. */
bool http_url_ok(const char *url);

/* GET url (Accept: application/json), with `Authorization: Bearer <bearer>` unless bearer is
 * NULL. No redirects are followed. 0 with *r filled (any status), or -1 with a message in err
 * (refused URL, connection, TLS, timeout, too long an answer). */
int http_get(const struct http_opts *o, const char *url, const char *bearer, struct http_resp *r,
             char *err, size_t errlen);

/* POST an application/x-www-form-urlencoded body; with basic_user set, HTTP Basic
 * authentication whose user and password are form-encoded first (RFC 6749 §2.3.1). */
int http_post_form(const struct http_opts *o, const char *url, const char *form,
                   const char *basic_user, const char *basic_pass, struct http_resp *r, char *err,
                   size_t errlen);

void http_resp_free(struct http_resp *r);

/* s percent-encoded for a query string or form body (everything but A-Z a-z 0-9 - . _ ~);
 * NULL on allocation failure; free with free(). */
char *http_escape(const char *s);

#endif
