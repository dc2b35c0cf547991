/* body: request bodies the responder accepts (a JSON object or a urlencoded form) and the
 * lookup of one string field in either. */
#include "body.h"

#include "query.h"

#include <string.h>
#include <strings.h>

/* Whether ct is type, alone or followed by parameters (";charset=utf-8"). */
static int body_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

enum body_type body_type_of(const char *content_type)
{
	if (content_type == NULL || content_type[0] == '\0')
		return BODY_NONE;
	if (body_is(content_type, "application/json"))
		return BODY_JSON;
	if (body_is(content_type, "application/x-www-form-urlencoded"))
		return BODY_FORM;
	return BODY_UNSUPPORTED;
}

json_t *body_parse_json(const char *data, size_t len)
{
	json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);

	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

int body_field(enum body_type type, const char *data, size_t len, const json_t *json,
               const char *name, char *out, size_t outlen)
{
	json_t *v;
	size_t l;

	if (type == BODY_FORM)
		return query_get(data, len, name, out, outlen);
	if (type != BODY_JSON || json == NULL)
		return 0;
	v = json_object_get(json, name);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || (l = json_string_length(v)) >= outlen ||
	    memchr(json_string_value(v), '\0', l) != NULL)
		return -1;
	memcpy(out, json_string_value(v), l + 1);
	return 1;
}
