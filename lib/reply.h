/* reply: writing FastCGI answers (status line, headers, small JSON bodies) both programs share. */
#ifndef POSTERN_REPLY_H
#define POSTERN_REPLY_H

#include "fcgi.h"

/* The reason phrase of an HTTP status we send ("Unauthorized"), or "Status". */
const char *reply_reason(int status);

/* Writes a complete answer: status, Content-Type: application/json, Cache-Control: no-store,
 * the extra header lines (each ending in \r\n, may be NULL) and the body. */
int reply_json(struct fcgi_req *req, int status, const char *extra_headers, const char *body);

/* {"error": message, "code": code}. message and code are ours: plain ASCII, no escaping. */
int reply_error(struct fcgi_req *req, int status, const char *extra_headers, const char *code,
                const char *message);

#endif
