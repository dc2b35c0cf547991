/* body: request bodies the responder accepts (a JSON object or a urlencoded form) and the
 * lookup of one string field in either. */
#ifndef POSTERN_BODY_H
#define POSTERN_BODY_H

#include <jansson.h>
#include <stddef.h>

enum body_type { BODY_NONE, BODY_JSON, BODY_FORM, BODY_UNSUPPORTED };

/* The kind of body a Content-Type announces (parameters such as charset ignored); NULL or
 * empty is BODY_NONE. */
enum body_type body_type_of(const char *content_type);

/* A JSON body must be one object (duplicate keys refused); the caller decrefs. NULL if not. */
json_t *body_parse_json(const char *data, size_t len);

/* One string field: 1 found (written NUL-terminated into out), 0 absent (or JSON null), -1 not
 * a string, duplicated, holding a NUL, or longer than outlen - 1. json is the parsed object
 * of a JSON body, data/len the raw form otherwise. */
int body_field(enum body_type type, const char *data, size_t len, const json_t *json,
               const char *name, char *out, size_t outlen);

#endif
