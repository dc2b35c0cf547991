/* route: the responder's route table (method + path below auth_prefix -> endpoint). */
#include "responder.h"

#include "reply.h"

#include <stdio.h>
#include <string.h>

#define RESP_URI_MAX 8192

static const struct resp_route {
	const char *method;
	const char *path;
	void (*fn)(struct resp_ctx *c);
} resp_routes[] = {
	{ "GET", "/health", resp_health },
	{ "HEAD", "/health", resp_health },
};

/* 405 with the Allow header listing the methods the route table has for this path. */
static void resp_method_not_allowed(struct fcgi_req *req, const char *subpath)
{
	char allow[128] = "Allow: ";
	size_t n = strlen(allow);

	for (size_t i = 0; i < sizeof resp_routes / sizeof resp_routes[0]; i++) {
		if (strcmp(resp_routes[i].path, subpath) != 0)
			continue;
		n += (size_t)snprintf(allow + n, sizeof allow - n, "%s%s",
		                      n > strlen("Allow: ") ? ", " : "", resp_routes[i].method);
		if (n >= sizeof allow - 3)
			break;
	}
	snprintf(allow + n, sizeof allow - n, "\r\n");
	reply_error(req, 405, allow, "METHOD_NOT_ALLOWED", "method not allowed here");
}

void resp_route(struct fcgi_req *req, void *thread_ctx)
{
	const struct config *cfg = ((struct resp_thread *)thread_ctx)->app->cfg;
	const char *uri = fcgi_param(req, "REQUEST_URI");
	const char *method = fcgi_param(req, "REQUEST_METHOD");
	size_t plen = strlen(cfg->auth_prefix);
	char path[RESP_URI_MAX];
	size_t n;
	bool path_known = false;

	if (uri == NULL || method == NULL || (n = strcspn(uri, "?")) >= sizeof path) {
		reply_error(req, 400, NULL, "BAD_REQUEST", "missing or oversized request URI");
		return;
	}
	memcpy(path, uri, n);
	path[n] = '\0';
	if (strncmp(path, cfg->auth_prefix, plen) != 0 ||
	    (path[plen] != '/' && path[plen] != '\0')) {
		reply_error(req, 404, NULL, "NOT_FOUND", "no such endpoint");
		return;
	}
	for (size_t i = 0; i < sizeof resp_routes / sizeof resp_routes[0]; i++) {
		if (strcmp(resp_routes[i].path, path + plen) != 0)
			continue;
		path_known = true;
		if (strcmp(resp_routes[i].method, method) == 0) {
			struct resp_ctx c = { req, thread_ctx, method, path + plen };
			resp_routes[i].fn(&c);
			return;
		}
	}
	if (path_known)
		resp_method_not_allowed(req, path + plen);
	else
		reply_error(req, 404, NULL, "NOT_FOUND", "no such endpoint");
}
