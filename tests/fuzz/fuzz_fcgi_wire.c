/* fuzz_fcgi_wire: the FastCGI record layer (lib/fcgi_wire) on arbitrary connection bytes. The
 * first byte picks the chunk size (1..64), stdin_max (0 or 100) and whether buffers are trimmed
 * between requests; the rest is fed chunk by chunk as a connection loop does (reply sent and
 * cleared each call, fcgi_wire_next after READY, stop at CLOSE). Checked: feed uses at most
 * what it was given and always makes progress, stops early only with a full reply, the reply
 * stays in its buffer and is a sequence of well-formed records; a READY request has a known
 * role, a non-zero id, a body within stdin_max (none but for RESPONDER), and good parameters
 * are non-empty names and NUL-free values laid out inside the strings buffer. */
#include "fcgi_wire.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

/* The answers collected in w->reply: END_REQUEST, GET_VALUES_RESULT or UNKNOWN_TYPE records. */
static void fuzz_fcgi_wire_reply(const struct fcgi_wire *w)
{
	const uint8_t *r = w->reply;
	size_t at = 0;

	if (w->reply_len > sizeof w->reply)
		abort();
	while (at < w->reply_len) {
		const uint8_t *h = r + at;
		unsigned id, clen;

		if (w->reply_len - at < FCGI_WIRE_HEADER)
			abort();
		id = (unsigned)h[2] << 8 | h[3];
		clen = (unsigned)h[4] << 8 | h[5];
		if (h[0] != 1 || h[6] != 0 || w->reply_len - at - FCGI_WIRE_HEADER < clen)
			abort();
		switch (h[1]) {
		case FCGI_END_REQUEST:
			if (clen != 8 || id == 0 ||
			    (h[12] != FCGI_REQUEST_COMPLETE && h[12] != FCGI_CANT_MPX_CONN &&
			     h[12] != FCGI_UNKNOWN_ROLE))
				abort();
			break;
		case FCGI_UNKNOWN_TYPE:
			if (clen != 8 || id != 0)
				abort();
			break;
		case FCGI_GET_VALUES_RESULT:
			if (id != 0 || clen > 96)
				abort();
			break;
		default: abort();
		}
		at += FCGI_WIRE_HEADER + clen;
	}
}

static void fuzz_fcgi_wire_ready(const struct fcgi_wire *w)
{
	const char *end;
	size_t out = 0;

	if (w->role < 1 || w->role > 3 || w->id == 0 || w->body_len > w->stdin_max ||
	    (w->role != 1 && w->body_len != 0) || w->npairs * 2 > w->params_len)
		abort();
	if (w->params_status != FCGI_PARAMS_OK) {
		if ((w->params_status != FCGI_PARAMS_MALFORMED &&
		     w->params_status != FCGI_PARAMS_TOO_LARGE) ||
		    w->npairs != 0)
			abort();
		return;
	}
	if (w->strings == NULL)
		abort(); /* parsed parameters, even none, have their strings buffer */
	end = w->strings + w->strings_cap;
	for (size_t i = 0; i < w->npairs; i++) {
		const struct fcgi_pair *p = &w->pairs[i];
		const char *nul;

		/* name NUL value NUL, one pair after the other from the start of the buffer */
		if (p->name_len == 0 || p->name != w->strings + out ||
		    p->name_len >= (size_t)(end - p->name) || p->name[p->name_len] != '\0' ||
		    memchr(p->name, '\0', p->name_len) != NULL ||
		    p->value != p->name + p->name_len + 1)
			abort();
		nul = memchr(p->value, '\0', (size_t)(end - p->value));
		if (nul == NULL)
			abort();
		out += p->name_len + (size_t)(nul - p->value) + 2;
		if (out > w->params_len)
			abort();
		/* the first pair of a name is the one looked up (the name is NUL-terminated) */
		if (i < 16) {
			const char *v = fcgi_wire_param(w->pairs, w->npairs, p->name);
			size_t j = 0;
			while (j <= i && w->pairs[j].value != v)
				j++;
			if (j > i || w->pairs[j].name_len != p->name_len ||
			    memcmp(w->pairs[j].name, p->name, p->name_len) != 0)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fcgi_wire w;
	size_t chunk, at = 1;
	bool trim;

	if (size == 0)
		return 0;
	memset(&w, 0, sizeof w);
	chunk = (size_t)(data[0] & 63) + 1;
	w.stdin_max = data[0] & 64 ? 100 : 0;
	w.max_conns = 1000;
	trim = (data[0] & 128) != 0;
	while (at < size) {
		size_t n = size - at < chunk ? size - at : chunk, used = n + 1;
		uint8_t *in = malloc(n); /* exact size: ASan sees a read past the chunk */
		enum fcgi_wire_status st;

		if (in == NULL)
			break;
		memcpy(in, data + at, n);
		w.reply_len = 0; /* sent */
		st = fcgi_wire_feed(&w, in, n, &used);
		free(in);
		if (used > n || (st != FCGI_WIRE_CLOSE && used == 0))
			abort();
		if (st == FCGI_WIRE_MORE && used < n && w.reply_len <= FCGI_WIRE_REPLY_MAX)
			abort();
		fuzz_fcgi_wire_reply(&w);
		at += used;
		if (st == FCGI_WIRE_CLOSE)
			break;
		if (st == FCGI_WIRE_READY) {
			fuzz_fcgi_wire_ready(&w);
			fcgi_wire_next(&w);
			if (!fcgi_wire_idle(&w))
				abort();
			if (trim)
				fcgi_wire_trim(&w, 4096);
		}
	}
	fcgi_wire_free(&w);
	return 0;
}
