/* config: the key table, the `key = value` file parser, validation, printing and docs output. */
#include "config.h"

#include "crypto.h"
#include "db.h"
#include "fcgi.h"
#include "jws.h"
#include "oidc.h"
#include "url.h"
#include "words.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_LINE_MAX 4096
#define CONFIG_KEY_MAX 64

struct config_key {
	const char *name;
	enum config_type type;
	const char *def;
	long min, max;
	const char *choices;
	unsigned flags;
	config_check_fn check;
	const char *help;
	size_t offset;
};

static const struct config_key config_keys[CONFIG_KEY_COUNT] = {
#define CFG_X_KEY(name_, type_, def_, min_, max_, choices_, flags_, check_, help_) \
	{ #name_,   type_,  def_,   min_,  max_,                                   \
	  choices_, flags_, check_, help_, offsetof(struct config, name_) },
	CONFIG_KEYS(CFG_X_KEY)
#undef CFG_X_KEY
};

struct config_errs {
	char *buf;
	size_t len, cap;
	int count;
};

static void config_errf(struct config_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void config_errf(struct config_errs *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	e->count++;
	if (e->cap == 0 || e->len + 1 >= e->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	e->len += (size_t)n;
	if (e->len + 1 >= e->cap) {
		e->len = e->cap - 1;
		return;
	}
	e->buf[e->len++] = '\n';
	e->buf[e->len] = '\0';
}

static void *config_field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->offset;
}

static const void *config_cfield(const struct config *cfg, const struct config_key *k)
{
	return (const char *)cfg + k->offset;
}

static const struct config_key *config_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Edit distance, for "did you mean" hints on misspelt keys. */
static size_t config_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[CONFIG_KEY_MAX + 1];

	if (la > CONFIG_KEY_MAX || lb > CONFIG_KEY_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *config_suggest(const char *name)
{
	const char *best = NULL;
	size_t best_d = 3;

	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		size_t d = config_distance(name, config_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = config_keys[i].name;
		}
	}
	return best;
}

static int config_parse_long(const char *v, long *out)
{
	char *end;
	long n;

	if (*v == '\0' || !(*v == '-' || (*v >= '0' && *v <= '9')))
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

static int config_parse_duration(const char *v, long *ms_out)
{
	static const struct {
		const char *unit;
		long ms;
	} units[] = { { "ms", 1 },      { "s", 1000 },     { "m", 60000 },
		      { "h", 3600000 }, { "d", 86400000 }, { "", 1000 } };
	char *end;
	long n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (n > LONG_MAX / units[i].ms)
				return -1;
			*ms_out = n * units[i].ms;
			return 0;
		}
	}
	return -1;
}

static int config_parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int config_parse_enum(const char *choices, const char *v, int *out)
{
	size_t vl = strlen(v);
	int idx = 0;

	for (const char *p = choices; *p; idx++) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == vl && strncmp(p, v, l) == 0) {
			*out = idx;
			return 0;
		}
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return -1;
}

static void config_describe_duration(char *buf, size_t len, long ms)
{
	if (ms % 1000 != 0)
		snprintf(buf, len, "%ldms", ms);
	else if (ms % 86400000 == 0)
		snprintf(buf, len, "%ldd", ms / 86400000);
	else if (ms % 3600000 == 0)
		snprintf(buf, len, "%ldh", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(buf, len, "%ldm", ms / 60000);
	else
		snprintf(buf, len, "%lds", ms / 1000);
}

/* Parses one value into its field. Returns 0 or -1 with a message in msg. */
static int config_assign(struct config *cfg, const struct config_key *k, const char *v, char *msg,
                         size_t msglen)
{
	void *f = config_field(cfg, k);
	char lo[32], hi[32];
	long n;

	if (k->check != NULL && k->check(v, msg, msglen) != 0)
		return -1;
	switch (k->type) {
	case CFG_STRING: {
		char *copy = strdup(v);
		if (copy == NULL) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		free(*(char **)f);
		*(char **)f = copy;
		return 0;
	}
	case CFG_INT:
		if (config_parse_long(v, &n) != 0 || n < k->min || n > k->max) {
			snprintf(msg, msglen, "expected an integer from %ld to %ld, got \"%s\"",
			         k->min, k->max, v);
			return -1;
		}
		*(long *)f = n;
		return 0;
	case CFG_DURATION:
		if (config_parse_duration(v, &n) != 0 || n < k->min || n > k->max) {
			config_describe_duration(lo, sizeof lo, k->min);
			config_describe_duration(hi, sizeof hi, k->max);
			snprintf(
			    msg, msglen,
			    "expected a duration from %s to %s (units ms, s, m, h, d), got \"%s\"",
			    lo, hi, v);
			return -1;
		}
		*(long *)f = n;
		return 0;
	case CFG_BOOL:
		if (config_parse_bool(v, (bool *)f) != 0) {
			snprintf(msg, msglen, "expected on or off, got \"%s\"", v);
			return -1;
		}
		return 0;
	case CFG_ENUM:
		if (config_parse_enum(k->choices, v, (int *)f) != 0) {
			snprintf(msg, msglen, "expected one of %s, got \"%s\"", k->choices, v);
			return -1;
		}
		return 0;
	case CFG_SECRET_FILE: {
		struct config_secret *s = f;
		char *copy = strdup(v);
		if (copy == NULL) {
			snprintf(msg, msglen, "out of memory");
			return -1;
		}
		free(s->path);
		s->path = copy;
		return 0;
	}
	}
	snprintf(msg, msglen, "unknown key type");
	return -1;
}

int config_check_url_prefix(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (n < 2 || n > 128 || value[0] != '/' || value[n - 1] == '/') {
		snprintf(err, errlen,
		         "expected a path like /auth (leading slash, no trailing slash, "
		         "at most 128 characters), got \"%s\"",
		         value);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = value[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '-' || c == '_' || c == '.') ||
		    (c == '/' && (value[i + 1] == '/' || value[i + 1] == '.'))) {
			snprintf(
			    err, errlen,
			    "only letters, digits, '-', '_', '.' and single '/' between segments are "
			    "allowed, got \"%s\"",
			    value);
			return -1;
		}
	}
	return 0;
}

int config_check_cookie_name(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (n == 0 || n > 64 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	        n ||
	    strncmp(value, "__", 2) == 0) {
		snprintf(err, errlen,
		         "expected 1 to 64 letters, digits, '_' or '-' (not starting with __: the "
		         "__Host- prefix is added by cookie_secure), got \"%s\"",
		         value);
		return -1;
	}
	return 0;
}

/* 1 to 128 printable ASCII characters without spaces or quotes (claims, names). */
int config_check_word(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++) {
		if (value[i] <= ' ' || value[i] >= 0x7f || value[i] == '"' || value[i] == '\\') {
			n = 0;
			break;
		}
	}
	if (n == 0 || n > 128) {
		snprintf(err, errlen,
		         "expected 1 to 128 printable characters without spaces, quotes or "
		         "backslashes, got \"%s\"",
		         value);
		return -1;
	}
	return 0;
}

int config_check_opt_word(const char *value, char *err, size_t errlen)
{
	return value[0] == '\0' ? 0 : config_check_word(value, err, errlen);
}

int config_check_external_url(const char *value, char *err, size_t errlen)
{
	if (value[0] == '\0')
		return 0;
	if (strchr(value, ' ') != NULL || config_check_origins(value, err, errlen) != 0 ||
	    !url_ok(value)) {
		snprintf(
		    err, errlen,
		    "expected an origin like https://app.example.com (lower-case, no path; http "
		    "only for a loopback address), got \"%.200s\"",
		    value);
		return -1;
	}
	return 0;
}

int config_check_opt_url(const char *value, char *err, size_t errlen)
{
	if (value[0] == '\0' || url_ok(value))
		return 0;
	snprintf(
	    err, errlen,
	    "expected an https URL (http only for a loopback address; no user info or fragment, "
	    "only RFC 3986 characters), got \"%.200s\"",
	    value);
	return -1;
}

int config_check_scopes(const char *value, char *err, size_t errlen)
{
	for (const char *p = value; *p; p++)
		if (*p != ' ' && (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')) {
			snprintf(err, errlen, "a scope is printable ASCII without quotes");
			return -1;
		}
	if (!words_has(value, "openid", 6, false)) {
		snprintf(err, errlen, "the scopes must include openid, got \"%.200s\"", value);
		return -1;
	}
	return 0;
}

int config_check_claim(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	if (n == 0 || n > 100 ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/") !=
	        n) {
		snprintf(
		    err, errlen,
		    "expected a claim name (letters, digits, _ - . : /; at most 100), got \"%.100s\"",
		    value);
		return -1;
	}
	return 0;
}

int config_check_opt_claim(const char *value, char *err, size_t errlen)
{
	return value[0] == '\0' ? 0 : config_check_claim(value, err, errlen);
}

int config_check_text(const char *value, char *err, size_t errlen)
{
	size_t n = strlen(value);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			n = 0;
	if (n == 0 || n > 100) {
		snprintf(err, errlen, "expected 1 to 100 characters without control characters");
		return -1;
	}
	return 0;
}

/* A UTC time written as 2027-01-31T00:00:00Z (or empty). */
int config_check_utc(const char *value, char *err, size_t errlen)
{
	struct tm tm;
	const char *end;

	if (value[0] == '\0')
		return 0;
	memset(&tm, 0, sizeof tm);
	end = strptime(value, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		snprintf(err, errlen, "expected a UTC time like 2027-01-31T00:00:00Z, got \"%s\"",
		         value);
		return -1;
	}
	return 0;
}

long long config_utc_seconds(const char *value)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (value[0] == '\0' || strptime(value, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return (long long)timegm(&tm);
}

/* Each origin is scheme://host[:port] with no path, e.g. https://app.example.com:8443. */
int config_check_origins(const char *value, char *err, size_t errlen)
{
	for (const char *p = value; *p;) {
		size_t l = strcspn(p, " ");
		const char *host = NULL;

		if (l > 7 && strncmp(p, "http://", 7) == 0)
			host = p + 7;
		else if (l > 8 && strncmp(p, "https://", 8) == 0)
			host = p + 8;
		if (host == NULL || strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") <
		                        l - (size_t)(host - p)) {
			snprintf(
			    err, errlen,
			    "expected origins like https://app.example.com (lower-case, no path), "
			    "separated by single spaces, got \"%.*s\"",
			    (int)l, p);
			return -1;
		}
		p += l;
		if (*p == ' ')
			p++;
	}
	return 0;
}

int config_init(struct config *cfg)
{
	char msg[256];

	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->def[0] == '\0' && k->type == CFG_SECRET_FILE)
			continue; /* unset; strings default to "" so that no reader meets NULL */
		if (config_assign(cfg, k, k->def, msg, sizeof msg) != 0) {
			config_free(cfg);
			return -1;
		}
	}
	return 0;
}

static int config_key_valid(const char *key)
{
	if (*key == '\0' || strlen(key) > CONFIG_KEY_MAX)
		return 0;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static char *config_trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

static void config_parse_line(struct config *cfg, const char *file, int lineno, char *line,
                              char *end, struct config_errs *e)
{
	char *eq, *key, *val;
	const struct config_key *k;
	char msg[512];

	line = config_trim(line, end);
	if (*line == '\0' || *line == '#')
		return;
	eq = strchr(line, '=');
	if (eq == NULL) {
		config_errf(e, "%s:%d: expected \"key = value\" (comments start a line with #)",
		            file, lineno);
		return;
	}
	key = config_trim(line, eq);
	val = config_trim(eq + 1, eq + 1 + strlen(eq + 1));
	if (!config_key_valid(key)) {
		config_errf(e, "%s:%d: malformed key (lower-case letters, digits and _ only)", file,
		            lineno);
		return;
	}
	k = config_find(key);
	if (k == NULL) {
		const char *hint = config_suggest(key);
		config_errf(e, "%s:%d: %s: unknown key%s%s%s", file, lineno, key,
		            hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
		return;
	}
	if (cfg->line[k - config_keys] > 0) {
		config_errf(e, "%s:%d: %s: set twice (first on line %d)", file, lineno, key,
		            cfg->line[k - config_keys]);
		return;
	}
	if (config_assign(cfg, k, val, msg, sizeof msg) != 0) {
		config_errf(e, "%s:%d: %s: %s", file, lineno, key, msg);
		return;
	}
	cfg->line[k - config_keys] = lineno;
}

int config_parse(struct config *cfg, const char *file, const char *buf, size_t len, char *err,
                 size_t errlen)
{
	struct config_errs e = { err, 0, errlen, 0 };
	char line[CONFIG_LINE_MAX + 1];
	size_t pos = 0;
	int lineno = 0;

	if (errlen > 0)
		err[0] = '\0';
	if (len > CONFIG_FILE_MAX) {
		config_errf(&e, "%s: larger than %d bytes", file, CONFIG_FILE_MAX);
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		config_errf(&e, "%s: contains a NUL byte (not a text file?)", file);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		lineno++;
		if (l > CONFIG_LINE_MAX) {
			config_errf(&e, "%s:%d: line longer than %d bytes", file, lineno,
			            CONFIG_LINE_MAX);
		} else {
			memcpy(line, buf + pos, l);
			line[l] = '\0';
			config_parse_line(cfg, file, lineno, line, line + l, &e);
		}
		pos += l + (nl != NULL);
	}
	return e.count == 0 ? 0 : -1;
}

int config_set(struct config *cfg, const char *key, const char *value, const char *source,
               char *err, size_t errlen)
{
	const struct config_key *k = config_find(key);
	char msg[512];

	if (k == NULL) {
		snprintf(err, errlen, "%s: %s: unknown key", source, key);
		return -1;
	}
	if (config_assign(cfg, k, value, msg, sizeof msg) != 0) {
		snprintf(err, errlen, "%s: %s: %s", source, key, msg);
		return -1;
	}
	return 0;
}

static int config_read_file(const char *path, char **out, size_t *outlen, char *msg, size_t msglen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;

	if (fd < 0) {
		snprintf(msg, msglen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "not a regular file");
		goto fail;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		snprintf(msg, msglen, "larger than %d bytes", CONFIG_FILE_MAX);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(msg, msglen, "out of memory");
		goto fail;
	}
	while ((r = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)r;
	if (r < 0) {
		snprintf(msg, msglen, "cannot read: %s", strerror(errno));
		goto fail;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* Resolves a secret file path relative to the config file's directory. */
static void config_secret_path(const char *cfgfile, const char *p, char *out, size_t outlen)
{
	const char *slash = cfgfile ? strrchr(cfgfile, '/') : NULL;

	if (p[0] == '/' || slash == NULL)
		snprintf(out, outlen, "%s", p);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - cfgfile), cfgfile, p);
}

static int config_load_secret(struct config_secret *s, const char *path, long min, long max,
                              char *msg, size_t msglen)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(msg, msglen,
		         "%s is readable or writable by group or others (mode %04o): "
		         "chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (config_read_file(path, &buf, &len, msg, msglen) != 0) {
		char inner[256];
		snprintf(inner, sizeof inner, "%s", msg);
		snprintf(msg, msglen, "%s: %s", path, inner);
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
	                   buf[len - 1] == '\t'))
		len--;
	if ((long)len < min || (long)len > max) {
		snprintf(msg, msglen, "%s holds %zu bytes; expected %ld to %ld", path, len, min,
		         max);
		crypto_wipe(buf, len);
		free(buf);
		return -1;
	}
	s->data = (unsigned char *)buf;
	s->len = len;
	return 0;
}

/* What OIDC login needs once oidc_issuer is set. */
static void config_cross_check_oidc(const struct config *cfg, const char *path,
                                    struct config_errs *e)
{
	bool secret = cfg->oidc_client_secret_file.path != NULL &&
	              cfg->oidc_client_secret_file.path[0] != '\0';
	int line = cfg->line[CFG_KEY_oidc_issuer];

	if (cfg->external_url[0] == '\0')
		config_errf(e,
		            "%s:%d: external_url: required with oidc_issuer (the redirect URI is "
		            "built from it)",
		            path, line);
	if (cfg->oidc_client_id[0] == '\0')
		config_errf(e, "%s:%d: oidc_client_id: required with oidc_issuer", path, line);
	if (secret != (cfg->oidc_token_auth != CFG_OIDC_AUTH_NONE))
		config_errf(e, "%s:%d: oidc_client_secret_file: %s", path,
		            cfg->line[CFG_KEY_oidc_token_auth] ? cfg->line[CFG_KEY_oidc_token_auth]
		                                               : line,
		            secret ? "not used with oidc_token_auth = none: remove one of them"
		                   : "required unless oidc_token_auth = none");
	if (cfg->oidc_trust_discovery_issuer && cfg->oidc_discovery_url[0] == '\0')
		config_errf(e,
		            "%s:%d: oidc_trust_discovery_issuer: only meaningful with "
		            "oidc_discovery_url",
		            path, cfg->line[CFG_KEY_oidc_trust_discovery_issuer]);
	if ((cfg->oidc_role_claim[0] == '\0') != (cfg->oidc_role_map[0] == '\0'))
		config_errf(e, "%s:%d: oidc_role_map: set it together with oidc_role_claim", path,
		            cfg->line[CFG_KEY_oidc_role_map] ? cfg->line[CFG_KEY_oidc_role_map]
		                                             : cfg->line[CFG_KEY_oidc_role_claim]);
}

/* Constraints between keys. */
static void config_cross_check(const struct config *cfg, const char *path, struct config_errs *e)
{
	if ((cfg->previous_server_key_file.path != NULL &&
	     cfg->previous_server_key_file.path[0] != '\0') != (cfg->previous_key_until[0] != '\0'))
		config_errf(e,
		            "%s:%d: previous_key_until: set it together with "
		            "previous_server_key_file (a rotation needs both)",
		            path,
		            cfg->line[CFG_KEY_previous_key_until]
		                ? cfg->line[CFG_KEY_previous_key_until]
		                : cfg->line[CFG_KEY_previous_server_key_file]);
	if (cfg->oidc_issuer[0] != '\0')
		config_cross_check_oidc(cfg, path, e);
	if (cfg->cookie_samesite == CFG_SAMESITE_NONE && !cfg->cookie_secure)
		config_errf(e,
		            "%s:%d: cookie_samesite: none needs cookie_secure on (browsers refuse "
		            "SameSite=None without Secure)",
		            path, cfg->line[CFG_KEY_cookie_samesite]);
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_errs e = { err, 0, errlen, 0 };
	char msg[512];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	if (config_read_file(path, &buf, &len, msg, sizeof msg) != 0) {
		config_errf(&e, "%s: %s", path, msg);
		return -1;
	}
	free(cfg->file);
	cfg->file = strdup(path);
	rc = config_parse(cfg, path, buf, len, err, errlen);
	free(buf);
	if (rc != 0)
		return -1;
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		struct config_secret *s;
		char full[PATH_MAX];

		if ((k->flags & CFG_REQUIRED) && cfg->line[i] == 0) {
			config_errf(&e, "%s: %s: required, not set", path, k->name);
			continue;
		}
		if (k->type != CFG_SECRET_FILE)
			continue;
		s = config_field(cfg, k);
		if (s->path == NULL || s->path[0] == '\0') {
			if (k->flags & CFG_REQUIRED)
				config_errf(&e, "%s:%d: %s: required, empty", path, cfg->line[i],
				            k->name);
			continue;
		}
		config_secret_path(path, s->path, full, sizeof full);
		if (config_load_secret(s, full, k->min, k->max, msg, sizeof msg) != 0)
			config_errf(&e, "%s:%d: %s: %s", path, cfg->line[i], k->name, msg);
	}
	config_cross_check(cfg, path, &e);
	return e.count == 0 ? 0 : -1;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		void *f = config_field(cfg, k);
		if (k->type == CFG_STRING) {
			free(*(char **)f);
		} else if (k->type == CFG_SECRET_FILE) {
			struct config_secret *s = f;
			if (s->data != NULL)
				crypto_wipe(s->data, s->len);
			free(s->data);
			free(s->path);
		}
	}
	free(cfg->file);
	memset(cfg, 0, sizeof *cfg);
}

static void config_enum_name(const char *choices, int idx, char *out, size_t outlen)
{
	const char *p = choices;

	for (int i = 0; i < idx && p != NULL; i++) {
		p = strchr(p, '|');
		if (p != NULL)
			p++;
	}
	if (p == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	snprintf(out, outlen, "%.*s", (int)strcspn(p, "|"), p);
}

/* The value of a key as it would be written in the file. */
static void config_format(const struct config *cfg, const struct config_key *k, char *out,
                          size_t outlen)
{
	const void *f = config_cfield(cfg, k);

	switch (k->type) {
	case CFG_STRING: {
		const char *s = *(char *const *)f;
		if (s != NULL && (k->flags & CFG_MASKED))
			db_conninfo_redact(s, out, outlen);
		else
			snprintf(out, outlen, "%s", s ? s : "");
		return;
	}
	case CFG_INT: snprintf(out, outlen, "%ld", *(const long *)f); return;
	case CFG_DURATION: config_describe_duration(out, outlen, *(const long *)f); return;
	case CFG_BOOL: snprintf(out, outlen, "%s", *(const bool *)f ? "on" : "off"); return;
	case CFG_ENUM: config_enum_name(k->choices, *(const int *)f, out, outlen); return;
	case CFG_SECRET_FILE: {
		const struct config_secret *s = f;
		snprintf(out, outlen, "%s", s->path ? s->path : "");
		return;
	}
	}
}

void config_print(const struct config *cfg, FILE *out)
{
	char val[1024];

	fprintf(out, "# effective configuration%s%s\n", cfg->file ? " of " : " (defaults)",
	        cfg->file ? cfg->file : "");
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		config_format(cfg, k, val, sizeof val);
		fprintf(out, "%s =%s%s", k->name, val[0] ? " " : "", val);
		if (k->type == CFG_SECRET_FILE && val[0] != '\0') {
			const struct config_secret *s = config_cfield(cfg, k);
			char tag[LOG_TAG_LEN + 1] = "";
			if (s->data != NULL)
				log_secret_tag(s->data, s->len, tag);
			fprintf(out, "   # %zu bytes loaded, sha256 %s...", s->len, tag);
		} else if (cfg->line[i] == 0) {
			fprintf(out, "   # default");
		}
		fputc('\n', out);
	}
}

static const char *config_type_name(const struct config_key *k)
{
	static const char *const names[] = {
		[CFG_STRING] = "string",     [CFG_INT] = "integer",
		[CFG_BOOL] = "on/off",       [CFG_ENUM] = "one of",
		[CFG_DURATION] = "duration", [CFG_SECRET_FILE] = "secret file"
	};
	return names[k->type];
}

static void config_range(const struct config_key *k, char *out, size_t outlen)
{
	char lo[32], hi[32];

	switch (k->type) {
	case CFG_INT: snprintf(out, outlen, "%ld..%ld", k->min, k->max); return;
	case CFG_DURATION:
		config_describe_duration(lo, sizeof lo, k->min);
		config_describe_duration(hi, sizeof hi, k->max);
		snprintf(out, outlen, "%s..%s", lo, hi);
		return;
	case CFG_ENUM: snprintf(out, outlen, "%s", k->choices); return;
	case CFG_SECRET_FILE: snprintf(out, outlen, "%ld..%ld bytes", k->min, k->max); return;
	default: out[0] = '\0';
	}
}

/* Writes help text wrapped at ~92 columns behind "# ". */
static void config_write_wrapped(FILE *out, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t take = strlen(p);
		if (take > 90) {
			take = 90;
			while (take > 0 && p[take] != ' ')
				take--;
			if (take == 0)
				take = 90;
		}
		fprintf(out, "# %.*s\n", (int)take, p);
		p += take;
		while (*p == ' ')
			p++;
	}
}

void config_write_example(FILE *out)
{
	struct config def;
	char val[1024], range[256];

	if (config_init(&def) != 0)
		return;
	fputs(
	    "# postern.conf: configuration of postern-authorizer and postern-responder.\n"
	    "# Generated from the key table (postern-authorizer --config-example); every key is\n"
	    "# shown with its default. Format: `key = value`, one per line; # starts a comment\n"
	    "# line. Unknown keys, bad values and unreadable secret files stop the programs with\n"
	    "# an error naming file, line and key; check with --check-config.\n",
	    out);
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		fputc('\n', out);
		config_write_wrapped(out, k->help);
		config_range(k, range, sizeof range);
		fprintf(out, "# Type: %s%s%s%s\n", config_type_name(k), range[0] ? " (" : "", range,
		        range[0] ? ")" : "");
		config_format(&def, k, val, sizeof val);
		if (k->flags & CFG_REQUIRED)
			fprintf(out, "%s = %s\n", k->name,
			        k->type == CFG_SECRET_FILE ? "server.key" : val);
		else
			fprintf(out, "#%s =%s%s\n", k->name, val[0] ? " " : "", val);
	}
	config_free(&def);
}

void config_write_reference(FILE *out)
{
	struct config def;
	char val[1024], range[256];

	if (config_init(&def) != 0)
		return;
	fputs("| key | type | default | meaning |\n|---|---|---|---|\n", out);
	for (size_t i = 0; i < CONFIG_KEY_COUNT; i++) {
		const struct config_key *k = &config_keys[i];
		config_format(&def, k, val, sizeof val);
		config_range(k, range, sizeof range);
		/* '|' separates enum choices but would split a Markdown cell */
		for (char *p = range; *p; p++)
			if (*p == '|')
				*p = '/';
		fprintf(out, "| `%s` | %s%s%s | ", k->name, config_type_name(k),
		        range[0] ? " " : "", range);
		if (val[0] != '\0')
			fprintf(out, "`%s`", val);
		else
			fputs(k->flags & CFG_REQUIRED ? "required" : "empty", out);
		fprintf(out, " | %s |\n", k->help);
	}
	config_free(&def);
}
