"""NOTIFY payloads on channel 'postern' for every change that affects a decision."""
import hashlib
import select

import pytest


@pytest.fixture
def listener(db):
    c = db.connect()
    with c.cursor() as cur:
        cur.execute("LISTEN postern")

    def drain(timeout=0.5):
        got = []
        end_wait = timeout
        while True:
            if select.select([c], [], [], end_wait) == ([], [], []):
                break
            c.poll()
            while c.notifies:
                got.append(c.notifies.pop(0).payload)
            end_wait = 0.1
        return got
    drain(0.05)
    return drain


def sha(t):
    return hashlib.sha256(t.encode()).digest()


@pytest.fixture
def user(db):
    return db.value("SELECT postern.create_user('n@example.org', NULL)")


def test_session_revocation_notifies_but_touch_does_not(db, listener, user):
    sid = db.value("""INSERT INTO postern.sessions (token_hash, user_id, expires_at, last_seen_at)
                      VALUES (%s, %s, now() + interval '1 day', now() - interval '5 minutes') RETURNING id""",
                   (sha("pst_s_n"), user))
    assert listener() == []                       # insert: nothing cached yet
    assert db.value("SELECT postern.touch_session(%s)", (sid,)) is True
    db.query("UPDATE postern.sessions SET last_seen_at = now() - interval '1 minute'")
    assert listener() == []
    db.query("UPDATE postern.sessions SET expires_at = now() + interval '1 hour'")
    assert listener() == [f"session:{sid}"]
    db.query("SELECT postern.revoke_session(%s)", (sid,))
    assert listener() == [f"session:{sid}"]
    db.query("DELETE FROM postern.sessions")
    assert listener() == [f"session:{sid}"]


def test_user_changes(db, listener, user):
    for sql in ("SELECT postern.disable_user('n@example.org')",
                "SELECT postern.enable_user('n@example.org')",
                "SELECT postern.set_user_role('n@example.org', 'admin')",
                "UPDATE postern.users SET must_change_password = true",
                "SELECT postern.set_password('n@example.org', 'a fine long passphrase')"):
        db.query(sql)
        assert listener() == [f"user:{user}"], sql
    db.query("UPDATE postern.users SET updated_at = now()")
    assert listener() == []
    db.query("INSERT INTO postern.mfa_totp (user_id, secret_enc) VALUES (%s, '\\x01')", (user,))
    assert listener() == [f"user:{user}"]
    db.query("UPDATE postern.mfa_totp SET last_step = 123")
    assert listener() == []
    db.query("UPDATE postern.mfa_totp SET enabled = true")
    assert listener() == [f"user:{user}"]


def test_disable_user_notifies_sessions_too(db, listener, user):
    sid = db.value("""INSERT INTO postern.sessions (token_hash, user_id, expires_at)
                      VALUES (%s, %s, now() + interval '1 day') RETURNING id""", (sha("pst_s_m"), user))
    db.query("SELECT postern.disable_user('n@example.org')")
    assert sorted(listener()) == sorted([f"user:{user}", f"session:{sid}"])


def test_api_key_and_shared_link(db, listener):
    db.query("SELECT postern.create_user('r@example.org', NULL, 'admin')")
    db.query("SELECT postern.create_api_key('r@example.org', 'k', ARRAY['all'])")
    db.query("SELECT postern.create_shared_link('r@example.org', '/s', ARRAY['album.read'], NULL)")
    assert listener() == []
    kid = db.value("SELECT id FROM postern.api_keys")
    lid = db.value("SELECT id FROM postern.shared_links")
    assert db.value("SELECT postern.touch_api_key(%s)", (kid,)) is True
    assert listener() == []
    db.query("SELECT postern.revoke_api_key(%s)", (kid,))
    assert listener() == [f"api_key:{kid}"]
    db.query("UPDATE postern.shared_links SET expires_at = now() + interval '1 day'")
    assert listener() == [f"shared_link:{lid}"]
    db.query("SELECT postern.revoke_shared_link(%s)", (lid,))
    assert listener() == [f"shared_link:{lid}"]


def test_role_permissions(db, listener):
    db.query("SELECT postern.create_role('viewer', '')")
    assert listener() == []
    db.query("SELECT postern.grant_permission('viewer', 'album.read')")
    assert listener() == ["role:viewer"]
    db.query("SELECT postern.revoke_permission('viewer', 'album.read')")
    assert listener() == ["role:viewer"]
    db.query("INSERT INTO postern.role_permissions VALUES ('viewer', 'a.b')")
    assert listener() == ["role:viewer"]


def test_rules_and_settings(db, listener):
    db.query("INSERT INTO postern.rules (path_pattern, access) VALUES ('/x', 'deny')")
    assert listener() == ["rules"]
    db.query("UPDATE postern.rules SET enabled = false WHERE path_pattern = '/x'")
    assert listener() == ["rules"]
    db.query("DELETE FROM postern.rules WHERE path_pattern = '/x'")
    assert listener() == ["rules"]
    db.query("SELECT postern.set_setting('maintenance', 'on')")
    assert listener() == ["settings"]
    db.query("UPDATE postern.settings SET value = 'off' WHERE key = 'maintenance'")
    assert listener() == ["settings"]
