-- Postern: install or upgrade the PostgreSQL layer.
--
--   psql -v ON_ERROR_STOP=1 -d yourdb -f sql/install.sql
--
-- Idempotent: creates schema postern, postern.schema_version and the three group roles if
-- missing, then applies, each in its own transaction, only the migrations whose version is not
-- yet recorded in postern.schema_version.  Running it again changes nothing.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS postern;
CREATE TABLE IF NOT EXISTS postern.schema_version (
    version    int PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Group roles are cluster-wide; create them only if missing.
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['postern_authorizer', 'postern_responder', 'postern_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- Migration 001: the whole schema.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 1) AS postern_need_001 \gset
\if :postern_need_001
\ir migrations/001_schema.sql
\endif

-- Migration 002: the responder's functions (login, sessions, password change, own API keys).
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 2) AS postern_need_002 \gset
\if :postern_need_002
\ir migrations/002_responder.sql
\endif

-- Migration 003: refresh tokens and single-use tokens.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 3) AS postern_need_003 \gset
\if :postern_need_003
\ir migrations/003_tokens.sql
\endif

-- Migration 004: TOTP multi-factor authentication.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 4) AS postern_need_004 \gset
\if :postern_need_004
\ir migrations/004_mfa.sql
\endif

-- Migration 005: PIN step-up and session lock; shared links managed by their owner.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 5) AS postern_need_005 \gset
\if :postern_need_005
\ir migrations/005_pin_links.sql
\endif

-- Migration 006: housekeeping and administrators' settings.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 6) AS postern_need_006 \gset
\if :postern_need_006
\ir migrations/006_operations.sql
\endif

-- Migration 007: metrics.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 7) AS postern_need_007 \gset
\if :postern_need_007
\ir migrations/007_metrics.sql
\endif

-- Migration 008: OIDC login.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 8) AS postern_need_008 \gset
\if :postern_need_008
\ir migrations/008_oidc.sql
\endif

-- Migration 009: failed-login counting without a race.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 9) AS postern_need_009 \gset
\if :postern_need_009
\ir migrations/009_attempts.sql
\endif

-- Migration 010: the credential lookups in plpgsql (plans kept per connection).
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 10) AS postern_need_010 \gset
\if :postern_need_010
\ir migrations/010_lookups.sql
\endif

-- Migration 011: the authorizer's lean session lookups and role permissions.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 11) AS postern_need_011 \gset
\if :postern_need_011
\ir migrations/011_authz_lookups.sql
\endif

-- Migration 012: the authorizer's session lookups take the idle timeout it has.
SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 12) AS postern_need_012 \gset
\if :postern_need_012
\ir migrations/012_authz_lookup_params.sql
\endif

-- Add later migrations here, in order, exactly like the ones above:
-- SELECT NOT EXISTS (SELECT 1 FROM postern.schema_version WHERE version = 13) AS postern_need_013 \gset
-- \if :postern_need_013
-- \ir migrations/013_something.sql
-- \endif

RESET client_min_messages;
