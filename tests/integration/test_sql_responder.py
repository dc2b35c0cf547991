"""Functions the responder calls (migration 002), run as a login role that is a member of
postern_responder, the way the program connects: login_begin/login_failed, sessions,
password change, the owner's API keys, get_user, and what the role may not do."""
import base64
import hashlib
import os
import select
import threading
import time

import psycopg2
import pytest

from conftest import Queries

PW = "a fine long passphrase"
ROLE = "t_sqlresp_002"                      # cluster-wide: created once, only if missing
HASH = "$2b$12$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"   # 53 chars after the cost


def new_token(prefix):
    return prefix + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def sha(token):
    return hashlib.sha256(token.encode()).digest()


class Resp(Queries):
    """Queries over a connection of the responder's login role."""

    def __init__(self, conn):
        self.conn = conn


def ensure_role(pg):
    c = pg.connect()
    try:
        with c.cursor() as cur:
            cur.execute(f"""DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                    CREATE ROLE {ROLE} LOGIN IN ROLE postern_responder;
                END IF; END $$""")
            cur.execute(f"""SELECT pg_has_role('{ROLE}', 'postern_responder', 'MEMBER')""")
            if not cur.fetchone()[0]:
                cur.execute(f"GRANT postern_responder TO {ROLE}")
    finally:
        c.close()


@pytest.fixture(scope="module")
def resp_role(pg, pg_template):
    ensure_role(pg)
    return ROLE


@pytest.fixture
def resp(db, resp_role):
    return Resp(db.connect(user=resp_role))


def counts(db):
    return db.one("""SELECT (SELECT count(*) FROM postern.users), (SELECT count(*) FROM postern.sessions),
                            (SELECT count(*) FROM postern.sessions WHERE revoked_at IS NOT NULL),
                            (SELECT count(*) FROM postern.api_keys),
                            (SELECT count(*) FROM postern.api_keys WHERE revoked_at IS NOT NULL),
                            (SELECT count(*) FROM postern.audit_log),
                            (SELECT count(*) FROM postern.login_attempts),
                            (SELECT count(*) FROM postern.ip_attempts),
                            (SELECT string_agg(password_hash, ',' ORDER BY id) FROM postern.users)""")


def check_error(db, resp, sql, args, sqlstate, message):
    before = counts(db)
    e = resp.error(sql, args)
    assert (e.pgcode, e.diag.message_primary) == (sqlstate, message)
    assert counts(db) == before, "partial rows or audit rows left behind"
    return e


def audit(db, event):
    return db.query("SELECT user_id, email, session_id, host(ip), detail FROM postern.audit_log "
                    "WHERE event = %s ORDER BY id", (event,))


def setting(db, key, value):
    db.query("SELECT postern.set_setting(%s, %s)", (key, value))


@pytest.fixture
def editor(db):
    db.query("SELECT postern.create_role('editor', '')")
    for p in ("album.read", "album.write"):
        db.query("SELECT postern.grant_permission('editor', %s)", (p,))
    return db.value("SELECT postern.create_user('ed@example.org', NULL, 'editor', 'Ed')")


def new_session(resp, uid, ip="192.0.2.1", ua="curl/8", device=None, **kw):
    tok = new_token("pst_s_")
    sid, exp = resp.one("SELECT * FROM postern.create_session(%s, %s, %s, %s, %s, %s, %s)",
                        (uid, sha(tok), kw.get("auth_method", "password"), kw.get("mfa", False),
                         ua, ip, device))
    return tok, sid


def live(db, uid):
    return db.value("SELECT count(*) FROM postern.active_sessions WHERE user_id = %s", (uid,))


# -- login_begin ---------------------------------------------------------------------------------
def test_login_begin_real_unknown_malformed_same_shape(db, resp):
    uid = db.value("SELECT postern.create_user('Alice@Example.org', %s)", (PW,))
    h = db.value("SELECT password_hash FROM postern.users")
    long_email = "a" * 242 + "@example.org"               # 254 characters, the maximum
    long_uid = db.value("SELECT postern.create_user(%s, NULL)", (long_email,))
    db.query("INSERT INTO postern.mfa_totp (user_id, secret_enc, enabled) VALUES (%s, '\\x00', true)", (uid,))
    before = counts(db)
    q = "SELECT * FROM postern.login_begin(%s, %s)"
    assert resp.query(q, ("  ALICE@example.org ", "192.0.2.1")) == [(uid, h, False, True, False, 0)]
    assert resp.query(q, (long_email.upper(), None)) == [(long_uid, None, False, False, False, 0)]
    nothing = [(None, None, None, None, None, 0)]
    for email in ("bob@example.org", "not an email", "", None, "@", "a@b@c", long_email + "x",
                  "alice@example.org" + "\n" + "x"):
        assert resp.query(q, (email, "192.0.2.1")) == nothing, email
    with resp.conn.cursor() as cur:
        cur.execute(q, ("nobody", None))
        assert [d.name for d in cur.description] == [
            "user_id", "password_hash", "disabled", "mfa_enabled", "must_change_password", "retry_after"]
    db.query("SELECT postern.disable_user('alice@example.org')")
    db.query("UPDATE postern.users SET must_change_password = true WHERE id = %s", (uid,))
    assert resp.query(q, ("alice@example.org", None)) == [(uid, h, True, True, True, 0)]
    # only reads
    assert counts(db)[6:8] == before[6:8]
    assert db.value("SELECT provolatile FROM pg_proc WHERE oid = 'postern.login_begin(text, inet)'::regprocedure") == "s"


# -- login_failed: account lockout, window, IP throttle --------------------------------------------
def test_lockout_after_exactly_threshold(db, resp):
    uid = db.value("SELECT postern.create_user('lock@example.org', NULL)")
    setting(db, "lockout_threshold", "3")
    f = "SELECT postern.login_failed(%s, %s)"
    b = "SELECT retry_after FROM postern.login_begin(%s, %s)"
    assert resp.value(f, ("Lock@Example.org", "192.0.2.7")) == 0
    assert resp.value(f, ("lock@example.org", "192.0.2.7")) == 0
    assert resp.value(b, ("lock@example.org", "192.0.2.8")) == 0
    assert audit(db, "account.lockout") == []
    r = resp.value(f, ("lock@example.org", "192.0.2.7"))
    assert 899 <= r <= 900
    assert 899 <= resp.value(b, ("LOCK@example.org", "192.0.2.8")) <= 900
    assert db.one("""SELECT failures, locked_until - now() FROM postern.login_attempts
                      WHERE email = 'lock@example.org'""")[0] == 3
    (a,) = audit(db, "account.lockout")
    assert a[:4] == (uid, "lock@example.org", None, "192.0.2.7") and a[4]["failures"] == 3
    # while locked: still counted, the lock is neither extended nor audited again
    lu = db.value("SELECT locked_until FROM postern.login_attempts")
    assert 899 <= resp.value(f, ("lock@example.org", "192.0.2.7")) <= 900
    assert db.one("SELECT failures, locked_until FROM postern.login_attempts") == (4, lu)
    assert len(audit(db, "account.lockout")) == 1
    fails = audit(db, "login.failure")
    assert [(x[0], x[1], x[3]) for x in fails] == [(uid, "lock@example.org", "192.0.2.7")] * 4
    assert [x[4]["failures"] for x in fails] == [1, 2, 3, 4]
    # unknown emails are locked out alike
    for _ in range(3):
        resp.value(f, ("ghost@example.org", None))
    assert 899 <= resp.value(b, ("ghost@example.org", None)) <= 900
    assert audit(db, "account.lockout")[-1][:2] == (None, "ghost@example.org")
    # the DBA unlocks
    db.query("SELECT postern.unlock_account('lock@example.org')")
    assert resp.value(b, ("lock@example.org", None)) == 0


def test_lockout_window_restart_and_lock_expiry(db, resp):
    setting(db, "lockout_threshold", "3")
    f = "SELECT postern.login_failed('w@example.org', NULL)"
    resp.value(f)
    resp.value(f)
    db.query("UPDATE postern.login_attempts SET window_start = now() - interval '901 seconds'")
    assert resp.value(f) == 0                                  # window over: restart at 1
    assert db.one("SELECT failures, locked_until FROM postern.login_attempts") == (1, None)
    resp.value(f)
    assert resp.value(f) > 0                                   # 3 within the new window
    # the lock ended and the window is over: answers 0, the next failure starts again at 1
    db.query("""UPDATE postern.login_attempts SET window_start = now() - interval '2000 seconds',
                       locked_until = now() - interval '1 second'""")
    assert resp.value("SELECT retry_after FROM postern.login_begin('w@example.org', NULL)") == 0
    assert resp.value(f) == 0
    assert db.one("SELECT failures, locked_until FROM postern.login_attempts") == (1, None)
    # a lock still in force survives a window restart
    db.query("""UPDATE postern.login_attempts SET window_start = now() - interval '2000 seconds',
                       locked_until = now() + interval '100 seconds'""")
    assert 99 <= resp.value(f) <= 100
    assert db.value("SELECT failures FROM postern.login_attempts") == 1


def test_ip_throttle(db, resp):
    setting(db, "ip_throttle_threshold", "3")
    setting(db, "ip_throttle_window", "600")
    f = "SELECT postern.login_failed(%s, %s)"
    assert resp.value(f, ("a@example.org", "198.51.100.5")) == 0
    assert resp.value(f, ("b@example.org", "198.51.100.5")) == 0
    assert 599 <= resp.value(f, ("c@example.org", "198.51.100.5")) <= 600
    b = "SELECT retry_after FROM postern.login_begin(%s, %s)"
    assert 599 <= resp.value(b, ("anyone@example.org", "198.51.100.5")) <= 600
    assert resp.value(b, ("anyone@example.org", "198.51.100.6")) == 0
    assert resp.value(b, ("anyone@example.org", None)) == 0
    assert db.value("SELECT failures FROM postern.ip_attempts WHERE ip = '198.51.100.5'") == 3
    (a,) = audit(db, "ip.throttle")
    assert a[:4] == (None, None, None, "198.51.100.5") and a[4]["failures"] == 3
    # IPv6 too; NULL ip counts only the email
    resp.value(f, ("a@example.org", "2001:db8::1"))
    resp.value(f, ("a@example.org", None))
    assert db.query("SELECT host(ip), failures FROM postern.ip_attempts ORDER BY 1") == [
        ("198.51.100.5", 3), ("2001:db8::1", 1)]
    assert db.value("SELECT failures FROM postern.login_attempts WHERE email = 'a@example.org'") == 3
    # window restart for the IP; the DBA unlocks it
    db.query("""UPDATE postern.ip_attempts SET window_start = now() - interval '601 seconds',
                       locked_until = NULL WHERE ip = '198.51.100.5'""")
    assert resp.value(f, ("d@example.org", "198.51.100.5")) == 0
    assert db.value("SELECT failures FROM postern.ip_attempts WHERE ip = '198.51.100.5'") == 1
    assert db.value("SELECT postern.unlock_ip('198.51.100.5')") is True


def test_malformed_emails_counted(db, resp):
    setting(db, "lockout_threshold", "2")
    f = "SELECT postern.login_failed(%s, NULL)"
    resp.value(f, ("  NOT An Email  ",))
    long = "X" * 300
    resp.value(f, (long,))
    assert db.query("SELECT email, failures FROM postern.login_attempts ORDER BY 1") == [
        ("not an email", 1), ("x" * 254, 1)]
    assert resp.value(f, ("not an email",)) > 0
    assert resp.value("SELECT retry_after FROM postern.login_begin('Not An Email', NULL)") > 0
    assert resp.value("SELECT retry_after FROM postern.login_begin(%s, NULL)", ("x" * 299,)) == 0
    # NULL / blank email: only the IP is counted
    resp.value("SELECT postern.login_failed(NULL, '192.0.2.99')")
    resp.value("SELECT postern.login_failed('  ', '192.0.2.99')")
    assert db.value("SELECT count(*) FROM postern.login_attempts") == 2
    assert db.value("SELECT failures FROM postern.ip_attempts") == 2


def _parallel(n, fn):
    barrier = threading.Barrier(n)
    errors, results = [], [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    return results


def test_login_failed_parallel_exact(db, resp_role):
    db.query("SELECT postern.create_user('par@example.org', NULL)")
    setting(db, "lockout_threshold", "1000")
    setting(db, "ip_throttle_threshold", "10")
    conns = [db.connect(user=resp_role) for _ in range(50)]

    def fail(i):
        with conns[i].cursor() as cur:
            cur.execute("SELECT postern.login_failed('PAR@example.org', '203.0.113.1')")
            return cur.fetchone()[0]

    _parallel(50, fail)
    assert db.value("SELECT failures FROM postern.login_attempts WHERE email = 'par@example.org'") == 50
    assert db.value("SELECT locked_until FROM postern.login_attempts") is None
    assert db.value("SELECT failures FROM postern.ip_attempts WHERE ip = '203.0.113.1'") == 50
    assert len(audit(db, "login.failure")) == 50
    assert len(audit(db, "ip.throttle")) == 1              # exactly one throttle, at failure 10
    # and with a lock reached in the middle: still exact, exactly one lockout
    setting(db, "lockout_threshold", "10")

    def fail2(i):
        with conns[i].cursor() as cur:
            cur.execute("SELECT postern.login_failed('par2@example.org', NULL)")
            return cur.fetchone()[0]

    results = _parallel(50, fail2)
    assert db.one("""SELECT failures, locked_until > now() FROM postern.login_attempts
                      WHERE email = 'par2@example.org'""") == (50, True)
    assert len(audit(db, "account.lockout")) == 1
    assert sorted(r > 0 for r in results) == [False] * 9 + [True] * 41


# -- sessions ------------------------------------------------------------------------------------
def test_create_session(db, resp, editor):
    resp.value("SELECT postern.login_failed('ed@example.org', '192.0.2.1')")
    resp.value("SELECT postern.login_failed('ed@example.org', '192.0.2.1')")
    tok = new_token("pst_s_")
    ua = "Mozilla/5.0 " + "x" * 600
    sid, exp = resp.one("""SELECT * FROM postern.create_session(%s, %s, 'oidc', true, %s, '192.0.2.1',
                            %s, 'https://idp.example', 'sid-1', 'eyJ.id.token')""",
                        (editor, sha(tok), ua, "d" * 513))
    row = db.one("""SELECT user_id, encode(token_hash, 'hex'), auth_method, mfa, user_agent, host(ip), device, oidc_issuer,
                           oidc_sid, oidc_id_token, revoked_at, expires_at, expires_at - created_at,
                           last_seen_at = created_at
                      FROM postern.sessions WHERE id = %s""", (sid,))
    assert row[:11] == (editor, sha(tok).hex(), "oidc", True, ua[:512], "192.0.2.1", "d" * 512,
                        "https://idp.example", "sid-1", "eyJ.id.token", None)
    assert row[11] == exp and row[12].total_seconds() == 2592000 and row[13] is True
    # the authorizer's lookup (also granted to the responder) finds it
    a = resp.one("SELECT session_id, user_id, email, permissions, session_mfa FROM postern.auth_session(%s)",
                 (sha(tok),))
    assert a == (sid, editor, "ed@example.org", ["album.read", "album.write"], True)
    assert resp.one("SELECT session_id FROM postern.auth_session_id(%s)", (sid,)) == (sid,)
    # a success clears the account's counter, not the IP's
    assert db.query("SELECT email FROM postern.login_attempts") == []
    assert db.value("SELECT failures FROM postern.ip_attempts") == 2
    assert audit(db, "login.success") == [
        (editor, "ed@example.org", sid, "192.0.2.1", {"auth_method": "oidc", "mfa": True, "user_agent": ua[:512]})]
    # defaults: no OIDC columns; session_lifetime applies
    setting(db, "session_lifetime", "3600")
    _, sid2 = new_session(resp, editor, ip=None, ua=None)
    assert db.one("""SELECT auth_method, mfa, ip, user_agent, oidc_sid, expires_at - created_at
                       FROM postern.sessions WHERE id = %s""", (sid2,))[:5] == ("password", False, None, None, None)
    assert db.value("SELECT extract(epoch FROM expires_at - created_at)::int FROM postern.sessions WHERE id = %s",
                    (sid2,)) == 3600


def test_create_session_errors(db, resp, editor):
    q = "SELECT * FROM postern.create_session(%s, %s, %s, false, NULL, NULL, NULL)"
    ghost = "00000000-0000-0000-0000-000000000001"
    check_error(db, resp, q, (ghost, sha("t1"), "password"), "P0002", f"postern: unknown user {ghost}")
    check_error(db, resp, q, (editor, b"\x01" * 31, "password"), "22023", "postern: token hash must be 32 bytes")
    check_error(db, resp, q, (editor, sha("t1"), "Pass Word"), "22023", 'postern: malformed auth method "Pass Word"')
    _, sid = new_session(resp, editor)
    tok_dupe = db.value("SELECT token_hash FROM postern.sessions WHERE id = %s", (sid,))
    e = check_error(db, resp, q, (editor, bytes(tok_dupe), "password"), "23505",
                    'duplicate key value violates unique constraint "sessions_token_hash_key"')
    db.query("SELECT postern.disable_user('ed@example.org')")
    check_error(db, resp, q, (editor, sha("t2"), "password"), "55000", 'postern: user "ed@example.org" is disabled')


def test_session_limit_revokes_oldest(db, resp, editor):
    setting(db, "session_limit", "3")
    # an idle-expired and a revoked session do not count and are left alone
    _, dead = new_session(resp, editor)
    db.query("UPDATE postern.sessions SET last_seen_at = now() - interval '8 days', "
             "created_at = now() - interval '9 days' WHERE id = %s", (dead,))
    _, gone = new_session(resp, editor)
    resp.value("SELECT postern.revoke_user_session(%s, %s, NULL)", (editor, gone))
    sids = []
    for i in range(3):
        sids.append(new_session(resp, editor)[1])
        db.query("UPDATE postern.sessions SET created_at = now() - %s * interval '1 hour' WHERE id = %s",
                 (10 - i, sids[-1]))
    assert live(db, editor) == 3 and audit(db, "session.revoke")[1:] == []
    _, s4 = new_session(resp, editor)
    assert db.query("SELECT id, revoked_reason FROM postern.sessions WHERE revoked_at IS NOT NULL ORDER BY created_at") == [
        (sids[0], "session limit"), (gone, "revoked by user")]
    assert [r[0] for r in resp.query("SELECT id FROM postern.user_sessions(%s)", (editor,))] == [s4, sids[2], sids[1]]
    assert audit(db, "session.revoke")[1:] == [
        (editor, "ed@example.org", sids[0], "192.0.2.1", {"reason": "session limit", "changed": True})]
    assert db.value("SELECT revoked_at FROM postern.sessions WHERE id = %s", (dead,)) is None
    # limit 1: only the new one; 0: unlimited
    setting(db, "session_limit", "1")
    _, s5 = new_session(resp, editor)
    assert [r[0] for r in resp.query("SELECT id FROM postern.user_sessions(%s)", (editor,))] == [s5]
    setting(db, "session_limit", "0")
    for _ in range(4):
        new_session(resp, editor)
    assert live(db, editor) == 5


def test_parallel_create_session_limit(db, resp_role, editor):
    assert db.value("SELECT value FROM postern.settings WHERE key = 'session_limit'") == "5"
    conns = [db.connect(user=resp_role) for _ in range(10)]

    def login(i):
        with conns[i].cursor() as cur:
            cur.execute("SELECT * FROM postern.create_session(%s, %s, 'password', false, 'ua', NULL, NULL)",
                        (editor, sha(new_token("pst_s_"))))
            return cur.fetchone()[0]

    sids = _parallel(10, login)
    assert len(set(sids)) == 10
    assert live(db, editor) == 5
    assert db.query("SELECT revoked_reason, count(*) FROM postern.sessions WHERE revoked_at IS NOT NULL "
                    "GROUP BY 1") == [("session limit", 5)]
    assert len(audit(db, "session.revoke")) == 5 and len(audit(db, "login.success")) == 10


def test_logout_idempotent(db, resp, editor):
    tok, sid = new_session(resp, editor)
    assert resp.value("SELECT postern.logout_session(%s)", (sha(tok),)) == sid
    assert db.one("SELECT revoked_reason FROM postern.sessions") == ("logout",)
    assert resp.query("SELECT * FROM postern.auth_session(%s)", (sha(tok),)) == []
    assert resp.value("SELECT postern.logout_session(%s)", (sha(tok),)) is None
    assert resp.value("SELECT postern.logout_session(%s)", (sha("pst_s_nothing"),)) is None
    assert resp.value("SELECT postern.logout_session(NULL)") is None
    assert audit(db, "session.logout") == [(editor, "ed@example.org", sid, None, None)]


def test_user_sessions_liveness(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL)")
    _, a = new_session(resp, editor, ip="192.0.2.10", ua="A", device="laptop", mfa=True)
    _, b = new_session(resp, editor, ip="2001:db8::2", ua="B")
    _, c = new_session(resp, editor)
    _, d = new_session(resp, editor)
    _, e = new_session(resp, editor)
    new_session(resp, other)
    db.query("UPDATE postern.sessions SET created_at = now() - interval '2 hours', "
             "last_seen_at = now() - interval '1 hour' WHERE id = %s", (a,))
    db.query("UPDATE postern.sessions SET created_at = now() - interval '1 hour' WHERE id = %s", (b,))
    db.query("UPDATE postern.sessions SET revoked_at = now() WHERE id = %s", (c,))
    db.query("UPDATE postern.sessions SET expires_at = now() - interval '1 second' WHERE id = %s", (d,))
    db.query("UPDATE postern.sessions SET last_seen_at = now() - interval '7 days 1 second' WHERE id = %s", (e,))
    rows = resp.query("SELECT * FROM postern.user_sessions(%s)", (editor,))
    exp = dict(db.query("SELECT id, least(expires_at, last_seen_at + interval '7 days') FROM postern.sessions"))
    cr = dict(db.query("SELECT id, created_at FROM postern.sessions"))
    ls = dict(db.query("SELECT id, last_seen_at FROM postern.sessions"))
    assert rows == [
        (b, cr[b], ls[b], exp[b], "password", False, "B", "2001:db8::2", None),
        (a, cr[a], ls[a], exp[a], "password", True, "A", "192.0.2.10", "laptop")]
    assert exp[a] < db.value("SELECT expires_at FROM postern.sessions WHERE id = %s", (a,))  # idle deadline
    db.query("SELECT postern.disable_user('ed@example.org')")
    assert resp.query("SELECT * FROM postern.user_sessions(%s)", (editor,)) == []


def test_revoke_user_session(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL)")
    _, mine = new_session(resp, editor)
    _, theirs = new_session(resp, other)
    q = "SELECT postern.revoke_user_session(%s, %s, %s)"
    before = counts(db)
    assert resp.value(q, (editor, theirs, "stolen")) is False
    assert counts(db) == before
    assert resp.value(q, (editor, mine, "  lost my phone  ")) is True
    assert resp.value(q, (editor, mine, "again")) is False
    assert db.query("SELECT id, revoked_reason FROM postern.sessions WHERE revoked_at IS NOT NULL") == [
        (mine, "lost my phone")]
    assert audit(db, "session.revoke") == [
        (editor, "ed@example.org", mine, None, {"reason": "lost my phone", "changed": True})]


def test_revoke_other_sessions(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL)")
    _, keep = new_session(resp, editor)
    for _ in range(3):
        new_session(resp, editor)
    _, theirs = new_session(resp, other)
    q = "SELECT postern.revoke_other_sessions(%s, %s, %s)"
    assert resp.value(q, (editor, keep, None)) == 3
    assert [r[0] for r in resp.query("SELECT id FROM postern.user_sessions(%s)", (editor,))] == [keep]
    assert resp.value(q, (editor, keep, None)) == 0
    assert resp.value(q, (editor, None, "sign out everywhere")) == 1
    assert live(db, editor) == 0 and live(db, other) == 1
    assert [r[4] for r in audit(db, "session.revoke_all")] == [
        {"count": 3, "reason": "revoked by user", "kept": str(keep)},
        {"count": 0, "reason": "revoked by user", "kept": str(keep)},
        {"count": 1, "reason": "sign out everywhere", "kept": None}]
    ghost = "00000000-0000-0000-0000-000000000002"
    check_error(db, resp, q, (ghost, None, None), "P0002", f"postern: unknown user {ghost}")


# -- passwords -----------------------------------------------------------------------------------
@pytest.mark.parametrize("password,common", [
    ("password1234", True), ("PassWord1234", True), ("correcthorsebatterystaple", True),
    ("a fine long passphrase", False), ("password123", False)])
def test_password_is_common(resp, password, common):
    h = hashlib.sha256(password.lower().encode()).digest()
    assert resp.value("SELECT postern.password_is_common(%s)", (h,)) is common


def test_password_is_common_uses_index(db):
    db.query("INSERT INTO postern.common_passwords SELECT 'pw' || g FROM generate_series(1, 20000) g")
    db.query("ANALYZE postern.common_passwords")
    h = hashlib.sha256(b"pw123").digest()
    assert db.value("SELECT postern.password_is_common(%s)", (h,)) is True
    plan = "\n".join(r[0] for r in db.query(
        "EXPLAIN SELECT 1 FROM postern.common_passwords c WHERE postern._hash_token(c.password) = %s", (h,)))
    assert "common_passwords_sha256" in plan


def test_set_user_password(db, resp, editor):
    db.query("UPDATE postern.users SET must_change_password = true")
    _, keep = new_session(resp, editor)
    _, s2 = new_session(resp, editor)
    _, s3 = new_session(resp, editor)
    listener = db.connect()
    listener.cursor().execute("LISTEN postern")
    assert resp.value("SELECT postern.set_user_password(%s, %s, %s)", (editor, HASH, keep)) == 2
    assert db.one("""SELECT password_hash, must_change_password, now() - password_changed_at < interval '1 minute'
                       FROM postern.users""") == (HASH, False, True)
    assert [r[0] for r in resp.query("SELECT id FROM postern.user_sessions(%s)", (editor,))] == [keep]
    assert db.query("SELECT revoked_reason FROM postern.sessions WHERE revoked_at IS NOT NULL") == [
        ("password changed",)] * 2
    assert audit(db, "user.set_password") == [
        (editor, "ed@example.org", None, None,
         {"password": True, "must_change": False, "sessions_revoked": 2, "kept_session": str(keep)})]
    deadline = time.time() + 5
    payloads = set()
    while time.time() < deadline and f"user:{editor}" not in payloads:
        select.select([listener], [], [], 0.5)
        listener.poll()
        payloads |= {n.payload for n in listener.notifies}
    assert f"user:{editor}" in payloads
    # NULL keep: every session
    assert resp.value("SELECT postern.set_user_password(%s, %s, NULL)", (editor, HASH.replace("12", "13", 1))) == 1
    assert live(db, editor) == 0


@pytest.mark.parametrize("bad", [
    None, "", "plaintext password", "$2b$10$" + "a" * 53, "$2y$12$" + "a" * 53, "$2b$12$" + "a" * 52,
    "$2b$12$" + "a" * 54, "$2b$12$" + "a" * 52 + "!", "$2b$16$" + "a" * 53, "$2b$12$" + "a" * 53 + "\n"])
def test_set_user_password_refuses_malformed_hash(db, resp, editor, bad):
    new_session(resp, editor)
    check_error(db, resp, "SELECT postern.set_user_password(%s, %s, NULL)", (editor, bad),
                "22023", "postern: malformed password hash")
    assert live(db, editor) == 1


def test_set_user_password_unknown_user(db, resp):
    ghost = "00000000-0000-0000-0000-000000000003"
    check_error(db, resp, "SELECT postern.set_user_password(%s, %s, NULL)", (ghost, HASH),
                "P0002", f"postern: unknown user {ghost}")


# -- API keys ------------------------------------------------------------------------------------
def mk_key(resp, uid, name="k", perms=("album.read",), expires=None, ceiling=None):
    tok = new_token("pst_k_")
    kid = resp.value("SELECT postern.create_user_api_key(%s, %s, %s::text[], %s, %s, %s, %s::text[])",
                     (uid, name, list(perms), expires, sha(tok), tok[:12],
                      list(ceiling) if ceiling is not None else None))
    return tok, kid


CREATE = "SELECT postern.create_user_api_key(%s, %s, %s::text[], %s::timestamptz, %s, %s, %s::text[])"


def test_create_user_api_key(db, resp, editor):
    tok, kid = mk_key(resp, editor, " backup ", ["album.write", "album.read", "album.read"], "2999-01-01T00:00:00Z")
    row = db.one("""SELECT user_id, name, encode(token_hash, 'hex'), prefix, permissions, expires_at::text, revoked_at, last_used_at
                      FROM postern.api_keys WHERE id = %s""", (kid,))
    assert row == (editor, "backup", sha(tok).hex(), tok[:12], ["album.read", "album.write"],
                   "2999-01-01 00:00:00+00", None, None)
    assert resp.one("SELECT key_id, user_id, permissions FROM postern.auth_api_key(%s)", (sha(tok),)) == (
        kid, editor, ["album.read", "album.write"])
    (a,) = audit(db, "api_key.create")
    assert a[:2] == (editor, "ed@example.org")
    assert a[4] == {"key_id": str(kid), "name": "backup", "prefix": tok[:12],
                    "permissions": ["album.read", "album.write"], "expires_at": "2999-01-01T00:00:00+00:00"}
    assert tok not in str(a)


def test_create_user_api_key_errors(db, resp, editor):
    ghost = "00000000-0000-0000-0000-000000000004"
    t = new_token("pst_k_")
    ok = (editor, "n", ["album.read"], None, sha(t), t[:12], None)

    def args(**kw):
        a = list(ok)
        for i, k in enumerate(("uid", "name", "perms", "exp", "hash", "prefix", "ceiling")):
            if k in kw:
                a[i] = kw[k]
        return tuple(a)

    check_error(db, resp, CREATE, args(uid=ghost), "P0002", f"postern: unknown user {ghost}")
    check_error(db, resp, CREATE, args(name=" "), "22023", "postern: an API key needs a name (1..200 characters)")
    check_error(db, resp, CREATE, args(name="x" * 201), "22023", "postern: an API key needs a name (1..200 characters)")
    check_error(db, resp, CREATE, args(perms=[]), "22023", "postern: permission list is empty")
    check_error(db, resp, CREATE, args(perms=["Album"]), "22023", 'postern: malformed permission "Album"')
    check_error(db, resp, CREATE, args(exp="2001-01-01T00:00:00Z"), "22023",
                "postern: expiry 2001-01-01 00:00:00+00 is in the past")
    check_error(db, resp, CREATE, args(hash=b"\x00" * 16), "22023", "postern: token hash must be 32 bytes")
    check_error(db, resp, CREATE, args(prefix="pst_s_abcdef"), "22023", 'postern: malformed API key prefix "pst_s_abcdef"')
    check_error(db, resp, CREATE, args(prefix=t), "22023", f'postern: malformed API key prefix "{t}"')
    db.query("SELECT postern.disable_user('ed@example.org')")
    check_error(db, resp, CREATE, args(), "55000", 'postern: user "ed@example.org" is disabled')


def test_api_key_role_ceiling(db, resp, editor):
    t = new_token("pst_k_")
    for perms in (["album.delete"], ["album.read", "album.delete"], ["all"]):
        p = "all" if perms == ["all"] else "album.delete"
        check_error(db, resp, CREATE, (editor, "n", perms, None, sha(t), t[:12], None), "42501",
                    f'postern: permission "{p}" exceeds what user "ed@example.org" (role "editor") has')
    # an all-role owner may give anything, also all
    root = db.value("SELECT postern.create_user('root@example.org', NULL, 'admin')")
    mk_key(resp, root, perms=["all"])
    mk_key(resp, root, perms=["anything.goes"])


def test_api_key_request_ceiling(db, resp, editor):
    root = db.value("SELECT postern.create_user('root@example.org', NULL, 'admin')")
    msg = 'postern: permission "{}" exceeds the API key making the request'
    t = new_token("pst_k_")
    # within the role but beyond the requesting key
    check_error(db, resp, CREATE, (editor, "n", ["album.read", "album.write"], None, sha(t), t[:12], ["album.read"]),
                "42501", msg.format("album.write"))
    check_error(db, resp, CREATE, (editor, "n", ["album.read"], None, sha(t), t[:12], []),
                "42501", msg.format("album.read"))
    check_error(db, resp, CREATE, (root, "n", ["all"], None, sha(t), t[:12], ["album.read", "album.write"]),
                "42501", msg.format("all"))
    # within both
    mk_key(resp, editor, perms=["album.read"], ceiling=["album.read"])
    mk_key(resp, editor, perms=["album.read", "album.write"], ceiling=["album.read", "album.write", "x.y"])
    mk_key(resp, root, perms=["all"], ceiling=["all"])
    mk_key(resp, root, perms=["x.y"], ceiling=["all"])
    # the ceiling never widens the role
    check_error(db, resp, CREATE, (editor, "n", ["album.delete"], None, sha(t), t[:12], ["all"]),
                "42501", 'postern: permission "album.delete" exceeds what user "ed@example.org" (role "editor") has')


def test_api_key_limit(db, resp, editor):
    setting(db, "api_key_limit", "2")
    _, k1 = mk_key(resp, editor)
    _, k2 = mk_key(resp, editor)
    t = new_token("pst_k_")
    check_error(db, resp, CREATE, (editor, "n", ["album.read"], None, sha(t), t[:12], None), "54000",
                'postern: user "ed@example.org" already has 2 live API keys (limit 2)')
    assert resp.value("SELECT postern.revoke_user_api_key(%s, %s)", (editor, k1)) is True
    _, k3 = mk_key(resp, editor)
    db.query("UPDATE postern.api_keys SET expires_at = now() - interval '1 second' WHERE id = %s", (k2,))
    mk_key(resp, editor)                                        # expired keys do not count
    # per user
    other = db.value("SELECT postern.create_user('other@example.org', NULL, 'editor')")
    mk_key(resp, other)
    mk_key(resp, other)
    setting(db, "api_key_limit", "0")
    for _ in range(3):
        mk_key(resp, editor)
    # DBA functions ignore it
    setting(db, "api_key_limit", "1")
    db.query("SELECT postern.create_api_key('ed@example.org', 'dba', ARRAY['album.read'])")


def test_user_api_keys(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL, 'editor')")
    t1, k1 = mk_key(resp, editor, "one", ["album.read"], "2999-01-01T00:00:00Z")
    t2, k2 = mk_key(resp, editor, "two", ["album.write"])
    _, k3 = mk_key(resp, editor, "three")
    mk_key(resp, other, "theirs")
    db.query("UPDATE postern.api_keys SET created_at = now() - interval '2 hours', "
             "last_used_at = now() - interval '1 hour' WHERE id = %s", (k1,))
    db.query("UPDATE postern.api_keys SET created_at = now() - interval '1 hour', "
             "expires_at = now() - interval '1 minute' WHERE id = %s", (k2,))
    resp.value("SELECT postern.revoke_user_api_key(%s, %s)", (editor, k3))
    k = dict((r[0], r[1:]) for r in db.query(
        "SELECT id, created_at, expires_at, last_used_at FROM postern.api_keys"))
    assert resp.query("SELECT * FROM postern.user_api_keys(%s)", (editor,)) == [
        (k2, "two", t2[:12], ["album.write"], k[k2][0], k[k2][1], None),
        (k1, "one", t1[:12], ["album.read"], k[k1][0], k[k1][1], k[k1][2])]


def test_update_user_api_key(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL, 'editor')")
    _, kid = mk_key(resp, editor, "old", ["album.read"], "2999-01-01T00:00:00Z")
    _, theirs = mk_key(resp, other, "theirs")
    q = "SELECT postern.update_user_api_key(%s, %s, %s, %s::text[], %s::timestamptz, %s::text[])"
    row = "SELECT name, permissions, expires_at::text FROM postern.api_keys WHERE id = %s"
    assert resp.value(q, (editor, kid, " new ", None, None, None)) is True
    assert db.one(row, (kid,)) == ("new", ["album.read"], "2999-01-01 00:00:00+00")
    assert resp.value(q, (editor, kid, None, ["album.write", "album.read"], "2998-01-01T00:00:00Z", None)) is True
    assert db.one(row, (kid,)) == ("new", ["album.read", "album.write"], "2998-01-01 00:00:00+00")
    (a1, a2) = audit(db, "api_key.update")
    assert a1[4] == {"key_id": str(kid), "name": "new", "permissions": ["album.read"],
                     "expires_at": "2999-01-01T00:00:00+00:00",
                     "old": {"name": "old", "permissions": ["album.read"], "expires_at": "2999-01-01T00:00:00+00:00"}}
    assert a2[4]["permissions"] == ["album.read", "album.write"]
    # someone else's, unknown, revoked or expired key: false, nothing changes
    before = counts(db)
    assert resp.value(q, (editor, theirs, "mine now", None, None, None)) is False
    assert resp.value(q, (editor, "00000000-0000-0000-0000-000000000005", "x", None, None, None)) is False
    assert db.value("SELECT name FROM postern.api_keys WHERE id = %s", (theirs,)) == "theirs"
    assert counts(db) == before
    # validation and both ceilings
    check_error(db, resp, q, (editor, kid, "", None, None, None), "22023",
                "postern: an API key needs a name (1..200 characters)")
    check_error(db, resp, q, (editor, kid, None, ["all"], None, None), "42501",
                'postern: permission "all" exceeds what user "ed@example.org" (role "editor") has')
    check_error(db, resp, q, (editor, kid, None, None, "2001-01-01T00:00:00Z", None), "22023",
                "postern: expiry 2001-01-01 00:00:00+00 is in the past")
    # a narrower key may not touch this broader key, not even its name
    check_error(db, resp, q, (editor, kid, "renamed", None, None, ["album.read"]), "42501",
                'postern: permission "album.write" exceeds the API key making the request')
    check_error(db, resp, q, (editor, kid, None, ["album.read"], None, ["album.read"]), "42501",
                'postern: permission "album.write" exceeds the API key making the request')
    assert resp.value(q, (editor, kid, "renamed", ["album.read"], None, ["album.read", "album.write"])) is True
    assert db.one(row, (kid,))[:2] == ("renamed", ["album.read"])
    check_error(db, resp, q, (editor, kid, None, ["album.write"], None, ["album.read"]), "42501",
                'postern: permission "album.write" exceeds the API key making the request')
    assert resp.value(q, (editor, kid, "again", None, None, ["album.read"])) is True
    db.query("UPDATE postern.api_keys SET expires_at = now() - interval '1 second' WHERE id = %s", (kid,))
    assert resp.value(q, (editor, kid, "late", None, None, None)) is False
    _, k2 = mk_key(resp, editor)
    resp.value("SELECT postern.revoke_user_api_key(%s, %s)", (editor, k2))
    assert resp.value(q, (editor, k2, "late", None, None, None)) is False


def test_rotate_user_api_key(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL, 'editor')")
    old, kid = mk_key(resp, editor, "ci", ["album.read", "album.write"], "2999-01-01T00:00:00Z")
    _, theirs = mk_key(resp, other, "theirs")
    db.query("UPDATE postern.api_keys SET last_used_at = now()")
    q = "SELECT postern.rotate_user_api_key(%s, %s, %s, %s, %s::text[])"
    new = new_token("pst_k_")
    before = counts(db)
    assert resp.value(q, (editor, theirs, sha(new), new[:12], None)) is False
    assert counts(db) == before
    check_error(db, resp, q, (editor, kid, sha(new), new[:12], ["album.read"]), "42501",
                'postern: permission "album.write" exceeds the API key making the request')
    check_error(db, resp, q, (editor, kid, sha(new), "nope", None), "22023", 'postern: malformed API key prefix "nope"')
    assert resp.value(q, (editor, kid, sha(new), new[:12], ["album.read", "album.write"])) is True
    assert db.one("""SELECT id, name, permissions, expires_at::text, prefix, last_used_at, encode(token_hash, 'hex')
                       FROM postern.api_keys WHERE user_id = %s""", (editor,)) == (
        kid, "ci", ["album.read", "album.write"], "2999-01-01 00:00:00+00", new[:12], None, sha(new).hex())
    assert resp.query("SELECT key_id FROM postern.auth_api_key(%s)", (sha(old),)) == []
    assert resp.query("SELECT key_id FROM postern.auth_api_key(%s)", (sha(new),)) == [(kid,)]
    assert [a[4] for a in audit(db, "api_key.rotate")] == [
        {"key_id": str(kid), "name": "ci", "old_prefix": old[:12], "prefix": new[:12]}]
    newer = new_token("pst_k_")
    assert resp.value(q, (editor, kid, sha(newer), newer[:12], ["all"])) is True


def test_revoke_user_api_key(db, resp, editor):
    other = db.value("SELECT postern.create_user('other@example.org', NULL, 'editor')")
    tok, kid = mk_key(resp, editor, "mine")
    _, theirs = mk_key(resp, other, "theirs")
    q = "SELECT postern.revoke_user_api_key(%s, %s)"
    assert resp.value(q, (editor, theirs)) is False
    assert db.value("SELECT revoked_at FROM postern.api_keys WHERE id = %s", (theirs,)) is None
    assert resp.value(q, (editor, kid)) is True
    assert resp.value(q, (editor, kid)) is False
    assert resp.query("SELECT * FROM postern.auth_api_key(%s)", (sha(tok),)) == []
    assert audit(db, "api_key.revoke") == [
        (editor, "ed@example.org", None, None, {"key_id": str(kid), "name": "mine", "changed": True})]
    # expired keys can still be revoked by their owner
    _, k2 = mk_key(resp, editor)
    db.query("UPDATE postern.api_keys SET expires_at = now() - interval '1 second' WHERE id = %s", (k2,))
    assert resp.value(q, (editor, k2)) is True


# -- get_user ------------------------------------------------------------------------------------
def test_get_user(db, resp, editor):
    created = db.value("SELECT created_at FROM postern.users WHERE id = %s", (editor,))
    assert resp.query("SELECT * FROM postern.get_user(%s)", (editor,)) == [
        (editor, "ed@example.org", "Ed", "editor", ["album.read", "album.write"], False, False, False, created)]
    db.query("INSERT INTO postern.mfa_totp (user_id, secret_enc, enabled) VALUES (%s, '\\x00', true)", (editor,))
    db.query("UPDATE postern.users SET must_change_password = true")
    db.query("SELECT postern.disable_user('ed@example.org')")
    assert resp.query("SELECT * FROM postern.get_user(%s)", (editor,)) == [
        (editor, "ed@example.org", "Ed", "editor", ["album.read", "album.write"], True, True, True, created)]
    assert resp.query("SELECT * FROM postern.get_user('00000000-0000-0000-0000-000000000006')") == []


# -- privileges ----------------------------------------------------------------------------------
def test_responder_privileges(db, resp_role, editor):
    c = db.connect(user=resp_role)
    cur = c.cursor()
    for table in ("users", "sessions", "api_keys", "shared_links", "login_attempts", "ip_attempts",
                  "settings", "audit_log", "common_passwords", "mfa_totp", "rules", "active_sessions", "audit"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(f"SELECT 1 FROM postern.{table}")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        cur.execute("UPDATE postern.users SET disabled = false")
    for sql in ("SELECT postern.create_user('a@example.org', NULL)",
                "SELECT postern.set_setting('session_limit', '0')",
                "SELECT postern.revoke_sessions('ed@example.org')",
                "SELECT postern.unlock_account('ed@example.org')",
                "SELECT postern.create_api_key('ed@example.org', 'x', ARRAY['album.read'])",
                "SELECT postern.grant_permission('editor', 'all')",
                "SELECT postern._new_token('pst_s_')",
                "SELECT postern._audit('x', NULL, NULL, NULL, NULL, NULL)",
                "SELECT postern._attempt_key('x')",
                "SELECT postern.consume_token('\\x00'::bytea, 'download', '/')",
                "SELECT postern.touch_session(NULL)",
                "SELECT * FROM postern.load_rules()"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(sql)
    # but everything the brief grants works
    cur.execute("SELECT postern.get_schema_version()")
    assert cur.fetchone()[0] == 12
    cur.execute("SELECT value FROM postern.load_settings() WHERE key = 'api_key_limit'")
    assert cur.fetchone()[0] == "10"
    cur.execute("SELECT * FROM postern.auth_api_key(%s)", (b"\0" * 32,))
    assert cur.fetchall() == []
    granted = {r[0] for r in db.query("""
        SELECT p.oid::regprocedure::text FROM pg_proc p
         WHERE p.pronamespace = 'postern'::regnamespace
           AND has_function_privilege('postern_responder', p.oid, 'EXECUTE')""")}
    assert granted == {
        "postern.login_begin(text,inet)", "postern.login_failed(text,inet)",
        "postern.create_session(uuid,bytea,text,boolean,text,inet,text,text,text,text)",
        "postern.logout_session(bytea)", "postern.user_sessions(uuid)",
        "postern.revoke_user_session(uuid,uuid,text)", "postern.revoke_other_sessions(uuid,uuid,text)",
        "postern.password_is_common(bytea)", "postern.set_user_password(uuid,text,uuid)",
        "postern.create_user_api_key(uuid,text,text[],timestamp with time zone,bytea,text,text[])",
        "postern.user_api_keys(uuid)",
        "postern.update_user_api_key(uuid,uuid,text,text[],timestamp with time zone,text[])",
        "postern.rotate_user_api_key(uuid,uuid,bytea,text,text[])", "postern.revoke_user_api_key(uuid,uuid)",
        "postern.get_user(uuid)", "postern.shared_link_unlock_info(bytea)", "postern.auth_session(bytea)", "postern.auth_session_id(uuid)",
        "postern.auth_api_key(bytea)", "postern.load_settings()", "postern.get_schema_version()",
        # migration 003
        "postern.issue_refresh_token(uuid,bytea)", "postern.rotate_refresh_token(bytea,bytea)",
        "postern.issue_single_use_token(uuid,uuid,bytea,text,text,integer)",
        # migration 004
        "postern.mfa_setup(uuid,bytea)", "postern.mfa_secret(uuid)",
        "postern.mfa_use_step(uuid,bigint,boolean,bytea[])", "postern.mfa_use_backup_code(uuid,bytea)",
        "postern.mfa_disable(uuid)", "postern.mfa_challenge_create(uuid,bytea)",
        "postern.mfa_challenge_attempt(bytea)", "postern.mfa_challenge_done(bytea)",
        # migration 005
        "postern.set_user_pin(uuid,text)", "postern.user_pin_hash(uuid)",
        "postern.set_session_elevation(uuid,boolean)",
        "postern.create_user_shared_link(uuid,text,text[],timestamp with time zone,text,bytea,text,text)",
        "postern.user_shared_links(uuid)",
        "postern.update_user_shared_link(uuid,uuid,timestamp with time zone)",
        "postern.revoke_user_shared_link(uuid,uuid)",
        # migration 006
        "postern.run_cleanup()", "postern.admin_set_setting(uuid,text,text)",
        # migration 007
        "postern.metrics()",
        # migration 008
        "postern.oidc_state_create(bytea,text,text,text,text,bytea,uuid)",
        "postern.oidc_state_consume(bytea)",
        "postern.oidc_login(text,text,text,boolean,text,boolean,text,inet)",
        "postern.oidc_link(uuid,text,text,text)", "postern.oidc_unlink(uuid,text,boolean)",
        "postern.user_identities_json(uuid)",
        "postern.oidc_backchannel_logout(text,text,text,text,timestamp with time zone)",
        "postern.session_id_token(bytea)"}
    # and the authorizer gets none of the new ones
    assert db.value("SELECT has_function_privilege('postern_authorizer', 'postern.login_failed(text,inet)', "
                    "'EXECUTE')") is False
