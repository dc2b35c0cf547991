/* fcgi_wire: the FastCGI record layer: a connection's bytes into requests, answers into records
 * (pure: no sockets, fuzzed). */
#include "fcgi_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FCGI_VERSION_1 1
#define FCGI_KEEP_CONN 1
#define FCGI_ROLE_MAX 3 /* RESPONDER, AUTHORIZER, FILTER */

void fcgi_wire_header(uint8_t *h, unsigned type, unsigned id, size_t content_len)
{
	h[0] = FCGI_VERSION_1;
	h[1] = (uint8_t)type;
	h[2] = (uint8_t)(id >> 8);
	h[3] = (uint8_t)id;
	h[4] = (uint8_t)(content_len >> 8);
	h[5] = (uint8_t)content_len;
	h[6] = 0; /* no padding */
	h[7] = 0;
}

void fcgi_wire_end_request(uint8_t *r, unsigned id, uint32_t app_status, unsigned protocol)
{
	fcgi_wire_header(r, FCGI_END_REQUEST, id, 8);
	r[8] = (uint8_t)(app_status >> 24);
	r[9] = (uint8_t)(app_status >> 16);
	r[10] = (uint8_t)(app_status >> 8);
	r[11] = (uint8_t)app_status;
	r[12] = (uint8_t)protocol;
	memset(r + 13, 0, 3);
}

/* Grows *buf to hold `need` bytes. */
static int fcgi_wire_reserve(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 1024;
	char *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n);
	if (p == NULL)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static void fcgi_wire_reply(struct fcgi_wire *w, const uint8_t *rec, size_t n)
{
	/* feed stops parsing once reply_len passes FCGI_WIRE_REPLY_MAX: room for one more */
	memcpy(w->reply + w->reply_len, rec, n);
	w->reply_len += n;
}

static void fcgi_wire_refuse(struct fcgi_wire *w, unsigned id, unsigned protocol)
{
	uint8_t r[FCGI_WIRE_END_RECORD];

	fcgi_wire_end_request(r, id, 0, protocol);
	fcgi_wire_reply(w, r, sizeof r);
}

/* One name-value length: 1 byte below 128, else 4 bytes with the top bit set. */
static int fcgi_wire_length(const uint8_t *p, size_t left, size_t *at, size_t *len)
{
	if (*at >= left)
		return -1;
	if ((p[*at] & 0x80) == 0) {
		*len = p[(*at)++];
		return 0;
	}
	if (left - *at < 4)
		return -1;
	*len = ((size_t)(p[*at] & 0x7f) << 24) | ((size_t)p[*at + 1] << 16) |
	       ((size_t)p[*at + 2] << 8) | p[*at + 3];
	*at += 4;
	return 0;
}

/* The raw stream into pairs of NUL-terminated strings. Every pair has at least two length
 * bytes and gains two NULs, so the strings never need more room than the stream had. */
static enum fcgi_wire_params fcgi_wire_parse_params(struct fcgi_wire *w)
{
	const uint8_t *p = (const uint8_t *)w->params;
	size_t at = 0, out = 0, n = 0;

	w->npairs = 0;
	if (w->params_overflow)
		return FCGI_PARAMS_TOO_LARGE;
	if (fcgi_wire_reserve(&w->strings, &w->strings_cap, w->params_len + 1) != 0)
		return FCGI_PARAMS_TOO_LARGE;
	while (at < w->params_len) {
		size_t nl, vl;

		if (fcgi_wire_length(p, w->params_len, &at, &nl) != 0 ||
		    fcgi_wire_length(p, w->params_len, &at, &vl) != 0 || nl == 0 ||
		    nl > w->params_len - at || vl > w->params_len - at - nl ||
		    memchr(p + at, '\0', nl + vl) != NULL)
			return FCGI_PARAMS_MALFORMED;
		if (n == w->pairs_cap) {
			size_t cap = w->pairs_cap ? w->pairs_cap * 2 : 64;
			struct fcgi_pair *np = realloc(w->pairs, cap * sizeof *np);
			if (np == NULL)
				return FCGI_PARAMS_TOO_LARGE;
			w->pairs = np;
			w->pairs_cap = cap;
		}
		memcpy(w->strings + out, p + at, nl);
		w->strings[out + nl] = '\0';
		memcpy(w->strings + out + nl + 1, p + at + nl, vl);
		w->strings[out + nl + 1 + vl] = '\0';
		w->pairs[n].name = w->strings + out;
		w->pairs[n].name_len = nl;
		w->pairs[n].value = w->strings + out + nl + 1;
		n++;
		out += nl + vl + 2;
		at += nl + vl;
	}
	w->npairs = n;
	return FCGI_PARAMS_OK;
}

const char *fcgi_wire_param(const struct fcgi_pair *pairs, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (pairs[i].name_len == len && memcmp(pairs[i].name, name, len) == 0)
			return pairs[i].value;
	return NULL;
}

bool fcgi_wire_idle(const struct fcgi_wire *w)
{
	return w->id == 0 && w->hdr_len == 0 && w->content_left == 0 && w->padding_left == 0;
}

void fcgi_wire_next(struct fcgi_wire *w)
{
	w->id = 0;
	w->role = 0;
	w->keep_conn = false;
	w->params_done = w->stdin_done = w->params_overflow = false;
	w->params_len = w->body_len = w->npairs = 0;
	w->params_status = FCGI_PARAMS_OK;
}

void fcgi_wire_reset(struct fcgi_wire *w)
{
	fcgi_wire_next(w);
	w->hdr_len = 0;
	w->content_left = 0;
	w->padding_left = 0;
	w->reply_len = 0;
	w->close_after_reply = false;
}

static void fcgi_wire_trim_one(char **buf, size_t *cap, size_t keep)
{
	if (*cap > keep) {
		free(*buf);
		*buf = NULL;
		*cap = 0;
	}
}

void fcgi_wire_trim(struct fcgi_wire *w, size_t keep)
{
	fcgi_wire_trim_one(&w->params, &w->params_cap, keep);
	fcgi_wire_trim_one(&w->strings, &w->strings_cap, keep);
	fcgi_wire_trim_one(&w->body, &w->body_cap, keep);
	if (w->pairs_cap * sizeof *w->pairs > keep) {
		free(w->pairs);
		w->pairs = NULL;
		w->pairs_cap = 0;
	}
}

void fcgi_wire_free(struct fcgi_wire *w)
{
	fcgi_wire_trim(w, 0);
}

static bool fcgi_wire_complete(const struct fcgi_wire *w)
{
	/* the AUTHORIZER role gets no stdin from lighttpd and Apache: its params are the request */
	return w->params_done && (w->role != 1 || w->stdin_done);
}

static void fcgi_wire_begin(struct fcgi_wire *w)
{
	unsigned role = (unsigned)w->small[0] << 8 | w->small[1];
	bool keep = (w->small[2] & FCGI_KEEP_CONN) != 0;

	if (w->id != 0) { /* one request at a time: FCGI_MPXS_CONNS is 0 */
		fcgi_wire_refuse(w, w->rid, FCGI_CANT_MPX_CONN);
		return;
	}
	if (role == 0 || role > FCGI_ROLE_MAX) {
		fcgi_wire_refuse(w, w->rid, FCGI_UNKNOWN_ROLE);
		w->close_after_reply = !keep;
		return;
	}
	fcgi_wire_next(w);
	w->id = w->rid;
	w->role = (uint16_t)role;
	w->keep_conn = keep;
}

/* GET_VALUES: answers the three names the specification defines, ignores the others. */
static void fcgi_wire_get_values(struct fcgi_wire *w)
{
	uint8_t out[FCGI_WIRE_HEADER + 96];
	size_t at = 0, olen = FCGI_WIRE_HEADER;

	while (at < w->small_len) {
		size_t nl, vl;
		char value[16];
		const char *name;

		if (fcgi_wire_length(w->small, w->small_len, &at, &nl) != 0 ||
		    fcgi_wire_length(w->small, w->small_len, &at, &vl) != 0 ||
		    nl > w->small_len - at || vl > w->small_len - at - nl)
			break;
		name = (const char *)w->small + at;
		at += nl + vl;
		if ((nl == 14 && memcmp(name, "FCGI_MAX_CONNS", 14) == 0) ||
		    (nl == 13 && memcmp(name, "FCGI_MAX_REQS", 13) == 0))
			vl = (size_t)snprintf(value, sizeof value, "%u", w->max_conns);
		else if (nl == 15 && memcmp(name, "FCGI_MPXS_CONNS", 15) == 0)
			vl = (size_t)snprintf(value, sizeof value, "0");
		else
			continue;
		if (olen + 2 + nl + vl > sizeof out)
			break;
		out[olen++] = (uint8_t)nl;
		out[olen++] = (uint8_t)vl;
		memcpy(out + olen, name, nl);
		memcpy(out + olen + nl, value, vl);
		olen += nl + vl;
	}
	fcgi_wire_header(out, FCGI_GET_VALUES_RESULT, 0, olen - FCGI_WIRE_HEADER);
	fcgi_wire_reply(w, out, olen);
}

/* A management record (request id 0) is complete. */
static void fcgi_wire_management(struct fcgi_wire *w)
{
	uint8_t r[FCGI_WIRE_END_RECORD];

	if (w->type == FCGI_GET_VALUES) {
		fcgi_wire_get_values(w);
		return;
	}
	fcgi_wire_header(r, FCGI_UNKNOWN_TYPE, 0, 8);
	memset(r + FCGI_WIRE_HEADER, 0, 8);
	r[FCGI_WIRE_HEADER] = w->type;
	fcgi_wire_reply(w, r, sizeof r);
}

/* Bytes of the current record's content: where they go depends on its type. */
static int fcgi_wire_content(struct fcgi_wire *w, const uint8_t *in, size_t n)
{
	if (w->rid == 0 || w->type == FCGI_BEGIN_REQUEST) {
		size_t room = sizeof w->small - w->small_len;
		size_t k = n < room ? n : room;
		memcpy(w->small + w->small_len, in, k);
		w->small_len = (uint16_t)(w->small_len + k);
		return 0;
	}
	if (w->rid != w->id)
		return 0; /* records of a request that is not active are ignored */
	if (w->type == FCGI_PARAMS && !w->params_done) {
		if (w->params_len + n > FCGI_WIRE_PARAMS_MAX) {
			w->params_overflow = true; /* dropped; answered with an error at the end */
			return 0;
		}
		if (fcgi_wire_reserve(&w->params, &w->params_cap, w->params_len + n) != 0)
			return -1;
		memcpy(w->params + w->params_len, in, n);
		w->params_len += n;
	} else if (w->type == FCGI_STDIN && w->role == 1 && !w->stdin_done) {
		size_t room = w->stdin_max > w->body_len ? w->stdin_max - w->body_len : 0;
		size_t k = n < room ? n : room;
		if (k == 0)
			return 0;
		if (fcgi_wire_reserve(&w->body, &w->body_cap, w->body_len + k) != 0)
			return -1;
		memcpy(w->body + w->body_len, in, k);
		w->body_len += k;
	}
	return 0;
}

/* The current record is complete (content and padding): what it means for the request. */
static enum fcgi_wire_status fcgi_wire_record_end(struct fcgi_wire *w, bool empty)
{
	if (w->rid == 0) {
		fcgi_wire_management(w);
		return FCGI_WIRE_MORE;
	}
	switch (w->type) {
	case FCGI_BEGIN_REQUEST:
		if (w->small_len != 8 || (w->id != 0 && w->rid == w->id))
			return FCGI_WIRE_CLOSE;
		fcgi_wire_begin(w);
		return w->close_after_reply ? FCGI_WIRE_CLOSE : FCGI_WIRE_MORE;
	case FCGI_ABORT_REQUEST:
		if (w->rid != w->id)
			return FCGI_WIRE_MORE;
		fcgi_wire_refuse(w, w->id, FCGI_REQUEST_COMPLETE);
		if (!w->keep_conn)
			return FCGI_WIRE_CLOSE;
		fcgi_wire_next(w);
		return FCGI_WIRE_MORE;
	case FCGI_PARAMS:
		if (w->rid == w->id && empty)
			w->params_done = true;
		break;
	case FCGI_STDIN:
		if (w->rid == w->id && empty)
			w->stdin_done = true;
		break;
	default: return FCGI_WIRE_MORE;
	}
	if (w->id == 0 || w->rid != w->id || !fcgi_wire_complete(w))
		return FCGI_WIRE_MORE;
	w->params_status = fcgi_wire_parse_params(w);
	return FCGI_WIRE_READY;
}

static void fcgi_wire_header_done(struct fcgi_wire *w)
{
	w->type = w->hdr[1];
	w->rid = (uint16_t)(w->hdr[2] << 8 | w->hdr[3]);
	w->content_left = (uint16_t)(w->hdr[4] << 8 | w->hdr[5]);
	w->padding_left = w->hdr[6];
	w->small_len = 0;
}

enum fcgi_wire_status fcgi_wire_feed(struct fcgi_wire *w, const uint8_t *in, size_t len,
                                     size_t *used)
{
	size_t at = 0;
	enum fcgi_wire_status st = FCGI_WIRE_MORE;

	while (at < len && st == FCGI_WIRE_MORE && w->reply_len <= FCGI_WIRE_REPLY_MAX) {
		bool empty;

		if (w->hdr_len < FCGI_WIRE_HEADER) {
			size_t k = FCGI_WIRE_HEADER - w->hdr_len;
			if (k > len - at)
				k = len - at;
			memcpy(w->hdr + w->hdr_len, in + at, k);
			w->hdr_len = (uint8_t)(w->hdr_len + k);
			at += k;
			if (w->hdr_len < FCGI_WIRE_HEADER)
				break;
			if (w->hdr[0] != FCGI_VERSION_1) {
				st = FCGI_WIRE_CLOSE;
				break;
			}
			fcgi_wire_header_done(w);
		}
		empty = w->hdr[4] == 0 && w->hdr[5] == 0;
		if (w->content_left > 0) {
			size_t k = w->content_left < len - at ? w->content_left : len - at;
			if (k > 0 && fcgi_wire_content(w, in + at, k) != 0) {
				st = FCGI_WIRE_CLOSE; /* out of memory: the web server retries */
				break;
			}
			w->content_left = (uint16_t)(w->content_left - k);
			at += k;
		}
		if (w->content_left == 0 && w->padding_left > 0) {
			size_t k = w->padding_left < len - at ? w->padding_left : len - at;
			w->padding_left = (uint8_t)(w->padding_left - k);
			at += k;
		}
		if (w->content_left > 0 || w->padding_left > 0)
			break;
		w->hdr_len = 0;
		st = fcgi_wire_record_end(w, empty);
	}
	*used = at;
	return st;
}
