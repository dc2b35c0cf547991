"""Operations: postern.cleanup() and the responder's periodic run, maintenance mode in the
authorizer, and administrators changing settings through the responder."""
import hashlib
import secrets

import requests

import servers
from test_responder import csrf, login, site, user  # noqa: F401


def h():
    return hashlib.sha256(secrets.token_bytes(16)).digest()


def test_cleanup_deletes_exactly_what_is_expired(db):
    uid = db.value("SELECT postern.create_user('old@example.com', 'correct horse battery')")
    ins = ("INSERT INTO postern.sessions (token_hash, user_id, expires_at, revoked_at, last_seen_at) "
           "VALUES (%s, %s, now() + %s::interval, %s, now() - %s::interval) RETURNING id")
    live = db.value(ins, (h(), uid, "1 day", None, "0 s"))
    db.value(ins, (h(), uid, "-2 days", None, "0 s"))                 # expired long ago
    db.value(ins, (h(), uid, "1 day", None, "9 days"))                # idle for 9 days
    db.value(ins, (h(), uid, "1 day", "2000-01-01", "0 s"))           # revoked long ago
    recent = db.value(ins, (h(), uid, "-1 hour", None, "0 s"))       # expired an hour ago: kept
    db.query("INSERT INTO postern.single_use_tokens (user_id, token_hash, purpose, expires_at, "
             "used_at) VALUES (%s, %s, 'download', now() + interval '1 min', NULL), "
             "(%s, %s, 'download', now() - interval '1 s', NULL), "
             "(%s, %s, 'download', now() + interval '1 min', now())",
             (uid, h(), uid, h(), uid, h()))
    db.query("INSERT INTO postern.mfa_challenges (token_hash, user_id, expires_at) VALUES "
             "(%s, %s, now() - interval '1 s'), (%s, %s, now() + interval '1 min')",
             (h(), uid, h(), uid))
    db.query("INSERT INTO postern.login_attempts (email, failures, window_start, locked_until) "
             "VALUES ('a@x', 3, now() - interval '1 hour', NULL), "
             "('b@x', 3, now() - interval '1 minute', NULL), "
             "('c@x', 10, now() - interval '1 hour', now() + interval '1 hour')")
    result = dict(db.query("SELECT * FROM postern.cleanup()"))
    assert result == {"sessions": 3, "refresh_tokens": 0, "single_use_tokens": 2,
                      "mfa_challenges": 1, "login_attempts": 1, "ip_attempts": 0,
                      "oidc_states": 0}
    assert {r[0] for r in db.query("SELECT id FROM postern.sessions")} == {live, recent}
    assert db.value("SELECT count(*) FROM postern.single_use_tokens") == 1
    assert sorted(r[0] for r in db.query("SELECT email FROM postern.login_attempts")) == [
        "b@x", "c@x"]
    assert dict(db.query("SELECT * FROM postern.cleanup()"))["sessions"] == 0


def test_run_cleanup_one_process_at_a_time(db):
    other = db.connect(autocommit=False)
    with other.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('postern.cleanup'))")
        assert db.value("SELECT postern.run_cleanup()") is None
    other.rollback()
    assert db.value("SELECT postern.run_cleanup()") == 0


def test_responder_runs_cleanup(site):
    uid = user(site, "gone@example.com")
    site.db.query("INSERT INTO postern.sessions (token_hash, user_id, expires_at) "
                  "VALUES (%s, %s, now() - interval '2 days')", (h(), uid))
    site.responder.stop()
    site.responder.start()  # runs cleanup at start, then every cleanup_interval
    servers.wait_for(lambda: site.db.value("SELECT count(*) FROM postern.sessions") == 0,
                     what="the responder's housekeeping")


def test_maintenance_mode(site):
    user(site, "root@example.com", "admin")
    user(site)
    admin, _ = login(site, "root@example.com")
    alice, _ = login(site)
    before = site.authorizer.log().count("rules loaded")
    site.db.query("SELECT postern.set_setting('maintenance', 'on')")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    r = alice.get(site.url + "/index.html", timeout=10)
    assert (r.status_code, r.json()["code"], r.headers["Retry-After"]) == (503, "MAINTENANCE",
                                                                            "300")
    r = alice.get(site.url + "/index.html", headers={"Accept": "text/html"}, timeout=10)
    assert r.status_code == 503 and "Down for maintenance" in r.text
    assert admin.get(site.url + "/index.html", timeout=10).status_code == 200
    assert requests.get(site.url + "/auth/login", timeout=10).status_code == 200  # public
    before = site.authorizer.log().count("rules loaded")
    site.db.query("SELECT postern.set_setting('maintenance', 'off')")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    assert alice.get(site.url + "/index.html", timeout=10).status_code == 200


def test_admin_settings(site):
    user(site, "root@example.com", "admin")
    user(site)
    admin, _ = login(site, "root@example.com")
    alice, _ = login(site)
    r = admin.post(site.url + "/auth/admin/settings", headers=csrf(admin), timeout=10,
                   json={"key": "require_mfa", "value": "on"})
    assert (r.status_code, r.json()["code"]) == (409, "NOT_ALLOWED_NOW")
    assert site.db.value("SELECT value FROM postern.settings WHERE key = 'require_mfa'") == "off"
    r = admin.post(site.url + "/auth/admin/settings", headers=csrf(admin), timeout=10,
                   json={"key": "session_limit", "value": "3"})
    assert r.json() == {"key": "session_limit", "value": "3"}
    r = admin.post(site.url + "/auth/admin/settings", headers=csrf(admin), timeout=10,
                   json={"key": "session_limit", "value": "-1"})
    assert r.status_code == 400
    r = alice.post(site.url + "/auth/admin/settings", headers=csrf(alice), timeout=10,
                   json={"key": "session_limit", "value": "9"})
    assert r.status_code == 403
    assert site.db.value("SELECT count(*) FROM postern.audit_log WHERE event = 'setting.set' "
                         "AND email = 'root@example.com'") == 1
