/* query: application/x-www-form-urlencoded (query strings and form bodies). */
#include "query.h"

#include <string.h>

static int query_hex(unsigned char c)
{
	static const char digits[] = "0123456789abcdef0123456789ABCDEF";
	const char *d = c ? strchr(digits, c) : NULL;

	return d ? (int)((d - digits) & 15) : -1;
}

/* Decodes s[0..n) into dst (dstlen bytes, NUL-terminated), or only measures it when dst is
 * NULL. Returns the decoded length, or -1 if malformed or (with dst) too long for dstlen. */
static long query_decode(const char *s, size_t n, char *dst, size_t dstlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++, o++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? query_hex((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? query_hex((unsigned char)s[i + 2]) : -1;

			if (lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return -1;
		if (dst) {
			if (o + 1 >= dstlen)
				return -1;
			dst[o] = (char)c;
		}
	}
	if (dst) {
		if (o >= dstlen)
			return -1;
		dst[o] = '\0';
	}
	return (long)o;
}

/* True if s[0..n) decodes to exactly the C string name (s already known well-formed). */
static int query_name_is(const char *s, size_t n, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++, k++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			c = (unsigned char)(query_hex((unsigned char)s[i + 1]) << 4 |
			                    query_hex((unsigned char)s[i + 2]));
			i += 2;
		}
		if (name[k] == '\0' || (unsigned char)name[k] != c)
			return 0;
	}
	return name[k] == '\0';
}

/* One pair of the string: name s[0..n), value v[0..vn). */
struct query_pair {
	const char *s, *v;
	size_t n, vn;
};

/* Finds the next non-empty pair at or after it->p; returns the position after it, or NULL at
 * the end. Does not advance it. */
static const char *query_split(const struct query_iter *it, struct query_pair *pair)
{
	const char *p = it->p, *amp, *eq;

	while (p != NULL && p < it->end && *p == '&')
		p++;
	if (p == NULL || p >= it->end)
		return NULL;
	amp = memchr(p, '&', (size_t)(it->end - p));
	if (amp == NULL)
		amp = it->end;
	eq = memchr(p, '=', (size_t)(amp - p));
	pair->s = p;
	pair->n = (size_t)((eq ? eq : amp) - p);
	pair->v = eq ? eq + 1 : amp;
	pair->vn = (size_t)(amp - pair->v);
	return amp;
}

void query_iter_init(struct query_iter *it, const char *qs, size_t len)
{
	it->p = qs;
	it->end = qs ? qs + len : NULL;
}

int query_next(struct query_iter *it, char *name, size_t namelen, char *value, size_t valuelen)
{
	struct query_pair pair;
	const char *next = query_split(it, &pair);
	long nl, vl;

	if (next == NULL)
		return 0;
	/* Measure both first, so nothing is written for a pair that fails. */
	nl = query_decode(pair.s, pair.n, NULL, 0);
	vl = query_decode(pair.v, pair.vn, NULL, 0);
	if (nl < 0 || vl < 0 || (size_t)nl >= namelen || (size_t)vl >= valuelen)
		return -1;
	query_decode(pair.s, pair.n, name, namelen);
	query_decode(pair.v, pair.vn, value, valuelen);
	it->p = next;
	return 1;
}

int query_get(const char *qs, size_t len, const char *name, char *out, size_t outlen)
{
	struct query_iter it;
	struct query_pair pair, found = { 0 };
	const char *next;
	int count = 0;

	if (name == NULL)
		return -1;
	query_iter_init(&it, qs, len);
	while ((next = query_split(&it, &pair)) != NULL) {
		if (query_decode(pair.s, pair.n, NULL, 0) < 0 ||
		    query_decode(pair.v, pair.vn, NULL, 0) < 0)
			return -1;
		if (query_name_is(pair.s, pair.n, name)) {
			found = pair;
			count++;
		}
		it.p = next;
	}
	if (count != 1)
		return count == 0 ? 0 : -1;
	if ((size_t)query_decode(found.v, found.vn, NULL, 0) >= outlen)
		return -1;
	query_decode(found.v, found.vn, out, outlen);
	return 1;
}
