/* fcgi: the FastCGI edge: listening sockets, connections, worker threads, requests, shutdown. */
#include "fcgi.h"

#include "fcgi_wire.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FCGI_BACKLOG 1024
#define FCGI_GRACE_MS 5000
/* Connections per process; more wait in the listen backlog. */
#define FCGI_MAX_CONNS 1024
/* A request must arrive whole within this time of its first byte (or of the connect): a
 * connection that sends nothing, or dribbles, is closed instead of holding anything. */
#define FCGI_REQUEST_TIMEOUT_MS 10000
/* A kept-alive connection (FCGI_KEEP_CONN) may wait this long for its next request. */
#define FCGI_IDLE_TIMEOUT_MS 60000
#define FCGI_WRITE_TIMEOUT_MS 10000
#define FCGI_SWEEP_MS 500
#define FCGI_READ_BUF 16384
/* Answers are sent whole; a long one is flushed in records once this much is pending. */
#define FCGI_OUT_FLUSH 32768
/* Buffers grown past this by one request are freed afterwards: memory stays bounded. */
#define FCGI_BUF_KEEP 16384
#define FCGI_EV_LISTEN UINT64_MAX
#define FCGI_EV_WAKE (UINT64_MAX - 1)

/* One slot of the connection table. A free slot has fd -1; `busy` marks the worker that owns
 * it; `gen` changes with every close, so a stale epoll event never reaches a new connection. */
struct fcgi_conn {
	int fd;
	int index;
	uint32_t gen;
	bool busy;
	bool registered; /* added to the epoll set */
	int next_free;
	long deadline; /* monotonic ms */
	struct fcgi_wire wire;
	uint8_t *out; /* the answer's pending content, after room for one record header */
	size_t out_len, out_cap;
};

struct fcgi_req {
	enum fcgi_role role;
	unsigned id;
	const struct fcgi_pair *pairs;
	size_t npairs;
	const char *body;
	size_t body_len, body_pos;
	struct fcgi_conn *conn; /* NULL: parameters only (fcgi_req_from_env) */
	bool failed;            /* a write failed: the connection is closed after the handler */
};

struct fcgi_worker {
	const struct fcgi_server *srv;
	pthread_t thread;
	int index;
	atomic_bool done;
};

static atomic_bool fcgi_stopping;
static atomic_bool fcgi_failed; /* a worker died on its own: the process must exit non-zero */

/* The process's connections, shared by the workers through one epoll set. */
static struct {
	int epfd, wakefd, listen_fd;
	size_t body_max;
	pthread_mutex_t lock; /* the slots' fd, gen, busy, registered, free list; listen_paused */
	struct fcgi_conn **conns; /* slots are allocated as concurrency first needs them */
	int nconns;
	int free_head;
	bool listen_paused; /* every slot in use: accept again when one frees */
	atomic_long next_sweep;
} fcgi = { .epfd = -1, .wakefd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static int fcgi_split_hostport(const char *spec, char *host, size_t hostlen, char *port,
                               size_t portlen)
{
	const char *colon;
	size_t hl;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		hl = (size_t)(close - spec - 1);
		if (hl == 0 || hl >= hostlen)
			return -1;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl == 0 || hl >= hostlen)
			return -1;
		memcpy(host, spec, hl);
		host[hl] = '\0';
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	snprintf(port, portlen, "%s", colon + 1);
	return atoi(port) >= 1 && atoi(port) <= 65535 ? 0 : -1;
}

static int fcgi_resolve(const char *spec, struct addrinfo **out)
{
	char host[64], port[8];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };

	if (fcgi_split_hostport(spec, host, sizeof host, port, sizeof port) != 0)
		return -1;
	return getaddrinfo(host, port, &hints, out) == 0 ? 0 : -1;
}

int fcgi_listen_check(const char *spec, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;

	if (spec[0] == '\0')
		return 0;
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		if (path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "unix: needs an absolute path shorter than %zu bytes",
			         sizeof(((struct sockaddr_un *)0)->sun_path));
			return -1;
		}
		return 0;
	}
	if (fcgi_resolve(spec, &ai) != 0) {
		snprintf(
		    err, errlen,
		    "expected unix:/path, an IPv4 address and port (127.0.0.1:9000) or [IPv6]:port "
		    "(numeric only), got \"%s\"",
		    spec);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

static int fcgi_listen_unix(const char *path, int *fd_out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	/* Replace a stale socket from an earlier run, never any other kind of file. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0660) != 0 ||
	    listen(fd, FCGI_BACKLOG) != 0) {
		snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fd_out = fd;
	return 0;
}

static int fcgi_listen_tcp(const char *spec, int *fd_out, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	int fd = -1, one = 1;

	if (fcgi_resolve(spec, &ai) != 0) {
		snprintf(err, errlen, "cannot parse listen address \"%s\"", spec);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, FCGI_BACKLOG) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	*fd_out = fd;
	return 0;
}

int fcgi_listen_open(const char *spec, int *fd, char *err, size_t errlen)
{
	int accepting = 0;
	socklen_t len = sizeof accepting;

	if (fcgi_listen_check(spec, err, errlen) != 0)
		return -1;
	if (strncmp(spec, "unix:", 5) == 0)
		return fcgi_listen_unix(spec + 5, fd, err, errlen);
	if (spec[0] != '\0')
		return fcgi_listen_tcp(spec, fd, err, errlen);
	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) != 0 || !accepting) {
		snprintf(err, errlen,
		         "fd 0 is not a listening socket: run under spawn-fcgi or "
		         "mod_fcgid, or pass --listen unix:/path or --listen 127.0.0.1:9000");
		return -1;
	}
	*fd = 0;
	return 0;
}

static long fcgi_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

enum fcgi_role fcgi_req_role(const struct fcgi_req *req)
{
	return req->role;
}

struct fcgi_req *fcgi_req_from_env(char **envp, enum fcgi_role role)
{
	size_t n = 0;
	struct fcgi_req *r;
	struct fcgi_pair *pairs;

	while (envp[n] != NULL)
		n++;
	r = calloc(1, sizeof *r + n * sizeof *pairs);
	if (r == NULL)
		return NULL;
	pairs = (struct fcgi_pair *)(r + 1);
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(envp[i], '=');
		pairs[r->npairs].name = envp[i];
		pairs[r->npairs].name_len = eq ? (size_t)(eq - envp[i]) : strlen(envp[i]);
		pairs[r->npairs].value = eq ? eq + 1 : "";
		r->npairs++;
	}
	r->pairs = pairs;
	r->role = role;
	return r;
}

const char *fcgi_param(const struct fcgi_req *req, const char *name)
{
	return fcgi_wire_param(req->pairs, req->npairs, name);
}

long fcgi_read(struct fcgi_req *req, void *buf, size_t n)
{
	size_t left = req->body_len - req->body_pos;

	/* lighttpd sends no stdin record to an authorizer and Apache none at all */
	if (req->role != FCGI_ROLE_RESPONDER)
		return -1;
	if (n > left)
		n = left;
	memcpy(buf, req->body + req->body_pos, n);
	req->body_pos += n;
	return (long)n;
}

/* Writes all of iov to a non-blocking socket, waiting for room at most FCGI_WRITE_TIMEOUT_MS. */
static int fcgi_sendv(int fd, struct iovec *iov, int n)
{
	long deadline = fcgi_now_ms() + FCGI_WRITE_TIMEOUT_MS;

	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			long left = deadline - fcgi_now_ms();
			if (left <= 0 || poll(&p, 1, (int)left) <= 0)
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int fcgi_send(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return fcgi_sendv(fd, &iov, 1);
}

/* Sends the pending content as STDOUT records of at most 65535 bytes. */
static int fcgi_flush(struct fcgi_req *req)
{
	struct fcgi_conn *c = req->conn;
	const uint8_t *p = c->out + FCGI_WIRE_HEADER;
	size_t left = c->out_len;

	while (left > 0) {
		uint8_t h[FCGI_WIRE_HEADER];
		size_t k = left < FCGI_WIRE_CONTENT_MAX ? left : FCGI_WIRE_CONTENT_MAX;
		struct iovec iov[2] = { { h, sizeof h }, { (void *)p, k } };

		fcgi_wire_header(h, FCGI_STDOUT, req->id, k);
		if (fcgi_sendv(c->fd, iov, 2) != 0)
			return -1;
		p += k;
		left -= k;
	}
	c->out_len = 0;
	return 0;
}

/* Room for n more bytes of content plus the final records. */
static int fcgi_out_reserve(struct fcgi_conn *c, size_t n)
{
	size_t need = FCGI_WIRE_HEADER + c->out_len + n + FCGI_WIRE_HEADER + FCGI_WIRE_END_RECORD;
	size_t cap = c->out_cap ? c->out_cap : 4096;
	uint8_t *p;

	if (need <= c->out_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(c->out, cap);
	if (p == NULL)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

int fcgi_write(struct fcgi_req *req, const void *buf, size_t n)
{
	struct fcgi_conn *c = req->conn;

	if (c == NULL)
		return 0; /* a parameters-only request answers nobody */
	if (req->failed || fcgi_out_reserve(c, n) != 0) {
		req->failed = true;
		return -1;
	}
	memcpy(c->out + FCGI_WIRE_HEADER + c->out_len, buf, n);
	c->out_len += n;
	if (c->out_len >= FCGI_OUT_FLUSH && fcgi_flush(req) != 0) {
		req->failed = true;
		return -1;
	}
	return 0;
}

/* The rest of the content, the empty STDOUT record and END_REQUEST: one write for an answer
 * that never needed a flush, which is every authorizer answer. */
static int fcgi_finish(struct fcgi_req *req)
{
	struct fcgi_conn *c = req->conn;
	uint8_t *start = c->out + FCGI_WIRE_HEADER, *end;

	if (req->failed || fcgi_out_reserve(c, 0) != 0)
		return -1;
	end = start + c->out_len;
	if (c->out_len > 0) {
		start = c->out;
		fcgi_wire_header(start, FCGI_STDOUT, req->id, c->out_len);
	}
	fcgi_wire_header(end, FCGI_STDOUT, req->id, 0);
	fcgi_wire_end_request(end + FCGI_WIRE_HEADER, req->id, 0, FCGI_REQUEST_COMPLETE);
	end += FCGI_WIRE_HEADER + FCGI_WIRE_END_RECORD;
	c->out_len = 0;
	return fcgi_send(c->fd, start, (size_t)(end - start));
}

/* Formats with the C library, on the stack for every answer of ordinary size. */
int fcgi_printf(struct fcgi_req *req, const char *fmt, ...)
{
	char stack[2048];
	char *heap = NULL;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof stack, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof stack)
		return fcgi_write(req, stack, (size_t)n);
	heap = malloc((size_t)n + 1);
	if (heap == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(heap, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = fcgi_write(req, heap, (size_t)n);
	free(heap);
	return rc;
}

/* 1st, 2nd, 4th, 8th... occurrence: loud but bounded. */
static bool fcgi_log_due(atomic_ulong *count, unsigned long *n)
{
	*n = atomic_fetch_add(count, 1) + 1;
	return (*n & (*n - 1)) == 0;
}

static const char *fcgi_role_name(enum fcgi_role role)
{
	switch (role) {
	case FCGI_ROLE_RESPONDER: return "RESPONDER";
	case FCGI_ROLE_AUTHORIZER: return "AUTHORIZER";
	case FCGI_ROLE_FILTER: return "FILTER";
	default: return "(none)";
	}
}

/* A request in a role this program does not serve: a misconfigured web server. */
static void fcgi_wrong_role(struct fcgi_req *req, const struct fcgi_server *srv)
{
	static atomic_ulong count;
	unsigned long n;

	if (fcgi_log_due(&count, &n))
		log_error(
		    "%s got a request in FastCGI role %s, which it does not serve (%lu so far): "
		    "fix the web server configuration (see README: integration guides)",
		    srv->program, fcgi_role_name(req->role), n);
	fcgi_printf(req,
	            "Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n"
	            "Cache-Control: no-store\r\n\r\n"
	            "{\"error\":\"wrong FastCGI role for this program\",\"code\":\"WRONG_ROLE\"}");
}

/* Parameters no web server sends: a NUL inside, lengths that lie, or too many bytes. */
static void fcgi_bad_params(struct fcgi_req *req, const struct fcgi_server *srv,
                            enum fcgi_wire_params why)
{
	static atomic_ulong count;
	unsigned long n;
	bool large = why == FCGI_PARAMS_TOO_LARGE;

	if (fcgi_log_due(&count, &n))
		log_warn("%s refused a request whose FastCGI parameters %s (%lu so far)",
		         srv->program,
		         large ? "exceed 128 KiB" : "are malformed or hold a NUL byte", n);
	fcgi_printf(
	    req,
	    "Status: %s\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n"
	    "{\"error\":\"%s\",\"code\":\"%s\"}",
	    large ? "431 Request Header Fields Too Large" : "400 Bad Request",
	    large ? "request headers too large" : "malformed FastCGI parameters",
	    large ? "HEADERS_TOO_LARGE" : "BAD_FASTCGI_PARAMS");
}

/* A complete request: the handler (or a refusal) writes the answer, then it is sent. */
static int fcgi_conn_request(struct fcgi_conn *c, const struct fcgi_server *srv, void *ctx)
{
	struct fcgi_wire *w = &c->wire;
	struct fcgi_req req = { .role = (enum fcgi_role)(w->role == 3 ? FCGI_ROLE_FILTER : w->role),
		                .id = w->id,
		                .pairs = w->pairs,
		                .npairs = w->npairs,
		                .body = w->body,
		                .body_len = w->body_len,
		                .conn = c };

	c->out_len = 0;
	if (w->params_status != FCGI_PARAMS_OK)
		fcgi_bad_params(&req, srv, w->params_status);
	else if ((req.role & srv->roles) == 0)
		fcgi_wrong_role(&req, srv);
	else
		srv->handler(&req, ctx);
	return fcgi_finish(&req);
}

static int fcgi_epoll_arm(int op, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = data };

	return epoll_ctl(fcgi.epfd, op, fd, &ev);
}

static uint64_t fcgi_conn_key(const struct fcgi_conn *c)
{
	return (uint64_t)c->gen << 32 | (uint64_t)c->index;
}

static void fcgi_listen_rearm(void)
{
	if (fcgi_epoll_arm(EPOLL_CTL_MOD, fcgi.listen_fd, FCGI_EV_LISTEN) != 0)
		log_error("cannot watch the listening socket: %s", strerror(errno));
}

/* The connection's buffers back to their resting size; only its owner (or, for an unowned
 * one, the holder of the lock) touches them. */
static void fcgi_conn_reset(struct fcgi_conn *c)
{
	fcgi_wire_reset(&c->wire);
	fcgi_wire_trim(&c->wire, FCGI_BUF_KEEP);
	if (c->out_cap > FCGI_BUF_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

/* The slot back on the free list; returns its fd (-1 for a slot fcgi_accept reserved and got
 * no connection for), which the caller closes after unlocking: until then the number cannot
 * be reused, and an event still queued for it carries the old generation, which
 * fcgi_conn_claim refuses. Rearms the listening socket if it waited for a free slot. */
static int fcgi_conn_free_locked(struct fcgi_conn *c)
{
	int fd = c->fd;

	c->fd = -1;
	c->gen++;
	c->busy = c->registered = false;
	c->next_free = fcgi.free_head;
	fcgi.free_head = c->index;
	if (fcgi.listen_paused) {
		fcgi.listen_paused = false;
		fcgi_listen_rearm();
	}
	return fd;
}

/* The owner gives the connection back: watched again, or closed. Arming happens under the
 * lock (once armed another worker may claim it, and the sweeper must not close it between
 * the two); closing does not. */
static void fcgi_conn_release(struct fcgi_conn *c, bool keep)
{
	int fd = -1;

	if (!keep)
		fcgi_conn_reset(c);
	pthread_mutex_lock(&fcgi.lock);
	if (keep) {
		c->busy = false;
		if (fcgi_epoll_arm(c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
		                   fcgi_conn_key(c)) == 0)
			c->registered = true;
		else
			keep = false;
		if (!keep)
			fcgi_conn_reset(c);
	}
	if (!keep)
		fd = fcgi_conn_free_locked(c);
	pthread_mutex_unlock(&fcgi.lock);
	if (fd >= 0)
		close(fd); /* also leaves the epoll set */
}

/* An epoll event names a slot and its generation: the connection, if still the same one and
 * nobody else serves it (whoever does rearms it, and epoll reports it again then). */
static struct fcgi_conn *fcgi_conn_claim(uint64_t key)
{
	struct fcgi_conn *c = fcgi.conns[key & 0xffffffffu];

	pthread_mutex_lock(&fcgi.lock);
	if (c->busy || c->fd < 0 || c->gen != (uint32_t)(key >> 32))
		c = NULL;
	else
		c->busy = true;
	pthread_mutex_unlock(&fcgi.lock);
	return c;
}

/* Closes every unowned connection past its deadline; one worker at a time, twice a second. */
static void fcgi_sweep(void)
{
	long now = fcgi_now_ms(), due = atomic_load(&fcgi.next_sweep);

	if (now < due ||
	    !atomic_compare_exchange_strong(&fcgi.next_sweep, &due, now + FCGI_SWEEP_MS))
		return;
	pthread_mutex_lock(&fcgi.lock);
	for (int i = 0; i < fcgi.nconns; i++) {
		struct fcgi_conn *c = fcgi.conns[i];
		if (!c->busy && c->fd >= 0 && c->deadline <= now) {
			fcgi_conn_reset(c);
			close(fcgi_conn_free_locked(c));
		}
	}
	pthread_mutex_unlock(&fcgi.lock);
}

/* A new slot on the free list, if the table has room and memory allows. */
static void fcgi_slot_new_locked(void)
{
	struct fcgi_conn *c;

	if (fcgi.nconns == FCGI_MAX_CONNS || (c = calloc(1, sizeof *c)) == NULL)
		return;
	c->fd = -1;
	c->index = fcgi.nconns;
	c->wire.stdin_max = fcgi.body_max;
	c->wire.max_conns = FCGI_MAX_CONNS;
	c->next_free = fcgi.free_head;
	fcgi.free_head = c->index;
	fcgi.conns[fcgi.nconns++] = c;
}

/* Accepts one connection into a free slot, owned by the caller; NULL if none. The slot is
 * taken first (busy, so nobody else looks at its fd), the accept and the rearming of the
 * listening socket happen outside the lock. */
static struct fcgi_conn *fcgi_accept(void)
{
	static atomic_ulong failures;
	struct fcgi_conn *c;
	unsigned long n;
	int fd;

	pthread_mutex_lock(&fcgi.lock);
	if (fcgi.free_head < 0)
		fcgi_slot_new_locked();
	if (fcgi.free_head < 0) {
		fcgi.listen_paused = true; /* the next close watches the socket again */
		pthread_mutex_unlock(&fcgi.lock);
		return NULL;
	}
	c = fcgi.conns[fcgi.free_head];
	fcgi.free_head = c->next_free;
	c->busy = true;
	pthread_mutex_unlock(&fcgi.lock);
	fd = accept4(fcgi.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
	    errno != ECONNABORTED) {
		if (fcgi_log_due(&failures, &n))
			log_error("accept: %s (%lu so far)", strerror(errno), n);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL); /* e.g. EMFILE */
	}
	fcgi_listen_rearm();
	if (fd < 0) {
		/* the slot goes back; a worker that found none meanwhile paused the listening socket,
		 * which fcgi_conn_free_locked watches again */
		pthread_mutex_lock(&fcgi.lock);
		fcgi_conn_free_locked(c);
		pthread_mutex_unlock(&fcgi.lock);
		return NULL;
	}
	c->fd = fd;
	c->deadline = fcgi_now_ms() + FCGI_REQUEST_TIMEOUT_MS;
	return c;
}

/* Feeds what was read to the parser and answers each complete request. Returns 1 to keep
 * reading, 0 when the connection is done (answered without keep-conn), -1 to close now. */
static int fcgi_conn_input(struct fcgi_conn *c, const struct fcgi_server *srv, void *ctx,
                           const uint8_t *in, size_t len)
{
	struct fcgi_wire *w = &c->wire;
	size_t at = 0;

	while (at < len) {
		size_t used;
		enum fcgi_wire_status st;

		if (fcgi_wire_idle(w))
			c->deadline = fcgi_now_ms() + FCGI_REQUEST_TIMEOUT_MS;
		st = fcgi_wire_feed(w, in + at, len - at, &used);
		at += used;
		if (w->reply_len > 0 && fcgi_send(c->fd, w->reply, w->reply_len) != 0)
			return -1;
		w->reply_len = 0;
		if (st == FCGI_WIRE_CLOSE)
			return -1;
		if (st != FCGI_WIRE_READY)
			continue;
		bool keep = w->keep_conn && !atomic_load(&fcgi_stopping);
		int rc = fcgi_conn_request(c, srv, ctx);
		fcgi_wire_next(w);
		fcgi_wire_trim(w, FCGI_BUF_KEEP);
		if (rc != 0)
			return -1;
		if (!keep)
			return 0;
		c->deadline = fcgi_now_ms() + FCGI_IDLE_TIMEOUT_MS;
	}
	return 1;
}

/* Serves an owned connection until it would block (then it is watched again) or ends. */
static void fcgi_conn_serve(struct fcgi_conn *c, const struct fcgi_server *srv, void *ctx,
                            uint8_t *buf)
{
	for (;;) {
		ssize_t r = read(c->fd, buf, FCGI_READ_BUF);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fcgi_conn_release(c, true);
			return;
		}
		if (r <= 0 || fcgi_conn_input(c, srv, ctx, buf, (size_t)r) <= 0)
			break;
	}
	fcgi_conn_release(c, false);
}

static void fcgi_worker_loop(const struct fcgi_server *srv, void *ctx, uint8_t *buf)
{
	while (!atomic_load(&fcgi_stopping)) {
		struct epoll_event ev;
		struct fcgi_conn *c = NULL;
		int n = epoll_wait(fcgi.epfd, &ev, 1, FCGI_SWEEP_MS);

		fcgi_sweep();
		if (n < 0 && errno != EINTR) {
			log_error("epoll_wait: %s", strerror(errno));
			return;
		}
		if (n != 1 || ev.data.u64 == FCGI_EV_WAKE)
			continue;
		c = ev.data.u64 == FCGI_EV_LISTEN ? fcgi_accept() : fcgi_conn_claim(ev.data.u64);
		if (c != NULL)
			fcgi_conn_serve(c, srv, ctx, buf);
	}
}

static void *fcgi_worker_main(void *arg)
{
	struct fcgi_worker *w = arg;
	const struct fcgi_server *srv = w->srv;
	void *ctx = srv->thread_init ? srv->thread_init(srv->app, w->index) : NULL;
	uint8_t *buf = malloc(FCGI_READ_BUF);

	if ((srv->thread_init != NULL && ctx == NULL) || buf == NULL)
		log_error("worker %d: initialisation failed", w->index);
	else
		fcgi_worker_loop(srv, ctx, buf);
	free(buf);
	if (srv->thread_fini != NULL && ctx != NULL)
		srv->thread_fini(ctx);
	if (!atomic_load(&fcgi_stopping)) {
		/* A process with fewer workers than configured is not what the operator asked for:
		 * stop it so that its supervisor (spawn-fcgi, mod_fcgid, systemd) starts a new one. */
		atomic_store(&fcgi_failed, true);
		kill(getpid(), SIGTERM);
	}
	atomic_store(&w->done, true);
	return NULL;
}

/* The connection table, the epoll set with the listening socket and the wake-up eventfd. */
static int fcgi_setup(const struct fcgi_server *srv)
{
	int flags = fcntl(srv->listen_fd, F_GETFL);

	fcgi.listen_fd = srv->listen_fd;
	fcgi.conns = calloc(FCGI_MAX_CONNS, sizeof *fcgi.conns);
	fcgi.epfd = epoll_create1(EPOLL_CLOEXEC);
	fcgi.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fcgi.conns == NULL || fcgi.epfd < 0 || fcgi.wakefd < 0 || flags < 0 ||
	    fcntl(srv->listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		log_error("cannot set up the FastCGI connections: %s", strerror(errno));
		return -1;
	}
	fcgi.body_max = srv->body_max;
	fcgi.free_head = -1;
	struct epoll_event wake = { .events = EPOLLIN, .data.u64 = FCGI_EV_WAKE };
	if (epoll_ctl(fcgi.epfd, EPOLL_CTL_ADD, fcgi.wakefd, &wake) != 0 ||
	    fcgi_epoll_arm(EPOLL_CTL_ADD, fcgi.listen_fd, FCGI_EV_LISTEN) != 0) {
		log_error("cannot set up the FastCGI connections: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void fcgi_teardown(void)
{
	if (fcgi.conns != NULL) {
		for (int i = 0; i < fcgi.nconns; i++) {
			if (fcgi.conns[i]->fd >= 0)
				close(fcgi.conns[i]->fd);
			fcgi_wire_free(&fcgi.conns[i]->wire);
			free(fcgi.conns[i]->out);
			free(fcgi.conns[i]);
		}
		free(fcgi.conns);
		fcgi.conns = NULL;
	}
	if (fcgi.epfd >= 0)
		close(fcgi.epfd);
	if (fcgi.wakefd >= 0)
		close(fcgi.wakefd);
	fcgi.epfd = fcgi.wakefd = -1;
}

/* Wakes every worker (the eventfd stays readable) and waits for them to leave their loops;
 * a request in flight is answered first, up to the grace period. */
static bool fcgi_stop_workers(struct fcgi_worker *w, int n)
{
	long t0 = fcgi_now_ms();
	int left;

	atomic_store(&fcgi_stopping, true);
	if (write(fcgi.wakefd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0)
		log_warn("cannot wake the workers: %s", strerror(errno));
	do {
		left = 0;
		for (int i = 0; i < n; i++)
			left += !atomic_load(&w[i].done);
		if (left > 0)
			nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	} while (left > 0 && fcgi_now_ms() - t0 < FCGI_GRACE_MS);
	if (left > 0) {
		log_warn("%d worker(s) still busy after %d ms; exiting anyway", left,
		         FCGI_GRACE_MS);
		return false;
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	return true;
}

int fcgi_serve(const struct fcgi_server *srv)
{
	sigset_t stop;
	struct fcgi_worker *workers;
	int started = 0, sig = 0;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* inherited by the workers */

	workers = calloc((size_t)srv->threads, sizeof *workers);
	if (workers == NULL || fcgi_setup(srv) != 0) {
		free(workers);
		fcgi_teardown();
		return -1;
	}
	for (int i = 0; i < srv->threads; i++) {
		workers[i].srv = srv;
		workers[i].index = i;
		if (pthread_create(&workers[i].thread, NULL, fcgi_worker_main, &workers[i]) != 0) {
			log_error("cannot start worker thread %d", i);
			break;
		}
		started++;
	}
	if (started == srv->threads) {
		log_info("%s %s serving with %d worker threads", srv->program, POSTERN_VERSION,
		         srv->threads);
		for (;;) {
			if (sigwait(&stop, &sig) != 0)
				continue;
			if (sig != SIGHUP)
				break;
			log_info(
			    "SIGHUP ignored: restart the process to apply a new configuration");
		}
		log_info("signal %d: shutting down", sig);
	}
	if (fcgi_stop_workers(workers, started))
		fcgi_teardown(); /* only when no worker can still touch the table */
	free(workers);
	return started == srv->threads && !atomic_load(&fcgi_failed) ? 0 : -1;
}
