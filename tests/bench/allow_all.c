/* allow_all: a trivial allow-all FastCGI authorizer (benchmark case B, and the stand-in for
 * postern-authorizer in the web-server wiring tests).
 *
 * Serves the listening socket on fd 0 (spawn-fcgi, mod_fcgid) or, with `--listen HOST:PORT`,
 * a TCP socket it opens itself (Apache mod_authnz_fcgi). It takes postern-authorizer's command
 * line (-c FILE and --threads N are ignored) so it can replace it in any configuration. Every request, in any FastCGI role,
 * is answered `Status: 200` with a fixed identity in the Variable-* headers of Postern's allow
 * contract. In the RESPONDER role (nginx auth_request) the answer is the same headers, which
 * nginx copies with auth_request_set $x $upstream_http_variable_x.
 *
 * With ALLOW_ALL_LOG=/path in the environment, each request appends one JSON line with every
 * FastCGI parameter it received (FCGI_ROLE, REQUEST_URI, QUERY_STRING, HTTP_AUTHORIZATION...),
 * so the tests can observe what each web server hands an authorizer. Without it, nothing is
 * written (the benchmark configuration).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

static const char ALLOW[] = "Status: 200\r\n"
                            "Variable-REMOTE_USER: bench@example.com\r\n"
                            "Variable-POSTERN_USER_ID: 00000000-0000-0000-0000-000000000001\r\n"
                            "Variable-POSTERN_USER: bench@example.com\r\n"
                            "Variable-POSTERN_ROLE: user\r\n"
                            "Variable-POSTERN_AUTH: session\r\n"
                            "Variable-POSTERN_SESSION_ID: 00000000-0000-0000-0000-0000000000aa\r\n"
                            "Variable-POSTERN_PERMISSIONS: album.read album.write\r\n"
                            "Variable-POSTERN_MFA: off\r\n"
                            "\r\n";

/* Appends s to buf (capacity cap, length *n) as the inside of a JSON string; drops what does
 * not fit. */
static void json_escape(char *buf, size_t cap, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[6];
		size_t k = 0;
		if (c == '"' || c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'u';
			tmp[k++] = '0';
			tmp[k++] = '0';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		} else {
			tmp[k++] = (char)c;
		}
		if (*n + k + 4 > cap)
			return;
		memcpy(buf + *n, tmp, k);
		*n += k;
	}
}

static void log_request(int fd, FCGX_ParamArray envp)
{
	static char line[65536];
	size_t n = 0;
	line[n++] = '{';
	for (char **e = envp; *e; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL)
			continue;
		char name[256];
		size_t len =
		    (size_t)(eq - *e) < sizeof name - 1 ? (size_t)(eq - *e) : sizeof name - 1;
		memcpy(name, *e, len);
		name[len] = '\0';
		if (n > 1 && n + 4 < sizeof line)
			line[n++] = ',';
		if (n + 4 < sizeof line)
			line[n++] = '"';
		json_escape(line, sizeof line, &n, name);
		if (n + 4 < sizeof line) {
			line[n++] = '"';
			line[n++] = ':';
			line[n++] = '"';
		}
		json_escape(line, sizeof line, &n, eq + 1);
		if (n + 4 < sizeof line)
			line[n++] = '"';
	}
	line[n++] = '}';
	line[n++] = '\n';
	if (write(fd, line, n) != (ssize_t)n)
		perror("allow_all: log write");
}

int main(int argc, char **argv)
{
	/* The command line of postern-authorizer, so this program can stand in for it anywhere:
	 * -c FILE and --threads N are accepted and ignored; --listen HOST:PORT opens TCP. */
	const char *listen_spec = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen_spec = argv[++i];
		} else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--threads") == 0) &&
		           i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "Usage: %s [-c FILE] [--listen HOST:PORT] [--threads N]\n",
			        argv[0]);
			return 2;
		}
	}
	if (FCGX_Init() != 0)
		return 1;
	int listen_fd = 0;
	if (listen_spec != NULL) {
		listen_fd = FCGX_OpenSocket(listen_spec, 128);
		if (listen_fd < 0) {
			fprintf(stderr, "allow_all: cannot listen on %s\n", listen_spec);
			return 1;
		}
	}
	int log_fd = -1;
	const char *log_path = getenv("ALLOW_ALL_LOG");
	if (log_path != NULL && *log_path != '\0') {
		log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
		if (log_fd < 0) {
			perror(log_path);
			return 1;
		}
	}
	FCGX_Request req;
	if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
		return 1;
	fprintf(stderr, "allow_all: serving with 1 worker thread\n");
	while (FCGX_Accept_r(&req) >= 0) {
		if (log_fd >= 0)
			log_request(log_fd, req.envp);
		FCGX_PutStr(ALLOW, (int)(sizeof ALLOW - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
