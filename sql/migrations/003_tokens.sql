-- Postern migration 003: refresh tokens (rotation, reuse detection) and single-use tokens,
-- issued by the responder. Applied by sql/install.sql in one transaction.
BEGIN;
SET LOCAL client_min_messages = warning;

INSERT INTO postern.settings (key, value, type, min, max, choices, description) VALUES
    ('single_use_token_global_limit', '10000', 'int', 100, 10000000, NULL,
     'Unused single-use tokens all users together may hold at once');

-- A new refresh-token family for a live session: the first token of the chain. It lives
-- refresh_token_ttl seconds, never longer than its session.
CREATE FUNCTION postern.issue_refresh_token(p_session_id uuid, p_token_hash bytea)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s   postern._live_sessions;
    exp timestamptz;
BEGIN
    PERFORM postern._check_token_hash(p_token_hash);
    SELECT * INTO s FROM postern._live_sessions l WHERE l.session_id = p_session_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: no live session %', p_session_id USING ERRCODE = 'P0002';
    END IF;
    exp := least(s.expires_at,
                 now() + postern._setting('refresh_token_ttl')::int * interval '1 second');
    INSERT INTO postern.refresh_tokens (session_id, family_id, token_hash, expires_at)
    VALUES (p_session_id, gen_random_uuid(), p_token_hash, exp);
    PERFORM postern._audit('refresh.issue', s.user_id, s.email, p_session_id, NULL, NULL);
    RETURN exp;
END
$$;

-- Rotation: the presented token is consumed (one UPDATE ... RETURNING, so of parallel
-- presentations exactly one wins) and a new one of the same family issued. A token that was
-- already used means it leaked: the whole family and its session are revoked.
--   status 'ok': session_id, user_id, expires_at of the new token
--   status 'reuse': the family and the session were revoked now
--   status 'invalid': unknown, expired, revoked, or its session is no longer live
CREATE FUNCTION postern.rotate_refresh_token(p_old_hash bytea, p_new_hash bytea)
RETURNS TABLE (status text, session_id uuid, user_id uuid, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t   postern.refresh_tokens;
    s   postern._live_sessions;
    exp timestamptz;
BEGIN
    PERFORM postern._check_token_hash(p_new_hash);
    UPDATE postern.refresh_tokens r SET used_at = now()
     WHERE r.token_hash = p_old_hash AND r.used_at IS NULL AND r.revoked_at IS NULL
       AND r.expires_at > now()
    RETURNING r.* INTO t;
    IF NOT FOUND THEN
        SELECT * INTO t FROM postern.refresh_tokens r WHERE r.token_hash = p_old_hash;
        IF FOUND AND t.used_at IS NOT NULL THEN
            UPDATE postern.refresh_tokens r SET revoked_at = now()
             WHERE r.family_id = t.family_id AND r.revoked_at IS NULL;
            UPDATE postern.sessions x SET revoked_at = now(), revoked_reason = 'refresh token reuse'
             WHERE x.id = t.session_id AND x.revoked_at IS NULL;
            PERFORM postern._audit('refresh.reuse', (SELECT x.user_id FROM postern.sessions x
                                                      WHERE x.id = t.session_id),
                                   NULL, t.session_id, NULL,
                                   jsonb_build_object('family_id', t.family_id));
            status := 'reuse';
        ELSE
            status := 'invalid';
        END IF;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT * INTO s FROM postern._live_sessions l WHERE l.session_id = t.session_id;
    IF NOT FOUND THEN
        status := 'invalid';
        RETURN NEXT;
        RETURN;
    END IF;
    exp := least(s.expires_at,
                 now() + postern._setting('refresh_token_ttl')::int * interval '1 second');
    INSERT INTO postern.refresh_tokens (session_id, family_id, token_hash, expires_at)
    VALUES (t.session_id, t.family_id, p_new_hash, exp);
    status := 'ok';
    session_id := t.session_id;
    user_id := s.user_id;
    expires_at := exp;
    RETURN NEXT;
END
$$;

-- A single-use token for a URL that must not carry a long-lived credential (WebSocket,
-- download, <img>): bounded per user (single_use_token_limit, 54000) and in all
-- (single_use_token_global_limit, 53400); expired ones are cleaned up on the way.
CREATE FUNCTION postern.issue_single_use_token(p_user_id uuid, p_session_id uuid,
                                               p_token_hash bytea, p_purpose text, p_path text,
                                               p_ttl_seconds int)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u   postern.users := postern._user_by_id(p_user_id, true);
    exp timestamptz := now() + p_ttl_seconds * interval '1 second';
BEGIN
    PERFORM postern._check_enabled(u);
    PERFORM postern._check_token_hash(p_token_hash);
    IF p_purpose IS NULL OR p_purpose !~ '^[a-z][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'postern: malformed purpose "%"', p_purpose USING ERRCODE = '22023',
            HINT = 'A purpose is a lower-case word, e.g. websocket or download.';
    END IF;
    IF p_path IS NOT NULL AND (left(p_path, 1) <> '/' OR length(p_path) > 1024) THEN
        RAISE EXCEPTION 'postern: a token path starts with "/" (at most 1024 bytes)'
            USING ERRCODE = '22023';
    END IF;
    IF p_ttl_seconds IS NULL OR p_ttl_seconds < 1 OR p_ttl_seconds > 3600 THEN
        RAISE EXCEPTION 'postern: token lifetime out of range' USING ERRCODE = '22023';
    END IF;
    DELETE FROM postern.single_use_tokens t
     WHERE t.user_id = p_user_id AND (t.used_at IS NOT NULL OR t.expires_at <= now());
    IF (SELECT count(*) FROM postern.single_use_tokens t WHERE t.user_id = p_user_id)
       >= postern._setting('single_use_token_limit')::int THEN
        RAISE EXCEPTION 'postern: too many unused single-use tokens' USING ERRCODE = '54000',
            HINT = 'Use or let expire the pending ones first.';
    END IF;
    IF (SELECT count(*) FROM postern.single_use_tokens t
         WHERE t.used_at IS NULL AND t.expires_at > now())
       >= postern._setting('single_use_token_global_limit')::int THEN
        RAISE EXCEPTION 'postern: the single-use token store is full' USING ERRCODE = '53400';
    END IF;
    INSERT INTO postern.single_use_tokens (user_id, session_id, token_hash, purpose, path,
                                           expires_at)
    VALUES (p_user_id, p_session_id, p_token_hash, p_purpose, p_path, exp);
    RETURN exp;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    postern.issue_refresh_token(uuid, bytea),
    postern.rotate_refresh_token(bytea, bytea),
    postern.issue_single_use_token(uuid, uuid, bytea, text, text, int)
TO postern_responder;

INSERT INTO postern.schema_version (version) VALUES (3);
COMMIT;
