"""Malformed and hostile FastCGI input straight on the programs' sockets (no web server).

Owns: what both programs (through lib/fcgi.c and lib/fcgi_wire.c) do with broken records,
lying lengths, unknown roles and types, management records, aborts, NUL bytes in params,
multiplexing, kept-alive connections, idle connections and connection churn. For every input the program must answer (an
END_REQUEST, possibly with an error) or close the connection within a few seconds, and
afterwards still be alive and answer a normal request normally. Every wait is bounded.
"""
import socket
import struct
import time

import pytest

import fcgi_client as fc
import servers

PROGRAMS = ["authorizer", "responder"]
TIMEOUT = 3.0           # seconds any single exchange may take
HEALTH = {"REQUEST_URI": "/auth/health", "REQUEST_METHOD": "GET"}
PROTECTED = {"REQUEST_URI": "/index.html", "REQUEST_METHOD": "GET"}
WRONG_ROLE = b'{"error":"wrong FastCGI role for this program","code":"WRONG_ROLE"}'
UNAUTHENTICATED = b'{"error":"authentication required","code":"UNAUTHENTICATED"}'
CANT_MPX_CONN = 1       # FastCGI protocolStatus values
UNKNOWN_ROLE = 3
BAD_PARAMS = b'{"error":"malformed FastCGI parameters","code":"BAD_FASTCGI_PARAMS"}'
HEADERS_TOO_LARGE = b'{"error":"request headers too large","code":"HEADERS_TOO_LARGE"}'


@pytest.fixture(params=PROGRAMS)
def program(request, programs):
    p = programs(request.param)
    if p.name == "authorizer":  # until its rules are loaded it answers 503 to everything
        servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
    return p


def normal_params(program):
    return HEALTH if program.name == "responder" else PROTECTED


def check_normal_answer(program, status, body):
    if program.name == "responder":
        assert (status, body) == (200, b'{"status":"ok","database":"ok"}')
    else:
        assert (status, body) == (401, UNAUTHENTICATED)


def assert_healthy(program):
    """The process is alive and a normal request gets its normal answer."""
    assert program.proc.poll() is None, f"{program.name} died:\n{program.log()[-2000:]}"
    s = fc.connect(program.socket)
    try:
        s.settimeout(TIMEOUT)
        s.sendall(fc.encode_request(normal_params(program)))
        records, outcome = fc.read_records(s, TIMEOUT)
    finally:
        s.close()
    assert outcome == "end", f"normal request: {outcome}"
    _, status, body = fc.parse_response(records)
    check_normal_answer(program, status, body)


def exchange(address, data, half_close=True, timeout=TIMEOUT, until_end=1):
    """Sends data (then, by default, half-closes: "then close"); returns (records, outcome)
    with outcome "end", "closed" or "reset" — never "timeout", which the caller asserts."""
    s = fc.connect(address)
    try:
        s.settimeout(timeout)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            return [], "reset"
        if half_close:
            s.shutdown(socket.SHUT_WR)
        return fc.read_records(s, timeout, until_end=until_end)
    finally:
        s.close()


def assert_answers_or_closes(address, data, **kw):
    records, outcome = exchange(address, data, **kw)
    assert outcome in ("end", "closed", "reset"), (
        f"neither an answer nor a close within {TIMEOUT}s: {outcome}, {records!r}")
    return records, outcome


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def params_record(name_len, value_len, payload=b"A" * 64):
    """A PARAMS record whose (4-byte) name and value lengths lie about what follows."""
    return fc.record(fc.PARAMS, struct.pack("!II", name_len | 0x80000000,
                                            value_len | 0x80000000) + payload)


# -- broken records -----------------------------------------------------------------------------

def test_fastcgi_raw_truncated_header(program):
    records, _ = assert_answers_or_closes(program.socket, b"\x01\x01\x00")
    assert records == []
    assert_healthy(program)


def test_fastcgi_raw_version_2_record(program):
    data = (fc.raw_header(fc.BEGIN_REQUEST, 8, version=2) + struct.pack("!HB5x", 1, 0)
            + fc.encode_request(normal_params(program))[16:])
    records, _ = assert_answers_or_closes(program.socket, data)
    assert not any(t == fc.STDOUT for t, _, _ in records), records
    assert_healthy(program)


def test_fastcgi_raw_unknown_record_type_before_begin(program):
    # request id 1 before its BEGIN_REQUEST: a record of no active request, ignored
    for _ in range(3):
        data = fc.record(42, b"abc") + fc.encode_request(normal_params(program))
        records, outcome = assert_answers_or_closes(program.socket, data)
        assert outcome == "end"
        _, status, body = fc.parse_response(records)
        check_normal_answer(program, status, body)
        assert_healthy(program)
    # request id 0 is a management record: FCGI_UNKNOWN_TYPE {type = 42} comes back first,
    # and the request after it is answered as usual
    records, outcome = assert_answers_or_closes(
        program.socket, fc.record(42, b"abc", request_id=0)
        + fc.encode_request(normal_params(program)))
    assert (records[0][0], records[0][1], records[0][2]) == (11, 0, bytes([42]) + bytes(7))
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    check_normal_answer(program, status, body)
    assert_healthy(program)


def test_fastcgi_raw_unknown_role(program):
    data = fc.begin_request(7) + fc.encode_request(normal_params(program))[16:]
    records, _ = assert_answers_or_closes(program.socket, data)
    # libfcgi closes without a word; FCGI_UNKNOWN_ROLE would be fine too — never an answer
    assert not any(t == fc.STDOUT for t, _, _ in records), records
    for t, _, c in records:
        if t == fc.END_REQUEST:
            assert fc.end_request_body(c)[1] == UNKNOWN_ROLE
    assert_healthy(program)


def test_fastcgi_raw_filter_role_is_refused(program):
    records, outcome = assert_answers_or_closes(
        program.socket, fc.encode_request(normal_params(program), role="FILTER"))
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    assert (status, body) == (500, WRONG_ROLE)
    assert f"postern-{program.name} got a request in FastCGI role FILTER" in program.log()
    assert_healthy(program)


@pytest.mark.parametrize("after_begin", [False, True], ids=["alone", "after_begin"])
def test_fastcgi_raw_record_claims_65535_bytes_then_close(program, after_begin):
    data = ((fc.begin_request() if after_begin else b"")
            + fc.raw_header(fc.PARAMS, 65535) + b"x" * 100)
    records, _ = assert_answers_or_closes(program.socket, data)
    assert not any(t == fc.STDOUT for t, _, _ in records), records
    assert_healthy(program)


# -- lying name/value lengths -------------------------------------------------------------------

@pytest.mark.parametrize("name_len,value_len", [
    (0x7fffffff, 1),
    (1, 0x7fffffff),
    (0x7fffffff, 0x7fffffff),
    (0x3fffffff, 0x3ffffffe),       # sum + 2 == INT_MAX: a 2 GiB malloc, never touched
], ids=["name_2g", "value_2g", "both_2g", "sum_int_max"])
def test_fastcgi_raw_params_claim_2gb_then_close(program, name_len, value_len):
    pid = program.proc.pid
    before = rss_kib(pid)
    data = fc.begin_request() + params_record(name_len, value_len)
    records, _ = assert_answers_or_closes(program.socket, data)
    assert not any(t == fc.STDOUT for t, _, _ in records), records
    assert_healthy(program)
    assert rss_kib(pid) - before < 64 * 1024, (before, rss_kib(pid))


@pytest.mark.parametrize("name_len,value_len", [
    (0x7ffffffe, 0),
    (0x3fffffff, 0x3fffffff),
], ids=["name_int_max_minus_1", "both_1g"])
def test_fastcgi_raw_params_length_sum_overflow_then_close(program, name_len, value_len):
    """Lengths whose sum passes INT_MAX (libfcgi's Malloc assert aborted the process)."""
    data = fc.begin_request() + params_record(name_len, value_len)
    assert_answers_or_closes(program.socket, data)
    time.sleep(0.2)
    assert_healthy(program)


@pytest.mark.parametrize("name_len,value_len", [
    (0x7fffffff, 1),
    (0x3fffffff, 0x3fffffff),
    (5, 70),
], ids=["name_2g", "both_1g", "value_past_end"])
def test_fastcgi_raw_params_lengths_past_the_stream_are_refused(program, name_len, value_len):
    """A complete parameter stream whose lengths overrun it: 400, never a guess."""
    data = (fc.begin_request() + params_record(name_len, value_len) + fc.record(fc.PARAMS, b"")
            + fc.record(fc.STDIN, b""))
    records, outcome = assert_answers_or_closes(program.socket, data)
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    assert (status, body) == (400, BAD_PARAMS)
    assert "FastCGI parameters are malformed or hold a NUL byte" in program.log()
    assert_healthy(program)


def test_fastcgi_raw_params_over_128k_are_refused(program):
    params = dict(normal_params(program), HTTP_COOKIE="a=" + "x" * (130 * 1024))
    records, outcome = assert_answers_or_closes(program.socket, fc.encode_request(params))
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    assert (status, body) == (431, HEADERS_TOO_LARGE)
    assert "FastCGI parameters exceed 128 KiB" in program.log()
    assert_healthy(program)


def test_fastcgi_raw_params_just_under_the_bound_are_read(program):
    params = dict(normal_params(program), HTTP_X_FILLER="x" * (120 * 1024))
    records, outcome = assert_answers_or_closes(program.socket, fc.encode_request(params))
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    check_normal_answer(program, status, body)


# -- slow, aborted, odd but valid ---------------------------------------------------------------

def test_fastcgi_raw_request_dribbled_byte_by_byte(program):
    """A valid request whose params come in one-byte PARAMS records, sent one byte a time."""
    params = dict(normal_params(program), HTTP_ACCEPT="application/json",
                  HTTP_USER_AGENT="dribble/1.0", SERVER_PROTOCOL="HTTP/1.1")
    p = fc.encode_params(params)
    data = fc.begin_request()
    data += b"".join(fc.record(fc.PARAMS, p[i:i + 1]) for i in range(len(p)))
    data += fc.record(fc.PARAMS, b"") + fc.record(fc.STDIN, b"")
    assert len(data) < 4096  # bounded: a few seconds at most
    s = fc.connect(program.socket)
    try:
        for i in range(len(data)):
            s.send(data[i:i + 1])
            if i % 64 == 0:
                time.sleep(0.001)  # let the worker see partial records
        records, outcome = fc.read_records(s, TIMEOUT)
    finally:
        s.close()
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    check_normal_answer(program, status, body)
    assert_healthy(program)


def test_fastcgi_raw_abort_right_after_begin(program):
    data = fc.begin_request() + fc.record(fc.ABORT_REQUEST, b"")
    for half_close in (True, False):
        records, outcome = assert_answers_or_closes(program.socket, data, half_close=half_close)
        if outcome == "end":
            _, status, _ = fc.parse_response(records)
            # libfcgi runs the request with no params: a 400, never an allow
            assert status is None or status >= 400, status
        assert_healthy(program)


def test_fastcgi_raw_nul_in_param_never_allows(programs):
    authz = programs("authorizer")
    for role in ("AUTHORIZER", "RESPONDER"):
        data = fc.encode_request({"REQUEST_URI": "/a\0b", "REQUEST_METHOD": "GET"}, role=role)
        records, outcome = assert_answers_or_closes(authz.socket, data)
        assert outcome == "end"
        _, status, body = fc.parse_response(records)
        assert (status, body) == (400, BAD_PARAMS)
    assert_healthy(authz)
    resp = programs("responder")
    for name in ("REQUEST_URI", "HTTP_COOKIE", "HTTP_\0X"):
        params = {"REQUEST_URI": "/auth/health", "REQUEST_METHOD": "GET"}
        params[name] = "/auth/health\0x" if name == "REQUEST_URI" else "a\0b"
        records, outcome = assert_answers_or_closes(resp.socket, fc.encode_request(params))
        assert outcome == "end"
        _, status, body = fc.parse_response(records)
        assert (status, body) == (400, BAD_PARAMS), name
    assert_healthy(resp)


def test_fastcgi_raw_nul_after_public_prefix_never_allows(programs):
    authz = programs("authorizer")
    data = fc.encode_request({"REQUEST_URI": "/auth/health\0/../index.html",
                              "REQUEST_METHOD": "GET"}, role="AUTHORIZER")
    records, outcome = assert_answers_or_closes(authz.socket, data)
    assert_healthy(authz)
    assert outcome == "end"
    _, status, body = fc.parse_response(records)
    assert (status, body) == (400, BAD_PARAMS)


def test_fastcgi_raw_two_request_ids_on_one_connection(program):
    first = fc.encode_request(normal_params(program), request_id=1)
    second = fc.encode_request(normal_params(program), request_id=2)
    # back to back: request 1 is answered; request 2 is answered, refused or dropped
    records, _ = assert_answers_or_closes(program.socket, first + second, until_end=2)
    ends = {rid: fc.end_request_body(c) for t, rid, c in records if t == fc.END_REQUEST}
    assert 1 in ends, records
    _, status, body = fc.parse_response(records, request_id=1)
    check_normal_answer(program, status, body)
    assert_healthy(program)
    # interleaved: BEGIN 2 while request 1's params are still open -> FCGI_CANT_MPX_CONN
    interleaved = first[:-16] + second + first[-16:]
    records, _ = assert_answers_or_closes(program.socket, interleaved, until_end=2)
    for t, rid, c in records:
        if t == fc.END_REQUEST and rid == 2:
            assert fc.end_request_body(c)[1] == CANT_MPX_CONN
        if t == fc.STDOUT:
            assert rid == 1
    if any(t == fc.STDOUT for t, _, _ in records):
        _, status, body = fc.parse_response(records, request_id=1)
        check_normal_answer(program, status, body)
    assert_healthy(program)


# -- connections --------------------------------------------------------------------------------

def test_fastcgi_raw_idle_connections_hold_no_worker(program):
    """Connections that send nothing or half a request cost no worker: with 2 workers and 6
    such connections open, a further client is answered at once."""
    idle = [fc.connect(program.socket) for _ in range(3)]
    half = [fc.connect(program.socket) for _ in range(3)]
    try:
        for s in half:
            s.sendall(fc.begin_request() + fc.record(fc.PARAMS, b"\x0b"))
        time.sleep(0.2)
        for _ in range(3):
            assert_healthy(program)
    finally:
        for s in idle + half:
            s.close()


def test_fastcgi_raw_idle_connection_is_closed_after_10s(program):
    """A connection whose request does not arrive whole within 10 s is closed."""
    idle, half = fc.connect(program.socket), fc.connect(program.socket)
    try:
        half.sendall(fc.begin_request() + fc.record(fc.PARAMS, b"\x0b"))
        t0 = time.monotonic()
        for s in (idle, half):
            records, outcome = fc.read_records(s, 14 - (time.monotonic() - t0))
            assert (records, outcome) == ([], "closed")
        assert 9 < time.monotonic() - t0 < 13
    finally:
        idle.close()
        half.close()
    assert_healthy(program)


def test_fastcgi_raw_keep_conn_serves_requests_in_turn(program):
    """FCGI_KEEP_CONN: three requests on one connection, the last two sent back to back."""
    one = fc.begin_request(keep_conn=True) + fc.encode_request(normal_params(program))[16:]
    s = fc.connect(program.socket)
    try:
        s.settimeout(TIMEOUT)
        s.sendall(one)
        records, outcome = fc.read_records(s, TIMEOUT)
        assert outcome == "end"
        check_normal_answer(program, *fc.parse_response(records)[1:])
        s.sendall(one + one)
        records, outcome = fc.read_records(s, TIMEOUT, until_end=2)
        assert outcome == "end"
        ends = [i for i, (t, _, _) in enumerate(records) if t == fc.END_REQUEST]
        for part in (records[:ends[0] + 1], records[ends[0] + 1:]):
            check_normal_answer(program, *fc.parse_response(part)[1:])
    finally:
        s.close()


def test_fastcgi_raw_get_values(program):
    names = fc.encode_params({"FCGI_MAX_CONNS": "", "FCGI_MPXS_CONNS": "", "OTHER": ""})
    s = fc.connect(program.socket)
    try:
        s.settimeout(TIMEOUT)
        s.sendall(fc.record(9, names, request_id=0))
        records, outcome = fc.read_records(s, 1.0)
    finally:
        s.close()
    assert outcome == "timeout"  # the connection stays open for a request
    assert records == [(10, 0, fc.encode_params({"FCGI_MAX_CONNS": "1024",
                                                  "FCGI_MPXS_CONNS": "0"}))]


def test_fastcgi_raw_connection_churn(program):
    for i in range(200):
        s = fc.connect(program.socket)
        if i % 3 == 1:
            s.sendall(fc.begin_request())          # some leave half a request behind
        elif i % 3 == 2:
            s.sendall(b"\x01")                     # some a byte of a header
        s.close()
    servers.wait_for(lambda: program.proc.poll() is not None or _answers(program),
                     timeout=10, what="a normal answer after 200 connections")
    assert_healthy(program)


def _answers(program):
    try:
        assert_healthy(program)
        return True
    except (AssertionError, OSError):
        return False
