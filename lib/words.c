/* words: lists of words separated by spaces (permissions, origins, algorithms, claim values). */
#include "words.h"

#include <string.h>
#include <strings.h>

int words_next(const char **p, const char **word, size_t *len)
{
	const char *s = *p + strspn(*p, " ");

	if (*s == '\0') {
		*p = s;
		return 0;
	}
	*word = s;
	*len = strcspn(s, " ");
	*p = s + *len;
	return 1;
}

bool words_has(const char *list, const char *word, size_t len, bool nocase)
{
	const char *w;
	size_t l;

	while (words_next(&list, &w, &l))
		if (l == len && (nocase ? strncasecmp(w, word, l) : memcmp(w, word, l)) == 0)
			return true;
	return false;
}
