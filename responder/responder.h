/* responder: state and routing shared by the responder's endpoint files. */
#ifndef POSTERN_RESPONDER_H
#define POSTERN_RESPONDER_H

#include "config.h"
#include "db.h"
#include "fcgi.h"

struct resp_app {
	const struct config *cfg;
};

/* One per worker thread. */
struct resp_thread {
	struct resp_app *app;
	struct db *db;
};

/* A request after routing: the path below auth_prefix, e.g. "/health". */
struct resp_ctx {
	struct fcgi_req *req;
	struct resp_thread *t;
	const char *method;
	const char *subpath;
};

/* The handler the FastCGI edge calls: finds the endpoint in the route table. */
void resp_route(struct fcgi_req *req, void *thread_ctx);

/* Endpoints (one file per family). */
void resp_health(struct resp_ctx *c);

#endif
