#!/usr/bin/python3
"""tests/bench/run.py: the driver of `make bench` (README: Performance).

Owns: a private PostgreSQL loaded with 1,000,000 sessions and 100,000 API keys, the programs
(postern-authorizer and postern-responder, build/allow-all) under spawn-fcgi, the web servers
(lighttpd, nginx, Apache with mod_authnz_fcgi, Apache with mod_auth_openidc against the test
OpenID Provider of tests/idp) on 127.0.0.1 with the files of conf/, the wrk runs of every case
alternately over several rounds (median taken), the checks that each case got exactly the
status and size it must, machine CPU per request from /proc/stat and per process group from
/proc/PID/stat, the authorizer's RSS with a full cache, the revocation latency across two
processes, what the authorizer's libraries alone make resident (build/lib-floor), the
in-process decision microbenchmark (build/decide-bench), and the results table
(stdout and build/bench/results.md).

Everything runs on loopback; every load loop is bounded in count and time. Every process this
script starts is stopped when it ends (normally, on an exception, on Ctrl-C or SIGTERM). It
exits non-zero with a message naming the case when a server does not start or a case gets an
unexpected status or size. Credentials are synthetic, passed to wrk through the environment and
never printed.

Stdlib + psycopg2 + requests only (Debian python3-psycopg2, python3-requests). Reuses
tests/integration/pgcluster.py, servers.py, fcgi_client.py and idp.py.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import fcgi_client  # noqa: E402
import servers  # noqa: E402
from pgcluster import PgCluster  # noqa: E402

BUILD = servers.BUILD
CONF = servers.CONF
WWW = "www-data"
APACHE_MODULES = "/usr/lib/apache2/modules"
BODY = b"postern bench 18b\n"  # the 18-byte file every case asks for
assert len(BODY) == 18
CLK_TCK = os.sysconf("SC_CLK_TCK")
N_USERS, N_SESSIONS, N_KEYS = 100_000, 1_000_000, 100_000


class BenchError(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", flush=True)


# -- tokens: the same construction in SQL (load_data) and here ---------------------------------
def token(kind, i):
    """pst_s_/pst_k_ + base64url(sha256("bench-<kind>-<i>")): 43 characters, 32 bytes."""
    prefix = {"session": "pst_s_", "key": "pst_k_"}[kind]
    raw = hashlib.sha256(f"bench-{kind}-{i}".encode()).digest()
    return prefix + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sql_token(kind, expr):
    prefix = {"session": "pst_s_", "key": "pst_k_"}[kind]
    return (f"'{prefix}' || rtrim(translate(encode(sha256(convert_to('bench-{kind}-' || {expr}, "
            f"'UTF8')), 'base64'), '+/', '-_'), '=')")


def uid(tag, i):
    return f"00000000-0000-4000-{tag}-{i:012x}"


# -- processes ----------------------------------------------------------------------------------
class Procs:
    """Every process we start, stopped in reverse order by its own pid (or process group, for
    the ones we started in a session of their own): never by name."""

    def __init__(self):
        self.popen = []   # (Popen, name)
        self.pids = []    # (pid, start time) of processes spawn-fcgi forked and left

    def start(self, argv, logfile, name, env=None, cwd=None):
        out = open(logfile, "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                             cwd=cwd, start_new_session=True)
        out.close()
        self.popen.append((p, name))
        return p

    @staticmethod
    def _started(pid):
        """The process's start time (a reused pid has another; an exec keeps it, where the
        command line changes: spawn-fcgi's children are a shell that execs the program)."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[19])
        except (OSError, IndexError, ValueError):
            return None

    def adopt(self, pid):
        self.pids.append((pid, self._started(pid)))

    def _same(self, pid, started):
        return started is not None and self._started(pid) == started

    def stop_all(self):
        for pid, started in reversed(self.pids):
            if self._same(pid, started):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for pid, started in self.pids:
            while self._same(pid, started) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._same(pid, started):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.pids = []
        for p, _ in reversed(self.popen):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    p.terminate()
        for p, _ in reversed(self.popen):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)  # leftovers in its session (nginx/apache kids)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.popen = []


def read(path, tail=None):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return text[-tail:] if tail else text


def wait_for(pred, timeout, what, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    detail = "".join(f"\n--- {p} (tail) ---\n{read(p, 3000)}" for p in logs)
    raise BenchError(f"timed out waiting for {what}{detail}")


def children(pid):
    """Direct children of pid (nginx and Apache workers)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def proc_cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime (all threads)
        except (OSError, IndexError, ValueError):
            pass
    return total


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])  # busy (user..steal), total


def vm_rss_kib(pid, field="VmRSS"):
    """VmRSS (or RssAnon, RssFile) of a process in KiB."""
    for line in read(f"/proc/{pid}/status").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field} for pid {pid}")


def rss_by_mapping(pid):
    """Resident KiB of a process by what is mapped: {name: (rss, anonymous)}, name being the
    file's base name or [heap], [stack], [anon]."""
    out, name = {}, None
    for line in read(f"/proc/{pid}/smaps").splitlines():
        head = re.match(r"[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
        if head:
            path = head.group(1)
            name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
            out.setdefault(name, [0, 0])
        elif line.startswith("Rss:"):
            out[name][0] += int(line.split()[1])
        elif line.startswith("Anonymous:"):
            out[name][1] += int(line.split()[1])
    return {k: tuple(v) for k, v in out.items() if v[0]}


def free_port():
    return servers.free_port()


# -- the bench --------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = Procs()
        self.dir = tempfile.mkdtemp(prefix="postern-bench-")
        os.chmod(self.dir, 0o755)
        self.docroot = os.path.join(self.dir, "docroot")
        os.mkdir(self.docroot)
        os.chmod(self.docroot, 0o755)
        with open(os.path.join(self.docroot, "bench.txt"), "wb") as f:
            f.write(BODY)
        os.chmod(os.path.join(self.docroot, "bench.txt"), 0o644)
        self.pg = None
        self.groups = {}   # authorizer process groups, by name
        self.sites = {}    # web servers, by name
        self.responder_sock = None
        self.idp = None
        self.www = None
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam(WWW)
            self.www = (pw.pw_uid, pw.pw_gid)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    # -- PostgreSQL ------------------------------------------------------------------------------
    def start_db(self):
        t0 = time.monotonic()
        self.pg = PgCluster()
        self.pg.init()
        with open(os.path.join(self.pg.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# postern bench\nmax_connections = 300\nshared_buffers = 256MB\n"
                    "maintenance_work_mem = 256MB\nwal_level = minimal\nmax_wal_senders = 0\n"
                    "max_wal_size = 4GB\ncheckpoint_timeout = 30min\nautovacuum = off\n")
        self.pg.start()
        self.pg.wait_ready()
        r = self.pg.psql(["-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE postern"])
        if r.returncode != 0:
            raise BenchError(r.stderr)
        r = self.pg.psql(["-v", "ON_ERROR_STOP=1", "-d", "postern", "-f",
                          os.path.join(REPO, "sql", "install.sql")])
        if r.returncode != 0:
            raise BenchError(f"sql/install.sql failed:\n{r.stdout}\n{r.stderr}")
        self.conn = self.pg.connect("postern")
        with self.conn.cursor() as cur:
            cur.execute("CREATE ROLE bench_authorizer LOGIN IN ROLE postern_authorizer")
            cur.execute("CREATE ROLE bench_responder LOGIN IN ROLE postern_responder")
        self.load_data()
        log(f"database ready in {time.monotonic() - t0:.0f} s "
            f"({N_USERS} users, {N_SESSIONS} sessions, {N_KEYS} API keys)")

    def load_data(self):
        u = "('00000000-0000-4000-8000-' || lpad(to_hex({}), 12, '0'))::uuid"
        with self.conn.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '256MB'")
            cur.execute(f"""INSERT INTO postern.users (id, email, role)
                SELECT {u.format('i')}, 'bench' || i || '@example.com', 'user'
                  FROM generate_series(0, {N_USERS - 1}) i""")
            cur.execute(f"""INSERT INTO postern.sessions (id, token_hash, user_id, expires_at)
                SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
                       sha256(convert_to({sql_token('session', 'i')}, 'UTF8')),
                       {u.format(f'(i % {N_USERS})')}, now() + interval '30 days'
                  FROM generate_series(0, {N_SESSIONS - 1}) i""")
            cur.execute(f"""INSERT INTO postern.api_keys (id, user_id, name, token_hash, prefix,
                                                        permissions)
                SELECT ('00000000-0000-4000-a000-' || lpad(to_hex(i), 12, '0'))::uuid,
                       {u.format(f'(i % {N_USERS})')}, 'bench ' || i,
                       sha256(convert_to(t, 'UTF8')), left(t, 12), ARRAY['all']
                  FROM (SELECT i, {sql_token('key', 'i')} AS t
                          FROM generate_series(0, {N_KEYS - 1}) i) k""")
            cur.execute("ANALYZE")
            cur.execute("SELECT count(*) FROM postern.sessions")
            n = cur.fetchone()[0]
            # the Python construction of a token must give the hash SQL stored
            cur.execute("SELECT count(*) FROM postern.sessions WHERE token_hash = %s",
                        (hashlib.sha256(token("session", 4242).encode()).digest(),))
            same = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM postern.api_keys WHERE token_hash = %s",
                        (hashlib.sha256(token("key", 4242).encode()).digest(),))
            same += cur.fetchone()[0]
        if n != N_SESSIONS or same != 2:
            raise BenchError(f"data load: {n} sessions, token check {same}/2")

    def dsn(self, user):
        return self.pg.dsn("postern", user=user)

    # -- programs --------------------------------------------------------------------------------
    def postern_config(self, name, **overrides):
        keys = {"database": self.dsn("bench_authorizer"), "cookie_secure": "off",
                "log_level": "info", "threads": str(self.args.threads)}
        keys.update(overrides)
        cfg = servers.write_config(self.dir, f"{name}.conf", **keys)
        os.chmod(cfg, 0o644)
        return cfg

    def start_responder(self):
        cfg = self.postern_config("responder", database=self.dsn("bench_responder"), threads="2")
        sock = self.path("responder.sock")
        logf = self.path("responder.log")
        self.procs.start(["spawn-fcgi", "-n", "-s", sock, "-M", "0666", "--",
                          os.path.join(BUILD, "postern-responder"), "-c", cfg], logf,
                         "responder")
        wait_for(lambda: servers.can_connect(sock), 15, "postern-responder", [logf])
        self.responder_sock = sock

    def group(self, name):
        """An authorizer process group, started on first use: spawn-fcgi -F procs."""
        if name in self.groups:
            return self.groups[name]
        kind, transport, *opts = name.split("-")
        procs = self.args.procs
        logf = self.path(f"authz-{name}.log")
        pidfile = self.path(f"authz-{name}.pid")
        if kind == "allow":
            argv = [os.path.join(BUILD, "allow-all")]
        else:
            over = {"cache_entries": "0"} if "nocache" in opts else {}
            if any(o.startswith("t") and o[1:].isdigit() for o in opts):
                over["threads"] = next(o[1:] for o in opts if o.startswith("t") and o[1:].isdigit())
            argv = [os.path.join(BUILD, "postern-authorizer"),
                    "-c", self.postern_config(f"authz-{name}", **over)]
        if transport == "unix":
            addr = self.path(f"authz-{name}.sock")
            spawn = ["-s", addr, "-M", "0666"]
        else:
            addr = ("127.0.0.1", free_port())
            spawn = ["-a", addr[0], "-p", str(addr[1])]
        # spawn-fcgi's forked children get no stderr: a shell that execs (same pid, fd 0 kept)
        # appends it to the group's log
        argv = ["/bin/sh", "-c", 'exec "$0" "$@" 2>>"$BENCH_LOG"', *argv]
        out = open(logf, "ab")
        r = subprocess.run(["spawn-fcgi", *spawn, "-F", str(procs), "-P", pidfile, "--", *argv],
                           env=dict(os.environ, BENCH_LOG=logf),
                           stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=30)
        out.close()
        pids = [int(x) for x in read(pidfile).split()]
        for pid in pids:
            self.procs.adopt(pid)
        if r.returncode != 0 or len(pids) != procs:
            raise BenchError(f"spawn-fcgi for {name} failed:\n{read(logf, 3000)}")
        wait_for(lambda: servers.can_connect(addr), 15, f"authorizer group {name}", [logf])
        if kind == "postern":
            wait_for(lambda: read(logf).count("rules loaded") >= procs, 20,
                     f"rules loaded in {name}", [logf])
        g = {"name": name, "addr": addr, "pids": pids, "log": logf, "kind": kind}
        self.groups[name] = g
        return g

    # -- web servers -----------------------------------------------------------------------------
    def site(self, name):
        if name in self.sites:
            return self.sites[name]
        server, _, rest = name.partition(":")
        d = self.path("site-" + name.replace(":", "-"))
        os.makedirs(d)
        os.chmod(d, 0o755)
        port = free_port()
        s = {"name": name, "server": server, "port": port, "dir": d,
             "url": f"http://127.0.0.1:{port}", "authz": None}
        if rest:
            s["authz"] = self.group(rest)
        getattr(self, "_start_" + server.replace("-", "_"))(s)
        self.sites[name] = s
        return s

    def _wait_port(self, s, proc, logs):
        def up():
            if proc.poll() is not None:
                raise BenchError(f"{s['name']} exited with {proc.returncode}:" + "".join(
                    f"\n--- {p} ---\n{read(p, 3000)}" for p in logs))
            return servers.can_connect(("127.0.0.1", s["port"]))
        wait_for(up, 20, f"web server {s['name']}", logs)

    def _start_lighttpd(self, s):
        self._lighttpd(s, workers=0)

    def _start_lighttpd2(self, s):
        self._lighttpd(s, workers=2)

    def _lighttpd(self, s, workers):
        conf = os.path.join(s["dir"], "lighttpd.conf")
        err = os.path.join(s["dir"], "error.log")
        text = (f'server.document-root = "{self.docroot}"\n'
                'server.bind = "127.0.0.1"\n'
                f'server.port = {s["port"]}\n'
                f'server.errorlog = "{err}"\n'
                f'server.pid-file = "{s["dir"]}/lighttpd.pid"\n'
                f"server.max-worker = {workers}\n"
                'server.max-connections = 4096\n'
                'mimetype.assign = (".txt" => "text/plain; charset=utf-8")\n')
        if s["authz"] is not None:
            a = s["authz"]["addr"]
            if isinstance(a, str):
                text += (f'var.postern_authorizer = "{a}"\n'
                         f'var.postern_responder = "{self.responder_sock}"\n'
                         f'include "{CONF}/lighttpd/postern.conf"\n')
            else:  # TCP: the shipped file names sockets; the same two entries with host/port
                text += ('server.modules += ( "mod_fastcgi" )\n'
                         'fastcgi.server += (\n'
                         f'  "/auth/" => (( "socket" => "{self.responder_sock}", '
                         '"check-local" => "disable" )),\n'
                         f'  "/" => (( "mode" => "authorizer", "host" => "{a[0]}", '
                         f'"port" => {a[1]}, "check-local" => "disable" )),\n)\n')
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run(["lighttpd", "-tt", "-f", conf], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"lighttpd config for {s['name']}: {r.stderr}")
        out = os.path.join(s["dir"], "lighttpd.out")
        p = self.procs.start(["lighttpd", "-D", "-f", conf], out, s["name"])
        self._wait_port(s, p, [err, out])
        s["pid"] = p.pid

    def _nginx_conf_text(self, keep_conn):
        with open(os.path.join(CONF, "nginx", "postern.conf")) as f:
            text = f.read()
        if keep_conn:
            new = text.replace("\tfastcgi_pass_request_body off;\n",
                               "\tfastcgi_pass_request_body off;\n\tfastcgi_keep_conn on;\n", 1)
            if new == text:
                raise BenchError("conf/nginx/postern.conf changed: cannot add fastcgi_keep_conn")
            text = new
        return text

    def _start_nginx(self, s):
        self._nginx(s, keep_conn=True)

    def _start_nginx_close(self, s):
        self._nginx(s, keep_conn=False)

    def _nginx(self, s, keep_conn):
        d = s["dir"]
        err = os.path.join(d, "error.log")
        shutil.copy("/etc/nginx/fastcgi_params", d)
        temp = "".join(f"    {t}_temp_path {d}/{t}_temp;\n"
                       for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        auth = ""
        if s["authz"] is not None:
            a = s["authz"]["addr"]
            server = f"unix:{a}" if isinstance(a, str) else f"{a[0]}:{a[1]}"
            inc = os.path.join(d, "postern-nginx.conf")
            with open(inc, "w") as f:
                f.write(self._nginx_conf_text(keep_conn))
            keepalive = "        keepalive 64;\n" if keep_conn else ""
            auth = (f"    upstream postern_authorizer {{\n        server {server};\n{keepalive}"
                    "    }\n"
                    f"    upstream postern_responder {{ server unix:{self.responder_sock}; }}\n")
            s["include"] = f"        include {inc};\n"
        user = f"user {WWW};\n" if self.www else ""
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""{user}worker_processes {self.args.nginx_workers};
pid {d}/nginx.pid;
error_log {err} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    types {{ text/plain txt; }}
    keepalive_requests 1000000;
{temp}{auth}    server {{
        listen 127.0.0.1:{s['port']} reuseport;
        server_name localhost;
        root {self.docroot};
{s.get('include', '')}    }}
}}
""")
        base = ["nginx", "-p", d, "-c", conf, "-e", err]
        r = subprocess.run(base + ["-t", "-q"], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"nginx config for {s['name']}: {r.stdout}{r.stderr}")
        out = os.path.join(d, "nginx.out")
        p = self.procs.start(base + ["-g", "daemon off;"], out, s["name"])
        self._wait_port(s, p, [err, out])
        s["pid"] = p.pid

    def _apache_base(self, s, modules, body):
        d = s["dir"]
        err = os.path.join(d, "error.log")
        with open(err, "a"):
            pass
        if self.www:
            os.chown(err, *self.www)
        mods = ["mpm_worker", "authn_core", "authz_core", "authz_user", "mime", *modules]
        load = "".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so\n" for m in mods)
        user = f"User {WWW}\nGroup {WWW}\n" if self.www else ""
        w = self.args.apache_threads
        conf = os.path.join(d, "httpd.conf")
        with open(conf, "w") as f:
            f.write(f"""ServerRoot "{d}"
ServerName 127.0.0.1
Listen 127.0.0.1:{s['port']}
PidFile "{d}/httpd.pid"
DefaultRuntimeDir "{d}"
Mutex file:{d} default
ErrorLog "{err}"
LogLevel warn
{user}{load}TypesConfig /etc/mime.types
# tuned as the issue says: no mmap, worker MPM, one process per core, workers >= 2x connections
EnableMMAP Off
EnableSendfile Off
StartServers 2
ServerLimit 2
ThreadLimit {w}
ThreadsPerChild {w}
MinSpareThreads {2 * w}
MaxSpareThreads {2 * w}
MaxRequestWorkers {2 * w}
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
DocumentRoot "{self.docroot}"
<Directory "{self.docroot}">
    Options None
    AllowOverride None
</Directory>
{body}""")
        base = ["apache2", "-d", d, "-f", conf]
        r = subprocess.run(base + ["-t"], capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError(f"apache config for {s['name']}: {r.stdout}{r.stderr}")
        out = os.path.join(d, "apache.out")
        p = self.procs.start(base + ["-DFOREGROUND"], out, s["name"])
        self._wait_port(s, p, [err, out])
        s["pid"] = p.pid

    def _start_apache(self, s):
        a = s["authz"]["addr"]
        if isinstance(a, str):
            raise BenchError("mod_authnz_fcgi needs a TCP authorizer group")
        body = (f"Define POSTERN_AUTHORIZER {a[0]}:{a[1]}\n"
                f'Define POSTERN_RESPONDER "unix:{self.responder_sock}|fcgi://localhost"\n'
                f'Include "{CONF}/apache/postern-authnz-fcgi.conf"\n')
        self._apache_base(s, ["headers", "env", "setenvif", "proxy", "proxy_fcgi", "authnz_fcgi"],
                          body)

    def _start_apache_openidc(self, s):
        import idp
        idp.ensure_node_modules()
        self.oidc_secret = secrets.token_urlsafe(24)
        self.oidc_account = {"sub": "bench-sub-1", "password": secrets.token_urlsafe(12),
                             "email": "bench-oidc@example.com", "email_verified": True,
                             "name": "Bench User", "groups": ["staff"]}
        redirect = s["url"] + "/redirect_uri"
        if self.idp is None:
            idp_dir = self.path("idp")
            os.makedirs(idp_dir)
            self.idp = idp.PanvaIdp(idp_dir, clients=[{
                "client_id": "bench-apache", "client_secret": self.oidc_secret,
                "redirect_uris": [redirect], "grant_types": ["authorization_code"],
                "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"}],
                accounts=[self.oidc_account]).start()
        body = f"""OIDCProviderMetadataURL {self.idp.issuer}/.well-known/openid-configuration
OIDCClientID bench-apache
OIDCClientSecret "{self.oidc_secret}"
OIDCRedirectURI {redirect}
OIDCCryptoPassphrase "{secrets.token_urlsafe(32)}"
OIDCSessionType server-cache
OIDCCacheType shm
OIDCSSLValidateServer Off
OIDCPKCEMethod S256
OIDCScope "openid email"
OIDCSessionInactivityTimeout 3600
OIDCSessionMaxDuration 28800
<Location "/">
    AuthType openid-connect
    Require valid-user
</Location>
"""
        self._apache_base(s, ["auth_openidc"], body)

    def openidc_login(self, s):
        """A fresh mod_auth_openidc session (it re-saves sessions older than 60 s): returns the
        Cookie header value."""
        import requests
        sess = requests.Session()
        r = sess.get(s["url"] + "/bench.txt", headers={"Accept": "text/html"},
                     allow_redirects=False, timeout=15)
        if r.status_code != 302:
            raise BenchError(f"mod_auth_openidc: expected 302 to the provider, got "
                             f"{r.status_code}\n{read(os.path.join(s['dir'], 'error.log'), 3000)}")
        back = self.idp.login(sess, r.headers["Location"], self.oidc_account["email"],
                              self.oidc_account["password"])
        r = sess.get(back, allow_redirects=False, timeout=15)
        cookie = r.cookies.get("mod_auth_openidc_session") or sess.cookies.get(
            "mod_auth_openidc_session")
        if r.status_code != 302 or not cookie:
            raise BenchError(f"mod_auth_openidc: login callback answered {r.status_code} "
                             f"without a session\n{read(os.path.join(s['dir'], 'error.log'), 3000)}")
        return f"mod_auth_openidc_session={cookie}"

    def site_pids(self, s):
        pids = [s["pid"]] + children(s["pid"])
        return pids

    # -- credentials -----------------------------------------------------------------------------
    def access_jwt(self, s, session_token):
        import requests
        r = requests.post(s["url"] + "/auth/token", json={},
                          headers={"Authorization": f"Bearer {session_token}"}, timeout=15)
        if r.status_code != 200 or "access_token" not in r.json():
            raise BenchError(f"POST /auth/token: {r.status_code} {r.text[:300]}")
        return r.json()["access_token"]


# -- HTTP pre-check -----------------------------------------------------------------------------
def http_get(port, path, headers):
    """Two GETs on one keep-alive connection as wrk sends them; returns (status, body, size of
    the second full response in bytes)."""
    req = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    req += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        buf = b""
        result = None
        for _ in range(2):
            c.sendall(req.encode())
            while b"\r\n\r\n" not in buf:
                chunk = c.recv(65536)
                if not chunk:
                    raise BenchError(f"connection closed by 127.0.0.1:{port}")
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if not m:
                raise BenchError(f"no Content-Length from 127.0.0.1:{port}{path}: {head[:300]!r}")
            n = int(m.group(1))
            while len(rest) < n:
                chunk = c.recv(65536)
                if not chunk:
                    raise BenchError("short body")
                rest += chunk
            status = int(head.split(b" ", 2)[1])
            result = (status, rest[:n], len(head) + 4 + n, head)
            buf = rest[n:]
    return result


# -- cases ---------------------------------------------------------------------------------------
# name: (site, description, credential, expected status). Sites are "server[:authorizer group]";
# groups are "<allow|postern>-<unix|tcp>[-nocache][-tN]" (N processes each: --procs).
CASES = {
    "A": ("lighttpd", "lighttpd, static file, no auth", None, 200),
    "B": ("lighttpd:allow-unix", "lighttpd + allow-all (the limit)", None, 200),
    "C": ("lighttpd:postern-unix", "lighttpd + Postern, session cookie (cached)", "cookie", 200),
    "D": ("lighttpd:postern-unix", "lighttpd + Postern, access JWT", "jwt", 200),
    "E": ("lighttpd:postern-unix", "lighttpd + Postern, API key", "apikey", 200),
    "F": ("lighttpd:postern-unix", "lighttpd + Postern, garbage token (401)", "garbage", 401),
    "G": ("lighttpd:postern-unix-nocache", "lighttpd + Postern, cache off", "cookie", 200),
    "P": ("apache-openidc", "Apache mpm_worker + mod_auth_openidc", "openidc", 200),
    # Postern's best integration and its limit there (see README: Performance)
    "NA": ("nginx", "nginx, static file, no auth", None, 200),
    "NB": ("nginx:allow-unix", "nginx auth_request + allow-all, keep-conn", None, 200),
    "NC": ("nginx:postern-unix", "nginx auth_request + Postern cookie, keep-conn", "cookie", 200),
    # the integration study (--study)
    "NB0": ("nginx-close:allow-unix", "nginx auth_request + allow-all, no keep-conn", None, 200),
    "NC0": ("nginx-close:postern-unix", "nginx + Postern cookie, no keep-conn", "cookie", 200),
    "LB2": ("lighttpd2:allow-unix", "lighttpd max-worker 2 + allow-all", None, 200),
    "LC2": ("lighttpd2:postern-unix", "lighttpd max-worker 2 + Postern cookie", "cookie", 200),
    "LBT": ("lighttpd:allow-tcp", "lighttpd + allow-all over TCP", None, 200),
    "LCT": ("lighttpd:postern-tcp", "lighttpd + Postern cookie over TCP", "cookie", 200),
    "LC1": ("lighttpd:postern-unix-t1", "lighttpd + Postern cookie, 1 thread/process", "cookie", 200),
    "LC8": ("lighttpd:postern-unix-t8", "lighttpd + Postern cookie, 8 threads/process", "cookie", 200),
    "AB": ("apache:allow-tcp", "Apache mod_authnz_fcgi + allow-all", None, 200),
    "AC": ("apache:postern-tcp", "Apache mod_authnz_fcgi + Postern cookie", "cookie", 200),
}
DEFAULT_CASES = "A,B,C,D,E,F,G,P"
STUDY_CASES = "NA,NB,NC,NB0,NC0,LB2,LC2,LBT,LCT,LC1,LC8,AB,AC"


def limit_of(case, cases):
    """The allow-all case in the same web server and transport (the limit there), or None."""
    server, _, group = CASES[case][0].partition(":")
    if not group.startswith("postern-"):
        return None
    transport = group.split("-")[1]
    want = f"{server}:allow-{transport}"
    return next((c for c in cases if CASES[c][0] == want), None)


def best_of(runner, cases):
    """Postern's best integration in this run: the cached session-cookie case with the most
    requests per second (compared with P)."""
    cands = [c for c in cases if CASES[c][2] == "cookie" and "nocache" not in CASES[c][0]
             and c in runner.results]
    return max(cands, key=lambda c: runner.median(c, "rps"), default=None)


def percentile(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


class Runner:
    def __init__(self, bench, args):
        self.b = bench
        self.args = args
        self.results = {}   # case -> [run dicts]
        self.expect = {}    # case -> (status, size)
        self.headers = {}   # case -> {name: value}

    def credential_headers(self, case, s):
        cred = CASES[case][2]
        if cred is None:
            return {}
        if cred == "cookie":
            return {"Cookie": f"postern_session={token('session', 1)}"}
        if cred == "jwt":
            return {"Authorization": f"Bearer {self.jwt}"}
        if cred == "apikey":
            return {"X-Api-Key": token("key", 1)}
        if cred == "garbage":
            # well-formed, unknown: the negative cache's job (a malformed one never gets that far)
            raw = hashlib.sha256(b"bench-garbage").digest()
            return {"Authorization": "Bearer pst_s_" +
                    base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}
        if cred == "openidc":
            return {"Cookie": self.b.openidc_login(s)}
        raise BenchError(cred)

    def prepare(self, cases):
        needs_jwt = any(CASES[c][2] == "jwt" for c in cases)
        for c in cases:
            self.b.site(CASES[c][0])
        if needs_jwt:
            site = next(self.b.site(CASES[c][0]) for c in cases if CASES[c][2] == "jwt")
            self.jwt = self.b.access_jwt(site, token("session", 2))
        for c in cases:
            self.check(c, first=True)

    def check(self, case, first=False):
        """The exact status, body and size one response must have; sets self.headers[case]."""
        site_name, desc, cred, want = CASES[case]
        s = self.b.site(site_name)
        h = self.credential_headers(case, s)
        status, body, size, head = http_get(s["port"], "/bench.txt", h)
        ok = status == want and (body == BODY if want == 200 else
                                 b'"code":"CREDENTIAL_INVALID"' in body or
                                 b'UNAUTHENTICATED' in body)
        if not ok or re.search(rb"(?im)^set-cookie:", head):
            raise BenchError(f"case {case} ({desc}): pre-check got {status} {body[:200]!r} "
                             f"(expected {want}{' and the 18-byte file' if want == 200 else ''}"
                             f"{', and no Set-Cookie' if status == want else ''})")
        if first:
            log(f"case {case}: {desc}: pre-check {status}, {size} bytes per response")
        self.headers[case] = h
        self.expect[case] = (want, size)

    def run(self, case):
        site_name, desc, cred, want = CASES[case]
        s = self.b.site(site_name)
        if cred == "openidc":  # a fresh session right before each measured run (issue 7)
            self.check(case)
        env = dict(os.environ, BENCH_HEADERS="".join(f"{k}: {v}\n"
                                                     for k, v in self.headers[case].items()))
        argv = ["wrk", "-t", str(self.args.wrk_threads), "-c", str(self.args.connections),
                "-d", f"{self.args.seconds}s", "--timeout", "5s",
                "-s", os.path.join(HERE, "wrk_report.lua"), s["url"] + "/bench.txt"]
        server_pids = self.b.site_pids(s)
        authz_pids = s["authz"]["pids"] if s["authz"] else []
        db_pids = set([self.b.pg_pid] + children(self.b.pg_pid))
        m0, w0, a0, d0 = (machine_ticks(), proc_cpu_ticks(server_pids),
                          proc_cpu_ticks(authz_pids), proc_cpu_ticks(db_pids))
        t0 = time.monotonic()
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=self.args.seconds + 30)
        elapsed = time.monotonic() - t0
        # backends that connected during the run (an authorizer thread's first miss) count
        # whole: all their CPU was spent in it
        db_pids |= set(children(self.b.pg_pid))
        m1, w1, a1, d1 = (machine_ticks(), proc_cpu_ticks(server_pids),
                          proc_cpu_ticks(authz_pids), proc_cpu_ticks(db_pids))
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if r.returncode != 0 or line is None:
            raise BenchError(f"wrk failed for case {case}: {r.stdout}\n{r.stderr}")
        j = json.loads(line[len("BENCH_JSON "):])
        n = j["requests"]
        if n == 0:
            raise BenchError(f"case {case}: no requests completed")
        errors = j["connect"] + j["read"] + j["write"] + j["timeout"]
        bad_status = j["status"] if want < 400 else n - j["status"]
        avg = j["bytes"] / n
        size = self.expect[case][1]
        if errors or bad_status or abs(avg - size) > 2.0:
            raise BenchError(
                f"case {case} ({desc}): {n} requests, {bad_status} with a status other than "
                f"{want}, {errors} socket errors/timeouts, {avg:.1f} bytes per response "
                f"(expected {size})")
        us = 1e6 / CLK_TCK
        busy = m1[0] - m0[0]
        run = {"rps": n / (j["duration_us"] / 1e6), "p50": j["p50_us"] / 1000,
               "p99": j["p99_us"] / 1000, "requests": n,
               "cpu": busy * us / n, "busy": busy / max(1, m1[1] - m0[1]),
               "server_cpu": (w1 - w0) * us / n, "authz_cpu": (a1 - a0) * us / n,
               "db_cpu": (d1 - d0) * us / n, "elapsed": elapsed}
        self.results.setdefault(case, []).append(run)
        log(f"  {case:4} {run['rps']:9.0f} req/s  p50 {run['p50']:.2f} ms  p99 {run['p99']:.2f} ms"
            f"  {run['cpu']:6.1f} µs/req (server {run['server_cpu']:.1f}, authorizer "
            f"{run['authz_cpu']:.1f}, db {run['db_cpu']:.1f}), {100 * run['busy']:.0f}% busy")

    def median(self, case, key):
        return statistics.median(r[key] for r in self.results[case])

    def ratio(self, case, ref, key="rps"):
        """Median over the rounds of case/ref, each round's runs paired: the machine's speed
        drifts (a shared host), and the two runs of a round are the closest in time."""
        pairs = zip(self.results[case], self.results[ref])
        return statistics.median(a[key] / b[key] for a, b in pairs)

    def difference(self, case, ref, key):
        pairs = zip(self.results[case], self.results[ref])
        return statistics.median(a[key] - b[key] for a, b in pairs)


# -- RSS, revocation, microbenchmark --------------------------------------------------------------
def _fill_worker(args):
    sock, lo, hi = args
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/bench.txt", "HTTP_HOST": "127.0.0.1"}
    bad = 0
    for i in range(lo, hi):
        params["HTTP_X_API_KEY"] = token("key", i)
        _, status, _, _ = fcgi_client.request(sock, params, role="AUTHORIZER")
        bad += status != 200
    return bad


def authz_ask(sock, tok):
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/bench.txt", "HTTP_HOST": "127.0.0.1",
              "HTTP_COOKIE": f"postern_session={tok}"}
    return fcgi_client.request(sock, params, role="AUTHORIZER")[1]


def rss_and_revocation(b, args):
    """Two single authorizer processes on their own sockets (a 1 h cache TTL, so only NOTIFY can
    explain a deny). The first is filled with 100,000 API keys: its RSS before and after. Then
    100 sessions are revoked by SQL, each polled over FastCGI on both until both deny."""
    out = {}
    procs = []
    for i in (1, 2):
        cfg = b.postern_config(f"authz-rev{i}", cache_ttl="1h", threads="4")
        sock = b.path(f"rev{i}.sock")
        logf = b.path(f"authz-rev{i}.log")
        env = dict(os.environ, **dict(kv.split("=", 1) for kv in args.rss_env))
        p = b.procs.start([os.path.join(BUILD, "postern-authorizer"), "-c", cfg,
                           "--listen", f"unix:{sock}"], logf, f"authz-rev{i}", env=env)
        wait_for(lambda: servers.can_connect(sock) and "rules loaded" in read(logf), 20,
                 f"authorizer rev{i}", [logf])
        procs.append((p, sock))
    (p1, s1), (p2, s2) = procs
    floor = b.procs.start([os.path.join(BUILD, "lib-floor")], b.path("lib-floor.log"), "lib-floor")
    # asleep in pause(): the loader is done (the kernel might also show S while it reads a
    # library from disk, but those are in the page cache after the authorizers started)
    wait_for(lambda: "State:\tS" in read(f"/proc/{floor.pid}/status"), 10, "lib-floor")
    for field, key in (("VmRSS", "floor_kib"), ("RssAnon", "floor_anon_kib"),
                       ("RssFile", "floor_file_kib")):
        out[key] = vm_rss_kib(floor.pid, field)
    floor.terminate()
    floor.wait(5)
    n = args.fill
    out["rss_start_kib"] = vm_rss_kib(p1.pid)
    out["rss_start_anon_kib"] = vm_rss_kib(p1.pid, "RssAnon")
    t0 = time.monotonic()
    workers = 4
    step = (n + workers - 1) // workers
    with ProcessPoolExecutor(workers) as ex:
        bad = sum(ex.map(_fill_worker, [(s1, k, min(n, k + step)) for k in range(0, n, step)]))
    if bad:
        raise BenchError(f"cache fill: {bad} of {n} API-key requests were not allowed")
    out["fill_seconds"] = time.monotonic() - t0
    out["rss_full_kib"] = vm_rss_kib(p1.pid)
    out["rss_full_anon_kib"] = vm_rss_kib(p1.pid, "RssAnon")
    out["rss_full_file_kib"] = vm_rss_kib(p1.pid, "RssFile")
    out["rss_by_mapping"] = rss_by_mapping(p1.pid)
    out["fill"] = n
    # the process's own count, as it reports to postern.stats every 5 s
    deadline = time.monotonic() + 12
    entries = None
    while time.monotonic() < deadline:
        with b.conn.cursor() as cur:
            cur.execute("SELECT value FROM postern.stats WHERE metric = 'postern_cache_entries' "
                        "AND instance LIKE %s", (f"%:{p1.pid}:%",))
            row = cur.fetchone()
        if row and row[0] >= n:
            entries = row[0]
            break
        time.sleep(0.5)
    out["cache_entries"] = entries
    log(f"RSS: {out['rss_start_kib']} KiB at start, {out['rss_full_kib']} KiB with {n} cached "
        f"API keys (filled in {out['fill_seconds']:.1f} s; process reports {entries} entries)")

    lat = []
    base = 500_000
    for t in range(args.revocations):
        tok = token("session", base + t)
        sid = uid("9000", base + t)
        for sock in (s1, s2):
            if authz_ask(sock, tok) != 200:
                raise BenchError(f"revocation trial {t}: the session is not allowed before")
        pending = {s1, s2}
        t_start = time.monotonic()
        with b.conn.cursor() as cur:
            cur.execute("SELECT postern.revoke_session(%s)", (sid,))
        while pending:
            for sock in list(pending):
                if authz_ask(sock, tok) == 401:
                    pending.discard(sock)
            if time.monotonic() - t_start > 5:
                raise BenchError(f"revocation trial {t}: still allowed after 5 s")
        lat.append((time.monotonic() - t_start) * 1000)
    out["revocation_ms"] = lat
    log(f"revocation: {len(lat)} trials, p50 {percentile(lat, 50):.1f} ms, "
        f"p99 {percentile(lat, 99):.1f} ms, max {max(lat):.1f} ms")
    return out


def microbench(args):
    binary = os.path.join(BUILD, "decide-bench")
    if not os.path.exists(binary):
        raise BenchError(f"{binary} is missing: make build/decide-bench")
    r = subprocess.run([binary, "-n", str(args.decisions)], capture_output=True, text=True,
                       timeout=300)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("{")), None)
    if r.returncode != 0 or line is None:
        raise BenchError(f"decide-bench failed: {r.stdout}\n{r.stderr}")
    res = json.loads(line)["cases"]
    log("decision microbenchmark: " + ", ".join(
        f"{k} {v['per_second'] / 1e6:.2f} M/s" for k, v in res.items()))
    return res


# -- report ------------------------------------------------------------------------------------------
def machine_line():
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    ver = {}
    for pkg in ("lighttpd", "nginx", "apache2", "libapache2-mod-auth-openidc", "libfcgi0ldbl",
                "wrk", "postgresql-15"):
        ver[pkg] = cmd(["dpkg-query", "-W", "-f=${Version}", pkg]) or "?"
    model = next((ln.split(":", 1)[1].strip() for ln in read("/proc/cpuinfo").splitlines()
                  if ln.startswith("model name")), "?")
    return (f"{cmd(['nproc'])} cores ({model}), Linux {os.uname().release}, Debian "
            f"{read('/etc/debian_version').strip()}; " +
            ", ".join(f"{k} {v}" for k, v in ver.items()))


def targets(runner, cases, extra):
    out = []

    def line(what, value, ok):
        out.append(f"- {what}: {value} — {'met' if ok else 'MISSED'}")

    have = runner.results
    if "B" in have:
        for c, need in (("C", 0.9), ("D", 0.9), ("E", 0.9), ("F", 0.9), ("G", 0.5)):
            if c in have:
                r = runner.ratio(c, "B")
                line(f"{c} ≥ {need:.2f} of B", f"{r:.2f}", r >= need)
        if "C" in have:
            d = runner.difference("C", "B", "p99")
            line("p99 of C within 1 ms of B's", f"{d:+.2f} ms", d <= 1.0)
    best = best_of(runner, cases)
    if best and "P" in have:
        rp = runner.ratio(best, "P")
        cp = runner.ratio(best, "P", "cpu")
        line(f"best integration ({best}) throughput ≥ 1.0 of P", f"{rp:.2f}", rp >= 1.0)
        line(f"best integration ({best}) machine CPU/request ≤ 1.0 of P", f"{cp:.2f}", cp <= 1.0)
        line(f"best integration ({best}) p99 lower than P's",
             f"{runner.median(best, 'p99'):.2f} vs {runner.median('P', 'p99'):.2f} ms",
             runner.median(best, "p99") < runner.median("P", "p99"))
    if "revocation_ms" in extra:
        p99 = percentile(extra["revocation_ms"], 99)
        line("revocation visible in every process within 100 ms (p99)", f"{p99:.1f} ms",
             p99 <= 100)
        mib = extra["rss_full_kib"] / 1024
        line(f"authorizer RSS ≤ 16 MiB with {extra['fill']} cached entries", f"{mib:.1f} MiB",
             mib <= 16)
    if "micro" in extra and "cookie-hot" in extra["micro"]:
        v = extra["micro"]["cookie-hot"]["per_second"]
        line("≥ 1,000,000 cache-hit decisions per second on one core (session cookie)",
             f"{v / 1e6:.2f} M/s", v >= 1e6)
    return out


def report(b, runner, cases, extra, args, background):
    lines = []
    lines.append(f"Machine: {machine_line()}")
    lines.append(f"Run: wrk -t{args.wrk_threads} -c{args.connections} -d{args.seconds}s, "
                 f"{args.rounds} rounds of every case alternately (median shown), authorizers "
                 f"{args.procs} processes each (Postern {args.threads} threads per process); "
                 f"machine CPU busy before the run (other load): {100 * background:.0f}%")
    lines.append("")
    lines.append("| case | what | req/s | p50 ms | p99 ms | CPU µs/req (machine) | web server | "
                 "authorizer | PostgreSQL | ratio to B |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in cases:
        med = {k: runner.median(c, k) for k in ("rps", "p50", "p99", "cpu", "server_cpu",
                                                 "authz_cpu", "db_cpu")}
        ref = limit_of(c, cases)
        ratio = f"{runner.ratio(c, ref):.2f} ({ref})" if ref else ""
        lines.append(f"| {c} | {CASES[c][1]} | {med['rps']:.0f} | {med['p50']:.2f} | "
                     f"{med['p99']:.2f} | {med['cpu']:.0f} | {med['server_cpu']:.0f} | "
                     f"{med['authz_cpu']:.0f} | {med['db_cpu']:.0f} | {ratio} |")
    lines.append("")
    lines.append("(ratio: req/s against the allow-all authorizer in the same web server and "
                 "transport, named in brackets: the practical limit there; the median over the "
                 "rounds of each round's pair of runs. Per-process CPU comes from /proc/PID/stat of that "
                 "group only, so it is not inflated by other load on the machine; machine CPU "
                 "includes wrk.)")
    best = best_of(runner, cases)
    if best and "P" in runner.results:
        rp, cp = runner.ratio(best, "P"), runner.ratio(best, "P", "cpu")
        lines.append("")
        lines.append(f"Postern's best integration ({best}: {CASES[best][1]}) against P: "
                     f"throughput ×{rp:.2f}, machine CPU per request ×{cp:.2f}, p99 "
                     f"{runner.median(best, 'p99'):.2f} ms vs {runner.median('P', 'p99'):.2f} ms.")
    if "rss_full_kib" in extra:
        lat = extra["revocation_ms"]
        lines.append("")
        lines.append(f"Authorizer RSS (one process, 4 threads): "
                     f"{extra['rss_start_kib'] / 1024:.1f} MiB at start (anonymous "
                     f"{extra['rss_start_anon_kib'] / 1024:.1f}), "
                     f"{extra['rss_full_kib'] / 1024:.1f} MiB with {extra['fill']} cached API "
                     f"keys (anonymous {extra['rss_full_anon_kib'] / 1024:.1f} MiB, file-backed "
                     f"{extra['rss_full_file_kib'] / 1024:.1f} MiB; the process reports "
                     f"{extra['cache_entries']} cache entries)"
                     + (f"; environment {' '.join(args.rss_env)}" if args.rss_env else "") + ".")
        lines.append(f"The libraries alone (build/lib-floor: linked with the authorizer's "
                     f"libraries, none of them called): {extra['floor_kib'] / 1024:.1f} MiB "
                     f"(anonymous {extra['floor_anon_kib'] / 1024:.1f}, file-backed "
                     f"{extra['floor_file_kib'] / 1024:.1f}).")
        top = sorted(extra["rss_by_mapping"].items(), key=lambda kv: -kv[1][0])[:10]
        lines.append("Resident with the full cache, largest first (KiB; results.json has every "
                     "mapping): " + ", ".join(f"{k} {v[0]}" + (f" ({v[1]} anonymous)"
                                                               if v[1] and k[0] != "[" else "")
                                              for k, v in top) + ".")
        lines.append(f"Revocation (SQL `postern.revoke_session` until two separate authorizer "
                     f"processes deny, one of them holding the full cache; {len(lat)} trials): "
                     f"p50 {percentile(lat, 50):.1f} ms, p99 {percentile(lat, 99):.1f} ms, "
                     f"max {max(lat):.1f} ms.")
    if "micro" in extra:
        lines.append("")
        lines.append("Decision function (build/decide-bench, authz_decide on cache hits, one "
                     "thread): " + ", ".join(
                         f"{k} {v['per_second'] / 1e6:.2f} M/s ({v['ns']:.0f} ns)"
                         for k, v in extra["micro"].items()) +
                     " — `cookie-100k` rotates through 100,000 cached sessions (its "
                     f"activity-write calls: {extra['micro'].get('cookie-100k', {}).get('touches', '?')}).")
    lines.append("")
    lines.append("Targets (issue 7, ratios within this run):")
    lines += targets(runner, cases, extra)
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(REPO, "build", "bench"), exist_ok=True)
    with open(os.path.join(REPO, "build", "bench", "results.md"), "w") as f:
        f.write(text)
    raw = {"cases": runner.results, "extra": {k: v for k, v in extra.items()},
           "args": vars(args)}
    with open(os.path.join(REPO, "build", "bench", "results.json"), "w") as f:
        json.dump(raw, f, indent=1)
    print("\n" + text, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 3)))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    ap.add_argument("--cases", default=DEFAULT_CASES, help=f"comma list (default {DEFAULT_CASES})")
    ap.add_argument("--study", action="store_true", help=f"add the integration study {STUDY_CASES}")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--procs", type=int, default=2, help="processes per authorizer group")
    ap.add_argument("--threads", type=int, default=4,
                    help="Postern worker threads per process (default 4, Postern's own default)")
    ap.add_argument("--nginx-workers", type=int, default=2)
    ap.add_argument("--apache-threads", type=int, default=32, help="ThreadsPerChild (2 children)")
    ap.add_argument("--fill", type=int, default=N_KEYS, help="API keys cached for the RSS figure")
    ap.add_argument("--revocations", type=int, default=100)
    ap.add_argument("--rss-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment of the RSS/revocation authorizers (e.g. MALLOC_ARENA_MAX=1)")
    ap.add_argument("--decisions", type=int, default=2_000_000)
    ap.add_argument("--no-extras", action="store_true", help="skip RSS, revocation, microbench")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--hold", type=int, default=0,
                    help="start the cases' servers, pre-check, then keep them up this many "
                         "seconds for manual study (at most 1800) instead of measuring")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    if args.study:
        cases += [c for c in STUDY_CASES.split(",") if c not in cases]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise SystemExit(f"bench: unknown case(s) {unknown}; known: {', '.join(CASES)}")
    if not (1 <= args.seconds <= 120 and 1 <= args.rounds <= 20 and 0 <= args.hold <= 1800):
        raise SystemExit("bench: --seconds 1..120 and --rounds 1..20 (bounded runs)")
    for binary in ("postern-authorizer", "allow-all", "lib-floor"):
        if not os.access(os.path.join(BUILD, binary), os.X_OK):
            raise SystemExit(f"bench: {BUILD}/{binary} is missing: run `make bench`")
    for tool in ("wrk", "spawn-fcgi", "lighttpd"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} not found: run `make bench` (it installs DEB_BENCH)")

    def on_signal(sig, frame):
        raise KeyboardInterrupt(f"signal {sig}")
    # SIGINT too: a shell starts a background job with SIGINT ignored, and Python then leaves it so
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

    b = Bench(args)
    t_start = time.monotonic()
    try:
        b.start_db()
        b.pg_pid = int(read(os.path.join(b.pg.datadir, "postmaster.pid")).split()[0])
        b.start_responder()
        runner = Runner(b, args)
        runner.prepare(cases)
        if args.hold:
            for name, st in b.sites.items():
                log(f"holding: {name} at {st['url']} (pid {st['pid']}"
                    f"{', authorizer pids ' + str(st['authz']['pids']) if st['authz'] else ''})")
            log(f"holding for {args.hold} s (Ctrl-C ends it)")
            time.sleep(args.hold)
            return 0
        m0 = machine_ticks()
        time.sleep(1)
        m1 = machine_ticks()
        background = (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
        log(f"machine busy before the runs: {100 * background:.0f}%; {args.rounds} rounds of "
            f"{len(cases)} cases, {args.seconds} s each")
        for rnd in range(args.rounds):
            log(f"round {rnd + 1}/{args.rounds}")
            order = cases[rnd % len(cases):] + cases[:rnd % len(cases)]
            for c in order:
                runner.run(c)
        extra = {}
        if not args.no_extras:
            extra.update(rss_and_revocation(b, args))
            extra["micro"] = microbench(args)
        report(b, runner, cases, extra, args, background)
        log(f"done in {time.monotonic() - t_start:.0f} s; results in build/bench/results.md")
        return 0
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr, flush=True)
        return 130
    except Exception:
        import traceback
        traceback.print_exc()
        print("bench: FAILED (unexpected error above)", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        b.procs.stop_all()
        if b.idp is not None:
            b.idp.stop()
        if b.pg is not None:
            try:
                b.conn.close()
            except Exception:
                pass
            b.pg.cleanup()
        if not args.keep:
            shutil.rmtree(b.dir, ignore_errors=True)
        else:
            print(f"bench: work directory kept: {b.dir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
