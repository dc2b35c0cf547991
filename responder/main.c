/* postern-responder: entry point; serves the /auth/ endpoints in the FastCGI RESPONDER role. */
#include "db.h"
#include "http.h"
#include "log.h"
#include "program.h"
#include "responder.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's copies of request bodies and answers hold passwords and secrets: wipe on free. */
static void *resp_json_alloc(size_t n)
{
	return malloc(n);
}

static void resp_json_free(void *p)
{
	if (p != NULL)
		crypto_wipe(p, malloc_usable_size(p));
	free(p);
}

static void *resp_start(const struct config *cfg)
{
	struct resp_app *app = calloc(1, sizeof *app);

	if (app == NULL)
		return NULL;
	app->cfg = cfg;
	json_set_alloc_funcs(resp_json_alloc, resp_json_free);
	if (site_init(&app->site, cfg) != 0 || resp_login_init(app) != 0 ||
	    http_global_init() != 0 || resp_oidc_init(app) != 0 ||
	    resp_housekeeping_start(app) != 0) {
		log_error("cannot initialise the responder");
		resp_oidc_fini(app);
		site_wipe(&app->site);
		free(app);
		return NULL;
	}
	return app;
}

static void resp_stop(void *appv)
{
	struct resp_app *app = appv;

	resp_housekeeping_stop(app);
	resp_oidc_fini(app);
	site_wipe(&app->site);
	free(app);
}

static void *resp_thread_init(void *appv, int index)
{
	struct resp_app *app = appv;
	struct resp_thread *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	t->app = app;
	t->db = site_db_new(&app->site, "postern-responder", NULL, index);
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
		.body_max = RESP_BODY_MAX,
		.start = resp_start,
		.stop = resp_stop,
		.thread_init = resp_thread_init,
		.thread_fini = resp_thread_fini,
		.handler = resp_route,
	};
	return program_main(argc, argv, &spec);
}
