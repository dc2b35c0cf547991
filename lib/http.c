/* http: the HTTP client that talks to the identity provider (only libcurl user). */
#include "http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static bool http_host_loopback(const char *host)
{
	int a, b, c, d, n = 0;

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0)
		return true;
	return sscanf(host, "%3d.%3d.%3d.%3d%n", &a, &b, &c, &d, &n) == 4 && host[n] == '\0' &&
	       a == 127 && b >= 0 && b < 256 && c >= 0 && c < 256 && d >= 0 && d < 256;
}

bool http_url_ok(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *frag = NULL;
	bool ok = false;

	if (u == NULL || url == NULL || strlen(url) > 2048)
		goto out;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == '#')
			goto out; /* '#': curl reports no fragment for an empty one */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		goto out;
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
		goto out;
	ok = strcmp(scheme, "https") == 0 ||
	     (strcmp(scheme, "http") == 0 && http_host_loopback(host));
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(frag);
	curl_url_cleanup(u);
	return ok;
}

struct http_sink {
	struct http_resp *r;
	size_t max;
	bool overflow;
};

static size_t http_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_sink *s = ctx;
	size_t n = size * nmemb;
	char *grown;

	if (n > s->max - s->r->len) {
		s->overflow = true;
		return 0; /* makes curl fail the transfer */
	}
	grown = realloc(s->r->body, s->r->len + n + 1);
	if (grown == NULL)
		return 0;
	memcpy(grown + s->r->len, data, n);
	s->r->len += n;
	grown[s->r->len] = '\0';
	s->r->body = grown;
	return n;
}

/* Runs one exchange on a fresh handle: the calls are rare (discovery, keys, one code per
 * login), so no connection reuse is worth a shared handle between threads. */
static int http_run(const struct http_opts *o, const char *url, const char *form,
                    const char *bearer, const char *user, const char *pass, struct http_resp *r,
                    char *err, size_t errlen)
{
	CURL *h;
	struct curl_slist *headers = NULL;
	struct http_sink sink = { .r = r, .max = o->max_body };
	char *auth = NULL;
	CURLcode rc;

	memset(r, 0, sizeof *r);
	if (!http_url_ok(url)) {
		snprintf(err, errlen,
		         "refusing to fetch a URL that is not https (or http to loopback)");
		return -1;
	}
	h = curl_easy_init();
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	headers = curl_slist_append(headers, "Accept: application/json");
	/* access tokens can be long (a JWT with many roles): never truncated */
	if (bearer != NULL && asprintf(&auth, "Authorization: Bearer %s", bearer) >= 0) {
		headers = curl_slist_append(headers, auth);
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "127.0.0.1,::1,localhost");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "postern");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL && o->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
	if (form != NULL)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	if (user != NULL) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s",
		         sink.overflow || rc == CURLE_FILESIZE_EXCEEDED
		             ? "the answer is longer than allowed"
		             : curl_easy_strerror(rc));
		http_resp_free(r);
		return -1;
	}
	if (r->body == NULL && (r->body = calloc(1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int http_get(const struct http_opts *o, const char *url, const char *bearer, struct http_resp *r,
             char *err, size_t errlen)
{
	return http_run(o, url, NULL, bearer, NULL, NULL, r, err, errlen);
}

int http_post_form(const struct http_opts *o, const char *url, const char *form,
                   const char *basic_user, const char *basic_pass, struct http_resp *r, char *err,
                   size_t errlen)
{
	char *user = NULL, *pass = NULL;
	int rc;

	if (basic_user != NULL) {
		user = http_escape(basic_user);
		pass = http_escape(basic_pass ? basic_pass : "");
		if (user == NULL || pass == NULL) {
			free(user);
			free(pass);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	rc = http_run(o, url, form, NULL, user, pass, r, err, errlen);
	if (pass != NULL)
		memset(pass, 0, strlen(pass));
	free(user);
	free(pass);
	return rc;
}

void http_resp_free(struct http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

char *http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(n * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			*o++ = (char)ch;
		} else {
			*o++ = '%';
			*o++ = hex[ch >> 4];
			*o++ = hex[ch & 15];
		}
	}
	*o = '\0';
	return out;
}
