/* decide_bench: in-process microbenchmark of the authorizer's decision function, authz_decide()
 * (authorizer/decide.c), on cache hits: decisions per second on one core, one thread.
 *
 * Owns: building an authorizer app by hand (configuration, site keys, cache, the seeded rule
 * set as policy) without PostgreSQL, pre-filling the cache, and timing authz_decide() for each
 * credential kind. Linked with build/libpostern.a and the authorizer's objects except main.o,
 * with --wrap=db_touch_session,--wrap=db_touch_api_key so the once-a-minute activity writes
 * are counted instead of sent (no database is needed; see the Makefile's decide-bench rule).
 * Deciding only queues those writes (touch_record); the writer thread's touch_flush is run
 * between the timed slices, as that thread would run it beside the workers.
 * Not measured here: intake (FastCGI params, path normalisation) and the answer's write, which
 * need a live FastCGI request; the end-to-end cases of tests/bench/run.py include them.
 *
 * Usage: decide-bench [-c postern.conf] [-n iterations] [--cpu N] [--only CASE]
 * Without -c it writes a throw-away configuration and server key under $TMPDIR. Output: one
 * line per case, "decide-bench: <case> <decisions/s> <ns/decision> touches=<n>", and a final
 * JSON line for tests/bench/run.py.
 */
#include "access_jwt.h"
#include "../../authorizer/authorizer.h"
#include "crypto.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The decision pipeline's database calls that a cache hit can still make: counted, not sent. */
enum db_status __wrap_db_touch_session(struct db *db, const char *session_id);
enum db_status __wrap_db_touch_api_key(struct db *db, const char *key_id);
static unsigned long touches;

enum db_status __wrap_db_touch_session(struct db *db, const char *session_id)
{
	(void)db;
	(void)session_id;
	touches++;
	return DB_OK;
}

enum db_status __wrap_db_touch_api_key(struct db *db, const char *key_id)
{
	(void)db;
	(void)key_id;
	touches++;
	return DB_OK;
}

static double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long bench_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The rules sql/migrations/001_schema.sql seeds, in priority order. */
static int bench_rules(struct rules *rs)
{
	static const struct {
		const char *prio, *methods, *pattern, *access;
	} seed[] = {
		{ "10", "GET HEAD", "/auth/login", "public" },
		{ "11", "POST", "/auth/login", "public" },
		{ "12", "GET HEAD", "/auth/health", "public" },
		{ "13", NULL, "/auth/oidc/**", "public" },
		{ "14", "POST", "/auth/logout", "public" },
		{ "15", "POST", "/auth/token", "public" },
		{ "16", "POST", "/auth/mfa/verify", "public" },
		{ "17", "POST", "/auth/shared-links/unlock", "public" },
		{ "50", NULL, "/auth/metrics", "admin" },
		{ "51", NULL, "/auth/admin/**", "admin" },
		{ "90", NULL, "/auth/**", "authenticated" },
		{ "100000", NULL, "/**", "authenticated" },
	};
	char err[256], id[16];

	for (size_t i = 0; i < sizeof seed / sizeof seed[0]; i++) {
		snprintf(id, sizeof id, "%zu", i + 1);
		struct rule_row row = { .id = id,
			                .priority = seed[i].prio,
			                .methods = seed[i].methods,
			                .path_pattern = seed[i].pattern,
			                .access = seed[i].access,
			                .allow_api_keys = "t",
			                .allow_shared_links = "f",
			                .require_csrf_token = "f",
			                .require_elevation = "f" };
		if (rules_add(rs, &row, err, sizeof err) != 0) {
			fprintf(stderr, "decide-bench: rule %s: %s\n", id, err);
			return -1;
		}
	}
	return 0;
}

static void bench_uuid(char out[IDENTITY_UUID_LEN + 1], unsigned tag, unsigned n)
{
	snprintf(out, IDENTITY_UUID_LEN + 1, "%08x-0000-4000-8000-%012x", tag, n);
}

/* A throw-away configuration (cookie_secure off, a 1 h cache TTL) and its server key. */
static int bench_write_config(char *path, size_t len)
{
	char dir[] = "/tmp/decide-bench.XXXXXX";
	char key[512];
	unsigned char raw[48];
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(key, sizeof key, "%s/server.key", dir);
	snprintf(path, len, "%s/postern.conf", dir);
	if (crypto_random(raw, sizeof raw) != 0 || (f = fopen(key, "w")) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof raw; i++)
		fprintf(f, "%02x", raw[i]);
	fputc('\n', f);
	fclose(f);
	chmod(key, 0600);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(
	    f,
	    "server_key_file = server.key\ncookie_secure = off\ncache_ttl = 1h\n"
	    "cache_entries = 100008\nlog_level = error\ndatabase = host=/nonexistent dbname=none\n");
	fclose(f);
	return 0;
}

enum bench_field { F_COOKIE, F_AUTHORIZATION, F_API_KEY };

struct bench_case {
	const char *name;
	enum bench_field field;
	const char **creds; /* one credential per identity, rotated through */
	size_t ncreds;
	int want_status;
	const char *negative; /* an unknown token whose negative entry is renewed between slices */
};

static void bench_set(struct authz_request *r, const struct bench_case *bc, const char *v)
{
	r->cookie = bc->field == F_COOKIE ? v : NULL;
	r->authorization = bc->field == F_AUTHORIZATION ? v : NULL;
	r->api_key = bc->field == F_API_KEY ? v : NULL;
}

static void bench_check(const struct bench_case *bc, const struct decision *d)
{
	if (d->status != bc->want_status) {
		fprintf(stderr, "decide-bench: %s: status %d (%s), expected %d\n", bc->name,
		        d->status, d->code ? d->code : "-", bc->want_status);
		exit(1);
	}
}

static void bench_renew(struct authz_thread *t, const struct bench_case *bc)
{
	unsigned char h[CRYPTO_SHA256_LEN];

	if (bc->negative == NULL)
		return;
	crypto_sha256(bc->negative, strlen(bc->negative), h);
	cache_put(t->app->cache, cache_ticket(t->app->cache), h, bench_now_ms(),
	          (long long)time(NULL), NULL);
}

/* Times iterations decisions in slices of 50,000; between slices (untimed) the negative entry
 * of an unknown token is renewed, since it lives only cache_negative_ttl. */
static double bench_run(struct authz_thread *t, struct authz_request *r,
                        const struct bench_case *bc, long iterations, unsigned long *touched)
{
	struct decision d;
	double busy = 0;
	unsigned long before;
	size_t k = 0;
	long done = 0;

	/* warm-up: every identity once (its first activity write happens here, not timed) */
	bench_renew(t, bc);
	for (size_t i = 0; i < bc->ncreds; i++) {
		bench_set(r, bc, bc->creds[i]);
		memset(&d, 0, sizeof d);
		authz_decide(t, r, &d);
		bench_check(bc, &d);
	}
	touch_flush(NULL);
	before = touches;
	while (done < iterations) {
		long n = iterations - done < 50000 ? iterations - done : 50000;
		double t0;
		touch_flush(NULL); /* the writer's share, untimed */
		bench_renew(t, bc);
		t0 = bench_now();
		for (long i = 0; i < n; i++) {
			bench_set(r, bc, bc->creds[k]);
			if (++k == bc->ncreds)
				k = 0;
			d.allow = false;
			d.status = 0;
			d.code = NULL;
			d.www_authenticate_error = NULL;
			authz_decide(t, r, &d);
			if (d.status != bc->want_status)
				bench_check(bc, &d);
		}
		busy += bench_now() - t0;
		done += n;
	}
	touch_flush(NULL);
	*touched = touches - before;
	return (double)iterations / busy;
}

int main(int argc, char **argv)
{
	const char *conf = NULL, *only = NULL;
	char conf_buf[512], err[CONFIG_ERR_MAX];
	long iterations = 2000000;
	int cpu = -1;
	static struct config cfg;
	static struct authz_app app;
	struct authz_thread t = { .app = &app, .db = NULL };
	struct policy *pol;
	enum { HOT_N = 1, MANY_N = 100000 };
	long long now = (long long)time(NULL), now_ms;
	size_t many;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			iterations = atol(argv[++i]);
		else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc)
			cpu = atoi(argv[++i]);
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else {
			fprintf(
			    stderr,
			    "Usage: %s [-c postern.conf] [-n iterations] [--cpu N] [--only CASE]\n",
			    argv[0]);
			return 2;
		}
	}
	if (iterations < 1000)
		iterations = 1000;
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0)
			perror("decide-bench: sched_setaffinity");
	}
	if (conf == NULL) {
		if (bench_write_config(conf_buf, sizeof conf_buf) != 0) {
			perror("decide-bench: temporary configuration");
			return 1;
		}
		conf = conf_buf;
	}
	if (config_init(&cfg) != 0 || config_load(&cfg, conf, err, sizeof err) != 0) {
		fprintf(stderr, "decide-bench: %s\n", err);
		return 2;
	}
	app.cfg = &cfg;
	stats_init(&app.stats);
	/* room for the JWT's, the key's and the negative entry beside the sessions */
	if (cfg.cache_entries < 16) {
		fprintf(stderr, "decide-bench: cache_entries must be at least 16\n");
		return 2;
	}
	many = (size_t)cfg.cache_entries - 8 < MANY_N ? (size_t)cfg.cache_entries - 8 : MANY_N;
	app.cache = cache_new((size_t)cfg.cache_entries, cfg.cache_ttl, cfg.cache_negative_ttl);
	if (app.cache == NULL || site_init(&app.site, &cfg) != 0 ||
	    pthread_mutex_init(&app.policy_lock, NULL) != 0) {
		fprintf(stderr, "decide-bench: cannot initialise the app\n");
		return 1;
	}
	pol = calloc(1, sizeof *pol);
	if (pol == NULL || (pol->rules = rules_new()) == NULL || bench_rules(pol->rules) != 0)
		return 1;
	pol->refs = 1;
	app.policy = pol;
	/* database handle that is never connected: a cache hit must not need one */
	t.db = site_db_new(&app.site, "decide-bench", NULL, 0);

	/* identities: sessions (cookie and JWT), API keys, and one unknown token (negative) */
	static char cookies[MANY_N][CRYPTO_TOKEN_LEN + 32];
	static char keys[HOT_N][CRYPTO_TOKEN_LEN + 1];
	static const char *cookie_p[MANY_N], *key_p[HOT_N], *jwt_p[HOT_N], *neg_p[1];
	static char bearer_jwt[ACCESS_JWT_MAX + 16], neg[CRYPTO_TOKEN_LEN + 16];
	now_ms = bench_now_ms();
	for (unsigned i = 0; i < many; i++) {
		char tok[CRYPTO_TOKEN_LEN + 1];
		unsigned char h[CRYPTO_SHA256_LEN];
		struct identity id = { .kind = AUTH_SESSION, .expires_at = now + 3600 };
		if (crypto_token_new(TOKEN_SESSION, tok) != 0)
			return 1;
		snprintf(cookies[i], sizeof cookies[i], "postern_session=%s", tok);
		cookie_p[i] = cookies[i];
		crypto_sha256(tok, strlen(tok), h);
		bench_uuid(id.user_id, 0xaaaa, i);
		bench_uuid(id.session_id, 0x5e55, i);
		snprintf(id.email, sizeof id.email, "bench%u@example.com", i);
		snprintf(id.role, sizeof id.role, "user");
		snprintf(id.permissions, sizeof id.permissions, "album.read album.write");
		cache_put(app.cache, cache_ticket(app.cache), h, now_ms, now, &id);
		if (i == 0) {
			/* an access JWT for session 0, cached under its session id as the pipeline
			 * does ("postern-sid:<sid>") */
			char name[64];
			char *jwt = access_jwt_sign(app.site.cur.jwt, id.user_id, id.session_id,
			                            cfg.token_issuer, cfg.token_audience, now, 900);
			if (jwt == NULL)
				return 1;
			snprintf(bearer_jwt, sizeof bearer_jwt, "Bearer %s", jwt);
			free(jwt);
			jwt_p[0] = bearer_jwt;
			snprintf(name, sizeof name, "postern-sid:%s", id.session_id);
			crypto_sha256(name, strlen(name), h);
			id.kind = AUTH_JWT;
			cache_put(app.cache, cache_ticket(app.cache), h, now_ms, now, &id);
		}
	}
	for (unsigned i = 0; i < HOT_N; i++) {
		unsigned char h[CRYPTO_SHA256_LEN];
		struct identity id = { .kind = AUTH_API_KEY };
		if (crypto_token_new(TOKEN_API_KEY, keys[i]) != 0)
			return 1;
		key_p[i] = keys[i];
		crypto_sha256(keys[i], strlen(keys[i]), h);
		bench_uuid(id.user_id, 0xaaaa, i);
		bench_uuid(id.key_id, 0x6e75, i);
		snprintf(id.email, sizeof id.email, "bench%u@example.com", i);
		snprintf(id.role, sizeof id.role, "user");
		snprintf(id.permissions, sizeof id.permissions, "album.read");
		cache_put(app.cache, cache_ticket(app.cache), h, now_ms, now, &id);
	}
	{
		char tok[CRYPTO_TOKEN_LEN + 1];
		unsigned char h[CRYPTO_SHA256_LEN];
		if (crypto_token_new(TOKEN_SESSION, tok) != 0)
			return 1;
		snprintf(neg, sizeof neg, "Bearer %s", tok);
		neg_p[0] = neg;
		crypto_sha256(tok, strlen(tok), h);
		cache_put(app.cache, cache_ticket(app.cache), h, now_ms, now,
		          NULL); /* negative entry, cache_negative_ttl */
	}

	struct authz_request req = { .role = FCGI_ROLE_AUTHORIZER,
		                     .method = "GET",
		                     .host = "127.0.0.1",
		                     .path = "/bench.txt",
		                     .accept = "*/*" };
	const struct bench_case cases[] = {
		{ "cookie-hot", F_COOKIE, cookie_p + 1, 1, 200, NULL },
		{ "cookie-100k", F_COOKIE, cookie_p, many, 200, NULL },
		{ "jwt", F_AUTHORIZATION, jwt_p, 1, 200, NULL },
		{ "api-key", F_API_KEY, key_p, 1, 200, NULL },
		{ "unknown-token", F_AUTHORIZATION, neg_p, 1, 401, neg + 7 },
	};

	printf("{\"iterations\": %ld, \"cases\": {", iterations);
	fflush(stdout);
	int printed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned long touched = 0;
		if (only != NULL && strcmp(only, cases[i].name) != 0)
			continue;
		double rate = bench_run(&t, &req, &cases[i], iterations, &touched);
		printf("%s\"%s\": {\"per_second\": %.0f, \"ns\": %.1f, \"touches\": %lu}",
		       printed++ ? ", " : "", cases[i].name, rate, 1e9 / rate, touched);
		fflush(stdout);
		fprintf(stderr,
		        "decide-bench: %-14s %10.0f decisions/s %7.1f ns/decision touches=%lu\n",
		        cases[i].name, rate, 1e9 / rate, touched);
	}
	printf("}}\n");
	return 0;
}
