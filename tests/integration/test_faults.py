"""Bad days: every database connection the authorizer may open is refused (the role's
connection limit reached), many requests while every worker waits on a locked table, and a
responder killed in the middle of a login. Fail closed (503, never a 200 that needs the
database), no crash, no half-written state, recovery without a restart."""
import concurrent.futures
import os
import signal

import requests

import servers
from test_authorizer import Authz, cookie
from test_responder import PASSWORD, user


def test_no_connection_to_be_had(db, programs, program_logins):
    p = programs("authorizer", cookie_secure="off", cache_entries="0", db_retry_interval="100ms")
    a = Authz(p, db)
    servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
    uid = a.user("cy@example.com")
    token, _ = a.session(uid)
    assert a.ask("/x", headers=cookie(token))[0] == 200
    role = program_logins["authorizer"]
    try:
        # no new connection for the program's role, and the ones it has are cut
        db.query(f'ALTER ROLE "{role}" CONNECTION LIMIT 0')
        db.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        for _ in range(5):
            status, headers, body = a.ask("/x", headers=cookie(token))
            assert (status, headers["retry-after"]) == (503, "5") and b"DATABASE_UNAVAILABLE" in body
        # a public path needs no database and still answers
        assert a.ask("/auth/health")[0] == 200
    finally:
        db.query(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
    servers.wait_for(lambda: a.ask("/x", headers=cookie(token))[0] == 200, what="recovery")
    assert p.proc.poll() is None


def test_every_worker_waiting_on_the_database(db, programs):
    """Two workers, twelve requests, the sessions table locked: each request is answered 503
    by the statement timeout (none waits forever, none is allowed), then all recover."""
    p = programs("authorizer", cookie_secure="off", cache_entries="0", threads="2",
                 db_statement_timeout="300ms")
    a = Authz(p, db)
    servers.wait_for(lambda: "rules loaded" in p.log(), what="rules loaded")
    uid = a.user("dee@example.com")
    token, _ = a.session(uid)
    assert a.ask("/x", headers=cookie(token))[0] == 200
    locker = db.connect(autocommit=False)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLE postern.sessions IN ACCESS EXCLUSIVE MODE")
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda _: a.ask("/x", headers=cookie(token))[0], range(12)))
    locker.rollback()
    assert answers == [503] * 12
    assert [a.ask("/x", headers=cookie(token))[0] for _ in range(4)] == [200] * 4


def test_responder_killed_in_the_middle_of_a_login(db, programs, workdir):
    authz = programs("authorizer", cookie_secure="off")
    resp = programs("responder", cookie_secure="off")
    servers.wait_for(lambda: "rules loaded" in authz.log(), what="rules loaded")
    docroot = os.path.join(os.path.dirname(__file__), "docroot")
    web = servers.Lighttpd(workdir, authz.socket, resp.socket, docroot).start()
    try:
        web.db = db
        user(web)
        locker = db.connect(autocommit=False)
        with locker.cursor() as cur:
            # the login passes its password check, then waits to insert its session
            cur.execute("LOCK TABLE postern.sessions IN ACCESS EXCLUSIVE MODE")
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pending = pool.submit(requests.post, web.url + "/auth/login", timeout=30,
                                      json={"email": "alice@example.com", "password": PASSWORD})
                servers.wait_for(lambda: db.value(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'postern.sessions'::regclass "
                    "AND NOT granted") == 1, what="the login to wait for the lock")
                resp.proc.send_signal(signal.SIGKILL)
                resp.proc.wait(timeout=10)
                answer = pending.result()
            # the server notices the dead client while its statement still waits, and rolls
            # it back (client_connection_check_interval) before the lock is released
            servers.wait_for(lambda: db.value(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE application_name LIKE 'postern-responder/%%'") == 0,
                what="the killed responder's connections to close")
        locker.rollback()
        assert answer.status_code >= 500  # the web server's answer for a dead backend
        # nothing of that login was kept
        assert db.value("SELECT count(*) FROM postern.sessions") == 0
        assert db.value("SELECT count(*) FROM postern.audit_log WHERE event = 'login.success'") == 0
        # a new responder on the same socket serves the next login normally
        os.unlink(resp.socket)
        resp.start()
        r = requests.post(web.url + "/auth/login", json={"email": "alice@example.com",
                                                         "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        assert db.value("SELECT count(*) FROM postern.sessions") == 1
    finally:
        web.stop()
