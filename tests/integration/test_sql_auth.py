"""Functions the authorizer calls: auth_session, auth_api_key, auth_shared_link,
consume_token, touch_session, load_rules, load_settings."""
import base64
import hashlib
import os

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
