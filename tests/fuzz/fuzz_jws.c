/* fuzz_jws: provider JWT verification (a fixed key set) on arbitrary bytes, and the ID and
 * logout token claim checks on whatever parses: a verified payload or the input as JSON. */
#include "fuzz.h"
#include "jws.h"
#include "oidc.h"

#include <stdlib.h>
#include <string.h>

/* The public halves of one RSA and one P-256 key (the corpus holds tokens they signed). */
static const char fuzz_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"fuzz-rsa\",\"use\":\"sig\""
    ",\"n\":\""
    "rw-RonGKY8B17UQ4ZxMshxu4Xuymuo3MOnAwSZxuWOLecLQNXG4jf1JrFH78S6pF1gCtntmQUKgRnfcx"
    "tCYPDQKI8ADk4lxAHyTtVTa_nVgwR8VgybCgz_KqT22eXMQyNJqpGrwUsngLUnga9S4cp3HB5mWMC2Rz"
    "cZGmlw6uZywKm62gpwZSLQiSj2WmU2eYlalEsX_G0AebbcySmrTcHWqLr2wZIwGXt6Y21j3FzJPyW_Jr"
    "e-pOo8WuJfj41GLZvJwrNcXhpb_yGBhJR2cwcUpOFkhmM6-HKwAH_041z3dBBtkwrk1JlWuBzyUjd1hQ"
    "qztq1DJzn0Y6Cvu8Aq8afw\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"kid\":\"fuzz-ec\""
    ",\"use\":\"sig\",\"crv\":\"P-256\""
    ",\"x\":\"ndQZJ21hDul8JnKhV5TZlXDVq151aJlUDPP56TuRtHk\""
    ",\"y\":\"Wc15WBXh_DbzRmsIgSh9VtlZC7orbnO7Q29TEGdUB8M\"}]}";

static const struct oidc_expect fuzz_expect = {
	.issuer = "https://idp.example/realms/postern",
	.client_id = "postern",
	.nonce = "n-0S6_WzA2Mj",
	.now = 1700000000,
	.skew = 60,
	.max_age = 600,
};

/* Claims that pass hold what the checks promise. */
static void fuzz_jws_claims(const json_t *claims)
{
	if (oidc_check_id_token(claims, &fuzz_expect) == NULL &&
	    (strcmp(json_string_value(json_object_get(claims, "iss")), fuzz_expect.issuer) != 0 ||
	     oidc_claim_string(claims, "sub", OIDC_SUB_MAX) == NULL ||
	     json_object_get(claims, "exp") == NULL || json_object_get(claims, "events") != NULL))
		abort();
	if (oidc_check_logout_token(claims, &fuzz_expect) == NULL &&
	    (strcmp(json_string_value(json_object_get(claims, "iss")), fuzz_expect.issuer) != 0 ||
	     !json_is_object(
	         json_object_get(json_object_get(claims, "events"), OIDC_BACKCHANNEL_EVENT)) ||
	     json_object_get(claims, "nonce") != NULL ||
	     (json_object_get(claims, "sub") == NULL && json_object_get(claims, "sid") == NULL)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwks *keys;
	static const char *const typs[] = { "JWT", "logout+jwt JWT" };
	char err[256];
	json_t *claims;

	if (keys == NULL &&
	    jwks_parse(fuzz_jwks, sizeof fuzz_jwks - 1, &keys, err, sizeof err) != 0)
		abort();
	for (size_t i = 0; i < sizeof typs / sizeof typs[0]; i++) {
		claims = NULL;
		if (jws_verify((const char *)data, size, keys, "RS256 PS256 ES256", typs[i],
		               &claims) == JWS_OK) {
			if (!json_is_object(claims))
				abort();
			fuzz_jws_claims(claims);
			json_decref(claims);
		} else if (claims != NULL) {
			abort();
		}
	}
	/* a forged signature rarely verifies: the claim checks see the raw input too */
	claims = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(claims))
		fuzz_jws_claims(claims);
	json_decref(claims);
	return 0;
}
