/* postern-authorizer: entry point; decides every request in the FastCGI AUTHORIZER role (and
 * the RESPONDER role for nginx auth_request). */
#include "authorizer.h"
#include "log.h"
#include "program.h"

#include <stdlib.h>

static void *authz_start(const struct config *cfg)
{
	struct authz_app *app = calloc(1, sizeof *app);

	if (app == NULL)
		return NULL;
	app->cfg = cfg;
	stats_init(&app->stats);
	app->cache = cache_new((size_t)cfg->cache_entries, cfg->cache_ttl, cfg->cache_negative_ttl);
	if (app->cache == NULL || site_init(&app->site, cfg) != 0 || policy_start(app) != 0 ||
	    touch_start(app) != 0) {
		log_error("cannot initialise the authorizer");
		policy_stop(app);
		cache_free(app->cache);
		site_wipe(&app->site);
		free(app);
		return NULL;
	}
	return app;
}

static void authz_stop(void *appv)
{
	struct authz_app *app = appv;

	policy_stop(app); /* sets app->stopping */
	touch_stop(app);
	cache_free(app->cache);
	site_wipe(&app->site);
	free(app);
}

static void *authz_thread_init(void *appv, int index)
{
	struct authz_app *app = appv;
	struct authz_thread *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	t->app = app;
	t->db = site_db_new(&app->site, "postern-authorizer", NULL, index);
	if (t->db == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void authz_thread_fini(void *tv)
{
	struct authz_thread *t = tv;

	db_close(t->db);
	free(t);
}

static void authz_handle(struct fcgi_req *req, void *tv)
{
	struct authz_thread *t = tv;
	struct authz_request r;
	struct decision d = { .allow = false };

	if (authz_intake(req, &r, &d) == 0)
		authz_decide(t, &r, &d);
	authz_answer(req, t->app, &r, &d);
	stats_count(&t->app->stats, &d, r.role);
}

int main(int argc, char **argv)
{
	static const struct program_spec spec = {
		.name = "postern-authorizer",
		.summary = "Postern's FastCGI authorizer: allows or denies every request.",
		.roles = FCGI_ROLE_AUTHORIZER | FCGI_ROLE_RESPONDER,
		.start = authz_start,
		.stop = authz_stop,
		.thread_init = authz_thread_init,
		.thread_fini = authz_thread_fini,
		.handler = authz_handle,
	};
	return program_main(argc, argv, &spec);
}
