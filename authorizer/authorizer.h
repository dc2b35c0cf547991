/* authorizer: the state and the stages of the decision pipeline shared by authorizer/ files. */
#ifndef POSTERN_AUTHORIZER_H
#define POSTERN_AUTHORIZER_H

#include "cache.h"
#include "config.h"
#include "credential.h"
#include "crypto.h"
#include "db.h"
#include "fcgi.h"
#include "identity.h"
#include "path.h"
#include "rules.h"
#include "site.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* What PostgreSQL says about rules and settings, swapped whole when either changes. */
struct policy {
	struct rules *rules;
	bool require_mfa;
	bool unmatched_authenticated; /* settings.unmatched = 'authenticated' (else deny) */
	bool maintenance;             /* settings.maintenance: 503 for all but administrators */
	long session_idle;            /* settings.session_idle_timeout, seconds; 0 if unusable */
	int refs;                     /* guarded by policy_lock */
};

/* Counters since the process started, reported to postern.stats by the writer thread. */
#define AUTHZ_STATUSES 8 /* 200 302 400 401 403 429 503 other */
struct authz_stats {
	char instance[160]; /* host:pid:start */
	atomic_ullong by_status[AUTHZ_STATUSES];
	atomic_ullong by_kind[AUTH_TOKEN + 1]; /* allowed requests by credential kind */
};

struct authz_app {
	const struct config *cfg;
	struct site site;    /* keys and cookie names */
	struct cache *cache; /* credential hash -> identity, shared by the worker threads */
	struct authz_stats stats;
	/* the current policy, NULL until the first load; replaced by the listener thread */
	pthread_mutex_t policy_lock;
	struct policy *policy;
	pthread_t listener, writer;
	bool listener_started, writer_started;
	volatile int stopping;
};

struct authz_thread {
	struct authz_app *app;
	struct db *db;
};

/* The request as the pipeline sees it: bounded copies of the parameters it needs. */
#define AUTHZ_HEADER_MAX 8192
struct authz_request {
	enum fcgi_role role;
	const char *method;
	const char *host; /* lower-cased copy, NULL if absent */
	char path[PATH_LEN_MAX + 1];
	const char *query; /* raw, after '?'; NULL if none */
	size_t query_len;
	bool https;
	/* request headers (pointers into the FastCGI params, NULL if absent) */
	const char *authorization;
	const char *api_key;
	const char *cookie;
	const char *share_key;
	const char *accept;
	const char *sec_fetch_site;
	const char *origin;
	const char *csrf_header;
	char host_buf[256];
};

/* The decision: allow with an identity, or deny with status, code and message. */
struct decision {
	bool allow;
	int status;                         /* 200, 302, 400, 401, 403, 429, 503 */
	const char *code;                   /* e.g. "UNAUTHENTICATED", "MFA_REQUIRED" */
	const char *message;                /* short English, ours only (never request data) */
	const char *www_authenticate_error; /* 401: invalid_request, invalid_token; NULL = none */
	struct identity id;
};

/* intake.c */
int authz_intake(struct fcgi_req *req, struct authz_request *r, struct decision *d);

/* decide.c */
void authz_decide(struct authz_thread *t, const struct authz_request *r, struct decision *d);

/* answer.c */
void authz_answer(struct fcgi_req *req, const struct authz_app *app, const struct authz_request *r,
                  const struct decision *d);

/* policy.c */
int policy_start(struct authz_app *app);
void policy_stop(struct authz_app *app);
/* The current policy with a reference held, or NULL if none is loaded yet. */
struct policy *policy_acquire(struct authz_app *app);
void policy_release(struct authz_app *app, struct policy *p);

/* stats.c: counting decisions, and the JSON report for postern.report_stats. */
void stats_init(struct authz_stats *s);
void stats_count(struct authz_stats *s, const struct decision *d, enum fcgi_role role);
char *stats_json(struct authz_app *app); /* caller frees */
/* Writes the counters to postern.stats if *last is 5 s or more ago (0: now), on db. */
void stats_report(struct authz_app *app, struct db *db, time_t *last);

/* touch.c: records the use of a session or API key (at most once a minute per id, per
 * process) for the writer thread, which writes them and the counters on its own connection
 * every 250 ms; touch_stop writes what is left. */
void touch_record(bool api_key, const char *id, long long now);
/* Writes what is queued on db: the writer thread's work (decide-bench calls it too). */
void touch_flush(struct db *db);
int touch_start(struct authz_app *app);
void touch_stop(struct authz_app *app);

#endif
