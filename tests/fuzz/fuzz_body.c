/* fuzz_body: request bodies as the responder reads them — the first byte picks JSON or form,
 * the rest is the body; every field the endpoints ask for is looked up, and what comes out
 * is a NUL-free string within its buffer. */
#include "body.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static const char *const fuzz_body_fields[] = {
	"email",
	"password",
	"return_to",
	"code",
	"challenge",
	"url",
	"state",
	"code_verifier",
	"code_challenge",
	"logout_token",
	"name",
	"path",
	"purpose",
	"key",
	"pin",
	"refresh_token",
	"",
	"a",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum body_type type;
	char *body;
	json_t *json = NULL;
	char out[64];

	if (size == 0)
		return 0;
	type = data[0] & 1 ? BODY_JSON : BODY_FORM;
	body = malloc(size); /* exact size: ASan sees any read past the body */
	if (body == NULL)
		return 0;
	memcpy(body, data + 1, size - 1);
	if (type == BODY_JSON) {
		json = body_parse_json(body, size - 1);
		if (json == NULL)
			goto out;
		if (!json_is_object(json))
			abort();
	}
	for (size_t i = 0; i < sizeof fuzz_body_fields / sizeof fuzz_body_fields[0]; i++) {
		int rc =
		    body_field(type, body, size - 1, json, fuzz_body_fields[i], out, sizeof out);
		if (rc < -1 || rc > 1 || (rc == 1 && strlen(out) >= sizeof out))
			abort();
	}
out:
	json_decref(json);
	free(body);
	return 0;
}
