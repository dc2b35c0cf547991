-- Postern migration 008: OIDC login. The login's state (nonce, PKCE) until the provider sends
-- the browser back, users found by (issuer, subject), linking and unlinking, back-channel
-- logout, and the id_token_hint of RP-initiated logout.
BEGIN;
SET LOCAL client_min_messages = warning;

-- A browser login keeps the PKCE verifier here; a mobile or SPA client keeps its own and only
-- its challenge is stored. link_user_id: the login links the provider account to that user.
ALTER TABLE postern.oidc_states
    ALTER COLUMN code_verifier DROP NOT NULL,
    ADD COLUMN code_challenge text,
    ADD COLUMN link_user_id uuid REFERENCES postern.users(id) ON DELETE CASCADE,
    ADD CONSTRAINT oidc_states_pkce CHECK ((code_verifier IS NULL) <> (code_challenge IS NULL));
CREATE INDEX ON postern.oidc_states (expires_at);

-- Logout tokens already acted on: a replayed one must not log the user out again later.
CREATE TABLE postern.oidc_logout_jtis (
    issuer     text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, jti)
);

-- A sign-in at the provider (password, MFA, consent) can take a while: ten minutes, not five.
UPDATE postern.settings SET value = '600' WHERE key = 'oidc_state_ttl' AND value = '300';

INSERT INTO postern.settings (key, value, type, min, max, choices, description) VALUES
    ('oidc_link_by_email', 'off', 'bool', NULL, NULL, NULL,
     'On the first OIDC login of an identity, link it to the user with the same email, if the provider says the email is verified'),
    ('oidc_pending_limit', '100000', 'int', 100, 10000000, NULL,
     'OIDC logins started but not finished that may exist at once (each is a row until it expires)');

CREATE FUNCTION postern.oidc_state_create(p_state_hash bytea, p_nonce text, p_code_verifier text,
                                          p_code_challenge text, p_return_to text,
                                          p_browser_hash bytea, p_link_user_id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE exp timestamptz := now() + postern._setting('oidc_state_ttl')::int * interval '1 second';
BEGIN
    PERFORM postern._check_token_hash(p_state_hash);
    IF (SELECT count(*) FROM postern.oidc_states WHERE expires_at > now())
       >= postern._setting('oidc_pending_limit')::bigint THEN
        RAISE EXCEPTION 'postern: too many OIDC logins in progress' USING ERRCODE = '53400',
            HINT = 'Raise the setting oidc_pending_limit, or wait for the pending ones to expire.';
    END IF;
    INSERT INTO postern.oidc_states (state_hash, nonce, code_verifier, code_challenge, return_to,
                                     browser_hash, link_user_id, expires_at)
    VALUES (p_state_hash, p_nonce, p_code_verifier, p_code_challenge, left(p_return_to, 2048),
            p_browser_hash, p_link_user_id, exp);
    RETURN floor(extract(epoch FROM exp))::bigint;  -- never past the real expiry
END
$$;

-- Takes the state out (single use: a second callback with it finds nothing), or NULL when
-- there is none or it has expired.
CREATE FUNCTION postern.oidc_state_consume(p_state_hash bytea) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE o postern.oidc_states;
BEGIN
    DELETE FROM postern.oidc_states s WHERE s.state_hash = p_state_hash RETURNING * INTO o;
    IF NOT FOUND OR o.expires_at <= now() THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('nonce', o.nonce, 'code_verifier', o.code_verifier,
        'code_challenge', o.code_challenge, 'return_to', coalesce(o.return_to, ''),
        'browser_hash', encode(o.browser_hash, 'hex'), 'link_user_id', o.link_user_id);
END
$$;

CREATE FUNCTION postern._oidc_set_role(p_user postern.users, p_role text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_user.role IS DISTINCT FROM p_role THEN
        PERFORM postern._check_role(p_role);
        UPDATE postern.users SET role = p_role, updated_at = now() WHERE id = p_user.id;
        PERFORM postern._audit('user.set_role', p_user.id, p_user.email, NULL, NULL,
            jsonb_build_object('old', p_user.role, 'new', p_role, 'by', 'oidc claim'));
    END IF;
END
$$;

-- The user an ID token signs in: by (issuer, subject); else, with oidc_link_by_email on and a
-- verified email, the user of that email (linked now); else, with oidc_auto_register on, a
-- new user without a password. p_sync_role: the role claim is configured, so the role is set
-- to p_role (NULL: oidc_default_role) on every login.
CREATE FUNCTION postern.oidc_login(p_issuer text, p_subject text, p_email text,
                                   p_email_verified boolean, p_name text, p_sync_role boolean,
                                   p_role text, p_ip inet) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u    postern.users;
    e    text;
    role text := coalesce(p_role, postern._setting('oidc_default_role'));
    how  text := 'known';
BEGIN
    IF p_issuer IS NULL OR p_subject IS NULL OR p_subject = '' OR length(p_subject) > 255 THEN
        RAISE EXCEPTION 'postern: an identity needs an issuer and a subject' USING ERRCODE = '22023';
    END IF;
    SELECT u2.* INTO u FROM postern.user_identities i JOIN postern.users u2 ON u2.id = i.user_id
     WHERE i.issuer = p_issuer AND i.subject = p_subject FOR UPDATE OF u2;
    IF NOT FOUND THEN
        IF p_email IS NULL THEN
            RAISE EXCEPTION 'postern: no account for this identity, and the provider sent no email'
                USING ERRCODE = 'P0002';
        END IF;
        e := postern._canonical_email(p_email);
        SELECT * INTO u FROM postern.users WHERE email = e FOR UPDATE;
        IF FOUND THEN
            IF postern._setting('oidc_link_by_email') <> 'on' OR NOT coalesce(p_email_verified, false) THEN
                RAISE EXCEPTION 'postern: an account with this email exists but is not linked to this identity'
                    USING ERRCODE = '23505',
                    HINT = 'Sign in with the password and link the provider, or have a DBA run postern.link_identity().';
            END IF;
            how := 'linked';
        ELSIF postern._setting('oidc_auto_register') = 'on' THEN
            PERFORM postern._check_role(role);
            INSERT INTO postern.users (email, display_name, role)
            VALUES (e, left(p_name, 200), role) RETURNING * INTO u;
            PERFORM postern._audit('user.create', u.id, u.email, NULL, p_ip,
                jsonb_build_object('by', 'oidc', 'issuer', p_issuer, 'role', role));
            how := 'created';
        ELSE
            RAISE EXCEPTION 'postern: no account for this identity' USING ERRCODE = 'P0002',
                HINT = 'Turn on the setting oidc_auto_register, or create the user first.';
        END IF;
        INSERT INTO postern.user_identities (user_id, issuer, subject, email)
        VALUES (u.id, p_issuer, p_subject, e);
        IF how = 'linked' THEN
            PERFORM postern._audit('oidc.link', u.id, u.email, NULL, p_ip,
                jsonb_build_object('issuer', p_issuer, 'subject', p_subject, 'by', 'email'));
        END IF;
    ELSE
        UPDATE postern.user_identities SET email = left(p_email, 254)
         WHERE issuer = p_issuer AND subject = p_subject AND email IS DISTINCT FROM left(p_email, 254);
    END IF;
    PERFORM postern._check_enabled(u);
    IF coalesce(p_sync_role, false) THEN
        PERFORM postern._oidc_set_role(u, role);
    END IF;
    RETURN jsonb_build_object('user_id', u.id, 'how', how);
END
$$;

CREATE FUNCTION postern._oidc_link(p_user postern.users, p_issuer text, p_subject text,
                                   p_email text, p_by text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE other uuid;
BEGIN
    IF p_issuer IS NULL OR p_subject IS NULL OR p_subject = '' OR length(p_subject) > 255 THEN
        RAISE EXCEPTION 'postern: an identity needs an issuer and a subject' USING ERRCODE = '22023';
    END IF;
    SELECT user_id INTO other FROM postern.user_identities WHERE issuer = p_issuer AND subject = p_subject;
    IF other = p_user.id THEN
        RETURN;
    ELSIF other IS NOT NULL THEN
        RAISE EXCEPTION 'postern: this provider account is linked to another user' USING ERRCODE = '23505';
    ELSIF EXISTS (SELECT 1 FROM postern.user_identities WHERE user_id = p_user.id AND issuer = p_issuer) THEN
        RAISE EXCEPTION 'postern: the user is already linked to another account of this provider'
            USING ERRCODE = '23505', HINT = 'Unlink it first.';
    END IF;
    INSERT INTO postern.user_identities (user_id, issuer, subject, email)
    VALUES (p_user.id, p_issuer, p_subject, left(p_email, 254));
    PERFORM postern._audit('oidc.link', p_user.id, p_user.email, NULL, NULL,
        jsonb_build_object('issuer', p_issuer, 'subject', p_subject, 'by', p_by));
END
$$;

-- A signed-in user links the provider account they just signed in with.
CREATE FUNCTION postern.oidc_link(p_user_id uuid, p_issuer text, p_subject text, p_email text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users := postern._user_by_id(p_user_id, true);
BEGIN
    PERFORM postern._check_enabled(u);
    PERFORM postern._oidc_link(u, p_issuer, p_subject, p_email, 'user');
END
$$;

-- Removes the user's identity at p_issuer. A user may not remove their last way to sign in
-- (no password, no other identity); an administrator (p_by_admin) may.
CREATE FUNCTION postern.oidc_unlink(p_user_id uuid, p_issuer text, p_by_admin boolean)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u   postern.users := postern._user_by_id(p_user_id, true);
    sub text;
BEGIN
    IF NOT coalesce(p_by_admin, false) AND u.password_hash IS NULL
       AND NOT EXISTS (SELECT 1 FROM postern.user_identities WHERE user_id = u.id AND issuer <> p_issuer) THEN
        RAISE EXCEPTION 'postern: this is the only way to sign in to the account' USING ERRCODE = '55000',
            HINT = 'Set a password first.';
    END IF;
    DELETE FROM postern.user_identities WHERE user_id = u.id AND issuer = p_issuer RETURNING subject INTO sub;
    IF sub IS NULL THEN
        RETURN false;
    END IF;
    PERFORM postern._audit('oidc.unlink', u.id, u.email, NULL, NULL,
        jsonb_build_object('issuer', p_issuer, 'subject', sub,
                           'by', CASE WHEN p_by_admin THEN 'admin' ELSE 'user' END));
    RETURN true;
END
$$;

CREATE FUNCTION postern.user_identities_json(p_user_id uuid) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('issuer', i.issuer, 'subject', i.subject,
                                                 'email', i.email, 'created_at', i.created_at)
                              ORDER BY i.created_at), '[]'::jsonb)
      FROM postern.user_identities i WHERE i.user_id = p_user_id
$$;

-- Back-channel logout: revokes the sessions of that provider session (sid), or with only a
-- subject all the user's sessions from that provider. A jti is acted on once.
CREATE FUNCTION postern.oidc_backchannel_logout(p_issuer text, p_subject text, p_sid text,
                                                p_jti text, p_expires_at timestamptz) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    uid uuid;
    n   int := 0;
    r   record;
BEGIN
    IF p_jti IS NULL OR (p_subject IS NULL AND p_sid IS NULL) THEN
        RAISE EXCEPTION 'postern: a logout token needs a jti and a sub or sid' USING ERRCODE = '22023';
    END IF;
    DELETE FROM postern.oidc_logout_jtis WHERE expires_at < now();
    INSERT INTO postern.oidc_logout_jtis (issuer, jti, expires_at)
    VALUES (p_issuer, left(p_jti, 256), p_expires_at) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: this logout token was already used' USING ERRCODE = '23505';
    END IF;
    IF p_subject IS NOT NULL THEN
        SELECT user_id INTO uid FROM postern.user_identities
         WHERE issuer = p_issuer AND subject = p_subject;
        IF uid IS NULL THEN
            RETURN 0;
        END IF;
    END IF;
    FOR r IN
        UPDATE postern.sessions s SET revoked_at = now(), revoked_reason = 'oidc back-channel logout'
         WHERE s.revoked_at IS NULL AND s.oidc_issuer = p_issuer
           AND (p_sid IS NULL OR s.oidc_sid = p_sid)
           AND (uid IS NULL OR s.user_id = uid)
        RETURNING s.id, s.user_id
    LOOP
        n := n + 1;
        PERFORM postern._audit('session.revoke', r.user_id,
            (SELECT email FROM postern.users WHERE id = r.user_id), r.id, NULL,
            jsonb_build_object('reason', 'oidc back-channel logout', 'changed', true));
    END LOOP;
    RETURN n;
END
$$;

-- The ID token of a live OIDC session, for the provider's logout (id_token_hint); NULL if the
-- session is not one.
CREATE FUNCTION postern.session_id_token(p_token_hash bytea) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.oidc_id_token FROM postern.sessions s
      JOIN postern._live_sessions l ON l.session_id = s.id
     WHERE l.token_hash = p_token_hash
$$;

-- DBA functions: link a user to a provider account ahead of their first login, and unlink.
CREATE FUNCTION postern.link_identity(p_email text, p_issuer text, p_subject text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM postern._oidc_link(postern._user_by_email(p_email), p_issuer, p_subject, NULL,
                               session_user::text);
END
$$;

CREATE FUNCTION postern.unlink_identity(p_email text, p_issuer text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT postern.oidc_unlink((postern._user_by_email(p_email)).id, p_issuer, true)
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
REVOKE ALL ON postern.oidc_logout_jtis FROM PUBLIC;
GRANT SELECT ON postern.oidc_logout_jtis TO postern_admin;
GRANT EXECUTE ON FUNCTION
    postern.oidc_state_create(bytea, text, text, text, text, bytea, uuid),
    postern.oidc_state_consume(bytea),
    postern.oidc_login(text, text, text, boolean, text, boolean, text, inet),
    postern.oidc_link(uuid, text, text, text),
    postern.oidc_unlink(uuid, text, boolean),
    postern.user_identities_json(uuid),
    postern.oidc_backchannel_logout(text, text, text, text, timestamptz),
    postern.session_id_token(bytea)
TO postern_responder;
GRANT EXECUTE ON FUNCTION postern.link_identity(text, text, text),
                          postern.unlink_identity(text, text) TO postern_admin;

INSERT INTO postern.schema_version (version) VALUES (8);
COMMIT;
