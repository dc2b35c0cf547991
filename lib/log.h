/* log: leveled, escaped, one-write-per-line logging to stderr or syslog. */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

/* A tag that names a secret without revealing it: the first 12 hex digits of its SHA-256. */
#define LOG_TAG_LEN 12

/* ident: program name; fd: where stderr lines go (2 normally; tests pass a pipe). */
void log_init(const char *ident, enum log_target target, enum log_level level, int facility,
              int fd);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Writes the tag of secret[0..len) into out (LOG_TAG_LEN hex digits + NUL). */
void log_secret_tag(const void *secret, size_t len, char out[LOG_TAG_LEN + 1]);

/* Escapes src into dst (always NUL-terminated): bytes outside printable ASCII become \xNN,
 * backslash becomes \\. Returns the length written; truncates at a whole escape. */
size_t log_escape(char *dst, size_t dstlen, const char *src, size_t srclen);

#endif
