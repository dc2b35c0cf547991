"""The SQL side of OIDC (migration 008), called directly: the login state's single use and
expiry, the user-mapping policy of oidc_login, linking rules, back-channel logout's jti
replay protection, and the DBA's link_identity / unlink_identity as postern_admin."""
import hashlib

import psycopg2
import pytest

ISS = "https://id.example.org"


def h(s):
    return hashlib.sha256(s.encode()).digest()


def login(db, sub="sub-1", email="a@example.org", verified=True, sync=False, role=None):
    return db.value("SELECT postern.oidc_login(%s, %s, %s, %s, 'A', %s, %s, '192.0.2.1')",
                    (ISS, sub, email, verified, sync, role))


def test_state_is_single_use_and_expires(db):
    db.query("SELECT postern.oidc_state_create(%s, 'n', 'v', NULL, '/x', %s, NULL)",
             (h("state"), h("browser")))
    got = db.value("SELECT postern.oidc_state_consume(%s)", (h("state"),))
    assert got["nonce"] == "n" and got["code_verifier"] == "v" and got["return_to"] == "/x"
    assert got["browser_hash"] == h("browser").hex() and got["link_user_id"] is None
    assert db.value("SELECT postern.oidc_state_consume(%s)", (h("state"),)) is None
    db.query("SELECT postern.oidc_state_create(%s, 'n', NULL, 'c', '', NULL, NULL)", (h("old"),))
    db.query("UPDATE postern.oidc_states SET expires_at = now() - interval '1 second'")
    assert db.value("SELECT postern.oidc_state_consume(%s)", (h("old"),)) is None
    assert db.value("SELECT count(*) FROM postern.oidc_states") == 0
    # exactly one of verifier and challenge
    e = db.error("SELECT postern.oidc_state_create(%s, 'n', 'v', 'c', '', NULL, NULL)", (h("x"),))
    assert isinstance(e, psycopg2.errors.CheckViolation)


def test_login_policy(db):
    e = db.error("SELECT postern.oidc_login(%s, 'sub-1', 'a@example.org', true, 'A', false, NULL, NULL)", (ISS,))
    assert e.pgcode == "P0002"
    db.query("SELECT postern.set_setting('oidc_auto_register', 'on')")
    first = login(db)
    assert first["how"] == "created"
    assert login(db) == {"user_id": first["user_id"], "how": "known"}
    # another subject with an email that is taken: never merged silently
    e = db.error("SELECT postern.oidc_login(%s, 'sub-2', 'A@example.org', true, 'A', false, NULL, NULL)", (ISS,))
    assert e.pgcode == "23505"
    db.query("SELECT postern.set_setting('oidc_link_by_email', 'on')")
    e = db.error("SELECT postern.oidc_login(%s, 'sub-2', 'a@example.org', false, 'A', false, NULL, NULL)", (ISS,))
    assert e.pgcode == "23505"  # unverified email: still no
    assert login(db, sub="sub-2")["how"] == "linked"
    # role sync: unknown role refused, NULL = the default role
    e = db.error("SELECT postern.oidc_login(%s, 'sub-1', NULL, false, NULL, true, 'nope', NULL)", (ISS,))
    assert e.pgcode == "P0002"
    login(db, sync=True, role="admin")
    assert db.value("SELECT role FROM postern.users") == "admin"
    login(db, sync=True, role=None)
    assert db.value("SELECT role FROM postern.users") == "user"
    db.query("SELECT postern.disable_user('a@example.org')")
    e = db.error("SELECT postern.oidc_login(%s, 'sub-1', NULL, false, NULL, false, NULL, NULL)", (ISS,))
    assert e.pgcode == "55000"


def test_backchannel_jti_once(db):
    db.query("SELECT postern.set_setting('oidc_auto_register', 'on')")
    uid = login(db)["user_id"]
    db.query("""SELECT postern.create_session(%s, %s, 'oidc', false, NULL, NULL, NULL, %s, 'sid-1', 'x.y.z')""",
             (uid, h("t1"), ISS))
    db.query("""SELECT postern.create_session(%s, %s, 'oidc', false, NULL, NULL, NULL, %s, 'sid-2', 'x.y.z')""",
             (uid, h("t2"), ISS))
    assert db.value("SELECT postern.oidc_backchannel_logout(%s, 'sub-1', 'sid-1', 'j1', now() + interval '1 hour')", (ISS,)) == 1
    e = db.error("SELECT postern.oidc_backchannel_logout(%s, 'sub-1', 'sid-1', 'j1', now() + interval '1 hour')", (ISS,))
    assert e.pgcode == "23505"
    # another issuer's token names nothing of ours; an unknown subject neither
    assert db.value("SELECT postern.oidc_backchannel_logout('https://other', NULL, 'sid-2', 'j2', now())") == 0
    assert db.value("SELECT postern.oidc_backchannel_logout(%s, 'nobody', NULL, 'j3', now())", (ISS,)) == 0
    assert db.value("SELECT postern.oidc_backchannel_logout(%s, 'sub-1', NULL, 'j4', now())", (ISS,)) == 1
    assert db.value("SELECT session_id_token FROM postern.session_id_token(%s)", (h("t1"),)) is None


def test_dba_link_and_unlink(db):
    db.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'oidc_dba') "
             "THEN CREATE ROLE oidc_dba LOGIN IN ROLE postern_admin; END IF; END $$")
    db.query("SELECT postern.create_user('b@example.org', NULL)")
    dba = db.connect(user="oidc_dba")
    with dba.cursor() as cur:
        cur.execute("SELECT postern.link_identity('b@example.org', %s, 'sub-b')", (ISS,))
        cur.execute("SELECT postern.link_identity('b@example.org', %s, 'sub-b')", (ISS,))  # idempotent
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute("SELECT postern.link_identity('b@example.org', %s, 'sub-c')", (ISS,))
        cur.execute("SELECT u.email, i.subject FROM postern.user_identities i JOIN postern.users u ON u.id = i.user_id")
        assert cur.fetchall() == [("b@example.org", "sub-b")]
    # the linked user signs in by OIDC without auto-registration
    assert login(db, sub="sub-b", email="else@example.org")["how"] == "known"
    with dba.cursor() as cur:
        cur.execute("SELECT postern.unlink_identity('b@example.org', %s)", (ISS,))
        assert cur.fetchone()[0] is True
        cur.execute("SELECT postern.unlink_identity('b@example.org', %s)", (ISS,))
        assert cur.fetchone()[0] is False
    assert db.value("SELECT count(*) FROM postern.audit_log WHERE event IN ('oidc.link', 'oidc.unlink')") == 2
