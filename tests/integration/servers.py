"""The processes the integration tests run: Postern's programs under spawn-fcgi, and lighttpd.

Owns: writing a postern.conf from conf/postern.conf.example (plus test overrides) and a server
key, starting postern-authorizer / postern-responder exactly as operators do (spawn-fcgi -n -s),
and starting lighttpd with a main config that includes conf/lighttpd/postern.conf verbatim, on
an ephemeral loopback port. Everything lives in a per-test temporary directory.
"""
import os
import secrets
import signal
import socket
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("POSTERN_BUILD", os.path.join(REPO, "build"))
CONF = os.path.join(REPO, "conf")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def eventually(fn, check, timeout=3.0, what="the change to take effect"):
    """Returns fn()'s first result that passes check. A revocation reaches each authorizer
    process's cache through LISTEN/NOTIFY within milliseconds, not synchronously with the SQL
    that made it: tests that revoke and then ask poll with this (and a cache_ttl far above the
    timeout, so only the notification can explain the change)."""
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if check(result) or time.monotonic() > deadline:
            assert check(result), f"timed out waiting for {what}: {result!r}"
            return result
        time.sleep(0.01)


def can_connect(address):
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.connect(address)
            return True
        except OSError:
            return False


def write_config(directory, filename="postern.conf", **overrides):
    """conf/postern.conf.example + `key = value` overrides, and a 0600 server.key beside it
    (created once per directory: every program of a deployment shares it)."""
    key = os.path.join(directory, "server.key")
    if not os.path.exists(key):
        with open(key, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        os.chmod(key, 0o600)
    with open(os.path.join(CONF, "postern.conf.example")) as f:
        text = f.read()
    text += "\n# test overrides\n" + "".join(f"{k} = {v}\n" for k, v in overrides.items())
    path = os.path.join(directory, filename)
    with open(path, "w") as f:
        f.write(text)
    return path


class Program:
    """postern-authorizer or postern-responder under `spawn-fcgi -n -s SOCKET`."""

    def __init__(self, name, directory, config):
        self.name = name
        self.binary = os.path.join(BUILD, f"postern-{name}")
        self.config = config
        self.socket = os.path.join(directory, f"{name}.sock")
        self.logfile = os.path.join(directory, f"{name}.log")
        self.proc = None

    def start(self):
        # a restarted program appends to the same log: wait for this start's own line
        served = self.log().count("serving with")
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", self.socket, "-M", "0600", "--", self.binary,
             "-c", self.config],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        wait_for(lambda: os.path.exists(self.socket) and can_connect(self.socket),
                 what=f"{self.name} socket")
        wait_for(lambda: self.log().count("serving with") > served, what=f"{self.name} to serve")
        return self

    def stop(self, sig=signal.SIGTERM):
        """Stops the process; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc, self.proc = self.proc.returncode, None
        return rc

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Lighttpd:
    """lighttpd -D with conf/lighttpd/postern.conf included, on 127.0.0.1:<ephemeral>."""

    def __init__(self, directory, authorizer_socket, responder_socket, docroot):
        self.dir = directory
        self.port = free_port()
        self.errorlog = os.path.join(directory, "lighttpd-error.log")
        self.conf = os.path.join(directory, "lighttpd.conf")
        with open(self.conf, "w") as f:
            f.write(f'server.document-root = "{docroot}"\n'
                    'server.bind = "127.0.0.1"\n'
                    f"server.port = {self.port}\n"
                    f'server.errorlog = "{self.errorlog}"\n'
                    f'server.pid-file = "{directory}/lighttpd.pid"\n'
                    'mimetype.assign = (".html" => "text/html; charset=utf-8", '
                    '".txt" => "text/plain; charset=utf-8")\n'
                    f'var.postern_authorizer = "{authorizer_socket}"\n'
                    f'var.postern_responder = "{responder_socket}"\n'
                    f'include "{CONF}/lighttpd/postern.conf"\n')
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        check = subprocess.run(["lighttpd", "-tt", "-f", self.conf], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stderr
        self.proc = subprocess.Popen(["lighttpd", "-D", "-f", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: can_connect(("127.0.0.1", self.port)), what="lighttpd port")
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def errors(self):
        try:
            with open(self.errorlog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
