/* test_fcgi_wire: the FastCGI record layer on hand-built byte streams (lib/fcgi_wire). */
#include "fcgi_wire.h"
#include "suites.h"

#include <stdlib.h>
#include <string.h>

/* A growing byte stream the tests build records into. */
struct fw_buf {
	uint8_t *p;
	size_t n, cap;
};

static void fw_put(struct fw_buf *b, const void *data, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		ck_assert_ptr_nonnull(b->p);
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void fw_byte(struct fw_buf *b, unsigned c)
{
	uint8_t u = (uint8_t)c;

	fw_put(b, &u, 1);
}

static void fw_free(struct fw_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* One record: header (any version), content, `padding` zero bytes. */
static void fw_record_v(struct fw_buf *b, unsigned version, unsigned type, unsigned id,
                        const void *content, size_t n, unsigned padding)
{
	fw_byte(b, version);
	fw_byte(b, type);
	fw_byte(b, id >> 8);
	fw_byte(b, id);
	fw_byte(b, (unsigned)(n >> 8));
	fw_byte(b, (unsigned)n);
	fw_byte(b, padding);
	fw_byte(b, 0);
	fw_put(b, content, n);
	for (unsigned i = 0; i < padding; i++)
		fw_byte(b, 0);
}

static void fw_record(struct fw_buf *b, unsigned type, unsigned id, const void *content, size_t n,
                      unsigned padding)
{
	fw_record_v(b, 1, type, id, content, n, padding);
}

static void fw_begin(struct fw_buf *b, unsigned id, unsigned role, unsigned flags)
{
	const uint8_t c[8] = { (uint8_t)(role >> 8), (uint8_t)role, (uint8_t)flags };

	fw_record(b, FCGI_BEGIN_REQUEST, id, c, sizeof c, 0);
}

/* A name-value length: 1 byte below 128, else 4 bytes with the top bit set. */
static void fw_len(struct fw_buf *b, size_t len)
{
	if (len < 128) {
		fw_byte(b, (unsigned)len);
		return;
	}
	fw_byte(b, (unsigned)(len >> 24) | 0x80);
	fw_byte(b, (unsigned)(len >> 16));
	fw_byte(b, (unsigned)(len >> 8));
	fw_byte(b, (unsigned)len);
}

static void fw_pair_n(struct fw_buf *b, const char *name, size_t nl, const char *value, size_t vl)
{
	fw_len(b, nl);
	fw_len(b, vl);
	fw_put(b, name, nl);
	fw_put(b, value, vl);
}

static void fw_pair(struct fw_buf *b, const char *name, const char *value)
{
	fw_pair_n(b, name, strlen(name), value, strlen(value));
}

/* A whole stream (PARAMS or STDIN): records of at most 65535 bytes, then the empty one. */
static void fw_stream(struct fw_buf *b, unsigned type, unsigned id, const struct fw_buf *s)
{
	for (size_t at = 0; at < s->n;) {
		size_t k = s->n - at > FCGI_WIRE_CONTENT_MAX ? FCGI_WIRE_CONTENT_MAX : s->n - at;
		fw_record(b, type, id, s->p + at, k, 0);
		at += k;
	}
	fw_record(b, type, id, NULL, 0, 0);
}

/* An authorizer request: BEGIN, three parameters (one empty) and the empty PARAMS record. */
static void fw_authorizer(struct fw_buf *b, unsigned id, unsigned flags, const char *uri)
{
	struct fw_buf p = { 0 };

	fw_begin(b, id, 2, flags);
	fw_pair(&p, "REQUEST_METHOD", "GET");
	fw_pair(&p, "REQUEST_URI", uri);
	fw_pair(&p, "EMPTY", "");
	fw_stream(b, FCGI_PARAMS, id, &p);
	fw_free(&p);
}

static void fw_check_authorizer(const struct fcgi_wire *w, unsigned id, const char *uri)
{
	ck_assert_uint_eq(w->id, id);
	ck_assert_uint_eq(w->role, 2);
	ck_assert_int_eq(w->params_status, FCGI_PARAMS_OK);
	ck_assert_uint_eq(w->npairs, 3);
	ck_assert_uint_eq(w->pairs[0].name_len, 14);
	ck_assert_int_eq(memcmp(w->pairs[0].name, "REQUEST_METHOD", 14), 0);
	ck_assert_str_eq(w->pairs[0].value, "GET");
	ck_assert_uint_eq(w->pairs[1].name_len, 11);
	ck_assert_int_eq(memcmp(w->pairs[1].name, "REQUEST_URI", 11), 0);
	ck_assert_str_eq(w->pairs[1].value, uri);
	ck_assert_uint_eq(w->pairs[2].name_len, 5);
	ck_assert_str_eq(w->pairs[2].value, "");
	ck_assert_str_eq(fcgi_wire_param(w->pairs, w->npairs, "REQUEST_URI"), uri);
	ck_assert_str_eq(fcgi_wire_param(w->pairs, w->npairs, "EMPTY"), "");
	ck_assert_ptr_null(fcgi_wire_param(w->pairs, w->npairs, "REQUEST"));
	ck_assert_ptr_null(fcgi_wire_param(w->pairs, w->npairs, "HTTP_COOKIE"));
}

/* The END_REQUEST record the parser is expected to have put in w->reply at `at`. */
static void fw_check_end(const struct fcgi_wire *w, size_t at, unsigned id, unsigned protocol)
{
	const uint8_t want[16] = { 1, 3, (uint8_t)(id >> 8), (uint8_t)id, 0, 8, 0, 0, 0, 0,
		                   0, 0, (uint8_t)protocol };

	ck_assert_uint_ge(w->reply_len, at + sizeof want);
	ck_assert_mem_eq(w->reply + at, want, sizeof want);
}

START_TEST(test_authorizer_one_feed)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_authorizer(&b, 1, 0, "/x?a=b");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n);
	fw_check_authorizer(&w, 1, "/x?a=b");
	ck_assert(!w.keep_conn);
	ck_assert_uint_eq(w.body_len, 0);
	ck_assert_uint_eq(w.reply_len, 0);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_authorizer_byte_by_byte)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_authorizer(&b, 0x1234, 0, "/byte");
	for (size_t i = 0; i + 1 < b.n; i++) {
		ck_assert_int_eq(fcgi_wire_feed(&w, b.p + i, 1, &used), FCGI_WIRE_MORE);
		ck_assert_uint_eq(used, 1);
	}
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + b.n - 1, 1, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, 1);
	fw_check_authorizer(&w, 0x1234, "/byte");
	ck_assert_uint_eq(w.reply_len, 0);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_filter_needs_no_stdin)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 };
	size_t used = 0;

	fw_begin(&b, 3, 3, 0);
	fw_pair(&p, "A", "1");
	fw_stream(&b, FCGI_PARAMS, 3, &p);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.role, 3);
	ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, "A"), "1");
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

/* BEGIN and PARAMS (padded) of a responder; the STDIN records are the caller's. */
static void fw_responder_head(struct fw_buf *b, unsigned id)
{
	struct fw_buf p = { 0 };

	fw_begin(b, id, 1, 0);
	fw_pair(&p, "REQUEST_METHOD", "POST");
	fw_record(b, FCGI_PARAMS, id, p.p, p.n, 5);
	fw_record(b, FCGI_PARAMS, id, NULL, 0, 3);
	fw_free(&p);
}

static void fw_responder_body(struct fw_buf *b, unsigned id)
{
	fw_record(b, FCGI_STDIN, id, "hello ", 6, 2);
	fw_record(b, FCGI_STDIN, id, "big ", 4, 7);
	fw_record(b, FCGI_STDIN, id, "world", 5, 0);
	fw_record(b, FCGI_STDIN, id, NULL, 0, 4);
}

START_TEST(test_responder_body)
{
	struct fcgi_wire w = { .stdin_max = 100 };
	struct fw_buf b = { 0 };
	size_t used = 0, head;

	fw_responder_head(&b, 1);
	head = b.n;
	fw_responder_body(&b, 1);
	/* the empty PARAMS record does not finish a responder: it waits for the empty STDIN */
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, head, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(used, head);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + head, b.n - head, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n - head);
	ck_assert_uint_eq(w.id, 1);
	ck_assert_uint_eq(w.role, 1);
	ck_assert_int_eq(w.params_status, FCGI_PARAMS_OK);
	ck_assert_uint_eq(w.npairs, 1);
	ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, "REQUEST_METHOD"), "POST");
	ck_assert_uint_eq(w.body_len, 15);
	ck_assert_mem_eq(w.body, "hello big world", 15);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

static const size_t stdin_caps[] = { 0, 1, 4, 6, 14, 15 };

START_TEST(test_responder_body_capped)
{
	struct fcgi_wire w = { .stdin_max = stdin_caps[_i] };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_responder_head(&b, 1);
	fw_responder_body(&b, 1);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.body_len, stdin_caps[_i]);
	if (stdin_caps[_i] > 0)
		ck_assert_mem_eq(w.body, "hello big world", stdin_caps[_i]);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_keep_conn_back_to_back)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0, first;

	fw_authorizer(&b, 1, 1, "/first");
	first = b.n;
	fw_authorizer(&b, 1, 0, "/second");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, first);
	fw_check_authorizer(&w, 1, "/first");
	ck_assert(w.keep_conn);
	fcgi_wire_next(&w);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + first, b.n - first, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n - first);
	fw_check_authorizer(&w, 1, "/second");
	ck_assert(!w.keep_conn);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_duplicate_first_wins)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 };
	size_t used = 0;

	fw_begin(&b, 1, 2, 0);
	fw_pair(&p, "HTTP_HOST", "first.example");
	fw_pair(&p, "HTTP_HOST", "second.example");
	fw_stream(&b, FCGI_PARAMS, 1, &p);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(w.npairs, 2);
	ck_assert_str_eq(w.pairs[1].value, "second.example");
	ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, "HTTP_HOST"), "first.example");
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

START_TEST(test_four_byte_lengths)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 };
	char name[131], value[301];
	size_t used = 0;

	memset(name, 'N', 130);
	name[130] = '\0';
	memset(value, 'v', 300);
	value[300] = '\0';
	fw_begin(&b, 1, 2, 0);
	fw_pair(&p, "HTTP_COOKIE", value);
	fw_pair(&p, name, "n");
	ck_assert_uint_eq(p.n, 1 + 4 + 11 + 300 + 4 + 1 + 130 + 1);
	ck_assert_uint_eq(p.p[1], 0x80);
	ck_assert_uint_eq(p.p[3], 0x01);
	ck_assert_uint_eq(p.p[4], 0x2c);
	fw_stream(&b, FCGI_PARAMS, 1, &p);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_int_eq(w.params_status, FCGI_PARAMS_OK);
	ck_assert_uint_eq(w.npairs, 2);
	ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, "HTTP_COOKIE"), value);
	ck_assert_uint_eq(w.pairs[1].name_len, 130);
	ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, name), "n");
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

/* One parameter whose stream is FCGI_WIRE_PARAMS_MAX + extra bytes (1 + 4 + 1 + value). */
static void fw_params_of_size(struct fcgi_wire *w, size_t extra, enum fcgi_wire_params want)
{
	struct fw_buf b = { 0 }, p = { 0 };
	size_t vl = FCGI_WIRE_PARAMS_MAX + extra - 6, used = 0;
	char *value = malloc(vl);

	ck_assert_ptr_nonnull(value);
	memset(value, 'x', vl);
	fw_begin(&b, 1, 2, 0);
	fw_pair_n(&p, "V", 1, value, vl);
	ck_assert_uint_eq(p.n, FCGI_WIRE_PARAMS_MAX + extra);
	fw_stream(&b, FCGI_PARAMS, 1, &p);
	ck_assert_int_eq(fcgi_wire_feed(w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n);
	ck_assert_int_eq(w->params_status, want);
	if (want == FCGI_PARAMS_OK) {
		ck_assert_uint_eq(w->npairs, 1);
		ck_assert_uint_eq(strlen(w->pairs[0].value), vl);
	} else {
		ck_assert_uint_eq(w->npairs, 0);
	}
	free(value);
	fw_free(&b);
	fw_free(&p);
}

START_TEST(test_params_limit)
{
	struct fcgi_wire w = { 0 };

	fw_params_of_size(&w, 0, FCGI_PARAMS_OK);
	fcgi_wire_next(&w);
	fw_params_of_size(&w, 1, FCGI_PARAMS_TOO_LARGE);
	fcgi_wire_next(&w);
	fw_params_of_size(&w, 0, FCGI_PARAMS_OK); /* the next request starts afresh */
	fcgi_wire_free(&w);
}
END_TEST

static const struct {
	const char *stream;
	size_t len;
	enum fcgi_wire_params status;
} params_cases[] = {
	{ "\001\001A1", 4, FCGI_PARAMS_OK },
	{ "\005\000abc", 5, FCGI_PARAMS_MALFORMED },           /* name overruns */
	{ "\001\012Aab", 5, FCGI_PARAMS_MALFORMED },           /* value overruns */
	{ "\001\001A1\001", 5, FCGI_PARAMS_MALFORMED },        /* a name length, no value length */
	{ "\200\000\000", 3, FCGI_PARAMS_MALFORMED },          /* a cut 4-byte length */
	{ "\001\200\000\000\001", 5, FCGI_PARAMS_MALFORMED },  /* 4-byte value length, no bytes */
	{ "\001\377\377\377\377A", 6, FCGI_PARAMS_MALFORMED }, /* value length 2^31-1 */
	{ "\001\003Ax\0y", 6, FCGI_PARAMS_MALFORMED },         /* NUL in a value */
	{ "\002\001A\0v", 5, FCGI_PARAMS_MALFORMED },          /* NUL in a name */
	{ "\000\001v", 3, FCGI_PARAMS_MALFORMED },             /* empty name */
	{ "\001\001A1\000\000", 6, FCGI_PARAMS_MALFORMED },    /* an empty name after a good pair */
};

START_TEST(test_params_status)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_begin(&b, 1, 2, 0);
	fw_record(&b, FCGI_PARAMS, 1, params_cases[_i].stream, params_cases[_i].len, 0);
	fw_record(&b, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n);
	ck_assert_msg(w.params_status == params_cases[_i].status, "case %d: status %d", _i,
	              (int)w.params_status);
	if (params_cases[_i].status == FCGI_PARAMS_OK) {
		ck_assert_uint_eq(w.npairs, 1);
		ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, "A"), "1");
	} else {
		ck_assert_uint_eq(w.npairs, 0);
	}
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_bad_version)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_record_v(&b, 2, FCGI_BEGIN_REQUEST, 1, "\0\2\0\0\0\0\0\0", 8, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_CLOSE);
	ck_assert_uint_le(used, b.n);
	ck_assert_uint_eq(w.reply_len, 0);
	fcgi_wire_free(&w);
	fw_free(&b);

	/* also in the middle of a request */
	memset(&w, 0, sizeof w);
	fw_begin(&b, 1, 2, 0);
	fw_record_v(&b, 0, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_CLOSE);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

static const size_t begin_lengths[] = { 0, 7, 9, 600 };

START_TEST(test_begin_length)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	uint8_t c[600] = { 0, 2 };
	size_t used = 0;

	fw_record(&b, FCGI_BEGIN_REQUEST, 1, c, begin_lengths[_i], 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_CLOSE);
	ck_assert_uint_eq(used, b.n);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_duplicate_begin)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_begin(&b, 1, 2, 1);
	fw_begin(&b, 1, 2, 1);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_CLOSE);
	ck_assert_uint_eq(used, b.n);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_unknown_role_close)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_begin(&b, 1, 7, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_CLOSE);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.reply_len, FCGI_WIRE_END_RECORD);
	fw_check_end(&w, 0, 1, FCGI_UNKNOWN_ROLE);
	ck_assert_uint_eq(w.reply[12], 3);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_unknown_role_keep_conn)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 };
	size_t used = 0, refused;

	fw_begin(&b, 1, 0, 1); /* role 0 is no role either */
	fw_begin(&b, 1, 7, 1);
	fw_pair(&p, "IGNORED", "1");
	fw_stream(&b, FCGI_PARAMS, 1, &p); /* of a refused request: ignored */
	refused = b.n;
	fw_authorizer(&b, 1, 1, "/after");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, refused, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(used, refused);
	ck_assert_uint_eq(w.reply_len, 2 * FCGI_WIRE_END_RECORD);
	fw_check_end(&w, 0, 1, FCGI_UNKNOWN_ROLE);
	fw_check_end(&w, FCGI_WIRE_END_RECORD, 1, FCGI_UNKNOWN_ROLE);
	ck_assert(fcgi_wire_idle(&w));
	w.reply_len = 0;
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + refused, b.n - refused, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n - refused);
	fw_check_authorizer(&w, 1, "/after");
	ck_assert_uint_eq(w.reply_len, 0);
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

START_TEST(test_cant_mpx)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 }, q = { 0 };
	size_t used = 0;

	fw_begin(&b, 1, 2, 0);
	fw_pair(&p, "REQUEST_URI", "/one");
	fw_record(&b, FCGI_PARAMS, 1, p.p, p.n, 0);
	fw_begin(&b, 2, 2, 0);
	fw_pair(&q, "REQUEST_URI", "/two");
	fw_stream(&b, FCGI_PARAMS, 2, &q); /* ignored: request 2 was refused */
	fw_record(&b, FCGI_STDIN, 9, "zz", 2, 0);
	fw_record(&b, FCGI_PARAMS, 1, NULL, 0, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.reply_len, FCGI_WIRE_END_RECORD);
	fw_check_end(&w, 0, 2, FCGI_CANT_MPX_CONN);
	ck_assert_uint_eq(w.id, 1);
	ck_assert_uint_eq(w.npairs, 1);
	ck_assert_str_eq(fcgi_wire_param(w.pairs, w.npairs, "REQUEST_URI"), "/one");
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
	fw_free(&q);
}
END_TEST

START_TEST(test_abort)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 };
	size_t used = 0;

	fw_begin(&b, 1, 1, 0);
	fw_pair(&p, "A", "1");
	fw_stream(&b, FCGI_PARAMS, 1, &p);
	fw_record(&b, FCGI_ABORT_REQUEST, 2, NULL, 0, 0); /* not the active one: ignored */
	fw_record(&b, FCGI_ABORT_REQUEST, 1, NULL, 0, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_CLOSE);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.reply_len, FCGI_WIRE_END_RECORD);
	fw_check_end(&w, 0, 1, FCGI_REQUEST_COMPLETE);
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

START_TEST(test_abort_keep_conn)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0, aborted;

	fw_begin(&b, 1, 1, 1);
	fw_record(&b, FCGI_ABORT_REQUEST, 1, NULL, 0, 0);
	aborted = b.n;
	fw_authorizer(&b, 1, 0, "/next");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, aborted, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(used, aborted);
	ck_assert_uint_eq(w.reply_len, FCGI_WIRE_END_RECORD);
	fw_check_end(&w, 0, 1, FCGI_REQUEST_COMPLETE);
	ck_assert(fcgi_wire_idle(&w));
	w.reply_len = 0;
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + aborted, b.n - aborted, &used), FCGI_WIRE_READY);
	fw_check_authorizer(&w, 1, "/next");
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_unknown_type)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	const uint8_t want[16] = { 1, 11, 0, 0, 0, 8, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0 };
	size_t used = 0;

	fw_record(&b, 42, 0, "abc", 3, 5);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.reply_len, sizeof want);
	ck_assert_mem_eq(w.reply, want, sizeof want);
	ck_assert(fcgi_wire_idle(&w));
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_get_values)
{
	static const char want[] = "\x01\x0a\x00\x00\x00\x35\x00\x00"
	                           "\x0e\x02"
	                           "FCGI_MAX_CONNS"
	                           "16"
	                           "\x0d\x02"
	                           "FCGI_MAX_REQS"
	                           "16"
	                           "\x0f\x01"
	                           "FCGI_MPXS_CONNS"
	                           "0";
	struct fcgi_wire w = { .max_conns = 16 };
	struct fw_buf b = { 0 }, p = { 0 };
	size_t used = 0;

	fw_pair(&p, "FCGI_MAX_CONNS", "");
	fw_pair(&p, "FCGI_UNKNOWN", "");
	fw_pair(&p, "FCGI_MAX_REQS", "");
	fw_pair(&p, "FCGI_MPXS_CONNS", "");
	fw_record(&b, FCGI_GET_VALUES, 0, p.p, p.n, 3);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(used, b.n);
	ck_assert_uint_eq(w.reply_len, sizeof want - 1);
	ck_assert_mem_eq(w.reply, want, sizeof want - 1);
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

START_TEST(test_get_values_empty)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 }, p = { 0 };
	const uint8_t want[8] = { 1, 10, 0, 0, 0, 0, 0, 0 };
	size_t used = 0;

	fw_pair(&p, "OTHER", "");
	fw_record(&b, FCGI_GET_VALUES, 0, p.p, p.n, 0);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(w.reply_len, sizeof want);
	ck_assert_mem_eq(w.reply, want, sizeof want);
	fcgi_wire_free(&w);
	fw_free(&b);
	fw_free(&p);
}
END_TEST

START_TEST(test_reply_full)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0, more = 0, at, records = 100, done;

	for (size_t i = 0; i < records; i++)
		fw_record(&b, 42, 0, NULL, 0, 0);
	at = b.n;
	fw_authorizer(&b, 1, 0, "/late");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_MORE);
	ck_assert_uint_lt(used, at);
	ck_assert_uint_eq(used % FCGI_WIRE_HEADER, 0);
	done = used / FCGI_WIRE_HEADER;
	ck_assert_uint_eq(w.reply_len, done * 16);
	ck_assert_uint_gt(w.reply_len, FCGI_WIRE_REPLY_MAX);
	ck_assert_uint_le(w.reply_len, sizeof w.reply);
	for (size_t i = 0; i < done; i++)
		ck_assert_uint_eq(w.reply[i * 16 + 8], 42);
	/* a caller that does not send the reply gets nothing more parsed */
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + used, b.n - used, &more), FCGI_WIRE_MORE);
	ck_assert_uint_eq(more, 0);
	w.reply_len = 0;
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + used, b.n - used, &more), FCGI_WIRE_READY);
	ck_assert_uint_eq(more, b.n - used);
	ck_assert_uint_eq(w.reply_len, (records - done) * 16);
	fw_check_authorizer(&w, 1, "/late");
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_idle)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	ck_assert(fcgi_wire_idle(&w));
	ck_assert_int_eq(fcgi_wire_feed(&w, NULL, 0, &used), FCGI_WIRE_MORE);
	ck_assert_uint_eq(used, 0);
	ck_assert(fcgi_wire_idle(&w));
	fw_record(&b, 42, 0, "ab", 2, 1);
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, 3, &used), FCGI_WIRE_MORE);
	ck_assert(!fcgi_wire_idle(&w)); /* in a header */
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + 3, 6, &used), FCGI_WIRE_MORE);
	ck_assert(!fcgi_wire_idle(&w)); /* in the content */
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + 9, 1, &used), FCGI_WIRE_MORE);
	ck_assert(!fcgi_wire_idle(&w)); /* in the padding */
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + 10, 1, &used), FCGI_WIRE_MORE);
	ck_assert(fcgi_wire_idle(&w));
	w.reply_len = 0;
	b.n = 0;
	fw_authorizer(&b, 1, 0, "/idle");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, 16, &used), FCGI_WIRE_MORE);
	ck_assert(!fcgi_wire_idle(&w)); /* a request under way */
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p + 16, b.n - 16, &used), FCGI_WIRE_READY);
	ck_assert(!fcgi_wire_idle(&w));
	fcgi_wire_next(&w);
	ck_assert(fcgi_wire_idle(&w));
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_reset)
{
	struct fcgi_wire w = { 0 };
	struct fw_buf b = { 0 };
	size_t used = 0;

	fw_authorizer(&b, 1, 0, "/reset");
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, 20, &used), FCGI_WIRE_MORE);
	fcgi_wire_reset(&w);
	ck_assert(fcgi_wire_idle(&w));
	ck_assert_int_eq(fcgi_wire_feed(&w, b.p, b.n, &used), FCGI_WIRE_READY);
	fw_check_authorizer(&w, 1, "/reset");
	fcgi_wire_trim(&w, 0);
	ck_assert_ptr_null(w.params);
	ck_assert_ptr_null(w.pairs);
	fcgi_wire_free(&w);
	fw_free(&b);
}
END_TEST

START_TEST(test_builders)
{
	const uint8_t hdr[8] = { 1, 6, 0x12, 0x34, 0xab, 0xcd, 0, 0 };
	const uint8_t end[16] = {
		1, 3, 0x01, 0x02, 0, 8, 0, 0, 0xde, 0xad, 0xbe, 0xef, 3, 0, 0, 0
	};
	uint8_t h[8], r[16];

	memset(h, 0xff, sizeof h);
	fcgi_wire_header(h, FCGI_STDOUT, 0x1234, 0xabcd);
	ck_assert_mem_eq(h, hdr, sizeof hdr);
	memset(r, 0xff, sizeof r);
	fcgi_wire_end_request(r, 0x0102, 0xdeadbeef, FCGI_UNKNOWN_ROLE);
	ck_assert_mem_eq(r, end, sizeof end);
}
END_TEST

Suite *suite_fcgi_wire(void)
{
	Suite *s = suite_create("fcgi_wire");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_authorizer_one_feed);
	tcase_add_test(tc, test_authorizer_byte_by_byte);
	tcase_add_test(tc, test_filter_needs_no_stdin);
	tcase_add_test(tc, test_responder_body);
	tcase_add_loop_test(tc, test_responder_body_capped, 0,
	                    sizeof stdin_caps / sizeof stdin_caps[0]);
	tcase_add_test(tc, test_keep_conn_back_to_back);
	tcase_add_test(tc, test_duplicate_first_wins);
	tcase_add_test(tc, test_four_byte_lengths);
	tcase_add_test(tc, test_params_limit);
	tcase_add_loop_test(tc, test_params_status, 0,
	                    sizeof params_cases / sizeof params_cases[0]);
	tcase_add_test(tc, test_bad_version);
	tcase_add_loop_test(tc, test_begin_length, 0,
	                    sizeof begin_lengths / sizeof begin_lengths[0]);
	tcase_add_test(tc, test_duplicate_begin);
	tcase_add_test(tc, test_unknown_role_close);
	tcase_add_test(tc, test_unknown_role_keep_conn);
	tcase_add_test(tc, test_cant_mpx);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_abort_keep_conn);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_get_values);
	tcase_add_test(tc, test_get_values_empty);
	tcase_add_test(tc, test_reply_full);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_builders);
	suite_add_tcase(s, tc);
	return s;
}
