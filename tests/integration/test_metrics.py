"""Metrics counted across two authorizer processes, summed by postern.metrics() and served by
GET /auth/metrics (administrators only) in the Prometheus text format."""
import re

import requests

import fcgi_client
import servers
from test_responder import login, site, user  # noqa: F401


def test_metrics_across_two_authorizers(site, workdir, program_logins):
    # a second authorizer process beside the one lighttpd uses, on the same database
    cfg = servers.write_config(workdir, "second.conf", cookie_secure="off",
                               database=site.db.pg.dsn(site.db.name,
                                                       user=program_logins["authorizer"]))
    second = servers.Program("authorizer", workdir, cfg)
    second.socket = workdir + "/second.sock"
    second.logfile = workdir + "/second.log"
    second.start()
    try:
        user(site, "root@example.com", "admin")
        admin, _ = login(site, "root@example.com")
        for _ in range(3):
            assert requests.get(site.url + "/index.html", timeout=10).status_code == 401
        assert admin.get(site.url + "/index.html", timeout=10).status_code == 200
        for _ in range(4):
            h, status, _, _ = fcgi_client.request(second.socket, {
                "REQUEST_METHOD": "GET", "REQUEST_URI": "/x", "HTTP_HOST": "a"},
                role="AUTHORIZER")
            assert status == 401
        # both processes report within a few seconds; the sums cover both
        def scrape():
            return admin.get(site.url + "/auth/metrics", timeout=10)

        def value(text, metric):
            m = re.search(rf"^{re.escape(metric)} (\d+)$", text, re.M)
            return int(m.group(1)) if m else None

        r = servers.eventually(
            scrape, lambda r: value(r.text, 'postern_decisions_total{status="401"}') == 7,
            timeout=15, what="both processes' reports")
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.text
        assert "# TYPE postern_decisions_total counter" in text
        assert value(text, 'postern_decisions_total{status="401"}') == 7
        assert value(text, 'postern_allowed_total{auth="session"}') >= 1
        assert value(text, 'postern_audit_events_total{event="login.success"}') == 1
        assert value(text, "postern_active_sessions") == 1
        assert site.db.value("SELECT count(DISTINCT instance) FROM postern.stats") == 2
        # not for everyone
        user(site)
        s, _ = login(site)
        assert s.get(site.url + "/auth/metrics", timeout=10).status_code == 403
        assert requests.get(site.url + "/auth/metrics", timeout=10).status_code == 401
    finally:
        second.stop()
