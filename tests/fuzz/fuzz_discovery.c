/* fuzz_discovery: discovery documents on arbitrary bytes; an accepted one has every required
 * endpoint, each a URL we may fetch, and (unless trusted) the configured issuer. */
#include "fuzz.h"
#include "oidc.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_ISSUER "https://idp.example/realms/postern"

static void fuzz_discovery_one(const char *doc, size_t size, bool trust)
{
	struct oidc_meta m;
	char err[512];

	if (oidc_meta_parse(doc, size, FUZZ_ISSUER, trust, &m, err, sizeof err) != 0) {
		if (m.issuer != NULL || m.authorization_endpoint != NULL || err[0] == '\0')
			abort();
		return;
	}
	if ((!trust && strcmp(m.issuer, FUZZ_ISSUER) != 0) || !url_ok(m.issuer) ||
	    !url_ok(m.authorization_endpoint) || !url_ok(m.token_endpoint) || !url_ok(m.jwks_uri) ||
	    (m.userinfo_endpoint && !url_ok(m.userinfo_endpoint)) ||
	    (m.end_session_endpoint && !url_ok(m.end_session_endpoint)))
		abort();
	oidc_meta_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_discovery_one((const char *)data, size, false);
	fuzz_discovery_one((const char *)data, size, true);
	return 0;
}
