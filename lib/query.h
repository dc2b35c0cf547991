/* query: application/x-www-form-urlencoded (query strings and form bodies). */
#ifndef POSTERN_QUERY_H
#define POSTERN_QUERY_H

#include <stddef.h>

/* Syntax: pairs separated by '&' (empty pairs as in "a=1&&b=2" are skipped; ';' is an
 * ordinary byte); name and value split at the first '='; a pair without '=' has an empty
 * value. '+' decodes to a space and %XX (either case) to a byte. Malformed: a '%' without two
 * hex digits, or a NUL byte raw or decoded (%00), in a name or a value. */

/* Finds name (compared after decoding, exactly, case-sensitive) in the len bytes of qs (which
 * need not be NUL-terminated; NULL if len is 0). Returns 1 and writes the decoded value
 * NUL-terminated into out (outlen bytes) if name occurs exactly once; 0 if it is absent; -1 if
 * it occurs more than once (ambiguous), its value does not fit outlen with the NUL, any pair of
 * qs is malformed (a malformed string is rejected whole), or name is NULL. out is written only
 * when 1 is returned. */
int query_get(const char *qs, size_t len, const char *name, char *out, size_t outlen);

/* Iterates over the pairs of qs in order; the iterator points into qs, which must outlive it. */
struct query_iter {
	const char *p, *end;
};

void query_iter_init(struct query_iter *it, const char *qs, size_t len);

/* Decodes the next pair into name and value (namelen/valuelen bytes each, NUL-terminated) and
 * returns 1; returns 0 at the end; -1 if the pair is malformed or its name or value does not
 * fit. On 0 and -1 nothing is written and the iterator stays where it is (so -1 repeats). */
int query_next(struct query_iter *it, char *name, size_t namelen, char *value, size_t valuelen);

#endif
