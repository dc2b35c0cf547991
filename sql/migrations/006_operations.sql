-- Postern migration 006: housekeeping (postern.cleanup), and settings changed by an
-- administrator through the responder (with the guard that require_mfa needs MFA first).
BEGIN;
SET LOCAL client_min_messages = warning;

-- Deletes what can never be used again; returns how many rows of each kind went. Revoked and
-- expired sessions are kept a day (the audit log keeps their ids for longer anyway).
CREATE FUNCTION postern.cleanup() RETURNS TABLE (what text, deleted bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    idle interval := postern._setting('session_idle_timeout')::int * interval '1 second';
    win  interval := postern._setting('lockout_window')::int * interval '1 second';
    iwin interval := postern._setting('ip_throttle_window')::int * interval '1 second';
    n bigint;
BEGIN
    DELETE FROM postern.sessions s
     WHERE s.expires_at < now() - interval '1 day'
        OR s.last_seen_at + idle < now() - interval '1 day'
        OR s.revoked_at < now() - interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT; what := 'sessions'; deleted := n; RETURN NEXT;
    DELETE FROM postern.refresh_tokens r WHERE r.expires_at < now() OR r.revoked_at IS NOT NULL
        OR r.used_at < now() - interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT; what := 'refresh_tokens'; deleted := n; RETURN NEXT;
    DELETE FROM postern.single_use_tokens t WHERE t.expires_at < now() OR t.used_at IS NOT NULL;
    GET DIAGNOSTICS n = ROW_COUNT; what := 'single_use_tokens'; deleted := n; RETURN NEXT;
    DELETE FROM postern.mfa_challenges c WHERE c.expires_at < now();
    GET DIAGNOSTICS n = ROW_COUNT; what := 'mfa_challenges'; deleted := n; RETURN NEXT;
    DELETE FROM postern.login_attempts a
     WHERE a.window_start < now() - 2 * win AND (a.locked_until IS NULL OR a.locked_until < now());
    GET DIAGNOSTICS n = ROW_COUNT; what := 'login_attempts'; deleted := n; RETURN NEXT;
    DELETE FROM postern.ip_attempts a
     WHERE a.window_start < now() - 2 * iwin AND (a.locked_until IS NULL OR a.locked_until < now());
    GET DIAGNOSTICS n = ROW_COUNT; what := 'ip_attempts'; deleted := n; RETURN NEXT;
    DELETE FROM postern.oidc_states o WHERE o.expires_at < now();
    GET DIAGNOSTICS n = ROW_COUNT; what := 'oidc_states'; deleted := n; RETURN NEXT;
END
$$;

-- What the responder runs periodically: cleanup() by one process at a time (an advisory
-- lock; the others skip). Returns the number of rows deleted, or NULL when it skipped.
CREATE FUNCTION postern.run_cleanup() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE total bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('postern.cleanup')) THEN
        RETURN NULL;
    END IF;
    SELECT coalesce(sum(c.deleted), 0) INTO total FROM postern.cleanup() c;
    RETURN total;
END
$$;

-- A setting changed by an administrator (a user whose role holds "all") in the responder.
-- require_mfa cannot be turned on by someone who would be locked out by it.
CREATE FUNCTION postern.admin_set_setting(p_user_id uuid, p_key text, p_value text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u   postern.users := postern._user_by_id(p_user_id, false);
    old text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM postern.role_permissions rp
                    WHERE rp.role = u.role AND rp.permission = 'all') THEN
        RAISE EXCEPTION 'postern: administrators only' USING ERRCODE = '42501';
    END IF;
    IF p_key = 'require_mfa' AND p_value = 'on'
       AND NOT EXISTS (SELECT 1 FROM postern.mfa_totp t WHERE t.user_id = u.id AND t.enabled) THEN
        RAISE EXCEPTION 'postern: set up multi-factor authentication on your own account first'
            USING ERRCODE = '55000';
    END IF;
    SELECT value INTO old FROM postern.settings WHERE key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown setting "%"', p_key USING ERRCODE = 'P0002';
    END IF;
    UPDATE postern.settings SET value = p_value WHERE key = p_key;   -- validated by trigger
    PERFORM postern._audit('setting.set', u.id, u.email, NULL, NULL,
        jsonb_build_object('key', p_key, 'old', old,
                           'new', (SELECT value FROM postern.settings WHERE key = p_key)));
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
GRANT EXECUTE ON FUNCTION postern.cleanup() TO postern_admin;
GRANT EXECUTE ON FUNCTION postern.run_cleanup(), postern.admin_set_setting(uuid, text, text)
TO postern_responder;

INSERT INTO postern.schema_version (version) VALUES (6);
COMMIT;
