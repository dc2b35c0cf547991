"""The real OpenID Provider of the integration tests: panva's oidc-provider (tests/idp/).

Owns: installing tests/idp's npm packages (ensure_node_modules), starting and stopping
tests/idp/provider.mjs on a free loopback port (PanvaIdp), driving its login form the way a
browser would (PanvaIdp.login), RP-initiated logout confirmation (PanvaIdp.logout), and its
test-only back-channel logout trigger (PanvaIdp.backchannel_logout). No pytest fixtures here.
"""
import atexit
import html
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import urllib.parse

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IDP_DIR = os.path.join(REPO, "tests", "idp")
PROVIDER = os.path.join(IDP_DIR, "provider.mjs")
READY_PREFIX = "idp listening on "
TIMEOUT = 15.0          # every wait on the IdP process or its HTTP answers
NPM_TIMEOUT = 300.0     # npm ci downloads from the registry on a fresh clone

_running = set()


@atexit.register
def _kill_leftovers():
    for idp in list(_running):
        idp.stop()


class IdpError(Exception):
    pass


def ensure_node_modules():
    """npm ci in tests/idp when node_modules is missing or older than package-lock.json."""
    lock = os.path.join(IDP_DIR, "package-lock.json")
    marker = os.path.join(IDP_DIR, "node_modules", ".package-lock.json")  # npm writes it
    if os.path.exists(marker) and os.path.getmtime(marker) >= os.path.getmtime(lock):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise IdpError("npm not found: the OIDC tests need Node.js >= 20.12 and npm")
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=IDP_DIR, capture_output=True,
                       text=True, timeout=NPM_TIMEOUT, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise IdpError(f"npm ci in {IDP_DIR} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_FORM_RE = re.compile(r'<form\b[^>]*\baction="([^"]*)"', re.I)
_HIDDEN_RE = re.compile(r'<input\b[^>]*\btype="hidden"[^>]*>', re.I)
_ATTR_RE = re.compile(r'\b(name|value)="([^"]*)"', re.I)


class PanvaIdp:
    """tests/idp/provider.mjs in a node process.

    clients: oidc-provider client metadata dicts (client_id, client_secret, redirect_uris,
    post_logout_redirect_uris, backchannel_logout_uri, token_endpoint_auth_method, ...).
    accounts: dicts with sub, password, email, email_verified, name, groups (list).
    """

    def __init__(self, directory, clients, accounts):
        self.directory = str(directory)
        self.clients = clients
        self.accounts = accounts
        self.port = None
        self.issuer = None
        self.proc = None
        self.stderr_path = os.path.join(self.directory, "idp.stderr")
        self._stdout_lines = []

    def start(self):
        node = shutil.which("node")
        if node is None:
            raise IdpError("node not found: the OIDC tests need Node.js >= 20.12")
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        config = os.path.join(self.directory, "idp-config.json")
        with open(config, "w") as f:
            json.dump({"port": self.port, "issuer": self.issuer, "clients": self.clients,
                       "accounts": self.accounts}, f, indent=1)
        stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen([node, PROVIDER, config], cwd=IDP_DIR, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=stderr, text=True)
        stderr.close()
        _running.add(self)
        ready = threading.Event()

        def drain(out):  # keeps reading so the pipe never fills
            for line in out:
                self._stdout_lines.append(line)
                if line.startswith(READY_PREFIX):
                    ready.set()
            ready.set()  # EOF: the process is gone

        threading.Thread(target=drain, args=(self.proc.stdout,), daemon=True).start()
        ready.wait(TIMEOUT)
        line = next((line for line in self._stdout_lines if line.startswith(READY_PREFIX)), None)
        if line is None or self.proc.poll() is not None:
            self.stop()
            raise IdpError(f"the IdP did not start (exit status {self.proc.poll()}):\n"
                           f"{''.join(self._stdout_lines)}{self.stderr_text()}")
        if line.strip() != READY_PREFIX + self.issuer:
            self.stop()
            raise IdpError(f"unexpected ready line {line!r}")
        return self

    def stop(self):
        _running.discard(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def stderr_text(self):
        try:
            with open(self.stderr_path) as f:
                return f.read()
        except OSError:
            return ""

    def url(self, path):
        return self.issuer + path

    def discovery(self):
        r = requests.get(self.url("/.well-known/openid-configuration"), timeout=TIMEOUT)
        r.raise_for_status()
        return r.json()

    def _inside(self, url):
        u, i = urllib.parse.urlsplit(url), urllib.parse.urlsplit(self.issuer)
        return (u.scheme, u.netloc) == (i.scheme, i.netloc)

    def _walk(self, session, response, on_page, hops=20):
        """Follows redirects inside the issuer; returns the first Location outside it.
        on_page(response) handles a 200 page and returns the next response."""
        for _ in range(hops):
            if response.is_redirect:
                loc = urllib.parse.urljoin(response.url, response.headers["Location"])
                if not self._inside(loc):
                    return loc
                response = session.get(loc, allow_redirects=False, timeout=TIMEOUT)
            else:
                response = on_page(response)
        raise IdpError(f"too many redirects at the IdP, last {response.url}")

    def login(self, session, authorize_url, login, password):
        """Runs the authorization request in the requests.Session `session`: follows the IdP's
        own redirects, submits the login form once (if the IdP asks; an existing IdP session
        skips it) and returns the Location that leaves the issuer (normally
        redirect_uri?code=..&state=..&iss=.., or an error response), without requesting it."""
        submitted = []

        def on_page(r):
            form = _FORM_RE.search(r.text) if 'id="login"' in r.text else None
            if form is None or submitted:
                raise IdpError(f"unexpected page from the IdP ({r.status_code} {r.url}):\n"
                               f"{r.text[:2000]}\n{self.stderr_text()[-2000:]}")
            submitted.append(True)
            action = urllib.parse.urljoin(r.url, html.unescape(form.group(1)))
            return session.post(action, data={"login": login, "password": password},
                                allow_redirects=False, timeout=TIMEOUT)

        first = session.get(authorize_url, allow_redirects=False, timeout=TIMEOUT)
        return self._walk(session, first, on_page)

    def logout(self, session, end_session_url):
        """RP-initiated logout: GETs end_session_url (the RP's redirect to the IdP's
        end_session_endpoint), confirms "yes, sign me out" and returns the Location that leaves
        the issuer (post_logout_redirect_uri), or None when the IdP ends on its own
        signed-out page."""
        confirmed = []

        def on_page(r):
            if 'id="signed-out"' in r.text:
                raise _SignedOut()
            form = _FORM_RE.search(r.text) if 'id="logout-yes"' in r.text else None
            if form is None or confirmed:
                raise IdpError(f"unexpected page from the IdP ({r.status_code} {r.url}):\n{r.text[:2000]}")
            confirmed.append(True)
            data = {}
            for tag in _HIDDEN_RE.findall(r.text):
                attrs = dict((k.lower(), html.unescape(v)) for k, v in _ATTR_RE.findall(tag))
                data[attrs.get("name", "")] = attrs.get("value", "")
            data["logout"] = "yes"
            action = urllib.parse.urljoin(r.url, html.unescape(form.group(1)))
            return session.post(action, data=data, allow_redirects=False, timeout=TIMEOUT)

        first = session.get(end_session_url, allow_redirects=False, timeout=TIMEOUT)
        try:
            return self._walk(session, first, on_page)
        except _SignedOut:
            return None

    def backchannel_logout(self, client_id, sub, sid=None, check=True):
        """Makes the IdP POST a back-channel logout token (sub, and sid when the client has
        backchannel_logout_session_required, which provider.mjs defaults to true) to the
        client's backchannel_logout_uri. Returns the requests.Response once the RP answered:
        200 {"ok": true}, or 502 {"ok": false, "error": ...} when the RP did not answer
        200/204 (check=True raises IdpError then)."""
        r = requests.post(self.url("/test/backchannel-logout"), timeout=TIMEOUT,
                          json={"client_id": client_id, "sub": sub, "sid": sid})
        if check and r.status_code != 200:
            raise IdpError(f"back-channel logout failed: {r.status_code} {r.text}")
        return r


class _SignedOut(Exception):
    pass
