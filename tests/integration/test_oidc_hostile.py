"""OIDC against a hostile provider (hostile_idp.py): every step of ID-token validation (OIDC
Core §3.1.3.7), algorithm pinning, key rotation, userinfo substitution, the authorization
response's iss (RFC 9207), discovery issuer mismatch, token endpoint authentication, and
back-channel logout tokens. A refused sign-in creates no session."""
import base64
import time
import urllib.parse

import pytest
import requests

import servers
from hostile_idp import OMIT, new_rsa_key
from oidc_fixtures import CLIENT_ID, CLIENT_SECRET, T, hostile_login


@pytest.fixture
def site(oidc_site, hostile):
    site = oidc_site.start(hostile.issuer)
    site.setting("oidc_auto_register", "on")
    site.idp = hostile
    return site


def sessions(site):
    return site.db.value("SELECT count(*) FROM postern.sessions")


def now():
    return int(time.time())


def test_a_good_token_signs_in(site):
    s, r = hostile_login(site, site.idp)
    assert r.status_code == 200, r.text
    assert sessions(site) == 1
    assert site.db.value("SELECT oidc_sid FROM postern.sessions") == "hsid-1"
    # the code was redeemed with our verifier and HTTP Basic client authentication
    tok = site.idp.requests_to("/token")[0]
    form = dict(urllib.parse.parse_qsl(tok["body"]))
    assert set(form) == {"grant_type", "code", "redirect_uri", "code_verifier"}
    assert tok["headers"]["authorization"] == "Basic " + base64.b64encode(
        f"{CLIENT_ID}:{urllib.parse.quote(CLIENT_SECRET, safe='')}".encode()).decode()
    # the access token went to userinfo in the header, never in a URL
    info = site.idp.requests_to("/userinfo")[0]
    assert info["headers"]["authorization"].startswith("Bearer ") and info["query"] == {}


BAD_ID_TOKENS = {
    "wrong iss": lambda: {"claims": {"iss": "http://127.0.0.1:1"}},
    "wrong aud": lambda: {"claims": {"aud": "someone-else"}},
    "extra aud": lambda: {"claims": {"aud": [CLIENT_ID, "someone-else"]}},
    "no aud": lambda: {"claims": {"aud": OMIT}},
    "wrong azp": lambda: {"claims": {"azp": "someone-else"}},
    "wrong nonce": lambda: {"claims": {"nonce": "x" * 43}},
    "no nonce": lambda: {"claims": {"nonce": OMIT}},
    "expired": lambda: {"claims": {"exp": now() - 3600}},
    "no exp": lambda: {"claims": {"exp": OMIT}},
    "iat in the future": lambda: {"claims": {"iat": now() + 3600}},
    "iat too old": lambda: {"claims": {"iat": now() - 7200}},
    "no iat": lambda: {"claims": {"iat": OMIT}},
    "no sub": lambda: {"claims": {"sub": OMIT}},
    "bad signature": lambda: {"corrupt_signature": True},
    "unpublished key": lambda: {"sign_with": new_rsa_key()},
    "alg none": lambda: {"alg": "none", "kid": OMIT},
    "HS256 with the client secret": lambda: {"alg": "HS256", "hs256_secret": CLIENT_SECRET},
    "unknown kid": lambda: {"kid": "nobody-knows-me"},
}


@pytest.mark.parametrize("case", sorted(BAD_ID_TOKENS))
def test_bad_id_tokens_are_refused(site, case):
    for k, v in BAD_ID_TOKENS[case]().items():
        setattr(site.idp, k, v)
    s, r = hostile_login(site, site.idp)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "OIDC_INVALID_ID_TOKEN"
    assert sessions(site) == 0 and site.db.value("SELECT count(*) FROM postern.users") == 0
    assert s.get(site.url + "/index.html", timeout=T).status_code == 401


def test_es256_and_a_token_without_kid(site):
    site.idp.alg = "ES256"
    assert hostile_login(site, site.idp)[1].status_code == 200
    site.idp.alg, site.idp.kid = "RS256", OMIT  # one RSA key published: it is the one
    assert hostile_login(site, site.idp)[1].status_code == 200
    assert sessions(site) == 2


def test_key_rotation_refetches_the_key_set_once(site):
    assert hostile_login(site, site.idp)[1].status_code == 200
    fetched = len(site.idp.requests_to("/jwks"))
    site.idp.rotate_keys()
    assert hostile_login(site, site.idp)[1].status_code == 200
    assert len(site.idp.requests_to("/jwks")) == fetched + 1
    # unknown kids do not make us hammer the provider: no refetch within moments of the last
    site.idp.kid = "still-unknown"
    for _ in range(3):
        assert hostile_login(site, site.idp)[1].status_code == 401
    assert len(site.idp.requests_to("/jwks")) == fetched + 1


def test_userinfo_of_another_subject_is_refused(site):
    site.idp.userinfo_claims = {"sub": "someone-else"}
    s, r = hostile_login(site, site.idp)
    assert r.status_code == 401 and r.json()["code"] == "OIDC_USERINFO_MISMATCH"
    assert sessions(site) == 0


def test_userinfo_fills_claims_the_id_token_lacks(site):
    site.idp.claims = {"email": OMIT}
    site.idp.userinfo_claims = {"email": "from-userinfo@example.com"}
    assert hostile_login(site, site.idp)[1].status_code == 200
    assert site.db.value("SELECT email FROM postern.users") == "from-userinfo@example.com"


def test_wrong_iss_in_the_authorization_response(site):
    site.idp.auth_iss = "http://127.0.0.1:1"
    s, r = hostile_login(site, site.idp)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_ISS_MISMATCH"
    assert site.idp.requests_to("/token") == []  # the code was never redeemed


def test_missing_iss_when_the_provider_promises_it(oidc_site, hostile):
    hostile.discovery_overrides = {"authorization_response_iss_parameter_supported": True}
    hostile.auth_iss = None
    site = oidc_site.start(hostile.issuer)
    s, r = hostile_login(site, hostile)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_ISS_MISMATCH"
    assert hostile.requests_to("/token") == []


def test_provider_error_never_redeems(site):
    s = requests.Session()
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(site.start_login(s)).query))["state"]
    r = site.callback(s, f"{site.redirect_uri}?error=access_denied&state={state}",
                      headers={"Accept": "text/html"})
    assert r.status_code == 400 and "access_denied" in r.text
    assert site.idp.requests_to("/token") == [] and site.idp.requests_to("/authorize") == []
    # the state is spent: the same response cannot be replayed with a code
    r = site.callback(s, f"{site.redirect_uri}?code=x&state={state}")
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"


def test_replayed_state_redeems_the_code_once(site):
    s = requests.Session()
    back = s.get(site.start_login(s), allow_redirects=False, timeout=T).headers["Location"]
    assert site.callback(s, back).status_code == 200
    r = site.callback(s, back)
    assert r.status_code == 400 and r.json()["code"] == "OIDC_STATE_INVALID"
    assert len(site.idp.requests_to("/token")) == 1


def test_token_endpoint_error(site):
    site.idp.token_status, site.idp.token_body = 400, {"error": "invalid_grant"}
    s, r = hostile_login(site, site.idp)
    assert r.status_code == 502 and r.json()["code"] == "OIDC_TOKEN_ERROR"
    site.idp.token_status, site.idp.token_body = 200, {"access_token": "x", "token_type": "Bearer"}
    s, r = hostile_login(site, site.idp)
    assert r.status_code == 502 and r.json()["code"] == "OIDC_TOKEN_ERROR"
    assert sessions(site) == 0


def test_discovery_issuer_mismatch(oidc_site, hostile):
    hostile.discovery_issuer = "http://127.0.0.1:1"
    site = oidc_site.start(hostile.issuer)
    r = requests.get(site.url + "/auth/oidc/start", allow_redirects=False, timeout=T)
    assert r.status_code == 502 and r.json()["code"] == "OIDC_PROVIDER_UNAVAILABLE"
    assert "is not the configured" in site.responder.log()
    assert hostile.requests_to("/authorize") == []


def test_discovery_document_elsewhere_trusted_explicitly(oidc_site, hostile):
    """Authentik's case: the document's issuer is not the configured one, and the operator
    said to trust it; tokens are then checked against the document's issuer."""
    doc_issuer = hostile.issuer + "/application/o/postern/"
    hostile.discovery_issuer = hostile.auth_iss = doc_issuer
    hostile.claims = {"iss": doc_issuer}
    site = oidc_site.start(hostile.issuer + "/application/o",
                           oidc_discovery_url=hostile.issuer + "/.well-known/openid-configuration",
                           oidc_trust_discovery_issuer="on")
    site.setting("oidc_auto_register", "on")
    s, r = hostile_login(site, hostile)
    assert r.status_code == 200, r.text
    assert site.db.value("SELECT issuer FROM postern.user_identities") == doc_issuer


def test_client_secret_post(oidc_site, hostile):
    site = oidc_site.start(hostile.issuer, oidc_token_auth="client_secret_post")
    site.setting("oidc_auto_register", "on")
    assert hostile_login(site, hostile)[1].status_code == 200
    tok = hostile.requests_to("/token")[0]
    form = dict(urllib.parse.parse_qsl(tok["body"]))
    assert (form["client_id"], form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert "authorization" not in tok["headers"]


# -- back-channel logout ----------------------------------------------------------------------

def backchannel(site, token):
    return requests.post(site.url + "/auth/oidc/backchannel-logout", data={"logout_token": token},
                         timeout=T)


def live(site):
    return site.db.value("SELECT count(*) FROM postern.sessions WHERE revoked_at IS NULL")


def test_backchannel_logout_by_sid_and_replay(site):
    s, r = hostile_login(site, site.idp)
    token = r.json()["token"]
    site.idp.claims = {"sid": "hsid-2"}
    hostile_login(site, site.idp)  # a second provider session of the same user
    logout = site.idp.make_logout_token(sid="hsid-1")
    r = backchannel(site, logout)
    assert (r.status_code, r.text, r.headers["Cache-Control"]) == (200, "", "no-store")
    assert site.db.value("SELECT oidc_sid FROM postern.sessions WHERE revoked_at IS NULL") == "hsid-2"
    servers.eventually(lambda: requests.get(site.url + "/index.html",
                                            headers={"Authorization": "Bearer " + token}, timeout=T),
                       lambda r: r.status_code == 401, what="the back-channel revocation")
    r = backchannel(site, logout)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "already used" in r.json()["error_description"]
    # sub alone: every session of that user from this provider
    assert backchannel(site, site.idp.make_logout_token(sid=OMIT)).status_code == 200
    assert live(site) == 0


BAD_LOGOUT_TOKENS = {
    "nonce": lambda idp: idp.make_logout_token(nonce="n"),
    "no events": lambda idp: idp.make_logout_token(events=OMIT),
    "wrong event": lambda idp: idp.make_logout_token(events={"urn:other": {}}),
    "no jti": lambda idp: idp.make_logout_token(jti=OMIT),
    "wrong aud": lambda idp: idp.make_logout_token(aud="someone-else"),
    "wrong iss": lambda idp: idp.make_logout_token(iss="http://127.0.0.1:1"),
    "old iat": lambda idp: idp.make_logout_token(iat=now() - 7200),
    "no iat": lambda idp: idp.make_logout_token(iat=OMIT),
    "neither sub nor sid": lambda idp: idp.make_logout_token(sub=OMIT, sid=OMIT),
    "alg none": lambda idp: idp.make_logout_token(header={"alg": "none", "kid": OMIT}),
    "unpublished key": lambda idp: idp.make_logout_token(key=new_rsa_key()),
    "an ID token's typ": lambda idp: idp.make_logout_token(header={"typ": "at+jwt"}),
    "an ID token": lambda idp: idp.make_id_token(next(iter(idp.authorizations.values()))),
}


@pytest.mark.parametrize("case", sorted(BAD_LOGOUT_TOKENS))
def test_bad_logout_tokens_are_refused(site, case):
    hostile_login(site, site.idp)
    r = backchannel(site, BAD_LOGOUT_TOKENS[case](site.idp))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert live(site) == 1


def test_backchannel_needs_a_form(site):
    r = requests.post(site.url + "/auth/oidc/backchannel-logout", json={"logout_token": "x"}, timeout=T)
    assert r.status_code == 400
    r = requests.post(site.url + "/auth/oidc/backchannel-logout", data="logout_token=a&logout_token=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=T)
    assert r.status_code == 400


def test_pending_sign_ins_are_bounded(site):
    site.db.query("UPDATE postern.settings SET value = '100' WHERE key = 'oidc_pending_limit'")
    site.db.query("""INSERT INTO postern.oidc_states (state_hash, nonce, code_verifier, expires_at)
                     SELECT sha256(i::text::bytea), 'n', 'v', now() + interval '5 minutes'
                       FROM generate_series(1, 100) i""")
    r = requests.get(site.url + "/auth/oidc/start", allow_redirects=False, timeout=T)
    assert r.status_code == 503 and r.json()["code"] == "TOO_MANY_PENDING_LOGINS"
    assert r.headers["Retry-After"] == "60"
    assert site.db.value("SELECT count(*) FROM postern.oidc_states") == 100


def test_provider_down_then_back(oidc_site):
    from hostile_idp import HostileIdp
    idp = HostileIdp()  # its port is reserved, but nothing answers yet
    try:
        site = oidc_site.start(idp.issuer)
        site.setting("oidc_auto_register", "on")
        for _ in range(3):  # failing fast, not once per worker per timeout
            r = requests.get(site.url + "/auth/oidc/start", allow_redirects=False, timeout=T)
            assert r.status_code == 502 and r.json()["code"] == "OIDC_PROVIDER_UNAVAILABLE"
        assert site.responder.log().count("oidc: discovery document") == 1
        idp.start()
        servers.wait_for(lambda: requests.get(site.url + "/auth/oidc/start", allow_redirects=False,
                                              timeout=T).status_code == 302,
                         timeout=15, what="the provider to be found again")
        assert hostile_login(site, idp)[1].status_code == 200
    finally:
        idp.stop()
