/* program: the command line and start-up sequence both programs share. */
#ifndef POSTERN_PROGRAM_H
#define POSTERN_PROGRAM_H

#include "config.h"
#include "fcgi.h"

struct program_spec {
	const char *name;    /* "postern-authorizer" */
	const char *summary; /* one line for --help */
	unsigned roles;      /* FCGI_ROLE_* bits served */
	size_t body_max;     /* RESPONDER request bodies kept up to this */
	/* Called once after the configuration is loaded and before serving; returns the app
	 * state passed to thread_init, or NULL on failure (after logging why). */
	void *(*start)(const struct config *cfg);
	void (*stop)(void *app);
	void *(*thread_init)(void *app, int index);
	void (*thread_fini)(void *thread_ctx);
	fcgi_handler_fn handler;
};

/* Parses argv, loads the configuration, and serves or performs the requested action.
 * Returns the process exit status: 0 ok, 1 runtime failure, 2 usage or configuration error. */
int program_main(int argc, char **argv, const struct program_spec *spec);

#endif
