/* postern-authorizer: entry point; decides every request in the FastCGI AUTHORIZER role (and
 * the RESPONDER role for nginx auth_request). */
#include "program.h"
#include "reply.h"

#include <stdlib.h>

struct authz_app {
	const struct config *cfg;
};

static void *authz_start(const struct config *cfg)
{
	struct authz_app *app = calloc(1, sizeof *app);

	if (app != NULL)
		app->cfg = cfg;
	return app;
}

static void authz_stop(void *app)
{
	free(app);
}

/* Until the decision pipeline lands, every request is denied: the authorizer fails closed. */
static void authz_handle(struct fcgi_req *req, void *thread_ctx)
{
	(void)thread_ctx;
	reply_error(req, 401, "WWW-Authenticate: Bearer realm=\"postern\"\r\n", "UNAUTHENTICATED",
	            "authentication required");
}

int main(int argc, char **argv)
{
	static const struct program_spec spec = {
		.name = "postern-authorizer",
		.summary = "Postern's FastCGI authorizer: allows or denies every request.",
		.roles = FCGI_ROLE_AUTHORIZER | FCGI_ROLE_RESPONDER,
		.start = authz_start,
		.stop = authz_stop,
		.handler = authz_handle,
	};
	return program_main(argc, argv, &spec);
}
