"""Self-tests of the OIDC test providers (idp.py, hostile_idp.py); no Postern involved.

Owns: checking that the panva IdP starts, enforces PKCE, logs in, issues RS256 ID tokens with
the email/groups/sid claims and sends back-channel logout tokens; and that the hostile IdP's
tokens verify with its published keys and its code_verifier check works.
"""
import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hostile_idp import OMIT, HostileIdp, b64url_decode, s256
from idp import IdpError, PanvaIdp, ensure_node_modules

T = 15


def _int(s):
    return int.from_bytes(b64url_decode(s), "big")


def verify_jws(token, jwks):
    """Verifies an RS256/ES256 compact JWS against a JWKS dict; returns (header, claims)."""
    head, body, sig = token.split(".")
    header = json.loads(b64url_decode(head))
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    data, raw = f"{head}.{body}".encode(), b64url_decode(sig)
    if header["alg"] == "RS256":
        pub = rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
        pub.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    elif header["alg"] == "ES256":
        pub = ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), ec.SECP256R1()).public_key()
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        pub.verify(der, data, ec.ECDSA(hashes.SHA256()))
    else:
        raise AssertionError(header)
    return header, json.loads(b64url_decode(body))


def jwt_parts(token):
    head, body, _ = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(body))


class Receiver:
    """Records POSTs (a stand-in for the RP's back-channel logout endpoint)."""

    def __init__(self, status=200):
        self.status, self.posts = status, []
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                rec.posts.append((self.path, dict(self.headers), self.rfile.read(n).decode()))
                self.send_response(rec.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


RP = "http://127.0.0.1:9"  # never requested: login() returns the redirect without following it
ALICE = {"sub": "alice", "password": "alice-pw", "email": "alice@example.com",
         "email_verified": True, "name": "Alice Example", "groups": ["staff", "admins"]}


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def panva(tmp_path_factory, receiver):
    ensure_node_modules()
    client = {"client_id": "rp1", "client_secret": "rp1-secret-0123456789",
              "redirect_uris": [RP + "/auth/oidc/callback"],
              "post_logout_redirect_uris": [RP + "/auth/"],
              "backchannel_logout_uri": receiver.url + "/auth/oidc/backchannel-logout",
              "token_endpoint_auth_method": "client_secret_basic",
              "grant_types": ["authorization_code"], "response_types": ["code"]}
    idp = PanvaIdp(tmp_path_factory.mktemp("panva"), [client], [ALICE]).start()
    yield idp
    idp.stop()


def authorize_url(issuer_doc, challenge=None, method="S256", **extra):
    q = {"client_id": "rp1", "response_type": "code", "redirect_uri": RP + "/auth/oidc/callback",
         "scope": "openid email profile groups", "state": secrets.token_urlsafe(12),
         "nonce": secrets.token_urlsafe(12), **extra}
    if challenge is not None:
        q.update(code_challenge=challenge, code_challenge_method=method)
    return issuer_doc["authorization_endpoint"] + "?" + urllib.parse.urlencode(q), q


def callback_params(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def test_panva_discovery(panva):
    doc = panva.discovery()
    assert doc["issuer"] == panva.issuer
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["backchannel_logout_supported"] and doc["end_session_endpoint"]
    assert {"openid", "email", "profile", "groups"} <= set(doc["scopes_supported"])


@pytest.mark.parametrize("pkce", [None, "plain"])
def test_panva_requires_s256_pkce(panva, pkce):
    doc = panva.discovery()
    url, _ = authorize_url(doc, None if pkce is None else "x" * 43, method=pkce or "S256")
    r = requests.get(url, allow_redirects=False, timeout=T)
    assert r.status_code in (302, 303), r.text
    p = callback_params(r.headers["Location"])
    assert p.get("error") == "invalid_request" and "code" not in p, p


def login_and_redeem(panva, session):
    doc = panva.discovery()
    verifier = secrets.token_urlsafe(48)
    url, q = authorize_url(doc, s256(verifier))
    location = panva.login(session, url, "alice", "alice-pw")
    assert location.startswith(RP + "/auth/oidc/callback?"), location
    p = callback_params(location)
    assert p["state"] == q["state"] and p["iss"] == panva.issuer and p["code"]
    r = requests.post(doc["token_endpoint"], auth=("rp1", "rp1-secret-0123456789"), timeout=T,
                      data={"grant_type": "authorization_code", "code": p["code"],
                            "redirect_uri": q["redirect_uri"], "code_verifier": verifier})
    assert r.status_code == 200, r.text
    tokens = r.json()
    jwks = requests.get(doc["jwks_uri"], timeout=T).json()
    header, claims = verify_jws(tokens["id_token"], jwks)
    return doc, q, tokens, header, claims


def test_panva_login_code_token(panva):
    s = requests.Session()
    doc, q, tokens, header, claims = login_and_redeem(panva, s)
    assert header["alg"] == "RS256"
    assert claims["iss"] == panva.issuer and claims["aud"] == "rp1" and claims["sub"] == "alice"
    assert claims["nonce"] == q["nonce"]
    assert claims["email"] == "alice@example.com" and claims["email_verified"] is True
    assert claims["name"] == "Alice Example" and claims["groups"] == ["staff", "admins"]
    assert claims["sid"]
    info = requests.get(doc["userinfo_endpoint"], timeout=T,
                        headers={"Authorization": "Bearer " + tokens["access_token"]}).json()
    assert info["groups"] == ["staff", "admins"] and info["email"] == "alice@example.com"
    # The IdP session now exists: a second authorization needs no form.
    verifier = secrets.token_urlsafe(48)
    url, _ = authorize_url(doc, s256(verifier))
    assert "code" in callback_params(panva.login(s, url, "unused", "unused"))


def test_panva_wrong_verifier_and_password(panva):
    doc = panva.discovery()
    url, q = authorize_url(doc, s256(secrets.token_urlsafe(48)))
    with pytest.raises(IdpError):
        panva.login(requests.Session(), url, "alice", "wrong")
    url, q = authorize_url(doc, s256(secrets.token_urlsafe(48)))
    code = callback_params(panva.login(requests.Session(), url, "alice", "alice-pw"))["code"]
    r = requests.post(doc["token_endpoint"], auth=("rp1", "rp1-secret-0123456789"), timeout=T,
                      data={"grant_type": "authorization_code", "code": code,
                            "redirect_uri": q["redirect_uri"], "code_verifier": secrets.token_urlsafe(48)})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_panva_backchannel_and_rp_initiated_logout(panva, receiver):
    s = requests.Session()
    doc, _, tokens, _, claims = login_and_redeem(panva, s)
    receiver.posts.clear()
    assert panva.backchannel_logout("rp1", "alice", claims["sid"]).json() == {"ok": True}
    (path, _, body), = receiver.posts
    assert path == "/auth/oidc/backchannel-logout"
    token = dict(urllib.parse.parse_qsl(body))["logout_token"]
    header, lt = verify_jws(token, requests.get(doc["jwks_uri"], timeout=T).json())
    assert header["typ"] == "logout+jwt"
    assert lt["sub"] == "alice" and lt["sid"] == claims["sid"] and lt["aud"] == "rp1"
    assert lt["events"] == {"http://schemas.openid.net/event/backchannel-logout": {}} and "nonce" not in lt
    receiver.status = 400
    try:
        assert panva.backchannel_logout("rp1", "alice", claims["sid"], check=False).status_code == 502
    finally:
        receiver.status = 200
    # RP-initiated logout also back-channels the session's sid, then returns to the RP.
    receiver.posts.clear()
    end = doc["end_session_endpoint"] + "?" + urllib.parse.urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": RP + "/auth/", "state": "st"})
    assert panva.logout(s, end) == RP + "/auth/?state=st"
    (_, _, body), = receiver.posts
    assert jwt_parts(dict(urllib.parse.parse_qsl(body))["logout_token"])[1]["sid"] == claims["sid"]


@pytest.fixture
def hostile():
    idp = HostileIdp().start()
    yield idp
    idp.stop()


def hostile_code(idp, verifier, **extra):
    q = {"client_id": "rp-h", "response_type": "code", "redirect_uri": "http://127.0.0.1:9/cb",
         "scope": "openid email", "state": "s1", "nonce": "n1",
         "code_challenge": s256(verifier), "code_challenge_method": "S256", **extra}
    r = requests.get(idp.issuer + "/authorize", params=q, allow_redirects=False, timeout=T)
    assert r.status_code == 302
    return callback_params(r.headers["Location"])


def redeem(idp, code, verifier):
    return requests.post(idp.issuer + "/token", auth=("rp-h", "x"), timeout=T, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb",
        "code_verifier": verifier})


def test_hostile_flow_and_pkce(hostile):
    doc = requests.get(hostile.issuer + "/.well-known/openid-configuration", timeout=T).json()
    assert doc["issuer"] == hostile.issuer
    verifier = secrets.token_urlsafe(48)
    p = hostile_code(hostile, verifier)
    assert p["state"] == "s1" and p["iss"] == hostile.issuer
    assert redeem(hostile, p["code"], secrets.token_urlsafe(48)).json()["error"] == "invalid_grant"
    r = redeem(hostile, p["code"], verifier)
    assert r.status_code == 200, r.text
    assert redeem(hostile, p["code"], verifier).status_code == 400  # single use
    jwks = requests.get(hostile.issuer + "/jwks", timeout=T).json()
    header, claims = verify_jws(r.json()["id_token"], jwks)
    assert header["kid"] == "rsa1"
    assert claims["aud"] == "rp-h" and claims["nonce"] == "n1" and claims["sub"] == "hostile-sub-1"
    token_req = hostile.requests_to("/token")[-1]
    assert token_req["headers"]["authorization"].startswith("Basic ")
    info = requests.get(hostile.issuer + "/userinfo", timeout=T,
                        headers={"Authorization": "Bearer " + r.json()["access_token"]}).json()
    assert info["sub"] == "hostile-sub-1"


def test_hostile_knobs(hostile):
    jwks = lambda: requests.get(hostile.issuer + "/jwks", timeout=T).json()  # noqa: E731
    hostile.alg = "ES256"
    hostile.claims = {"email": OMIT, "aud": "someone-else"}
    v = secrets.token_urlsafe(48)
    header, claims = verify_jws(redeem(hostile, hostile_code(hostile, v)["code"], v).json()["id_token"], jwks())
    assert header["kid"] == "ec1" and "email" not in claims and claims["aud"] == "someone-else"
    hostile.alg, hostile.claims = "RS256", {}
    hostile.corrupt_signature = True
    token = redeem(hostile, hostile_code(hostile, v)["code"], v).json()["id_token"]
    with pytest.raises(InvalidSignature):
        verify_jws(token, jwks())
    hostile.corrupt_signature, hostile.alg, hostile.kid = False, "none", OMIT
    token = redeem(hostile, hostile_code(hostile, v)["code"], v).json()["id_token"]
    assert token.endswith(".") and "kid" not in jwt_parts(token)[0]
    hostile.auth_iss = None
    assert "iss" not in hostile_code(hostile, v)
    hostile.rotate_keys()
    assert [k["kid"] for k in jwks()["keys"]] == ["rsa2", "ec2"]
    header, lt = verify_jws(hostile.make_logout_token(sid=OMIT), jwks())
    assert header["typ"] == "logout+jwt" and header["kid"] == "rsa2"
    assert lt["aud"] == "rp-h" and "sid" not in lt and lt["sub"] == "hostile-sub-1"
    assert "http://schemas.openid.net/event/backchannel-logout" in lt["events"]
