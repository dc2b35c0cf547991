"""TOTP multi-factor authentication through lighttpd: setup, enabling with backup codes, the
login's second step (replays refused, also concurrent ones), backup codes, lockout, disabling,
and require_mfa in the authorizer."""
import base64
import concurrent.futures
import hashlib
import hmac
import struct
import time

import requests

import servers
from test_responder import PASSWORD, csrf, login, site, user  # noqa: F401


def totp(secret_b32, t=None, step_offset=0):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((t or time.time()) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def enrol(site):
    # codes are compared across a few requests: start early in a 30 s step, so that no step
    # boundary falls inside a test (bounded wait, at most 10 s)
    if time.time() % 30 > 20:
        time.sleep(30.5 - time.time() % 30)
    user(site)
    s, _ = login(site)
    r = s.post(site.url + "/auth/mfa/setup", headers=csrf(s), timeout=10)
    assert r.status_code == 200, r.text
    setup = r.json()
    assert setup["otpauth_uri"] == (f"otpauth://totp/Postern:alice%40example.com?secret="
                                    f"{setup['secret']}&issuer=Postern&algorithm=SHA1&digits=6"
                                    f"&period=30")
    # the secret is sealed at rest: neither it nor its bytes are in the row
    row = bytes(site.db.value("SELECT secret_enc FROM postern.mfa_totp"))
    assert base64.b32decode(setup["secret"] + "=" * (-len(setup["secret"]) % 8)) not in row
    r = s.post(site.url + "/auth/mfa/enable", headers=csrf(s), json={"code": "000000"},
               timeout=10)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_CODE")
    r = s.post(site.url + "/auth/mfa/enable", headers=csrf(s),
               json={"code": totp(setup["secret"], step_offset=-1)}, timeout=10)
    assert r.status_code == 200, r.text
    codes = r.json()["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(len(c) == 11 for c in codes)
    return s, setup["secret"], codes


def test_mfa_login_second_step(site):
    _, secret, codes = enrol(site)
    _, r = login(site)
    assert r.status_code == 200 and r.json()["mfa_required"] is True
    assert "Set-Cookie" not in r.headers  # no session before the second step
    challenge = r.json()["challenge"]
    assert challenge.startswith("pst_m_")
    r = requests.post(site.url + "/auth/mfa/verify", json={"challenge": challenge,
                                                           "code": "123456"}, timeout=10)
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_CODE")
    # the step used to enable is spent: the next one signs in, once
    code = totp(secret)
    s = requests.Session()
    r = s.post(site.url + "/auth/mfa/verify", json={"challenge": challenge, "code": code},
               timeout=10)
    assert r.status_code == 200, r.text
    assert s.get(site.url + "/auth/me", timeout=10).json()["user"]["mfa_enabled"] is True
    assert site.db.value("SELECT mfa FROM postern.sessions ORDER BY created_at DESC LIMIT 1")
    # the challenge is gone, and the same code never works twice
    r = requests.post(site.url + "/auth/mfa/verify", json={"challenge": challenge, "code": code},
                      timeout=10)
    assert r.json()["code"] == "INVALID_CHALLENGE"
    _, r = login(site)
    r = requests.post(site.url + "/auth/mfa/verify", timeout=10,
                      json={"challenge": r.json()["challenge"], "code": code})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_CODE")
    # a backup code works once
    for expect in (200, 401):
        _, r = login(site)
        r = requests.post(site.url + "/auth/mfa/verify", timeout=10,
                          json={"challenge": r.json()["challenge"], "code": codes[0].upper()})
        assert r.status_code == expect


def test_totp_code_replayed_concurrently_wins_once(site):
    _, secret, _ = enrol(site)
    challenges = [login(site)[1].json()["challenge"] for _ in range(8)]
    code = totp(secret, step_offset=1)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda ch: requests.post(
            site.url + "/auth/mfa/verify", json={"challenge": ch, "code": code},
            timeout=10).status_code, challenges))
    assert sorted(codes) == [200] + [401] * 7


def test_mfa_attempts_are_bounded(site):
    enrol(site)
    _, r = login(site)
    ch = r.json()["challenge"]
    codes = [requests.post(site.url + "/auth/mfa/verify", json={"challenge": ch, "code": "111111"},
                           timeout=10).json()["code"] for _ in range(6)]
    assert codes == ["INVALID_CODE"] * 5 + ["INVALID_CHALLENGE"]  # mfa_max_attempts = 5


def test_require_mfa_and_disable(site):
    user(site, "bob@example.com")
    bob, _ = login(site, "bob@example.com")
    s, secret, _ = enrol(site)
    before = site.authorizer.log().count("rules loaded")
    site.db.query("SELECT postern.set_setting('require_mfa', 'on')")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    r = bob.get(site.url + "/index.html", timeout=10)
    assert (r.status_code, r.json()["code"]) == (403, "MFA_REQUIRED")
    assert bob.post(site.url + "/auth/mfa/setup", headers=csrf(bob), timeout=10).status_code == 200
    assert s.get(site.url + "/index.html", timeout=10).status_code == 200
    # disabling needs the password and a code, and is refused while the policy is on
    # (enabling used the previous step; each attempt below that checks a code spends one)
    r = s.post(site.url + "/auth/mfa/disable", headers=csrf(s), timeout=10,
               json={"password": PASSWORD, "code": totp(secret)})
    assert (r.status_code, r.json()["code"]) == (409, "NOT_ALLOWED_NOW")
    site.db.query("SELECT postern.set_setting('require_mfa', 'off')")
    r = s.post(site.url + "/auth/mfa/disable", headers=csrf(s), timeout=10,
               json={"password": "wrong password x", "code": totp(secret, step_offset=1)})
    assert r.json()["code"] == "WRONG_PASSWORD"
    r = s.post(site.url + "/auth/mfa/disable", headers=csrf(s), timeout=10,
               json={"password": PASSWORD, "code": totp(secret)})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_CODE")  # a replay
    r = s.post(site.url + "/auth/mfa/disable", headers=csrf(s), timeout=10,
               json={"password": PASSWORD, "code": totp(secret, step_offset=1)})
    assert r.json() == {"disabled": True}
    assert site.db.value("SELECT count(*) FROM postern.mfa_totp") == 1  # bob's pending one


def test_require_mfa_covers_api_keys_and_tokens(site):
    site.db.query("SELECT postern.grant_permission('user', 'album.read')")
    user(site)
    s, _ = login(site)
    key = site.db.value("SELECT postern.create_api_key('alice@example.com', 'k', "
                        "ARRAY['album.read'])")
    jwt = requests.post(site.url + "/auth/token", headers={
        "Authorization": "Bearer " + login(site)[1].json()["token"]}, json={},
        timeout=10).json()["access_token"]
    before = site.authorizer.log().count("rules loaded")
    site.db.query("SELECT postern.set_setting('require_mfa', 'on')")
    servers.wait_for(lambda: site.authorizer.log().count("rules loaded") > before, what="reload")
    for headers in ({"X-Api-Key": key}, {"Authorization": "Bearer " + jwt}):
        r = requests.get(site.url + "/index.html", headers=headers, timeout=10)
        assert (r.status_code, r.json()["code"]) == (403, "MFA_REQUIRED"), headers
    assert s.get(site.url + "/index.html", timeout=10).json()["code"] == "MFA_REQUIRED"
