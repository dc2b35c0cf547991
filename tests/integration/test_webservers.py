"""The shipped web-server configurations (conf/lighttpd, conf/apache, conf/nginx) in front of
the authorizer, with a CGI/FastCGI backend and a proxied backend: what a client gets on deny and
on allow, what identity reaches the backends, that client-supplied identity never does, and the
rows of DESIGN.md section 7 we can observe."""
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

@pytest.mark.parametrize("path", PATHS)
def test_deny_reaches_no_backend(webserver, path):
    warm_up(webserver)
    r = get(webserver, path, headers={"Accept": "application/json"})
    assert r.status_code == 401, (r.headers, r.text, webserver.errors())
    if webserver.kind in ("lighttpd", "apache-authnz-fcgi"):
        # the authorizer's answer, verbatim (Apache replaces the Content-Type)
        assert r.json() == {"error": "authentication required", "code": "UNAUTHENTICATED"}
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="postern"')
        assert r.headers["Content-Type"] == (
            "application/json" if webserver.kind == "lighttpd" else "text/html; charset=iso-8859-1")
    elif webserver.kind == "apache-fcgid":
        # Apache's own 401 page (ErrorDocument /auth/login is itself denied today); the
        # authorizer's headers are passed, each twice
        assert "<title>401 Unauthorized</title>" in r.text
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="postern", Bearer realm="postern"'
        assert r.headers["Cache-Control"] == "no-store, no-store"
    else:  # nginx: only WWW-Authenticate survives; conf/nginx/postern.conf adds the body
        assert r.headers["WWW-Authenticate"].startswith('Bearer realm="postern"')
        assert r.json() == {"error": "authentication required", "code": "UNAUTHENTICATED"}
        assert r.headers["Content-Type"] == "application/json"
    assert webserver.echo.requests == []
    assert webserver.cgi_hits() == []


def test_browser_navigation_goes_to_login(webserver):
    warm_up(webserver)
    r = get(webserver, "/index.html", headers={"Accept": "text/html"})
    if webserver.kind == "apache-fcgid":  # the authorizer's 302 becomes 401
        assert r.status_code == 401
    else:
        assert r.status_code == 302
        assert r.headers["Location"].endswith("/auth/login?return_to=/index.html")
    assert webserver.echo.requests == [] and webserver.cgi_hits() == []


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
    leaked = sorted(h for h in r.headers if h.lower().startswith("variable-"))
    if webserver.kind == "apache-fcgid":
        assert r.headers["Variable-POSTERN_USER"] == "bench@example.com"
        assert len(leaked) == 8
    else:
        assert leaked == []


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
    # override comes before fastcgi_params' and libfcgi keeps the first)
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
