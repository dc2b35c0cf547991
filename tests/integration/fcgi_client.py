"""A minimal FastCGI client for the tests: one request over a unix or TCP socket.

Owns: encoding BEGIN_REQUEST/PARAMS/STDIN records and decoding STDOUT/STDERR/END_REQUEST, so
tests can talk to postern-authorizer and postern-responder without a web server in between.
"""
import socket
import struct

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
ROLES = {"RESPONDER": 1, "AUTHORIZER": 2, "FILTER": 3}


def record(rtype, content, request_id=1):
    return struct.pack("!BBHHBx", VERSION, rtype, request_id, len(content), 0) + content


def _length(n):
    return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)


def encode_params(params):
    out = b""
    for k, v in params.items():
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += _length(len(k)) + _length(len(v)) + k + v
    return out


def connect(address):
    if isinstance(address, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(address)
    return s


def request(address, params, role="RESPONDER", stdin=b""):
    """Send one request; returns (headers dict with lower-case names, status int, body bytes, stderr)."""
    s = connect(address)
    try:
        data = record(BEGIN_REQUEST, struct.pack("!HB5x", ROLES[role], 0))
        p = encode_params(params)
        for i in range(0, len(p), 65535):
            data += record(PARAMS, p[i:i + 65535])
        data += record(PARAMS, b"")
        if role != "AUTHORIZER":
            for i in range(0, len(stdin), 65535):
                data += record(STDIN, stdin[i:i + 65535])
            data += record(STDIN, b"")
        s.sendall(data)
        out, err, buf = b"", b"", b""
        done = False
        while not done:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                _, rtype, _, clen, plen = struct.unpack("!BBHHB", buf[:7])
                if len(buf) < 8 + clen + plen:
                    break
                content = buf[8:8 + clen]
                buf = buf[8 + clen + plen:]
                if rtype == STDOUT:
                    out += content
                elif rtype == STDERR:
                    err += content
                elif rtype == END_REQUEST:
                    done = True
    finally:
        s.close()
    if not done:
        raise ConnectionError("the FastCGI application closed the connection without "
                              "END_REQUEST (crashed?)")
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), v.strip())
    status = int(headers.get("status", "200").split()[0])
    return headers, status, body, err
