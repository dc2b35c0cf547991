"""A small hostile OpenID Provider for the OIDC negative tests.

Owns: an in-process provider (ThreadingHTTPServer on 127.0.0.1, ephemeral port, daemon thread)
whose every answer a test can bend through attributes (bad signatures, wrong iss/aud/nonce,
alg none, HS256, unknown kid, rotated keys, missing iss parameter, token endpoint failures),
and the JWS signing it needs (RS256, ES256, HS256, none), done here with `cryptography`.
Every request it receives is recorded in .requests.
"""
import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


class _Omit:
    def __repr__(self):
        return "OMIT"


OMIT = _Omit()  # as a value in claims/userinfo_claims/overrides, or as kid: leave it out

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _int_b64(n, length=None):
    return b64url(n.to_bytes(length or (n.bit_length() + 7) // 8, "big"))


def _apply(base, overrides):
    """base updated with overrides; OMIT values remove keys."""
    out = dict(base)
    for k, v in (overrides or {}).items():
        if v is OMIT:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def s256(verifier):
    """The PKCE S256 code_challenge of a code_verifier."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def sign_jwt(header, claims, key):
    """Compact JWS of claims under header; the algorithm is header["alg"]: RS256 needs an RSA
    private key, ES256 an EC P-256 private key, HS256 bytes (or str), none nothing."""
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode())).encode("ascii")
    alg = header.get("alg")
    if alg == "RS256":
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "HS256":
        secret = key.encode() if isinstance(key, str) else key
        sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    elif alg == "none":
        sig = b""
    else:
        raise ValueError(f"sign_jwt: unsupported alg {alg!r}")
    return signing_input.decode("ascii") + "." + b64url(sig)


def flip_signature(jwt):
    """The same JWT with one bit of its signature flipped (unchanged if it has none)."""
    head, body, sig = jwt.split(".")
    raw = bytearray(b64url_decode(sig))
    if raw:
        raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw))}"


def public_jwk(key, kid):
    """The public JWK (with kid, alg, use) of an RSA or EC P-256 private or public key."""
    pub = key.public_key() if hasattr(key, "public_key") else key
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                "n": _int_b64(n.n), "e": _int_b64(n.e)}
    n = pub.public_numbers()
    return {"kty": "EC", "kid": kid, "alg": "ES256", "use": "sig", "crv": "P-256",
            "x": _int_b64(n.x, 32), "y": _int_b64(n.y, 32)}


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ec_key():
    return ec.generate_private_key(ec.SECP256R1())


class HostileIdp:
    """Knobs, set by the test before the flow (defaults in brackets):
      claims            dict merged into the ID token claims; OMIT removes a claim [{}]
      userinfo_claims   dict merged into the userinfo answer; OMIT removes [{}]
      alg               "RS256" | "ES256" | "HS256" | "none" ["RS256"]
      hs256_secret      bytes/str HMAC key for alg HS256 [b"hostile-secret"]
      kid               header kid: None = the published kid of the signing key's type,
                        a string = that, OMIT = no kid [None]
      sign_with         an unpublished private key to sign with instead (bad signature) [None]
      corrupt_signature flip one bit of the ID token's signature [False]
      discovery_issuer  issuer claimed by the discovery document [.issuer]
      discovery_overrides dict merged into the discovery document; OMIT removes [{}]
      auth_iss          iss parameter of the authorization response; None omits it [.issuer]
      token_status      HTTP status of a successful /token exchange [200]
      token_body        dict (JSON) or str/bytes replacing a successful /token answer [None]
      jwks_override     dict served at /jwks instead of the real keys [None]
    """

    DEFAULT_SUB = "hostile-sub-1"
    DEFAULT_SID = "hsid-1"

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = []        # dicts: method, path, query (dict), headers (lower-case keys), body (str)
        self.authorizations = {}  # code -> the /authorize query dict that produced it
        self.redeemed = set()     # codes exchanged successfully at /token
        self.access_tokens = {}   # access token -> code
        self._key_generation = 0
        self.rotate_keys()
        self.claims = {}
        self.userinfo_claims = {}
        self.alg = "RS256"
        self.hs256_secret = b"hostile-secret"
        self.kid = None
        self.sign_with = None
        self.corrupt_signature = False
        self.discovery_overrides = {}
        self.token_status = 200
        self.token_body = None
        self.jwks_override = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.discovery_issuer = self.issuer
        self.auth_iss = self.issuer
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    # -- keys and tokens ---------------------------------------------------------------------

    def rotate_keys(self):
        """New RSA and EC keys with new kids ("rsa1"/"ec1", then "rsa2"/"ec2", ...); the old
        ones are no longer published."""
        self._key_generation += 1
        self.rsa_key, self.rsa_kid = new_rsa_key(), f"rsa{self._key_generation}"
        self.ec_key, self.ec_kid = new_ec_key(), f"ec{self._key_generation}"

    def jwks(self):
        return {"keys": [public_jwk(self.rsa_key, self.rsa_kid), public_jwk(self.ec_key, self.ec_kid)]}

    def _key_and_kid(self, alg, key=None):
        if alg == "RS256":
            return key or self.rsa_key, self.rsa_kid
        if alg == "ES256":
            return key or self.ec_key, self.ec_kid
        if alg == "HS256":
            return key or self.hs256_secret, None
        return None, None

    def make_jwt(self, header, claims, key=None):
        """Signs claims under header (alg from header["alg"], default RS256); key None = this
        IdP's current key for that alg (the RSA/EC key, or hs256_secret)."""
        header = {"alg": "RS256", **header}
        return sign_jwt(header, claims, self._key_and_kid(header["alg"], key)[0])

    def id_token_claims(self, authorization):
        now = int(time.time())
        base = {"iss": self.issuer, "sub": self.DEFAULT_SUB, "aud": authorization.get("client_id"),
                "exp": now + 300, "iat": now, "email": "hostile@example.com",
                "email_verified": True, "name": "Hostile User", "sid": self.DEFAULT_SID}
        if "nonce" in authorization:
            base["nonce"] = authorization["nonce"]
        return _apply(base, self.claims)

    def make_id_token(self, authorization):
        """The ID token this IdP answers for an /authorize query dict, with every knob applied."""
        key, kid = self._key_and_kid(self.alg, self.sign_with)
        header = {"alg": self.alg, "typ": "JWT"}
        if self.kid is not OMIT and (self.kid or kid):
            header["kid"] = self.kid or kid
        token = sign_jwt(header, self.id_token_claims(authorization), key)
        return flip_signature(token) if self.corrupt_signature else token

    def make_logout_token(self, header=None, key=None, **overrides):
        """A back-channel logout token signed with the current RSA key (or key): header
        {alg RS256, typ logout+jwt, kid}, claims iss, aud (the client_id of the latest
        /authorize), iat, exp (+120 s), jti, events, sub, sid. overrides (and header) replace
        claims (header fields); OMIT removes."""
        now = int(time.time())
        latest = next((a for a in reversed(list(self.authorizations.values()))), {})
        base = {"iss": self.issuer, "aud": latest.get("client_id"), "iat": now, "exp": now + 120,
                "jti": secrets.token_urlsafe(16), "events": {LOGOUT_EVENT: {}},
                "sub": self.claims.get("sub", self.DEFAULT_SUB),
                "sid": self.claims.get("sid", self.DEFAULT_SID)}
        claims = _apply(base, overrides)
        if claims.get("sub") is OMIT:
            claims.pop("sub")
        if claims.get("sid") is OMIT:
            claims.pop("sid")
        if "aud" in claims and claims["aud"] is None:
            raise ValueError("make_logout_token: no /authorize seen yet, pass aud=")
        hdr = _apply({"alg": "RS256", "typ": "logout+jwt", "kid": self.rsa_kid}, header)
        return sign_jwt(hdr, claims, self._key_and_kid(hdr["alg"], key)[0])

    def requests_to(self, path):
        """The recorded requests whose path is path, e.g. requests_to("/token")."""
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    # -- HTTP --------------------------------------------------------------------------------

    def _discovery(self):
        base = {
            "issuer": self.discovery_issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/jwks",
            "end_session_endpoint": self.issuer + "/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        return _apply(base, self.discovery_overrides)

    def _handle(self, req):
        """req: the recorded dict. Returns (status, headers dict, body bytes)."""
        path, q = req["path"], req["query"]
        if path == "/.well-known/openid-configuration":
            return _json(200, self._discovery())
        if path == "/jwks":
            return _json(200, self.jwks_override if self.jwks_override is not None else self.jwks())
        if path == "/authorize":
            if "redirect_uri" not in q:
                return 400, {"Content-Type": "text/plain"}, b"no redirect_uri\n"
            code = secrets.token_urlsafe(24)
            with self._lock:
                self.authorizations[code] = dict(q)
            params = {"code": code}
            if "state" in q:
                params["state"] = q["state"]
            if self.auth_iss is not None:
                params["iss"] = self.auth_iss
            sep = "&" if "?" in q["redirect_uri"] else "?"
            return 302, {"Location": q["redirect_uri"] + sep + urllib.parse.urlencode(params)}, b""
        if path == "/token" and req["method"] == "POST":
            return self._token(req)
        if path == "/userinfo":
            auth = req["headers"].get("authorization", "")
            code = self.access_tokens.get(auth[7:]) if auth[:7].lower() == "bearer " else None
            if code is None:
                return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, b""
            sub = self.id_token_claims(self.authorizations[code]).get("sub", self.DEFAULT_SUB)
            base = {"sub": sub, "email": "hostile@example.com", "email_verified": True,
                    "name": "Hostile User"}
            return _json(200, _apply(base, self.userinfo_claims))
        if path == "/logout":
            target = q.get("post_logout_redirect_uri")
            if target:
                extra = {"state": q["state"]} if "state" in q else {}
                sep = "&" if "?" in target else "?"
                return 302, {"Location": target + (sep + urllib.parse.urlencode(extra) if extra else "")}, b""
            return 200, {"Content-Type": "text/plain"}, b"signed out\n"
        return 404, {"Content-Type": "text/plain"}, b"not found\n"

    def _token(self, req):
        form = dict(urllib.parse.parse_qsl(req["body"], keep_blank_values=True))
        code = form.get("code", "")
        with self._lock:
            auth = self.authorizations.get(code)
            if form.get("grant_type") != "authorization_code" or auth is None or code in self.redeemed:
                return _json(400, {"error": "invalid_grant"})
            if form.get("redirect_uri") != auth.get("redirect_uri"):
                return _json(400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"})
            verifier = form.get("code_verifier")
            if (auth.get("code_challenge_method") != "S256" or not verifier
                    or not hmac.compare_digest(s256(verifier), auth.get("code_challenge", ""))):
                return _json(400, {"error": "invalid_grant", "error_description": "PKCE failed"})
            self.redeemed.add(code)
            access_token = secrets.token_urlsafe(24)
            self.access_tokens[access_token] = code
        if self.token_body is not None:
            body = self.token_body
            if isinstance(body, dict):
                return _json(self.token_status, body)
            return self.token_status, {"Content-Type": "application/json"}, \
                body.encode() if isinstance(body, str) else body
        return _json(self.token_status, {"access_token": access_token, "token_type": "Bearer",
                                         "expires_in": 300, "id_token": self.make_id_token(auth)})

    def _handler_class(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
                req = {"method": self.command, "path": url.path,
                       "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
                       "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                with idp._lock:
                    idp.requests.append(req)
                try:
                    status, headers, payload = idp._handle(req)
                except Exception as e:  # a broken knob shows up as a 500 and in the test log
                    status, headers, payload = 500, {"Content-Type": "text/plain"}, f"{e!r}\n".encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        return Handler


def _json(status, obj):
    return status, {"Content-Type": "application/json"}, json.dumps(obj).encode()
