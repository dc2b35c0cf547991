"""No secret in any log line: flows with every secret kind the programs handle today, then a
search of both programs' logs (at debug level), lighttpd's error log and PostgreSQL's log."""
import os

import requests

from test_responder import PASSWORD, csrf, login, site, user  # noqa: F401


def test_no_secret_reaches_a_log(site, pg):
    secrets_seen = [PASSWORD, "wrong password given", "link password 123"]
    user(site, role="admin")
    s, r = login(site)
    secrets_seen += [r.json()["token"], r.json()["csrf_token"]]
    login(site, password="wrong password given")
    key = s.post(site.url + "/auth/api-keys", headers=csrf(s),
                 json={"name": "k", "permissions": ["all"]}, timeout=10).json()["secret"]
    secrets_seen.append(key)
    assert requests.get(site.url + "/index.html", headers={"X-Api-Key": key},
                        timeout=10).status_code == 200
    link = site.db.value("SELECT postern.create_shared_link('alice@example.com', '/share/album1', "
                         "ARRAY['album.read'], now() + interval '1 day', 'link password 123')")
    secrets_seen.append(link)
    requests.post(site.url + "/auth/shared-links/unlock",
                  json={"key": link, "password": "link password 123"}, timeout=10)
    requests.post(site.url + "/auth/shared-links/unlock",
                  json={"key": link, "password": "wrong password given"}, timeout=10)
    # garbage and malformed credentials are logged by nobody either
    bogus = "pst_s_" + "Q" * 43
    secrets_seen.append(bogus)
    requests.get(site.url + "/index.html", headers={"Authorization": "Bearer " + bogus}, timeout=10)
    requests.get(site.url + "/index.html", cookies={"postern_session": bogus + "x"}, timeout=10)
    s.post(site.url + "/auth/password", headers=csrf(s),
           json={"current_password": PASSWORD, "new_password": "brand new passphrase 1"},
           timeout=30)
    secrets_seen.append("brand new passphrase 1")
    with open(os.path.join(os.path.dirname(site.authorizer.config), "server.key")) as f:
        secrets_seen.append(f.read().strip())
    logs = {
        "authorizer": site.authorizer.log(),
        "responder": site.responder.log(),
        "lighttpd": site.errors(),
        "postgresql": pg.log(),
    }
    assert "serving with" in logs["authorizer"] and "serving with" in logs["responder"]
    for name, text in logs.items():
        for secret in secrets_seen:
            assert secret not in text, f"{name} log holds a secret"


def test_no_oidc_secret_reaches_a_log(oidc_site, panva, pg):
    import urllib.parse

    from oidc_fixtures import CLIENT_SECRET
    site = oidc_site.start(panva.issuer)
    site.setting("oidc_auto_register", "on")
    seen = [CLIENT_SECRET, "idp password"]
    s = requests.Session()
    authorize = site.start_login(s)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize).query))
    seen += [q["state"], q["nonce"], s.cookies.get("postern_session_oidc"),
             site.db.value("SELECT code_verifier FROM postern.oidc_states")]
    back = panva.login(s, authorize, "panva-sub-1", "idp password")
    seen.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["code"])
    r = site.callback(s, back)
    assert r.status_code == 200, r.text
    seen += [r.json()["token"], site.db.value("SELECT oidc_id_token FROM postern.sessions")]
    site.callback(s, back)  # a replay is refused and logged, without the code or state
    # a logout token too
    sid = site.db.value("SELECT oidc_sid FROM postern.sessions")
    panva.backchannel_logout("postern-test", "panva-sub-1", sid)
    logs = {"responder": site.responder.log(), "authorizer": site.authorizer.log(),
            "lighttpd": site.web.errors(), "postgresql": pg.log()}
    assert "back-channel logout revoked 1" in logs["responder"]
    for name, text in logs.items():
        for secret in seen:
            assert secret and secret not in text, f"{name} log holds an OIDC secret"
