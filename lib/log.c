/* log: leveled, escaped, one-write-per-line logging to stderr or syslog. */
#include "log.h"

#include "crypto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static struct {
	char ident[64];
	enum log_target target;
	enum log_level level;
	int fd;
} log_state = { "postern", LOG_TARGET_STDERR, LOG_LVL_INFO, 2 };

static const char *const log_level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *ident, enum log_target target, enum log_level level, int facility, int fd)
{
	snprintf(log_state.ident, sizeof log_state.ident, "%s", ident);
	log_state.target = target;
	log_state.level = level;
	log_state.fd = fd;
	if (target == LOG_TARGET_SYSLOG)
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, facility);
}

enum log_level log_get_level(void)
{
	return log_state.level;
}

size_t log_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dstlen == 0)
		return 0;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else if (c == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

static void log_write_stderr(enum log_level level, const char *msg)
{
	char line[LOG_LINE_MAX * 4 + 128];
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof line, "%s %s[%ld] %s: %s\n", stamp, log_state.ident,
	             (long)getpid(), log_level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	/* One write per line keeps lines of concurrent threads and processes whole. */
	if (write(log_state.fd, line, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char raw[LOG_LINE_MAX];
	char esc[LOG_LINE_MAX * 4];
	va_list ap;
	int n;

	if (level > log_state.level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	log_escape(esc, sizeof esc, raw, strnlen(raw, sizeof raw));
	if (log_state.target == LOG_TARGET_SYSLOG)
		syslog(syslog_prio[level], "%s", esc);
	else
		log_write_stderr(level, esc);
}

void log_secret_tag(const void *secret, size_t len, char out[LOG_TAG_LEN + 1])
{
	unsigned char digest[CRYPTO_SHA256_LEN];

	crypto_sha256(secret, len, digest);
	crypto_hex(digest, LOG_TAG_LEN / 2, out);
}
