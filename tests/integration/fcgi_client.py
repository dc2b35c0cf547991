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


# -- low-level helpers for protocol-robustness tests (tests/integration/test_fastcgi_raw.py) ----

def raw_header(rtype, content_length, request_id=1, padding=0, version=VERSION):
    """An 8-byte record header that may lie (any version, any claimed length)."""
    return struct.pack("!BBHHBx", version, rtype, request_id, content_length, padding)


def begin_request(role="RESPONDER", request_id=1, keep_conn=False):
    """A BEGIN_REQUEST record; role is a name from ROLES or a raw role number."""
    role = ROLES[role] if isinstance(role, str) else role
    return record(BEGIN_REQUEST, struct.pack("!HB5x", role, 1 if keep_conn else 0), request_id)


def encode_request(params, role="RESPONDER", stdin=b"", request_id=1):
    """The bytes request() sends for one request: BEGIN_REQUEST, PARAMS..., empty PARAMS and,
    unless role is AUTHORIZER, STDIN... and an empty STDIN."""
    data = begin_request(role, request_id)
    p = encode_params(params)
    for i in range(0, len(p), 65535):
        data += record(PARAMS, p[i:i + 65535], request_id)
    data += record(PARAMS, b"", request_id)
    if role != "AUTHORIZER":
        for i in range(0, len(stdin), 65535):
            data += record(STDIN, stdin[i:i + 65535], request_id)
        data += record(STDIN, b"", request_id)
    return data


def read_records(sock, timeout=3.0, until_end=1):
    """Reads records until `until_end` END_REQUEST records have arrived, the peer closes, or
    `timeout` seconds pass in total. Returns (records, outcome): records is a list of
    (type, request_id, content); outcome is "end", "closed", "reset" (ECONNRESET) or
    "timeout"."""
    import time
    deadline = time.monotonic() + timeout
    records, buf, ends = [], b"", 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return records, "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return records, "timeout"
        except ConnectionResetError:
            return records, "reset"
        if not chunk:
            return records, "closed"
        buf += chunk
        while len(buf) >= 8:
            _, rtype, rid, clen, plen = struct.unpack("!BBHHB", buf[:7])
            if len(buf) < 8 + clen + plen:
                break
            records.append((rtype, rid, buf[8:8 + clen]))
            buf = buf[8 + clen + plen:]
            if rtype == END_REQUEST:
                ends += 1
                if ends >= until_end:
                    return records, "end"


def end_request_body(content):
    """(appStatus, protocolStatus) of an END_REQUEST record's content."""
    app_status, protocol_status = struct.unpack("!IB3x", content)
    return app_status, protocol_status


def parse_response(records, request_id=None):
    """(headers, status, body) from the STDOUT records (of one request id, if given);
    status is None when there was no STDOUT at all."""
    out = b"".join(c for t, rid, c in records
                   if t == STDOUT and (request_id is None or rid == request_id))
    if not out:
        return {}, None, b""
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        if ":" in line:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), v.strip())
    return headers, int(headers.get("status", "200").split()[0]), body
