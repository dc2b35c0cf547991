/* fuzz_intake: the authorizer's intake of FastCGI parameters (authorizer/intake.c, built into
 * this target) on arbitrary parameter sets — one "NAME=value" per input line; what it accepts
 * is bounded, NUL-free and normalised, what it refuses is a 400 with a code. */
#include "fuzz.h"

#include "../../authorizer/intake.c"

#include <stdlib.h>
#include <string.h>

#define FUZZ_INTAKE_PARAMS 32

static void fuzz_intake_check(const struct authz_request *r)
{
	const char *const headers[] = { r->authorization, r->api_key,    r->cookie,
		                        r->share_key,     r->accept,     r->sec_fetch_site,
		                        r->origin,        r->csrf_header };

	if (r->method == NULL ||
	    strspn(r->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != strlen(r->method))
		abort();
	if (r->path[0] != '/' || strlen(r->path) > PATH_LEN_MAX || strstr(r->path, "//") ||
	    strstr(r->path, "/../") || strchr(r->path, '\\'))
		abort();
	if (r->host != NULL &&
	    (r->host != r->host_buf || strpbrk(r->host, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
		abort();
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
		if (headers[i] != NULL && strlen(headers[i]) > AUTHZ_HEADER_MAX)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *envp[FUZZ_INTAKE_PARAMS + 1], *line, *save = NULL;
	struct fcgi_req *req = NULL;
	struct authz_request r;
	struct decision d;
	size_t n = 0;

	if (text == NULL || size == 0)
		goto out;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (line = strtok_r(text, "\n", &save); line != NULL && n < FUZZ_INTAKE_PARAMS;
	     line = strtok_r(NULL, "\n", &save))
		envp[n++] = line;
	envp[n] = NULL;
	req = fcgi_req_from_env(envp, data[0] & 1 ? FCGI_ROLE_AUTHORIZER : FCGI_ROLE_RESPONDER);
	if (req == NULL)
		goto out;
	memset(&d, 0, sizeof d);
	if (authz_intake(req, &r, &d) == 0)
		fuzz_intake_check(&r);
	else if (d.allow || d.status != 400 || d.code == NULL || d.message == NULL)
		abort();
out:
	free(req);
	free(text);
	return 0;
}
