/* roles: every role's permissions as the authorizer keeps them (postern.load_role_permissions),
 * so that a session looked up without them gets its role's list from memory. */
#ifndef POSTERN_ROLES_H
#define POSTERN_ROLES_H

#include <stddef.h>

/* A bound, so that a schema with absurdly many roles costs a full lookup instead of memory. */
#define ROLES_MAX 1024

struct roles;

/* An empty map; NULL on allocation failure. Immutable once built: readers need no lock. */
struct roles *roles_new(void);
void roles_free(struct roles *r);
/* Adds a role and its space-separated permissions; -1 if the name or the list is longer than
 * an identity holds, the role is already there, the map is full, or memory ran out. */
int roles_add(struct roles *r, const char *role, const char *permissions);
/* Copies role's permissions into out ("" for a role without any, which is every role the map
 * does not name). */
void roles_permissions(const struct roles *r, const char *role, char *out, size_t n);
size_t roles_count(const struct roles *r);

#endif
