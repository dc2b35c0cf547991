/* policy: the rules, settings and role permissions in force, loaded from PostgreSQL and
 * swapped on NOTIFY, and the cache evictions those notifications ask for. */
#include "authorizer.h"

#include "log.h"
#include "roles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Far above settings' own bound for session_idle_timeout (a year), far below overflow. */
#define POLICY_SECONDS_MAX (10LL * 366 * 24 * 3600)

static void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	rules_free(p->rules);
	free(p);
}

struct policy *policy_acquire(struct authz_app *app)
{
	struct policy *p;

	pthread_mutex_lock(&app->policy_lock);
	p = app->policy;
	if (p != NULL)
		p->refs++;
	pthread_mutex_unlock(&app->policy_lock);
	return p;
}

void policy_release(struct authz_app *app, struct policy *p)
{
	bool last;

	if (p == NULL)
		return;
	pthread_mutex_lock(&app->policy_lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&app->policy_lock);
	if (last)
		policy_free(p);
}

/* Installs p as the current policy; the previous one goes when its last reader is done. */
static void policy_install(struct authz_app *app, struct policy *p)
{
	struct policy *old;

	p->refs = 1; /* the app's own reference */
	pthread_mutex_lock(&app->policy_lock);
	old = app->policy;
	app->policy = p;
	pthread_mutex_unlock(&app->policy_lock);
	policy_release(app, old);
}

static int policy_add_rule(void *ctx, const struct rule_row *row)
{
	char err[256];

	if (rules_add(((struct policy *)ctx)->rules, row, err, sizeof err) != 0) {
		log_error("rules: %s; keeping the previous rule set", err);
		return -1;
	}
	return 0;
}

/* A positive number of seconds (settings.session_idle_timeout), else 0: sessions are then
 * looked up in full, where the database reads the setting itself. */
static long policy_seconds(const char *value)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v <= 0 || v > POLICY_SECONDS_MAX) {
		log_warn(
		    "rules: session_idle_timeout \"%.40s\" is not a number of seconds; sessions "
		    "are looked up in full",
		    value);
		return 0;
	}
	return (long)v;
}

static int policy_add_setting(void *ctx, const char *key, const char *value)
{
	struct policy *p = ctx;

	if (strcmp(key, "require_mfa") == 0)
		p->require_mfa = strcmp(value, "on") == 0;
	else if (strcmp(key, "unmatched") == 0)
		p->unmatched_authenticated = strcmp(value, "authenticated") == 0;
	else if (strcmp(key, "maintenance") == 0)
		p->maintenance = strcmp(value, "on") == 0;
	else if (strcmp(key, "session_idle_timeout") == 0)
		p->session_idle = policy_seconds(value);
	return 0;
}

/* Loads rules and settings; on any failure the policy in force stays. */
static void policy_reload(struct authz_app *app, struct db *db)
{
	struct policy *p = calloc(1, sizeof *p);

	if (p == NULL || (p->rules = rules_new()) == NULL) {
		policy_free(p);
		log_error("rules: out of memory; keeping the previous rule set");
		return;
	}
	if (db_load_rules(db, policy_add_rule, p) != DB_OK ||
	    db_load_settings(db, policy_add_setting, p) != DB_OK) {
		policy_free(p);
		log_warn("rules: reload failed; keeping the previous rule set");
		return;
	}
	cache_set_session_idle(app->cache, p->session_idle);
	policy_install(app, p);
	/* once in force (tests wait for this line); p lives on: only this thread replaces it */
	log_info(
	    "rules: %zu rules loaded (require_mfa %s, unmatched %s, session idle timeout %ld s)",
	    rules_count(p->rules), p->require_mfa ? "on" : "off",
	    p->unmatched_authenticated ? "authenticated" : "deny", p->session_idle);
}

static int policy_add_role(void *ctx, const char *role, const char *permissions)
{
	if (roles_add(ctx, role, permissions) != 0) {
		log_error("roles: cannot keep the permissions of role %s in memory", role);
		return -1;
	}
	return 0;
}

/* Every role's permissions into the cache, which drops its entries (made with the old ones).
 * If the load fails, sessions bring their permissions from the database until the next one. */
static void policy_reload_roles(struct authz_app *app, struct db *db)
{
	struct roles *r = roles_new();

	if (r == NULL || db_load_role_permissions(db, policy_add_role, r) != DB_OK) {
		roles_free(r);
		cache_set_roles(app->cache, NULL);
		log_warn(
		    "roles: reload failed; session lookups include their permissions meanwhile");
		return;
	}
	log_info("roles: permissions of %zu roles loaded", roles_count(r));
	cache_set_roles(app->cache, r);
}

static bool policy_payload_matters(const char *payload)
{
	return strcmp(payload, "rules") == 0 || strcmp(payload, "settings") == 0;
}

/* A change to a session, user, key or link evicts its cached credentials (a role's change
 * reloads the roles, which empties the cache: see policy_notified). */
static void policy_evict(struct authz_app *app, const char *payload)
{
	static const struct {
		const char *prefix;
		enum cache_field field;
	} kinds[] = {
		{ "session:", CACHE_SESSION },
		{ "user:", CACHE_USER },
		{ "api_key:", CACHE_KEY },
		{ "shared_link:", CACHE_LINK },
	};

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		size_t l = strlen(kinds[i].prefix);
		if (strncmp(payload, kinds[i].prefix, l) == 0) {
			cache_evict(app->cache, kinds[i].field, payload + l);
			return;
		}
	}
}

static void policy_sleep_ms(long ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

/* One notification, and every one already waiting behind it: evictions at once, and a
 * single reload of the policy for a burst of rule or setting changes, and of the roles for a
 * burst of role changes. */
static void policy_notified(struct authz_app *app, struct db *db, char *payload, size_t len)
{
	bool reload = false, reload_roles = false;

	do {
		if (policy_payload_matters(payload))
			reload = true;
		else if (strncmp(payload, "role:", 5) == 0)
			reload_roles = true;
		else
			policy_evict(app, payload);
	} while (db_wait_notify(db, 0, payload, len) == 1);
	if (reload)
		policy_reload(app, db);
	if (reload_roles)
		policy_reload_roles(app, db);
}

/*
 * The listener: one connection per process that LISTENs on "postern". It loads the policy
 * right after LISTEN succeeds (so no change between the load and the LISTEN is missed) and
 * again whenever rules or settings change; after a lost connection it starts over. It writes
 * nothing (touch.c's writer does), so that no commit ever holds up a revocation.
 */
static void *policy_listener_main(void *arg)
{
	struct authz_app *app = arg;
	struct db *db = site_db_new(&app->site, "postern-authorizer", "listener", -1);
	bool listening = false;
	char payload[256];

	if (db == NULL) {
		log_error("rules: out of memory starting the listener");
		return NULL;
	}
	while (!app->stopping) {
		int rc;

		if (!listening) {
			if (db_listen(db) != DB_OK) {
				policy_sleep_ms(100);
				continue;
			}
			listening = true;
			/* notifications sent while nobody listened are lost: forget everything (the
			 * roles' reload empties the cache, whether or not it succeeds) */
			policy_reload(app, db);
			policy_reload_roles(app, db);
		}
		rc = db_wait_notify(db, 250, payload, sizeof payload);
		if (rc == DB_UNAVAILABLE) {
			log_warn("rules: listener connection lost; reconnecting");
			/* a role's change would go unnoticed now: sessions bring their permissions from
			 * the database until the reload (this empties the cache too) */
			cache_set_roles(app->cache, NULL);
			cache_set_session_idle(app->cache, 0);
			listening = false;
		} else if (rc == 1) {
			policy_notified(app, db, payload, sizeof payload);
		}
	}
	db_close(db);
	return NULL;
}

int policy_start(struct authz_app *app)
{
	if (pthread_mutex_init(&app->policy_lock, NULL) != 0)
		return -1;
	if (pthread_create(&app->listener, NULL, policy_listener_main, app) != 0) {
		log_error("rules: cannot start the listener thread");
		return -1;
	}
	app->listener_started = true;
	return 0;
}

void policy_stop(struct authz_app *app)
{
	app->stopping = 1;
	if (app->listener_started)
		pthread_join(app->listener, NULL);
	policy_release(app, app->policy);
	app->policy = NULL;
	pthread_mutex_destroy(&app->policy_lock);
}
