/* housekeeping: the thread that runs postern.run_cleanup() every cleanup_interval. */
#include "responder.h"

#include "log.h"

#include <errno.h>
#include <time.h>

static void *housekeeping_main(void *arg)
{
	struct resp_app *app = arg;
	struct db *db = site_db_new(&app->site, "postern-responder", "housekeeping", -1);
	struct timespec until;

	if (db == NULL)
		return NULL;
	pthread_mutex_lock(&app->hk_lock);
	while (!app->hk_stop) {
		long long deleted = 0;
		enum db_status st;

		pthread_mutex_unlock(&app->hk_lock);
		st = db_run_cleanup(db, &deleted);
		if (st == DB_OK && deleted > 0)
			log_info("housekeeping: %lld expired rows deleted", deleted);
		else if (st != DB_OK && st != DB_NOT_FOUND)
			log_warn("housekeeping: postern.run_cleanup() failed; trying again later");
		pthread_mutex_lock(&app->hk_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += app->cfg->cleanup_interval / 1000;
		until.tv_nsec += (app->cfg->cleanup_interval % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!app->hk_stop &&
		       pthread_cond_timedwait(&app->hk_wake, &app->hk_lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&app->hk_lock);
	db_close(db);
	return NULL;
}

int resp_housekeeping_start(struct resp_app *app)
{
	if (pthread_mutex_init(&app->hk_lock, NULL) != 0 ||
	    pthread_cond_init(&app->hk_wake, NULL) != 0 ||
	    pthread_create(&app->hk_thread, NULL, housekeeping_main, app) != 0)
		return -1;
	app->hk_started = true;
	return 0;
}

void resp_housekeeping_stop(struct resp_app *app)
{
	if (!app->hk_started)
		return;
	pthread_mutex_lock(&app->hk_lock);
	app->hk_stop = true;
	pthread_cond_signal(&app->hk_wake);
	pthread_mutex_unlock(&app->hk_lock);
	pthread_join(app->hk_thread, NULL);
}
