/* fcgi_wire: the FastCGI record layer: a connection's bytes into requests, answers into records
 * (pure: no sockets, fuzzed). */
#ifndef POSTERN_FCGI_WIRE_H
#define POSTERN_FCGI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types and protocol status values of the FastCGI 1.0 specification. */
enum {
	FCGI_BEGIN_REQUEST = 1,
	FCGI_ABORT_REQUEST = 2,
	FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4,
	FCGI_STDIN = 5,
	FCGI_STDOUT = 6,
	FCGI_GET_VALUES = 9,
	FCGI_GET_VALUES_RESULT = 10,
	FCGI_UNKNOWN_TYPE = 11,
};
enum { FCGI_REQUEST_COMPLETE = 0, FCGI_CANT_MPX_CONN = 1, FCGI_UNKNOWN_ROLE = 3 };

#define FCGI_WIRE_HEADER 8
#define FCGI_WIRE_END_RECORD 16
#define FCGI_WIRE_CONTENT_MAX 65535
/* All parameter records of one request together: above any web server's header limit. */
#define FCGI_WIRE_PARAMS_MAX (128 * 1024)
/* Pending management answers are flushed before more input is parsed. */
#define FCGI_WIRE_REPLY_MAX 1024

struct fcgi_pair {
	const char *name; /* not NUL-terminated: name_len bytes */
	size_t name_len;
	const char *value; /* NUL-terminated, holds no NUL */
};

/* What the parameters of a finished request turned out to be. */
enum fcgi_wire_params {
	FCGI_PARAMS_OK = 0,
	FCGI_PARAMS_MALFORMED, /* lengths that overrun the stream, a NUL in a name or value */
	FCGI_PARAMS_TOO_LARGE, /* more than FCGI_WIRE_PARAMS_MAX bytes */
};

enum fcgi_wire_status {
	FCGI_WIRE_MORE,  /* everything given was consumed: read more */
	FCGI_WIRE_READY, /* a request is complete: answer it, then fcgi_wire_next() and feed on */
	FCGI_WIRE_CLOSE, /* send the reply, then close: protocol error or a finished connection */
};

/* One connection's parser. Zero it, set stdin_max, and fcgi_wire_free() it at the end. */
struct fcgi_wire {
	size_t stdin_max; /* RESPONDER bodies are kept up to this many bytes, the rest dropped */

	/* the current record */
	uint8_t hdr[FCGI_WIRE_HEADER];
	uint8_t hdr_len;
	uint8_t type;
	uint16_t rid;
	uint16_t content_left;
	uint8_t padding_left;
	uint8_t small[FCGI_WIRE_REPLY_MAX / 2]; /* BEGIN_REQUEST or GET_VALUES content */
	uint16_t small_len;

	/* the current request: id 0 = none */
	uint16_t id;
	uint16_t role;
	bool keep_conn;
	bool params_done, stdin_done;
	bool params_overflow;
	bool close_after_reply;

	char *params; /* the raw name-value stream */
	size_t params_len, params_cap;
	char *strings; /* after READY: the pairs' NUL-terminated names and values */
	size_t strings_cap;
	char *body;
	size_t body_len, body_cap;
	struct fcgi_pair *pairs;
	size_t npairs, pairs_cap;
	enum fcgi_wire_params params_status;

	/* management answers and refusals (END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE) */
	uint8_t reply[FCGI_WIRE_REPLY_MAX + 128];
	size_t reply_len;

	/* what GET_VALUES answers */
	unsigned max_conns;
};

/* Consumes input until all of it is used or w->reply is full (MORE: send the reply, then
 * feed the rest or read more), a request is complete (READY: *used tells
 * how far; the rest belongs to the next request) or the connection must close (CLOSE).
 * Management answers collect in w->reply: send them before the next call. */
enum fcgi_wire_status fcgi_wire_feed(struct fcgi_wire *w, const uint8_t *in, size_t len,
                                     size_t *used);

/* True when no request and no record is under way: the connection is idle. */
bool fcgi_wire_idle(const struct fcgi_wire *w);

/* After READY: forgets the request (keeping the buffers for the next one). */
void fcgi_wire_next(struct fcgi_wire *w);
/* For a new connection: forgets the request, any partial record and the reply. */
void fcgi_wire_reset(struct fcgi_wire *w);

/* Shrinks buffers grown past `keep` bytes; frees everything when keep is 0. */
void fcgi_wire_trim(struct fcgi_wire *w, size_t keep);
void fcgi_wire_free(struct fcgi_wire *w);

/* A parameter of a pair list (first one wins, as web servers may send duplicates), or NULL. */
const char *fcgi_wire_param(const struct fcgi_pair *pairs, size_t n, const char *name);

/* Record builders: an 8-byte header, a 16-byte END_REQUEST record. */
void fcgi_wire_header(uint8_t *h, unsigned type, unsigned id, size_t content_len);
void fcgi_wire_end_request(uint8_t *r, unsigned id, uint32_t app_status, unsigned protocol);

#endif
