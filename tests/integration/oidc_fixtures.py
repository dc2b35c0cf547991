"""Fixtures for the OIDC tests: a site (lighttpd + both programs) whose responder signs users in
with an OpenID Provider — the real one (panva's oidc-provider, tests/idp) or the hostile one
(hostile_idp.py) — and helpers that walk the code flow the way a browser does."""
import os
import urllib.parse

import pytest
import requests

import servers
from hostile_idp import HostileIdp
from idp import PanvaIdp, ensure_node_modules

CLIENT_ID = "postern-test"
CLIENT_SECRET = "a client secret for the tests"
ACCOUNT = {"sub": "panva-sub-1", "password": "idp password", "email": "oidc@example.com",
           "email_verified": True, "name": "Oidc User", "groups": ["staff", "admins"]}
T = 15


class OidcSite:
    """lighttpd on a known port, so external_url and the provider's redirect URIs can be set
    before the programs start."""

    def __init__(self, db, programs, workdir):
        self.db, self.programs, self.workdir = db, programs, workdir
        docroot = os.path.join(os.path.dirname(__file__), "docroot")
        self.web = servers.Lighttpd(workdir, os.path.join(workdir, "authorizer.sock"),
                                    os.path.join(workdir, "responder.sock"), docroot)
        self.url = self.web.url
        self.redirect_uri = self.url + "/auth/oidc/callback"

    def start(self, issuer, **overrides):
        secret = os.path.join(self.workdir, "client.secret")
        with open(secret, "w") as f:
            f.write(CLIENT_SECRET + "\n")
        os.chmod(secret, 0o600)
        cfg = dict(cookie_secure="off", external_url=self.url, oidc_issuer=issuer,
                   oidc_client_id=CLIENT_ID, oidc_client_secret_file="client.secret",
                   oidc_http_timeout="5s")
        cfg.update(overrides)
        cfg = {k: v for k, v in cfg.items() if v is not None}
        self.authorizer = self.programs("authorizer", cookie_secure="off")
        self.responder = self.programs("responder", **cfg)
        servers.wait_for(lambda: "rules loaded" in self.authorizer.log(), what="rules loaded")
        self.web.start()
        return self

    def stop(self):
        self.web.stop()

    def start_login(self, session, return_to=None):
        """GET /auth/oidc/start: the authorize URL the browser is sent to."""
        q = "?" + urllib.parse.urlencode({"return_to": return_to}) if return_to else ""
        r = session.get(self.url + "/auth/oidc/start" + q, allow_redirects=False, timeout=T)
        assert r.status_code == 302, r.text
        return r.headers["Location"]

    def callback(self, session, url, **kw):
        assert url.startswith(self.redirect_uri + "?"), url
        return session.get(url, allow_redirects=False, timeout=T, **kw)

    def setting(self, key, value):
        self.db.query("SELECT postern.set_setting(%s, %s)", (key, value))


def authorize_params(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


@pytest.fixture
def oidc_site(db, programs, workdir):
    site = OidcSite(db, programs, workdir)
    yield site
    site.stop()


@pytest.fixture
def panva(oidc_site, workdir):
    """The real provider, with Postern's client registered at the site's URLs."""
    ensure_node_modules()
    idp = PanvaIdp(workdir, clients=[{
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "redirect_uris": [oidc_site.redirect_uri],
        "post_logout_redirect_uris": [oidc_site.url + "/"],
        "backchannel_logout_uri": oidc_site.url + "/auth/oidc/backchannel-logout",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code"], "response_types": ["code"],
        "scope": "openid email profile groups",
    }], accounts=[ACCOUNT, {**ACCOUNT, "sub": "panva-sub-2", "email": "other@example.com",
                            "groups": ["guests"]}])
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture
def hostile():
    idp = HostileIdp().start()
    yield idp
    idp.stop()


def panva_login(site, idp, session=None, login="panva-sub-1", password="idp password",
                return_to=None):
    """The whole browser flow: start, the provider's login form, and the callback answer."""
    s = session or requests.Session()
    authorize = site.start_login(s, return_to)
    back = idp.login(s, authorize, login, password)
    return s, site.callback(s, back)


def hostile_login(site, idp, session=None):
    """Start, the hostile provider's instant redirect back, and the callback answer."""
    s = session or requests.Session()
    authorize = site.start_login(s)
    r = s.get(authorize, allow_redirects=False, timeout=T)
    assert r.status_code == 302, r.text
    return s, site.callback(s, r.headers["Location"])
