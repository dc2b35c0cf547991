-- Postern migration 009: failed-login counting without a race. login_failed used to detect a
-- new lock by comparing it with now() + duration, which two concurrent transactions that
-- started in the same microsecond both matched (two audit rows for one lock). Now each
-- counter row is locked and read first, and one helper does the arithmetic for the email and
-- the IP counters alike.
BEGIN;
SET LOCAL client_min_messages = warning;

-- The counter after one more failure, given its row as it is: a failure within the window
-- adds one, one after it restarts at 1; a lock in force is kept (never extended), reaching
-- the threshold while not locked locks for p_duration (newly_locked).
CREATE FUNCTION postern._attempt_next(p_failures int, p_window_start timestamptz,
                                      p_locked_until timestamptz, p_threshold int,
                                      p_window interval, p_duration interval,
                                      OUT failures int, OUT window_start timestamptz,
                                      OUT locked_until timestamptz, OUT newly_locked boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_window_start <= now() - p_window THEN
        failures := 1;
        window_start := now();
    ELSE
        failures := p_failures + 1;
        window_start := p_window_start;
    END IF;
    newly_locked := false;
    IF p_locked_until > now() THEN
        locked_until := p_locked_until;
    ELSIF failures >= p_threshold THEN
        locked_until := now() + p_duration;
        newly_locked := true;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION postern.login_failed(p_email text, p_ip inet) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k    text := postern._attempt_key(p_email);
    uid  uuid := (SELECT id FROM postern.users WHERE email = lower(btrim(p_email)));
    iwin interval := postern._setting('ip_throttle_window')::int * interval '1 second';
    a    record;
    nx   record;
    n    int;
    lu   timestamptz;
    i_n  int;
    ilu  timestamptz;
BEGIN
    IF k IS NOT NULL THEN
        INSERT INTO postern.login_attempts (email, failures, window_start) VALUES (k, 0, now())
        ON CONFLICT (email) DO NOTHING;
        SELECT * INTO a FROM postern.login_attempts WHERE email = k FOR UPDATE;
        nx := postern._attempt_next(a.failures, a.window_start, a.locked_until,
                  postern._setting('lockout_threshold')::int,
                  postern._setting('lockout_window')::int * interval '1 second',
                  postern._setting('lockout_duration')::int * interval '1 second');
        UPDATE postern.login_attempts SET failures = nx.failures, window_start = nx.window_start,
               locked_until = nx.locked_until WHERE email = k;
        n := nx.failures;
        lu := nx.locked_until;
        IF nx.newly_locked THEN
            PERFORM postern._audit('account.lockout', uid, k, NULL, p_ip,
                jsonb_build_object('failures', n, 'locked_until', lu));
        END IF;
    END IF;

    IF p_ip IS NOT NULL THEN
        INSERT INTO postern.ip_attempts (ip, failures, window_start) VALUES (p_ip, 0, now())
        ON CONFLICT (ip) DO NOTHING;
        SELECT * INTO a FROM postern.ip_attempts WHERE ip = p_ip FOR UPDATE;
        nx := postern._attempt_next(a.failures, a.window_start, a.locked_until,
                  postern._setting('ip_throttle_threshold')::int, iwin, iwin);
        UPDATE postern.ip_attempts SET failures = nx.failures, window_start = nx.window_start,
               locked_until = nx.locked_until WHERE ip = p_ip;
        i_n := nx.failures;
        ilu := nx.locked_until;
        IF nx.newly_locked THEN
            PERFORM postern._audit('ip.throttle', NULL, NULL, NULL, p_ip,
                jsonb_build_object('failures', i_n, 'locked_until', ilu));
        END IF;
    END IF;

    PERFORM postern._audit('login.failure', uid, k, NULL, p_ip,
        jsonb_build_object('failures', n, 'ip_failures', i_n));
    RETURN greatest(postern._seconds_until(lu), postern._seconds_until(ilu));
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
GRANT EXECUTE ON FUNCTION postern.login_failed(text, inet) TO postern_responder;

INSERT INTO postern.schema_version (version) VALUES (9);
COMMIT;
