/* touch: session and API-key activity — throttled per process to one write a minute per id —
 * and the writer thread that sends it and the counters, off the request path and on its own
 * connection: a commit waits for its WAL flush, which must never hold up the listener. */
#include "authorizer.h"

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TOUCH_SLOTS 4096
#define TOUCH_INTERVAL 60
#define TOUCH_QUEUE 4096 /* writes waiting for the writer (it flushes every 250 ms) */
#define TOUCH_PERIOD_MS 250

struct touch_item {
	char id[IDENTITY_UUID_LEN + 1];
	bool api_key;
};

static struct {
	char id[IDENTITY_UUID_LEN + 1];
	long long at;
} touch_slots[TOUCH_SLOTS];
static struct touch_item touch_queue[TOUCH_QUEUE];
static size_t touch_queued;
static unsigned long touch_dropped;
static pthread_mutex_t touch_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned touch_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % TOUCH_SLOTS;
}

/* With touch_lock held. A colliding id just overwrites the slot: the cost is an extra
 * (throttled in SQL as well) write. */
static bool touch_due(unsigned i, const char *id, long long now)
{
	if (strcmp(touch_slots[i].id, id) == 0 && now - touch_slots[i].at < TOUCH_INTERVAL)
		return false;
	snprintf(touch_slots[i].id, sizeof touch_slots[i].id, "%s", id);
	touch_slots[i].at = now;
	return true;
}

void touch_record(bool api_key, const char *id, long long now)
{
	unsigned i = touch_hash(id);

	pthread_mutex_lock(&touch_lock);
	if (touch_due(i, id, now)) {
		if (touch_queued < TOUCH_QUEUE) {
			struct touch_item *q = &touch_queue[touch_queued++];
			snprintf(q->id, sizeof q->id, "%s", id);
			q->api_key = api_key;
		} else {
			/* the database is slower than the traffic: skip it, and try at the next use */
			touch_slots[i].at = 0;
			touch_dropped++;
		}
	}
	pthread_mutex_unlock(&touch_lock);
}

void touch_flush(struct db *db)
{
	static struct touch_item batch[TOUCH_QUEUE]; /* the writer thread's alone, like these */
	static unsigned long touch_skipped;
	static time_t touch_warned;
	unsigned long dropped;
	size_t n;

	pthread_mutex_lock(&touch_lock);
	n = touch_queued;
	memcpy(batch, touch_queue, n * sizeof batch[0]);
	touch_queued = 0;
	dropped = touch_dropped;
	touch_dropped = 0;
	pthread_mutex_unlock(&touch_lock);
	touch_skipped += dropped;
	if (touch_skipped > 0 && time(NULL) - touch_warned >= 60) { /* a line a minute at most */
		log_warn("touch: %lu activity writes skipped (queue full)", touch_skipped);
		touch_skipped = 0;
		touch_warned = time(NULL);
	}
	for (size_t i = 0; i < n; i++) {
		enum db_status st = batch[i].api_key ? db_touch_api_key(db, batch[i].id)
		                                     : db_touch_session(db, batch[i].id);
		if (st == DB_UNAVAILABLE)
			break; /* the next use of those credentials queues them again after a minute */
	}
}

static void *touch_writer_main(void *arg)
{
	struct authz_app *app = arg;
	struct db *db = site_db_new(&app->site, "postern-authorizer", "writer", -1);
	time_t last_report = 0;

	if (db == NULL) {
		log_error("touch: out of memory starting the writer");
		return NULL;
	}
	while (!app->stopping) {
		stats_report(app, db, &last_report);
		touch_flush(db);
		nanosleep(&(struct timespec){ 0, TOUCH_PERIOD_MS * 1000000L }, NULL);
	}
	last_report = 0; /* the final counts of this process */
	stats_report(app, db, &last_report);
	touch_flush(db);
	db_close(db);
	return NULL;
}

int touch_start(struct authz_app *app)
{
	if (pthread_create(&app->writer, NULL, touch_writer_main, app) != 0) {
		log_error("touch: cannot start the writer thread");
		return -1;
	}
	app->writer_started = true;
	return 0;
}

/* After app->stopping is set. */
void touch_stop(struct authz_app *app)
{
	if (app->writer_started)
		pthread_join(app->writer, NULL);
	app->writer_started = false;
}
