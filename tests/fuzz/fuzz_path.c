/* fuzz_path: path_normalize on arbitrary bytes; a result is absolute, has no empty or dot
 * segment, is strict UTF-8 and normalises to itself; the query points into the input. */
#include "fuzz.h"
#include "path.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* The result re-encoded so that it means itself again: '%', '?' and '#' escaped. */
static size_t fuzz_path_reencode(const char *s, size_t n, char *dst)
{
	static const char special[] = "%?#", *const escaped[] = { "%25", "%3F", "%23" };
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		const char *e = s[i] ? strchr(special, s[i]) : NULL;
		if (e) {
			memcpy(dst + o, escaped[e - special], 3);
			o += 3;
		} else {
			dst[o++] = s[i];
		}
	}
	return o;
}

static void fuzz_path_check(const char *uri, size_t size, const char *out, const char *q,
                            size_t qlen)
{
	static char enc[3 * PATH_LEN_MAX], again[PATH_LEN_MAX + 1], small[PATH_LEN_MAX + 1];
	const char *qmark = memchr(uri, '?', size), *q2;
	size_t n = strlen(out), elen, q2len;

	if (qmark ? (q != qmark + 1 || q + qlen != uri + size) : (q != NULL || qlen != 0))
		abort();
	if (n == 0 || out[0] != '/' || strstr(out, "//") || strstr(out, "/./") ||
	    strstr(out, "/../") || !utf8_valid(out, n) || strchr(out, '\\'))
		abort();
	if ((n >= 2 && strcmp(out + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(out + n - 3, "/..") == 0))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
	/* idempotence */
	elen = fuzz_path_reencode(out, n, enc);
	if (elen <= PATH_LEN_MAX) {
		if (path_normalize(enc, elen, again, sizeof again, &q2, &q2len) != PATH_OK ||
		    strcmp(again, out) != 0 || q2 != NULL)
			abort();
	}
	/* one byte too small: refused, and nothing written */
	memset(small, 'X', sizeof small);
	q2 = NULL;
	q2len = 7;
	if (path_normalize(uri, size, small, n, &q2, &q2len) != PATH_TOO_LONG || small[0] != 'X' ||
	    q2 != NULL || q2len != 7)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[PATH_LEN_MAX + 1];
	/* an exact-size copy, so ASan sees any read past len */
	char *uri = calloc(size ? size : 1, 1);
	const char *q = NULL;
	size_t qlen = 0;
	int rc;

	if (uri == NULL)
		return 0;
	if (size)
		memcpy(uri, data, size);
	rc = path_normalize(uri, size, out, sizeof out, &q, &qlen);
	if (size > PATH_LEN_MAX && uri[0] == '/' && rc != PATH_TOO_LONG)
		abort();
	if (rc == PATH_OK)
		fuzz_path_check(uri, size, out, q, qlen);
	else if (rc < PATH_FRAGMENT || rc > PATH_EMPTY ||
	         strcmp(path_error_message(rc), "invalid path") == 0)
		abort();
	free(uri);
	return 0;
}
