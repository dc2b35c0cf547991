-- Postern migration 007: metrics. Every authorizer process reports its counters every few
-- seconds into postern.stats; postern.metrics() sums them over processes and hosts and adds
-- what the audit log already counts (logins, failures, lockouts).
BEGIN;
SET LOCAL client_min_messages = warning;

CREATE TABLE postern.stats (
    instance   text NOT NULL,          -- host:pid:start of one process
    metric     text NOT NULL           -- e.g. postern_decisions_total{status="200"}
        CHECK (metric ~ '^[a-z_]+(\{[a-z_]+="[A-Za-z0-9_.-]*"\})?$'),
    value      bigint NOT NULL CHECK (value >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, metric)
);

-- One process's counters since it started (absolute values, so a lost report loses nothing).
CREATE FUNCTION postern.report_stats(p_instance text, p_counters jsonb) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO postern.stats AS s (instance, metric, value)
    SELECT left(p_instance, 200), c.key, c.value::bigint FROM jsonb_each_text(p_counters) c
    ON CONFLICT (instance, metric) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
$$;

-- Every metric, summed over processes and hosts (processes that ended keep their last count,
-- so totals never go backwards when one restarts), plus the audit log's counts.
CREATE FUNCTION postern.metrics() RETURNS TABLE (metric text, value bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.metric, sum(s.value)::bigint FROM postern.stats s GROUP BY s.metric
    UNION ALL
    SELECT 'postern_audit_events_total{event="' || e.event || '"}', count(*)
      FROM postern.audit_log e
     WHERE e.event IN ('login.success', 'login.failure', 'account.lockout', 'ip.throttle',
                       'session.logout', 'refresh.reuse', 'mfa.backup_code')
     GROUP BY e.event
    UNION ALL
    SELECT 'postern_active_sessions', count(*) FROM postern._live_sessions
    ORDER BY 1
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
REVOKE ALL ON postern.stats FROM PUBLIC;
GRANT SELECT ON postern.stats TO postern_admin;
GRANT EXECUTE ON FUNCTION postern.report_stats(text, jsonb) TO postern_authorizer;
GRANT EXECUTE ON FUNCTION postern.metrics() TO postern_responder, postern_admin;

INSERT INTO postern.schema_version (version) VALUES (7);
COMMIT;
