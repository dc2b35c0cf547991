/* touch: per-process throttle of session and API-key activity writes (one a minute per id). */
#include "authorizer.h"

#include <stdio.h>
#include <string.h>

#define TOUCH_SLOTS 4096
#define TOUCH_INTERVAL 60

static struct {
	char id[IDENTITY_UUID_LEN + 1];
	long long at;
} touch_slots[TOUCH_SLOTS];
static pthread_mutex_t touch_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned touch_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % TOUCH_SLOTS;
}

/* A colliding id just overwrites the slot: the cost is an extra (throttled in SQL) write. */
bool touch_due(const char *id, long long now)
{
	unsigned i = touch_hash(id);
	bool due;

	pthread_mutex_lock(&touch_lock);
	due = strcmp(touch_slots[i].id, id) != 0 || now - touch_slots[i].at >= TOUCH_INTERVAL;
	if (due) {
		snprintf(touch_slots[i].id, sizeof touch_slots[i].id, "%s", id);
		touch_slots[i].at = now;
	}
	pthread_mutex_unlock(&touch_lock);
	return due;
}
