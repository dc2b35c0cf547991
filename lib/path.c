/* path: normalising the request path from REQUEST_URI the way the web server serves it. */
#include "path.h"

#include "utf8.h"

#include <string.h>

static const char *const path_messages[] = {
	[-PATH_OK] = "ok",
	[-PATH_EMPTY] = "empty request URI",
	[-PATH_NOT_ABSOLUTE] = "path is not absolute",
	[-PATH_TOO_LONG] = "path too long",
	[-PATH_BAD_PERCENT] = "malformed percent escape in path",
	[-PATH_ENCODED_SLASH] = "encoded slash in path",
	[-PATH_NUL] = "NUL byte in path",
	[-PATH_BACKSLASH] = "backslash in path",
	[-PATH_BAD_UTF8] = "invalid UTF-8 in path",
	[-PATH_CONTROL] = "control character in path",
	[-PATH_FRAGMENT] = "fragment in request URI",
};

/* What a byte means in a path, raw or decoded; 0 = an ordinary byte. */
static int path_byte_error(unsigned char c)
{
	static const struct {
		unsigned char c;
		int err;
	} special[] = {
		{ '\0', PATH_NUL },
		{ '\\', PATH_BACKSLASH },
		{ 0x7f, PATH_CONTROL },
	};

	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
		if (c == special[i].c)
			return special[i].err;
	return c < 0x20 ? PATH_CONTROL : 0;
}

static int path_hex(unsigned char c)
{
	static const char digits[] = "0123456789abcdef0123456789ABCDEF";
	const char *d = c ? strchr(digits, c) : NULL;

	return d ? (int)((d - digits) & 15) : -1;
}

/* Percent-decodes raw[0..n) into dec (room for n bytes); returns the decoded length or an error. */
static long path_decode(const char *raw, size_t n, char *dec)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		int err;

		if (c == '#')
			return PATH_FRAGMENT;
		if (c == '%') {
			int hi = i + 2 < n ? path_hex((unsigned char)raw[i + 1]) : -1;
			int lo = hi >= 0 ? path_hex((unsigned char)raw[i + 2]) : -1;

			if (lo < 0)
				return PATH_BAD_PERCENT;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == '/')
				return PATH_ENCODED_SLASH;
		}
		err = path_byte_error(c);
		if (err)
			return err;
		dec[o++] = (char)c;
	}
	return (long)o;
}

/* Removes dot segments and collapses slashes of the decoded absolute path d[0..n), in place;
 * returns the new length. The written part never overtakes the part still to read. */
static size_t path_remove_dots(char *d, size_t n)
{
	size_t o = 1, i = 0;

	while (i < n) {
		size_t s, seg;

		while (i < n && d[i] == '/')
			i++;
		if (i == n)
			break;
		for (s = i; i < n && d[i] != '/'; i++)
			;
		seg = i - s;
		/* At this point d[0..o) always ends with '/'. */
		if (seg == 1 && d[s] == '.')
			continue;
		if (seg == 2 && d[s] == '.' && d[s + 1] == '.') {
			if (o > 1)
				for (o--; d[o - 1] != '/'; o--)
					;
			continue;
		}
		memmove(d + o, d + s, seg);
		o += seg;
		if (i < n)
			d[o++] = '/';
	}
	return o;
}

int path_normalize(const char *uri, size_t len, char *out, size_t outlen, const char **query,
                   size_t *query_len)
{
	char buf[PATH_LEN_MAX];
	const char *q;
	size_t plen, qlen = 0;
	long n;

	if (uri == NULL || len == 0)
		return PATH_EMPTY;
	if (uri[0] != '/')
		return PATH_NOT_ABSOLUTE;
	/* The whole URI, so that a caller bounding it with strnlen(uri, PATH_LEN_MAX + 1) never
	 * gets a silently truncated query. */
	if (len > PATH_LEN_MAX)
		return PATH_TOO_LONG;
	q = memchr(uri, '?', len);
	plen = q ? (size_t)(q - uri) : len;
	n = path_decode(uri, plen, buf);
	if (n < 0)
		return (int)n;
	if (!utf8_valid(buf, (size_t)n))
		return PATH_BAD_UTF8;
	if (q) {
		q++;
		qlen = len - plen - 1;
		if (memchr(q, '#', qlen))
			return PATH_FRAGMENT;
	}
	n = (long)path_remove_dots(buf, (size_t)n);
	if ((size_t)n >= outlen)
		return PATH_TOO_LONG;
	memcpy(out, buf, (size_t)n);
	out[n] = '\0';
	*query = q;
	*query_len = qlen;
	return PATH_OK;
}

const char *path_error_message(int err)
{
	if (err > 0 || -err >= (int)(sizeof path_messages / sizeof path_messages[0]))
		return "invalid path";
	return path_messages[-err];
}
