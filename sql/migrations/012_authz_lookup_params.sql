-- Postern migration 012: the authorizer's session lookups take the idle timeout from the caller,
-- which has it from load_settings (and empties its cache when it changes). 011's read settings
-- twice and joined mfa_totp, three sequential scans per call, each with an lseek for the
-- table's size; these use an EXISTS probe for TOTP and take about 15% less of the backend's
-- time (`make bench`, case G). 011's one-argument functions stay, for programs built for
-- schema 11 during an upgrade (README: Upgrading); a later migration drops them.
BEGIN;
SET LOCAL client_min_messages = warning;

-- What the two functions share; each one's WHERE reaches its index (token_hash or id) through
-- it. The liveness rule is _live_sessions' with the idle timeout a parameter.
CREATE VIEW postern._authz_session_rows AS
    SELECT s.id AS session_id, u.id AS user_id, u.email,
           coalesce(u.display_name, '') AS display_name, u.role, s.mfa AS session_mfa,
           u.must_change_password, s.expires_at, s.last_seen_at,
           coalesce(extract(epoch FROM s.elevated_until)::bigint, 0) AS elevated_until,
           s.token_hash
      FROM postern.sessions s
      JOIN postern.users u ON u.id = s.user_id
     WHERE s.revoked_at IS NULL
       AND NOT u.disabled;

-- p_idle_timeout: settings.session_idle_timeout, in seconds. A wrong one is the caller's bug:
-- refused loudly, never a session kept alive (least() would ignore a NULL idle deadline). The
-- check is a plain IF, which plpgsql evaluates without the executor (a shared check function
-- would cost a query per call).
CREATE FUNCTION postern.authz_session(p_token_hash bytea, p_idle_timeout bigint)
RETURNS TABLE (session_id uuid, user_id uuid, email text, display_name text, role text,
               user_mfa boolean, session_mfa boolean, must_change_password boolean,
               expires_at bigint, elevated_until bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    IF p_idle_timeout IS NULL OR p_idle_timeout <= 0 THEN
        RAISE EXCEPTION 'authz_session: the idle timeout must be > 0 seconds'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT l.session_id, l.user_id, l.email, l.display_name, l.role,
           EXISTS (SELECT 1 FROM postern.mfa_totp t WHERE t.user_id = l.user_id AND t.enabled),
           l.session_mfa, l.must_change_password, extract(epoch FROM x.exp)::bigint,
           l.elevated_until
      FROM postern._authz_session_rows l
     CROSS JOIN LATERAL (SELECT least(l.expires_at, l.last_seen_at
                                      + p_idle_timeout * interval '1 second') AS exp) x
     WHERE l.token_hash = p_token_hash
       AND x.exp > now();
END
$$;

-- The same for an access JWT, which names its session by id.
CREATE FUNCTION postern.authz_session_id(p_session_id uuid, p_idle_timeout bigint)
RETURNS TABLE (session_id uuid, user_id uuid, email text, display_name text, role text,
               user_mfa boolean, session_mfa boolean, must_change_password boolean,
               expires_at bigint, elevated_until bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    IF p_idle_timeout IS NULL OR p_idle_timeout <= 0 THEN
        RAISE EXCEPTION 'authz_session: the idle timeout must be > 0 seconds'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    SELECT l.session_id, l.user_id, l.email, l.display_name, l.role,
           EXISTS (SELECT 1 FROM postern.mfa_totp t WHERE t.user_id = l.user_id AND t.enabled),
           l.session_mfa, l.must_change_password, extract(epoch FROM x.exp)::bigint,
           l.elevated_until
      FROM postern._authz_session_rows l
     CROSS JOIN LATERAL (SELECT least(l.expires_at, l.last_seen_at
                                      + p_idle_timeout * interval '1 second') AS exp) x
     WHERE l.session_id = p_session_id
       AND x.exp > now();
END
$$;

REVOKE ALL ON FUNCTION postern.authz_session(bytea, bigint),
    postern.authz_session_id(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION postern.authz_session(bytea, bigint),
    postern.authz_session_id(uuid, bigint) TO postern_authorizer;

INSERT INTO postern.schema_version (version) VALUES (12);
COMMIT;
