"""Functions the authorizer calls: auth_session, auth_api_key, auth_shared_link,
consume_token, touch_session, load_rules, load_settings, migration 012's authz_session and
authz_session_id (idle timeout given), 011's (kept for older programs during an upgrade), and
load_role_permissions."""
import base64
import hashlib
import os

import psycopg2
import pytest


def new_token(prefix):
    return prefix + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def sha(token):
    return hashlib.sha256(token.encode()).digest()


@pytest.fixture
def editor(db):
    db.query("SELECT postern.create_role('editor', '')")
    for p in ("album.read", "album.write", "asset.read"):
        db.query("SELECT postern.grant_permission('editor', %s)", (p,))
    return db.value("SELECT postern.create_user('ed@example.org', NULL, 'editor', 'Ed')")


def add_session(db, uid, expires="1 day", last_seen="0", **cols):
    tok = new_token("pst_s_")
    sid = db.value(f"""INSERT INTO postern.sessions (token_hash, user_id, expires_at, last_seen_at, mfa)
                       VALUES (%s, %s, now() + interval '{expires}', now() - interval '{last_seen}', %s)
                       RETURNING id""", (sha(tok), uid, cols.get("mfa", False)))
    return tok, sid


def auth_session(db, tok):
    return db.query("SELECT * FROM postern.auth_session(%s)", (sha(tok),))


def test_new_token_sql_matches_python_hash(db):
    tok, h = db.one("SELECT t, postern._hash_token(t) FROM postern._new_token('pst_t_') t")
    assert tok.startswith("pst_t_") and len(tok) == 49 and "=" not in tok
    assert all(c.isalnum() or c in "-_" for c in tok[6:])
    assert bytes(h) == sha(tok)


def test_auth_session_live(db, editor):
    tok, sid = add_session(db, editor, mfa=True)
    rows = auth_session(db, tok)
    assert len(rows) == 1
    r = rows[0]
    assert r[:9] == (sid, editor, "ed@example.org", "Ed", "editor",
                     ["album.read", "album.write", "asset.read"], False, True, False)
    assert r[10] is None
    exp_abs = db.value("SELECT expires_at FROM postern.sessions")
    assert r[9] == exp_abs          # absolute expiry (1 day) is earlier than idle timeout (7 days)
    db.query("INSERT INTO postern.mfa_totp (user_id, secret_enc, enabled) VALUES (%s, '\\x00', true)", (editor,))
    assert auth_session(db, tok)[0][6] is True


def test_auth_session_idle_expiry(db, editor):
    tok, _ = add_session(db, editor, expires="30 days", last_seen="1 day")
    exp, idle = db.one("""SELECT a.expires_at, s.last_seen_at + interval '604800 seconds'
                            FROM postern.auth_session(%s) a, postern.sessions s""", (sha(tok),))
    assert exp == idle
    db.query("SELECT postern.set_setting('session_idle_timeout', '3600')")
    assert auth_session(db, tok) == []


def test_auth_session_dead(db, editor):
    assert auth_session(db, new_token("pst_s_")) == []
    tok_exp, _ = add_session(db, editor, expires="-1 second")
    assert auth_session(db, tok_exp) == []
    tok_rev, sid = add_session(db, editor)
    db.query("SELECT postern.revoke_session(%s)", (sid,))
    assert auth_session(db, tok_rev) == []
    tok_dis, _ = add_session(db, editor)
    db.query("UPDATE postern.users SET disabled = true")
    assert auth_session(db, tok_dis) == []


def test_auth_api_key(db, editor):
    key = db.value("SELECT postern.create_api_key('ed@example.org', 'k', ARRAY['album.read', 'album.write'])")
    kid = db.value("SELECT id FROM postern.api_keys")
    rows = db.query("SELECT * FROM postern.auth_api_key(%s)", (sha(key),))
    assert rows == [(kid, editor, "ed@example.org", "editor", ["album.read", "album.write"], False, None)]
    # privilege ceiling: the role loses album.write -> the key loses it too
    db.query("SELECT postern.revoke_permission('editor', 'album.write')")
    assert db.value("SELECT permissions FROM postern.auth_api_key(%s)", (sha(key),)) == ["album.read"]
    # role switched to admin (all): key keeps exactly its own permissions
    db.query("SELECT postern.set_user_role('ed@example.org', 'admin')")
    assert db.value("SELECT permissions FROM postern.auth_api_key(%s)", (sha(key),)) == ["album.read", "album.write"]
    db.query("SELECT postern.set_user_role('ed@example.org', 'user')")
    assert db.value("SELECT permissions FROM postern.auth_api_key(%s)", (sha(key),)) == []
    db.query("SELECT postern.revoke_api_key(%s)", (kid,))
    assert db.query("SELECT * FROM postern.auth_api_key(%s)", (sha(key),)) == []


def test_auth_api_key_all_follows_role(db):
    db.query("SELECT postern.create_user('root@example.org', NULL, 'admin')")
    key = db.value("SELECT postern.create_api_key('root@example.org', 'k', ARRAY['all'])")
    assert db.value("SELECT permissions FROM postern.auth_api_key(%s)", (sha(key),)) == ["all"]
    db.query("SELECT postern.create_role('ops', '')")
    db.query("SELECT postern.grant_permission('ops', 'metrics.read')")
    db.query("SELECT postern.set_user_role('root@example.org', 'ops')")
    assert db.value("SELECT permissions FROM postern.auth_api_key(%s)", (sha(key),)) == ["metrics.read"]


def test_auth_api_key_expired_disabled(db, editor):
    key = db.value("SELECT postern.create_api_key('ed@example.org', 'k', ARRAY['album.read'], now() + interval '1 hour')")
    assert len(db.query("SELECT * FROM postern.auth_api_key(%s)", (sha(key),))) == 1
    db.query("UPDATE postern.api_keys SET expires_at = now() - interval '1 second'")
    assert db.query("SELECT * FROM postern.auth_api_key(%s)", (sha(key),)) == []
    db.query("UPDATE postern.api_keys SET expires_at = NULL")
    db.query("SELECT postern.disable_user('ed@example.org')")
    assert db.query("SELECT * FROM postern.auth_api_key(%s)", (sha(key),)) == []


def test_auth_shared_link(db, editor):
    key = db.value("SELECT postern.create_shared_link('ed@example.org', '/albums/7', ARRAY['album.read'], NULL)")
    lid = db.value("SELECT id FROM postern.shared_links")
    rows = db.query("SELECT * FROM postern.auth_shared_link(%s)", (sha(key),))
    assert rows == [(lid, editor, "ed@example.org", "/albums/7", ["album.read"], False, None, None)]
    db.query("UPDATE postern.shared_links SET expires_at = now() - interval '1 second'")
    assert db.query("SELECT * FROM postern.auth_shared_link(%s)", (sha(key),)) == []
    db.query("UPDATE postern.shared_links SET expires_at = NULL")
    db.query("SELECT postern.disable_user('ed@example.org')")
    assert db.query("SELECT * FROM postern.auth_shared_link(%s)", (sha(key),)) == []
    db.query("SELECT postern.enable_user('ed@example.org')")
    assert len(db.query("SELECT * FROM postern.auth_shared_link(%s)", (sha(key),))) == 1
    db.query("SELECT postern.revoke_shared_link(%s)", (lid,))
    assert db.query("SELECT * FROM postern.auth_shared_link(%s)", (sha(key),)) == []


def add_token(db, uid, purpose="download", path="/files/1", ttl="60 seconds", sid=None):
    tok = new_token("pst_t_")
    db.query(f"""INSERT INTO postern.single_use_tokens (user_id, session_id, token_hash, purpose, path, expires_at)
                 VALUES (%s, %s, %s, %s, %s, now() + interval '{ttl}')""", (uid, sid, sha(tok), purpose, path))
    return tok


def consume(db, tok, purpose="download", path="/files/1"):
    return db.query("SELECT * FROM postern.consume_token(%s, %s, %s)", (sha(tok), purpose, path))


def test_consume_token_once(db, editor):
    _, sid = add_session(db, editor)
    tok = add_token(db, editor, sid=sid)
    rows = consume(db, tok)
    assert len(rows) == 1
    assert rows[0][1:] == (editor, "ed@example.org", "editor", ["album.read", "album.write", "asset.read"], sid, False)
    assert consume(db, tok) == []
    assert db.value("SELECT used_at IS NOT NULL FROM postern.single_use_tokens") is True


def test_consume_token_mismatch_burns(db, editor):
    tok = add_token(db, editor)
    assert consume(db, tok, purpose="websocket") == []
    assert consume(db, tok) == []        # burned by the wrong-purpose attempt
    tok2 = add_token(db, editor)
    assert consume(db, tok2, path="/files/2") == []
    assert consume(db, tok2) == []


def test_consume_token_expired_or_revoked_session(db, editor):
    assert consume(db, add_token(db, editor, ttl="-1 second")) == []
    _, sid = add_session(db, editor)
    tok = add_token(db, editor, sid=sid)
    db.query("SELECT postern.revoke_session(%s)", (sid,))
    assert consume(db, tok) == []
    tok = add_token(db, editor, path=None)
    assert len(consume(db, tok, path="/anything")) == 1


def test_touch_session(db, editor):
    _, sid = add_session(db, editor, last_seen="2 minutes")
    assert db.value("SELECT postern.touch_session(%s)", (sid,)) is True
    assert db.value("SELECT now() - last_seen_at < interval '1 second' FROM postern.sessions") is True
    assert db.value("SELECT postern.touch_session(%s)", (sid,)) is False   # within 60 s


def test_load_rules_order_and_enabled(db):
    db.query("INSERT INTO postern.rules (priority, path_pattern, access) VALUES (10, '/b', 'deny'), (1, '/a', 'deny')")
    db.query("UPDATE postern.rules SET enabled = false WHERE path_pattern = '/auth/health'")
    rows = db.query("SELECT priority, id, path_pattern FROM postern.load_rules()")
    assert rows == sorted(rows)
    assert rows[0][2] == "/a"
    assert "/auth/health" not in [r[2] for r in rows]


# -- migration 011: the authorizer's lean lookups -----------------------------------------------
AUTHZ_COLUMNS = ["session_id", "user_id", "email", "display_name", "role", "user_mfa",
                 "session_mfa", "must_change_password", "expires_at", "elevated_until"]


def authz_lookup(db, kind, arg):
    """authz_<kind>(arg, the idle timeout in settings)'s rows, asserted column by column to be
    auth_<kind>(arg)'s, and 011's authz_<kind>(arg)'s."""
    idle = int(db.value("SELECT value FROM postern.settings WHERE key = 'session_idle_timeout'"))
    with db.conn.cursor() as cur:
        cur.execute(f"SELECT * FROM postern.authz_{kind}(%s, %s)", (arg, idle))
        assert [d.name for d in cur.description] == AUTHZ_COLUMNS
        lean = cur.fetchall()
        cur.execute(f"SELECT * FROM postern.authz_{kind}(%s)", (arg,))
        assert [d.name for d in cur.description] == AUTHZ_COLUMNS
        assert cur.fetchall() == lean
    full = db.query(f"""SELECT session_id, user_id, email, coalesce(display_name, ''), role,
                               user_mfa, session_mfa, must_change_password,
                               extract(epoch FROM expires_at)::bigint,
                               coalesce(extract(epoch FROM elevated_until)::bigint, 0)
                          FROM postern.auth_{kind}(%s)""", (arg,))
    assert len(lean) == len(full), (lean, full)
    for a, b in zip(lean, full):
        for col, x, y in zip(AUTHZ_COLUMNS, a, b):
            assert x == y, col
    return lean


def session_epoch(db, sid, expr="expires_at"):
    return db.value(f"SELECT extract(epoch FROM {expr})::bigint FROM postern.sessions WHERE id = %s",
                    (sid,))


def test_authz_session_live(db, editor):
    tok, sid = add_session(db, editor, mfa=True)
    exp = session_epoch(db, sid)   # absolute expiry (1 day) is earlier than idle timeout (7 days)
    assert authz_lookup(db, "session", sha(tok)) == [
        (sid, editor, "ed@example.org", "Ed", "editor", False, True, False, exp, 0)]
    db.query("INSERT INTO postern.mfa_totp (user_id, secret_enc, enabled) VALUES (%s, '\\x00', true)", (editor,))
    assert authz_lookup(db, "session", sha(tok)) == [
        (sid, editor, "ed@example.org", "Ed", "editor", True, True, False, exp, 0)]


def test_authz_session_null_display_name_and_elevation(db):
    uid = db.value("SELECT postern.create_user('nd@example.org', NULL, 'user')")
    tok, sid = add_session(db, uid)
    assert auth_session(db, tok)[0][3] is None
    exp = session_epoch(db, sid)
    assert authz_lookup(db, "session", sha(tok)) == [
        (sid, uid, "nd@example.org", "", "user", False, False, False, exp, 0)]
    db.query("UPDATE postern.sessions SET elevated_until = now() + interval '5 minutes'")
    db.query("UPDATE postern.users SET must_change_password = true")
    elevated = session_epoch(db, sid, "elevated_until")
    assert elevated > 0
    assert authz_lookup(db, "session", sha(tok)) == [
        (sid, uid, "nd@example.org", "", "user", False, False, True, exp, elevated)]


def test_authz_session_idle_expiry(db, editor):
    tok, sid = add_session(db, editor, expires="30 days", last_seen="1 day")
    idle = session_epoch(db, sid, "last_seen_at + interval '604800 seconds'")
    assert idle < session_epoch(db, sid)
    assert authz_lookup(db, "session", sha(tok)) == [
        (sid, editor, "ed@example.org", "Ed", "editor", False, False, False, idle, 0)]
    db.query("SELECT postern.set_setting('session_idle_timeout', '3600')")
    assert authz_lookup(db, "session", sha(tok)) == []
    # the timeout is the caller's: a longer one than the setting's finds the session again
    assert len(db.query("SELECT * FROM postern.authz_session(%s, 172800)", (sha(tok),))) == 1
    assert db.query("SELECT * FROM postern.authz_session(%s, 3600)", (sha(tok),)) == []


@pytest.mark.parametrize("idle", [None, 0, -1])
@pytest.mark.parametrize("kind", ["session", "session_id"])
def test_authz_session_refuses_a_bad_idle_timeout(db, editor, kind, idle):
    tok, sid = add_session(db, editor)
    arg = sha(tok) if kind == "session" else sid
    with pytest.raises(psycopg2.errors.InvalidParameterValue,
                       match="the idle timeout must be > 0 seconds"):
        db.query(f"SELECT * FROM postern.authz_{kind}(%s, %s)", (arg, idle))


def test_authz_session_dead(db, editor):
    assert authz_lookup(db, "session", sha(new_token("pst_s_"))) == []
    tok_exp, _ = add_session(db, editor, expires="-1 second")
    assert authz_lookup(db, "session", sha(tok_exp)) == []
    tok_rev, sid = add_session(db, editor)
    db.query("SELECT postern.revoke_session(%s)", (sid,))
    assert authz_lookup(db, "session", sha(tok_rev)) == []
    tok_dis, _ = add_session(db, editor)
    assert len(authz_lookup(db, "session", sha(tok_dis))) == 1
    db.query("UPDATE postern.users SET disabled = true")
    assert authz_lookup(db, "session", sha(tok_dis)) == []


def test_authz_session_id(db, editor):
    _, sid = add_session(db, editor, mfa=True)
    exp = session_epoch(db, sid)
    assert authz_lookup(db, "session_id", sid) == [
        (sid, editor, "ed@example.org", "Ed", "editor", False, True, False, exp, 0)]
    assert authz_lookup(db, "session_id", "00000000-0000-0000-0000-000000000006") == []
    _, expired = add_session(db, editor, expires="-1 second")
    assert authz_lookup(db, "session_id", expired) == []
    db.query("SELECT postern.revoke_session(%s)", (sid,))
    assert authz_lookup(db, "session_id", sid) == []


def test_load_role_permissions(db, editor):
    db.query("SELECT postern.create_role('viewer', '')")          # no permissions: no row
    db.query("SELECT postern.create_role('auditor', '')")
    for p in ("metrics.read", "audit.read", "audit.export"):
        db.query("SELECT postern.grant_permission('auditor', %s)", (p,))
    rows = db.query("SELECT * FROM postern.load_role_permissions()")
    assert rows == [("admin", "all"), ("auditor", "audit.export audit.read metrics.read"),
                    ("editor", "album.read album.write asset.read")]
    # the same list, in the same order, as auth_session gives the role's sessions
    tok, _ = add_session(db, editor)
    assert " ".join(auth_session(db, tok)[0][5]) == rows[2][1]
    db.query("SELECT postern.revoke_permission('editor', 'album.write')")
    db.query("SELECT postern.grant_permission('viewer', 'album.read')")
    for p in ("metrics.read", "audit.read", "audit.export"):     # the last one: no row
        db.query("SELECT postern.revoke_permission('auditor', %s)", (p,))
    assert db.query("SELECT * FROM postern.load_role_permissions()") == [
        ("admin", "all"), ("editor", "album.read asset.read"), ("viewer", "album.read")]


def test_authz_functions_privileges(db):
    fns = ("postern.authz_session(bytea)", "postern.authz_session_id(uuid)",
           "postern.authz_session(bytea,bigint)", "postern.authz_session_id(uuid,bigint)",
           "postern.load_role_permissions()")
    for fn in fns:
        for role, want in (("postern_authorizer", True), ("postern_responder", False),
                           ("postern_admin", False)):
            assert db.value("SELECT has_function_privilege(%s, %s, 'EXECUTE')", (role, fn)) is want, (role, fn)
        # granted to postern_authorizer besides the owner, and not to PUBLIC (grantee 0)
        grantees = db.query("""SELECT coalesce(r.rolname, 'PUBLIC') FROM pg_proc p, aclexplode(p.proacl) a
                                 LEFT JOIN pg_roles r ON r.oid = a.grantee
                                WHERE p.oid = %s::regprocedure AND a.grantee <> p.proowner""", (fn,))
        assert grantees == [("postern_authorizer",)], fn
    # called as the programs' login roles: the authorizer can, the responder cannot
    login = f"login_authz_{db.name}"
    db.query(f'CREATE ROLE "{login}" LOGIN IN ROLE postern_authorizer')
    cur = db.connect(user=login).cursor()
    cur.execute("SELECT * FROM postern.authz_session(%s)", (b"\0" * 32,))
    assert cur.fetchall() == []
    cur.execute("SELECT * FROM postern.authz_session_id('00000000-0000-0000-0000-000000000006')")
    assert cur.fetchall() == []
    cur.execute("SELECT * FROM postern.authz_session(%s, 60)", (b"\0" * 32,))
    assert cur.fetchall() == []
    cur.execute("SELECT * FROM postern.authz_session_id('00000000-0000-0000-0000-000000000006', 60)")
    assert cur.fetchall() == []
    cur.execute("SELECT * FROM postern.load_role_permissions()")
    assert cur.fetchall() == [("admin", "all")]
    login = f"login_resp_{db.name}"
    db.query(f'CREATE ROLE "{login}" LOGIN IN ROLE postern_responder')
    cur = db.connect(user=login).cursor()
    for sql in ("SELECT * FROM postern.authz_session('\\x00'::bytea)",
                "SELECT * FROM postern.authz_session_id('00000000-0000-0000-0000-000000000006')",
                "SELECT * FROM postern.authz_session('\\x00'::bytea, 60)",
                "SELECT * FROM postern.authz_session_id('00000000-0000-0000-0000-000000000006', 60)",
                "SELECT * FROM postern.load_role_permissions()"):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(sql)
