"""postern-responder's endpoints through lighttpd with both programs (cookie_secure off for
plain HTTP): password login (JSON and form), lockout, session limit, logout, /me, sessions,
password change, API keys, CSRF and return_to validation."""
import concurrent.futures
import os
import re

import pytest
import requests

import fcgi_client
import servers

PASSWORD = "correct horse battery staple"


@pytest.fixture
def site(db, programs, workdir):
    authz = programs("authorizer", cookie_secure="off")
    resp = programs("responder", cookie_secure="off")
    servers.wait_for(lambda: "rules loaded" in authz.log(), what="rules loaded")
    docroot = os.path.join(os.path.dirname(__file__), "docroot")
    web = servers.Lighttpd(workdir, authz.socket, resp.socket, docroot).start()
    web.db, web.authorizer, web.responder = db, authz, resp
    yield web
    web.stop()


def gone(request):
    """The credential stops working: at once in the database, within milliseconds in every
    authorizer's cache (NOTIFY)."""
    servers.eventually(request, lambda r: r.status_code == 401, what="the revocation")


def user(site, email="alice@example.com", role="user", password=PASSWORD):
    return str(site.db.value("SELECT postern.create_user(%s, %s, %s)", (email, password, role)))


def login(site, email="alice@example.com", password=PASSWORD, session=None, **extra):
    s = session or requests.Session()
    r = s.post(site.url + "/auth/login", json={"email": email, "password": password, **extra},
               timeout=30)
    return s, r


def csrf(s):
    return {"X-CSRF-Token": s.cookies.get("postern_session_csrf")}


def test_login_json_sets_cookies_and_opens_the_site(site):
    uid = user(site)
    s, r = login(site)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"session_id", "token", "csrf_token", "expires_at", "user_id"}
    assert body["user_id"] == uid and body["token"].startswith("pst_s_")
    cookies = r.headers["Set-Cookie"]
    assert re.search(r"postern_session=pst_s_[A-Za-z0-9_-]{43}; Path=/; Max-Age=\d+; HttpOnly; "
                     r"SameSite=Lax", cookies)
    assert f"postern_session_csrf={body['csrf_token']}; Path=/" in cookies
    assert r.headers["Cache-Control"] == "no-store"
    # the session row records the client
    row = site.db.one("SELECT auth_method, host(ip), user_agent FROM postern.sessions")
    assert row[0] == "password" and row[1] == "127.0.0.1" and "python-requests" in row[2]
    assert site.db.value("SELECT count(*) FROM postern.audit_log WHERE event = 'login.success'") == 1
    r = s.get(site.url + "/index.html", timeout=10)
    assert (r.status_code, r.text) == (200, "protected page\n")
    me = s.get(site.url + "/auth/me", timeout=10).json()
    assert me["user"]["email"] == "alice@example.com" and me["auth"] == "session"
    assert me["session_id"] == body["session_id"]
    # the token works as a Bearer session token too
    r = requests.get(site.url + "/auth/me", headers={"Authorization": "Bearer " + body["token"]},
                     timeout=10)
    assert r.status_code == 200


@pytest.mark.parametrize("email,password", [
    ("alice@example.com", "wrong password here"),
    ("nobody@example.com", PASSWORD),
    ("not-an-email", PASSWORD),
    ("alice@example.com", "x" * 73),
])
def test_login_failures_answer_alike(site, email, password):
    user(site)
    _, r = login(site, email, password)
    assert (r.status_code, r.json()) == (401, {"error": "wrong email or password",
                                               "code": "INVALID_CREDENTIALS"})
    assert "Set-Cookie" not in r.headers


def test_disabled_user_cannot_log_in(site):
    user(site)
    site.db.query("SELECT postern.disable_user('alice@example.com')")
    assert login(site)[1].status_code == 401


def test_lockout_survives_restart_and_counts_exactly(site):
    user(site)
    site.db.query("SELECT postern.set_setting('lockout_threshold', '5')")
    for _ in range(4):
        assert login(site, password="wrong password x")[1].status_code == 401
    _, r = login(site, password="wrong password x")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.json()["code"] == "LOCKED_OUT"
    # locked: even the right password is refused, and alike for an unknown email's lock
    assert login(site)[1].status_code == 429
    site.responder.stop()
    site.responder.start()
    assert login(site)[1].status_code == 429
    site.db.query("SELECT postern.unlock_account('alice@example.com')")
    assert login(site)[1].status_code == 200


def test_parallel_wrong_passwords_leave_the_counter_exact(site):
    user(site)
    site.db.query("SELECT postern.set_setting('lockout_threshold', '1000')")
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: login(site, password="wrong password x")[1].status_code,
                              range(50)))
    assert codes == [401] * 50
    assert site.db.value("SELECT failures FROM postern.login_attempts") == 50


def test_session_limit_under_parallel_logins(site):
    user(site)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = [r.status_code for _, r in pool.map(lambda _: login(site), range(8))]
    assert codes == [200] * 8
    assert site.db.value("SELECT count(*) FROM postern.sessions WHERE revoked_at IS NULL") == 5


def test_form_login_redirects_to_validated_return_to(site):
    user(site)
    s = requests.Session()
    r = s.post(site.url + "/auth/login", data={"email": "alice@example.com", "password": PASSWORD,
                                               "return_to": "/index.html?x=1"},
               allow_redirects=False, timeout=30)
    assert (r.status_code, r.headers["Location"]) == (303, "/index.html?x=1")
    for evil in ("//evil.example", "https://evil.example/", "/\\evil.example", "/%2F/evil",
                 "javascript:alert(1)", " /x", "/x\r\nSet-Cookie: a=b"):
        r = requests.post(site.url + "/auth/login",
                          data={"email": "alice@example.com", "password": PASSWORD,
                                "return_to": evil}, allow_redirects=False, timeout=30)
        assert (r.status_code, r.headers["Location"]) == (303, "/"), evil
    r = requests.post(site.url + "/auth/login", data={"email": "alice@example.com",
                                                      "password": "wrong password x"},
                      timeout=30)
    assert r.status_code == 401 and "Wrong email or password." in r.text
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"


def test_login_page_headers_and_escaping(site):
    r = requests.get(site.url + "/auth/login?return_to=/a%22%3E%3Cscript%3E", timeout=10)
    assert r.status_code == 200
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'sha256-" in csp
    assert "<script>" not in r.text
    assert '<form method="post" action="/auth/login">' in r.text


def test_cross_site_login_post_refused(site):
    user(site)
    r = requests.post(site.url + "/auth/login", json={"email": "alice@example.com",
                                                      "password": PASSWORD},
                      headers={"Origin": "https://evil.example"}, timeout=30)
    assert (r.status_code, r.json()["code"]) == (403, "CSRF")


def test_session_fixation_never_reuses_a_presented_token(site):
    user(site)
    planted = "pst_s_" + "A" * 43
    s = requests.Session()
    s.cookies.set("postern_session", planted, domain="127.0.0.1", path="/")
    _, r = login(site, session=s)
    assert r.status_code == 200
    assert r.json()["token"] != planted
    assert s.cookies.get("postern_session") == r.json()["token"]


def test_logout_revokes_and_clears(site):
    user(site)
    s, r = login(site)
    token = r.json()["token"]
    r = s.post(site.url + "/auth/logout", timeout=10)
    assert r.status_code == 204
    assert r.headers["Clear-Site-Data"] == '"cookies"'
    assert "postern_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" in r.headers["Set-Cookie"]
    assert "postern_session_csrf=; Path=/; Max-Age=0; SameSite=Lax" in r.headers["Set-Cookie"]
    assert site.db.value("SELECT revoked_reason FROM postern.sessions") == "logout"
    gone(lambda: requests.get(site.url + "/index.html", cookies={"postern_session": token},
                              timeout=10))
    # idempotent
    assert requests.post(site.url + "/auth/logout", timeout=10).status_code == 204


def test_csrf_on_mutating_endpoints(site):
    user(site)
    s, _ = login(site)
    s2, _ = login(site)
    sid2 = s2.cookies.get("postern_session")
    assert sid2
    sessions = s.get(site.url + "/auth/sessions", timeout=10).json()
    other = next(x["id"] for x in sessions if not x["current"])
    # no header, a wrong one, or a planted cookie+header pair: refused
    assert s.delete(site.url + f"/auth/sessions/{other}", timeout=10).status_code == 403
    r = s.delete(site.url + f"/auth/sessions/{other}", headers={"X-CSRF-Token": "x" * 43},
                 timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "CSRF_TOKEN")
    r = s.delete(site.url + f"/auth/sessions/{other}", headers=csrf(s2), timeout=10)
    assert r.status_code == 403
    r = s.delete(site.url + f"/auth/sessions/{other}", headers=csrf(s), timeout=10)
    assert r.status_code == 200
    gone(lambda: s2.get(site.url + "/index.html", timeout=10))


def test_sessions_list_and_revoke_others(site):
    user(site)
    s, r = login(site)
    login(site)
    login(site)
    listed = s.get(site.url + "/auth/sessions", timeout=10).json()
    assert len(listed) == 3 and sum(x["current"] for x in listed) == 1
    assert {"id", "created_at", "last_seen_at", "expires_at", "auth_method", "ip",
            "user_agent", "current"} <= set(listed[0])
    r = s.delete(site.url + "/auth/sessions", headers=csrf(s), timeout=10)
    assert r.json() == {"revoked": 2}
    assert len(s.get(site.url + "/auth/sessions", timeout=10).json()) == 1


def test_admin_sessions_of_a_user(site):
    uid = user(site)
    user(site, "root@example.com", "admin")
    login(site)
    admin, _ = login(site, "root@example.com")
    alice, _ = login(site)
    r = admin.get(site.url + f"/auth/admin/users/{uid}/sessions", timeout=10)
    assert r.status_code == 200 and len(r.json()) == 2
    r = alice.get(site.url + f"/auth/admin/users/{uid}/sessions", timeout=10)
    assert r.status_code == 403
    r = admin.delete(site.url + f"/auth/admin/users/{uid}/sessions", headers=csrf(admin),
                     timeout=10)
    assert r.json() == {"revoked": 2}
    gone(lambda: alice.get(site.url + "/index.html", timeout=10))


def test_password_change(site):
    user(site)
    s, _ = login(site)
    other, _ = login(site)
    new = "another long passphrase"
    r = s.post(site.url + "/auth/password", headers=csrf(s),
               json={"current_password": "wrong one here", "new_password": new}, timeout=30)
    assert (r.status_code, r.json()["code"]) == (403, "WRONG_PASSWORD")
    for bad, code in (("short", "PASSWORD_TOO_SHORT"), ("y" * 73, "PASSWORD_TOO_LONG"),
                      ("Alice@Example.com", "PASSWORD_IS_EMAIL"),
                      ("password1234", "PASSWORD_TOO_COMMON")):
        r = s.post(site.url + "/auth/password", headers=csrf(s),
                   json={"current_password": PASSWORD, "new_password": bad}, timeout=30)
        assert (r.status_code, r.json()["code"]) == (400, code), bad
    r = s.post(site.url + "/auth/password", headers=csrf(s),
               json={"current_password": PASSWORD, "new_password": new}, timeout=30)
    assert r.json() == {"changed": True, "other_sessions_revoked": 1}
    gone(lambda: other.get(site.url + "/index.html", timeout=10))
    assert s.get(site.url + "/index.html", timeout=10).status_code == 200
    assert login(site)[1].status_code == 401
    assert login(site, password=new)[1].status_code == 200


def test_api_keys_lifecycle_and_ceiling(site):
    site.db.query("SELECT postern.create_role('editor', 'Editors')")
    site.db.query("SELECT postern.grant_permission('editor', 'album.read')")
    site.db.query("SELECT postern.grant_permission('editor', 'album.write')")
    user(site, role="editor")
    s, _ = login(site)
    r = s.post(site.url + "/auth/api-keys", headers=csrf(s),
               json={"name": "ci", "permissions": ["album.read", "album.write"]}, timeout=10)
    assert r.status_code == 201, r.text
    key = r.json()
    assert key["secret"].startswith("pst_k_") and key["prefix"] == key["secret"][:12]
    # beyond the role: refused
    r = s.post(site.url + "/auth/api-keys", headers=csrf(s),
               json={"name": "x", "permissions": ["admin.all"]}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "PERMISSION_CEILING")
    r = s.post(site.url + "/auth/api-keys", headers=csrf(s), json={"name": "x"}, timeout=10)
    assert r.status_code == 400
    # a key creating a key: never more than itself
    reader = s.post(site.url + "/auth/api-keys", headers=csrf(s),
                    json={"name": "reader", "permissions": ["album.read"]}, timeout=10).json()
    kh = {"X-Api-Key": reader["secret"]}
    r = requests.post(site.url + "/auth/api-keys", headers=kh,
                      json={"name": "escalate", "permissions": ["album.write"]}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "PERMISSION_CEILING")
    r = requests.post(site.url + "/auth/api-keys", headers=kh,
                      json={"name": "same", "permissions": ["album.read"]}, timeout=10)
    assert r.status_code == 201
    listed = s.get(site.url + "/auth/api-keys", timeout=10).json()
    assert {k["name"] for k in listed} == {"ci", "reader", "same"}
    assert all("secret" not in k and "token_hash" not in k for k in listed)
    r = s.patch(site.url + f"/auth/api-keys/{key['id']}", headers=csrf(s),
                json={"name": "ci2", "permissions": ["album.read"]}, timeout=10)
    assert r.json() == {"updated": True}
    rotated = s.post(site.url + f"/auth/api-keys/{key['id']}/rotate", headers=csrf(s),
                     timeout=10).json()
    assert rotated["secret"] != key["secret"]
    gone(lambda: requests.get(site.url + "/index.html", headers={"X-Api-Key": key["secret"]},
                              timeout=10))
    assert requests.get(site.url + "/index.html", headers={"X-Api-Key": rotated["secret"]},
                        timeout=10).status_code == 200
    r = s.delete(site.url + f"/auth/api-keys/{key['id']}", headers=csrf(s), timeout=10)
    assert r.json() == {"revoked": True}
    gone(lambda: requests.get(site.url + "/index.html", headers={"X-Api-Key": rotated["secret"]},
                              timeout=10))
    assert s.delete(site.url + f"/auth/api-keys/{key['id']}", headers=csrf(s),
                    timeout=10).status_code == 404


def test_responder_input_errors(site):
    user(site)
    r = requests.post(site.url + "/auth/login", data="{", headers={
        "Content-Type": "application/json"}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (400, "BAD_JSON")
    r = requests.post(site.url + "/auth/login", data="x", headers={"Content-Type": "text/plain"},
                      timeout=10)
    assert (r.status_code, r.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    r = requests.post(site.url + "/auth/login", json={"email": 5, "password": PASSWORD},
                      timeout=10)
    assert r.status_code == 400
    r = requests.post(site.url + "/auth/login", data=b"a" * (70 * 1024),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413
    s, _ = login(site)
    r = s.get(site.url + "/auth/sessions/not-a-uuid", timeout=10)
    assert r.status_code == 404
    r = s.put(site.url + "/auth/sessions", timeout=10)
    assert (r.status_code, r.headers["Allow"]) == (405, "GET, DELETE")


def test_password_protected_shared_link(site):
    user(site, "owner@example.com", "admin")
    key = site.db.value("SELECT postern.create_shared_link('owner@example.com', '/share/album1', "
                        "ARRAY['album.read'], now() + interval '1 day', 'link password 123')")
    site.db.query("INSERT INTO postern.rules (priority, path_pattern, access, allow_shared_links) "
                  "VALUES (20, '/share/**', 'authenticated', true)")
    photo = site.url + "/share/album1/photo.txt?key=" + key
    # before the NOTIFY reload the key is no credential at all (401 UNAUTHENTICATED)
    servers.wait_for(lambda: requests.get(photo, timeout=10).json()["code"] == "LINK_LOCKED",
                     what="the shared-link rule")
    assert requests.get(photo, timeout=10).status_code == 401
    s = requests.Session()
    r = s.post(site.url + "/auth/shared-links/unlock",
               json={"key": key, "password": "wrong password 1"}, timeout=30)
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_CREDENTIALS")
    r = s.post(site.url + "/auth/shared-links/unlock",
               json={"key": key, "password": "link password 123"}, timeout=30)
    assert r.status_code == 200, r.text
    lid = r.json()["link_id"]
    assert re.match(rf"postern_link_{lid.replace('-', '')}=[A-Za-z0-9_-]{{43}}; Path=/; "
                    r"Max-Age=\d+; HttpOnly; SameSite=Lax$", r.headers["Set-Cookie"])
    r = s.get(photo, timeout=10)
    assert (r.status_code, r.text) == (200, "a shared photo\n")
    # the cookie alone is no credential, and a forged one opens nothing
    assert s.get(site.url + "/share/album1/photo.txt", timeout=10).status_code == 401
    forged = requests.get(photo, cookies={f"postern_link_{lid.replace('-', '')}": "A" * 43},
                          timeout=10)
    assert forged.status_code == 401
    # a new password makes earlier unlocks worthless
    site.db.query("UPDATE postern.shared_links SET password_hash = "
                  "postern._crypt('another password 9', postern._gen_salt(12))")
    gone(lambda: s.get(photo, timeout=10))


def test_shared_link_password_lockout(site):
    user(site, "owner@example.com", "admin")
    key = site.db.value("SELECT postern.create_shared_link('owner@example.com', '/share/album1', "
                        "ARRAY['album.read'], now() + interval '1 day', 'link password 123')")
    site.db.query("SELECT postern.set_setting('lockout_threshold', '3')")
    codes = [requests.post(site.url + "/auth/shared-links/unlock",
                           json={"key": key, "password": "wrong password 1"},
                           timeout=30).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    r = requests.post(site.url + "/auth/shared-links/unlock",
                      json={"key": key, "password": "link password 123"}, timeout=30)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
