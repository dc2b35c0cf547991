"""The shipped web-server configurations (conf/lighttpd, conf/apache, conf/nginx) in front of
the authorizer, with a CGI/FastCGI backend and a proxied backend: what a client gets on deny and
on allow, what identity reaches the backends, that client-supplied identity never does, and the
rows of DESIGN.md section 7 we can observe (README.md "Web servers" is written from these tests).
Allow wiring is checked with allow_all and with the real postern-authorizer (session cookie,
Bearer session token and API key minted by SQL); deny, path tricks, 400 and 503 with the real
one."""
import time

import pytest
import requests

from webserver_fixtures import WEBSERVERS

IDENTITY = {
    "REMOTE_USER": "bench@example.com",
    "POSTERN_USER": "bench@example.com",
    "POSTERN_USER_ID": "00000000-0000-0000-0000-000000000001",
    "POSTERN_ROLE": "user",
    "POSTERN_AUTH": "session",
    "POSTERN_PERMISSIONS": "album.read album.write",
    "POSTERN_MFA": "off",
}
PROXY_IDENTITY = {
    "x-postern-user": "bench@example.com",
    "x-postern-user-id": "00000000-0000-0000-0000-000000000001",
    "x-postern-role": "user",
    "x-postern-auth": "session",
    "x-postern-permissions": "album.read album.write",
}
SPOOFS = {
    "X-Postern-User": "evil",
    "X_Postern_User": "evil",
    "Variable-REMOTE_USER": "evil",
    "X-Remote-User": "evil",
    "X-Postern-Role": "evil",
    "X_Postern_Permissions": "evil",
}
PATHS = ["/index.html", "/cgi-bin/printenv.cgi", "/app/hello"]


def get(site, path, **kw):
    kw.setdefault("timeout", 10)
    kw.setdefault("allow_redirects", False)
    return requests.get(site.url + path, **kw)


def warm_up(site):
    """mod_fcgid starts the authorizer on the first request, before its database connection is
    up (503, which mod_fcgid turns into 401 with Retry-After): wait for the steady answer."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = get(site, "/index.html")
        if "Retry-After" not in r.headers:
            return
        time.sleep(0.1)


def folded(headers):
    """Header list -> {name folded like CGI/WSGI gateways do ('_' == '-'): [values]}."""
    out = {}
    for name, value in headers:
        out.setdefault(name.lower().replace("_", "-"), []).append(value)
    return out


# -- deny: the real postern-authorizer (denies every request without credentials) ------------

def test_deny_reaches_no_backend(webserver):
    warm_up(webserver)
    for path in PATHS:
        check_deny(webserver, path)


def check_deny(webserver, path):
    r = get(webserver, path, headers={"Accept": "application/json"})
    assert r.status_code == 401, (r.headers, r.text, webserver.errors())
    if webserver.kind in ("lighttpd", "apache-authnz-fcgi"):
        # the authorizer's answer, verbatim (Apache replaces the Content-Type)
        assert r.json() == {"error": "authentication required", "code": "UNAUTHENTICATED"}
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="postern"')
        assert r.headers["Content-Type"] == (
            "application/json" if webserver.kind == "lighttpd" else "text/html; charset=iso-8859-1")
    elif webserver.kind == "apache-fcgid":
        # the conf's ErrorDocument string (a page sending browsers to /auth/login); the
        # authorizer's body is dropped, its headers are passed
        assert b'content="0; url=/auth/login"' in r.content
        assert r.headers["Content-Type"] == "text/html; charset=iso-8859-1"
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="postern"'
        assert r.headers["Cache-Control"] == "no-store"
    else:  # nginx: only WWW-Authenticate survives; conf/nginx/postern.conf adds the body
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="postern"')
        assert r.json() == {"error": "authentication required", "code": "UNAUTHENTICATED"}
        assert r.headers["Content-Type"] == "application/json"
    assert webserver.echo.requests == []
    assert webserver.cgi_hits() == []


# -- allow: allow_all, the trivial allow-all authorizer -----------------------------------------

@pytest.mark.parametrize("authorizer_kind", ["allow_all"])
def test_identity_in_cgi_environment(webserver):
    r = get(webserver, "/cgi-bin/printenv.cgi", headers=SPOOFS)
    assert r.status_code == 200, (r.text, webserver.errors())
    env = r.json()
    expected = dict(IDENTITY)
    for name, value in expected.items():
        assert env.get(name) == value, (name, env)
    # a client header never becomes identity, in any spelling
    for name, value in env.items():
        if name.startswith("HTTP_X_POSTERN_") or name in ("HTTP_X_REMOTE_USER",
                                                          "HTTP_VARIABLE_REMOTE_USER"):
            assert value != "evil", (name, env)
    assert len(webserver.cgi_hits()) == 1


@pytest.mark.parametrize("authorizer_kind", ["allow_all"])
def test_identity_headers_at_proxied_backend(webserver):
    r = get(webserver, "/app/hello", headers=SPOOFS)
    assert r.status_code == 200, (r.text, webserver.errors())
    seen = folded(r.json()["headers"])
    for name, value in PROXY_IDENTITY.items():
        assert seen.get(name) == [value], (name, seen)
    for name in ("x-remote-user", "variable-remote-user"):
        assert name not in seen, seen
    for name, values in seen.items():
        assert "evil" not in values, (name, seen)
    assert len(webserver.echo.requests) == 1


@pytest.mark.parametrize("authorizer_kind", ["allow_all"])
def test_what_leaks_to_the_client_on_allow(webserver):
    r = get(webserver, "/index.html")
    assert (r.status_code, r.text) == (200, "protected page\n")
    # mod_fcgid adds the 8 Variable-* of the answer to the response: conf/apache/
    # postern-fcgid.conf unsets them again; the other servers drop them themselves
    assert sorted(h for h in r.headers if h.lower().startswith("variable-")) == []


# -- DESIGN.md section 7, observed through allow_all ----------------------------------------

ROLE_SEEN = {"lighttpd": "AUTHORIZER", "apache-authnz-fcgi": "AUTHORIZER",
             "apache-fcgid": "AUTHORIZER", "nginx": "RESPONDER"}
APACHE_ROLE = {"apache-authnz-fcgi": "AUTHENTICATOR", "apache-fcgid": "ACCESS_CHECKER"}


@pytest.mark.parametrize("authorizer_kind", ["allow_all"])
def test_design_table_as_seen_by_the_authorizer(webserver):
    r = get(webserver, "/index.html?a=1&b=%2F",
            headers={"Authorization": "Bearer pst_s_abc", "Cookie": "postern_session=xyz"})
    assert r.status_code == 200
    seen = webserver.authz_seen()
    assert len(seen) == 1, seen
    p = seen[0]
    assert p["FCGI_ROLE"] == ROLE_SEEN[webserver.kind]
    assert p.get("FCGI_APACHE_ROLE") == APACHE_ROLE.get(webserver.kind)
    # Authorization reaches the authorizer everywhere (Apache: thanks to CGIPassAuth On)
    assert p["HTTP_AUTHORIZATION"] == "Bearer pst_s_abc"
    assert p["HTTP_COOKIE"] == "postern_session=xyz"
    assert p["REQUEST_URI"] == "/index.html?a=1&b=%2F"
    assert p["REQUEST_METHOD"] == "GET"
    assert p["QUERY_STRING"] == ("" if webserver.kind == "nginx" else "a=1&b=%2F")


@pytest.mark.parametrize("authorizer_kind", ["allow_all"])
def test_post_body_is_not_sent_to_the_authorizer(webserver):
    r = requests.post(webserver.url + "/cgi-bin/printenv.cgi", data=b"x" * 5000, timeout=10)
    assert r.status_code == 200, (r.text, webserver.errors())
    p = webserver.authz_seen()[-1]
    assert p["REQUEST_METHOD"] == "POST"
    # no CONTENT_LENGTH (lighttpd, Apache) or an empty one (nginx: conf/nginx/postern.conf's
    # override comes before fastcgi_params' and Postern keeps the first)
    assert p.get("CONTENT_LENGTH", "") == ""
    assert r.json()["CONTENT_LENGTH"] == "5000"  # the backend still gets the body


@pytest.mark.parametrize("authorizer_kind", ["allow_all"])
def test_directory_index_asks_the_authorizer(webserver):
    r = get(webserver, "/")
    assert (r.status_code, r.text) == (200, "protected page\n")
    uris = [p["REQUEST_URI"] for p in webserver.authz_seen()]
    # asked twice (the index file's internal redirect / subrequest) except by mod_authnz_fcgi
    twice = webserver.kind in ("apache-fcgid", "nginx")
    assert uris == (["/", "/"] if twice else ["/"]), uris


def test_lighttpd_module_order_gotcha(make_webserver, authorizer_kind):
    """The shipped files load mod_fastcgi before mod_proxy, so the proxied path is protected."""
    site = make_webserver("lighttpd")
    r = get(site, "/app/hello")
    assert r.status_code == 401
    assert site.echo.requests == []


def test_all_integrations_are_covered():
    assert WEBSERVERS == ["lighttpd", "apache-authnz-fcgi", "apache-fcgid", "nginx"]



# -- the real postern-authorizer: credentials minted by SQL -----------------------------------
import base64  # noqa: E402
import hashlib  # noqa: E402
import http.client  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402

import servers  # noqa: E402

COOKIE = "__Host-postern_session"  # cookie_secure = on (the default)
EMAIL = "alice@example.com"
PERMISSIONS = "album.read album.write"


def new_token(prefix):
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


class Creds:
    """A user of role editor (album.read, album.write) with a session and an API key."""

    def __init__(self, db):
        self.db = db
        db.query("SELECT postern.create_role('editor', 'Editors')")
        for p in PERMISSIONS.split():
            db.query("SELECT postern.grant_permission('editor', %s)", (p,))
        self.user_id = str(db.value("SELECT postern.create_user(%s, %s, 'editor')",
                                    (EMAIL, "correct horse battery staple")))
        self.token, self.session_id = self.session()
        self.api_key = db.value("SELECT postern.create_api_key(%s, 'ci', ARRAY['album.read'])",
                                (EMAIL,))
        self.key_id = str(db.value("SELECT id FROM postern.api_keys"))

    def session(self):
        token = new_token("pst_s_")
        sid = self.db.value("INSERT INTO postern.sessions (token_hash, user_id, expires_at) "
                            "VALUES (%s, %s, now() + interval '1 day') RETURNING id",
                            (hashlib.sha256(token.encode()).digest(), self.user_id))
        return token, str(sid)

    def headers(self, kind, token=None):
        if kind == "cookie":
            return {"Cookie": f"theme=dark; {COOKIE}={token or self.token}"}
        if kind == "bearer":
            return {"Authorization": f"Bearer {token or self.token}"}
        return {"X-Api-Key": self.api_key}

    def identity(self, kind):
        """What the backend must see for a credential kind: {POSTERN_* / REMOTE_USER: value}."""
        ident = {"REMOTE_USER": EMAIL, "POSTERN_USER": EMAIL, "POSTERN_USER_ID": self.user_id,
                 "POSTERN_ROLE": "editor", "POSTERN_MFA": "off"}
        if kind == "api_key":
            ident.update(POSTERN_AUTH="api_key", POSTERN_KEY_ID=self.key_id,
                         POSTERN_PERMISSIONS="album.read")
        else:
            ident.update(POSTERN_AUTH="session", POSTERN_SESSION_ID=self.session_id,
                         POSTERN_PERMISSIONS=PERMISSIONS)
        return ident


IDENTITY_VARS = ["REMOTE_USER", "POSTERN_USER", "POSTERN_USER_ID", "POSTERN_ROLE", "POSTERN_AUTH",
                 "POSTERN_SESSION_ID", "POSTERN_KEY_ID", "POSTERN_LINK_ID", "POSTERN_PERMISSIONS",
                 "POSTERN_MFA"]


def proxy_identity(ident):
    """The X-Postern-* headers a proxied backend gets for an identity (lower-case names)."""
    return {"x-" + k.lower().replace("_", "-"): v for k, v in ident.items()
            if k.startswith("POSTERN_")}


@pytest.fixture
def creds(webserver, db):
    warm_up(webserver)
    return Creds(db)


def raw(site, target, headers=None, method="GET"):
    """One request with the target sent byte for byte (requests/urllib3 would remove dot
    segments): (status, [(name, value)], body)."""
    c = http.client.HTTPConnection("127.0.0.1", site.port, timeout=10)
    try:
        c.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


def header(headers, name):
    """All values of a response header, joined as Apache joins them."""
    return ", ".join(v for k, v in headers if k.lower() == name.lower())


def cgi_identity(env):
    return {k: env[k] for k in IDENTITY_VARS if env.get(k)}  # nginx sends unset ones empty


def test_real_credentials_open_every_backend(webserver, creds):
    for n, kind in enumerate(["cookie", "bearer", "api_key"], 1):
        check_credential(webserver, creds, kind, n)


def check_credential(webserver, creds, kind, n):
    h = creds.headers(kind)
    expected = creds.identity(kind)
    r = get(webserver, "/index.html", headers=h)
    assert (r.status_code, r.text) == (200, "protected page\n"), (r.text, webserver.errors())
    # nothing of the identity goes back to the client (mod_fcgid: the conf unsets Variable-*)
    assert [k for k in r.headers if k.lower().startswith(("variable-", "x-postern"))] == []
    r = get(webserver, "/cgi-bin/printenv.cgi", headers=h)
    assert r.status_code == 200, (r.text, webserver.errors())
    env = r.json()
    assert cgi_identity(env) == expected, env
    unset = "POSTERN_SESSION_ID" if kind == "api_key" else "POSTERN_KEY_ID"
    assert env.get(unset, "absent") == ("" if webserver.kind == "nginx" else "absent")
    r = get(webserver, "/app/hello", headers=h)
    assert r.status_code == 200, (r.text, webserver.errors())
    seen = {k: v for k, v in folded(r.json()["headers"]).items() if k.startswith("x-postern-")}
    assert seen == {k: [v] for k, v in proxy_identity(expected).items()}
    assert len(webserver.cgi_hits()) == n and len(webserver.echo.requests) == n


APACHES = ["apache-authnz-fcgi", "apache-fcgid"]


@pytest.mark.parametrize("kind", APACHES)
def test_apache_bearer_needs_cgipassauth(make_webserver, db, kind):
    """Without CGIPassAuth On, Apache does not hand Authorization to the authorizer: a valid
    Bearer token is 'no credential' (the cookie still works)."""
    site = make_webserver(kind, conf_filter=lambda t: t.replace("CGIPassAuth On", "CGIPassAuth Off"))
    warm_up(site)
    c = Creds(db)
    assert get(site, "/index.html", headers=c.headers("cookie")).status_code == 200
    r = get(site, "/index.html", headers={**c.headers("bearer"), "Accept": "application/json"})
    assert r.status_code == 401
    if kind == "apache-authnz-fcgi":
        assert r.json()["code"] == "UNAUTHENTICATED"  # not CREDENTIAL_*: it saw none


def test_revoked_session_denied_on_the_next_request(webserver, creds):
    h = {**creds.headers("cookie"), "Accept": "application/json"}
    assert get(webserver, "/app/hello", headers=h).status_code == 200
    creds.db.query("SELECT postern.revoke_session(%s)", (creds.session_id,))
    # at once in the database, within milliseconds in the authorizer's cache (NOTIFY)
    r = servers.eventually(lambda: get(webserver, "/app/hello", headers=h),
                           lambda r: r.status_code == 401, what="the revocation")
    if webserver.kind in ("lighttpd", "apache-authnz-fcgi"):
        assert r.json()["code"] == "SESSION_INVALID"
    # from then on nothing reaches a backend with that session
    seen = len(webserver.echo.requests)
    assert get(webserver, "/app/hello", headers=h).status_code == 401
    r = get(webserver, "/cgi-bin/printenv.cgi", headers=creds.headers("bearer"))
    assert r.status_code == 401
    assert len(webserver.echo.requests) == seen and webserver.cgi_hits() == []


REAL_SPOOFS = {"X-Postern-User": "evil", "X_Postern_User": "evil", "Variable-REMOTE_USER": "evil",
               "X-Remote-User": "evil", "Remote-User": "evil", "X-Postern-Permissions": "evil",
               "X-Postern-Session-Id": "evil", "X-Postern-Auth": "evil"}


def test_spoofed_identity_never_replaces_the_real_one(webserver, creds):
    h = {**creds.headers("cookie"), **REAL_SPOOFS}
    expected = creds.identity("cookie")
    env = get(webserver, "/cgi-bin/printenv.cgi", headers=h).json()
    assert cgi_identity(env) == expected
    assert [k for k, v in env.items() if v == "evil"] == [], env
    r = get(webserver, "/app/hello", headers=h)
    seen = folded(r.json()["headers"])
    assert {k: v for k, v in seen.items() if k.startswith("x-postern-")} == {
        k: [v] for k, v in proxy_identity(expected).items()}
    assert [k for k, v in seen.items() if "evil" in v] == [], seen
    assert "remote-user" not in seen and "x-remote-user" not in seen


# What each server answers for path tricks, with a session and a `deny` rule on /secret/**:
# (status, who answered): "authz" = the authorizer (403 DENIED after its own normalisation, or
# 400 BAD_PATH; mod_fcgid turns both into its 401 ErrorDocument), "server" = the web server's
# own refusal before the authorizer is asked.
DENIED = {"lighttpd": (403, "authz"), "apache-authnz-fcgi": (403, "authz"),
          "apache-fcgid": (401, "authz"), "nginx": (403, "authz")}
BAD = {"lighttpd": (400, "authz"), "apache-authnz-fcgi": (400, "authz"),
       "apache-fcgid": (401, "authz"), "nginx": (400, "authz")}
APACHE_404 = {"apache-authnz-fcgi": (404, "server"), "apache-fcgid": (404, "server")}
PATH_TRICKS = {
    "/secret/page.html": DENIED,
    "/public/../secret/page.html": DENIED,
    "/x/%2e%2e/secret/page.html": DENIED,
    "/x/%2E%2E/secret/page.html": DENIED,
    "/%73ecret/page.html": DENIED,
    "//secret//page.html": DENIED,
    "/secret/./page.html": DENIED,
    # Apache refuses an encoded slash itself (404, AllowEncodedSlashes Off)
    "/secret%2Fpage.html": {**BAD, **APACHE_404},
    "/secret\\page.html": BAD,
    "/secret/%00": {**APACHE_404, "lighttpd": (400, "server"), "nginx": (400, "server")},
    "/secret%zz": {**BAD, "apache-authnz-fcgi": (400, "server"), "apache-fcgid": (400, "server"),
                   "nginx": (400, "server")},
    "/secret/caf%ff": {**BAD, "lighttpd": (400, "server")},
}


def answered_by(kind, body):
    if kind == "apache-fcgid":
        return "authz" if b"url=/auth/login" in body else "server"
    return "authz" if b'"code":"' in body else "server"


def test_path_tricks_meet_the_deny_rule(webserver, creds):
    d = os.path.join(webserver.docroot, "secret")
    os.mkdir(d)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "page.html"), "w") as f:
        f.write("secret page\n")
    os.chmod(os.path.join(d, "page.html"), 0o644)
    h = creds.headers("cookie")
    assert raw(webserver, "/secret/page.html", h)[0] == 200
    creds.db.query("INSERT INTO postern.rules (priority, path_pattern, access) "
                   "VALUES (5, '/secret/**', 'deny')")
    servers.wait_for(lambda: raw(webserver, "/secret/page.html", h)[0] != 200,
                     what="the deny rule (NOTIFY reload)")
    got = {}
    for target in PATH_TRICKS:
        status, headers, body = raw(webserver, target, {**h, "Accept": "application/json"})
        assert b"secret page" not in body, target
        got[target] = (status, answered_by(webserver.kind, body))
        if webserver.kind == "lighttpd" and status == 403:
            assert body == b'{"error":"access to this path is denied","code":"DENIED"}'
    assert got == {t: want[webserver.kind] for t, want in PATH_TRICKS.items()}
    check_bad_path_400(webserver)


def test_public_health_and_login_redirect(webserver):
    warm_up(webserver)
    r = get(webserver, "/auth/health")
    assert r.status_code == 200, (r.text, webserver.errors())
    assert r.json() == {"status": "ok", "database": "ok"}
    assert r.headers["Content-Type"] == "application/json"
    # a browser navigation without a session goes to the login page
    status, headers, body = raw(webserver, "/index.html?a=1", {"Accept": "text/html"})
    if webserver.kind == "apache-fcgid":
        # the 302 becomes 401; the conf's ErrorDocument string sends the browser on
        assert status == 401
        assert b'<meta http-equiv="refresh" content="0; url=/auth/login">' in body
    else:
        assert status == 302
        if webserver.kind == "nginx":  # $request_uri as sent (the responder validates it)
            assert header(headers, "Location") == "/auth/login?return_to=/index.html?a=1"
            assert header(headers, "WWW-Authenticate") == 'Bearer realm="postern"'
        else:
            assert header(headers, "Location") == "/auth/login?return_to=/index.html%3Fa%3D1"
        if webserver.kind == "apache-authnz-fcgi":
            assert b"<title>302 Found</title>" in body  # Apache's own small body
    assert webserver.cgi_hits() == []


# -- the authorizer's 400 and 503 through each server ------------------------------------------

def check_bad_path_400(webserver):
    """The authorizer's 400 BAD_PATH as each server passes it on (no credential needed)."""
    status, headers, body = raw(webserver, "/index.html%2F", {"Accept": "application/json"})
    if webserver.kind in ("apache-authnz-fcgi", "apache-fcgid"):
        assert status == 404  # Apache's own refusal: the authorizer is not asked
    else:
        assert status == 400
    status, headers, body = raw(webserver, "/a\\b", {"Accept": "application/json"})
    assert status == BAD[webserver.kind][0]
    if webserver.kind == "lighttpd":
        assert body == b'{"error":"backslash in path","code":"BAD_PATH"}'
        assert header(headers, "Content-Type") == "application/json"
    elif webserver.kind == "apache-authnz-fcgi":
        assert body == b'{"error":"backslash in path","code":"BAD_PATH"}'
        assert header(headers, "Content-Type") == "text/html; charset=iso-8859-1"
    elif webserver.kind == "nginx":
        assert body == b'{"error":"bad request","code":"BAD_REQUEST"}'
        assert header(headers, "Content-Type") == "application/json"
    else:
        assert b"<title>401 Unauthorized</title>" not in body  # the ErrorDocument string
        assert b"url=/auth/login" in body


@pytest.mark.parametrize("kind", WEBSERVERS)
def test_policy_unavailable_503_through_each_server(make_webserver, kind):
    site = make_webserver(kind, authz_config={"database": "host=/nonexistent/postern dbname=x",
                                              "db_retry_interval": "100ms"})
    status, headers, body = raw(site, "/index.html", {"Accept": "application/json"})
    if kind == "apache-fcgid":
        assert status == 401  # mod_fcgid: every refusal is a 401
        assert header(headers, "Retry-After") == "5"  # (once; Cache-Control comes twice)
    else:
        assert status == 503, (body, site.errors())
        assert header(headers, "Retry-After") == "5"
    if kind in ("lighttpd", "apache-authnz-fcgi"):
        assert body == b'{"error":"rules not loaded yet","code":"POLICY_UNAVAILABLE"}'
    elif kind == "nginx":
        assert body == (b'{"error":"authentication service unavailable",'
                        b'"code":"DATABASE_UNAVAILABLE"}')
    assert site.cgi_hits() == [] and site.echo.requests == []

