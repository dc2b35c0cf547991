/* reply: writing FastCGI answers (status line, headers, small JSON bodies) both programs share. */
#include "reply.h"

#include <stdio.h>
#include <string.h>

static const struct {
	int status;
	const char *reason;
} reply_reasons[] = {
	{ 200, "OK" },
	{ 204, "No Content" },
	{ 302, "Found" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Content Too Large" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

const char *reply_reason(int status)
{
	for (size_t i = 0; i < sizeof reply_reasons / sizeof reply_reasons[0]; i++)
		if (reply_reasons[i].status == status)
			return reply_reasons[i].reason;
	return "Status";
}

int reply_json(struct fcgi_req *req, int status, const char *extra_headers, const char *body)
{
	return fcgi_printf(req,
	                   "Status: %d %s\r\nContent-Type: application/json\r\n"
	                   "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	                   "Content-Length: %zu\r\n%s\r\n%s",
	                   status, reply_reason(status), strlen(body),
	                   extra_headers ? extra_headers : "", body);
}

int reply_error(struct fcgi_req *req, int status, const char *extra_headers, const char *code,
                const char *message)
{
	char body[512];

	snprintf(body, sizeof body, "{\"error\":\"%s\",\"code\":\"%s\"}", message, code);
	return reply_json(req, status, extra_headers, body);
}
