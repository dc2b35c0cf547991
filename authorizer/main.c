/* postern-authorizer: entry point; decides every request in the FastCGI AUTHORIZER role (and
 * the RESPONDER role for nginx auth_request). */
#include "authorizer.h"
#include "log.h"
#include "program.h"

#include <stdio.h>
#include <stdlib.h>

static void *authz_start(const struct config *cfg)
{
	struct authz_app *app = calloc(1, sizeof *app);
	const char *prefix = cfg->cookie_secure ? "__Host-" : "";

	if (app == NULL)
		return NULL;
	app->cfg = cfg;
	snprintf(app->session_cookie, sizeof app->session_cookie, "%s%s", prefix, cfg->cookie_name);
	snprintf(app->csrf_cookie, sizeof app->csrf_cookie, "%s%s_csrf", prefix, cfg->cookie_name);
	if (crypto_derive_key(cfg->server_key_file.data, cfg->server_key_file.len, "csrf",
	                      app->csrf_key) != 0 ||
	    crypto_derive_key(cfg->server_key_file.data, cfg->server_key_file.len, "jwt",
	                      app->jwt_key) != 0 ||
	    crypto_derive_key(cfg->server_key_file.data, cfg->server_key_file.len, "link",
	                      app->link_key) != 0 ||
	    policy_start(app) != 0) {
		log_error("cannot initialise the authorizer");
		free(app);
		return NULL;
	}
	return app;
}

static void authz_stop(void *appv)
{
	struct authz_app *app = appv;

	policy_stop(app);
	crypto_wipe(app->csrf_key, sizeof app->csrf_key);
	crypto_wipe(app->jwt_key, sizeof app->jwt_key);
	crypto_wipe(app->link_key, sizeof app->link_key);
	free(app);
}

static void *authz_thread_init(void *appv, int index)
{
	struct authz_app *app = appv;
	struct authz_thread *t = calloc(1, sizeof *t);
	char name[64];

	if (t == NULL)
		return NULL;
	snprintf(name, sizeof name, "postern-authorizer/%d", index);
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
