/* words: lists of words separated by spaces (permissions, origins, algorithms, claim values). */
#ifndef POSTERN_WORDS_H
#define POSTERN_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* The next word at *p, after any spaces: 1 with *word and *len set and *p moved past it, 0 at
 * the end of the list. */
int words_next(const char **p, const char **word, size_t *len);

/* Whether the len bytes at word are one of the words of list; with nocase, compared
 * ASCII-case-insensitively. */
bool words_has(const char *list, const char *word, size_t len, bool nocase);

#endif
