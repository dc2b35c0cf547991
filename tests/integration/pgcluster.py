"""Private throw-away PostgreSQL cluster for the integration tests.

Owns: creating a cluster in a temporary directory (initdb), starting and stopping it with
pg_ctl, and handing out DSNs, psql runs and psycopg2 connections.  Nothing is written outside
the temporary directory; the server listens only on a unix socket inside it.

initdb refuses to run as root, so when the tests run as root (CI) the server programs run as
the `postgres` system user through `runuser -u postgres --`, the temporary directory is owned
by that user, and clients (still root) connect over the socket as database user `postgres`.
"""
import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

SUPERUSER = "postgres"


def find_bindir():
    """Directory with initdb/pg_ctl: $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return env
    cands = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                   key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    for c in reversed(cands):
        if os.path.exists(os.path.join(c, "initdb")):
            return c
    path = shutil.which("initdb")
    if path:
        return os.path.dirname(path)
    raise RuntimeError("PostgreSQL server binaries not found (set PG_BINDIR)")


class PgCluster:
    """A private cluster.  Use start()/stop() or as a context manager."""

    def __init__(self, bindir=None, port=5432):
        self.bindir = bindir or find_bindir()
        self.port = port
        self.as_root = os.geteuid() == 0
        self.tmp = tempfile.mkdtemp(prefix="postern-pg-")
        self.datadir = os.path.join(self.tmp, "data")
        self.sockdir = os.path.join(self.tmp, "sock")
        self.logfile = os.path.join(self.tmp, "postgres.log")
        os.mkdir(self.sockdir)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for p in (self.tmp, self.sockdir):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(self.tmp, 0o755 if self.as_root else 0o700)
        self.running = False
        self._removed = False
        atexit.register(self.cleanup)

    # -- server side -----------------------------------------------------------------------
    def _server_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        env["LANG"] = "C.UTF-8"
        return env

    def _run_server_cmd(self, argv, check=True):
        argv = [os.path.join(self.bindir, argv[0])] + list(argv[1:])
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, cwd=self.tmp, env=self._server_env(), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def init(self):
        self._run_server_cmd(["initdb", "-D", self.datadir, "--auth=trust", "-U", SUPERUSER,
                              "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        conf = os.path.join(self.datadir, "postgresql.conf")
        with open(conf, "a") as f:
            f.write("\n# postern test cluster\n"
                    "listen_addresses = ''\n"
                    f"port = {self.port}\n"
                    f"unix_socket_directories = '{self.sockdir}'\n"
                    "fsync = off\n"
                    "synchronous_commit = off\n"
                    "full_page_writes = off\n"
                    "max_connections = 100\n"
                    "shared_buffers = 32MB\n"
                    "log_min_messages = warning\n")

    def start(self):
        if not os.path.exists(self.datadir):
            self.init()
        try:
            self._run_server_cmd(["pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w",
                                  "-t", "60", "start"])
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"pg_ctl start failed: {e.stdout}\n{self.log()}") from e
        self.running = True
        return self

    def stop(self):
        if self.running:
            self._run_server_cmd(["pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop"],
                                 check=False)
            self.running = False

    def cleanup(self):
        self.stop()
        if not self._removed:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self._removed = True

    def log(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- client side -----------------------------------------------------------------------
    def dsn(self, dbname="postgres", user=SUPERUSER):
        return f"host={self.sockdir} port={self.port} dbname={dbname} user={user}"

    def client_env(self, user=SUPERUSER):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=self.sockdir, PGPORT=str(self.port), PGUSER=user,
                   PGDATABASE="postgres")
        return env

    def psql(self, args, input=None, user=SUPERUSER, check=False, cwd=None):
        """Run psql (no psqlrc) against this cluster; returns the CompletedProcess."""
        psql = os.path.join(self.bindir, "psql")
        if not os.path.exists(psql):
            psql = shutil.which("psql")
        argv = [psql, "-X", "-q"] + list(args)
        return subprocess.run(argv, input=input, env=self.client_env(user), check=check,
                              capture_output=True, text=True, cwd=cwd)

    def connect(self, dbname="postgres", user=SUPERUSER, autocommit=True):
        import psycopg2
        conn = psycopg2.connect(self.dsn(dbname, user))
        conn.autocommit = autocommit
        return conn

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.psql(["-c", "SELECT 1"]).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("cluster not ready:\n" + self.log())
