/* health: GET /auth/health, for load balancers: 200 while the database answers, else 503; and
 * GET /auth/metrics, every process's counters summed, in the Prometheus text format. */
#include "responder.h"

#include "reply.h"

#include <stdlib.h>
#include <string.h>

void resp_health(struct resp_ctx *c)
{
	if (db_ping(c->t->db) == DB_OK)
		reply_json(c->req, 200, NULL, "{\"status\":\"ok\",\"database\":\"ok\"}");
	else
		reply_json(c->req, 503, "Retry-After: 5\r\n",
		           "{\"status\":\"unavailable\",\"database\":\"unavailable\","
		           "\"code\":\"DATABASE_UNAVAILABLE\"}");
}

void resp_metrics(struct resp_ctx *c)
{
	char *text = NULL;
	enum db_status st = db_metrics_text(c->t->db, &text);

	if (st != DB_OK) {
		resp_db_error(c, st == DB_NOT_FOUND ? DB_ERROR : st);
		return;
	}
	fcgi_printf(c->req,
	            "Status: 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	            "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n%s",
	            strlen(text), text);
	free(text);
}
