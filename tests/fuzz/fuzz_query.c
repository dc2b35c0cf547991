/* fuzz_query: query iteration and lookup on arbitrary bytes; the iterator stays within the
 * input, and query_get agrees with what the iterator sees. */
#include "fuzz.h"
#include "query.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_QUERY_CROSS_MAX 16 /* pairs cross-checked against query_get */

/* How many pairs of qs are called name (the iteration is known to succeed). */
static int fuzz_query_count(const char *qs, size_t size, const char *name, char *n, char *v)
{
	struct query_iter it;
	int count = 0;

	query_iter_init(&it, qs, size);
	while (query_next(&it, n, size + 1, v, size + 1) == 1)
		count += strcmp(n, name) == 0;
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *qs = calloc(size ? size : 1, 1); /* exact size: ASan sees any read past len */
	char *name = malloc(size + 1), *value = malloc(size + 1);
	char *n2 = malloc(size + 1), *v2 = malloc(size + 1), *got = malloc(size + 1);
	struct query_iter it;
	const char *last;
	int rc, pairs = 0;

	if (!qs || !name || !value || !n2 || !v2 || !got)
		goto out;
	if (size)
		memcpy(qs, data, size);
	query_iter_init(&it, qs, size);
	last = it.p;
	while ((rc = query_next(&it, name, size + 1, value, size + 1)) == 1) {
		if (it.p < last || it.p > qs + size || it.end != qs + size)
			abort();
		if (strlen(name) > size || strlen(value) > size)
			abort();
		last = it.p;
		pairs++;
	}
	if (rc == -1) {
		/* buffers of the input's size always fit: the string is malformed, rejected whole */
		if (it.p < qs || it.p > qs + size || query_get(qs, size, "a", got, size + 1) != -1)
			abort();
		goto out;
	}
	if (rc != 0 || (pairs == 0 && query_get(qs, size, "a", got, size + 1) != 0))
		abort();
	query_iter_init(&it, qs, size);
	for (int i = 0;
	     i < FUZZ_QUERY_CROSS_MAX && query_next(&it, name, size + 1, value, size + 1) == 1;
	     i++) {
		int count = fuzz_query_count(qs, size, name, n2, v2);
		int want = count == 1 ? 1 : -1;

		if (query_get(qs, size, name, got, size + 1) != want ||
		    (want == 1 && strcmp(got, value) != 0))
			abort();
	}
out:
	free(qs);
	free(name);
	free(value);
	free(n2);
	free(v2);
	free(got);
	return 0;
}
