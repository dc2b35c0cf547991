"""postern-authorizer's decisions over raw FastCGI, against a real PostgreSQL: every credential
kind allowed with its identity, denied when wrong, expired, revoked, malformed or duplicated;
rules, CSRF, forced password change, require_mfa; database outage and recovery."""
import base64
import hashlib
import os
import secrets
import subprocess
import time

import pytest

import fcgi_client
import servers
from pgcluster import PgCluster

PASSWORD = "correct horse battery staple"


def new_token(prefix):
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def sha(token):
    return hashlib.sha256(token.encode()).digest()


class Authz:
    """The authorizer under spawn-fcgi, and helpers to ask it and to mint credentials by SQL."""

    def __init__(self, program, db):
        self.program = program
        self.db = db

    def ask_until(self, status, uri, **kw):
        """ask() until the status is reached (a revocation travels by NOTIFY)."""
        return servers.eventually(lambda: self.ask(uri, **kw), lambda r: r[0] == status,
                                  what=f"{uri} to answer {status}")

    def ask(self, uri, method="GET", headers=None, role="AUTHORIZER", params=None):
        env = {"REQUEST_METHOD": method, "REQUEST_URI": uri, "HTTP_HOST": "app.example",
               "SERVER_NAME": "app.example", "QUERY_STRING": uri.partition("?")[2]}
        for k, v in (headers or {}).items():
            env["HTTP_" + k.upper().replace("-", "_")] = v
        env.update(params or {})
        h, status, body, _ = fcgi_client.request(self.program.socket, env, role=role)
        return status, h, body

    def user(self, email, role="user"):
        return self.db.value("SELECT postern.create_user(%s, %s, %s)", (email, PASSWORD, role))

    def session(self, user_id, **cols):
        token = new_token("pst_s_")
        cols.setdefault("expires_at", "now() + interval '1 day'")
        names = ", ".join(["token_hash", "user_id"] + list(cols))
        exprs = ", ".join(["%s", "%s"] + [str(v) for v in cols.values()])
        sid = self.db.value(f"INSERT INTO postern.sessions ({names}) VALUES ({exprs}) RETURNING id",
                            (sha(token), user_id))
        return token, str(sid)

    def change_rules(self, sql, args=None):
        """Runs one statement that changes rules or settings and waits for the reload."""
        before = self.program.log().count("rules loaded")
        self.db.query(sql, args)
        servers.wait_for(lambda: self.program.log().count("rules loaded") > before,
                         what="rules reloaded after NOTIFY")


@pytest.fixture
def authz(db, programs):
    # a cache TTL far beyond any test: only NOTIFY evictions can make a revocation visible
    p = programs("authorizer", cookie_secure="off", cache_ttl="1h")
    a = Authz(p, db)
    servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
    return a


def cookie(token):
    return {"Cookie": f"other=1; postern_session={token}"}


def identity(headers):
    return {k[len("variable-"):]: v for k, v in headers.items() if k.startswith("variable-")}


def test_session_cookie_allows_with_identity(authz):
    uid = authz.user("alice@example.com", "admin")
    token, sid = authz.session(uid)
    status, headers, body = authz.ask("/app/page", headers=cookie(token))
    assert status == 200 and body == b""
    assert set(headers) == {"status"} | {"variable-" + k.lower() for k in (
        "REMOTE_USER", "POSTERN_USER_ID", "POSTERN_USER", "POSTERN_ROLE", "POSTERN_AUTH",
        "POSTERN_SESSION_ID", "POSTERN_PERMISSIONS", "POSTERN_MFA")}
    assert identity(headers) == {
        "remote_user": "alice@example.com", "postern_user_id": str(uid),
        "postern_user": "alice@example.com", "postern_role": "admin", "postern_auth": "session",
        "postern_session_id": sid, "postern_permissions": "all", "postern_mfa": "off"}


def test_activity_is_written_once_a_minute_off_the_request_path(authz):
    uid = authz.user("act@example.com")
    token, sid = authz.session(uid, last_seen_at="now() - interval '1 hour'")
    for _ in range(5):
        assert authz.ask("/x", headers=cookie(token))[0] == 200
    servers.eventually(lambda: authz.db.value(
        "SELECT last_seen_at > now() - interval '1 minute' FROM postern.sessions"),
        lambda seen: seen is True, what="the session's activity to be written")
    # five uses, one write: the next ones within the minute are not even queued
    authz.db.query("UPDATE postern.sessions SET last_seen_at = now() - interval '1 hour'")
    assert authz.ask("/x", headers=cookie(token))[0] == 200
    assert authz.db.value("SELECT last_seen_at < now() - interval '59 minutes' "
                          "FROM postern.sessions") is True


def test_a_blocked_activity_write_never_holds_up_a_revocation(authz):
    """Activity goes to the database on the writer's connection, not the listener's: with a
    touch stuck behind a row lock, another session's revocation still arrives."""
    uid = authz.user("busy@example.com")
    touched, touched_sid = authz.session(uid, last_seen_at="now() - interval '1 hour'")
    revoked, revoked_sid = authz.session(uid)
    assert authz.ask("/x", headers=cookie(revoked))[0] == 200
    assert authz.ask("/x", headers=cookie(revoked))[0] == 200  # now from the cache
    blocker = authz.db.connect(autocommit=False)
    with blocker.cursor() as cur:
        cur.execute("SELECT 1 FROM postern.sessions WHERE id = %s FOR UPDATE", (touched_sid,))
    assert authz.ask("/x", headers=cookie(touched))[0] == 200  # queues its activity write
    servers.eventually(lambda: authz.db.value(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
        "'postern-authorizer/writer' AND wait_event_type = 'Lock'"),
        lambda n: n == 1, what="the writer to wait for the row lock")
    authz.db.query("SELECT postern.revoke_session(%s)", (revoked_sid,))
    status, _, _ = authz.ask_until(401, "/x", headers=cookie(revoked))
    assert status == 401
    blocker.rollback()
    servers.eventually(lambda: authz.db.value(
        "SELECT last_seen_at > now() - interval '1 minute' FROM postern.sessions WHERE id = %s",
        (touched_sid,)), lambda seen: seen is True, what="the write once the lock is gone")


def test_bearer_session_token(authz):
    uid = authz.user("bob@example.com")
    token, sid = authz.session(uid)
    status, headers, _ = authz.ask("/api/x", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert identity(headers)["postern_session_id"] == sid
    assert identity(headers)["postern_auth"] == "session"


def test_no_credential_api_401_browser_302(authz):
    status, headers, body = authz.ask("/app/page?x=1&y=%2F")
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer realm="postern"'
    assert body == b'{"error":"authentication required","code":"UNAUTHENTICATED"}'
    status, headers, _ = authz.ask("/app/page?x=1&y=%2F", headers={"Accept": "text/html,*/*"})
    assert status == 302
    assert headers["location"] == "/auth/login?return_to=/app/page%3Fx%3D1%26y%3D%252F"
    # nginx (RESPONDER role) cannot pass a 302 through auth_request: 401 instead
    status, _, _ = authz.ask("/app/page", headers={"Accept": "text/html"}, role="RESPONDER")
    assert status == 401


def test_public_rules(authz):
    for uri, method in (("/auth/login", "GET"), ("/auth/login", "POST"), ("/auth/health", "GET"),
                        ("/auth/oidc/callback?code=x", "GET")):
        status, headers, _ = authz.ask(uri, method)
        assert status == 200, uri
        assert identity(headers) == {}
    # a method the public rule does not list falls to the next rule
    assert authz.ask("/auth/login", "DELETE")[0] == 401


@pytest.mark.parametrize("mutate", [
    "UPDATE postern.sessions SET revoked_at = now()",
    "UPDATE postern.sessions SET expires_at = now() - interval '1 second'",
    "UPDATE postern.users SET disabled = true",
    "DELETE FROM postern.sessions",
])
def test_dead_sessions_denied_at_once(authz, mutate):
    """Plain SQL by a DBA reaches the cached credential through NOTIFY."""
    uid = authz.user("carol@example.com")
    token, _ = authz.session(uid)
    assert authz.ask("/x", headers=cookie(token))[0] == 200
    assert authz.ask("/x", headers=cookie(token))[0] == 200  # now from the cache
    authz.db.query(mutate)
    status, headers, body = authz.ask_until(401, "/x", headers=cookie(token))
    assert b'"code":"SESSION_INVALID"' in body
    # a browser with a dead session goes back to the login page
    status, headers, _ = authz.ask("/x", headers={**cookie(token), "Accept": "text/html"})
    assert status == 302


def test_idle_session_denied(authz):
    uid = authz.user("cy@example.com")
    token, _ = authz.session(uid, last_seen_at="now() - interval '8 days'")
    status, _, body = authz.ask("/x", headers=cookie(token))
    assert status == 401 and b"SESSION_INVALID" in body


@pytest.mark.parametrize("headers,code", [
    ({"Cookie": "postern_session=pst_s_AAAA"}, "CREDENTIAL_MALFORMED"),
    ({"Authorization": "Basic YTpi"}, "CREDENTIAL_MALFORMED"),
    ({"Authorization": "Bearer a, Bearer b"}, "CREDENTIAL_MALFORMED"),
    ({"Authorization": "Bearer " + new_token("pst_k_")}, "CREDENTIAL_MALFORMED"),
    ({"Authorization": "Bearer " + new_token("pst_s_")}, "CREDENTIAL_INVALID"),
    ({"X-Api-Key": new_token("pst_s_")}, "CREDENTIAL_MALFORMED"),
    ({"X-Api-Key": new_token("pst_k_")}, "CREDENTIAL_INVALID"),
    ({"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, "CREDENTIAL_INVALID"),
])
def test_bad_credentials_401(authz, headers, code):
    status, h, body = authz.ask("/api/x", headers=headers)
    assert status == 401, body
    assert f'"code":"{code}"'.encode() in body
    assert h["www-authenticate"].startswith('Bearer realm="postern", error="invalid_')


def test_duplicate_session_cookie_denied(authz):
    uid = authz.user("dan@example.com")
    token, _ = authz.session(uid)
    status, _, body = authz.ask("/x", headers={
        "Cookie": f"postern_session={token}; postern_session={token}"})
    assert status == 401 and b"CREDENTIAL_MALFORMED" in body


def test_invalid_higher_credential_never_falls_back(authz):
    uid = authz.user("erin@example.com")
    token, _ = authz.session(uid)
    status, _, _ = authz.ask("/x", headers={**cookie(token),
                                            "Authorization": "Bearer " + new_token("pst_s_")})
    assert status == 401
    status, _, _ = authz.ask("/x", headers={**cookie(token), "X-Api-Key": new_token("pst_k_")})
    assert status == 401


def test_api_key_scopes_and_rules(authz):
    authz.db.query("SELECT postern.create_role('editor', 'Editors')")
    for p in ("album.read", "album.write"):
        authz.db.query("SELECT postern.grant_permission('editor', %s)", (p,))
    authz.user("fay@example.com", "editor")
    key = authz.db.value("SELECT postern.create_api_key('fay@example.com', 'ci', "
                         "ARRAY['album.read'])")
    kid = authz.db.value("SELECT id FROM postern.api_keys")
    authz.change_rules(
        "INSERT INTO postern.rules (priority, methods, path_pattern, access, permission, "
        "allow_api_keys) VALUES (200, ARRAY['GET'], '/albums/**', 'permission', 'album.read', true), "
        "(201, ARRAY['POST'], '/albums/**', 'permission', 'album.write', true), "
        "(202, NULL, '/nokeys/**', 'authenticated', NULL, false)")
    status, headers, _ = authz.ask("/albums/1", headers={"X-Api-Key": key})
    assert status == 200
    assert identity(headers)["postern_auth"] == "api_key"
    assert identity(headers)["postern_key_id"] == str(kid)
    assert identity(headers)["postern_permissions"] == "album.read"
    assert "postern_session_id" not in identity(headers)
    # the listener thread writes the use, off the request path
    servers.eventually(lambda: authz.db.value("SELECT last_used_at > now() - interval '1 minute' "
                                              "FROM postern.api_keys"),
                       lambda used: used is True, what="the key's last use to be written")
    status, _, body = authz.ask("/albums/1", "POST", headers={"X-Api-Key": key})
    assert status == 403 and b'"code":"FORBIDDEN"' in body
    status, _, body = authz.ask("/nokeys/x", headers={"X-Api-Key": key})
    assert status == 403 and b"API_KEY_NOT_ALLOWED" in body
    # the owner loses the permission: the key loses it at once
    authz.db.query("SELECT postern.revoke_permission('editor', 'album.read')")
    authz.ask_until(403, "/albums/1", headers={"X-Api-Key": key})
    authz.db.query("SELECT postern.revoke_api_key(%s)", (kid,))
    authz.ask_until(401, "/albums/1", headers={"X-Api-Key": key})


def test_rules_reload_on_notify(authz):
    uid = authz.user("gus@example.com")
    token, _ = authz.session(uid)
    assert authz.ask("/secret/x", headers=cookie(token))[0] == 200
    authz.db.query("INSERT INTO postern.rules (priority, path_pattern, access) "
                   "VALUES (5, '/secret/**', 'deny')")
    servers.wait_for(lambda: authz.ask("/secret/x", headers=cookie(token))[0] == 403,
                     what="deny rule in force")
    status, _, body = authz.ask("/secret/x", headers=cookie(token))
    assert b'"code":"DENIED"' in body
    # path tricks land on the same rule
    for uri in ("/public/../secret/x", "/%73ecret/x", "//secret//x", "/secret/./x/",
                "/x/%2e%2e/secret/y"):
        assert authz.ask(uri, headers=cookie(token))[0] == 403, uri
    for uri in ("/secret%2Fx", "/secret\\x", "/secret/%00", "/a%zz"):
        status, _, body = authz.ask(uri, headers=cookie(token))
        assert status == 400 and b'"code":"BAD_PATH"' in body, uri


def test_admin_rule(authz):
    authz.user("admin@example.com", "admin")
    authz.user("user@example.com", "user")
    admin_t, _ = authz.session(authz.db.value("SELECT id FROM postern.users WHERE role='admin'"))
    user_t, _ = authz.session(authz.db.value("SELECT id FROM postern.users WHERE role='user'"))
    assert authz.ask("/auth/admin/users", headers=cookie(admin_t))[0] == 200
    status, _, body = authz.ask("/auth/admin/users", headers=cookie(user_t))
    assert status == 403 and b"ADMIN_REQUIRED" in body


def test_shared_link_scope(authz):
    authz.user("hal@example.com", "admin")
    key = authz.db.value("SELECT postern.create_shared_link('hal@example.com', '/share/album1', "
                         "ARRAY['album.read'], now() + interval '1 day')")
    authz.change_rules("INSERT INTO postern.rules (priority, path_pattern, access, "
                       "allow_shared_links) VALUES (20, '/share/**', 'authenticated', true)")
    status, headers, _ = authz.ask("/share/album1/photo.jpg?key=" + key)
    assert status == 200
    ident = identity(headers)
    assert ident["postern_auth"] == "shared_link"
    assert ident["remote_user"] == "shared-link:" + ident["postern_link_id"]
    assert ident["postern_permissions"] == "album.read"
    assert authz.ask("/share/album1", headers={"X-Postern-Share-Key": key})[0] == 200
    status, _, body = authz.ask("/share/album2/photo.jpg?key=" + key)
    assert status == 403 and b"LINK_SCOPE" in body
    assert authz.ask("/share/album10?key=" + key)[0] == 403  # segment boundary
    # outside rules that allow links the key is not a credential at all
    assert authz.ask("/elsewhere?key=" + key)[0] == 401
    assert authz.ask(f"/share/album1?key={key}&key={key}")[0] == 401  # duplicated
    authz.db.query("UPDATE postern.shared_links SET expires_at = now() - interval '1 s'")
    authz.ask_until(401, "/share/album1?key=" + key)


def test_single_use_token(authz):
    uid = authz.user("ivy@example.com")
    authz.change_rules("INSERT INTO postern.rules (priority, path_pattern, access, token_purpose) "
                       "VALUES (20, '/download/**', 'authenticated', 'download')")
    token = new_token("pst_t_")
    authz.db.query("INSERT INTO postern.single_use_tokens (token_hash, user_id, purpose, path, "
                   "expires_at) VALUES (%s, %s, 'download', '/download/f1', now() + interval '60 s')",
                   (sha(token), uid))
    status, headers, _ = authz.ask("/download/f1?token=" + token)
    assert status == 200 and identity(headers)["postern_auth"] == "token"
    assert identity(headers)["postern_user"] == "ivy@example.com"
    assert authz.ask("/download/f1?token=" + token)[0] == 401  # used
    other = new_token("pst_t_")
    authz.db.query("INSERT INTO postern.single_use_tokens (token_hash, user_id, purpose, path, "
                   "expires_at) VALUES (%s, %s, 'download', '/download/f1', now() + interval '60 s')",
                   (sha(other), uid))
    assert authz.ask("/download/f2?token=" + other)[0] == 401  # other path burns it
    assert authz.ask("/download/f1?token=" + other)[0] == 401


def test_csrf_cross_site_refused_for_cookies_only(authz):
    uid = authz.user("jo@example.com")
    token, _ = authz.session(uid)
    h = cookie(token)
    assert authz.ask("/app/save", "POST", headers={**h, "Sec-Fetch-Site": "same-origin"})[0] == 200
    assert authz.ask("/app/save", "POST", headers=h)[0] == 200  # non-browser client
    for extra in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                  {"Origin": "https://evil.example"}, {"Origin": "null"}):
        status, _, body = authz.ask("/app/save", "POST", headers={**h, **extra})
        assert status == 403 and b'"code":"CSRF"' in body, extra
    assert authz.ask("/app/save", "POST", headers={**h, "Origin": "http://app.example"})[0] == 200
    # a cross-site GET is not refused; Bearer requests carry no cookie and skip the check
    assert authz.ask("/app/page", headers={**h, "Sec-Fetch-Site": "cross-site"})[0] == 200
    status, _, _ = authz.ask("/app/save", "POST", headers={
        "Authorization": f"Bearer {token}", "Sec-Fetch-Site": "cross-site"})
    assert status == 200


def test_must_change_password_and_require_mfa(authz):
    uid = authz.user("kim@example.com")
    token, _ = authz.session(uid)
    authz.db.query("UPDATE postern.users SET must_change_password = true")
    status, _, body = authz.ask("/app", headers=cookie(token))
    assert status == 403 and b"PASSWORD_CHANGE_REQUIRED" in body
    assert authz.ask("/auth/password", "POST", headers=cookie(token))[0] == 200
    assert authz.ask("/auth/me", headers=cookie(token))[0] == 200
    authz.db.query("UPDATE postern.users SET must_change_password = false")
    authz.db.query("SELECT postern.set_setting('require_mfa', 'on')")
    servers.eventually(lambda: authz.ask("/app", headers=cookie(token)),
                       lambda r: b"MFA_REQUIRED" in r[2], what="require_mfa")
    assert authz.ask("/auth/mfa/setup", "POST", headers=cookie(token))[0] == 200
    assert authz.ask("/auth/mfa", headers=cookie(token))[0] == 200
    assert authz.ask("/auth/mfaxyz", headers=cookie(token))[0] == 403


def test_malformed_requests_400(authz):
    assert authz.ask("/x", method="get")[0] == 400
    status, _, body = authz.ask("/x", headers={"Host": "evil host"})
    assert status == 400 and b"BAD_HOST" in body
    status, _, body = authz.ask("/x", headers={"Cookie": "a" * 9000})
    assert status == 400 and b"HEADER_TOO_LARGE" in body


def test_spoofed_identity_headers_ignored(authz):
    status, headers, _ = authz.ask("/app", headers={
        "X-Postern-User": "admin@example.com", "Variable-REMOTE_USER": "admin@example.com",
        "X-Forwarded-User": "admin@example.com", "Remote-User": "admin@example.com"},
        params={"REMOTE_USER": "admin@example.com"})
    assert status == 401


def test_database_outage_503_then_recovery(workdir):
    with PgCluster() as cluster:
        r = cluster.psql(["-v", "ON_ERROR_STOP=1", "-f",
                          os.path.join(servers.REPO, "sql", "install.sql")])
        assert r.returncode == 0, r.stderr
        conn = cluster.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT postern.create_user('lu@example.com', %s)", (PASSWORD,))
            cur.execute("SELECT id FROM postern.users")
            uid = cur.fetchone()[0]
            token = new_token("pst_s_")
            cur.execute("INSERT INTO postern.sessions (token_hash, user_id, expires_at) "
                        "VALUES (%s, %s, now() + interval '1 day')", (sha(token), uid))
        conn.close()
        cfg = servers.write_config(workdir, database=cluster.dsn(), db_retry_interval="100ms",
                                   threads="1", cookie_secure="off")
        p = servers.Program("authorizer", workdir, cfg).start()
        a = Authz(p, None)
        try:
            servers.wait_for(lambda: "rules loaded" in p.log(), what="rules")
            assert a.ask("/x", headers=cookie(token))[0] == 200
            cluster.stop()
            status, headers, body = a.ask("/x", headers=cookie(token))
            assert (status, headers["retry-after"]) == (503, "5")
            assert b"DATABASE_UNAVAILABLE" in body
            cluster.start()
            servers.wait_for(lambda: a.ask("/x", headers=cookie(token))[0] == 200,
                             what="recovery")
            assert p.proc.poll() is None
        finally:
            p.stop()


# -- access JWTs -----------------------------------------------------------------------------
import hmac  # noqa: E402
import json  # noqa: E402


def b64(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt_key(authz):
    """The key the programs derive: HMAC-SHA256(server key, "postern-key:jwt")."""
    with open(os.path.join(os.path.dirname(authz.program.config), "server.key"), "rb") as f:
        master = f.read().rstrip()
    return hmac.new(master, b"postern-key:jwt", hashlib.sha256).digest()


def mint(key, header=None, **claims):
    now = int(time.time())
    body = {"typ": "access", "iss": "postern", "aud": "postern", "iat": now, "exp": now + 300,
            "jti": secrets.token_hex(8)}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(body).encode())
    sig = b64(hmac.new(key, f"{head}.{payload}".encode(), hashlib.sha256).digest())
    return f"{head}.{payload}.{sig}"


def test_access_jwt(authz):
    uid = authz.user("max@example.com")
    _, sid = authz.session(uid)
    key = jwt_key(authz)

    def ask(tok):
        return authz.ask("/api/x", headers={"Authorization": "Bearer " + tok})

    status, headers, _ = ask(mint(key, sub=str(uid), sid=sid))
    assert status == 200
    assert identity(headers)["postern_auth"] == "jwt"
    assert identity(headers)["postern_session_id"] == sid
    now = int(time.time())
    other_uid = authz.user("nia@example.com")
    bad = {
        "expired": mint(key, sub=str(uid), sid=sid, exp=now - 1),
        "future iat": mint(key, sub=str(uid), sid=sid, iat=now + 120),
        "future nbf": mint(key, sub=str(uid), sid=sid, nbf=now + 120),
        "no exp": mint(key, sub=str(uid), sid=sid, exp=None),
        "wrong iss": mint(key, sub=str(uid), sid=sid, iss="other"),
        "wrong aud": mint(key, sub=str(uid), sid=sid, aud="other"),
        "aud list": mint(key, sub=str(uid), sid=sid, aud=["postern"]),
        "wrong typ": mint(key, sub=str(uid), sid=sid, typ="refresh"),
        "other user": mint(key, sub=str(other_uid), sid=sid),
        "bad sid": mint(key, sub=str(uid), sid="x' OR '1'='1"),
        "wrong key": mint(b"k" * 32, sub=str(uid), sid=sid),
        "HS512": mint(key, {"alg": "HS512", "typ": "JWT"}, sub=str(uid), sid=sid),
        "kid": mint(key, {"alg": "HS256", "kid": "../../etc/passwd"}, sub=str(uid), sid=sid),
        "jku": mint(key, {"alg": "HS256", "jku": "http://127.0.0.1/k"}, sub=str(uid), sid=sid),
        "none": b64(b'{"alg":"none"}') + "." + b64(json.dumps(
            {"typ": "access", "iss": "postern", "aud": "postern", "sub": str(uid), "sid": sid,
             "iat": now, "exp": now + 60, "jti": "x"}).encode()) + ".",
        "NoNe": mint(key, {"alg": "NoNe"}, sub=str(uid), sid=sid),
        "RS256": mint(key, {"alg": "RS256", "typ": "JWT"}, sub=str(uid), sid=sid),
    }
    for name, tok in bad.items():
        status, headers, body = ask(tok)
        assert status == 401, name
        assert b'"code":"CREDENTIAL_INVALID"' in body, name
        assert headers["www-authenticate"] == 'Bearer realm="postern", error="invalid_token"'
    authz.db.query("SELECT postern.revoke_session(%s)", (sid,))
    servers.eventually(lambda: ask(mint(key, sub=str(uid), sid=sid))[0], lambda s: s == 401)


def test_access_jwt_seen_before_still_expires_and_is_revoked(authz):
    """A JWT verified once is remembered by its hash: asked again (the same string) it is the
    same identity, it stops at its exp although the cache TTL is longer, and a revocation of
    its session reaches it."""
    uid = authz.user("quinn@example.com")
    _, sid = authz.session(uid)
    key = jwt_key(authz)
    now = int(time.time())
    short = mint(key, sub=str(uid), sid=sid, exp=now + 3)
    tok = mint(key, sub=str(uid), sid=sid, jti="remembered")

    def ask(t):
        return authz.ask("/api/x", headers={"Authorization": "Bearer " + t})

    for t in (short, short, tok, tok):
        status, headers, _ = ask(t)
        assert status == 200
        assert identity(headers)["postern_session_id"] == sid
        assert identity(headers)["postern_user_id"] == str(uid)
    servers.eventually(lambda: ask(short)[0], lambda s: s == 401, timeout=8)
    assert int(time.time()) >= now + 2  # stopped by exp, not by chance
    assert ask(tok)[0] == 200
    authz.db.query("SELECT postern.revoke_session(%s)", (sid,))
    servers.eventually(lambda: ask(tok)[0], lambda s: s == 401)


def test_policy_function(authz):
    authz.user("olga@example.com")
    authz.user("pat@example.com")
    olga, _ = authz.session(authz.db.value("SELECT id FROM postern.users WHERE email='olga@example.com'"))
    pat, _ = authz.session(authz.db.value("SELECT id FROM postern.users WHERE email='pat@example.com'"))
    authz.db.query("""CREATE FUNCTION public.own_files(identity jsonb, method text, host text,
                          path text) RETURNS boolean LANGUAGE sql AS $$
                      SELECT path LIKE '/files/' || split_part(identity->>'email', '@', 1) || '/%'
                         AND identity->>'auth' = 'session' AND method = 'GET'
                         AND host = 'app.example' $$""")
    authz.db.query("CREATE FUNCTION public.boom(jsonb, text, text, text) RETURNS boolean "
                   "LANGUAGE sql AS $$ SELECT 1/0 = 1 $$")
    authz.db.query("INSERT INTO postern.rules (priority, path_pattern, access, policy_function) "
                   "VALUES (20, '/files/**', 'authenticated', 'public.own_files'), "
                   "(21, '/boom', 'authenticated', 'public.boom')")
    servers.wait_for(lambda: authz.ask("/files/olga/a", headers=cookie(pat))[0] == 403,
                     what="policy rule")
    assert authz.ask("/files/olga/a", headers=cookie(olga))[0] == 200
    status, _, body = authz.ask("/files/olga/a", headers=cookie(pat))
    assert b'"code":"POLICY_DENIED"' in body
    assert authz.ask("/files/pat/x", headers=cookie(pat))[0] == 200
    status, _, body = authz.ask("/boom", headers=cookie(pat))
    assert status == 403 and b'"code":"POLICY_ERROR"' in body


def test_host_and_method_rules_and_precedence(authz):
    uid = authz.user("quinn@example.com")
    token, _ = authz.session(uid)
    authz.db.query("INSERT INTO postern.rules (priority, host, methods, path_pattern, access) "
                   "VALUES (30, 'admin.example', NULL, '/**', 'deny'), "
                   "(31, NULL, ARRAY['DELETE'], '/docs/**', 'deny'), "
                   "(32, NULL, NULL, '/docs/**', 'public')")
    servers.wait_for(lambda: authz.ask("/docs/a", "DELETE", headers=cookie(token))[0] == 403,
                     what="rules")
    assert authz.ask("/docs/a")[0] == 200  # public for other methods, no credential needed
    assert authz.ask("/x", headers={**cookie(token), "Host": "admin.example"})[0] == 403
    assert authz.ask("/x", headers={**cookie(token), "Host": "ADMIN.example:8443"})[0] == 403
    assert authz.ask("/x", headers={**cookie(token), "Host": "admin.example.org"})[0] == 200


def test_expired_single_use_token(authz):
    uid = authz.user("rae@example.com")
    authz.change_rules("INSERT INTO postern.rules (priority, path_pattern, access, token_purpose) "
                       "VALUES (20, '/ws/**', 'authenticated', 'websocket')")
    token = new_token("pst_t_")
    authz.db.query("INSERT INTO postern.single_use_tokens (token_hash, user_id, purpose, path, "
                   "expires_at) VALUES (%s, %s, 'websocket', '/ws/x', now() - interval '1 s')",
                   (sha(token), uid))
    assert authz.ask("/ws/x?token=" + token)[0] == 401
    # a token for another purpose is refused even on its own path
    other = new_token("pst_t_")
    authz.db.query("INSERT INTO postern.single_use_tokens (token_hash, user_id, purpose, path, "
                   "expires_at) VALUES (%s, %s, 'download', '/ws/x', now() + interval '60 s')",
                   (sha(other), uid))
    assert authz.ask("/ws/x?token=" + other)[0] == 401


def test_slow_database_is_503_within_the_statement_timeout(db, programs):
    p = programs("authorizer", cookie_secure="off", db_statement_timeout="200ms",
                 cache_entries="0")
    a = Authz(p, db)
    servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
    uid = a.user("sam@example.com")
    token, _ = a.session(uid)
    assert a.ask("/x", headers=cookie(token))[0] == 200
    locker = db.connect(autocommit=False)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLE postern.sessions IN ACCESS EXCLUSIVE MODE")
        # the lock is held until the rollback: only statement_timeout can answer this
        status, headers, body = a.ask("/x", headers=cookie(token))
    locker.rollback()
    assert (status, headers["retry-after"]) == (503, "5")
    assert b"DATABASE_UNAVAILABLE" in body
    assert a.ask("/x", headers=cookie(token))[0] == 200


def test_lost_listener_flushes_the_cache(authz):
    """A revocation made while the listener is disconnected is never notified: the cache is
    emptied when the connection is lost, so the next request asks PostgreSQL again."""
    uid = authz.user("tia@example.com")
    token, sid = authz.session(uid)
    assert authz.ask("/x", headers=cookie(token))[0] == 200
    before = authz.program.log().count("rules loaded")
    # revoke without a notification, then cut the listener's connection
    authz.db.query("ALTER TABLE postern.sessions DISABLE TRIGGER USER")
    authz.db.query("UPDATE postern.sessions SET revoked_at = now()")
    authz.db.query("ALTER TABLE postern.sessions ENABLE TRIGGER USER")
    assert authz.ask("/x", headers=cookie(token))[0] == 200  # the cache still trusts it (1 h)
    killed = authz.db.value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE application_name = 'postern-authorizer/listener'")
    assert killed == 1
    servers.wait_for(lambda: authz.program.log().count("rules loaded") > before,
                     what="the listener to reconnect")
    assert "listener connection lost" in authz.program.log()
    status, _, body = authz.ask("/x", headers=cookie(token))
    assert status == 401 and b"SESSION_INVALID" in body


def test_server_key_rotation(db, programs, workdir):
    """A new server key with the previous one accepted until previous_key_until: access tokens
    signed with the old key keep working until then, and not after."""
    old = programs("authorizer", cookie_secure="off")
    a = Authz(old, db)
    servers.wait_for(lambda: "rules loaded" in old.log(), what="rules loaded")
    uid = a.user("uma@example.com")
    _, sid = a.session(uid)
    token = mint(jwt_key(a), sub=str(uid), sid=sid)
    assert a.ask("/x", headers={"Authorization": "Bearer " + token})[0] == 200
    old.stop()
    new_key = os.path.join(workdir, "new.key")
    with open(new_key, "w") as f:
        f.write(secrets.token_urlsafe(48) + "\n")
    os.chmod(new_key, 0o600)
    for until, want in (("2999-01-01T00:00:00Z", 200), ("2000-01-01T00:00:00Z", 401)):
        cfg = servers.write_config(workdir, "rotated.conf", database=db.pg.dsn(db.name),
                                   cookie_secure="off",
                                   previous_server_key_file="server.key",
                                   previous_key_until=until)
        with open(cfg) as f:
            text = f.read().replace("server_key_file = server.key\n",
                                    "server_key_file = new.key\n", 1)
        with open(cfg, "w") as f:
            f.write(text)
        p = servers.Program("authorizer", workdir, cfg)
        # its own socket and log: the stopped program's log already says "rules loaded"
        p.socket = os.path.join(workdir, f"rotated-{want}.sock")
        p.logfile = os.path.join(workdir, f"rotated-{want}.log")
        p.start()
        try:
            servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
            status = Authz(p, db).ask("/x", headers={"Authorization": "Bearer " + token})[0]
            assert status == want, until
        finally:
            p.stop()


def test_rotation_needs_both_keys(workdir):
    cfg = servers.write_config(workdir, previous_server_key_file="server.key")
    r = subprocess.run([os.path.join(servers.BUILD, "postern-authorizer"), "-c", cfg,
                        "--check-config"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "previous_key_until: set it together with previous_server_key_file" in r.stderr
    cfg = servers.write_config(workdir, "b.conf", previous_key_until="tomorrow")
    r = subprocess.run([os.path.join(servers.BUILD, "postern-authorizer"), "-c", cfg,
                        "--check-config"], capture_output=True, text=True)
    assert "expected a UTC time like 2027-01-31T00:00:00Z" in r.stderr


# -- a session's permissions are its role's, kept in memory (migration 011) -------------------
CACHES = pytest.mark.parametrize("cache", [{}, {"cache_entries": "0"}], ids=["cache", "no-cache"])


def start_authz(db, programs, **overrides):
    """The authorizer as the authz fixture starts it (cache TTL 1 h), with overrides."""
    p = programs("authorizer", cookie_secure="off", cache_ttl="1h", **overrides)
    servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
    return Authz(p, db)


def editor_with_session(db, *permissions):
    """Role editor with permissions, its user vic@example.com with a session, and a rule that
    /albums/** needs album.write; made before the authorizer starts. Returns (uid, token, sid)."""
    db.query("SELECT postern.create_role('editor', 'Editors')")
    for p in permissions:
        db.query("SELECT postern.grant_permission('editor', %s)", (p,))
    a = Authz(None, db)
    uid = a.user("vic@example.com", "editor")
    token, sid = a.session(uid)
    db.query("INSERT INTO postern.rules (priority, path_pattern, access, permission) "
             "VALUES (200, '/albums/**', 'permission', 'album.write')")
    return uid, token, sid


def state(authz, token):
    """(status of /albums/1, the permissions answered on /x) for token's session."""
    status, headers, _ = authz.ask("/x", headers=cookie(token))
    assert status == 200
    return authz.ask("/albums/1", headers=cookie(token))[0], identity(headers).get("postern_permissions")


def settle(authz, token, want):
    """Polls state() until it is want (a role's change travels by NOTIFY), up to 5 s."""
    servers.eventually(lambda: state(authz, token), lambda s: s == want, timeout=5,
                       what=f"the session's answers to become {want}")


@CACHES
def test_session_permissions_follow_the_role(db, programs, cache):
    uid, token, sid = editor_with_session(db, "album.read")
    a = start_authz(db, programs, **cache)
    status, _, body = a.ask("/albums/1", headers=cookie(token))
    assert status == 403 and b'"code":"FORBIDDEN"' in body
    assert state(a, token) == (403, "album.read")   # from the cache, when there is one
    db.query("SELECT postern.grant_permission('editor', 'album.write')")
    settle(a, token, (200, "album.read album.write"))
    status, headers, _ = a.ask("/albums/1", headers=cookie(token))
    assert status == 200
    assert identity(headers) == {
        "remote_user": "vic@example.com", "postern_user_id": str(uid),
        "postern_user": "vic@example.com", "postern_role": "editor", "postern_auth": "session",
        "postern_session_id": sid, "postern_permissions": "album.read album.write",
        "postern_mfa": "off"}
    db.query("SELECT postern.revoke_permission('editor', 'album.write')")
    settle(a, token, (403, "album.read"))
    db.query("SELECT postern.revoke_permission('editor', 'album.read')")
    settle(a, token, (403, None))                   # no permissions: no variable
    # another role's change leaves the editor's answers as they are
    db.query("SELECT postern.grant_permission('user', 'album.write')")
    db.query("SELECT postern.grant_permission('editor', 'asset.read')")
    settle(a, token, (403, "asset.read"))


@CACHES
def test_idle_timeout_change_is_in_force_at_once(db, programs, cache):
    """The authorizer passes its session_idle_timeout to authz_session (migration 012), and a
    change empties its cache: an answer made with the old timeout is not given again."""
    a = start_authz(db, programs, **cache)
    uid = a.user("ida@example.com")
    token, sid = a.session(uid, last_seen_at="now() - interval '2 days'",
                           expires_at="now() + interval '30 days'")
    assert a.ask("/x", headers=cookie(token))[0] == 200    # idle timeout 7 days: alive
    # the allow touched the session; make it two days idle again (touches notify nobody)
    servers.eventually(
        lambda: db.value("SELECT last_seen_at > now() - interval '1 hour' FROM postern.sessions "
                         "WHERE id = %s", (sid,)), lambda v: v, what="the session touched")
    db.query("UPDATE postern.sessions SET last_seen_at = now() - interval '2 days' WHERE id = %s",
             (sid,))
    assert a.ask("/x", headers=cookie(token))[0] == 200    # cached, or looked up: still alive
    a.change_rules("SELECT postern.set_setting('session_idle_timeout', '86400')")
    status, _, body = a.ask("/x", headers=cookie(token))
    assert status == 401 and b'"code":"SESSION_INVALID"' in body
    a.change_rules("SELECT postern.set_setting('session_idle_timeout', '604800')")
    assert a.ask("/x", headers=cookie(token))[0] == 200    # the unknown entry went too
    assert "session idle timeout 604800 s" in a.program.log()


@CACHES
def test_user_moved_to_another_role_gets_its_permissions(db, programs, cache):
    _, token, _ = editor_with_session(db, "album.read")
    a = start_authz(db, programs, **cache)
    assert state(a, token) == (403, "album.read")
    # a role made while the authorizer runs
    db.query("SELECT postern.create_role('curator', 'Curators')")
    for p in ("asset.read", "album.write"):
        db.query("SELECT postern.grant_permission('curator', %s)", (p,))
    db.query("SELECT postern.set_user_role('vic@example.com', 'curator')")
    settle(a, token, (200, "album.write asset.read"))
    status, headers, _ = a.ask("/albums/1", headers=cookie(token))
    assert (status, identity(headers)["postern_role"]) == (200, "curator")
    db.query("SELECT postern.set_user_role('vic@example.com', 'user')")
    settle(a, token, (403, None))
    db.query("SELECT postern.set_user_role('vic@example.com', 'admin')")
    settle(a, token, (200, "all"))
    db.query("SELECT postern.set_user_role('vic@example.com', 'editor')")
    settle(a, token, (403, "album.read"))


@CACHES
def test_permission_granted_while_the_listener_was_down(db, programs, cache):
    """A grant whose notification never arrives (as while the listener is disconnected) is in
    force once the listener reconnects: it loads every role's permissions again."""
    uid, token, _ = editor_with_session(db, "album.read")
    a = start_authz(db, programs, **cache)
    assert state(a, token) == (403, "album.read")
    before = a.program.log().count("rules loaded")
    # grant without a notification, then cut the listener's connection
    db.query("ALTER TABLE postern.role_permissions DISABLE TRIGGER USER")
    db.query("SELECT postern.grant_permission('editor', 'album.write')")
    db.query("ALTER TABLE postern.role_permissions ENABLE TRIGGER USER")
    fresh, _ = a.session(uid)
    assert state(a, token) == (403, "album.read")
    assert state(a, fresh) == (403, "album.read")   # never cached: the role's permissions in memory
    killed = db.value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE application_name = 'postern-authorizer/listener'")
    assert killed == 1
    servers.wait_for(lambda: a.program.log().count("rules loaded") > before,
                     what="the listener to reconnect")
    assert "listener connection lost" in a.program.log()
    settle(a, token, (200, "album.read album.write"))
    settle(a, fresh, (200, "album.read album.write"))
