/* postern-responder: entry point; serves the /auth/ endpoints in the FastCGI RESPONDER role. */
#include "db.h"
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
	const char *prefix = cfg->cookie_secure ? "__Host-" : "";

	if (app == NULL)
		return NULL;
	app->cfg = cfg;
	json_set_alloc_funcs(resp_json_alloc, resp_json_free);
	snprintf(app->session_cookie, sizeof app->session_cookie, "%s%s", prefix, cfg->cookie_name);
	snprintf(app->csrf_cookie, sizeof app->csrf_cookie, "%s%s_csrf", prefix, cfg->cookie_name);
	if (crypto_derive_key(cfg->server_key_file.data, cfg->server_key_file.len, "csrf",
	                      app->csrf_key) != 0 ||
	    crypto_derive_key(cfg->server_key_file.data, cfg->server_key_file.len, "jwt",
	                      app->jwt_key) != 0 ||
	    crypto_derive_key(cfg->server_key_file.data, cfg->server_key_file.len, "link",
	                      app->link_key) != 0 ||
	    resp_login_init(app) != 0) {
		log_error("cannot initialise the responder");
		free(app);
		return NULL;
	}
	return app;
}

static void resp_stop(void *appv)
{
	struct resp_app *app = appv;

	crypto_wipe(app->csrf_key, sizeof app->csrf_key);
	crypto_wipe(app->jwt_key, sizeof app->jwt_key);
	crypto_wipe(app->link_key, sizeof app->link_key);
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
