/* roles: every role's permissions as the authorizer keeps them (postern.load_role_permissions),
 * so that a session looked up without them gets its role's list from memory. */
#include "roles.h"

#include "identity.h"

#include <stdlib.h>
#include <string.h>

struct roles_entry {
	char *name;        /* name \0 permissions \0, one allocation */
	const char *perms; /* into name */
};

/* Few roles (a handful in practice): a sorted array would not pay for itself. */
struct roles {
	struct roles_entry *v;
	size_t n, cap;
};

struct roles *roles_new(void)
{
	return calloc(1, sizeof(struct roles));
}

void roles_free(struct roles *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	free(r);
}

static const struct roles_entry *roles_find(const struct roles *r, const char *role)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, role) == 0)
			return &r->v[i];
	return NULL;
}

int roles_add(struct roles *r, const char *role, const char *permissions)
{
	size_t rl = strlen(role), pl = strlen(permissions);
	char *s;

	if (rl >= IDENTITY_ROLE_SIZE || pl >= IDENTITY_PERMS_MAX || r->n >= ROLES_MAX ||
	    roles_find(r, role) != NULL)
		return -1;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct roles_entry *v = realloc(r->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	if ((s = malloc(rl + pl + 2)) == NULL)
		return -1;
	memcpy(s, role, rl + 1);
	memcpy(s + rl + 1, permissions, pl + 1);
	r->v[r->n].name = s;
	r->v[r->n].perms = s + rl + 1;
	r->n++;
	return 0;
}

void roles_permissions(const struct roles *r, const char *role, char *out, size_t n)
{
	const struct roles_entry *e = roles_find(r, role);
	const char *p = e != NULL ? e->perms : "";
	size_t l = strlen(p);

	if (n == 0)
		return;
	if (l >= n) /* roles_add bounded it by an identity's field; a smaller out gets nothing */
		l = 0;
	memcpy(out, p, l);
	out[l] = '\0';
}

size_t roles_count(const struct roles *r)
{
	return r->n;
}
