-- Postern migration 004: TOTP multi-factor authentication for the responder: setup, enabling
-- with backup codes, the login challenge, replay-proof code use, disabling.
BEGIN;
SET LOCAL client_min_messages = warning;

-- A new (not yet enabled) TOTP secret, sealed by the responder with the server key.
CREATE FUNCTION postern.mfa_setup(p_user_id uuid, p_secret_enc bytea) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users := postern._user_by_id(p_user_id, true);
BEGIN
    PERFORM postern._check_enabled(u);
    IF EXISTS (SELECT 1 FROM postern.mfa_totp t WHERE t.user_id = u.id AND t.enabled) THEN
        RAISE EXCEPTION 'postern: multi-factor authentication is already enabled'
            USING ERRCODE = '55000', HINT = 'Disable it first to set up a new authenticator.';
    END IF;
    INSERT INTO postern.mfa_totp (user_id, secret_enc, enabled, last_step)
    VALUES (u.id, p_secret_enc, false, NULL)
    ON CONFLICT (user_id) DO UPDATE SET secret_enc = EXCLUDED.secret_enc, enabled = false,
                                        last_step = NULL, created_at = now();
    PERFORM postern._audit('mfa.setup', u.id, u.email, NULL, NULL, NULL);
END
$$;

CREATE FUNCTION postern.mfa_secret(p_user_id uuid)
RETURNS TABLE (secret_enc bytea, enabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.secret_enc, t.enabled FROM postern.mfa_totp t WHERE t.user_id = p_user_id
$$;

-- Uses a verified time step: true only if it is later than every step used before (a code is
-- never accepted twice, not even by two requests at once: the UPDATE decides). With
-- p_enable, a pending secret becomes enabled and the backup codes replace the old ones.
CREATE FUNCTION postern.mfa_use_step(p_user_id uuid, p_step bigint, p_enable boolean,
                                     p_backup_hashes bytea[] DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n int;
    e text := (SELECT email FROM postern.users WHERE id = p_user_id);
BEGIN
    UPDATE postern.mfa_totp t SET last_step = p_step, enabled = t.enabled OR p_enable
     WHERE t.user_id = p_user_id AND t.enabled = NOT p_enable
       AND (t.last_step IS NULL OR t.last_step < p_step);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RETURN false;
    END IF;
    IF p_enable THEN
        IF p_backup_hashes IS NULL OR cardinality(p_backup_hashes) <> 10 THEN
            RAISE EXCEPTION 'postern: enabling needs 10 backup code hashes' USING ERRCODE = '22023';
        END IF;
        DELETE FROM postern.mfa_backup_codes b WHERE b.user_id = p_user_id;
        INSERT INTO postern.mfa_backup_codes (user_id, code_hash)
        SELECT p_user_id, h FROM unnest(p_backup_hashes) h;
        PERFORM postern._audit('mfa.enable', p_user_id, e, NULL, NULL, NULL);
    END IF;
    RETURN true;
END
$$;

-- Burns one backup code (its SHA-256): true once per code.
CREATE FUNCTION postern.mfa_use_backup_code(p_user_id uuid, p_code_hash bytea) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    UPDATE postern.mfa_backup_codes b SET used_at = now()
     WHERE b.user_id = p_user_id AND b.code_hash = p_code_hash AND b.used_at IS NULL
       AND EXISTS (SELECT 1 FROM postern.mfa_totp t WHERE t.user_id = p_user_id AND t.enabled);
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM postern._audit('mfa.backup_code', p_user_id,
                               (SELECT email FROM postern.users WHERE id = p_user_id), NULL, NULL,
                               jsonb_build_object('left', (SELECT count(*) FROM postern.mfa_backup_codes b
                                                            WHERE b.user_id = p_user_id AND b.used_at IS NULL)));
    END IF;
    RETURN n > 0;
END
$$;

-- Refused while the require_mfa setting is on (55000).
CREATE FUNCTION postern.mfa_disable(p_user_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users := postern._user_by_id(p_user_id, true);
BEGIN
    IF postern._setting('require_mfa') = 'on' THEN
        RAISE EXCEPTION 'postern: multi-factor authentication is required here'
            USING ERRCODE = '55000', HINT = 'An administrator must turn require_mfa off first.';
    END IF;
    DELETE FROM postern.mfa_totp t WHERE t.user_id = u.id;
    DELETE FROM postern.mfa_backup_codes b WHERE b.user_id = u.id;
    PERFORM postern._audit('mfa.disable', u.id, u.email, NULL, NULL, NULL);
END
$$;

-- The short-lived, purpose-bound proof that the password was right.
CREATE FUNCTION postern.mfa_challenge_create(p_user_id uuid, p_token_hash bytea)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE exp timestamptz := now() + postern._setting('mfa_challenge_ttl')::int * interval '1 second';
BEGIN
    PERFORM postern._check_token_hash(p_token_hash);
    DELETE FROM postern.mfa_challenges c WHERE c.expires_at <= now();
    INSERT INTO postern.mfa_challenges (token_hash, user_id, expires_at)
    VALUES (p_token_hash, p_user_id, exp);
    RETURN exp;
END
$$;

-- One attempt on a challenge: its user while it is live and has attempts left (each call
-- counts one, atomically), else no row. mfa_challenge_done deletes it after success.
CREATE FUNCTION postern.mfa_challenge_attempt(p_token_hash bytea)
RETURNS TABLE (user_id uuid, email text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH a AS (
        UPDATE postern.mfa_challenges c SET attempts = c.attempts + 1
         WHERE c.token_hash = p_token_hash AND c.expires_at > now()
           AND c.attempts < postern._setting('mfa_max_attempts')::int
        RETURNING c.user_id
    )
    SELECT u.id, u.email FROM a JOIN postern.users u ON u.id = a.user_id WHERE NOT u.disabled
$$;

CREATE FUNCTION postern.mfa_challenge_done(p_token_hash bytea) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DELETE FROM postern.mfa_challenges c WHERE c.token_hash = p_token_hash
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    postern.mfa_setup(uuid, bytea),
    postern.mfa_secret(uuid),
    postern.mfa_use_step(uuid, bigint, boolean, bytea[]),
    postern.mfa_use_backup_code(uuid, bytea),
    postern.mfa_disable(uuid),
    postern.mfa_challenge_create(uuid, bytea),
    postern.mfa_challenge_attempt(bytea),
    postern.mfa_challenge_done(bytea)
TO postern_responder;

INSERT INTO postern.schema_version (version) VALUES (4);
COMMIT;
