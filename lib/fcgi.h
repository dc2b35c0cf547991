/* fcgi: the FastCGI edge: listening sockets, connections, worker threads, requests, shutdown. */
#ifndef POSTERN_FCGI_H
#define POSTERN_FCGI_H

#include <stddef.h>

enum fcgi_role {
	FCGI_ROLE_NONE = 0,
	FCGI_ROLE_RESPONDER = 1,
	FCGI_ROLE_AUTHORIZER = 2,
	FCGI_ROLE_FILTER = 4,
};

/* One request being served; valid only inside the handler call. */
struct fcgi_req;

typedef void (*fcgi_handler_fn)(struct fcgi_req *req, void *thread_ctx);

struct fcgi_server {
	const char *program; /* for messages */
	int listen_fd;       /* from fcgi_listen_open */
	int threads;         /* worker threads */
	unsigned roles;      /* FCGI_ROLE_* bits this program serves */
	size_t body_max;     /* RESPONDER request bodies are kept up to this, the rest dropped */
	void *app;           /* passed to thread_init */
	/* Per worker: returns its context (e.g. its database handle), NULL on failure. */
	void *(*thread_init)(void *app, int index);
	void (*thread_fini)(void *thread_ctx);
	fcgi_handler_fn handler;
};

/* Config validator for `listen`: "", "unix:/abs/path", "IPv4:port" or "[IPv6]:port". */
int fcgi_listen_check(const char *spec, char *err, size_t errlen);

/* Opens the listening socket named by spec ("" = the socket on fd 0, which must be one). */
int fcgi_listen_open(const char *spec, int *fd, char *err, size_t errlen);

/* Serves until SIGTERM, SIGINT or SIGUSR1: blocks those signals in every thread, runs the
 * workers, then lets requests in flight finish (up to a grace period). Returns 0 or -1.
 * The handler runs once a request has arrived whole (its parameters, and a RESPONDER's body);
 * connections waiting for bytes hold no worker. */
int fcgi_serve(const struct fcgi_server *srv);

/* A request that has only parameters (envp: "NAME=value" strings, NULL-terminated, kept by
 * the caller) and whose answer goes nowhere: for tests and fuzzing of what reads parameters.
 * free() it. */
struct fcgi_req *fcgi_req_from_env(char **envp, enum fcgi_role role);

enum fcgi_role fcgi_req_role(const struct fcgi_req *req);
/* A FastCGI parameter (e.g. "REQUEST_URI", "HTTP_COOKIE"), or NULL. */
const char *fcgi_param(const struct fcgi_req *req, const char *name);
/* The request body (RESPONDER role only; the AUTHORIZER role has none). Copies up to n
 * bytes; returns the count (0 at its end), or -1 if the role has no body. */
long fcgi_read(struct fcgi_req *req, void *buf, size_t n);
/* The answer (CGI headers, blank line, body) collects in memory and leaves when the handler
 * returns, in one write unless it is long. */
int fcgi_write(struct fcgi_req *req, const void *buf, size_t n);
int fcgi_printf(struct fcgi_req *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
