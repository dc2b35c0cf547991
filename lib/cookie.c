/* cookie: finding one cookie in a Cookie request header. */
#include "cookie.h"

#include <stdbool.h>
#include <string.h>

/* RFC 6265 §4.1.1: cookie-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E, that is the
 * visible ASCII characters but DQUOTE, comma, semicolon and backslash. */
static bool cookie_octet(unsigned char c)
{
	return c >= 0x21 && c <= 0x7E && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool cookie_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* Narrows [*s, *e) by the spaces and tabs at both ends. */
static void cookie_trim(const char **s, const char **e)
{
	while (*s < *e && cookie_ws(**s))
		(*s)++;
	while (*e > *s && cookie_ws((*e)[-1]))
		(*e)--;
}

int cookie_find(const char *header, const char *name, const char **value, size_t *len)
{
	const char *p, *end, *found = NULL;
	size_t hlen, nlen, flen = 0;
	int count = 0;

	if (header == NULL)
		return 0;
	if (name == NULL || name[0] == '\0')
		return -1;
	hlen = strnlen(header, COOKIE_HEADER_MAX + 1);
	if (hlen > COOKIE_HEADER_MAX)
		return -1;
	nlen = strlen(name);
	end = header + hlen;
	for (p = header; p < end;) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *pe = semi ? semi : end, *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ns = p, *ne = eq, *vs, *ve = pe;

		p = semi ? semi + 1 : end;
		if (eq == NULL)
			continue; /* not a name=value pair: someone else's malformed cookie */
		cookie_trim(&ns, &ne);
		if ((size_t)(ne - ns) != nlen || memcmp(ns, name, nlen) != 0)
			continue;
		vs = eq + 1;
		cookie_trim(&vs, &ve);
		if (ve - vs >= 2 && vs[0] == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		for (const char *c = vs; c < ve; c++)
			if (!cookie_octet((unsigned char)*c))
				return -1;
		found = vs;
		flen = (size_t)(ve - vs);
		count++;
	}
	if (count != 1)
		return count == 0 ? 0 : -1;
	*value = found;
	*len = flen;
	return 1;
}
