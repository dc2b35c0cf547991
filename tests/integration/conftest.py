"""Shared pytest fixtures for the integration tests.

Owns the PostgreSQL fixtures:
  pg        session-scoped private cluster (tests/integration/pgcluster.py)
  pg_template  session-scoped name of a database with sql/install.sql applied exactly as a
            DBA would (psql -v ON_ERROR_STOP=1 -f sql/install.sql)
  db        function-scoped fresh database cloned from the template, with an autocommit
            psycopg2 connection (db.conn) and small query helpers
Other fixtures (web servers, the programs, the IdP) can be added below; keep these generic.
"""
import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from pgcluster import PgCluster  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INSTALL_SQL = os.path.join(REPO, "sql", "install.sql")
TEMPLATE_DB = "postern_template"

_db_counter = itertools.count(1)


def install_schema(pg, dbname):
    """Apply sql/install.sql to dbname the way a DBA does; returns the CompletedProcess."""
    return pg.psql(["-v", "ON_ERROR_STOP=1", "-d", dbname, "-f", INSTALL_SQL])


@pytest.fixture(scope="session")
def pg():
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def pg_template(pg):
    r = pg.psql(["-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {TEMPLATE_DB}"])
    assert r.returncode == 0, r.stderr
    r = install_schema(pg, TEMPLATE_DB)
    assert r.returncode == 0, f"install.sql failed:\n{r.stdout}\n{r.stderr}"
    return TEMPLATE_DB


class Queries:
    """query/one/value/error over self.conn (a psycopg2 connection)."""

    def query(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []

    def one(self, sql, args=None):
        rows = self.query(sql, args)
        assert len(rows) == 1, rows
        return rows[0]

    def value(self, sql, args=None):
        return self.one(sql, args)[0]

    def error(self, sql, args=None):
        """Run sql expecting a database error; returns the psycopg2 exception."""
        import psycopg2
        try:
            self.query(sql, args)
        except psycopg2.Error as e:
            return e
        raise AssertionError(f"no error from {sql!r}")


class Database(Queries):
    """A fresh database: .name, .dsn, .conn (autocommit psycopg2) and query helpers."""

    def __init__(self, pg, name):
        self.pg = pg
        self.name = name
        self.dsn = pg.dsn(name)
        self.conn = pg.connect(name)
        self._extra = []

    def connect(self, user="postgres", autocommit=True):
        c = self.pg.connect(self.name, user=user, autocommit=autocommit)
        self._extra.append(c)
        return c

    def close(self):
        for c in self._extra + [self.conn]:
            try:
                c.close()
            except Exception:
                pass


@pytest.fixture
def db(pg, pg_template):
    name = f"t_{os.getpid()}_{next(_db_counter)}"
    admin = pg.connect()
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    finally:
        admin.close()
    d = Database(pg, name)
    try:
        yield d
    finally:
        d.close()
        admin = pg.connect()
        try:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()


# -- Postern's programs and web servers ---------------------------------------------------------
import tempfile  # noqa: E402

import servers  # noqa: E402

PROGRAM_ROLES = {"authorizer": "postern_authorizer", "responder": "postern_responder"}


@pytest.fixture(scope="session")
def program_logins(pg, pg_template):
    """Login roles that are members of the program group roles (least privilege, as deployed)."""
    conn = pg.connect()
    with conn.cursor() as cur:
        for name, group in PROGRAM_ROLES.items():
            cur.execute(f"CREATE ROLE test_{name} LOGIN IN ROLE {group}")
    conn.close()
    return {name: f"test_{name}" for name in PROGRAM_ROLES}


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="postern-it-")
    os.chmod(d, 0o755)
    yield d


@pytest.fixture
def programs(db, program_logins, workdir):
    """Starts both programs against the test's fresh database; yields {name: Program}."""
    started = {}

    def start(name, **overrides):
        overrides.setdefault("database", db.pg.dsn(db.name, user=program_logins[name]))
        overrides.setdefault("threads", "2")
        overrides.setdefault("log_level", "debug")
        cfg = servers.write_config(workdir, f"{name}.conf", **overrides)
        p = servers.Program(name, workdir, cfg)
        loaded = p.log().count("rules loaded")  # a restart appends to the same log
        p.start()
        started[name] = p
        if name == "authorizer":
            # until its listener has loaded the rules it answers 503 POLICY_UNAVAILABLE
            servers.wait_for(lambda: p.log().count("rules loaded") > loaded,
                             what="the authorizer's rules")
        return p

    yield start
    for p in started.values():
        p.stop()


@pytest.fixture
def lighttpd(workdir, programs):
    """lighttpd in front of both programs, serving tests/integration/docroot."""
    authz = programs("authorizer")
    resp = programs("responder")
    docroot = os.path.join(os.path.dirname(__file__), "docroot")
    server = servers.Lighttpd(workdir, authz.socket, resp.socket, docroot).start()
    server.authorizer, server.responder = authz, resp
    yield server
    server.stop()


# Apache, nginx and the test backends live in their own module.
from webserver_fixtures import *  # noqa: E402,F401,F403
# The OIDC sites and providers (tests/idp, hostile_idp.py).
from oidc_fixtures import hostile, oidc_site, panva  # noqa: E402,F401
