/* test_path: lib/path request-path normalisation (cases in tests/data/path.tsv) and lib/utf8. */
#include "path.h"
#include "suites.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CASES_MAX 256
#define PATH_FIELD_MAX 256

/* One line of tests/data/path.tsv, unescaped. */
static struct path_case {
	char in[PATH_FIELD_MAX], want[PATH_FIELD_MAX], query[PATH_FIELD_MAX];
	size_t in_len, want_len, query_len;
	int err, has_query, line;
} path_cases[PATH_CASES_MAX];
static int path_ncases = -1; /* -1: the file could not be read or parsed */

static const struct {
	const char *name;
	int err;
} path_errors[] = {
	{ "PATH_EMPTY", PATH_EMPTY },
	{ "PATH_NOT_ABSOLUTE", PATH_NOT_ABSOLUTE },
	{ "PATH_TOO_LONG", PATH_TOO_LONG },
	{ "PATH_BAD_PERCENT", PATH_BAD_PERCENT },
	{ "PATH_ENCODED_SLASH", PATH_ENCODED_SLASH },
	{ "PATH_NUL", PATH_NUL },
	{ "PATH_BACKSLASH", PATH_BACKSLASH },
	{ "PATH_BAD_UTF8", PATH_BAD_UTF8 },
	{ "PATH_CONTROL", PATH_CONTROL },
	{ "PATH_FRAGMENT", PATH_FRAGMENT },
};

/* Unescapes s[0..n) (\\ \t \n \r \xHH) into dst; returns the length or -1. */
static long path_unescape(const char *s, size_t n, char *dst)
{
	static const char from[] = "\\tnr", to[] = "\\\t\n\r";
	size_t o = 0;

	if (n >= PATH_FIELD_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *e;

		if (s[i] != '\\') {
			dst[o++] = s[i];
			continue;
		}
		if (++i == n)
			return -1;
		if (s[i] == 'x') {
			char hex[3] = { 0 };

			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return -1;
			memcpy(hex, s + i + 1, 2);
			dst[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else if (s[i] != '\0' && (e = strchr(from, s[i])) != NULL) {
			dst[o++] = to[e - from];
		} else {
			return -1;
		}
	}
	dst[o] = '\0';
	return (long)o;
}

/* Splits line at tabs into at most 4 fields; returns how many. */
static int path_fields(char *line, char *f[4], size_t len[4])
{
	int k = 0;
	char *p = line;

	for (;;) {
		char *tab = strchr(p, '\t');

		f[k] = p;
		len[k] = tab ? (size_t)(tab - p) : strlen(p);
		k++;
		if (tab == NULL || k == 4)
			return k;
		p = tab + 1;
	}
}

static int path_parse_case(char *line, int lineno, struct path_case *c)
{
	char *f[4], want[PATH_FIELD_MAX];
	size_t len[4];
	int k = path_fields(line, f, len);
	long n;

	memset(c, 0, sizeof *c);
	c->line = lineno;
	if (k < 2)
		return -1;
	if ((n = path_unescape(f[0], len[0], c->in)) < 0)
		return -1;
	c->in_len = (size_t)n;
	if ((n = path_unescape(f[1], len[1], want)) < 0)
		return -1;
	if (want[0] == '/') {
		memcpy(c->want, want, (size_t)n + 1);
		c->want_len = (size_t)n;
	} else {
		size_t e;
		for (e = 0; e < sizeof path_errors / sizeof path_errors[0]; e++)
			if (strcmp(want, path_errors[e].name) == 0)
				break;
		if (e == sizeof path_errors / sizeof path_errors[0])
			return -1;
		c->err = path_errors[e].err;
	}
	if (k >= 3 && !(len[2] == 1 && f[2][0] == '-')) {
		if ((n = path_unescape(f[2], len[2], c->query)) < 0)
			return -1;
		c->query_len = (size_t)n;
		c->has_query = 1;
	}
	return 0;
}

static void path_load_cases(void)
{
	const char *src = getenv("POSTERN_SRCDIR");
	char file[512], line[1024];
	int lineno = 0, n = 0;
	FILE *f;

	snprintf(file, sizeof file, "%s/tests/data/path.tsv", src ? src : ".");
	if ((f = fopen(file, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		size_t l = strlen(line);

		lineno++;
		if (l > 0 && line[l - 1] == '\n')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (n == PATH_CASES_MAX || path_parse_case(line, lineno, &path_cases[n]) != 0) {
			fprintf(stderr, "%s:%d: bad test case\n", file, lineno);
			n = -1;
			break;
		}
		n++;
	}
	fclose(f);
	path_ncases = n;
}

START_TEST(test_table_loaded)
{
	ck_assert_msg(path_ncases > 50,
	              "tests/data/path.tsv not found or malformed (POSTERN_SRCDIR?)");
}
END_TEST

START_TEST(test_table)
{
	const struct path_case *c = &path_cases[_i];
	char out[PATH_LEN_MAX + 1];
	const char *q = "sentinel";
	size_t qlen = 12345;
	int rc;

	memset(out, 'X', sizeof out);
	rc = path_normalize(c->in, c->in_len, out, sizeof out, &q, &qlen);
	ck_assert_msg(rc == c->err, "path.tsv:%d: got %d (%s), want %d", c->line, rc,
	              path_error_message(rc), c->err);
	if (rc != PATH_OK) {
		ck_assert_msg(out[0] == 'X' && qlen == 12345 && strcmp(q, "sentinel") == 0,
		              "path.tsv:%d: outputs written on error", c->line);
		return;
	}
	ck_assert_msg(strlen(out) == c->want_len && memcmp(out, c->want, c->want_len) == 0,
	              "path.tsv:%d: got \"%s\", want \"%s\"", c->line, out, c->want);
	if (!c->has_query) {
		ck_assert_msg(q == NULL && qlen == 0, "path.tsv:%d: query not NULL", c->line);
	} else {
		ck_assert_msg(q != NULL && qlen == c->query_len && memcmp(q, c->query, qlen) == 0,
		              "path.tsv:%d: wrong query", c->line);
		ck_assert_ptr_eq(q, (const char *)memchr(c->in, '?', c->in_len) + 1);
	}
	/* a normalised path with nothing that decodes normalises to itself */
	if (strpbrk(out, "%?#") == NULL) {
		char again[PATH_LEN_MAX + 1];
		ck_assert_int_eq(path_normalize(out, strlen(out), again, sizeof again, &q, &qlen),
		                 PATH_OK);
		ck_assert_str_eq(again, out);
	}
}
END_TEST

START_TEST(test_lengths)
{
	static char uri[PATH_LEN_MAX + 64];
	char out[PATH_LEN_MAX + 1], small[6];
	const char *q = NULL;
	size_t qlen = 0;

	/* exactly PATH_LEN_MAX raw bytes are fine; one more is too long, however short the result */
	uri[0] = '/';
	memset(uri + 1, 'a', PATH_LEN_MAX - 1);
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX, out, sizeof out, &q, &qlen), PATH_OK);
	ck_assert_uint_eq(strlen(out), PATH_LEN_MAX);
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX, out, PATH_LEN_MAX, &q, &qlen),
	                 PATH_TOO_LONG);
	uri[PATH_LEN_MAX] = 'a';
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX + 1, out, sizeof out, &q, &qlen),
	                 PATH_TOO_LONG);
	for (size_t i = 0; i + 1 < PATH_LEN_MAX + 1; i += 2)
		memcpy(uri + i, "/.", 2);
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX + 1, out, sizeof out, &q, &qlen),
	                 PATH_TOO_LONG);
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX, out, sizeof out, &q, &qlen), PATH_OK);
	ck_assert_str_eq(out, "/");

	/* the limit is on the whole URI, query included, so a caller that bounds REQUEST_URI
	 * with strnlen(uri, PATH_LEN_MAX + 1) can never act on a truncated query */
	memcpy(uri, "/a?", 3);
	memset(uri + 3, 'q', sizeof uri - 3);
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX, out, sizeof out, &q, &qlen), PATH_OK);
	ck_assert_str_eq(out, "/a");
	ck_assert_ptr_eq(q, uri + 3);
	ck_assert_uint_eq(qlen, PATH_LEN_MAX - 3);
	ck_assert_int_eq(path_normalize(uri, PATH_LEN_MAX + 1, out, sizeof out, &q, &qlen),
	                 PATH_TOO_LONG);
	ck_assert_int_eq(path_normalize(uri, sizeof uri, out, sizeof out, &q, &qlen),
	                 PATH_TOO_LONG);

	/* the result with its NUL must fit outlen, and nothing is written when it does not */
	memset(small, 'X', sizeof small);
	ck_assert_int_eq(path_normalize("/abcde", 6, small, 6, &q, &qlen), PATH_TOO_LONG);
	ck_assert_int_eq(small[0], 'X');
	ck_assert_int_eq(path_normalize("/a/../abcd", 10, small, 6, &q, &qlen), PATH_OK);
	ck_assert_str_eq(small, "/abcd");
	ck_assert_int_eq(path_normalize("/", 1, small, 0, &q, &qlen), PATH_TOO_LONG);
	ck_assert_int_eq(path_normalize(NULL, 0, out, sizeof out, &q, &qlen), PATH_EMPTY);
	/* len is what counts, not a NUL: the byte after the given length is not read */
	ck_assert_int_eq(path_normalize("/ab%2f", 3, out, sizeof out, &q, &qlen), PATH_OK);
	ck_assert_str_eq(out, "/ab");
}
END_TEST

START_TEST(test_messages)
{
	for (size_t i = 0; i < sizeof path_errors / sizeof path_errors[0]; i++) {
		const char *m = path_error_message(path_errors[i].err);
		ck_assert_ptr_nonnull(m);
		ck_assert_str_ne(m, "invalid path");
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(m, path_error_message(path_errors[j].err));
	}
	ck_assert_str_eq(path_error_message(PATH_ENCODED_SLASH), "encoded slash in path");
	ck_assert_str_eq(path_error_message(-99), "invalid path");
	ck_assert_str_eq(path_error_message(7), "invalid path");
}
END_TEST

static const struct {
	const char *s;
	int valid;
} utf8_cases[] = {
	{ "", 1 },
	{ "abc", 1 },
	{ "\xc3\xa9", 1 },
	{ "\xc2\x80", 1 },
	{ "\xdf\xbf", 1 },
	{ "\xe0\xa0\x80", 1 },
	{ "\xed\x9f\xbf", 1 },
	{ "\xee\x80\x80", 1 },
	{ "\xef\xbf\xbf", 1 },
	{ "\xf0\x90\x80\x80", 1 },
	{ "\xf4\x8f\xbf\xbf", 1 },
	{ "\xc0\xae", 0 },             /* overlong '.' */
	{ "\xc1\xbf", 0 },             /* overlong */
	{ "\xe0\x80\xae", 0 },         /* overlong */
	{ "\xe0\x9f\xbf", 0 },         /* overlong */
	{ "\xf0\x80\x80\xae", 0 },     /* overlong */
	{ "\xf0\x8f\xbf\xbf", 0 },     /* overlong */
	{ "\xed\xa0\x80", 0 },         /* surrogate U+D800 */
	{ "\xed\xbf\xbf", 0 },         /* surrogate U+DFFF */
	{ "\xf4\x90\x80\x80", 0 },     /* U+110000 */
	{ "\xf5\x80\x80\x80", 0 },     /* lead above F4 */
	{ "\xf8\x88\x80\x80\x80", 0 }, /* 5-byte form */
	{ "\xff", 0 },
	{ "\x80", 0 },     /* stray continuation */
	{ "a\xbf", 0 },    /* stray continuation */
	{ "\xc3", 0 },     /* truncated */
	{ "\xe2\x82", 0 }, /* truncated */
	{ "\xc3\x28", 0 }, /* bad continuation */
	{ "\xe2\x28\xa1", 0 },
	{ "\xe2\x82\x28", 0 },
	{ "\xf0\x9f\x98", 0 },
	{ "\xf0\x9f\x98\x28", 0 },
};

START_TEST(test_utf8)
{
	const char *s = utf8_cases[_i].s;

	ck_assert_msg(utf8_valid(s, strlen(s)) == (utf8_cases[_i].valid != 0), "utf8 case %d", _i);
}
END_TEST

START_TEST(test_utf8_nul_and_bounds)
{
	ck_assert(utf8_valid(NULL, 0));
	ck_assert(utf8_valid("a\0b", 3));
	ck_assert(!utf8_valid("\xc3\xa9", 1)); /* len is the bound */
	ck_assert(utf8_valid("\xc3\xa9\xc3", 2));
}
END_TEST

Suite *suite_path(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("core");

	path_load_cases();
	tcase_add_test(tc, test_table_loaded);
	tcase_add_loop_test(tc, test_table, 0, path_ncases > 0 ? path_ncases : 0);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_messages);
	tcase_add_loop_test(tc, test_utf8, 0, sizeof utf8_cases / sizeof utf8_cases[0]);
	tcase_add_test(tc, test_utf8_nul_and_bounds);
	suite_add_tcase(s, tc);
	return s;
}
