#!/bin/bash
# Postern demo: a private PostgreSQL cluster, both programs under spawn-fcgi and lighttpd on a
# loopback port, protecting demo/site/. Everything lives in ./var/ (POSTERN_DEMO_VAR).
#
#   demo/demo.sh start   start what is not running yet (idempotent), print URL, login, psql
#                        (POSTERN_DEMO_OIDC=1, or `make demo OIDC=1`: also the test OpenID
#                        Provider of tests/idp, and the login page's "Sign in with" button)
#   demo/demo.sh stop    stop everything it started, by pid file; var/ data stays
#   demo/demo.sh status  what runs
#
# `make demo` builds first and runs `start`; `make demo-stop` runs `stop`.
# Environment: POSTERN_DEMO_VAR (default <repo>/var), POSTERN_BUILD (default <repo>/build),
# POSTERN_DEMO_PORT (first port tried at the first start, default 8080), PG_BINDIR.
#
# As root (CI), PostgreSQL runs as the `postgres` system user (initdb refuses root): var/pg and
# its socket directory belong to that user. The programs and lighttpd run as the caller.
set -eu
set -o pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
VAR=${POSTERN_DEMO_VAR:-$REPO/var}
BUILD=${POSTERN_BUILD:-$REPO/build}
FIRST_PORT=${POSTERN_DEMO_PORT:-8080}
ADMIN_EMAIL=admin@example.com
OIDC=${POSTERN_DEMO_OIDC:-0}
OIDC_EMAIL=oidc-user@example.com
PGPORT_DEMO=5432 # only names the socket file; there is no TCP listener
AZ_ROLE=postern_az
RS_ROLE=postern_rs

# Our own PostgreSQL only: drop libpq's PG* environment (PGHOST, PGPORT, PGUSER...).
for v in $(env | sed -n 's/^\(PG[A-Z][A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export LC_ALL=C.UTF-8 LANG=C.UTF-8

say() { printf 'demo: %s\n' "$*"; }
die() {
	printf '\ndemo: FAILED: %s\n' "$1" >&2
	if [ $# -ge 2 ] && [ -f "$2" ]; then
		printf 'demo: last lines of %s:\n' "$2" >&2
		tail -n 20 "$2" | sed 's/^/    /' >&2
	fi
	exit 1
}

set -E
trap 'die "unexpected error in demo/demo.sh, line $LINENO (exit status $?)"' ERR

if [ "$(id -u)" = 0 ]; then AS_ROOT=1; else AS_ROOT=0; fi

# Runs a PostgreSQL server command as the cluster's owner.
as_pg() {
	if [ "$AS_ROOT" = 1 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

find_pg_bindir() { # sets PG_BINDIR: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin
	[ -n "${PG_BINDIR:-}" ] && return
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1) || true
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		PG_BINDIR=$d
	elif command -v initdb >/dev/null 2>&1; then
		PG_BINDIR=$(dirname "$(command -v initdb)")
	else
		die "PostgreSQL server programs (initdb, pg_ctl) not found: install postgresql or set PG_BINDIR"
	fi
}

# True while process PID exists and is not a zombie.
proc_alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# The pid in FILE if that process is alive and its command line names WHAT; else nothing.
live_pid() {
	local file=$1 what=$2 pid
	[ -f "$file" ] || return 1
	pid=$(head -n 1 "$file" 2>/dev/null | tr -dc 0-9)
	[ -n "$pid" ] || return 1
	proc_alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$what" || return 1
	printf '%s\n' "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until SECONDS COMMAND...: true once COMMAND succeeds, false after SECONDS.
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

setup_paths() {
	mkdir -p "$VAR"
	VAR=$(cd "$VAR" && pwd)
	PGDATA_DIR=$VAR/pg
	RUN=$VAR/run
	PGSOCK=$VAR/run/pg
	LOG=$VAR/log
	PG_LOG=$LOG/postgresql.log
	LIGHTTPD_CONF=$VAR/lighttpd.conf
	LIGHTTPD_PID=$RUN/lighttpd.pid
	LIGHTTPD_LOG=$LOG/lighttpd.log
	PORT_FILE=$VAR/port
	PASSWORD_FILE=$VAR/admin-password
	IDP_PID=$RUN/idp.pid
	IDP_LOG=$LOG/idp.log
	IDP_PORT_FILE=$VAR/idp-port
	IDP_PASSWORD_FILE=$VAR/oidc-password
	PSQL_CMD="psql -h $PGSOCK -U postgres postern"
}

# ---- PostgreSQL --------------------------------------------------------------------------

psql_run() { # psql as the superuser; arguments are passed on
	"$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGPORT_DEMO" -U postgres "$@"
}

pg_running() { as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1; }

start_postgres() {
	mkdir -p "$RUN" "$LOG" "$PGSOCK"
	touch "$PG_LOG"
	if [ "$AS_ROOT" = 1 ]; then
		id postgres >/dev/null 2>&1 || die "running as root needs the postgres system user (apt-get install postgresql)"
		mkdir -p "$PGDATA_DIR"
		chown postgres:postgres "$PGDATA_DIR" "$PGSOCK" "$PG_LOG"
		runuser -u postgres -- test -w "$PGDATA_DIR" ||
			die "the postgres user cannot reach $PGDATA_DIR: every parent directory of $VAR must be searchable by others (chmod o+x), or set POSTERN_DEMO_VAR"
	fi
	chmod 0700 "$PGSOCK"
	if [ ${#PGSOCK} -gt 90 ]; then
		die "socket directory $PGSOCK is too long for a unix socket path: set POSTERN_DEMO_VAR to a shorter directory"
	fi
	if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
		if [ -n "$(ls -A "$PGDATA_DIR" 2>/dev/null)" ]; then
			die "$PGDATA_DIR exists but holds no PostgreSQL cluster: remove it (rm -rf $PGDATA_DIR) and run again"
		fi
		say "creating the PostgreSQL cluster in $PGDATA_DIR"
		as_pg "$PG_BINDIR/initdb" -D "$PGDATA_DIR" --auth=trust -U postgres --encoding=UTF8 \
			--locale=C.UTF-8 >>"$PG_LOG" 2>&1 || die "initdb failed" "$PG_LOG"
		cat >>"$PGDATA_DIR/postgresql.conf" <<EOF

# postern demo: unix socket only, in $PGSOCK
listen_addresses = ''
port = $PGPORT_DEMO
unix_socket_directories = '$PGSOCK'
unix_socket_permissions = 0700
max_connections = 50
shared_buffers = 32MB
EOF
	fi
	if pg_running; then
		say "PostgreSQL already running (pid $(head -n 1 "$PGDATA_DIR/postmaster.pid"))"
	else
		say "starting PostgreSQL (log: $PG_LOG)"
		as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 start >/dev/null 2>&1 ||
			die "PostgreSQL did not start (pg_ctl start)" "$PG_LOG"
	fi
	wait_until 30 psql_run -d postgres -c 'SELECT 1' >/dev/null 2>&1 ||
		die "PostgreSQL does not answer on $PGSOCK" "$PG_LOG"
}

setup_database() {
	local out=$LOG/setup.log
	: >"$out"
	if [ "$(psql_run -d postgres -tA -c "SELECT count(*) FROM pg_database WHERE datname = 'postern'")" = 0 ]; then
		say "creating database postern"
		psql_run -d postgres -c 'CREATE DATABASE postern' >>"$out" 2>&1 ||
			die "CREATE DATABASE postern failed" "$out"
	fi
	psql_run -d postern -f "$REPO/sql/install.sql" >>"$out" 2>&1 ||
		die "installing the schema (psql -f sql/install.sql) failed" "$out"
	psql_run -d postern >>"$out" 2>&1 <<EOF || die "creating the program login roles failed" "$out"
SET client_min_messages = warning;
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$AZ_ROLE') THEN
        CREATE ROLE $AZ_ROLE LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$RS_ROLE') THEN
        CREATE ROLE $RS_ROLE LOGIN;
    END IF;
END
\$\$;
GRANT postern_authorizer TO $AZ_ROLE;
GRANT postern_responder TO $RS_ROLE;
EOF
	local exists password
	# psql interpolates :'var' (quoted literals) in its input, not in -c
	exists=$(echo "SELECT count(*) FROM postern.users WHERE email = :'email';" |
		psql_run -d postern -tA -v email="$ADMIN_EMAIL" 2>>"$out") ||
		die "looking up $ADMIN_EMAIL failed" "$out"
	if [ "$exists" = 0 ] || [ ! -s "$PASSWORD_FILE" ]; then
		if [ -s "$PASSWORD_FILE" ]; then
			password=$(cat "$PASSWORD_FILE")
		else
			password=$(openssl rand -base64 18) || die "openssl rand failed"
			(umask 077 && printf '%s\n' "$password" >"$PASSWORD_FILE")
		fi
		chmod 0600 "$PASSWORD_FILE"
		if [ "$exists" = 0 ]; then
			say "creating the administrator $ADMIN_EMAIL"
			# psql reads the password from its file: it never stands on a command line
			printf '%s\n' "\\set pw \`cat '$PASSWORD_FILE'\`" "SELECT postern.create_user(:'email', :'pw', 'admin', 'Demo administrator');" |
				psql_run -d postern -v email="$ADMIN_EMAIL" >>"$out" 2>&1 ||
				die "creating the administrator $ADMIN_EMAIL failed" "$out"
		else
			say "$ADMIN_EMAIL exists but $PASSWORD_FILE was missing: setting a new password"
			# psql reads the password from its file: it never stands on a command line
			printf '%s\n' "\\set pw \`cat '$PASSWORD_FILE'\`" "SELECT postern.set_password(:'email', :'pw');" |
				psql_run -d postern -v email="$ADMIN_EMAIL" >>"$out" 2>&1 ||
				die "setting the password of $ADMIN_EMAIL failed" "$out"
		fi
	fi
}

# ---- the programs ------------------------------------------------------------------------

write_configs() {
	if [ ! -s "$VAR/server.key" ]; then
		(umask 077 && openssl rand -base64 48 >"$VAR/server.key") || die "creating $VAR/server.key failed"
	fi
	chmod 0600 "$VAR/server.key"
	local name role
	for name in authorizer responder; do
		if [ "$name" = authorizer ]; then role=$AZ_ROLE; else role=$RS_ROLE; fi
		{
			cat "$REPO/conf/postern.conf.example"
			cat <<EOF

# ---- postern demo overrides (written by demo/demo.sh; rewritten at every start) ----
# Its own least-privilege login role (member of postern_$name), over the private socket.
database = host=$PGSOCK port=$PGPORT_DEMO dbname=postern user=$role
# The demo is plain HTTP on 127.0.0.1: no Secure cookies, so no __Host- prefix.
cookie_secure = off
# listen stays empty: spawn-fcgi hands over the socket on fd 0.
EOF
			if [ "$name" = responder ] && [ "$OIDC" = 1 ]; then
				cat <<EOF
# Sign-in with the demo OpenID Provider (tests/idp, on 127.0.0.1:$IDP_PORT).
external_url = http://127.0.0.1:$PORT
oidc_issuer = http://127.0.0.1:$IDP_PORT
oidc_client_id = postern-demo
oidc_client_secret_file = oidc-client.secret
oidc_scopes = openid email profile groups
oidc_button_text = Sign in with the demo provider
EOF
			fi
		} >"$VAR/postern-$name.conf.tmp"
		mv "$VAR/postern-$name.conf.tmp" "$VAR/postern-$name.conf"
		"$BUILD/postern-$name" -c "$VAR/postern-$name.conf" --check-config >"$LOG/$name-check.log" 2>&1 ||
			die "postern-$name rejects $VAR/postern-$name.conf (--check-config)" "$LOG/$name-check.log"
		rm -f "$LOG/$name-check.log"
	done
}

# NAME OFFSET: 0 once the program serves (it logs "serving with" after OFFSET bytes of its
# log), 1 not yet, 2 its process is gone.
program_ready() {
	live_pid "$RUN/$1.pid" "postern-$1" >/dev/null || return 2
	[ -S "$RUN/$1.sock" ] && tail -c "+$(($2 + 1))" "$LOG/$1.log" | grep -q "serving with"
}

start_program() {
	local name=$1 bin=$BUILD/postern-$1 log=$LOG/$1.log pid
	[ -x "$bin" ] || die "$bin not found: run make (or set POSTERN_BUILD)"
	if pid=$(live_pid "$RUN/$name.pid" "postern-$name"); then
		say "postern-$name already running (pid $pid)"
		return
	fi
	rm -f "$RUN/$name.sock" "$RUN/$name.pid"
	touch "$log"
	local offset n=100 rc
	offset=$(wc -c <"$log")
	say "starting postern-$name (log: $log)"
	# -n: spawn-fcgi binds the socket and execs the program in the same process, whose pid
	# is recorded. setsid: the program leaves the caller's session (no terminal signals).
	setsid spawn-fcgi -n -s "$RUN/$name.sock" -M 0600 -- "$bin" -c "$VAR/postern-$name.conf" \
		</dev/null >>"$log" 2>&1 &
	echo $! >"$RUN/$name.pid"
	while :; do
		rc=0
		program_ready "$name" "$offset" || rc=$?
		[ $rc = 0 ] && break
		[ $rc = 2 ] && die "postern-$name exited at start" "$log"
		n=$((n - 1))
		[ $n -gt 0 ] || die "postern-$name did not start serving on $RUN/$name.sock within 10 s" "$log"
		sleep 0.1
	done
}

# ---- lighttpd ----------------------------------------------------------------------------

choose_port() {
	if [ -s "$PORT_FILE" ]; then
		PORT=$(tr -dc 0-9 <"$PORT_FILE")
		return
	fi
	local p=$FIRST_PORT
	while port_busy "$p"; do
		p=$((p + 1))
		[ "$p" -lt $((FIRST_PORT + 100)) ] || die "no free port in $FIRST_PORT..$((FIRST_PORT + 99)) on 127.0.0.1 (set POSTERN_DEMO_PORT)"
	done
	PORT=$p
	printf '%s\n' "$PORT" >"$PORT_FILE"
}

write_lighttpd_conf() {
	cat >"$LIGHTTPD_CONF.tmp" <<EOF
# postern demo: written by demo/demo.sh (rewritten at every start)
server.document-root = "$REPO/demo/site"
server.bind          = "127.0.0.1"
server.port          = $PORT
server.pid-file      = "$LIGHTTPD_PID"
server.errorlog      = "$LIGHTTPD_LOG"
index-file.names     = ( "index.html" )
mimetype.assign      = (
	".html" => "text/html; charset=utf-8",
	".css"  => "text/css; charset=utf-8",
	".txt"  => "text/plain; charset=utf-8",
)

var.postern_authorizer = "$RUN/authorizer.sock"
var.postern_responder  = "$RUN/responder.sock"
include "$REPO/conf/lighttpd/postern.conf"

# CGI identity page (demo/site/cgi-bin/identity.cgi). The /app/ proxy of postern-backends.conf
# has no application behind it in the demo (it answers 503).
var.postern_lua        = "$REPO/conf/lighttpd/postern-identity.lua"
var.postern_cgi_prefix = "/cgi-bin/"
var.postern_app_prefix = "/app/"
var.postern_app_host   = "127.0.0.1"
var.postern_app_port   = 9
include "$REPO/conf/lighttpd/postern-backends.conf"
EOF
	mv "$LIGHTTPD_CONF.tmp" "$LIGHTTPD_CONF"
}

health_ok() {
	curl -s --max-time 2 "http://127.0.0.1:$PORT/auth/health" 2>/dev/null | grep -q '"status":"ok"'
}

start_lighttpd() {
	local pid
	if pid=$(live_pid "$LIGHTTPD_PID" lighttpd); then
		PORT=$(tr -dc 0-9 <"$PORT_FILE")
		write_lighttpd_conf
		say "lighttpd already running (pid $pid, port $PORT)"
		return
	fi
	choose_port
	write_lighttpd_conf
	lighttpd -tt -f "$LIGHTTPD_CONF" >"$LOG/lighttpd-check.log" 2>&1 ||
		die "lighttpd rejects $LIGHTTPD_CONF (lighttpd -tt)" "$LOG/lighttpd-check.log"
	rm -f "$LOG/lighttpd-check.log"
	if port_busy "$PORT"; then
		die "port $PORT (remembered in $PORT_FILE) is taken by another program: stop it, or remove $PORT_FILE to choose another port"
	fi
	rm -f "$LIGHTTPD_PID"
	say "starting lighttpd on 127.0.0.1:$PORT (log: $LIGHTTPD_LOG)"
	lighttpd -f "$LIGHTTPD_CONF" </dev/null >>"$LIGHTTPD_LOG" 2>&1 ||
		die "lighttpd did not start" "$LIGHTTPD_LOG"
	wait_until 10 live_pid "$LIGHTTPD_PID" lighttpd >/dev/null ||
		die "lighttpd did not write $LIGHTTPD_PID" "$LIGHTTPD_LOG"
}

# ---- the demo OpenID Provider (OIDC=1) ------------------------------------------------------

idp_ready() { curl -s --max-time 2 "http://127.0.0.1:$IDP_PORT/.well-known/openid-configuration" 2>/dev/null | grep -q '"issuer"'; }

start_idp() {
	local pid password n
	command -v node >/dev/null || die "node not found: OIDC=1 needs Node.js 20.12 or later"
	if [ ! -d "$REPO/tests/idp/node_modules/oidc-provider" ]; then
		say "installing the demo provider's packages (npm ci in tests/idp)"
		(cd "$REPO/tests/idp" && npm ci --no-audit --no-fund) >"$LOG/npm.log" 2>&1 ||
			die "npm ci in tests/idp failed" "$LOG/npm.log"
	fi
	if [ -s "$IDP_PORT_FILE" ]; then
		IDP_PORT=$(tr -dc 0-9 <"$IDP_PORT_FILE")
	else
		IDP_PORT=$((PORT + 1000))
		while port_busy "$IDP_PORT"; do IDP_PORT=$((IDP_PORT + 1)); done
		printf '%s\n' "$IDP_PORT" >"$IDP_PORT_FILE"
	fi
	[ -s "$VAR/oidc-client.secret" ] || (umask 077 && openssl rand -hex 24 >"$VAR/oidc-client.secret")
	[ -s "$IDP_PASSWORD_FILE" ] || (umask 077 && openssl rand -hex 8 >"$IDP_PASSWORD_FILE")
	chmod 0600 "$VAR/oidc-client.secret" "$IDP_PASSWORD_FILE"
	if pid=$(live_pid "$IDP_PID" provider.mjs); then
		say "demo OpenID Provider already running (pid $pid, port $IDP_PORT)"
		return
	fi
	password=$(cat "$IDP_PASSWORD_FILE")
	(umask 077 && cat >"$VAR/idp.json" <<EOF
{"port": $IDP_PORT, "issuer": "http://127.0.0.1:$IDP_PORT",
 "clients": [{"client_id": "postern-demo", "client_secret": "$(cat "$VAR/oidc-client.secret")",
   "redirect_uris": ["http://127.0.0.1:$PORT/auth/oidc/callback"],
   "post_logout_redirect_uris": ["http://127.0.0.1:$PORT/"],
   "backchannel_logout_uri": "http://127.0.0.1:$PORT/auth/oidc/backchannel-logout",
   "token_endpoint_auth_method": "client_secret_basic", "scope": "openid email profile groups"}],
 "accounts": [{"sub": "demo-user", "password": "$password", "email": "$OIDC_EMAIL",
   "email_verified": true, "name": "Demo provider user", "groups": ["demo"]}]}
EOF
	)
	touch "$IDP_LOG"
	say "starting the demo OpenID Provider on 127.0.0.1:$IDP_PORT (log: $IDP_LOG)"
	setsid node "$REPO/tests/idp/provider.mjs" "$VAR/idp.json" </dev/null >>"$IDP_LOG" 2>&1 &
	echo $! >"$IDP_PID"
	n=150
	until idp_ready; do
		live_pid "$IDP_PID" provider.mjs >/dev/null || die "the demo OpenID Provider exited at start" "$IDP_LOG"
		n=$((n - 1))
		[ $n -gt 0 ] || die "the demo OpenID Provider did not answer within 15 s" "$IDP_LOG"
		sleep 0.1
	done
}

# its users may sign in at once: a first OIDC login creates the Postern user
oidc_settings() {
	psql_run -d postern -c "SELECT postern.set_setting('oidc_auto_register', 'on')" >/dev/null 2>&1 ||
		die "turning on oidc_auto_register failed"
}

# ---- commands ----------------------------------------------------------------------------

do_start() {
	command -v spawn-fcgi >/dev/null || die "spawn-fcgi not found (make deps installs it)"
	command -v lighttpd >/dev/null || die "lighttpd not found (make deps installs it)"
	command -v curl >/dev/null || die "curl not found (make deps installs it)"
	command -v openssl >/dev/null || die "openssl not found"
	local name
	for name in authorizer responder; do
		[ -x "$BUILD/postern-$name" ] || die "$BUILD/postern-$name not found: run make (or set POSTERN_BUILD)"
	done
	find_pg_bindir
	setup_paths
	mkdir -p "$RUN" "$LOG"
	start_postgres
	setup_database
	choose_port # before the configs: OIDC's redirect URI names it
	if [ "$OIDC" = 1 ]; then
		start_idp
		oidc_settings
	fi
	write_configs
	start_program authorizer
	start_program responder
	start_lighttpd
	wait_until 20 health_ok ||
		die "http://127.0.0.1:$PORT/auth/health does not answer ok (logs: $LOG/authorizer.log, $LOG/responder.log)" "$LIGHTTPD_LOG"
	cat <<EOF

Postern demo is running.

  URL:       http://127.0.0.1:$PORT/
  login:     $ADMIN_EMAIL
  password:  $(cat "$PASSWORD_FILE")   (kept in $PASSWORD_FILE)
  psql:      $PSQL_CMD
  logs:      $LOG/
  stop:      make demo-stop   (or demo/demo.sh stop; data stays in $VAR)

EOF
	if [ "$OIDC" = 1 ]; then
		cat <<EOF
  OIDC:      "Sign in with the demo provider" on the login page (http://127.0.0.1:$IDP_PORT)
  provider login:     $OIDC_EMAIL
  provider password:  $(cat "$IDP_PASSWORD_FILE")   (kept in $IDP_PASSWORD_FILE)

EOF
	fi
}

stop_pid() { # PIDFILE WHAT LABEL
	local pid n
	if ! pid=$(live_pid "$1" "$2"); then
		rm -f "$1"
		return 0
	fi
	say "stopping $3 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	n=150
	while proc_alive "$pid" && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	if proc_alive "$pid"; then
		say "$3 (pid $pid) ignored SIGTERM for 15 s: killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$1"
}

do_stop() {
	if [ ! -d "$VAR" ]; then
		say "nothing to stop ($VAR does not exist)"
		return
	fi
	setup_paths
	stop_pid "$LIGHTTPD_PID" lighttpd lighttpd
	stop_pid "$IDP_PID" provider.mjs "the demo OpenID Provider"
	local name
	for name in responder authorizer; do
		stop_pid "$RUN/$name.pid" "postern-$name" "postern-$name"
		rm -f "$RUN/$name.sock"
	done
	if [ -f "$PGDATA_DIR/PG_VERSION" ]; then
		find_pg_bindir
		if pg_running; then
			say "stopping PostgreSQL"
			as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null 2>&1 ||
				die "pg_ctl stop failed" "$PG_LOG"
		fi
	fi
	say "stopped (data kept in $VAR)"
}

do_status() {
	[ -d "$VAR" ] || { say "not set up ($VAR does not exist)"; return; }
	setup_paths
	local pid
	if pid=$(live_pid "$LIGHTTPD_PID" lighttpd); then say "lighttpd: pid $pid, http://127.0.0.1:$(cat "$PORT_FILE")/"; else say "lighttpd: stopped"; fi
	for name in authorizer responder; do
		if pid=$(live_pid "$RUN/$name.pid" "postern-$name"); then say "postern-$name: pid $pid"; else say "postern-$name: stopped"; fi
	done
	if pid=$(live_pid "$IDP_PID" provider.mjs); then say "demo OpenID Provider: pid $pid"; fi
	if [ -f "$PGDATA_DIR/postmaster.pid" ] && pid=$(live_pid "$PGDATA_DIR/postmaster.pid" postgres); then
		say "PostgreSQL: pid $pid, $PSQL_CMD"
	else
		say "PostgreSQL: stopped"
	fi
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
