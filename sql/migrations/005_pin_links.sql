-- Postern migration 005: PIN step-up and session lock, and shared links managed by their
-- owner through the responder (the secret and the bcrypt hash are made in C).
BEGIN;
SET LOCAL client_min_messages = warning;

-- Sets, changes or (NULL) removes the PIN (a bcrypt hash). Every session of the user loses
-- its elevation: a new PIN must be entered again everywhere.
CREATE FUNCTION postern.set_user_pin(p_user_id uuid, p_pin_hash text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users := postern._user_by_id(p_user_id, true);
BEGIN
    IF p_pin_hash IS NOT NULL AND p_pin_hash !~ '^\$2[ab]\$1[2-5]\$[./A-Za-z0-9]{53}$' THEN
        RAISE EXCEPTION 'postern: not a bcrypt hash' USING ERRCODE = '22023';
    END IF;
    UPDATE postern.users SET pin_hash = p_pin_hash WHERE id = u.id;
    UPDATE postern.sessions SET elevated_until = NULL
     WHERE user_id = u.id AND elevated_until IS NOT NULL;
    PERFORM postern._audit('user.set_pin', u.id, u.email, NULL, NULL,
                           jsonb_build_object('pin', p_pin_hash IS NOT NULL));
END
$$;

CREATE FUNCTION postern.user_pin_hash(p_user_id uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT pin_hash FROM postern.users WHERE id = p_user_id
$$;

-- Elevates a live session for elevation_ttl seconds (NULL p_until: locks it again).
CREATE FUNCTION postern.set_session_elevation(p_session_id uuid, p_elevate boolean)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    until timestamptz := CASE WHEN p_elevate
                              THEN now() + postern._setting('elevation_ttl')::int * interval '1 second'
                         END;
    n int;
BEGIN
    UPDATE postern.sessions SET elevated_until = until
     WHERE id = p_session_id AND revoked_at IS NULL AND expires_at > now();
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        RAISE EXCEPTION 'postern: no live session %', p_session_id USING ERRCODE = 'P0002';
    END IF;
    PERFORM postern._audit(CASE WHEN p_elevate THEN 'session.unlock' ELSE 'session.lock' END,
                           (SELECT user_id FROM postern.sessions WHERE id = p_session_id), NULL,
                           p_session_id, NULL, NULL);
    RETURN until;
END
$$;

-- Activity also slides an elevation that is about to end (less than 5 minutes left) by 5
-- minutes: a user at work is not asked for the PIN again in the middle of it.
CREATE OR REPLACE FUNCTION postern.touch_session(p_session_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    UPDATE postern.sessions SET last_seen_at = now(),
           elevated_until = CASE WHEN elevated_until > now()
                                      AND elevated_until < now() + interval '5 minutes'
                                 THEN elevated_until + interval '5 minutes'
                                 ELSE elevated_until END
     WHERE id = p_session_id AND revoked_at IS NULL AND last_seen_at < now() - interval '60 seconds';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END
$$;

-- Shared links of their owner, created by the responder.
CREATE FUNCTION postern.create_user_shared_link(p_user_id uuid, p_path_prefix text,
                                                p_permissions text[], p_expires_at timestamptz,
                                                p_password_hash text, p_token_hash bytea,
                                                p_prefix text, p_description text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u      postern.users := postern._user_by_id(p_user_id, true);
    prefix text := postern._check_path_prefix(p_path_prefix);
    perms  text[] := postern._check_permissions(p_permissions);
    lid    uuid;
BEGIN
    PERFORM postern._check_enabled(u);
    PERFORM postern._check_ceiling(u.role, perms, u.email);
    PERFORM postern._check_expiry(p_expires_at);
    PERFORM postern._check_token_hash(p_token_hash);
    IF p_prefix IS NULL OR p_prefix !~ '^pst_l_[A-Za-z0-9_-]{6}$' THEN
        RAISE EXCEPTION 'postern: malformed link prefix' USING ERRCODE = '22023';
    END IF;
    IF p_password_hash IS NOT NULL AND p_password_hash !~ '^\$2[ab]\$1[2-5]\$[./A-Za-z0-9]{53}$' THEN
        RAISE EXCEPTION 'postern: not a bcrypt hash' USING ERRCODE = '22023';
    END IF;
    INSERT INTO postern.shared_links (user_id, token_hash, prefix, path_prefix, permissions,
                                      password_hash, expires_at, description)
    VALUES (u.id, p_token_hash, p_prefix, prefix, perms, p_password_hash, p_expires_at,
            left(p_description, 500))
    RETURNING id INTO lid;
    PERFORM postern._audit('shared_link.create', u.id, u.email, NULL, NULL,
        jsonb_build_object('link_id', lid, 'path_prefix', prefix, 'prefix', p_prefix,
                           'permissions', perms, 'expires_at', p_expires_at,
                           'password', p_password_hash IS NOT NULL));
    RETURN lid;
END
$$;

CREATE FUNCTION postern.user_shared_links(p_user_id uuid)
RETURNS TABLE (id uuid, prefix text, path_prefix text, permissions text[], has_password boolean,
               expires_at timestamptz, created_at timestamptz, description text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.id, l.prefix, l.path_prefix, l.permissions, l.password_hash IS NOT NULL,
           l.expires_at, l.created_at, l.description
      FROM postern.shared_links l
     WHERE l.user_id = p_user_id AND l.revoked_at IS NULL
     ORDER BY l.created_at DESC
$$;

-- Changes the expiry of the owner's live link (NULL: never expires); false if not theirs.
CREATE FUNCTION postern.update_user_shared_link(p_user_id uuid, p_id uuid,
                                                p_expires_at timestamptz) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    PERFORM postern._check_expiry(p_expires_at);
    UPDATE postern.shared_links SET expires_at = p_expires_at
     WHERE id = p_id AND user_id = p_user_id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM postern._audit('shared_link.update', p_user_id, NULL, NULL, NULL,
                               jsonb_build_object('link_id', p_id, 'expires_at', p_expires_at));
    END IF;
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.revoke_user_shared_link(p_user_id uuid, p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    UPDATE postern.shared_links SET revoked_at = now()
     WHERE id = p_id AND user_id = p_user_id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM postern._audit('shared_link.revoke', p_user_id, NULL, NULL, NULL,
                               jsonb_build_object('link_id', p_id));
    END IF;
    RETURN n > 0;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    postern.set_user_pin(uuid, text),
    postern.user_pin_hash(uuid),
    postern.set_session_elevation(uuid, boolean),
    postern.create_user_shared_link(uuid, text, text[], timestamptz, text, bytea, text, text),
    postern.user_shared_links(uuid),
    postern.update_user_shared_link(uuid, uuid, timestamptz),
    postern.revoke_user_shared_link(uuid, uuid)
TO postern_responder;
-- CREATE OR REPLACE kept touch_session's grant to the authorizer.

INSERT INTO postern.schema_version (version) VALUES (5);
COMMIT;
