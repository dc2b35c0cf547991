"""`make demo`'s script (demo/demo.sh) in a temporary var directory (POSTERN_DEMO_VAR): it starts
a private PostgreSQL, both programs and lighttpd, prints the URL, login and psql command; the
printed login works and the CGI page shows the identity; a second start changes nothing; stop
leaves no process and no listening port; a later start reuses the data, port and password."""
import glob
import html
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

import servers

SCRIPT = os.path.join(servers.REPO, "demo", "demo.sh")


def run(env, *args, timeout=90):
    return subprocess.run(["bash", SCRIPT, *args], env=env, cwd=servers.REPO,
                          capture_output=True, text=True, timeout=timeout)


def printed(out):
    """URL, login, password and psql command from the start banner."""
    found = {}
    for key in ("URL", "login", "password", "psql"):
        m = re.search(rf"^\s+{key}:\s+(.+?)\s*$", out, re.M)
        assert m, f"start output does not name the {key}:\n{out}"
        found[key] = m.group(1)
    found["password"] = found["password"].split()[0]
    return found


def pids(var):
    out = {}
    for f in glob.glob(os.path.join(var, "run", "*.pid")) + [os.path.join(var, "pg",
                                                                          "postmaster.pid")]:
        with open(f) as fh:
            out[os.path.basename(f)] = int(fh.readline())
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def identity(session, url):
    r = session.get(url + "cgi-bin/identity.cgi", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    cells = re.findall(r'<td id="([A-Z_]+)"><code>(.*?)</code></td>', r.text)
    return {k: html.unescape(v) for k, v in cells}


@pytest.fixture
def demo_env():
    tmp = tempfile.mkdtemp(prefix="postern-demo-")
    os.chmod(tmp, 0o755)  # as root, the postgres user must reach var/pg
    var = os.path.join(tmp, "var")
    env = dict(os.environ, POSTERN_DEMO_VAR=var, POSTERN_BUILD=servers.BUILD,
               POSTERN_DEMO_PORT=str(servers.free_port()))
    env.pop("PGHOST", None)
    yield env, var
    run(env, "stop", timeout=60)
    shutil.rmtree(tmp, ignore_errors=True)


def test_demo_start_login_identity_restart_stop(demo_env):
    env, var = demo_env
    r = run(env, "start")
    assert r.returncode == 0, r.stdout + r.stderr
    first = printed(r.stdout)
    url = first["URL"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
    assert first["login"] == "admin@example.com"
    assert first["psql"].startswith("psql -h " + os.path.join(var, "run"))
    assert "make demo-stop" in r.stdout
    port = int(url.rsplit(":", 1)[1].rstrip("/"))
    for f in ("server.key", "admin-password"):
        assert os.stat(os.path.join(var, f)).st_mode & 0o077 == 0, f

    # without a session a browser is sent to the login page
    r = requests.get(url, headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert (r.status_code, r.headers["Location"]) == (302, "/auth/login?return_to=/")

    s = requests.Session()
    r = s.post(url + "auth/login", json={"email": first["login"], "password": first["password"]},
               timeout=30)
    assert r.status_code == 200, r.text
    session_id = r.json()["session_id"]
    r = s.get(url, timeout=10)
    assert r.status_code == 200 and "signed in" in r.text
    assert '<form method="post" action="/auth/logout">' in r.text
    ident = identity(s, url)
    assert ident["REMOTE_USER"] == "admin@example.com"
    assert ident["POSTERN_USER"] == "admin@example.com"
    assert ident["POSTERN_ROLE"] == "admin"
    assert ident["POSTERN_AUTH"] == "session"
    assert ident["POSTERN_SESSION_ID"] == session_id
    assert ident["POSTERN_PERMISSIONS"] == "all"

    # the printed psql command reaches the demo database
    q = subprocess.run(shlex.split(first["psql"]) + ["-XtAc", "SELECT role FROM postern.users"],
                       capture_output=True, text=True, timeout=30)
    assert (q.returncode, q.stdout.strip()) == (0, "admin"), q.stderr

    # a second start leaves everything running, and prints the same URL and login
    before = pids(var)
    assert set(before) == {"authorizer.pid", "responder.pid", "lighttpd.pid", "postmaster.pid"}
    r = run(env, "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert printed(r.stdout) == first, r.stdout + r.stderr
    assert r.stdout.count("already running") == 4, r.stdout
    assert pids(var) == before
    assert identity(s, url)["REMOTE_USER"] == "admin@example.com"

    # the page's sign-out form works (a same-origin form post)
    r = s.post(url + "auth/logout", data="",
               headers={"Origin": url.rstrip("/"), "Accept": "text/html",
                        "Content-Type": "application/x-www-form-urlencoded"},
               allow_redirects=False, timeout=10)
    assert (r.status_code, r.headers["Location"]) == (303, "/auth/login")
    assert s.get(url + "cgi-bin/identity.cgi", timeout=10).status_code == 401

    # stop: nothing it started is left, the port is closed
    r = run(env, "stop", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    deadline = time.monotonic() + 10
    while any(alive(p) for p in before.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [n for n, p in before.items() if alive(p)] == []
    assert not servers.can_connect(("127.0.0.1", port))
    assert not os.path.exists(os.path.join(var, "pg", "postmaster.pid"))
    assert run(env, "stop").returncode == 0  # safe when nothing runs

    # a later start reuses the data: same port, same password
    r = run(env, "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert printed(r.stdout) == first, r.stdout + r.stderr
    s = requests.Session()
    r = s.post(url + "auth/login", json={"email": first["login"], "password": first["password"]},
               timeout=30)
    assert r.status_code == 200, r.text
    assert identity(s, url)["POSTERN_ROLE"] == "admin"
    again = pids(var)
    r = run(env, "stop", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    deadline = time.monotonic() + 10
    while any(alive(p) for p in again.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [n for n, p in again.items() if alive(p)] == []
    assert not servers.can_connect(("127.0.0.1", port))


def test_demo_fails_loudly_naming_what_failed(demo_env, tmp_path):
    env, var = demo_env
    env = dict(env, POSTERN_BUILD=str(tmp_path))  # no binaries there
    r = run(env, "start")
    assert r.returncode != 0
    assert "FAILED" in r.stderr and "postern-authorizer not found" in r.stderr, r.stderr


def test_demo_with_oidc(demo_env):
    """make demo OIDC=1: the test provider runs too, the login page has its button, and its
    printed account signs in (creating the Postern user)."""
    from idp import PanvaIdp, ensure_node_modules
    ensure_node_modules()
    env, var = demo_env
    env = dict(env, POSTERN_DEMO_OIDC="1")
    r = run(env, "start")
    assert r.returncode == 0, r.stdout + r.stderr
    url = printed(r.stdout)["URL"]
    m = re.search(r"^\s+OIDC:.*\((http://127\.0\.0\.1:\d+)\)$", r.stdout, re.M)
    login = re.search(r"^\s+provider login:\s+(\S+)", r.stdout, re.M).group(1)
    password = re.search(r"^\s+provider password:\s+(\S+)", r.stdout, re.M).group(1)
    assert m and login == "oidc-user@example.com", r.stdout
    page = requests.get(url + "auth/login", timeout=10).text
    assert "Sign in with the demo provider" in page
    idp = PanvaIdp(var, [], [])
    idp.issuer = m.group(1)
    s = requests.Session()
    start = s.get(url + "auth/oidc/start?return_to=/", allow_redirects=False, timeout=10)
    assert start.status_code == 302, start.text
    back = idp.login(s, start.headers["Location"], login, password)
    r = s.get(back, headers={"Accept": "text/html"}, allow_redirects=False, timeout=30)
    assert (r.status_code, r.headers.get("Location")) == (303, "/"), r.text
    assert identity(s, url)["REMOTE_USER"] == "oidc-user@example.com"
    # a second start finds the provider running too
    r = run(env, "start")
    assert r.returncode == 0 and r.stdout.count("already running") == 5, r.stdout
    r = run(env, "stop", timeout=60)
    assert r.returncode == 0 and "stopping the demo OpenID Provider" in r.stdout, r.stdout
