/* postern-responder: entry point; serves the /auth/ endpoints in the FastCGI RESPONDER role. */
#include "db.h"
#include "log.h"
#include "program.h"
#include "responder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *resp_start(const struct config *cfg)
{
	struct resp_app *app = calloc(1, sizeof *app);

	if (app != NULL)
		app->cfg = cfg;
	return app;
}

static void resp_stop(void *app)
{
	free(app);
}

static void *resp_thread_init(void *appv, int index)
{
	struct resp_app *app = appv;
	struct resp_thread *t = calloc(1, sizeof *t);
	char name[64];

	if (t == NULL)
		return NULL;
	snprintf(name, sizeof name, "postern-responder/%d", index);
	t->app = app;
	t->db = db_new(&(struct db_opts){
	    .conninfo = app->cfg->database,
	    .connect_timeout_ms = app->cfg->db_connect_timeout,
	    .statement_timeout_ms = app->cfg->db_statement_timeout,
	    .retry_interval_ms = app->cfg->db_retry_interval,
	    .application_name = name,
	});
	if (t->db == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void resp_thread_fini(void *tv)
{
	struct resp_thread *t = tv;

	db_close(t->db);
	free(t);
}

int main(int argc, char **argv)
{
	static const struct program_spec spec = {
		.name = "postern-responder",
		.summary =
		    "Postern's FastCGI responder: login, logout, tokens and keys under /auth/.",
		.roles = FCGI_ROLE_RESPONDER,
		.start = resp_start,
		.stop = resp_stop,
		.thread_init = resp_thread_init,
		.thread_fini = resp_thread_fini,
		.handler = resp_route,
	};
	return program_main(argc, argv, &spec);
}
