/* rules: the compiled rule set (from postern.rules) and first-match lookup by method, host, path. */
#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rules {
	struct rule *v;
	size_t n, cap;
};

static const struct {
	const char *name;
	enum rule_access access;
} rules_access_names[] = {
	{ "public", ACCESS_PUBLIC },
	{ "authenticated", ACCESS_AUTHENTICATED },
	{ "permission", ACCESS_PERMISSION },
	{ "admin", ACCESS_ADMIN },
	{ "deny", ACCESS_DENY },
};

struct rules *rules_new(void)
{
	return calloc(1, sizeof(struct rules));
}

static void rules_free_strings(char **v, int n)
{
	if (v == NULL)
		return;
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Splits space-separated words ("GET HEAD") into an array of at most max strings. */
static int rules_split_words(const char *s, int max, char ***out, int *count)
{
	char **v = calloc((size_t)max, sizeof *v);
	int n = 0;

	if (v == NULL)
		return -1;
	while (*s) {
		size_t l;
		while (*s == ' ')
			s++;
		l = strcspn(s, " ");
		if (l == 0)
			break;
		if (n == max || (v[n] = strndup(s, l)) == NULL) {
			rules_free_strings(v, n);
			return -1;
		}
		n++;
		s += l;
	}
	if (n == 0) {
		free(v);
		return -1;
	}
	*out = v;
	*count = n;
	return 0;
}

static void rules_free_rule(struct rule *r)
{
	free(r->host);
	rules_free_strings(r->methods, r->nmethods);
	free(r->pattern);
	rules_free_strings(r->segments, r->nsegments);
	free(r->permission);
	free(r->token_purpose);
	free(r->policy_function);
}

void rules_free(struct rules *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rules_free_rule(&rs->v[i]);
	free(rs->v);
	free(rs);
}

size_t rules_count(const struct rules *rs)
{
	return rs->n;
}

static int rules_dup(const char *s, char **out)
{
	if (s == NULL) {
		*out = NULL;
		return 0;
	}
	*out = strdup(s);
	return *out ? 0 : -1;
}

/* Splits a pattern into segments: "/a/b" -> {"a", "b"}, "/" -> {}. */
static int rules_split_pattern(const char *pattern, struct rule *r)
{
	char **segs = calloc(RULE_SEGMENTS_MAX, sizeof *segs);
	const char *p = pattern + 1;
	int n = 0;

	if (segs == NULL)
		return -1;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);
		bool last = slash == NULL || slash[1] == '\0';

		bool star = l == 1 && p[0] == '*';
		bool stars = l == 2 && p[0] == '*' && p[1] == '*';

		/* wildcards are whole segments; "**" only as the last one */
		if (l == 0 || n == RULE_SEGMENTS_MAX || (memchr(p, '*', l) && !star && !stars) ||
		    (stars && !last))
			goto fail;
		segs[n] = strndup(p, l);
		if (segs[n] == NULL)
			goto fail;
		n++;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	r->segments = segs;
	r->nsegments = n;
	return 0;
fail:
	rules_free_strings(segs, n);
	return -1;
}

static int rules_parse_bool(const char *s, bool *out)
{
	if (s == NULL || (strcmp(s, "t") != 0 && strcmp(s, "f") != 0))
		return -1;
	*out = s[0] == 't';
	return 0;
}

static int rules_compile(const struct rule_row *row, struct rule *r, const char **what)
{
	char *end;
	size_t i;

	memset(r, 0, sizeof *r);
	*what = "id or priority";
	errno = 0;
	r->id = row->id ? strtol(row->id, &end, 10) : 0;
	if (row->id == NULL || *end || errno)
		return -1;
	r->priority = row->priority ? (int)strtol(row->priority, &end, 10) : 0;
	if (row->priority == NULL || *end || errno)
		return -1;
	*what = "access";
	for (i = 0; i < sizeof rules_access_names / sizeof rules_access_names[0]; i++)
		if (row->access && strcmp(row->access, rules_access_names[i].name) == 0)
			break;
	if (i == sizeof rules_access_names / sizeof rules_access_names[0])
		return -1;
	r->access = rules_access_names[i].access;
	*what = "path_pattern";
	if (row->path_pattern == NULL || row->path_pattern[0] != '/' ||
	    rules_dup(row->path_pattern, &r->pattern) != 0 ||
	    rules_split_pattern(row->path_pattern, r) != 0)
		return -1;
	*what = "methods";
	if (row->methods != NULL &&
	    rules_split_words(row->methods, RULE_METHODS_MAX, &r->methods, &r->nmethods) != 0)
		return -1;
	*what = "permission";
	if ((r->access == ACCESS_PERMISSION) != (row->permission != NULL))
		return -1;
	*what = "flags";
	if (rules_parse_bool(row->allow_api_keys, &r->allow_api_keys) != 0 ||
	    rules_parse_bool(row->allow_shared_links, &r->allow_shared_links) != 0 ||
	    rules_parse_bool(row->require_csrf_token, &r->require_csrf_token) != 0 ||
	    rules_parse_bool(row->require_elevation, &r->require_elevation) != 0)
		return -1;
	*what = "memory";
	if (rules_dup(row->host, &r->host) != 0 ||
	    rules_dup(row->permission, &r->permission) != 0 ||
	    rules_dup(row->token_purpose, &r->token_purpose) != 0 ||
	    rules_dup(row->policy_function, &r->policy_function) != 0)
		return -1;
	return 0;
}

int rules_add(struct rules *rs, const struct rule_row *row, char *err, size_t errlen)
{
	struct rule r;
	const char *what = "";

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct rule *v = realloc(rs->v, cap * sizeof *v);
		if (v == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		rs->v = v;
		rs->cap = cap;
	}
	if (rules_compile(row, &r, &what) != 0) {
		snprintf(err, errlen, "rule %s: bad %s", row->id ? row->id : "(no id)", what);
		rules_free_rule(&r);
		return -1;
	}
	rs->v[rs->n++] = r;
	return 0;
}

bool rules_path_matches(char *const *segments, int nsegments, const char *path)
{
	const char *p = path;

	if (*p != '/')
		return false;
	p++;
	for (int i = 0; i < nsegments; i++) {
		const char *seg = segments[i];
		size_t l = strcspn(p, "/");

		if (strcmp(seg, "**") == 0)
			return true; /* any depth, zero segments included */
		if (*p == '\0')
			return false; /* path ended before the pattern */
		if (strcmp(seg, "*") == 0) {
			if (l == 0)
				return false;
		} else if (strlen(seg) != l || memcmp(seg, p, l) != 0) {
			return false;
		}
		p += l;
		if (*p == '/')
			p++;
	}
	return *p == '\0'; /* the whole path consumed; a trailing '/' was skipped above */
}

static bool rules_method_matches(const struct rule *r, const char *method)
{
	if (r->methods == NULL)
		return true;
	for (int i = 0; i < r->nmethods; i++)
		if (strcmp(r->methods[i], method) == 0)
			return true;
	return false;
}

/* Host names compare case-insensitively; a rule host without a port matches any port. */
static bool rules_host_matches(const struct rule *r, const char *host)
{
	size_t rl;

	if (r->host == NULL)
		return true;
	if (host == NULL)
		return false;
	rl = strlen(r->host);
	if (strncasecmp(r->host, host, rl) != 0)
		return false;
	return host[rl] == '\0' || (host[rl] == ':' && strchr(r->host, ':') == NULL);
}

const struct rule *rules_match(const struct rules *rs, const char *method, const char *host,
                               const char *path)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct rule *r = &rs->v[i];
		if (rules_method_matches(r, method) && rules_host_matches(r, host) &&
		    rules_path_matches(r->segments, r->nsegments, path))
			return r;
	}
	return NULL;
}
