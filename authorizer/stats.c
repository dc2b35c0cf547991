/* stats: counting the authorizer's decisions, for postern.stats and GET /auth/metrics. */
#include "authorizer.h"

#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const int stats_statuses[AUTHZ_STATUSES - 1] = { 200, 302, 400, 401, 403, 429, 503 };

void stats_init(struct authz_stats *s)
{
	char host[64] = "unknown";

	gethostname(host, sizeof host - 1);
	snprintf(s->instance, sizeof s->instance, "%s:%ld:%lld", host, (long)getpid(),
	         (long long)time(NULL));
}

void stats_count(struct authz_stats *s, const struct decision *d, enum fcgi_role role)
{
	int status = d->status == 302 && role == FCGI_ROLE_RESPONDER ? 401 : d->status;
	int i = 0;

	while (i < AUTHZ_STATUSES - 1 && stats_statuses[i] != status)
		i++;
	atomic_fetch_add(&s->by_status[i], 1);
	if (d->allow)
		atomic_fetch_add(&s->by_kind[d->id.kind], 1);
}

char *stats_json(struct authz_app *app)
{
	struct authz_stats *s = &app->stats;
	struct cache_stats cs;
	json_t *o = json_object();
	char name[96], *out;

	if (o == NULL)
		return NULL;
	for (int i = 0; i < AUTHZ_STATUSES; i++) {
		if (i < AUTHZ_STATUSES - 1)
			snprintf(name, sizeof name, "postern_decisions_total{status=\"%d\"}",
			         stats_statuses[i]);
		else
			snprintf(name, sizeof name, "postern_decisions_total{status=\"other\"}");
		json_object_set_new(o, name,
		                    json_integer((json_int_t)atomic_load(&s->by_status[i])));
	}
	for (int k = AUTH_NONE; k <= AUTH_TOKEN; k++) {
		snprintf(name, sizeof name, "postern_allowed_total{auth=\"%s\"}",
		         identity_kind_name((enum auth_kind)k));
		json_object_set_new(o, name, json_integer((json_int_t)atomic_load(&s->by_kind[k])));
	}
	cache_get_stats(app->cache, &cs);
	json_object_set_new(o, "postern_cache_hits_total", json_integer((json_int_t)cs.hits));
	json_object_set_new(o, "postern_cache_misses_total", json_integer((json_int_t)cs.misses));
	json_object_set_new(o, "postern_cache_evictions_total",
	                    json_integer((json_int_t)cs.evictions));
	json_object_set_new(o, "postern_cache_entries", json_integer((json_int_t)cs.entries));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}

void stats_report(struct authz_app *app, struct db *db, time_t *last)
{
	time_t now = time(NULL);
	char *json;

	if (now - *last < 5)
		return;
	*last = now;
	json = stats_json(app);
	if (json != NULL && db_report_stats(db, app->stats.instance, json) != DB_OK)
		log_debug("stats: report failed; trying again later");
	free(json);
}
