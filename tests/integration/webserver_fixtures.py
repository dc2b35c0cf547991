"""Fixtures for the web-server integrations: lighttpd, Apache (mod_authnz_fcgi and mod_fcgid)
and nginx, each in front of an authorizer and postern-responder, with a CGI/FastCGI backend and
a proxied HTTP backend.

Owns: building and running tests/bench/allow_all.c (the trivial allow-all authorizer), the
per-test site (docroot, cgi-bin/printenv.cgi and its hits.log), the backends, and the web
servers, each started in the foreground on an ephemeral loopback port with a main config that
sets the variables of the shipped conf/ file and includes it verbatim.

  authorizer_kind  "real" (build/postern-authorizer, the default) or "allow_all"; override it
                   with @pytest.mark.parametrize("authorizer_kind", ["allow_all"])
  webserver        parametrized over WEBSERVERS; yields a Site with .url, .kind, .echo
                   (the proxied backend), .cgi_hits(), .authz_seen(), .errors()
  make_webserver   factory: make_webserver("nginx") for one server only;
                   make_webserver(kind, authz_config={"database": ...}) overrides keys of the
                   authorizer's postern.conf, make_webserver(kind, conf_filter=f) includes
                   f(text) of the shipped conf/ file instead of the file itself (a variant
                   written into the test's directory: the shipped file is never changed)
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys

import pytest

import servers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "backends"))
from echo_http import EchoServer  # noqa: E402

WEBSERVERS = ["lighttpd", "apache-authnz-fcgi", "apache-fcgid", "nginx"]
APACHE_MODULES = "/usr/lib/apache2/modules"
WWW = "www-data"

__all__ = ["WEBSERVERS", "authorizer_kind", "webserver", "make_webserver", "echo_backend",
           "allow_all_binary"]


def allow_all_binary():
    """build/allow-all, built by `make integration` from tests/bench/allow_all.c."""
    binary = os.path.join(servers.BUILD, "allow-all")
    assert os.path.exists(binary), f"{binary} is missing: run the tests with make integration"
    return binary


def _www_ids():
    pw = pwd.getpwnam(WWW)
    return pw.pw_uid, pw.pw_gid


def _touch(path, mode=0o666):
    with open(path, "a"):
        pass
    os.chmod(path, mode)


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class Proc:
    """A foreground process we started; stop() ends it (SIGTERM, then SIGKILL) by its pid."""

    def __init__(self, argv, logfile, env=None):
        log = open(logfile, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=env, start_new_session=True)
        log.close()
        self.logfile = logfile

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # children left in the session we created (mod_fcgid, fcgiwrap): by their group id
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log(self):
        return _read(self.logfile)


def spawn_fcgi(binary, args, socket_path, logfile, env=None):
    """`spawn-fcgi -n -s SOCKET -M 0666 -- binary args`: the socket is in the test's private
    directory; 0666 because Apache's and nginx's workers (www-data) connect to it."""
    p = Proc(["spawn-fcgi", "-n", "-s", socket_path, "-M", "0666", "--", binary, *args],
             logfile, env=env)
    servers.wait_for(lambda: os.path.exists(socket_path) and servers.can_connect(socket_path),
                     what=f"{os.path.basename(binary)} socket")
    return p


class Authorizer:
    """The authorizer under test: postern-authorizer ("real") or allow_all.

    transport "unix": spawn-fcgi on .socket; "tcp": --listen 127.0.0.1:.port (mod_authnz_fcgi);
    "fcgid": not started here, Apache's mod_fcgid spawns .command itself."""

    def __init__(self, kind, directory, transport, config):
        self.kind = kind
        self.dir = directory
        self.transport = transport
        self.config = config
        self.seen_log = os.path.join(directory, "authz-seen.jsonl")
        _touch(self.seen_log)
        self.logfile = os.path.join(directory, "authorizer.log")
        self.binary = (os.path.join(servers.BUILD, "postern-authorizer") if kind == "real"
                       else allow_all_binary())
        self.socket = os.path.join(directory, "authorizer.sock")
        self.port = servers.free_port()
        self.proc = None
        self.command = self.binary
        if transport == "fcgid" and kind == "allow_all":
            # mod_fcgid runs the command with the listening socket on fd 0; exec keeps it.
            self.command = os.path.join(directory, "allow-all-fcgid")
            with open(self.command, "w") as f:
                f.write(f"#!/bin/sh\nALLOW_ALL_LOG={self.seen_log} exec {self.binary} \"$@\"\n")
            os.chmod(self.command, 0o755)

    def start(self):
        env = dict(os.environ, ALLOW_ALL_LOG=self.seen_log)
        args = ["-c", self.config]
        if self.transport == "unix":
            self.proc = spawn_fcgi(self.binary, args, self.socket, self.logfile, env=env)
        elif self.transport == "tcp":
            addr = f"127.0.0.1:{self.port}"
            self.proc = Proc([self.binary, *args, "--listen", addr], self.logfile, env=env)
            servers.wait_for(lambda: servers.can_connect(("127.0.0.1", self.port)),
                             what="authorizer TCP port")
        return self

    def stop(self):
        if self.proc:
            self.proc.stop()

    def seen(self):
        """What allow_all received, one dict of FastCGI params per request. A name sent twice
        keeps its FIRST value, as Postern (lib/fcgi_wire.c) and libfcgi do."""
        def first(pairs):
            d = {}
            for k, v in pairs:
                d.setdefault(k, v)
            return d
        return [json.loads(line, object_pairs_hook=first)
                for line in _read(self.seen_log).splitlines() if line]


class Site:
    """A web server in front of the authorizer, the responder and both backends."""

    def __init__(self, kind, directory, authorizer, responder_socket, echo, conf_filter=None):
        self.kind = kind
        self.conf_filter = conf_filter
        self.dir = directory
        self.authorizer = authorizer
        self.responder_socket = responder_socket
        self.echo = echo
        self.port = servers.free_port()
        self.docroot = os.path.join(directory, "docroot")
        self.cgidir = os.path.join(self.docroot, "cgi-bin")
        os.makedirs(self.cgidir)
        for d in (directory, self.docroot, self.cgidir):
            os.chmod(d, 0o755)
        shutil.copy(os.path.join(HERE, "docroot", "index.html"), self.docroot)
        os.chmod(os.path.join(self.docroot, "index.html"), 0o644)
        shutil.copy(os.path.join(HERE, "backends", "printenv.cgi"), self.cgidir)
        os.chmod(os.path.join(self.cgidir, "printenv.cgi"), 0o755)
        self.hits = os.path.join(self.cgidir, "hits.log")
        _touch(self.hits)
        self.errorlog = os.path.join(directory, "error.log")
        _touch(self.errorlog, 0o644)
        self.procs = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    cgi_path = "/cgi-bin/printenv.cgi"
    app_path = "/app/hello"

    def cgi_hits(self):
        return _read(self.hits).splitlines()

    def authz_seen(self):
        return self.authorizer.seen()

    def errors(self):
        return _read(self.errorlog)

    def _run(self, argv, check_argv=None):
        if check_argv:
            r = subprocess.run(check_argv, capture_output=True, text=True)
            assert r.returncode == 0, f"{check_argv}: {r.stdout}{r.stderr}"
        p = Proc(argv, os.path.join(self.dir, f"{self.kind}.out"))
        self.procs.append(p)
        try:
            servers.wait_for(lambda: servers.can_connect(("127.0.0.1", self.port)),
                             what=f"{self.kind} port")
        except AssertionError:
            raise AssertionError(f"{self.kind} did not start:\n{p.log()}\n{self.errors()}")

    def start(self):
        getattr(self, "_start_" + self.kind.replace("-", "_"))()
        return self

    def stop(self):
        for p in reversed(self.procs):
            p.stop()

    # -- lighttpd: conf/lighttpd/postern.conf + postern-backends.conf -----------------------
    def _start_lighttpd(self):
        conf = os.path.join(self.dir, "lighttpd.conf")
        L = os.path.join(servers.CONF, "lighttpd")
        with open(conf, "w") as f:
            f.write(f'server.document-root = "{self.docroot}"\n'
                    'server.bind = "127.0.0.1"\n'
                    f"server.port = {self.port}\n"
                    'index-file.names = ( "index.html" )\n'
                    f'server.errorlog = "{self.errorlog}"\n'
                    f'server.pid-file = "{self.dir}/lighttpd.pid"\n'
                    f'var.postern_authorizer = "{self.authorizer.socket}"\n'
                    f'var.postern_responder = "{self.responder_socket}"\n'
                    f'include "{L}/postern.conf"\n'
                    f'var.postern_lua = "{L}/postern-identity.lua"\n'
                    'var.postern_cgi_prefix = "/cgi-bin/"\n'
                    'var.postern_app_prefix = "/app/"\n'
                    'var.postern_app_host = "127.0.0.1"\n'
                    f"var.postern_app_port = {self.echo.port}\n"
                    f'include "{L}/postern-backends.conf"\n')
        self._run(["lighttpd", "-D", "-f", conf], ["lighttpd", "-tt", "-f", conf])

    # -- nginx: conf/nginx/postern.conf (+ postern-fastcgi.conf, postern-proxy.conf) -----------
    def _start_nginx(self):
        fcgiwrap_sock = os.path.join(self.dir, "fcgiwrap.sock")
        self.procs.append(spawn_fcgi("/usr/sbin/fcgiwrap", [], fcgiwrap_sock,
                                     os.path.join(self.dir, "fcgiwrap.log")))
        N = os.path.join(servers.CONF, "nginx")
        shutil.copy("/etc/nginx/fastcgi_params", self.dir)
        conf = os.path.join(self.dir, "nginx.conf")
        temp = "".join(f"    {t}_temp_path {self.dir}/{t}_temp;\n"
                       for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(conf, "w") as f:
            f.write(f"""user {WWW};
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.errorlog} info;
events {{ worker_connections 128; }}
http {{
    access_log off;
{temp}    upstream postern_authorizer {{ server unix:{self.authorizer.socket}; }}
    upstream postern_responder  {{ server unix:{self.responder_socket}; }}
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
        root {self.docroot};
        include {N}/postern.conf;
        location /cgi-bin/ {{
            include {N}/postern-fastcgi.conf;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            include fastcgi_params;
            fastcgi_pass unix:{fcgiwrap_sock};
        }}
        location /app/ {{
            include {N}/postern-proxy.conf;
            proxy_pass http://127.0.0.1:{self.echo.port};
        }}
    }}
}}
""")
        base = ["nginx", "-p", self.dir, "-c", conf, "-e", self.errorlog]
        self._run(base + ["-g", "daemon off;"], base + ["-t", "-q"])

    # -- Apache: conf/apache/postern-authnz-fcgi.conf or postern-fcgid.conf --------------------
    def _apache_conf(self, defines, include, modules):
        mods = ["mpm_worker", "authn_core", "authz_core", "authz_user", "mime", "dir",
                "alias", "cgid", "headers", "env", "proxy", "proxy_http", "proxy_fcgi",
                "setenvif", *modules]
        load = "".join(f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so\n" for m in mods)
        return f"""ServerRoot "{self.dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.dir}/httpd.pid"
DefaultRuntimeDir "{self.dir}"
Mutex file:{self.dir} default
ErrorLog "{self.errorlog}"
LogLevel warn
User {WWW}
Group {WWW}
{load}TypesConfig /etc/mime.types
EnableMMAP Off
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
ScriptSock "{self.dir}/cgid.sock"
DocumentRoot "{self.docroot}"
DirectoryIndex index.html
<Directory "{self.docroot}">
    Options None
    AllowOverride None
</Directory>
ScriptAlias /cgi-bin/ "{self.cgidir}/"
ProxyPass /app/ http://127.0.0.1:{self.echo.port}/app/
{defines}Include "{include}"
"""

    def _shipped(self, path):
        """The shipped conf/ file to include, or the test's filtered copy of it."""
        if self.conf_filter is None:
            return path
        with open(path) as f:
            text = self.conf_filter(f.read())
        copy = os.path.join(self.dir, "filtered-" + os.path.basename(path))
        with open(copy, "w") as f:
            f.write(text)
        os.chmod(copy, 0o644)
        return copy

    def _start_apache(self, text):
        conf = os.path.join(self.dir, "httpd.conf")
        with open(conf, "w") as f:
            f.write(text)
        uid, gid = _www_ids()
        os.chown(self.errorlog, uid, gid)
        base = ["apache2", "-d", self.dir, "-f", conf]
        self._run(base + ["-DFOREGROUND"], base + ["-t"])

    def _start_apache_authnz_fcgi(self):
        defines = (f"Define POSTERN_AUTHORIZER 127.0.0.1:{self.authorizer.port}\n"
                   f'Define POSTERN_RESPONDER "unix:{self.responder_socket}|fcgi://localhost"\n')
        self._start_apache(self._apache_conf(
            defines, self._shipped(os.path.join(servers.CONF, "apache", "postern-authnz-fcgi.conf")),
            ["authnz_fcgi"]))

    def _start_apache_fcgid(self):
        defines = (f'Define POSTERN_AUTHORIZER_BIN "{self.authorizer.command}"\n'
                   f'Define POSTERN_CONFIG "{self.authorizer.config}"\n'
                   f'Define POSTERN_RESPONDER "unix:{self.responder_socket}|fcgi://localhost"\n'
                   f'FcgidIPCDir "{self.dir}/fcgid"\n'
                   f'FcgidProcessTableFile "{self.dir}/fcgid/shm"\n')
        os.makedirs(os.path.join(self.dir, "fcgid"))
        os.chown(os.path.join(self.dir, "fcgid"), *_www_ids())
        self._start_apache(self._apache_conf(
            defines, self._shipped(os.path.join(servers.CONF, "apache", "postern-fcgid.conf")),
            ["fcgid"]))


TRANSPORT = {"lighttpd": "unix", "nginx": "unix", "apache-authnz-fcgi": "tcp",
             "apache-fcgid": "fcgid"}


@pytest.fixture
def authorizer_kind():
    """Which authorizer the web-server fixtures run: the real one unless a test says so."""
    return "real"


@pytest.fixture
def echo_backend():
    server = EchoServer().start()
    yield server
    server.stop()


def _program_config(request, directory, name, owner=None, overrides=None):
    db = request.getfixturevalue("db")
    logins = request.getfixturevalue("program_logins")
    os.makedirs(directory, exist_ok=True)
    os.chmod(directory, 0o755)
    keys = {"database": db.pg.dsn(db.name, user=logins[name]), "threads": "2",
            "log_level": "debug", **(overrides or {})}
    cfg = servers.write_config(directory, f"{name}.conf", **keys)
    os.chmod(cfg, 0o644)
    if owner is not None:  # mod_fcgid runs the authorizer as the Apache user
        os.chown(os.path.join(directory, "server.key"), *owner)
    return cfg


@pytest.fixture
def make_webserver(request, workdir, authorizer_kind, echo_backend):
    started = []

    def make(kind, authz_config=None, conf_filter=None):
        d = os.path.join(workdir, kind)
        os.makedirs(d)
        os.chmod(d, 0o755)
        transport = TRANSPORT[kind]
        owner = _www_ids() if transport == "fcgid" else None
        authz_cfg = (_program_config(request, os.path.join(d, "authz"), "authorizer", owner,
                                     authz_config)
                     if authorizer_kind == "real" else "/dev/null")
        authz = Authorizer(authorizer_kind, d, transport, authz_cfg).start()
        started.append(authz)
        resp_cfg = _program_config(request, os.path.join(d, "resp"), "responder")
        resp_sock = os.path.join(d, "responder.sock")
        resp = spawn_fcgi(os.path.join(servers.BUILD, "postern-responder"), ["-c", resp_cfg],
                          resp_sock, os.path.join(d, "responder.log"))
        started.append(resp)
        site = Site(kind, d, authz, resp_sock, echo_backend, conf_filter).start()
        started.append(site)
        return site

    yield make
    for s in reversed(started):
        s.stop()


@pytest.fixture(params=WEBSERVERS)
def webserver(request, make_webserver):
    return make_webserver(request.param)
