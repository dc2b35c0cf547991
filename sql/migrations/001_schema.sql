-- Postern migration 001: the whole schema, the DBA API and the authorizer's lookup functions.
-- Applied by sql/install.sql in one transaction; records version 1 on success.
BEGIN;
SET LOCAL client_min_messages = warning;

------------------------------------------------------------------------------------------------
-- pgcrypto (bcrypt, random bytes).  It may already be installed in any schema; if not, it is
-- created in schema public (or in a new schema postern_pgcrypto if public does not exist).
-- The wrappers below call it qualified with the schema it really lives in.
------------------------------------------------------------------------------------------------
DO $do$
DECLARE s text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto') THEN
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'public') THEN
            CREATE EXTENSION pgcrypto SCHEMA public;
        ELSE
            CREATE SCHEMA IF NOT EXISTS postern_pgcrypto;
            CREATE EXTENSION pgcrypto SCHEMA postern_pgcrypto;
        END IF;
    END IF;
    SELECT n.nspname INTO STRICT s
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgcrypto';

    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION postern._crypt(p_password text, p_salt text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $b$ SELECT %I.crypt(p_password, p_salt) $b$ $f$, s);
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION postern._gen_salt(p_cost int) RETURNS text
        LANGUAGE sql VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $b$ SELECT %I.gen_salt('bf', p_cost) $b$ $f$, s);
    EXECUTE pg_catalog.format($f$
        CREATE FUNCTION postern._random_bytes(p_n int) RETURNS bytea
        LANGUAGE sql VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $b$ SELECT %I.gen_random_bytes(p_n) $b$ $f$, s);
END
$do$;

------------------------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------------------------
CREATE TABLE postern.roles (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,62}$'),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE postern.role_permissions (
    role       text NOT NULL REFERENCES postern.roles(name) ON UPDATE CASCADE ON DELETE CASCADE,
    permission text NOT NULL
        CHECK (permission ~ '^(all|[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+)$'),
    PRIMARY KEY (role, permission)
);

CREATE TABLE postern.users (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                text NOT NULL UNIQUE
        CHECK (email = lower(email) AND email = btrim(email) AND length(email) <= 254
               AND email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'),
    display_name         text,
    password_hash        text CHECK (password_hash ~ '^\$2[ab]\$'),
    role                 text NOT NULL DEFAULT 'user' REFERENCES postern.roles(name) ON UPDATE CASCADE,
    disabled             boolean NOT NULL DEFAULT false,
    must_change_password boolean NOT NULL DEFAULT false,
    pin_hash             text CHECK (pin_hash ~ '^\$2[ab]\$'),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    password_changed_at  timestamptz
);

CREATE TABLE postern.user_identities (
    user_id    uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    issuer     text NOT NULL,
    subject    text NOT NULL,
    email      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX ON postern.user_identities (user_id);

CREATE TABLE postern.mfa_totp (
    user_id    uuid PRIMARY KEY REFERENCES postern.users(id) ON DELETE CASCADE,
    secret_enc bytea NOT NULL,
    enabled    boolean NOT NULL DEFAULT false,
    last_step  bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE postern.mfa_backup_codes (
    user_id   uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE postern.mfa_challenges (
    token_hash bytea PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id    uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    attempts   int NOT NULL DEFAULT 0
);

CREATE TABLE postern.sessions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash     bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    user_id        uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text,
    auth_method    text NOT NULL DEFAULT 'password' CHECK (auth_method ~ '^[a-z][a-z0-9_]*$'),
    mfa            boolean NOT NULL DEFAULT false,
    elevated_until timestamptz,
    user_agent     text,
    ip             inet,
    device         text,
    oidc_issuer    text,
    oidc_sid       text,
    oidc_id_token  text
);
CREATE INDEX ON postern.sessions (user_id);
CREATE INDEX ON postern.sessions (oidc_issuer, oidc_sid) WHERE oidc_sid IS NOT NULL;

CREATE TABLE postern.api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    prefix       text NOT NULL,
    permissions  text[] NOT NULL CHECK (cardinality(permissions) > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX ON postern.api_keys (user_id);

CREATE TABLE postern.shared_links (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    prefix        text NOT NULL,
    path_prefix   text NOT NULL CHECK (left(path_prefix, 1) = '/'),
    permissions   text[] NOT NULL CHECK (cardinality(permissions) > 0),
    password_hash text CHECK (password_hash ~ '^\$2[ab]\$'),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    description   text
);
CREATE INDEX ON postern.shared_links (user_id);

CREATE TABLE postern.refresh_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid NOT NULL REFERENCES postern.sessions(id) ON DELETE CASCADE,
    family_id  uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);
CREATE INDEX ON postern.refresh_tokens (session_id);
CREATE INDEX ON postern.refresh_tokens (family_id);

-- UNLOGGED: these live 30-60 s; losing them in a crash is harmless and saves WAL.
CREATE UNLOGGED TABLE postern.single_use_tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES postern.users(id) ON DELETE CASCADE,
    session_id uuid REFERENCES postern.sessions(id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    purpose    text NOT NULL CHECK (purpose ~ '^[a-z][a-z0-9_-]{0,62}$'),
    path       text CHECK (left(path, 1) = '/'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX ON postern.single_use_tokens (user_id);

CREATE TABLE postern.login_attempts (
    email        text PRIMARY KEY CHECK (email = lower(email)),
    failures     int NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);

CREATE TABLE postern.ip_attempts (
    ip           inet PRIMARY KEY,
    failures     int NOT NULL DEFAULT 0,
    window_start timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE postern.oidc_states (
    state_hash    bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    nonce         text NOT NULL,
    code_verifier text NOT NULL,
    return_to     text,
    browser_hash  bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);

CREATE TABLE postern.rules (
    id                 bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    priority           int NOT NULL DEFAULT 1000,
    host               text,
    methods            text[],
    path_pattern       text NOT NULL,
    access             text NOT NULL
        CHECK (access IN ('public', 'authenticated', 'permission', 'admin', 'deny')),
    permission         text
        CHECK (permission ~ '^(all|[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+)$'),
    allow_api_keys     boolean NOT NULL DEFAULT true,
    allow_shared_links boolean NOT NULL DEFAULT false,
    token_purpose      text CHECK (token_purpose ~ '^[a-z][a-z0-9_-]{0,62}$'),
    require_csrf_token boolean NOT NULL DEFAULT false,
    require_elevation  boolean NOT NULL DEFAULT false,
    policy_function    text,
    enabled            boolean NOT NULL DEFAULT true,
    description        text,
    CHECK ((access = 'permission') = (permission IS NOT NULL))
);

CREATE TABLE postern.settings (
    key         text PRIMARY KEY,
    value       text NOT NULL,
    type        text NOT NULL CHECK (type IN ('bool', 'int', 'text')),
    min         bigint,
    max         bigint,
    choices     text[],
    description text NOT NULL DEFAULT ''
);

CREATE TABLE postern.audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    event      text NOT NULL,
    actor      text NOT NULL DEFAULT session_user,
    user_id    uuid,
    email      text,
    session_id uuid,
    ip         inet,
    detail     jsonb
);
CREATE INDEX ON postern.audit_log (at);
CREATE INDEX ON postern.audit_log (user_id);

CREATE TABLE postern.common_passwords (
    password text PRIMARY KEY CHECK (password = lower(password))
);

------------------------------------------------------------------------------------------------
-- Internal helpers (no EXECUTE for anyone but the owner)
------------------------------------------------------------------------------------------------
CREATE FUNCTION postern._new_token(p_prefix text) RETURNS text
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT p_prefix || translate(encode(postern._random_bytes(32), 'base64'), E'+/=\n', '-_')
$$;

CREATE FUNCTION postern._hash_token(p_token text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT sha256(convert_to(p_token, 'UTF8'))
$$;

CREATE FUNCTION postern._setting(p_key text) RETURNS text
LANGUAGE sql STABLE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT value FROM postern.settings WHERE key = p_key
$$;

CREATE FUNCTION postern._audit(p_event text, p_user_id uuid, p_email text, p_session_id uuid,
                               p_ip inet, p_detail jsonb) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO postern.audit_log (event, user_id, email, session_id, ip, detail)
    VALUES (p_event, p_user_id, p_email, p_session_id, p_ip, p_detail)
$$;

-- Canonical (lower-case, trimmed) and validated email.
CREATE FUNCTION postern._canonical_email(p_email text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE e text := lower(btrim(p_email));
BEGIN
    IF e IS NULL OR e = '' THEN
        RAISE EXCEPTION 'postern: email is required' USING ERRCODE = '22023';
    END IF;
    IF length(e) > 254 OR e !~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$' THEN
        RAISE EXCEPTION 'postern: malformed email "%"', p_email USING ERRCODE = '22023',
            HINT = 'An email looks like name@example.org (one "@", no spaces).';
    END IF;
    RETURN e;
END
$$;

-- The user row for an email, or P0002.
CREATE FUNCTION postern._user_by_email(p_email text) RETURNS postern.users
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users;
BEGIN
    SELECT * INTO u FROM postern.users WHERE email = postern._canonical_email(p_email);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown user "%"', p_email USING ERRCODE = 'P0002';
    END IF;
    RETURN u;
END
$$;

CREATE FUNCTION postern._check_role(p_role text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_role IS NULL OR NOT EXISTS (SELECT 1 FROM postern.roles WHERE name = p_role) THEN
        RAISE EXCEPTION 'postern: unknown role "%"', p_role USING ERRCODE = 'P0002',
            HINT = 'See SELECT name FROM postern.roles; create one with postern.create_role().';
    END IF;
END
$$;

CREATE FUNCTION postern._check_permission(p_permission text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_permission IS NULL OR p_permission !~ '^(all|[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+)$' THEN
        RAISE EXCEPTION 'postern: malformed permission "%"', p_permission USING ERRCODE = '22023',
            HINT = 'A permission is "all" or lower-case resource.action, e.g. album.read.';
    END IF;
END
$$;

-- Validated, de-duplicated, sorted permission list ({all} if it contains all).
CREATE FUNCTION postern._check_permissions(p_permissions text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE p text;
BEGIN
    IF p_permissions IS NULL OR cardinality(p_permissions) = 0 THEN
        RAISE EXCEPTION 'postern: permission list is empty' USING ERRCODE = '22023',
            HINT = 'Give at least one permission, e.g. ARRAY[''album.read''].';
    END IF;
    FOREACH p IN ARRAY p_permissions LOOP
        PERFORM postern._check_permission(p);
    END LOOP;
    IF 'all' = ANY (p_permissions) THEN
        RETURN ARRAY['all'];
    END IF;
    RETURN ARRAY(SELECT DISTINCT x FROM unnest(p_permissions) x ORDER BY x);
END
$$;

-- Privilege ceiling: every permission must be held by the role (role permission all = any).
CREATE FUNCTION postern._check_ceiling(p_role text, p_permissions text[], p_email text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE p text;
BEGIN
    IF EXISTS (SELECT 1 FROM postern.role_permissions WHERE role = p_role AND permission = 'all') THEN
        RETURN;
    END IF;
    FOREACH p IN ARRAY p_permissions LOOP
        IF NOT EXISTS (SELECT 1 FROM postern.role_permissions WHERE role = p_role AND permission = p) THEN
            RAISE EXCEPTION 'postern: permission "%" exceeds what user "%" (role "%") has', p, p_email, p_role
                USING ERRCODE = '42501',
                HINT = 'A key or link can never have more than its owner''s role; grant it with postern.grant_permission() first.';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION postern._check_expiry(p_expires_at timestamptz) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_expires_at IS NOT NULL AND p_expires_at <= now() THEN
        RAISE EXCEPTION 'postern: expiry % is in the past', p_expires_at USING ERRCODE = '22023';
    END IF;
END
$$;

-- Password policy: 12..72 bytes, not the email (or its local part), not a common password.
CREATE FUNCTION postern._check_password(p_password text, p_email text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_password IS NULL THEN
        RAISE EXCEPTION 'postern: password is required' USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_password) < 12 THEN
        RAISE EXCEPTION 'postern: password too short (minimum 12 bytes)' USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_password) > 72 THEN
        RAISE EXCEPTION 'postern: password too long (maximum 72 bytes)' USING ERRCODE = '22023',
            HINT = 'bcrypt reads only 72 bytes; longer passwords are refused, never truncated.';
    END IF;
    IF p_email IS NOT NULL AND (lower(p_password) = lower(p_email)
                                OR lower(p_password) = lower(split_part(p_email, '@', 1))) THEN
        RAISE EXCEPTION 'postern: password must not be the email address' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT 1 FROM postern.common_passwords WHERE password = lower(p_password)) THEN
        RAISE EXCEPTION 'postern: password is too common' USING ERRCODE = '22023',
            HINT = 'Choose a longer passphrase that is not on common password lists.';
    END IF;
END
$$;

CREATE FUNCTION postern._hash_password(p_password text) RETURNS text
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT postern._crypt(p_password,
        postern._gen_salt(greatest(12, least(15, coalesce(postern._setting('bcrypt_cost')::int, 12)))))
$$;

-- Shared-link path prefix: like a rule path, but no wildcards; trailing '/' is removed.
CREATE FUNCTION postern._check_path_prefix(p_path text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE p text := p_path;
BEGIN
    IF p IS NULL OR left(p, 1) <> '/' OR length(p) > 1024
       OR p ~ '[%?#*\\[:space:][:cntrl:]]' OR position('//' IN p) > 0
       OR p ~ '(^|/)\.\.?(/|$)' THEN
        RAISE EXCEPTION 'postern: bad path prefix "%"', p_path USING ERRCODE = '22023',
            HINT = 'A path prefix starts with "/" and has no "//", "." or ".." segments, "%", "?", "#", "*", backslash or spaces.';
    END IF;
    IF length(p) > 1 THEN
        p := rtrim(p, '/');
    END IF;
    RETURN p;
END
$$;

------------------------------------------------------------------------------------------------
-- Validation triggers
------------------------------------------------------------------------------------------------
CREATE FUNCTION postern._rules_validate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p text := NEW.path_pattern;
    segs text[];
    i int;
    m text;
    fn regprocedure;
BEGIN
    IF p IS NULL OR left(p, 1) <> '/' THEN
        RAISE EXCEPTION 'postern: rule path_pattern "%" must start with "/"', p USING ERRCODE = '22023';
    END IF;
    IF length(p) > 1024 THEN
        RAISE EXCEPTION 'postern: rule path_pattern is too long' USING ERRCODE = '22023';
    END IF;
    IF p ~ '[%?#\\[:space:][:cntrl:]]' THEN
        RAISE EXCEPTION 'postern: rule path_pattern "%" must not contain "%%", "?", "#", backslash, spaces or control characters', p
            USING ERRCODE = '22023';
    END IF;
    IF position('//' IN p) > 0 THEN
        RAISE EXCEPTION 'postern: rule path_pattern "%" must not contain "//"', p USING ERRCODE = '22023';
    END IF;
    IF p <> '/' THEN
        segs := string_to_array(substr(p, 2), '/');
        FOR i IN 1 .. cardinality(segs) LOOP
            IF segs[i] IN ('.', '..') THEN
                RAISE EXCEPTION 'postern: rule path_pattern "%" must not contain "." or ".." segments', p
                    USING ERRCODE = '22023';
            END IF;
            IF segs[i] = '**' AND i < cardinality(segs) THEN
                RAISE EXCEPTION 'postern: rule path_pattern "%": "**" is allowed only as the last segment', p
                    USING ERRCODE = '22023';
            END IF;
            IF position('*' IN segs[i]) > 0 AND segs[i] NOT IN ('*', '**') THEN
                RAISE EXCEPTION 'postern: rule path_pattern "%": "*" and "**" must be whole segments', p
                    USING ERRCODE = '22023';
            END IF;
        END LOOP;
    END IF;

    IF NEW.methods IS NOT NULL THEN
        IF cardinality(NEW.methods) = 0 THEN
            RAISE EXCEPTION 'postern: rule methods must be NULL (any method) or a non-empty list'
                USING ERRCODE = '22023';
        END IF;
        FOREACH m IN ARRAY NEW.methods LOOP
            IF m IS NULL OR m !~ '^[A-Za-z]{1,20}$' THEN
                RAISE EXCEPTION 'postern: rule method "%" is not an HTTP method', m USING ERRCODE = '22023';
            END IF;
        END LOOP;
        NEW.methods := ARRAY(SELECT DISTINCT upper(x) FROM unnest(NEW.methods) x ORDER BY 1);
    END IF;

    IF NEW.host IS NOT NULL THEN
        NEW.host := lower(NEW.host);
        IF NEW.host !~ '^[a-z0-9]([a-z0-9.-]{0,252})(:[0-9]{1,5})?$' THEN
            RAISE EXCEPTION 'postern: rule host "%" is not a host name', NEW.host USING ERRCODE = '22023',
                HINT = 'NULL means any host; else a host name, optionally with :port.';
        END IF;
    END IF;

    IF NEW.access = 'permission' AND NEW.permission IS NULL THEN
        RAISE EXCEPTION 'postern: a rule with access "permission" needs a permission' USING ERRCODE = '22023';
    END IF;
    IF NEW.access <> 'permission' AND NEW.permission IS NOT NULL THEN
        RAISE EXCEPTION 'postern: only a rule with access "permission" may name a permission' USING ERRCODE = '22023';
    END IF;
    IF NEW.permission IS NOT NULL THEN
        PERFORM postern._check_permission(NEW.permission);
    END IF;

    IF NEW.policy_function IS NOT NULL THEN
        IF NEW.policy_function !~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$' THEN
            RAISE EXCEPTION 'postern: rule policy_function "%" must be a schema-qualified lower-case name', NEW.policy_function
                USING ERRCODE = '22023';
        END IF;
        fn := to_regprocedure(NEW.policy_function || '(jsonb,text,text,text)');
        IF fn IS NULL OR (SELECT prorettype FROM pg_catalog.pg_proc WHERE oid = fn) <> 'boolean'::regtype THEN
            RAISE EXCEPTION 'postern: rule policy_function %(jsonb, text, text, text) returning boolean does not exist', NEW.policy_function
                USING ERRCODE = '22023',
                HINT = 'Signature: (identity jsonb, method text, host text, path text) RETURNS boolean.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER rules_validate BEFORE INSERT OR UPDATE ON postern.rules
    FOR EACH ROW EXECUTE FUNCTION postern._rules_validate();

CREATE FUNCTION postern._settings_validate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n numeric;
BEGIN
    IF NEW.value IS NULL THEN
        RAISE EXCEPTION 'postern: setting "%" needs a value', NEW.key USING ERRCODE = '22023';
    END IF;
    IF NEW.type = 'bool' AND NEW.value NOT IN ('on', 'off') THEN
        RAISE EXCEPTION 'postern: setting "%" is a bool: use ''on'' or ''off'', not "%"', NEW.key, NEW.value
            USING ERRCODE = '22023';
    ELSIF NEW.type = 'int' THEN
        IF NEW.value !~ '^-?[0-9]{1,18}$' THEN
            RAISE EXCEPTION 'postern: setting "%" is an integer, not "%"', NEW.key, NEW.value USING ERRCODE = '22023';
        END IF;
        n := NEW.value::numeric;
        IF (NEW.min IS NOT NULL AND n < NEW.min) OR (NEW.max IS NOT NULL AND n > NEW.max) THEN
            RAISE EXCEPTION 'postern: setting "%" must be between % and %, not %', NEW.key,
                coalesce(NEW.min::text, '-inf'), coalesce(NEW.max::text, 'inf'), NEW.value USING ERRCODE = '22023';
        END IF;
        NEW.value := n::bigint::text;
    ELSIF NEW.type = 'text' AND NEW.choices IS NOT NULL AND NOT NEW.value = ANY (NEW.choices) THEN
        RAISE EXCEPTION 'postern: setting "%" must be one of %, not "%"', NEW.key,
            array_to_string(NEW.choices, ', '), NEW.value USING ERRCODE = '22023';
    END IF;
    IF NEW.key IN ('password_login', 'oidc_login') AND NEW.value = 'off' AND EXISTS (
        SELECT 1 FROM postern.settings s
         WHERE s.key IN ('password_login', 'oidc_login') AND s.key <> NEW.key AND s.value = 'off') THEN
        RAISE EXCEPTION 'postern: refusing to turn off both password_login and oidc_login' USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER settings_validate BEFORE INSERT OR UPDATE ON postern.settings
    FOR EACH ROW EXECUTE FUNCTION postern._settings_validate();

CREATE FUNCTION postern._touch_updated_at() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER users_updated_at BEFORE UPDATE ON postern.users
    FOR EACH ROW EXECUTE FUNCTION postern._touch_updated_at();

------------------------------------------------------------------------------------------------
-- NOTIFY triggers: channel 'postern'; payloads session:<id>, user:<id>, api_key:<id>,
-- shared_link:<id>, role:<name>, rules, settings.
------------------------------------------------------------------------------------------------
CREATE FUNCTION postern._notify_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- TG_ARGV[0]: payload kind; TG_ARGV[1]: id column; TG_ARGV[2..]: columns whose changes
-- alone do not affect a decision (e.g. last_seen_at).
DECLARE
    kind text := TG_ARGV[0];
    col  text := TG_ARGV[1];
    ign  text[] := TG_ARGV[2:];
    o jsonb;
    n jsonb;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN o := to_jsonb(OLD); END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN n := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND (o - ign) = (n - ign) THEN
        RETURN NULL;
    END IF;
    IF o IS NOT NULL THEN
        PERFORM pg_notify('postern', kind || ':' || (o ->> col));
    END IF;
    IF n IS NOT NULL AND (o IS NULL OR (n ->> col) IS DISTINCT FROM (o ->> col)) THEN
        PERFORM pg_notify('postern', kind || ':' || (n ->> col));
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION postern._notify_stmt() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_notify('postern', TG_ARGV[0]);
    RETURN NULL;
END
$$;

-- New sessions/keys/links are not cached anywhere yet, so INSERTs do not notify.
CREATE TRIGGER sessions_notify AFTER UPDATE OR DELETE ON postern.sessions
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('session', 'id', 'last_seen_at');
CREATE TRIGGER users_notify AFTER UPDATE OR DELETE ON postern.users
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('user', 'id', 'updated_at');
CREATE TRIGGER mfa_totp_notify AFTER INSERT OR UPDATE OR DELETE ON postern.mfa_totp
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('user', 'user_id', 'last_step');
CREATE TRIGGER api_keys_notify AFTER UPDATE OR DELETE ON postern.api_keys
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('api_key', 'id', 'last_used_at');
CREATE TRIGGER shared_links_notify AFTER UPDATE OR DELETE ON postern.shared_links
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('shared_link', 'id');
CREATE TRIGGER role_permissions_notify AFTER INSERT OR UPDATE OR DELETE ON postern.role_permissions
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('role', 'role');
CREATE TRIGGER roles_notify AFTER UPDATE OR DELETE ON postern.roles
    FOR EACH ROW EXECUTE FUNCTION postern._notify_row('role', 'name', 'description');
CREATE TRIGGER rules_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON postern.rules
    FOR EACH STATEMENT EXECUTE FUNCTION postern._notify_stmt('rules');
CREATE TRIGGER settings_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON postern.settings
    FOR EACH STATEMENT EXECUTE FUNCTION postern._notify_stmt('settings');

-- Rule changes are DBA actions made with plain SQL: audit each row.
CREATE FUNCTION postern._rules_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM postern._audit('rule.' || lower(TG_OP), NULL, NULL, NULL, NULL,
        jsonb_build_object('old', CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
                           'new', CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END));
    RETURN NULL;
END
$$;

CREATE TRIGGER rules_audit AFTER INSERT OR UPDATE OR DELETE ON postern.rules
    FOR EACH ROW EXECUTE FUNCTION postern._rules_audit();

------------------------------------------------------------------------------------------------
-- Seed data
------------------------------------------------------------------------------------------------
INSERT INTO postern.roles (name, description) VALUES
    ('admin', 'Administrators: permission all'),
    ('user',  'Ordinary users: authenticated access; grant permissions as needed');
INSERT INTO postern.role_permissions (role, permission) VALUES ('admin', 'all');

INSERT INTO postern.settings (key, value, type, min, max, choices, description) VALUES
    ('require_mfa',            'off',     'bool', NULL, NULL, NULL, 'Users without TOTP get 403 MFA_REQUIRED except on public rules and MFA setup'),
    ('password_login',         'on',      'bool', NULL, NULL, NULL, 'Allow password login (cannot be off together with oidc_login)'),
    ('oidc_login',             'on',      'bool', NULL, NULL, NULL, 'Allow OIDC login (cannot be off together with password_login)'),
    ('oidc_auto_register',     'off',     'bool', NULL, NULL, NULL, 'Create a user on first OIDC login'),
    ('oidc_default_role',      'user',    'text', NULL, NULL, NULL, 'Role of users created by OIDC auto-registration'),
    ('session_idle_timeout',   '604800',  'int',  60, 31536000, NULL, 'Seconds without activity after which a session expires'),
    ('session_lifetime',       '2592000', 'int',  300, 31536000, NULL, 'Absolute session lifetime in seconds (sets sessions.expires_at at login)'),
    ('session_limit',          '5',       'int',  0, 1000, NULL, 'Live sessions per user; the oldest is revoked on login (0 = unlimited)'),
    ('lockout_threshold',      '10',      'int',  1, 1000, NULL, 'Failed logins within lockout_window that lock the account'),
    ('lockout_window',         '900',     'int',  60, 86400, NULL, 'Seconds of the failed-login window'),
    ('lockout_duration',       '900',     'int',  60, 86400, NULL, 'Seconds an account stays locked'),
    ('ip_throttle_threshold',  '100',     'int',  1, 1000000, NULL, 'Failed attempts per client IP within ip_throttle_window before 429'),
    ('ip_throttle_window',     '900',     'int',  60, 86400, NULL, 'Seconds of the per-IP window'),
    ('access_token_ttl',       '900',     'int',  60, 86400, NULL, 'Lifetime of access JWTs in seconds'),
    ('refresh_token_ttl',      '2592000', 'int',  300, 31536000, NULL, 'Lifetime of refresh tokens in seconds'),
    ('maintenance',            'off',     'bool', NULL, NULL, NULL, 'Maintenance mode: everything but public rules gets 503'),
    ('bcrypt_cost',            '12',      'int',  12, 15, NULL, 'bcrypt cost for new password hashes'),
    ('unmatched',              'deny',    'text', NULL, NULL, ARRAY['deny', 'authenticated'], 'Decision when no rule matches'),
    ('mfa_challenge_ttl',      '300',     'int',  60, 3600, NULL, 'Seconds to complete the TOTP step after the password'),
    ('mfa_max_attempts',       '5',       'int',  1, 20, NULL, 'TOTP attempts per MFA challenge'),
    ('oidc_state_ttl',         '300',     'int',  60, 3600, NULL, 'Seconds an OIDC login (state, nonce, PKCE verifier) stays valid'),
    ('websocket_token_ttl',    '30',      'int',  5, 3600, NULL, 'Lifetime of single-use websocket tokens in seconds'),
    ('download_token_ttl',     '60',      'int',  5, 3600, NULL, 'Lifetime of single-use download and other tokens in seconds'),
    ('single_use_token_limit', '5',       'int',  1, 1000, NULL, 'Unused single-use tokens a user may hold at once'),
    ('elevation_ttl',          '900',     'int',  60, 86400, NULL, 'Seconds a PIN/password step-up (sessions.elevated_until) lasts'),
    ('api_key_limit',          '10',      'int',  0, 10000, NULL, 'Live API keys a user may create for themselves (0 = unlimited; DBA functions ignore it)'),
    ('shared_link_default_ttl','2592000', 'int',  0, 315360000, NULL, 'Default expiry of self-service shared links in seconds (0 = none)');

INSERT INTO postern.common_passwords (password) VALUES
    ('password1234'), ('password12345'), ('password123456'), ('password1234567'), ('password!234'),
    ('123456789012'), ('1234567890123'), ('12345678901234'), ('123456789000'), ('000000000000'),
    ('111111111111'), ('123123123123'), ('qwertyuiop123'), ('qwertyuiop12'), ('qwertyuiopas'),
    ('qwerty123456'), ('1qaz2wsx3edc'), ('1q2w3e4r5t6y'), ('zaq12wsxcde3'), ('asdfghjkl123'),
    ('iloveyou1234'), ('letmein12345'), ('welcome12345'), ('welcome123456'), ('changeme1234'),
    ('administrator'), ('admin1234567'), ('adminadmin12'), ('passwordpassword'), ('princess1234'),
    ('sunshine1234'), ('football1234'), ('baseball1234'), ('trustno11234'), ('superman1234'),
    ('abcdefghijkl'), ('abc123abc123'), ('monkey123456'), ('dragon123456'), ('correcthorsebatterystaple'),
    ('p@ssw0rd1234'), ('passw0rd1234'), ('masterkey123'), ('qwertyqwerty'), ('aaaaaaaaaaaa');

-- Lower priority number = evaluated first; first match wins.
ALTER TABLE postern.rules DISABLE TRIGGER rules_audit;
INSERT INTO postern.rules (priority, methods, path_pattern, access, description) VALUES
    (10,  ARRAY['GET','HEAD'], '/auth/login',               'public',        'Login page'),
    (11,  ARRAY['POST'],       '/auth/login',               'public',        'Password login'),
    (12,  ARRAY['GET','HEAD'], '/auth/health',              'public',        'Health check'),
    (13,  NULL,                '/auth/oidc/**',             'public',        'OIDC login start and callback'),
    (14,  ARRAY['POST'],       '/auth/logout',              'public',        'Logout (idempotent)'),
    (15,  ARRAY['POST'],       '/auth/token',               'public',        'Access/refresh token endpoint'),
    (16,  ARRAY['POST'],       '/auth/mfa/verify',          'public',        'TOTP step of login'),
    (17,  ARRAY['POST'],       '/auth/shared-links/unlock', 'public',        'Unlock a password-protected shared link'),
    (50,  NULL,                '/auth/metrics',             'admin',         'Metrics'),
    (51,  NULL,                '/auth/admin/**',            'admin',         'Admin endpoints'),
    (90,  NULL,                '/auth/**',                  'authenticated', 'Other auth endpoints'),
    (100000, NULL,             '/**',                       'authenticated', 'Everything else: any signed-in user');
ALTER TABLE postern.rules ENABLE TRIGGER rules_audit;

------------------------------------------------------------------------------------------------
-- DBA functions (EXECUTE granted to postern_admin)
------------------------------------------------------------------------------------------------
CREATE FUNCTION postern.create_user(p_email text, p_password text, p_role text DEFAULT 'user',
                                    p_display_name text DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    e text := postern._canonical_email(p_email);
    uid uuid;
BEGIN
    IF EXISTS (SELECT 1 FROM postern.users WHERE email = e) THEN
        RAISE EXCEPTION 'postern: a user with email "%" already exists', e USING ERRCODE = '23505',
            HINT = 'Emails are compared case-insensitively.';
    END IF;
    PERFORM postern._check_role(p_role);
    IF p_password IS NOT NULL THEN
        PERFORM postern._check_password(p_password, e);
    END IF;
    INSERT INTO postern.users (email, display_name, password_hash, role, password_changed_at)
    VALUES (e, p_display_name, postern._hash_password(p_password), p_role,
            CASE WHEN p_password IS NOT NULL THEN now() END)
    RETURNING id INTO uid;
    PERFORM postern._audit('user.create', uid, e, NULL, NULL,
        jsonb_build_object('role', p_role, 'password', p_password IS NOT NULL));
    RETURN uid;
END
$$;

CREATE FUNCTION postern.set_password(p_email text, p_password text, p_must_change boolean DEFAULT false,
                                     p_revoke_sessions boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_email(p_email);
    n int := 0;
BEGIN
    IF p_password IS NOT NULL THEN
        PERFORM postern._check_password(p_password, u.email);
    END IF;
    UPDATE postern.users
       SET password_hash = postern._hash_password(p_password),
           password_changed_at = now(),
           must_change_password = coalesce(p_must_change, false)
     WHERE id = u.id;
    IF coalesce(p_revoke_sessions, true) THEN
        UPDATE postern.sessions SET revoked_at = now(), revoked_reason = 'password changed'
         WHERE user_id = u.id AND revoked_at IS NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
    END IF;
    PERFORM postern._audit('user.set_password', u.id, u.email, NULL, NULL,
        jsonb_build_object('password', p_password IS NOT NULL,
                           'must_change', coalesce(p_must_change, false), 'sessions_revoked', n));
END
$$;

CREATE FUNCTION postern.disable_user(p_email text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_email(p_email);
    n int;
BEGIN
    UPDATE postern.users SET disabled = true WHERE id = u.id AND NOT disabled;
    UPDATE postern.sessions SET revoked_at = now(), revoked_reason = 'user disabled'
     WHERE user_id = u.id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('user.disable', u.id, u.email, NULL, NULL,
        jsonb_build_object('sessions_revoked', n));
END
$$;

CREATE FUNCTION postern.enable_user(p_email text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users := postern._user_by_email(p_email);
BEGIN
    UPDATE postern.users SET disabled = false WHERE id = u.id AND disabled;
    PERFORM postern._audit('user.enable', u.id, u.email, NULL, NULL, NULL);
END
$$;

CREATE FUNCTION postern.set_user_role(p_email text, p_role text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE u postern.users := postern._user_by_email(p_email);
BEGIN
    PERFORM postern._check_role(p_role);
    UPDATE postern.users SET role = p_role WHERE id = u.id AND role <> p_role;
    PERFORM postern._audit('user.set_role', u.id, u.email, NULL, NULL,
        jsonb_build_object('old', u.role, 'new', p_role));
END
$$;

CREATE FUNCTION postern.create_role(p_name text, p_description text DEFAULT '') RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF p_name IS NULL OR p_name !~ '^[a-z][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'postern: malformed role name "%"', p_name USING ERRCODE = '22023',
            HINT = 'A role name is lower-case letters, digits, "_" or "-", starting with a letter.';
    END IF;
    IF EXISTS (SELECT 1 FROM postern.roles WHERE name = p_name) THEN
        RAISE EXCEPTION 'postern: role "%" already exists', p_name USING ERRCODE = '23505';
    END IF;
    INSERT INTO postern.roles (name, description) VALUES (p_name, coalesce(p_description, ''));
    PERFORM postern._audit('role.create', NULL, NULL, NULL, NULL,
        jsonb_build_object('role', p_name, 'description', p_description));
END
$$;

CREATE FUNCTION postern.grant_permission(p_role text, p_permission text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    PERFORM postern._check_role(p_role);
    PERFORM postern._check_permission(p_permission);
    INSERT INTO postern.role_permissions (role, permission) VALUES (p_role, p_permission)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('role.grant', NULL, NULL, NULL, NULL,
        jsonb_build_object('role', p_role, 'permission', p_permission, 'changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.revoke_permission(p_role text, p_permission text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    PERFORM postern._check_role(p_role);
    PERFORM postern._check_permission(p_permission);
    DELETE FROM postern.role_permissions WHERE role = p_role AND permission = p_permission;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('role.revoke', NULL, NULL, NULL, NULL,
        jsonb_build_object('role', p_role, 'permission', p_permission, 'changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.create_api_key(p_email text, p_name text, p_permissions text[],
                                       p_expires_at timestamptz DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_email(p_email);
    perms text[];
    secret text;
    kid uuid;
BEGIN
    IF u.disabled THEN
        RAISE EXCEPTION 'postern: user "%" is disabled', u.email USING ERRCODE = '55000';
    END IF;
    IF p_name IS NULL OR btrim(p_name) = '' OR length(p_name) > 200 THEN
        RAISE EXCEPTION 'postern: an API key needs a name (1..200 characters)' USING ERRCODE = '22023';
    END IF;
    perms := postern._check_permissions(p_permissions);
    PERFORM postern._check_ceiling(u.role, perms, u.email);
    PERFORM postern._check_expiry(p_expires_at);
    secret := postern._new_token('pst_k_');
    INSERT INTO postern.api_keys (user_id, name, token_hash, prefix, permissions, expires_at)
    VALUES (u.id, btrim(p_name), postern._hash_token(secret), left(secret, 12), perms, p_expires_at)
    RETURNING id INTO kid;
    PERFORM postern._audit('api_key.create', u.id, u.email, NULL, NULL,
        jsonb_build_object('key_id', kid, 'name', btrim(p_name), 'prefix', left(secret, 12),
                           'permissions', perms, 'expires_at', p_expires_at));
    RETURN secret;
END
$$;

CREATE FUNCTION postern.revoke_api_key(p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k postern.api_keys;
    n int;
BEGIN
    SELECT * INTO k FROM postern.api_keys WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown API key %', p_id USING ERRCODE = 'P0002';
    END IF;
    UPDATE postern.api_keys SET revoked_at = now() WHERE id = p_id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('api_key.revoke', k.user_id, (SELECT email FROM postern.users WHERE id = k.user_id),
        NULL, NULL, jsonb_build_object('key_id', p_id, 'name', k.name, 'changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.create_shared_link(p_email text, p_path_prefix text, p_permissions text[],
                                           p_expires_at timestamptz, p_password text DEFAULT NULL,
                                           p_description text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_email(p_email);
    prefix text := postern._check_path_prefix(p_path_prefix);
    perms text[];
    secret text;
    lid uuid;
BEGIN
    IF u.disabled THEN
        RAISE EXCEPTION 'postern: user "%" is disabled', u.email USING ERRCODE = '55000';
    END IF;
    perms := postern._check_permissions(p_permissions);
    PERFORM postern._check_ceiling(u.role, perms, u.email);
    PERFORM postern._check_expiry(p_expires_at);
    IF p_password IS NOT NULL THEN
        PERFORM postern._check_password(p_password, u.email);
    END IF;
    secret := postern._new_token('pst_l_');
    INSERT INTO postern.shared_links (user_id, token_hash, prefix, path_prefix, permissions,
                                      password_hash, expires_at, description)
    VALUES (u.id, postern._hash_token(secret), left(secret, 12), prefix, perms,
            postern._hash_password(p_password), p_expires_at, p_description)
    RETURNING id INTO lid;
    PERFORM postern._audit('shared_link.create', u.id, u.email, NULL, NULL,
        jsonb_build_object('link_id', lid, 'path_prefix', prefix, 'prefix', left(secret, 12),
                           'permissions', perms, 'expires_at', p_expires_at,
                           'password', p_password IS NOT NULL));
    RETURN secret;
END
$$;

CREATE FUNCTION postern.revoke_shared_link(p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    l postern.shared_links;
    n int;
BEGIN
    SELECT * INTO l FROM postern.shared_links WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown shared link %', p_id USING ERRCODE = 'P0002';
    END IF;
    UPDATE postern.shared_links SET revoked_at = now() WHERE id = p_id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('shared_link.revoke', l.user_id, (SELECT email FROM postern.users WHERE id = l.user_id),
        NULL, NULL, jsonb_build_object('link_id', p_id, 'changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.revoke_session(p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s postern.sessions;
    n int;
BEGIN
    SELECT * INTO s FROM postern.sessions WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown session %', p_id USING ERRCODE = 'P0002';
    END IF;
    UPDATE postern.sessions SET revoked_at = now(), revoked_reason = 'revoked by ' || session_user
     WHERE id = p_id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('session.revoke', s.user_id, (SELECT email FROM postern.users WHERE id = s.user_id),
        p_id, NULL, jsonb_build_object('changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.revoke_sessions(p_email text) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    u postern.users := postern._user_by_email(p_email);
    n int;
BEGIN
    UPDATE postern.sessions SET revoked_at = now(), revoked_reason = 'revoked by ' || session_user
     WHERE user_id = u.id AND revoked_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('session.revoke_all', u.id, u.email, NULL, NULL,
        jsonb_build_object('count', n));
    RETURN n;
END
$$;

CREATE FUNCTION postern.unlock_account(p_email text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
-- Lockouts are tracked for any email (also unknown ones), so the user need not exist.
DECLARE
    e text := postern._canonical_email(p_email);
    n int;
BEGIN
    DELETE FROM postern.login_attempts WHERE email = e;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('account.unlock', (SELECT id FROM postern.users WHERE email = e), e,
        NULL, NULL, jsonb_build_object('changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.unlock_ip(p_ip inet) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    IF p_ip IS NULL THEN
        RAISE EXCEPTION 'postern: ip is required' USING ERRCODE = '22023';
    END IF;
    DELETE FROM postern.ip_attempts WHERE ip = p_ip;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM postern._audit('ip.unlock', NULL, NULL, NULL, p_ip, jsonb_build_object('changed', n > 0));
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.set_setting(p_key text, p_value text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE old text;
BEGIN
    SELECT value INTO old FROM postern.settings WHERE key = p_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'postern: unknown setting "%"', p_key USING ERRCODE = 'P0002',
            HINT = 'See SELECT key, value, type, min, max FROM postern.settings;';
    END IF;
    UPDATE postern.settings SET value = p_value WHERE key = p_key;   -- validated by trigger
    PERFORM postern._audit('setting.set', NULL, NULL, NULL, NULL,
        jsonb_build_object('key', p_key, 'old', old,
                           'new', (SELECT value FROM postern.settings WHERE key = p_key)));
END
$$;

------------------------------------------------------------------------------------------------
-- Authorizer functions (EXECUTE granted to postern_authorizer)
------------------------------------------------------------------------------------------------
-- Live sessions with their user: what auth_session and auth_session_id return. A view, so that
-- each function's WHERE reaches the index (token_hash or id) through it.
CREATE VIEW postern._live_sessions AS
    SELECT s.id AS session_id, u.id AS user_id, u.email, u.display_name, u.role,
           ARRAY(SELECT rp.permission FROM postern.role_permissions rp WHERE rp.role = u.role ORDER BY 1) AS permissions,
           coalesce(t.enabled, false) AS user_mfa, s.mfa AS session_mfa, u.must_change_password,
           x.exp AS expires_at, s.elevated_until, s.token_hash
      FROM postern.sessions s
      JOIN postern.users u ON u.id = s.user_id
      LEFT JOIN postern.mfa_totp t ON t.user_id = u.id
     CROSS JOIN LATERAL (
           SELECT least(s.expires_at,
                        s.last_seen_at + (SELECT st.value::bigint FROM postern.settings st
                                           WHERE st.key = 'session_idle_timeout') * interval '1 second') AS exp) x
     WHERE s.revoked_at IS NULL
       AND NOT u.disabled
       AND x.exp > now();

CREATE FUNCTION postern.auth_session(p_token_hash bytea)
RETURNS TABLE (session_id uuid, user_id uuid, email text, display_name text, role text,
               permissions text[], user_mfa boolean, session_mfa boolean,
               must_change_password boolean, expires_at timestamptz, elevated_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.session_id, l.user_id, l.email, l.display_name, l.role, l.permissions, l.user_mfa,
           l.session_mfa, l.must_change_password, l.expires_at, l.elevated_until
      FROM postern._live_sessions l
     WHERE l.token_hash = p_token_hash
$$;

-- The same for an access JWT, which names its session by id.
CREATE FUNCTION postern.auth_session_id(p_session_id uuid)
RETURNS TABLE (session_id uuid, user_id uuid, email text, display_name text, role text,
               permissions text[], user_mfa boolean, session_mfa boolean,
               must_change_password boolean, expires_at timestamptz, elevated_until timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.session_id, l.user_id, l.email, l.display_name, l.role, l.permissions, l.user_mfa,
           l.session_mfa, l.must_change_password, l.expires_at, l.elevated_until
      FROM postern._live_sessions l
     WHERE l.session_id = p_session_id
$$;

CREATE FUNCTION postern.auth_api_key(p_token_hash bytea)
RETURNS TABLE (key_id uuid, user_id uuid, email text, role text, permissions text[],
               user_mfa boolean, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
       AND NOT u.disabled
$$;

-- What an unlock cookie of a password-protected shared link is bound to: a new password
-- makes every earlier unlock worthless. NULL without a password.
CREATE FUNCTION postern._password_version(p_hash text) RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(convert_to(p_hash, 'UTF8')), 'hex')
$$;

CREATE FUNCTION postern.auth_shared_link(p_token_hash bytea)
RETURNS TABLE (link_id uuid, user_id uuid, email text, path_prefix text, permissions text[],
               has_password boolean, expires_at timestamptz, password_version text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
       AND NOT u.disabled
$$;

-- Burns the token on first presentation (even if purpose or path do not match); returns the
-- identity only when they match, the owner is enabled and the bound session (if any) is live.
CREATE FUNCTION postern.consume_token(p_token_hash bytea, p_purpose text, p_path text)
RETURNS TABLE (token_id uuid, user_id uuid, email text, role text, permissions text[],
               session_id uuid, user_mfa boolean)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
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
       AND (c.session_id IS NULL OR (s.revoked_at IS NULL AND s.expires_at > now()))
$$;

CREATE FUNCTION postern.touch_session(p_session_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    UPDATE postern.sessions SET last_seen_at = now()
     WHERE id = p_session_id AND revoked_at IS NULL AND last_seen_at < now() - interval '60 seconds';
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.touch_api_key(p_key_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE n int;
BEGIN
    UPDATE postern.api_keys SET last_used_at = now()
     WHERE id = p_key_id AND revoked_at IS NULL
       AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds');
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n > 0;
END
$$;

CREATE FUNCTION postern.load_rules()
RETURNS TABLE (id bigint, priority int, host text, methods text[], path_pattern text, access text,
               permission text, allow_api_keys boolean, allow_shared_links boolean,
               token_purpose text, require_csrf_token boolean, require_elevation boolean,
               policy_function text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.id, r.priority, r.host, r.methods, r.path_pattern, r.access, r.permission,
           r.allow_api_keys, r.allow_shared_links, r.token_purpose, r.require_csrf_token,
           r.require_elevation, r.policy_function
      FROM postern.rules r
     WHERE r.enabled
     ORDER BY r.priority, r.id
$$;

CREATE FUNCTION postern.load_settings() RETURNS TABLE (key text, value text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.key, s.value FROM postern.settings s ORDER BY s.key
$$;

------------------------------------------------------------------------------------------------
-- Views for DBAs
------------------------------------------------------------------------------------------------
CREATE VIEW postern.active_sessions AS
    SELECT s.id, s.user_id, u.email, u.display_name, u.role, s.auth_method, s.mfa,
           s.created_at, s.last_seen_at,
           least(s.expires_at, s.last_seen_at + (SELECT st.value::bigint FROM postern.settings st
                                                  WHERE st.key = 'session_idle_timeout') * interval '1 second') AS expires_at,
           s.ip, s.user_agent, s.device
      FROM postern.sessions s
      JOIN postern.users u ON u.id = s.user_id
     WHERE s.revoked_at IS NULL
       AND NOT u.disabled
       AND least(s.expires_at, s.last_seen_at + (SELECT st.value::bigint FROM postern.settings st
                                                  WHERE st.key = 'session_idle_timeout') * interval '1 second') > now();

CREATE VIEW postern.audit AS
    SELECT a.id, a.at, a.event, a.actor, a.user_id, coalesce(a.email, u.email) AS email,
           a.session_id, a.ip, a.detail
      FROM postern.audit_log a
      LEFT JOIN postern.users u ON u.id = a.user_id;

------------------------------------------------------------------------------------------------
-- Privileges
-- A rule's policy function, called by rule id so that the authorizer can run only functions a
-- DBA named in postern.rules. Signature: fn(identity jsonb, method text, host text, path text)
-- RETURNS boolean; NULL counts as false.
CREATE FUNCTION postern.check_policy(p_rule_id bigint, p_identity jsonb, p_method text,
                                     p_host text, p_path text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    fn regprocedure;
    ok boolean;
BEGIN
    SELECT to_regprocedure(r.policy_function || '(jsonb,text,text,text)') INTO fn
      FROM postern.rules r WHERE r.id = p_rule_id AND r.enabled AND r.policy_function IS NOT NULL;
    IF fn IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE pg_catalog.format('SELECT %s($1, $2, $3, $4)', fn::regproc)
       INTO ok USING p_identity, p_method, p_host, p_path;
    RETURN coalesce(ok, false);
END
$$;

-- The programs compare this with the version they were built for on every new connection.
CREATE FUNCTION postern.get_schema_version() RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT max(version) FROM postern.schema_version
$$;

------------------------------------------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA postern FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA postern FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA postern REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

GRANT USAGE ON SCHEMA postern TO postern_authorizer, postern_responder, postern_admin;

GRANT SELECT ON ALL TABLES IN SCHEMA postern TO postern_admin;
GRANT INSERT, UPDATE, DELETE ON postern.rules TO postern_admin;

GRANT EXECUTE ON FUNCTION
    postern.create_user(text, text, text, text),
    postern.set_password(text, text, boolean, boolean),
    postern.disable_user(text),
    postern.enable_user(text),
    postern.set_user_role(text, text),
    postern.create_role(text, text),
    postern.grant_permission(text, text),
    postern.revoke_permission(text, text),
    postern.create_api_key(text, text, text[], timestamptz),
    postern.revoke_api_key(uuid),
    postern.create_shared_link(text, text, text[], timestamptz, text, text),
    postern.revoke_shared_link(uuid),
    postern.revoke_session(uuid),
    postern.revoke_sessions(text),
    postern.unlock_account(text),
    postern.unlock_ip(inet),
    postern.set_setting(text, text)
TO postern_admin;

GRANT EXECUTE ON FUNCTION
    postern.auth_session(bytea),
    postern.auth_session_id(uuid),
    postern.auth_api_key(bytea),
    postern.auth_shared_link(bytea),
    postern.consume_token(bytea, text, text),
    postern.touch_session(uuid),
    postern.touch_api_key(uuid),
    postern.load_rules(),
    postern.load_settings(),
    postern.check_policy(bigint, jsonb, text, text, text)
TO postern_authorizer;

GRANT EXECUTE ON FUNCTION postern.get_schema_version()
TO postern_authorizer, postern_responder, postern_admin;

INSERT INTO postern.schema_version (version) VALUES (1);
COMMIT;
