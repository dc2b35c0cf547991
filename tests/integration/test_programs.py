"""The two programs as processes: command line, configuration errors, FastCGI roles, database
outages and recovery, shutdown, and lighttpd with conf/lighttpd/postern.conf in front."""
import os
import signal
import subprocess

import pytest
import requests

import fcgi_client
import servers
from pgcluster import PgCluster

PROGRAMS = ["authorizer", "responder"]


def run(name, *args, env=None):
    return subprocess.run([os.path.join(servers.BUILD, f"postern-{name}"), *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env,
                          timeout=30)


@pytest.mark.parametrize("name", PROGRAMS)
def test_example_config_checks_ok(name, workdir):
    cfg = servers.write_config(workdir)
    r = run(name, "-c", cfg, "--check-config")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, f"postern-{name}: {cfg}: configuration OK\n", "")
    # POSTERN_CONFIG is the fallback for -c
    r = run(name, "--check-config", env={**os.environ, "POSTERN_CONFIG": cfg})
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", PROGRAMS)
def test_broken_config_names_file_line_key(name, workdir):
    cfg = servers.write_config(workdir, threads="0", log_levl="info")
    lines = open(cfg).read().count("\n")
    r = run(name, "-c", cfg, "--check-config")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == (
        f"postern-{name}: configuration error:\n"
        f"{cfg}:{lines - 1}: threads: expected an integer from 1 to 256, got \"0\"\n"
        f"{cfg}:{lines}: log_levl: unknown key (did you mean log_level?)\n")


def test_missing_secret_file_and_config(workdir):
    cfg = servers.write_config(workdir)
    os.unlink(os.path.join(workdir, "server.key"))
    r = run("responder", "-c", cfg, "--check-config")
    line = next(i for i, t in enumerate(open(cfg), 1) if t.startswith("server_key_file"))
    assert r.returncode == 2
    assert r.stderr == (
        "postern-responder: configuration error:\n"
        f"{cfg}:{line}: server_key_file: {workdir}/server.key: cannot open: "
        "No such file or directory\n")
    r = run("authorizer", "-c", os.path.join(workdir, "nope.conf"), "--check-config")
    assert r.returncode == 2
    assert f"{workdir}/nope.conf: cannot open: No such file or directory" in r.stderr


def test_print_config_masks_secrets(workdir):
    cfg = servers.write_config(workdir, database="host=/tmp dbname=x password=pw-7f3a9")
    key = open(os.path.join(workdir, "server.key")).read().strip()
    r = run("authorizer", "-c", cfg, "--print-config")
    assert r.returncode == 0, r.stderr
    assert "pw-7f3a9" not in r.stdout and key not in r.stdout
    line = next(t for t in r.stdout.splitlines() if t.startswith("database = "))
    assert sorted(line[len("database = "):].split()) == [
        "dbname='x'", "host='/tmp'", "password='********'"]
    assert "threads = 4   # default\n" in r.stdout


def test_usage_errors():
    r = run("authorizer", "--bogus")
    assert r.returncode == 2 and "Usage: postern-authorizer" in r.stderr
    r = run("responder", "--version")
    assert (r.returncode, r.stdout) == (0, "postern-responder 0.1.0\n")


def test_fd0_not_a_socket(workdir):
    cfg = servers.write_config(workdir)
    r = run("authorizer", "-c", cfg)
    assert r.returncode == 1
    assert ("fd 0 is not a listening socket: run under spawn-fcgi or mod_fcgid, or pass "
            "--listen unix:/path or --listen 127.0.0.1:9000") in r.stderr


def health(program):
    return fcgi_client.request(program.socket, {"REQUEST_URI": "/auth/health",
                                                "REQUEST_METHOD": "GET"})


def test_responder_health_and_routes(programs):
    resp = programs("responder")
    headers, status, body, _ = health(resp)
    assert (status, body) == (200, b'{"status":"ok","database":"ok"}')
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert headers["content-length"] == str(len(body))
    _, status, body, _ = fcgi_client.request(resp.socket, {"REQUEST_URI": "/auth/nope?x=1",
                                                           "REQUEST_METHOD": "GET"})
    assert (status, body) == (404, b'{"error":"no such endpoint","code":"NOT_FOUND"}')
    headers, status, body, _ = fcgi_client.request(
        resp.socket, {"REQUEST_URI": "/auth/health", "REQUEST_METHOD": "POST"})
    assert (status, body) == (
        405, b'{"error":"method not allowed here","code":"METHOD_NOT_ALLOWED"}')
    assert headers["allow"] == "GET, HEAD"


def test_wrong_role_is_refused_and_logged(programs):
    resp = programs("responder")
    _, status, body, _ = fcgi_client.request(
        resp.socket, {"REQUEST_URI": "/auth/health", "REQUEST_METHOD": "GET"}, role="AUTHORIZER")
    assert (status, body) == (
        500, b'{"error":"wrong FastCGI role for this program","code":"WRONG_ROLE"}')
    assert "postern-responder got a request in FastCGI role AUTHORIZER" in resp.log()


def test_authorizer_denies_without_credential_in_both_roles(programs):
    authz = programs("authorizer")
    for role in ("AUTHORIZER", "RESPONDER"):
        headers, status, body, _ = fcgi_client.request(
            authz.socket, {"REQUEST_URI": "/index.html", "REQUEST_METHOD": "GET"}, role=role)
        assert status == 401
        assert headers["www-authenticate"] == 'Bearer realm="postern"'
        assert body == b'{"error":"authentication required","code":"UNAUTHENTICATED"}'


def test_sigterm_shuts_down_cleanly(programs):
    resp = programs("responder")
    assert health(resp)[1] == 200
    assert resp.stop(signal.SIGTERM) == 0
    assert "shutting down" in resp.log()


def test_schema_missing_is_503_with_a_clear_log(pg, program_logins, workdir):
    conn = pg.connect()
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE no_schema")
    conn.close()
    cfg = servers.write_config(workdir, database=pg.dsn("no_schema", user="postgres"),
                               db_retry_interval="100ms")
    resp = servers.Program("responder", workdir, cfg).start()
    try:
        headers, status, body, _ = health(resp)
        assert status == 503 and headers["retry-after"] == "5"
        assert b'"code":"DATABASE_UNAVAILABLE"' in body
        assert "preparing postern_SCHEMA_VERSION (is sql/install.sql applied?)" in resp.log()
    finally:
        resp.stop()


def test_database_outage_503_then_recovery_without_restart(workdir):
    """A private cluster we can stop: 503 while it is down, 200 again once it is back."""
    with PgCluster() as cluster:
        r = cluster.psql(["-v", "ON_ERROR_STOP=1", "-f",
                          os.path.join(servers.REPO, "sql", "install.sql")])
        assert r.returncode == 0, r.stderr
        cfg = servers.write_config(workdir, database=cluster.dsn(), db_retry_interval="100ms",
                                   db_connect_timeout="2s", threads="1")
        resp = servers.Program("responder", workdir, cfg).start()
        try:
            assert health(resp)[1] == 200
            cluster.stop()
            headers, status, _, _ = health(resp)
            assert (status, headers["retry-after"]) == (503, "5")
            assert health(resp)[1] == 503
            cluster.start()
            servers.wait_for(lambda: health(resp)[1] == 200, what="recovery")
            assert resp.proc.poll() is None  # the same process, never restarted
        finally:
            resp.stop()


def test_lighttpd_with_shipped_config(lighttpd, db):
    """lighttpd hands every request to the authorizer first; /auth/ then goes to the responder."""
    import base64
    import hashlib
    import secrets
    r = requests.get(lighttpd.url + "/index.html", timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="postern"'
    assert r.json() == {"error": "authentication required", "code": "UNAUTHENTICATED"}
    r = requests.get(lighttpd.url + "/index.html", headers={"Accept": "text/html"},
                     allow_redirects=False, timeout=10)
    assert (r.status_code, r.headers["Location"]) == (302, "/auth/login?return_to=/index.html")
    # a public rule lets /auth/health through to the responder
    r = requests.get(lighttpd.url + "/auth/health", timeout=10)
    assert (r.status_code, r.json()) == (200, {"status": "ok", "database": "ok"})
    # a session made by SQL opens the protected page; revoking it by SQL closes it at once
    uid = db.value("SELECT postern.create_user('web@example.com', 'correct horse battery')")
    token = "pst_s_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    sid = db.value("INSERT INTO postern.sessions (token_hash, user_id, expires_at) VALUES "
                   "(%s, %s, now() + interval '1 day') RETURNING id",
                   (hashlib.sha256(token.encode()).digest(), uid))
    jar = {"__Host-postern_session": token}
    r = requests.get(lighttpd.url + "/index.html", cookies=jar, timeout=10)
    assert (r.status_code, r.text) == (200, "protected page\n")
    assert not any(h.lower().startswith("variable-") for h in r.headers)
    db.query("SELECT postern.revoke_session(%s)", (sid,))
    servers.eventually(lambda: requests.get(lighttpd.url + "/index.html", cookies=jar,
                                            timeout=10).status_code, lambda s: s == 401)
    assert "index.html" not in lighttpd.errors()


def test_make_install_destdir(workdir):
    dest = os.path.join(workdir, "dest")
    r = subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr",
                        f"BUILD={os.path.relpath(servers.BUILD, servers.REPO)}"],
                       cwd=servers.REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for f in ("usr/bin/postern-authorizer", "usr/bin/postern-responder",
              "usr/share/postern/sql/install.sql", "usr/share/postern/sql/migrations/002_responder.sql",
              "usr/share/postern/conf/postern.conf.example",
              "usr/share/postern/conf/lighttpd/postern.conf",
              "usr/share/postern/conf/nginx/postern.conf",
              "usr/share/postern/conf/apache/postern-fcgid.conf"):
        assert os.path.isfile(os.path.join(dest, f)), f
    assert os.access(os.path.join(dest, "usr/bin/postern-authorizer"), os.X_OK)
    unit = open(os.path.join(dest, "usr/lib/systemd/system/postern-authorizer.service")).read()
    assert ("ExecStart=/usr/bin/spawn-fcgi -n -s /run/postern/authorizer.sock -M 0660 -- "
            "/usr/bin/postern-authorizer -c /etc/postern/authorizer.conf\n") in unit


def test_systemd_units_verify(workdir):
    """The units as installed under a prefix whose binaries exist pass systemd-analyze."""
    prefix = os.path.join(workdir, "prefix")
    r = subprocess.run(["make", "-s", "install", f"PREFIX={prefix}",
                        f"BUILD={os.path.relpath(servers.BUILD, servers.REPO)}"],
                       cwd=servers.REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    units = [os.path.join(prefix, "lib/systemd/system", f"postern-{n}.service")
             for n in PROGRAMS]
    r = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True,
                       timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
