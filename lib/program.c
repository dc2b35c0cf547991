/* program: the command line and start-up sequence both programs share. */
#include "program.h"

#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define PROGRAM_DEFAULT_CONFIG POSTERN_SYSCONFDIR "/postern.conf"

enum program_action {
	ACT_SERVE,
	ACT_CHECK,
	ACT_PRINT,
	ACT_EXAMPLE,
	ACT_REFERENCE,
	ACT_VERSION,
	ACT_HELP
};

struct program_args {
	enum program_action action;
	const char *config;
	const char *listen;
	const char *threads;
};

static void program_usage(const struct program_spec *spec, FILE *out)
{
	fprintf(
	    out,
	    "Usage: %s [-c FILE] [--listen SPEC] [--threads N] [--check-config | --print-config]\n"
	    "%s\n\n"
	    "  -c, --config FILE   configuration file (default: $POSTERN_CONFIG, else %s)\n"
	    "      --listen SPEC   unix:/path, 127.0.0.1:9000 or [::1]:9000 (default: the socket\n"
	    "                      on fd 0 from spawn-fcgi or mod_fcgid)\n"
	    "      --threads N     worker threads (overrides `threads`)\n"
	    "      --check-config  validate the configuration (and secret files) and exit\n"
	    "      --print-config  print the effective configuration, secrets masked, and exit\n"
	    "      --config-example    print an example file with every key and its default\n"
	    "      --config-reference  print the configuration reference (Markdown)\n"
	    "      --version       print the version\n"
	    "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n",
	    spec->name, spec->summary, PROGRAM_DEFAULT_CONFIG);
}

static int program_parse_args(int argc, char **argv, const struct program_spec *spec,
                              struct program_args *a)
{
	enum {
		OPT_CHECK = 256,
		OPT_PRINT,
		OPT_EXAMPLE,
		OPT_REFERENCE,
		OPT_LISTEN,
		OPT_THREADS,
		OPT_VERSION
	};
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "print-config", no_argument, NULL, OPT_PRINT },
		{ "config-example", no_argument, NULL, OPT_EXAMPLE },
		{ "config-reference", no_argument, NULL, OPT_REFERENCE },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof *a);
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case OPT_CHECK: a->action = ACT_CHECK; break;
		case OPT_PRINT: a->action = ACT_PRINT; break;
		case OPT_EXAMPLE: a->action = ACT_EXAMPLE; break;
		case OPT_REFERENCE: a->action = ACT_REFERENCE; break;
		case OPT_LISTEN: a->listen = optarg; break;
		case OPT_THREADS: a->threads = optarg; break;
		case OPT_VERSION: a->action = ACT_VERSION; break;
		case 'h': a->action = ACT_HELP; break;
		default: program_usage(spec, stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", spec->name, argv[optind]);
		return -1;
	}
	if (a->config == NULL)
		a->config = getenv("POSTERN_CONFIG");
	if (a->config == NULL || a->config[0] == '\0')
		a->config = PROGRAM_DEFAULT_CONFIG;
	return 0;
}

static int program_load(const struct program_spec *spec, const struct program_args *a,
                        struct config *cfg)
{
	static char err[CONFIG_ERR_MAX];

	if (config_init(cfg) != 0) {
		fprintf(stderr, "%s: out of memory\n", spec->name);
		return -1;
	}
	if (config_load(cfg, a->config, err, sizeof err) != 0 ||
	    (a->listen && config_set(cfg, "listen", a->listen, "--listen", err, sizeof err) != 0) ||
	    (a->threads &&
	     config_set(cfg, "threads", a->threads, "--threads", err, sizeof err) != 0)) {
		fprintf(stderr, "%s: configuration error:\n%s", spec->name, err);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
		config_free(cfg);
		return -1;
	}
	return 0;
}

static int program_syslog_facility(int idx)
{
	static const int facilities[] = { LOG_AUTH,   LOG_AUTHPRIV, LOG_DAEMON, LOG_LOCAL0,
		                          LOG_LOCAL1, LOG_LOCAL2,   LOG_LOCAL3, LOG_LOCAL4,
		                          LOG_LOCAL5, LOG_LOCAL6,   LOG_LOCAL7 };
	return idx >= 0 && idx < (int)(sizeof facilities / sizeof facilities[0]) ? facilities[idx]
	                                                                         : LOG_AUTHPRIV;
}

static int program_serve(const struct program_spec *spec, const struct config *cfg)
{
	char err[512];
	struct fcgi_server srv = {
		.program = spec->name,
		.threads = (int)cfg->threads,
		.roles = spec->roles,
		.body_max = spec->body_max,
		.thread_init = spec->thread_init,
		.thread_fini = spec->thread_fini,
		.handler = spec->handler,
	};
	int rc;

	log_init(spec->name, (enum log_target)cfg->log_target, (enum log_level)cfg->log_level,
	         program_syslog_facility(cfg->syslog_facility), 2);
	if (fcgi_listen_open(cfg->listen, &srv.listen_fd, err, sizeof err) != 0) {
		log_error("%s", err);
		return 1;
	}
	srv.app = spec->start(cfg);
	if (srv.app == NULL)
		return 1;
	rc = fcgi_serve(&srv);
	spec->stop(srv.app);
	return rc == 0 ? 0 : 1;
}

int program_main(int argc, char **argv, const struct program_spec *spec)
{
	struct program_args a;
	struct config cfg;
	int rc = 0;

	if (program_parse_args(argc, argv, spec, &a) != 0)
		return 2;
	switch (a.action) {
	case ACT_HELP: program_usage(spec, stdout); return 0;
	case ACT_VERSION: printf("%s %s\n", spec->name, POSTERN_VERSION); return 0;
	case ACT_EXAMPLE: config_write_example(stdout); return 0;
	case ACT_REFERENCE: config_write_reference(stdout); return 0;
	default: break;
	}
	if (program_load(spec, &a, &cfg) != 0)
		return 2;
	if (a.action == ACT_CHECK)
		printf("%s: %s: configuration OK\n", spec->name, a.config);
	else if (a.action == ACT_PRINT)
		config_print(&cfg, stdout);
	else
		rc = program_serve(spec, &cfg);
	config_free(&cfg);
	return rc;
}
