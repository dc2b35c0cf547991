"""Access and refresh tokens (rotation, reuse revoking the family and session, parallel
refreshes) and single-use tokens (once, purpose, path, bounds), through lighttpd."""
import concurrent.futures

import requests

import servers
from test_responder import login, site, user  # noqa: F401


def bearer(token):
    return {"Authorization": "Bearer " + token}


def pair(site):
    user(site)
    _, r = login(site)
    session = r.json()["token"]
    r = requests.post(site.url + "/auth/token", headers=bearer(session), json={}, timeout=10)
    assert r.status_code == 200, r.text
    return session, r.json()


def refresh(site, token):
    return requests.post(site.url + "/auth/token", timeout=10,
                         json={"grant_type": "refresh_token", "refresh_token": token})


def test_access_token_and_rotation(site):
    _, t = pair(site)
    assert set(t) == {"access_token", "token_type", "expires_in", "refresh_token",
                      "refresh_expires_at"}
    assert t["token_type"] == "Bearer" and t["expires_in"] == 900
    assert t["refresh_token"].startswith("pst_r_") and t["access_token"].count(".") == 2
    r = requests.get(site.url + "/auth/me", headers=bearer(t["access_token"]), timeout=10)
    assert r.status_code == 200 and r.json()["auth"] == "jwt"
    assert requests.get(site.url + "/index.html", headers=bearer(t["access_token"]),
                        timeout=10).status_code == 200
    r = refresh(site, t["refresh_token"])
    assert r.status_code == 200
    t2 = r.json()
    assert t2["refresh_token"] != t["refresh_token"]
    assert site.db.value("SELECT count(DISTINCT family_id) FROM postern.refresh_tokens") == 1
    # the session is kept: no new session for a refresh
    assert site.db.value("SELECT count(*) FROM postern.sessions") == 1


def test_refresh_token_reuse_revokes_family_and_session(site):
    session, t = pair(site)
    t2 = refresh(site, t["refresh_token"]).json()
    r = refresh(site, t["refresh_token"])  # the old one again: it leaked
    assert (r.status_code, r.json()["code"]) == (401, "REFRESH_TOKEN_REUSED")
    assert refresh(site, t2["refresh_token"]).status_code == 401  # the family is gone
    assert site.db.value("SELECT revoked_reason FROM postern.sessions") == "refresh token reuse"
    assert site.db.value("SELECT count(*) FROM postern.audit_log WHERE event = 'refresh.reuse'") == 1
    servers.eventually(lambda: requests.get(site.url + "/index.html", headers=bearer(
        t2["access_token"]), timeout=10).status_code, lambda s: s == 401)
    assert requests.get(site.url + "/index.html", headers=bearer(session),
                        timeout=10).status_code == 401


def test_fifty_parallel_refreshes_one_wins(site):
    _, t = pair(site)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: refresh(site, t["refresh_token"]).status_code, range(50)))
    # exactly one rotation; every other presentation is a reuse (and revokes the family)
    assert codes.count(200) == 1 and codes.count(401) == 49


def test_token_endpoint_errors(site):
    user(site)
    assert requests.post(site.url + "/auth/token", json={}, timeout=10).status_code == 401
    r = refresh(site, "pst_r_" + "A" * 43)
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_GRANT")
    r = refresh(site, "not-a-token")
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_GRANT")
    r = requests.post(site.url + "/auth/token", json={"grant_type": "password"}, timeout=10)
    assert r.json()["code"] == "UNSUPPORTED_GRANT_TYPE"
    # an API key cannot mint session tokens
    site.db.query("SELECT postern.grant_permission('user', 'album.read')")
    key = site.db.value("SELECT postern.create_api_key('alice@example.com', 'k', "
                        "ARRAY['album.read'])")
    r = requests.post(site.url + "/auth/token", headers={"X-Api-Key": key}, json={}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "SESSION_REQUIRED")


def test_single_use_tokens(site):
    session, _ = pair(site)
    before = site.authorizer.log().count("rules loaded")
    site.db.query("INSERT INTO postern.rules (priority, path_pattern, access, token_purpose) "
                  "VALUES (20, '/ws/**', 'authenticated', 'websocket'), "
                  "(21, '/files/**', 'authenticated', 'download')")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    r = requests.post(site.url + "/auth/ws-token", headers=bearer(session),
                      json={"path": "/ws/chat"}, timeout=10)
    assert r.status_code == 200, r.text
    ws = r.json()
    assert ws["purpose"] == "websocket" and ws["token"].startswith("pst_t_")
    # the authorizer consumes it once, for its purpose and path only
    assert requests.get(site.url + "/ws/other?token=" + ws["token"], timeout=10).status_code == 401
    ws = requests.post(site.url + "/auth/ws-token", headers=bearer(session),
                       json={"path": "/ws/chat"}, timeout=10).json()
    r = requests.get(site.url + "/ws/chat?token=" + ws["token"], timeout=10)
    assert r.status_code == 404  # allowed by the authorizer; lighttpd has no such file
    assert requests.get(site.url + "/ws/chat?token=" + ws["token"], timeout=10).status_code == 401
    dl = requests.post(site.url + "/auth/resource-token", headers=bearer(session),
                       json={"purpose": "download", "path": "/files/a.txt"}, timeout=10).json()
    assert requests.get(site.url + "/ws/chat?token=" + dl["token"], timeout=10).status_code == 401
    assert site.db.value("SELECT count(*) FROM postern.single_use_tokens "
                         "WHERE used_at IS NULL") == 0  # burned by the wrong use
    # at most single_use_token_limit (5) pending per user
    codes = [requests.post(site.url + "/auth/ws-token", headers=bearer(session),
                           json={"path": "/ws/x"}, timeout=10).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    r = requests.post(site.url + "/auth/resource-token", headers=bearer(session),
                      json={"path": "/files/a"}, timeout=10)
    assert r.status_code == 400


def test_parallel_use_of_one_single_use_token(site):
    session, _ = pair(site)
    before = site.authorizer.log().count("rules loaded")
    site.db.query("INSERT INTO postern.rules (priority, path_pattern, access, token_purpose) "
                  "VALUES (20, '/share/**', 'authenticated', 'download')")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    tok = requests.post(site.url + "/auth/resource-token", headers=bearer(session), timeout=10,
                        json={"purpose": "download", "path": "/share/album1/photo.txt"}).json()
    url = site.url + "/share/album1/photo.txt?token=" + tok["token"]
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: requests.get(url, timeout=10).status_code, range(30)))
    assert codes.count(200) == 1 and codes.count(401) == 29


def test_global_bound_on_pending_single_use_tokens(site):
    session, _ = pair(site)
    other = user(site, email="other@example.com")  # others' tokens fill the store, not ours
    site.db.query("SELECT postern.set_setting('single_use_token_global_limit', '100')")
    site.db.query("""INSERT INTO postern.single_use_tokens (user_id, token_hash, purpose, path, expires_at)
                     SELECT %s, sha256(i::text::bytea), 'websocket', '/ws/x', now() + interval '1 minute'
                       FROM generate_series(1, 100) i""", (other,))
    r = requests.post(site.url + "/auth/ws-token", headers=bearer(session), json={"path": "/ws/x"},
                      timeout=10)
    # a bound of ours, not an outage: the database answered
    assert r.status_code == 503 and r.json()["code"] == "TOKEN_STORE_FULL", r.text
    assert requests.get(site.url + "/auth/health", timeout=10).status_code == 200
