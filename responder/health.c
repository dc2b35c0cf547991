/* health: GET /auth/health, for load balancers: 200 while the database answers, else 503. */
#include "responder.h"

#include "reply.h"

void resp_health(struct resp_ctx *c)
{
	if (db_ping(c->t->db) == DB_OK)
		reply_json(c->req, 200, NULL, "{\"status\":\"ok\",\"database\":\"ok\"}");
	else
		reply_json(c->req, 503, "Retry-After: 5\r\n",
		           "{\"status\":\"unavailable\",\"database\":\"unavailable\","
		           "\"code\":\"DATABASE_UNAVAILABLE\"}");
}
