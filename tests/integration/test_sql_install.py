"""install.sql mechanics, roles, function properties and privileges."""
import itertools
import os
import subprocess

import psycopg2
import pytest

from conftest import INSTALL_SQL, install_schema

_n = itertools.count(1)


def fresh_db(pg, name):
    r = pg.psql(["-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {name}"])
    assert r.returncode == 0, r.stderr


def _strip(text):
    # pg_dump >= 15.14 writes random \restrict keys; ignore them
    return "\n".join(l for l in text.splitlines() if not l.startswith(("\\restrict", "\\unrestrict")))


def dump_schema(pg, dbname):
    pg_dump = os.path.join(pg.bindir, "pg_dump")
    r = subprocess.run([pg_dump, "--schema-only", "-d", dbname], env=pg.client_env(),
                       capture_output=True, text=True, check=True)
    return _strip(r.stdout)


def dump_data(pg, dbname):
    pg_dump = os.path.join(pg.bindir, "pg_dump")
    r = subprocess.run([pg_dump, "--data-only", "-n", "postern", "-d", dbname],
                       env=pg.client_env(), capture_output=True, text=True, check=True)
    return _strip(r.stdout)


def test_install_twice_changes_nothing(pg, tmp_path):
    name = f"inst_{next(_n)}"
    fresh_db(pg, name)
    r1 = install_schema(pg, name)
    assert r1.returncode == 0, r1.stderr
    schema1, data1 = dump_schema(pg, name), dump_data(pg, name)
    # second run, from another cwd (\ir must resolve relative to install.sql)
    r2 = pg.psql(["-v", "ON_ERROR_STOP=1", "-d", name, "-f", INSTALL_SQL], cwd=str(tmp_path))
    assert r2.returncode == 0, r2.stderr
    assert r2.stderr == ""
    assert dump_schema(pg, name) == schema1
    assert dump_data(pg, name) == data1
    with pg.connect(name) as c, c.cursor() as cur:
        cur.execute("SELECT version FROM postern.schema_version ORDER BY 1")
        assert cur.fetchall() == [(1,), (2,), (3,), (4,), (5,), (6,), (7,), (8,), (9,), (10,), (11,), (12,)]
    c.close()


def test_install_with_pgcrypto_in_other_schema(pg):
    name = f"inst_{next(_n)}"
    fresh_db(pg, name)
    r = pg.psql(["-v", "ON_ERROR_STOP=1", "-d", name, "-c",
                 "CREATE SCHEMA ext; CREATE EXTENSION pgcrypto SCHEMA ext"])
    assert r.returncode == 0, r.stderr
    r = install_schema(pg, name)
    assert r.returncode == 0, r.stderr
    c = pg.connect(name)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT postern.create_user('x@example.org', 'a fine long passphrase')")
            cur.execute("SELECT password_hash FROM postern.users")
            h = cur.fetchone()[0]
            assert h.startswith(("$2a$12$", "$2b$12$"))
            cur.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname='pgcrypto'")
            assert cur.fetchone()[0] == "ext"
    finally:
        c.close()


def test_schema_version_and_roles(db):
    assert db.query("SELECT version FROM postern.schema_version") == [(1,), (2,), (3,), (4,), (5,), (6,), (7,), (8,), (9,), (10,), (11,), (12,)]
    rows = db.query("""SELECT rolname, rolcanlogin FROM pg_roles
                        WHERE rolname LIKE 'postern\\_%' ORDER BY 1""")
    assert rows == [("postern_admin", False), ("postern_authorizer", False),
                    ("postern_responder", False)]


def test_functions_security_definer_fixed_search_path(db):
    rows = db.query("""SELECT p.oid::regprocedure::text, p.prosecdef, p.proconfig
                         FROM pg_proc p WHERE p.pronamespace = 'postern'::regnamespace""")
    assert len(rows) > 30
    for name, secdef, config in rows:
        assert secdef, name
        assert config == ["search_path=pg_catalog, pg_temp"], name


def test_public_has_no_execute(db):
    rows = db.query("""SELECT p.oid::regprocedure::text FROM pg_proc p
                        WHERE p.pronamespace = 'postern'::regnamespace
                          AND (p.proacl IS NULL OR EXISTS (
                               SELECT 1 FROM aclexplode(p.proacl) a
                                WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))""")
    assert rows == []
    # no table privileges for PUBLIC either
    rows = db.query("""SELECT table_name FROM information_schema.role_table_grants
                        WHERE table_schema = 'postern' AND grantee = 'PUBLIC'""")
    assert rows == []


def _login_role(db, group):
    name = f"login_{group}_{db.name}"
    db.query(f'CREATE ROLE "{name}" LOGIN IN ROLE {group}')
    return name


def test_authorizer_cannot_read_tables(db):
    role = _login_role(db, "postern_authorizer")
    c = db.connect(user=role)
    cur = c.cursor()
    for table in ("users", "sessions", "api_keys", "shared_links", "rules", "settings",
                  "audit_log", "single_use_tokens"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(f"SELECT 1 FROM postern.{table}")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("SELECT postern.create_user('a@example.org', NULL)")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("SELECT postern._new_token('pst_s_')")
    # but it can call its functions
    cur.execute("SELECT * FROM postern.auth_session(%s)", (b"\0" * 32,))
    assert cur.fetchall() == []
    cur.execute("SELECT count(*) FROM postern.load_rules()")
    assert cur.fetchone()[0] == 12
    cur.execute("SELECT value FROM postern.load_settings() WHERE key = 'bcrypt_cost'")
    assert cur.fetchone()[0] == "12"


def test_responder_has_no_table_privileges(db):
    role = _login_role(db, "postern_responder")
    cur = db.connect(user=role).cursor()
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("SELECT 1 FROM postern.users")


def test_admin_privileges(db):
    role = _login_role(db, "postern_admin")
    cur = db.connect(user=role).cursor()
    cur.execute("SELECT count(*) FROM postern.settings")
    cur.execute("SELECT count(*) FROM postern.active_sessions")
    cur.execute("SELECT count(*) FROM postern.audit")
    cur.execute("""INSERT INTO postern.rules (priority, path_pattern, access)
                   VALUES (5, '/x/**', 'deny') RETURNING id""")
    rid = cur.fetchone()[0]
    cur.execute("UPDATE postern.rules SET enabled = false WHERE id = %s", (rid,))
    cur.execute("DELETE FROM postern.rules WHERE id = %s", (rid,))
    cur.execute("SELECT postern.create_user('dba-made@example.org', NULL)")
    cur.execute("SELECT actor FROM postern.audit WHERE event = 'user.create'")
    assert cur.fetchone()[0] == role
    for sql in ("INSERT INTO postern.users (email) VALUES ('z@example.org')",
                "UPDATE postern.settings SET value = 'on' WHERE key = 'maintenance'",
                "DELETE FROM postern.audit_log",
                "SELECT postern.auth_session('\\x00'::bytea)"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(sql)
    # rule changes are audited with the DBA's name
    ev = db.query("SELECT event, actor FROM postern.audit_log WHERE event LIKE 'rule.%' ORDER BY id")
    assert ev == [("rule.insert", role), ("rule.update", role), ("rule.delete", role)]


def test_seeded_rules_and_settings(db):
    rules = db.query("SELECT priority, methods, path_pattern, access FROM postern.load_rules()")
    assert rules[0] == (10, ["GET", "HEAD"], "/auth/login", "public")
    assert rules[-1] == (100000, None, "/**", "authenticated")
    assert ("/auth/admin/**", "admin") in [(r[2], r[3]) for r in rules]
    s = dict(db.query("SELECT key, value FROM postern.load_settings()"))
    assert s["require_mfa"] == "off" and s["password_login"] == "on"
    assert s["session_limit"] == "5" and s["bcrypt_cost"] == "12" and s["unmatched"] == "deny"
    assert db.query("SELECT permission FROM postern.role_permissions WHERE role = 'admin'") == [("all",)]
    assert db.value("SELECT count(*) FROM postern.audit_log") == 0
