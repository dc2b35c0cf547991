"""DBA functions: success paths, bad inputs, atomicity and audit rows."""
import base64
import hashlib

import pytest

PW = "a fine long passphrase"


def sha(token):
    return hashlib.sha256(token.encode()).digest()


def counts(db):
    return db.one("""SELECT (SELECT count(*) FROM postern.users), (SELECT count(*) FROM postern.api_keys),
                            (SELECT count(*) FROM postern.shared_links), (SELECT count(*) FROM postern.audit_log),
                            (SELECT count(*) FROM postern.roles), (SELECT count(*) FROM postern.role_permissions)""")


def check_error(db, sql, args, sqlstate, message):
    before = counts(db)
    e = db.error(sql, args)
    assert (e.pgcode, e.diag.message_primary) == (sqlstate, message)
    assert counts(db) == before, "partial rows or audit rows left behind"
    return e


def audit(db, event):
    return db.query("SELECT user_id, email, detail FROM postern.audit WHERE event = %s ORDER BY id", (event,))


# -- users -----------------------------------------------------------------------------------
def test_create_user(db):
    uid = db.value("SELECT postern.create_user('Alice@Example.ORG ', %s, 'admin', 'Alice')", (PW,))
    row = db.one("""SELECT email, display_name, role, disabled, must_change_password, password_hash,
                           password_changed_at IS NOT NULL FROM postern.users WHERE id = %s""", (uid,))
    assert row[:5] == ("alice@example.org", "Alice", "admin", False, False)
    assert row[5][:7] in ("$2a$12$", "$2b$12$") and len(row[5]) == 60
    assert row[6] is True
    assert db.value("SELECT postern._crypt(%s, %s) = %s", (PW, row[5], row[5])) is True
    assert audit(db, "user.create") == [(uid, "alice@example.org", {"role": "admin", "password": True})]


def test_create_user_without_password_and_default_role(db):
    uid = db.value("SELECT postern.create_user('oidc@example.org', NULL)")
    assert db.one("SELECT role, password_hash, password_changed_at FROM postern.users WHERE id=%s",
                  (uid,)) == ("user", None, None)


def test_bcrypt_cost_setting(db):
    db.query("SELECT postern.set_setting('bcrypt_cost', '13')")
    db.query("SELECT postern.create_user('c@example.org', %s)", (PW,))
    assert db.value("SELECT split_part(password_hash, '$', 3) FROM postern.users") == "13"


def test_create_user_errors(db):
    db.query("SELECT postern.create_user('bob@example.org', NULL)")
    check_error(db, "SELECT postern.create_user('BOB@example.org', NULL)", None,
                "23505", 'postern: a user with email "bob@example.org" already exists')
    check_error(db, "SELECT postern.create_user('not-an-email', NULL)", None,
                "22023", 'postern: malformed email "not-an-email"')
    check_error(db, "SELECT postern.create_user('a b@example.org', NULL)", None,
                "22023", 'postern: malformed email "a b@example.org"')
    check_error(db, "SELECT postern.create_user('', NULL)", None, "22023", "postern: email is required")
    check_error(db, "SELECT postern.create_user('c@example.org', NULL, 'nope')", None,
                "P0002", 'postern: unknown role "nope"')


@pytest.mark.parametrize("password,message", [
    ("short pass", "postern: password too short (minimum 12 bytes)"),
    ("x" * 73, "postern: password too long (maximum 72 bytes)"),
    ("é" * 37, "postern: password too long (maximum 72 bytes)"),     # 74 bytes, 37 chars
    ("Carol@Example.org", "postern: password must not be the email address"),
    ("carolineexample", None),
    ("Password1234", "postern: password is too common"),
    ("qwertyuiop123", "postern: password is too common"),
])
def test_password_policy(db, password, message):
    email = "carol@example.org" if password != "carolineexample" else "carolineexample@example.org"
    if message is None:
        message = "postern: password must not be the email address"
    check_error(db, "SELECT postern.create_user(%s, %s)", (email, password), "22023", message)


def test_password_72_bytes_ok(db):
    db.query("SELECT postern.create_user('d@example.org', %s)", ("y" * 71 + "z",))


def test_set_password(db):
    uid = db.value("SELECT postern.create_user('e@example.org', NULL)")
    s = db.value("""INSERT INTO postern.sessions (token_hash, user_id, expires_at)
                    VALUES (%s, %s, now() + interval '1 day') RETURNING id""", (sha("pst_s_x"), uid))
    db.query("SELECT postern.set_password('E@example.org', %s, true)", (PW,))
    h, must = db.one("SELECT password_hash, must_change_password FROM postern.users")
    assert h.startswith("$2") and must is True
    assert db.one("SELECT revoked_at IS NOT NULL, revoked_reason FROM postern.sessions WHERE id = %s",
                  (s,)) == (True, "password changed")
    assert audit(db, "user.set_password") == [
        (uid, "e@example.org", {"password": True, "must_change": True, "sessions_revoked": 1})]
    check_error(db, "SELECT postern.set_password('nobody@example.org', %s)", (PW,),
                "P0002", 'postern: unknown user "nobody@example.org"')
    check_error(db, "SELECT postern.set_password('e@example.org', 'e@example.org')", None,
                "22023", "postern: password must not be the email address")
    assert db.value("SELECT password_hash FROM postern.users") == h


def test_disable_enable_user(db):
    uid = db.value("SELECT postern.create_user('f@example.org', NULL)")
    for i in range(2):
        db.query("""INSERT INTO postern.sessions (token_hash, user_id, expires_at)
                    VALUES (%s, %s, now() + interval '1 day')""", (sha(f"pst_s_{i}"), uid))
    db.query("SELECT postern.disable_user('f@example.org')")
    assert db.value("SELECT disabled FROM postern.users") is True
    assert db.query("SELECT revoked_reason FROM postern.sessions") == [("user disabled",)] * 2
    assert audit(db, "user.disable") == [(uid, "f@example.org", {"sessions_revoked": 2})]
    db.query("SELECT postern.enable_user('f@example.org')")
    assert db.value("SELECT disabled FROM postern.users") is False
    assert audit(db, "user.enable") == [(uid, "f@example.org", None)]
    check_error(db, "SELECT postern.disable_user('g@example.org')", None,
                "P0002", 'postern: unknown user "g@example.org"')
    check_error(db, "SELECT postern.enable_user('g@example.org')", None,
                "P0002", 'postern: unknown user "g@example.org"')


def test_roles_and_permissions(db):
    db.query("SELECT postern.create_role('editor', 'Edits albums')")
    assert db.one("SELECT description FROM postern.roles WHERE name = 'editor'") == ("Edits albums",)
    assert db.value("SELECT postern.grant_permission('editor', 'album.write')") is True
    assert db.value("SELECT postern.grant_permission('editor', 'album.write')") is False
    assert db.value("SELECT postern.grant_permission('editor', 'album.read')") is True
    assert db.query("SELECT permission FROM postern.role_permissions WHERE role='editor' ORDER BY 1") == [
        ("album.read",), ("album.write",)]
    assert db.value("SELECT postern.revoke_permission('editor', 'album.write')") is True
    assert db.value("SELECT postern.revoke_permission('editor', 'album.write')") is False
    uid = db.value("SELECT postern.create_user('h@example.org', NULL)")
    db.query("SELECT postern.set_user_role('h@example.org', 'editor')")
    assert db.value("SELECT role FROM postern.users") == "editor"
    assert audit(db, "user.set_role") == [(uid, "h@example.org", {"old": "user", "new": "editor"})]
    assert [r[2] for r in audit(db, "role.grant")] == [
        {"role": "editor", "permission": "album.write", "changed": True},
        {"role": "editor", "permission": "album.write", "changed": False},
        {"role": "editor", "permission": "album.read", "changed": True}]
    assert [r[2] for r in audit(db, "role.create")] == [{"role": "editor", "description": "Edits albums"}]
    check_error(db, "SELECT postern.create_role('editor', '')", None, "23505", 'postern: role "editor" already exists')
    check_error(db, "SELECT postern.create_role('Bad Name', '')", None, "22023", 'postern: malformed role name "Bad Name"')
    check_error(db, "SELECT postern.grant_permission('ghost', 'album.read')", None, "P0002", 'postern: unknown role "ghost"')
    check_error(db, "SELECT postern.grant_permission('editor', 'Album')", None, "22023", 'postern: malformed permission "Album"')
    check_error(db, "SELECT postern.revoke_permission('editor', 'album')", None, "22023", 'postern: malformed permission "album"')
    check_error(db, "SELECT postern.set_user_role('h@example.org', 'ghost')", None, "P0002", 'postern: unknown role "ghost"')
    check_error(db, "SELECT postern.set_user_role('x@example.org', 'user')", None, "P0002", 'postern: unknown user "x@example.org"')


# -- API keys --------------------------------------------------------------------------------
def setup_editor(db):
    db.query("SELECT postern.create_role('editor', '')")
    db.query("SELECT postern.grant_permission('editor', 'album.read')")
    db.query("SELECT postern.grant_permission('editor', 'album.write')")
    return db.value("SELECT postern.create_user('k@example.org', NULL, 'editor')")


def test_create_api_key(db):
    uid = setup_editor(db)
    secret = db.value("""SELECT postern.create_api_key('K@example.org', 'backup', ARRAY['album.write', 'album.read', 'album.read'],
                         now() + interval '1 day')""")
    assert secret.startswith("pst_k_") and len(secret) == 49
    base64.urlsafe_b64decode(secret[6:] + "=")
    kid, h, prefix, perms, name, exp = db.one(
        "SELECT id, token_hash, prefix, permissions, name, expires_at > now() FROM postern.api_keys")
    assert bytes(h) == sha(secret) and prefix == secret[:12]
    assert perms == ["album.read", "album.write"] and name == "backup" and exp is True
    (a_uid, a_email, detail), = audit(db, "api_key.create")
    assert (a_uid, a_email, detail["key_id"], detail["prefix"], detail["permissions"]) == (
        uid, "k@example.org", str(kid), secret[:12], ["album.read", "album.write"])
    assert secret not in str(detail)
    # two keys never collide
    s2 = db.value("SELECT postern.create_api_key('k@example.org', 'other', ARRAY['album.read'])")
    assert s2 != secret


def test_create_api_key_errors(db):
    setup_editor(db)
    q = "SELECT postern.create_api_key(%s, %s, %s::text[], %s::timestamptz)"
    check_error(db, q, ("nobody@example.org", "n", ["album.read"], None), "P0002", 'postern: unknown user "nobody@example.org"')
    check_error(db, q, ("k@example.org", "n", [], None), "22023", "postern: permission list is empty")
    check_error(db, q, ("k@example.org", "n", None, None), "22023", "postern: permission list is empty")
    check_error(db, q, ("k@example.org", "n", ["album.read", "ALBUM READ"], None), "22023", 'postern: malformed permission "ALBUM READ"')
    check_error(db, q, ("k@example.org", "n", ["album.delete"], None), "42501",
                'postern: permission "album.delete" exceeds what user "k@example.org" (role "editor") has')
    check_error(db, q, ("k@example.org", "n", ["all"], None), "42501",
                'postern: permission "all" exceeds what user "k@example.org" (role "editor") has')
    e = check_error(db, q, ("k@example.org", "n", ["album.read"], "2001-01-01T00:00:00Z"), "22023",
                    "postern: expiry 2001-01-01 00:00:00+00 is in the past")
    check_error(db, q, ("k@example.org", " ", ["album.read"], None), "22023", "postern: an API key needs a name (1..200 characters)")
    db.query("SELECT postern.disable_user('k@example.org')")
    check_error(db, q, ("k@example.org", "n", ["album.read"], None), "55000", 'postern: user "k@example.org" is disabled')


def test_admin_key_all(db):
    db.query("SELECT postern.create_user('root@example.org', NULL, 'admin')")
    db.query("SELECT postern.create_api_key('root@example.org', 'ops', ARRAY['all', 'x.y'])")
    assert db.value("SELECT permissions FROM postern.api_keys") == ["all"]


def test_revoke_api_key(db):
    uid = setup_editor(db)
    db.query("SELECT postern.create_api_key('k@example.org', 'n', ARRAY['album.read'])")
    kid = db.value("SELECT id FROM postern.api_keys")
    assert db.value("SELECT postern.revoke_api_key(%s)", (kid,)) is True
    assert db.value("SELECT postern.revoke_api_key(%s)", (kid,)) is False
    assert db.value("SELECT revoked_at IS NOT NULL FROM postern.api_keys") is True
    assert [r[:2] for r in audit(db, "api_key.revoke")] == [(uid, "k@example.org")] * 2
    check_error(db, "SELECT postern.revoke_api_key('00000000-0000-0000-0000-000000000000')", None,
                "P0002", "postern: unknown API key 00000000-0000-0000-0000-000000000000")


# -- shared links ----------------------------------------------------------------------------
def test_create_shared_link(db):
    uid = setup_editor(db)
    key = db.value("""SELECT postern.create_shared_link('k@example.org', '/albums/42/', ARRAY['album.read'],
                      now() + interval '7 days', %s, 'holiday')""", (PW,))
    assert key.startswith("pst_l_") and len(key) == 49
    h, pfx, path, perms, pwh, desc = db.one(
        "SELECT token_hash, prefix, path_prefix, permissions, password_hash, description FROM postern.shared_links")
    assert bytes(h) == sha(key) and pfx == key[:12] and path == "/albums/42" and perms == ["album.read"]
    assert pwh.startswith("$2") and desc == "holiday"
    (a_uid, _, detail), = audit(db, "shared_link.create")
    assert a_uid == uid and detail["path_prefix"] == "/albums/42" and detail["password"] is True
    lid = db.value("SELECT id FROM postern.shared_links")
    assert db.value("SELECT postern.revoke_shared_link(%s)", (lid,)) is True
    assert len(audit(db, "shared_link.revoke")) == 1
    check_error(db, "SELECT postern.revoke_shared_link('00000000-0000-0000-0000-000000000001')", None,
                "P0002", "postern: unknown shared link 00000000-0000-0000-0000-000000000001")


@pytest.mark.parametrize("path", ["albums", "/a//b", "/a/../b", "/a/%2e", "/a?x=1", "/a/*", "/a b", "/./a", ""])
def test_shared_link_bad_path(db, path):
    setup_editor(db)
    check_error(db, "SELECT postern.create_shared_link('k@example.org', %s, ARRAY['album.read'], NULL)", (path,),
                "22023", f'postern: bad path prefix "{path}"')


def test_shared_link_errors(db):
    setup_editor(db)
    q = "SELECT postern.create_shared_link(%s, '/a', %s::text[], %s::timestamptz, %s)"
    check_error(db, q, ("z@example.org", ["album.read"], None, None), "P0002", 'postern: unknown user "z@example.org"')
    check_error(db, q, ("k@example.org", [], None, None), "22023", "postern: permission list is empty")
    check_error(db, q, ("k@example.org", ["album.delete"], None, None), "42501",
                'postern: permission "album.delete" exceeds what user "k@example.org" (role "editor") has')
    check_error(db, q, ("k@example.org", ["album.read"], "2000-01-01Z", None), "22023",
                "postern: expiry 2000-01-01 00:00:00+00 is in the past")
    check_error(db, q, ("k@example.org", ["album.read"], None, "short"), "22023",
                "postern: password too short (minimum 12 bytes)")


# -- sessions, lockouts, settings ------------------------------------------------------------
def test_revoke_session_and_sessions(db):
    uid = db.value("SELECT postern.create_user('s@example.org', NULL)")
    ids = [db.value("""INSERT INTO postern.sessions (token_hash, user_id, expires_at, ip, user_agent)
                       VALUES (%s, %s, now() + interval '1 day', '127.0.0.1', 'curl') RETURNING id""",
                    (sha(f"pst_s_{i}"), uid)) for i in range(3)]
    rows = db.query("SELECT id, email, host(ip), user_agent FROM postern.active_sessions ORDER BY id")
    assert sorted(r[0] for r in rows) == sorted(ids) and rows[0][1:] == ("s@example.org", "127.0.0.1", "curl")
    assert db.value("SELECT postern.revoke_session(%s)", (ids[0],)) is True
    assert db.value("SELECT postern.revoke_session(%s)", (ids[0],)) is False
    assert db.value("SELECT count(*) FROM postern.active_sessions") == 2
    assert db.value("SELECT postern.revoke_sessions('s@example.org')") == 2
    assert db.value("SELECT postern.revoke_sessions('s@example.org')") == 0
    assert db.value("SELECT count(*) FROM postern.active_sessions") == 0
    assert [r[2] for r in audit(db, "session.revoke_all")] == [{"count": 2}, {"count": 0}]
    assert db.query("SELECT session_id FROM postern.audit WHERE event = 'session.revoke' ORDER BY id") == [(ids[0],)] * 2
    check_error(db, "SELECT postern.revoke_session('00000000-0000-0000-0000-000000000002')", None,
                "P0002", "postern: unknown session 00000000-0000-0000-0000-000000000002")
    check_error(db, "SELECT postern.revoke_sessions('q@example.org')", None, "P0002", 'postern: unknown user "q@example.org"')


def test_unlock_account(db):
    db.query("INSERT INTO postern.login_attempts (email, failures, locked_until) VALUES ('l@example.org', 10, now() + interval '1 hour')")
    assert db.value("SELECT postern.unlock_account('L@example.org')") is True
    assert db.value("SELECT count(*) FROM postern.login_attempts") == 0
    assert db.value("SELECT postern.unlock_account('l@example.org')") is False
    assert [r[1:] for r in audit(db, "account.unlock")] == [("l@example.org", {"changed": True}),
                                                           ("l@example.org", {"changed": False})]
    check_error(db, "SELECT postern.unlock_account('nope')", None, "22023", 'postern: malformed email "nope"')
    db.query("INSERT INTO postern.ip_attempts (ip, failures) VALUES ('10.0.0.1', 100)")
    assert db.value("SELECT postern.unlock_ip('10.0.0.1')") is True
    assert db.value("SELECT count(*) FROM postern.ip_attempts") == 0


def test_set_setting(db):
    db.query("SELECT postern.set_setting('require_mfa', 'on')")
    db.query("SELECT postern.set_setting('session_limit', '0')")
    db.query("SELECT postern.set_setting('unmatched', 'authenticated')")
    s = dict(db.query("SELECT key, value FROM postern.load_settings()"))
    assert (s["require_mfa"], s["session_limit"], s["unmatched"]) == ("on", "0", "authenticated")
    assert [r[2] for r in audit(db, "setting.set")][0] == {"key": "require_mfa", "old": "off", "new": "on"}
    q = "SELECT postern.set_setting(%s, %s)"
    check_error(db, q, ("no_such", "1"), "P0002", 'postern: unknown setting "no_such"')
    check_error(db, q, ("bcrypt_cost", "11"), "22023", 'postern: setting "bcrypt_cost" must be between 12 and 15, not 11')
    check_error(db, q, ("bcrypt_cost", "16"), "22023", 'postern: setting "bcrypt_cost" must be between 12 and 15, not 16')
    check_error(db, q, ("bcrypt_cost", "12x"), "22023", 'postern: setting "bcrypt_cost" is an integer, not "12x"')
    check_error(db, q, ("maintenance", "true"), "22023", """postern: setting "maintenance" is a bool: use 'on' or 'off', not "true\"""")
    check_error(db, q, ("unmatched", "public"), "22023", 'postern: setting "unmatched" must be one of deny, authenticated, not "public"')
    check_error(db, q, ("session_limit", None), "22023", 'postern: setting "session_limit" needs a value')
    db.query(q, ("password_login", "off"))
    check_error(db, q, ("oidc_login", "off"), "22023", "postern: refusing to turn off both password_login and oidc_login")
