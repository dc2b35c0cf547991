-- Postern migration 010: the credential lookups (auth_session, auth_session_id, auth_api_key,
-- auth_shared_link, consume_token) in plpgsql. As LANGUAGE sql functions with SET
-- search_path, PostgreSQL could neither inline them nor keep their plans: each call was parsed
-- and planned again (481 µs against 134 µs per lookup on 1,000,000 sessions, `make bench`).
-- plpgsql keeps the plan of RETURN QUERY per connection. Same signatures, same results.
BEGIN;
SET LOCAL client_min_messages = warning;

CREATE OR REPLACE FUNCTION postern.auth_session(p_token_hash bytea)
RETURNS TABLE (session_id uuid, user_id uuid, email text, display_name text, role text,
               permissions text[], user_mfa boolean, session_mfa boolean,
               must_change_password boolean, expires_at timestamptz, elevated_until timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT l.session_id, l.user_id, l.email, l.display_name, l.role, l.permissions, l.user_mfa,
           l.session_mfa, l.must_change_password, l.expires_at, l.elevated_until
      FROM postern._live_sessions l
     WHERE l.token_hash = p_token_hash;
END
$$;

CREATE OR REPLACE FUNCTION postern.auth_session_id(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, email text, display_name text, role text,
               permissions text[], user_mfa boolean, session_mfa boolean,
               must_change_password boolean, expires_at timestamptz, elevated_until timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT l.session_id, l.user_id, l.email, l.display_name, l.role, l.permissions, l.user_mfa,
           l.session_mfa, l.must_change_password, l.expires_at, l.elevated_until
      FROM postern._live_sessions l
     WHERE l.session_id = p_session_id;
END
$$;

CREATE OR REPLACE FUNCTION postern.auth_api_key(p_token_hash bytea)
RETURNS TABLE (key_id uuid, user_id uuid, email text, role text, permissions text[],
               user_mfa boolean, expires_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT k.id, u.id, u.email, u.role,
           CASE WHEN 'all' = ANY (k.permissions) THEN r.perms
                WHEN 'all' = ANY (r.perms) THEN k.permissions
                ELSE ARRAY(SELECT p FROM unnest(k.permissions) p WHERE p = ANY (r.perms) ORDER BY 1)
           END,
           coalesce(t.enabled, false), k.expires_at
      FROM postern.api_keys k
      JOIN postern.users u ON u.id = k.user_id
      LEFT JOIN postern.mfa_totp t ON t.user_id = u.id
     CROSS JOIN LATERAL (
           SELECT ARRAY(SELECT rp.permission FROM postern.role_permissions rp
                         WHERE rp.role = u.role ORDER BY 1) AS perms) r
     WHERE k.token_hash = p_token_hash
       AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > now())
       AND NOT u.disabled;
END
$$;

CREATE OR REPLACE FUNCTION postern.auth_shared_link(p_token_hash bytea)
RETURNS TABLE (link_id uuid, user_id uuid, email text, path_prefix text, permissions text[],
               has_password boolean, expires_at timestamptz, password_version text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT l.id, u.id, u.email, l.path_prefix,
           CASE WHEN 'all' = ANY (l.permissions) THEN r.perms
                WHEN 'all' = ANY (r.perms) THEN l.permissions
                ELSE ARRAY(SELECT p FROM unnest(l.permissions) p WHERE p = ANY (r.perms) ORDER BY 1)
           END,
           l.password_hash IS NOT NULL, l.expires_at, postern._password_version(l.password_hash)
      FROM postern.shared_links l
      JOIN postern.users u ON u.id = l.user_id
     CROSS JOIN LATERAL (
           SELECT ARRAY(SELECT rp.permission FROM postern.role_permissions rp
                         WHERE rp.role = u.role ORDER BY 1) AS perms) r
     WHERE l.token_hash = p_token_hash
       AND l.revoked_at IS NULL
       AND (l.expires_at IS NULL OR l.expires_at > now())
       AND NOT u.disabled;
END
$$;

CREATE OR REPLACE FUNCTION postern.consume_token(p_token_hash bytea, p_purpose text, p_path text)
RETURNS TABLE (token_id uuid, user_id uuid, email text, role text, permissions text[],
               session_id uuid, user_mfa boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH c AS (
        UPDATE postern.single_use_tokens t SET used_at = now()
         WHERE t.token_hash = p_token_hash AND t.used_at IS NULL AND t.expires_at > now()
        RETURNING t.id, t.user_id, t.session_id, t.purpose, t.path
    )
    SELECT c.id, u.id, u.email, u.role,
           ARRAY(SELECT rp.permission FROM postern.role_permissions rp WHERE rp.role = u.role ORDER BY 1),
           c.session_id, coalesce(m.enabled, false)
      FROM c
      JOIN postern.users u ON u.id = c.user_id
      LEFT JOIN postern.mfa_totp m ON m.user_id = u.id
      LEFT JOIN postern.sessions s ON s.id = c.session_id
     WHERE c.purpose = p_purpose
       AND (c.path IS NULL OR c.path = p_path)
       AND NOT u.disabled
       AND (c.session_id IS NULL OR (s.revoked_at IS NULL AND s.expires_at > now()));
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
-- CREATE OR REPLACE keeps the grants of migrations 001 and 003

INSERT INTO postern.schema_version (version) VALUES (10);
COMMIT;
