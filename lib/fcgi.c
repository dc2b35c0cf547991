/* fcgi: the FastCGI edge: listening sockets, worker threads, requests, shutdown (only FCGX_ user). */
#include "fcgi.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FCGI_BACKLOG 1024
#define FCGI_GRACE_MS 5000
/* Internal signal that interrupts a worker blocked in accept() at shutdown. */
#define FCGI_WAKE_SIGNAL SIGUSR2

struct fcgi_req {
	FCGX_Request fx;
	enum fcgi_role role;
};

struct fcgi_worker {
	const struct fcgi_server *srv;
	pthread_t thread;
	int index;
	atomic_bool done;
};

static atomic_bool fcgi_stopping;
static atomic_bool fcgi_failed; /* a worker died on its own: the process must exit non-zero */

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

static enum fcgi_role fcgi_parse_role(const char *s)
{
	if (s == NULL)
		return FCGI_ROLE_NONE;
	if (strcmp(s, "RESPONDER") == 0)
		return FCGI_ROLE_RESPONDER;
	if (strcmp(s, "AUTHORIZER") == 0)
		return FCGI_ROLE_AUTHORIZER;
	if (strcmp(s, "FILTER") == 0)
		return FCGI_ROLE_FILTER;
	return FCGI_ROLE_NONE;
}

enum fcgi_role fcgi_req_role(const struct fcgi_req *req)
{
	return req->role;
}

struct fcgi_req *fcgi_req_from_env(char **envp, enum fcgi_role role)
{
	struct fcgi_req *r = calloc(1, sizeof *r);

	if (r != NULL) {
		r->fx.envp = envp;
		r->role = role;
	}
	return r;
}

const char *fcgi_param(const struct fcgi_req *req, const char *name)
{
	return FCGX_GetParam(name, req->fx.envp);
}

long fcgi_read(struct fcgi_req *req, void *buf, size_t n)
{
	long total = 0;

	/* lighttpd sends no stdin record to an authorizer and Apache none at all: reading hangs. */
	if (req->role != FCGI_ROLE_RESPONDER)
		return -1;
	while ((size_t)total < n) {
		size_t chunk = n - (size_t)total > 65536 ? 65536 : n - (size_t)total;
		int r = FCGX_GetStr((char *)buf + total, (int)chunk, req->fx.in);
		if (r <= 0)
			break;
		total += r;
	}
	return total;
}

int fcgi_write(struct fcgi_req *req, const void *buf, size_t n)
{
	if (n > (size_t)__INT_MAX__)
		return -1;
	return FCGX_PutStr(buf, (int)n, req->fx.out) == (int)n ? 0 : -1;
}

/* Formats with the C library: libfcgi's own FCGX_FPrintF knows no %zu and writes garbage. */
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

/* A request in a role this program does not serve: a misconfigured web server. */
static void fcgi_wrong_role(struct fcgi_req *req, const struct fcgi_server *srv, const char *role)
{
	static atomic_ulong count;
	unsigned long n = atomic_fetch_add(&count, 1) + 1;

	if ((n & (n - 1)) == 0) /* 1st, 2nd, 4th, 8th...: loud but bounded */
		log_error(
		    "%s got a request in FastCGI role %s, which it does not serve (%lu so far): "
		    "fix the web server configuration (see README: integration guides)",
		    srv->program, role ? role : "(none)", n);
	fcgi_printf(req,
	            "Status: 500 Internal Server Error\r\nContent-Type: application/json\r\n"
	            "Cache-Control: no-store\r\n\r\n"
	            "{\"error\":\"wrong FastCGI role for this program\",\"code\":\"WRONG_ROLE\"}");
}

static void *fcgi_worker_main(void *arg)
{
	struct fcgi_worker *w = arg;
	const struct fcgi_server *srv = w->srv;
	struct fcgi_req req;
	void *ctx = srv->thread_init ? srv->thread_init(srv->app, w->index) : NULL;
	int errors = 0;
	sigset_t wake;

	sigemptyset(&wake);
	sigaddset(&wake, FCGI_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	if (srv->thread_init != NULL && ctx == NULL) {
		log_error("worker %d: initialisation failed", w->index);
		goto out;
	}
	memset(&req, 0, sizeof req);
	if (FCGX_InitRequest(&req.fx, srv->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("worker %d: FCGX_InitRequest failed", w->index);
		goto out;
	}
	while (!atomic_load(&fcgi_stopping)) {
		int rc = FCGX_Accept_r(&req.fx);
		const char *role_name;

		if (rc < 0) {
			if (atomic_load(&fcgi_stopping))
				break;
			if (rc == -EINTR)
				continue;
			/* e.g. EMFILE: back off briefly instead of spinning, give up if it persists */
			if (++errors > 1000) {
				log_error("worker %d: accept keeps failing (%s), stopping",
				          w->index, strerror(-rc));
				break;
			}
			nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
			continue;
		}
		errors = 0;
		role_name = FCGX_GetParam("FCGI_ROLE", req.fx.envp);
		req.role = fcgi_parse_role(role_name);
		if ((req.role & srv->roles) == 0)
			fcgi_wrong_role(&req, srv, role_name);
		else
			srv->handler(&req, ctx);
		FCGX_Finish_r(&req.fx);
	}
	FCGX_Free(&req.fx, 1);
out:
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

static void fcgi_wake_handler(int sig)
{
	(void)sig; /* only there so that accept() returns EINTR */
}

static long fcgi_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Interrupts every worker until all have left their loops or the grace period ends. */
static void fcgi_stop_workers(struct fcgi_worker *w, int n)
{
	struct timespec t0;
	int left;

	atomic_store(&fcgi_stopping, true);
	FCGX_ShutdownPending();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		left = 0;
		for (int i = 0; i < n; i++) {
			if (!atomic_load(&w[i].done)) {
				left++;
				pthread_kill(w[i].thread, FCGI_WAKE_SIGNAL);
			}
		}
		if (left > 0)
			nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	} while (left > 0 && fcgi_ms_since(&t0) < FCGI_GRACE_MS);
	if (left > 0) {
		log_warn("%d worker(s) still busy after %d ms; exiting anyway", left,
		         FCGI_GRACE_MS);
		return;
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
}

int fcgi_serve(const struct fcgi_server *srv)
{
	struct sigaction sa = { .sa_handler = fcgi_wake_handler }; /* no SA_RESTART, on purpose */
	sigset_t stop;
	struct fcgi_worker *workers;
	int started = 0, sig = 0;

	if (FCGX_Init() != 0) {
		log_error("FCGX_Init failed");
		return -1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(FCGI_WAKE_SIGNAL, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, FCGI_WAKE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* inherited by the workers */
	sigdelset(&stop, FCGI_WAKE_SIGNAL);

	workers = calloc((size_t)srv->threads, sizeof *workers);
	if (workers == NULL)
		return -1;
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
	fcgi_stop_workers(workers, started);
	free(workers);
	return started == srv->threads && !atomic_load(&fcgi_failed) ? 0 : -1;
}
