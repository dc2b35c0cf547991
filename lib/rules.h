/* rules: the compiled rule set (from postern.rules) and first-match lookup by method, host, path. */
#ifndef POSTERN_RULES_H
#define POSTERN_RULES_H

#include <stdbool.h>
#include <stddef.h>

enum rule_access {
	ACCESS_PUBLIC,
	ACCESS_AUTHENTICATED,
	ACCESS_PERMISSION,
	ACCESS_ADMIN,
	ACCESS_DENY
};

#define RULE_METHODS_MAX 16
#define RULE_SEGMENTS_MAX 64

struct rule {
	long id;
	int priority;
	enum rule_access access;
	char *host;     /* NULL = any host; lower-case, may carry :port */
	char **methods; /* NULL = any method */
	int nmethods;
	char *pattern;   /* as written, e.g. "/api/<*>/items/<**>" without the <> */
	char **segments; /* the pattern's segments ("*" one, "**" any depth, only last) */
	int nsegments;
	char *permission; /* access = permission */
	char *token_purpose;
	char *policy_function;
	bool allow_api_keys;
	bool allow_shared_links;
	bool require_csrf_token;
	bool require_elevation;
};

/* One row as loaded from postern.load_rules(), text columns as strings (NULL = SQL NULL).
 * methods are space-separated ("GET HEAD"), as array_to_string(methods, ' ') gives them. */
struct rule_row {
	const char *id, *priority, *host, *methods, *path_pattern, *access, *permission;
	const char *allow_api_keys, *allow_shared_links, *token_purpose;
	const char *require_csrf_token, *require_elevation, *policy_function;
};

struct rules;

/* An empty set; add rows in order (priority, id) with rules_add. NULL on allocation failure. */
struct rules *rules_new(void);
/* Compiles one row. Returns 0, or -1 with a message naming the rule id (the whole set must then
 * be discarded: a rule that cannot be compiled must not silently vanish). */
int rules_add(struct rules *rs, const struct rule_row *row, char *err, size_t errlen);
void rules_free(struct rules *rs);
size_t rules_count(const struct rules *rs);

/* The first rule matching method, host and normalised path, or NULL. host may be NULL. */
const struct rule *rules_match(const struct rules *rs, const char *method, const char *host,
                               const char *path);

/* Whether a normalised path matches a pattern's segments (exported for tests). A trailing '/'
 * of the path is ignored, so "/admin/" is covered by a rule for "/admin". */
bool rules_path_matches(char *const *segments, int nsegments, const char *path);

#endif
