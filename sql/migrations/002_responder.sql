-- Postern migration 002: the responder's functions (login, sessions, password change, the
-- owner's API keys, /auth/me).  Secrets never reach SQL: the responder generates tokens and
-- bcrypt hashes itself and sends only sha256(token) and bcrypt hashes.
-- Applied by sql/install.sql in one transaction; records version 2 on success.
BEGIN;
SET LOCAL client_min_messages = warning;

------------------------------------------------------------------------------------------------
-- Schema changes
------------------------------------------------------------------------------------------------
-- An IP is throttled for ip_throttle_window seconds from the failure that reached
-- ip_throttle_threshold (like login_attempts.locked_until for emails).
ALTER TABLE postern.ip_attempts ADD COLUMN locked_until timestamptz;

-- password_is_common() looks common passwords up by sha256 of their (lower-case) text.
CREATE INDEX common_passwords_sha256 ON postern.common_passwords (postern._hash_token(password));

------------------------------------------------------------------------------------------------
-- Internal helpers (no EXECUTE for anyone but the owner)
------------------------------------------------------------------------------------------------
-- The login_attempts key of an email as typed: lower-case, trimmed, at most 254 characters.
-- For a well-formed email this is its canonical form; malformed emails are counted under it
-- too, so that a login answers alike for every input.  NULL for NULL or blank input.
CREATE FUNCTION postern._attempt_key(p_email text) RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT nullif(left(lower(btrim(p_email)), 254), '')
$$;

-- Seconds until t (rounded up), 0 if t is NULL or past.
CREATE FUNCTION postern._seconds_until(p_t timestamptz) RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN p_t > now()
                THEN least(ceil(extract(epoch FROM p_t - now())), 2147483647)::int
                ELSE 0 END
$$;

CREATE FUNCTION postern._check_token_hash(p_token_hash bytea) RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_token_hash IS NULL OR octet_length(p_token_hash) <> 32 THEN
        RAISE EXCEPTION 'postern: token hash must be 32 bytes' USING ERRCODE = '22023',
            HINT = 'Send sha256(token), never the token itself.';
    END IF;
END
$$;

-- The user row for an id (optionally locked FOR UPDATE), or P0002.
CREATE FUNCTION postern._user_by_id(p_user_id uuid, p_lock boolean DEFAULT false) RETURNS postern.users
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users;
BEGIN
    IF p_lock THEN
        SELECT * INTO u FROM postern.users WHERE id = p_user_id FOR UPDATE;
    ELSE
        SELECT * INTO u FROM postern.users WHERE id = p_user_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown user %', p_user_id USING ERRCODE = 'P0002';
    END IF;
    RETURN u;
END
$$;

CREATE FUNCTION postern._check_enabled(p_user postern.users) RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_user.disabled THEN
        RAISE EXCEPTION 'postern: user "%" is disabled', p_user.email USING ERRCODE = '55000';
    END IF;
END
$$;

-- A free-text revocation reason from the responder: trimmed, at most 200 characters.
CREATE FUNCTION postern._reason(p_reason text, p_default text) RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(nullif(left(btrim(p_reason), 200), ''), p_default)
$$;

CREATE FUNCTION postern._check_key_name(p_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_name IS NULL OR btrim(p_name) = '' OR length(p_name) > 200 THEN
        RAISE EXCEPTION 'postern: an API key needs a name (1..200 characters)' USING ERRCODE = '22023';
    END IF;
    RETURN btrim(p_name);
END
$$;

CREATE FUNCTION postern._check_key_prefix(p_prefix text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_prefix IS NULL OR p_prefix !~ '^pst_k_[A-Za-z0-9_-]{6}$' THEN
        RAISE EXCEPTION 'postern: malformed API key prefix "%"', p_prefix USING ERRCODE = '22023',
            HINT = 'The prefix is the first 12 characters of the secret: pst_k_ and 6 more.';
    END IF;
END
$$;

-- The second ceiling of a request made with an API key: every permission must also be granted
-- by the key's effective permissions p_ceiling ('all' there grants anything; asking for 'all'
-- needs 'all').  NULL p_ceiling: the request came with a session, only the role's ceiling applies.
CREATE FUNCTION postern._check_request_ceiling(p_permissions text[], p_ceiling text[]) RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE p text;
BEGIN
    IF p_ceiling IS NULL OR 'all' = ANY (p_ceiling) THEN
        RETURN;
    END IF;
    FOREACH p IN ARRAY p_permissions LOOP
        IF NOT p = ANY (p_ceiling) THEN
            RAISE EXCEPTION 'postern: permission "%" exceeds the API key making the request', p
                USING ERRCODE = '42501',
                HINT = 'A key can only manage keys within its own permissions; sign in with a session to grant more.';
        END IF;
    END LOOP;
END
$$;

------------------------------------------------------------------------------------------------
-- Login
------------------------------------------------------------------------------------------------
-- Always exactly one row, never an error: the user's columns (all NULL for an unknown or
-- malformed email) and the seconds until the account lock or the IP throttle ends.
CREATE FUNCTION postern.login_begin(p_email text, p_ip inet)
RETURNS TABLE (user_id uuid, password_hash text, disabled boolean, mfa_enabled boolean,
               must_change_password boolean, retry_after int)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    -- users.email is always a canonical, well-formed email (CHECK), so a malformed input
    -- (or one longer than 254 characters) can match no user.
    SELECT u.id, u.password_hash, u.disabled,
           CASE WHEN u.id IS NOT NULL THEN coalesce(t.enabled, false) END,
           u.must_change_password,
           greatest(
               postern._seconds_until((SELECT a.locked_until FROM postern.login_attempts a
                                        WHERE a.email = postern._attempt_key(p_email))),
               postern._seconds_until((SELECT i.locked_until FROM postern.ip_attempts i
                                        WHERE i.ip = p_ip)))
      FROM (SELECT 1) one
      LEFT JOIN postern.users u ON u.email = lower(btrim(p_email))
      LEFT JOIN postern.mfa_totp t ON t.user_id = u.id
$$;

-- One failed login: counted atomically per email (also unknown and malformed ones) and per IP
-- (NULL ip: email only).  Returns the seconds of lock/throttle now in force (0: none).
CREATE FUNCTION postern.login_failed(p_email text, p_ip inet) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k     text := postern._attempt_key(p_email);
    uid   uuid := (SELECT id FROM postern.users WHERE email = lower(btrim(p_email)));
    thr   int := postern._setting('lockout_threshold')::int;
    win   interval := postern._setting('lockout_window')::int * interval '1 second';
    dur   interval := postern._setting('lockout_duration')::int * interval '1 second';
    ithr  int := postern._setting('ip_throttle_threshold')::int;
    iwin  interval := postern._setting('ip_throttle_window')::int * interval '1 second';
    n     int;
    lu    timestamptz;
    ilu   timestamptz;
    i_n   int;
BEGIN
    IF k IS NOT NULL THEN
        -- A failure within the window adds one; one after the window restarts the count at 1.
        -- A lock in force is kept (never extended); reaching the threshold while not locked
        -- locks for lockout_duration.
        INSERT INTO postern.login_attempts AS a (email, failures, window_start, locked_until)
        VALUES (k, 1, now(), CASE WHEN 1 >= thr THEN now() + dur END)
        ON CONFLICT (email) DO UPDATE SET
            failures     = CASE WHEN a.window_start <= now() - win THEN 1 ELSE a.failures + 1 END,
            window_start = CASE WHEN a.window_start <= now() - win THEN now() ELSE a.window_start END,
            locked_until = CASE
                WHEN a.locked_until > now() THEN a.locked_until
                WHEN (CASE WHEN a.window_start <= now() - win THEN 1 ELSE a.failures + 1 END) >= thr
                    THEN now() + dur
                END
        RETURNING a.failures, a.locked_until INTO n, lu;
        -- now() is fixed for the transaction: an earlier lock can never equal now() + dur.
        IF lu = now() + dur THEN
            PERFORM postern._audit('account.lockout', uid, k, NULL, p_ip,
                jsonb_build_object('failures', n, 'locked_until', lu));
        END IF;
    END IF;

    IF p_ip IS NOT NULL THEN
        INSERT INTO postern.ip_attempts AS a (ip, failures, window_start, locked_until)
        VALUES (p_ip, 1, now(), CASE WHEN 1 >= ithr THEN now() + iwin END)
        ON CONFLICT (ip) DO UPDATE SET
            failures     = CASE WHEN a.window_start <= now() - iwin THEN 1 ELSE a.failures + 1 END,
            window_start = CASE WHEN a.window_start <= now() - iwin THEN now() ELSE a.window_start END,
            locked_until = CASE
                WHEN a.locked_until > now() THEN a.locked_until
                WHEN (CASE WHEN a.window_start <= now() - iwin THEN 1 ELSE a.failures + 1 END) >= ithr
                    THEN now() + iwin
                END
        RETURNING a.failures, a.locked_until INTO i_n, ilu;
        IF ilu = now() + iwin THEN
            PERFORM postern._audit('ip.throttle', NULL, NULL, NULL, p_ip,
                jsonb_build_object('failures', i_n, 'locked_until', ilu));
        END IF;
    END IF;

    PERFORM postern._audit('login.failure', uid, k, NULL, p_ip,
        jsonb_build_object('failures', n, 'ip_failures', i_n));
    RETURN greatest(postern._seconds_until(lu), postern._seconds_until(ilu));
END
$$;

------------------------------------------------------------------------------------------------
-- Sessions
------------------------------------------------------------------------------------------------
CREATE FUNCTION postern.create_session(p_user_id uuid, p_token_hash bytea, p_auth_method text,
                                       p_mfa boolean, p_user_agent text, p_ip inet, p_device text,
                                       p_oidc_issuer text DEFAULT NULL, p_oidc_sid text DEFAULT NULL,
                                       p_oidc_id_token text DEFAULT NULL)
RETURNS TABLE (session_id uuid, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u   postern.users;
    lim int := postern._setting('session_limit')::int;
    sid uuid;
    exp timestamptz;
    r   record;
BEGIN
    PERFORM postern._check_token_hash(p_token_hash);
    IF p_auth_method IS NULL OR p_auth_method !~ '^[a-z][a-z0-9_]*$' THEN
        RAISE EXCEPTION 'postern: malformed auth method "%"', p_auth_method USING ERRCODE = '22023',
            HINT = 'An auth method is lower-case letters, digits and "_", e.g. password or oidc.';
    END IF;
    -- Locking the user serialises parallel logins of one user, so the session limit holds.
    u := postern._user_by_id(p_user_id, true);
    PERFORM postern._check_enabled(u);

    INSERT INTO postern.sessions (token_hash, user_id, expires_at, auth_method, mfa, user_agent,
                                  ip, device, oidc_issuer, oidc_sid, oidc_id_token)
    VALUES (p_token_hash, u.id,
            now() + postern._setting('session_lifetime')::int * interval '1 second',
            p_auth_method, coalesce(p_mfa, false), left(p_user_agent, 512), p_ip,
            left(p_device, 512), p_oidc_issuer, p_oidc_sid, p_oidc_id_token)
    RETURNING id, sessions.expires_at INTO sid, exp;

    -- Keep the new session and the newest lim - 1 other live ones.
    IF lim > 0 THEN
        FOR r IN
            UPDATE postern.sessions s SET revoked_at = now(), revoked_reason = 'session limit'
             WHERE s.id IN (SELECT x.id FROM postern.sessions x
                              JOIN postern._live_sessions l ON l.session_id = x.id
                             WHERE x.user_id = u.id AND x.id <> sid
                             ORDER BY x.created_at DESC, x.id DESC
                            OFFSET lim - 1)
            RETURNING s.id
        LOOP
            PERFORM postern._audit('session.revoke', u.id, u.email, r.id, p_ip,
                jsonb_build_object('reason', 'session limit', 'changed', true));
        END LOOP;
    END IF;

    -- A successful login clears the failed-login counter of the account (not of the IP).
    DELETE FROM postern.login_attempts WHERE email = u.email;

    PERFORM postern._audit('login.success', u.id, u.email, sid, p_ip,
        jsonb_build_object('auth_method', p_auth_method, 'mfa', coalesce(p_mfa, false),
                           'user_agent', left(p_user_agent, 512)));
    session_id := sid;
    expires_at := exp;
    RETURN NEXT;
END
$$;

-- Revokes the live session of this token; its id, or NULL if there was none (idempotent).
CREATE FUNCTION postern.logout_session(p_token_hash bytea) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sid uuid;
    uid uuid;
BEGIN
    UPDATE postern.sessions s SET revoked_at = now(), revoked_reason = 'logout'
     WHERE s.id = (SELECT l.session_id FROM postern._live_sessions l WHERE l.token_hash = p_token_hash)
    RETURNING s.id, s.user_id INTO sid, uid;
    IF sid IS NOT NULL THEN
        PERFORM postern._audit('session.logout', uid, (SELECT email FROM postern.users WHERE id = uid),
            sid, NULL, NULL);
    END IF;
    RETURN sid;
END
$$;

-- The user's live sessions (the liveness rule of auth_session), newest first; expires_at is
-- the effective one (the earlier of the absolute expiry and the idle deadline).
CREATE FUNCTION postern.user_sessions(p_user_id uuid)
RETURNS TABLE (id uuid, created_at timestamptz, last_seen_at timestamptz, expires_at timestamptz,
               auth_method text, mfa boolean, user_agent text, ip inet, device text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.id, s.created_at, s.last_seen_at, l.expires_at, s.auth_method, s.mfa, s.user_agent,
           s.ip, s.device
      FROM postern.sessions s
      JOIN postern._live_sessions l ON l.session_id = s.id
     WHERE s.user_id = p_user_id
     ORDER BY s.created_at DESC, s.id DESC
$$;

CREATE FUNCTION postern.revoke_user_session(p_user_id uuid, p_session_id uuid, p_reason text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    reason text := postern._reason(p_reason, 'revoked by user');
    sid uuid;
BEGIN
    UPDATE postern.sessions s SET revoked_at = now(), revoked_reason = reason
     WHERE s.id = (SELECT l.session_id FROM postern._live_sessions l
                    WHERE l.session_id = p_session_id AND l.user_id = p_user_id)
    RETURNING s.id INTO sid;
    IF sid IS NULL THEN
        RETURN false;
    END IF;
    PERFORM postern._audit('session.revoke', p_user_id,
        (SELECT email FROM postern.users WHERE id = p_user_id), sid, NULL,
        jsonb_build_object('reason', reason, 'changed', true));
    RETURN true;
END
$$;

CREATE FUNCTION postern.revoke_other_sessions(p_user_id uuid, p_keep uuid, p_reason text)
RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_id(p_user_id);
    reason text := postern._reason(p_reason, 'revoked by user');
    n int;
BEGIN
    UPDATE postern.sessions s SET revoked_at = now(), revoked_reason = reason
     WHERE s.id IN (SELECT l.session_id FROM postern._live_sessions l
                     WHERE l.user_id = u.id AND l.session_id IS DISTINCT FROM p_keep);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('session.revoke_all', u.id, u.email, NULL, NULL,
        jsonb_build_object('count', n, 'reason', reason, 'kept', p_keep));
    RETURN n;
END
$$;

------------------------------------------------------------------------------------------------
-- Passwords
------------------------------------------------------------------------------------------------
-- p_sha256_of_lowercased = sha256(convert_to(lower(password), 'UTF8')), computed by the responder.
CREATE FUNCTION postern.password_is_common(p_sha256_of_lowercased bytea) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM postern.common_passwords c
                    WHERE postern._hash_token(c.password) = p_sha256_of_lowercased)
$$;

-- The user changed their own password (the responder checked the policy and made the hash).
CREATE FUNCTION postern.set_user_password(p_user_id uuid, p_hash text, p_keep_session uuid)
RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users;
    n int;
BEGIN
    IF p_hash IS NULL OR p_hash !~ '^\$2[ab]\$1[2-5]\$[./A-Za-z0-9]{53}$' THEN
        RAISE EXCEPTION 'postern: malformed password hash' USING ERRCODE = '22023',
            HINT = 'Send a bcrypt hash: $2a$ or $2b$, cost 12..15, 60 characters.';
    END IF;
    u := postern._user_by_id(p_user_id, true);
    UPDATE postern.users
       SET password_hash = p_hash, password_changed_at = now(), must_change_password = false
     WHERE id = u.id;                               -- NOTIFY user:<id> through users_notify
    UPDATE postern.sessions s SET revoked_at = now(), revoked_reason = 'password changed'
     WHERE s.id IN (SELECT l.session_id FROM postern._live_sessions l
                     WHERE l.user_id = u.id AND l.session_id IS DISTINCT FROM p_keep_session);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('user.set_password', u.id, u.email, NULL, NULL,
        jsonb_build_object('password', true, 'must_change', false, 'sessions_revoked', n,
                           'kept_session', p_keep_session));
    RETURN n;
END
$$;

------------------------------------------------------------------------------------------------
-- The owner's API keys (the responder makes the secret; SQL gets its hash and display prefix).
-- p_ceiling: NULL when the request came with a session; the effective permissions of the API
-- key making the request otherwise (from auth_api_key).
------------------------------------------------------------------------------------------------
CREATE FUNCTION postern.create_user_api_key(p_user_id uuid, p_name text, p_permissions text[],
                                            p_expires_at timestamptz, p_token_hash bytea,
                                            p_prefix text, p_ceiling text[] DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u       postern.users;
    v_name  text;
    v_perms text[];
    lim     int := postern._setting('api_key_limit')::int;
    n       int;
    kid     uuid;
BEGIN
    -- Locking the owner serialises parallel creations, so the limit holds.
    u := postern._user_by_id(p_user_id, true);
    PERFORM postern._check_enabled(u);
    v_name := postern._check_key_name(p_name);
    v_perms := postern._check_permissions(p_permissions);
    PERFORM postern._check_ceiling(u.role, v_perms, u.email);
    PERFORM postern._check_request_ceiling(v_perms, p_ceiling);
    PERFORM postern._check_expiry(p_expires_at);
    PERFORM postern._check_token_hash(p_token_hash);
    PERFORM postern._check_key_prefix(p_prefix);
    IF lim > 0 THEN
        SELECT count(*) INTO n FROM postern.api_keys k
         WHERE k.user_id = u.id AND k.revoked_at IS NULL
           AND (k.expires_at IS NULL OR k.expires_at > now());
        IF n >= lim THEN
            RAISE EXCEPTION 'postern: user "%" already has % live API keys (limit %)', u.email, n, lim
                USING ERRCODE = '54000',
                HINT = 'Revoke a key first; the limit is setting api_key_limit.';
        END IF;
    END IF;
    INSERT INTO postern.api_keys (user_id, name, token_hash, prefix, permissions, expires_at)
    VALUES (u.id, v_name, p_token_hash, p_prefix, v_perms, p_expires_at)
    RETURNING id INTO kid;
    PERFORM postern._audit('api_key.create', u.id, u.email, NULL, NULL,
        jsonb_build_object('key_id', kid, 'name', v_name, 'prefix', p_prefix,
                           'permissions', v_perms, 'expires_at', p_expires_at));
    RETURN kid;
END
$$;

-- Not revoked, newest first; expired keys are included so that the owner sees them.
CREATE FUNCTION postern.user_api_keys(p_user_id uuid)
RETURNS TABLE (id uuid, name text, prefix text, permissions text[], created_at timestamptz,
               expires_at timestamptz, last_used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT k.id, k.name, k.prefix, k.permissions, k.created_at, k.expires_at, k.last_used_at
      FROM postern.api_keys k
     WHERE k.user_id = p_user_id AND k.revoked_at IS NULL
     ORDER BY k.created_at DESC, k.id DESC
$$;

-- NULL arguments keep the current value.  False unless p_id is a live (not revoked, not
-- expired) key of p_user_id.
CREATE FUNCTION postern.update_user_api_key(p_user_id uuid, p_id uuid, p_name text,
                                            p_permissions text[], p_expires_at timestamptz,
                                            p_ceiling text[] DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u       postern.users := postern._user_by_id(p_user_id);
    k       postern.api_keys;
    v_name  text;
    v_perms text[];
BEGIN
    SELECT * INTO k FROM postern.api_keys
     WHERE id = p_id AND user_id = u.id AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > now())
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM postern._check_enabled(u);
    v_name := CASE WHEN p_name IS NULL THEN k.name ELSE postern._check_key_name(p_name) END;
    IF p_permissions IS NULL THEN
        v_perms := k.permissions;
    ELSE
        v_perms := postern._check_permissions(p_permissions);
        PERFORM postern._check_ceiling(u.role, v_perms, u.email);
    END IF;
    -- A key may not change a key that has (or would get) more than it has itself.
    PERFORM postern._check_request_ceiling(k.permissions, p_ceiling);
    PERFORM postern._check_request_ceiling(v_perms, p_ceiling);
    PERFORM postern._check_expiry(p_expires_at);
    UPDATE postern.api_keys
       SET name = v_name, permissions = v_perms, expires_at = coalesce(p_expires_at, k.expires_at)
     WHERE id = k.id;
    PERFORM postern._audit('api_key.update', u.id, u.email, NULL, NULL,
        jsonb_build_object('key_id', k.id, 'name', v_name, 'permissions', v_perms,
                           'expires_at', coalesce(p_expires_at, k.expires_at),
                           'old', jsonb_build_object('name', k.name, 'permissions', k.permissions,
                                                     'expires_at', k.expires_at)));
    RETURN true;
END
$$;

-- A new secret for the same key (id, name, permissions, expiry); last_used_at is reset.
CREATE FUNCTION postern.rotate_user_api_key(p_user_id uuid, p_id uuid, p_token_hash bytea,
                                            p_prefix text, p_ceiling text[] DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_id(p_user_id);
    k postern.api_keys;
BEGIN
    SELECT * INTO k FROM postern.api_keys
     WHERE id = p_id AND user_id = u.id AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > now())
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM postern._check_enabled(u);
    PERFORM postern._check_request_ceiling(k.permissions, p_ceiling);
    PERFORM postern._check_token_hash(p_token_hash);
    PERFORM postern._check_key_prefix(p_prefix);
    UPDATE postern.api_keys SET token_hash = p_token_hash, prefix = p_prefix, last_used_at = NULL
     WHERE id = k.id;                               -- NOTIFY api_key:<id> through api_keys_notify
    PERFORM postern._audit('api_key.rotate', u.id, u.email, NULL, NULL,
        jsonb_build_object('key_id', k.id, 'name', k.name, 'old_prefix', k.prefix, 'prefix', p_prefix));
    RETURN true;
END
$$;

-- False unless p_id is a not yet revoked key of p_user_id (expired keys can be revoked too).
CREATE FUNCTION postern.revoke_user_api_key(p_user_id uuid, p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    kname text;
BEGIN
    UPDATE postern.api_keys SET revoked_at = now()
     WHERE id = p_id AND user_id = p_user_id AND revoked_at IS NULL
    RETURNING name INTO kname;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM postern._audit('api_key.revoke', p_user_id,
        (SELECT email FROM postern.users WHERE id = p_user_id), NULL, NULL,
        jsonb_build_object('key_id', p_id, 'name', kname, 'changed', true));
    RETURN true;
END
$$;

------------------------------------------------------------------------------------------------
-- Users
------------------------------------------------------------------------------------------------
-- A live password-protected shared link, for POST /auth/shared-links/unlock.
CREATE FUNCTION postern.shared_link_unlock_info(p_token_hash bytea)
RETURNS TABLE (link_id uuid, password_hash text, password_version text, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.id, l.password_hash, postern._password_version(l.password_hash), l.expires_at
      FROM postern.shared_links l
      JOIN postern.users u ON u.id = l.user_id
     WHERE l.token_hash = p_token_hash
       AND l.password_hash IS NOT NULL
       AND l.revoked_at IS NULL
       AND (l.expires_at IS NULL OR l.expires_at > now())
       AND NOT u.disabled
$$;

CREATE FUNCTION postern.get_user(p_user_id uuid)
RETURNS TABLE (user_id uuid, email text, display_name text, role text, permissions text[],
               mfa_enabled boolean, must_change_password boolean, disabled boolean,
               created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT u.id, u.email, u.display_name, u.role,
           ARRAY(SELECT rp.permission FROM postern.role_permissions rp WHERE rp.role = u.role ORDER BY 1),
           coalesce(t.enabled, false), u.must_change_password, u.disabled, u.created_at
      FROM postern.users u
      LEFT JOIN postern.mfa_totp t ON t.user_id = u.id
     WHERE u.id = p_user_id
$$;

------------------------------------------------------------------------------------------------
-- Privileges
------------------------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA postern FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    postern.login_begin(text, inet),
    postern.login_failed(text, inet),
    postern.create_session(uuid, bytea, text, boolean, text, inet, text, text, text, text),
    postern.logout_session(bytea),
    postern.user_sessions(uuid),
    postern.revoke_user_session(uuid, uuid, text),
    postern.revoke_other_sessions(uuid, uuid, text),
    postern.password_is_common(bytea),
    postern.set_user_password(uuid, text, uuid),
    postern.create_user_api_key(uuid, text, text[], timestamptz, bytea, text, text[]),
    postern.user_api_keys(uuid),
    postern.update_user_api_key(uuid, uuid, text, text[], timestamptz, text[]),
    postern.rotate_user_api_key(uuid, uuid, bytea, text, text[]),
    postern.revoke_user_api_key(uuid, uuid),
    postern.get_user(uuid),
    postern.shared_link_unlock_info(bytea),
    postern.auth_session(bytea),
    postern.auth_session_id(uuid),
    postern.auth_api_key(bytea),
    postern.load_settings()
TO postern_responder;
-- get_schema_version() was granted to all three roles in 001.

INSERT INTO postern.schema_version (version) VALUES (2);
COMMIT;
