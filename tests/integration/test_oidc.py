"""OIDC login through lighttpd with both programs against a real OpenID Provider (panva's
oidc-provider, tests/idp): the code flow with PKCE, user mapping and policy, the state's
single use and browser binding, the SPA/mobile variant, linking, RP-initiated and
back-channel logout."""
import base64
import hashlib
import re
import secrets

import requests

import servers
from oidc_fixtures import CLIENT_ID, T, authorize_params, panva_login
from test_browser import browser  # noqa: F401


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_code_flow_creates_a_user_and_a_session(oidc_site, panva):
    site = oidc_site.start(panva.issuer, oidc_scopes="openid email profile groups")
    site.setting("oidc_auto_register", "on")
    s = requests.Session()
    r = s.get(site.url + "/auth/oidc/start?return_to=/app.html", allow_redirects=False, timeout=T)
    assert re.fullmatch(r"postern_session_oidc=[A-Za-z0-9_-]{43}; Path=/; Max-Age=(59\d|600); "
                        r"HttpOnly; SameSite=Lax", r.headers["Set-Cookie"]), r.headers["Set-Cookie"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    authorize = site.start_login(s, return_to="/app.html")  # a second tab reuses the binding
    # the authorization request: code flow, PKCE S256, state and nonce, our redirect URI
    p = authorize_params(authorize)
    assert authorize.startswith(panva.issuer + "/auth?")
    assert p["response_type"] == "code" and p["client_id"] == CLIENT_ID
    assert p["redirect_uri"] == site.redirect_uri and p["code_challenge_method"] == "S256"
    assert p["scope"] == "openid email profile groups"
    assert len(p["state"]) == 43 and len(p["nonce"]) == 43 and len(p["code_challenge"]) == 43
    # the state is kept only as a hash; the browser got the binding cookie
    assert site.db.value("SELECT count(*) FROM postern.oidc_states") == 2
    assert all(590 <= t <= 600 for (t,) in site.db.query(
        "SELECT extract(epoch FROM expires_at - now()) FROM postern.oidc_states"))
    assert s.cookies.get("postern_session_oidc") is not None
    back = panva.login(s, authorize, "panva-sub-1", "idp password")
    r = site.callback(s, back, headers={"Accept": "text/html"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/app.html"
    assert "postern_session=pst_s_" in r.headers["Set-Cookie"]
    # the state is gone; the user exists, linked to the provider's subject
    assert site.db.value("SELECT count(*) FROM postern.oidc_states") == 1  # the other tab's
    uid, email, name, role, pw = site.db.one(
        "SELECT id::text, email, display_name, role, password_hash FROM postern.users")
    assert (email, name, role, pw) == ("oidc@example.com", "Oidc User", "user", None)
    assert site.db.one("SELECT issuer, subject, email FROM postern.user_identities") == (
        panva.issuer, "panva-sub-1", "oidc@example.com")
    method, issuer, sid, id_token = site.db.one(
        "SELECT auth_method, oidc_issuer, oidc_sid, oidc_id_token FROM postern.sessions")
    assert (method, issuer) == ("oidc", panva.issuer)
    assert len(sid) == 43 and id_token.count(".") == 2
    events = [e for (e,) in site.db.query("SELECT event FROM postern.audit_log ORDER BY id")]
    assert events == ["setting.set", "user.create", "login.success"]
    # the session opens the site through the authorizer
    r = s.get(site.url + "/index.html", timeout=T)
    assert (r.status_code, r.text) == (200, "protected page\n")
    me = s.get(site.url + "/auth/me", timeout=T).json()
    assert me["user"]["user_id"] == uid and me["auth"] == "session"


def test_no_account_without_auto_register(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    s, r = panva_login(site, panva)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "OIDC_NO_ACCOUNT"
    assert site.db.value("SELECT count(*) FROM postern.users") == 0
    assert site.db.value("SELECT count(*) FROM postern.sessions") == 0
    # a browser gets the generic error page, with a way back
    s, r = panva_login(site, panva, session=requests.Session())
    assert r.status_code == 403


def test_error_page_for_browsers(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    s = requests.Session()
    back = panva.login(s, site.start_login(s), "panva-sub-1", "idp password")
    r = site.callback(s, back, headers={"Accept": "text/html"})
    assert r.status_code == 403
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Sign-in failed</h1>" in r.text and 'href="/auth/login"' in r.text
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_existing_email_is_linked_only_when_allowed_and_verified(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    uid = str(site.db.value("SELECT postern.create_user('oidc@example.com', %s)",
                            ("a long enough password",)))
    site.setting("oidc_auto_register", "on")
    s, r = panva_login(site, panva)
    assert r.status_code == 409 and r.json()["code"] == "OIDC_ACCOUNT_CONFLICT"
    assert site.db.value("SELECT count(*) FROM postern.user_identities") == 0
    site.setting("oidc_link_by_email", "on")
    s, r = panva_login(site, panva)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == uid
    assert site.db.value("SELECT user_id::text FROM postern.user_identities") == uid
    assert site.db.value("SELECT detail->>'by' FROM postern.audit_log WHERE event = 'oidc.link'") == "email"
    # the next login finds the identity, whatever the settings say now
    site.setting("oidc_link_by_email", "off")
    s, r = panva_login(site, panva)
    assert r.status_code == 200 and r.json()["user_id"] == uid


def test_state_is_single_use_and_bound_to_the_browser(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_auto_register", "on")
    s = requests.Session()
    back = panva.login(s, site.start_login(s), "panva-sub-1", "idp password")
    # another browser (no binding cookie) presenting the response: refused, and the state is
    # used up, so the rightful browser cannot be raced into someone else's login either
    other = requests.Session()
    r = site.callback(other, back)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    assert site.db.value("SELECT count(*) FROM postern.oidc_states") == 0
    r = site.callback(s, back)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    # a fresh login works, and its response cannot be replayed
    back = panva.login(s, site.start_login(s), "panva-sub-1", "idp password")
    assert site.callback(s, back).status_code == 200
    r = site.callback(s, back)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    assert site.db.value("SELECT count(*) FROM postern.sessions") == 1
    # a forged cookie does not help either
    s2 = requests.Session()
    back = panva.login(s2, site.start_login(s2), "panva-sub-1", "idp password")
    s2.cookies.set("postern_session_oidc", "A" * 43)
    assert site.callback(s2, back).status_code == 400


def test_missing_or_unknown_state(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    r = requests.get(site.redirect_uri + "?code=abc", timeout=T)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_MISSING"
    r = requests.get(site.redirect_uri + "?code=abc&state=" + "x" * 43, timeout=T)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    r = requests.get(site.redirect_uri + "?code=a&code=b&state=x", timeout=T)
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"


def test_role_from_claim_and_allowed_groups(oidc_site, panva):
    site = oidc_site.start(panva.issuer, oidc_scopes="openid email profile groups",
                           oidc_role_claim="groups", oidc_role_map="admins=admin staff=user",
                           oidc_allowed_groups="staff")
    site.setting("oidc_auto_register", "on")
    s, r = panva_login(site, panva)
    assert r.status_code == 200, r.text
    assert site.db.value("SELECT role FROM postern.users") == "admin"
    # the role follows the claim on every login
    site.db.query("UPDATE postern.users SET role = 'user'")
    s, r = panva_login(site, panva)
    assert site.db.value("SELECT role FROM postern.users") == "admin"
    assert site.db.value("SELECT count(*) FROM postern.audit_log WHERE event = 'user.set_role'") == 1
    # a user outside the allowed groups is turned away before anything is written
    s, r = panva_login(site, panva, login="panva-sub-2")
    assert r.status_code == 403 and r.json()["code"] == "OIDC_GROUP_DENIED"
    assert site.db.value("SELECT count(*) FROM postern.users") == 1


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def test_client_with_its_own_pkce_pair(oidc_site, panva):
    """A mobile app or SPA: the authorization URL as JSON, then POST the redirect it caught."""
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_auto_register", "on")
    verifier, challenge = pkce_pair()
    r = requests.post(site.url + "/auth/oidc/start", json={"code_challenge": challenge}, timeout=T)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"url", "state", "expires_at"} and "Set-Cookie" not in r.headers
    assert authorize_params(body["url"])["code_challenge"] == challenge
    browser = requests.Session()
    back = panva.login(browser, body["url"], "panva-sub-1", "idp password")
    # the wrong verifier: refused before the code is redeemed, and the state is spent
    wrong, _ = pkce_pair()
    r = requests.post(site.url + "/auth/oidc/callback",
                      json={"url": back, "state": body["state"], "code_verifier": wrong}, timeout=T)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_PKCE_MISMATCH"
    r = requests.post(site.url + "/auth/oidc/start", json={"code_challenge": challenge}, timeout=T)
    body = r.json()
    back = panva.login(browser, body["url"], "panva-sub-1", "idp password")
    # a browser-bound callback refuses a client's state
    assert site.callback(requests.Session(), back).status_code == 400
    r = requests.post(site.url + "/auth/oidc/start", json={"code_challenge": challenge}, timeout=T)
    body = r.json()
    back = panva.login(browser, body["url"], "panva-sub-1", "idp password")
    r = requests.post(site.url + "/auth/oidc/callback",
                      json={"url": back, "state": body["state"], "code_verifier": verifier}, timeout=T)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    r = requests.get(site.url + "/index.html", headers=bearer(token), timeout=T)
    assert r.status_code == 200
    # bad inputs
    for bad in ({"code_challenge": "short"}, {}, {"code_challenge": challenge + "A"}):
        r = requests.post(site.url + "/auth/oidc/start", json=bad, timeout=T)
        assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"
    r = requests.post(site.url + "/auth/oidc/callback",
                      json={"url": "https://evil.example/cb?code=x&state=y", "state": "y",
                            "code_verifier": verifier}, timeout=T)
    assert r.status_code == 400 and r.json()["code"] == "BAD_REQUEST"


def test_logout_ends_the_provider_session_too(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_auto_register", "on")
    s, r = panva_login(site, panva, return_to="/app.html")
    assert r.status_code == 200
    id_token = site.db.value("SELECT oidc_id_token FROM postern.sessions")
    r = s.post(site.url + "/auth/logout", data="", allow_redirects=False, timeout=T,
               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303, r.text
    end = r.headers["Location"]
    p = authorize_params(end)
    assert end.startswith(panva.issuer + "/session/end?")
    assert p == {"id_token_hint": id_token, "post_logout_redirect_uri": site.url + "/",
                 "client_id": CLIENT_ID}
    assert site.db.value("SELECT revoked_reason FROM postern.sessions") == "logout"
    # the provider accepts it and comes back to the site
    assert panva.logout(s, end) == site.url + "/"
    # JSON clients get the URL to send the user to
    s, r = panva_login(site, panva)
    r = s.post(site.url + "/auth/logout", timeout=T)
    assert r.status_code == 200 and r.json()["logout_url"].startswith(panva.issuer + "/session/end?")
    # a password session logs out as before
    site.db.query("SELECT postern.create_user('pw@example.com', 'a long enough password')")
    s = requests.Session()
    s.post(site.url + "/auth/login", json={"email": "pw@example.com",
                                           "password": "a long enough password"}, timeout=T)
    assert s.post(site.url + "/auth/logout", timeout=T).status_code == 204


def test_backchannel_logout_revokes_the_session(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_auto_register", "on")
    s, r = panva_login(site, panva)
    token = r.json()["token"]
    assert requests.get(site.url + "/index.html", headers=bearer(token), timeout=T).status_code == 200
    sid = site.db.value("SELECT oidc_sid FROM postern.sessions")
    panva.backchannel_logout(CLIENT_ID, "panva-sub-1", sid)
    assert site.db.value("SELECT revoked_reason FROM postern.sessions") == "oidc back-channel logout"
    servers.eventually(lambda: requests.get(site.url + "/index.html", headers=bearer(token), timeout=T),
                       lambda r: r.status_code == 401, what="the back-channel revocation")
    assert site.db.value("SELECT count(*) FROM postern.oidc_logout_jtis") == 1


def test_link_and_unlink(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    uid = str(site.db.value("SELECT postern.create_user('pw@example.com', 'a long enough password')"))
    s = requests.Session()
    r = s.post(site.url + "/auth/login", json={"email": "pw@example.com",
                                               "password": "a long enough password"}, timeout=T)
    csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
    # a cookie-authenticated POST needs the CSRF token
    assert s.post(site.url + "/auth/oidc/link", json={}, timeout=T).status_code == 403
    r = s.post(site.url + "/auth/oidc/link", json={"return_to": "/app.html"}, headers=csrf, timeout=T)
    assert r.status_code == 200, r.text
    back = panva.login(s, r.json()["url"], "panva-sub-1", "idp password")
    r = site.callback(s, back, headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["Location"] == "/app.html"
    assert site.db.one("SELECT user_id::text, subject FROM postern.user_identities") == (uid, "panva-sub-1")
    # now the provider signs this user in, although the emails differ and nothing auto-registers
    s2, r = panva_login(site, panva)
    assert r.status_code == 200 and r.json()["user_id"] == uid
    ids = s.get(site.url + "/auth/oidc/link", timeout=T).json()["identities"]
    assert [(i["issuer"], i["subject"]) for i in ids] == [(panva.issuer, "panva-sub-1")]
    # the same provider account cannot be linked to a second user
    site.db.query("SELECT postern.create_user('second@example.com', 'a long enough password')")
    s3 = requests.Session()
    r = s3.post(site.url + "/auth/login", json={"email": "second@example.com",
                                                "password": "a long enough password"}, timeout=T)
    r = s3.post(site.url + "/auth/oidc/link", json={}, headers={"X-CSRF-Token": r.json()["csrf_token"]},
                timeout=T)
    back = panva.login(s3, r.json()["url"], "panva-sub-1", "idp password")
    r = site.callback(s3, back)
    assert r.status_code == 409 and r.json()["code"] == "OIDC_ACCOUNT_CONFLICT"
    # unlinking
    r = s.delete(site.url + "/auth/oidc/link", headers=csrf, timeout=T)
    assert (r.status_code, r.json()) == (200, {"unlinked": True})
    assert site.db.value("SELECT count(*) FROM postern.user_identities") == 0
    assert site.db.value("SELECT count(*) FROM postern.audit_log WHERE event = 'oidc.unlink'") == 1


def test_last_sign_in_method_and_admin_unlink(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_auto_register", "on")
    s, r = panva_login(site, panva)
    uid, csrf = r.json()["user_id"], {"X-CSRF-Token": r.json()["csrf_token"]}
    r = s.delete(site.url + "/auth/oidc/link", headers=csrf, timeout=T)
    assert r.status_code == 409 and r.json()["code"] == "LAST_SIGN_IN_METHOD"
    assert site.db.value("SELECT count(*) FROM postern.user_identities") == 1
    # an administrator may (and a non-administrator may not)
    r = s.delete(f"{site.url}/auth/admin/users/{uid}/oidc", headers=csrf, timeout=T)
    assert r.status_code == 403
    site.db.query("SELECT postern.create_user('admin@example.com', 'a long enough password', 'admin')")
    a = requests.Session()
    r = a.post(site.url + "/auth/login", json={"email": "admin@example.com",
                                               "password": "a long enough password"}, timeout=T)
    r = a.delete(f"{site.url}/auth/admin/users/{uid}/oidc",
                 headers={"X-CSRF-Token": r.json()["csrf_token"]}, timeout=T)
    assert (r.status_code, r.json()) == (200, {"unlinked": True})
    assert site.db.value("SELECT detail->>'by' FROM postern.audit_log WHERE event = 'oidc.unlink'") == "admin"


def test_login_page_button_and_auto_launch(oidc_site, panva):
    site = oidc_site.start(panva.issuer, oidc_button_text="Sign in with <Panva>",
                           oidc_auto_launch="on")
    r = requests.get(site.url + "/auth/login?return_to=/app.html", allow_redirects=False, timeout=T)
    assert r.status_code == 302
    assert r.headers["Location"] == "/auth/oidc/start?return_to=%2Fapp.html"
    r = requests.get(site.url + "/auth/login?local=1&return_to=/app.html", timeout=T)
    assert r.status_code == 200
    assert ('<a id="oidc" class="sso" href="/auth/oidc/start?return_to=%2Fapp.html">'
            "Sign in with &lt;Panva&gt;</a>") in r.text


def test_oidc_login_setting_off(oidc_site, panva):
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_login", "off")
    r = requests.get(site.url + "/auth/oidc/start", allow_redirects=False, timeout=T)
    assert r.status_code == 403


def test_not_configured(oidc_site):
    site = oidc_site.start(None, external_url=None, oidc_client_id=None,
                           oidc_client_secret_file=None)
    for path in ("/auth/oidc/start", "/auth/oidc/callback?state=x&code=y"):
        r = requests.get(site.url + path, allow_redirects=False, timeout=T)
        assert r.status_code == 404 and r.json()["code"] == "OIDC_NOT_CONFIGURED", (path, r.text)
    assert 'id="oidc"' not in requests.get(site.url + "/auth/login", timeout=T).text


def test_sign_in_with_the_provider_in_a_browser(oidc_site, panva, browser):
    from selenium.webdriver.common.by import By
    from test_browser import wait_title
    site = oidc_site.start(panva.issuer, oidc_button_text="Sign in with Panva")
    site.setting("oidc_auto_register", "on")
    browser.get(site.url + "/app.html")
    wait_title(browser, "Sign in")
    browser.find_element(By.ID, "oidc").click()
    # the provider's own login form
    browser.find_element(By.ID, "login").send_keys("oidc@example.com")
    browser.find_element(By.ID, "password").send_keys("idp password")
    browser.find_element(By.ID, "submit").click()
    wait_title(browser, "Protected app")
    assert browser.current_url == site.url + "/app.html"
    assert site.db.value("SELECT auth_method FROM postern.sessions WHERE revoked_at IS NULL") == "oidc"


def test_public_client_with_pkce_alone(oidc_site, workdir):
    """oidc_token_auth = none: no client secret anywhere; the code is redeemed with the PKCE
    verifier and the client id alone."""
    import os

    from idp import PanvaIdp, ensure_node_modules
    from oidc_fixtures import ACCOUNT
    ensure_node_modules()
    d = os.path.join(workdir, "public-idp")
    os.mkdir(d)
    idp = PanvaIdp(d, clients=[{
        "client_id": CLIENT_ID, "token_endpoint_auth_method": "none",
        "redirect_uris": [oidc_site.redirect_uri], "grant_types": ["authorization_code"],
        "response_types": ["code"]}], accounts=[ACCOUNT]).start()
    try:
        site = oidc_site.start(idp.issuer, oidc_token_auth="none", oidc_client_secret_file=None)
        site.setting("oidc_auto_register", "on")
        s, r = panva_login(site, idp)
        assert r.status_code == 200, r.text
        assert site.db.value("SELECT auth_method FROM postern.sessions") == "oidc"
    finally:
        idp.stop()
