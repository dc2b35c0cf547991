/* mfa: TOTP multi-factor authentication: setup, enabling (with backup codes), the login's
 * second step, disabling. */
#include "responder.h"

#include "seal.h"
#include "totp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MFA_BACKUP_CODES 10
#define MFA_SEALED_HEX (2 * (TOTP_SECRET_LEN + SEAL_OVERHEAD) + 1)

/* The user's TOTP secret, opened; DB_NOT_FOUND if there is none (or it does not open). */
static enum db_status mfa_load(struct resp_ctx *c, const char *user_id,
                               unsigned char secret[TOTP_SECRET_LEN], bool *enabled)
{
	char hex[MFA_SEALED_HEX];
	unsigned char sealed[TOTP_SECRET_LEN + SEAL_OVERHEAD];
	const struct site_keys *k;
	enum db_status st = db_mfa_secret(c->t->db, user_id, hex, sizeof hex, enabled);

	if (st != DB_OK)
		return st;
	if (strlen(hex) != 2 * sizeof sealed || crypto_unhex(hex, sizeof sealed, sealed) != 0)
		return DB_NOT_FOUND;
	/* sealed with the current key, or with the previous one during a key rotation */
	for (int i = 0; (k = site_keys(&c->t->app->site, i, (long long)time(NULL))) != NULL; i++)
		if (seal_open(k->totp, user_id, sealed, sizeof sealed, secret) == 0)
			return DB_OK;
	return DB_NOT_FOUND;
}

/* Whether code is this user's current TOTP code, used for the first time (replays lose). */
static enum db_status mfa_check_code(struct resp_ctx *c, const char *user_id, const char *code,
                                     bool enable, const char *backup_hashes, bool *ok)
{
	unsigned char secret[TOTP_SECRET_LEN];
	bool enabled = false;
	long long step;
	enum db_status st = mfa_load(c, user_id, secret, &enabled);

	*ok = false;
	if (st == DB_NOT_FOUND || (st == DB_OK && enabled == enable))
		return DB_OK;
	if (st != DB_OK)
		return st;
	step = totp_verify(secret, sizeof secret, code, (long long)time(NULL));
	crypto_wipe(secret, sizeof secret);
	if (step < 0)
		return DB_OK;
	return db_mfa_use_step(c->t->db, user_id, step, enable, backup_hashes, ok);
}

void resp_mfa_setup(struct resp_ctx *c)
{
	unsigned char secret[TOTP_SECRET_LEN], sealed[TOTP_SECRET_LEN + SEAL_OVERHEAD];
	char hex[MFA_SEALED_HEX], b32[64], uri[512], email[3 * IDENTITY_EMAIL_MAX + 1];
	size_t o = 0;
	enum db_status st;

	if (crypto_random(secret, sizeof secret) != 0 ||
	    seal(c->t->app->site.cur.totp, c->id.user_id, secret, sizeof secret, sealed) != 0 ||
	    totp_base32(secret, sizeof secret, b32, sizeof b32) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a secret");
		goto out;
	}
	crypto_hex(sealed, sizeof sealed, hex);
	st = db_mfa_setup(c->t->db, c->id.user_id, hex);
	if (st != DB_OK) {
		resp_db_error(c, st);
		goto out;
	}
	for (const char *p = c->id.email; *p && o + 4 < sizeof email; p++)
		o += (size_t)(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'
		                  ? snprintf(email + o, sizeof email - o, "%c", *p)
		                  : snprintf(email + o, sizeof email - o, "%%%02X",
		                             (unsigned char)*p));
	snprintf(
	    uri, sizeof uri,
	    "otpauth://totp/Postern:%s?secret=%s&issuer=Postern&algorithm=SHA1&digits=6&period=30",
	    email, b32);
	resp_json(c, 200, NULL, json_pack("{s:s, s:s}", "secret", b32, "otpauth_uri", uri));
out:
	crypto_wipe(secret, sizeof secret);
	crypto_wipe(b32, sizeof b32);
	crypto_wipe(uri, sizeof uri);
}

void resp_mfa_enable(struct resp_ctx *c)
{
	char code[16] = "", codes[MFA_BACKUP_CODES][16], hashes[MFA_BACKUP_CODES * 65];
	json_t *list = json_array();
	bool ok = false;
	enum db_status st;

	if (resp_field(c, "code", code, sizeof code) != 1) {
		resp_error(c, 400, "BAD_REQUEST", "code is required");
		json_decref(list);
		return;
	}
	hashes[0] = '\0';
	for (int i = 0; i < MFA_BACKUP_CODES; i++) {
		unsigned char rnd[6], h[CRYPTO_SHA256_LEN];
		char b32[16], hex[65];
		crypto_random(rnd, sizeof rnd);
		totp_base32(rnd, sizeof rnd, b32, sizeof b32); /* 10 characters */
		for (char *p = b32; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		snprintf(codes[i], sizeof codes[i], "%.5s-%.5s", b32, b32 + 5);
		crypto_sha256(codes[i], strlen(codes[i]), h);
		crypto_hex(h, sizeof h, hex);
		strcat(hashes, i ? " " : "");
		strcat(hashes, hex);
		json_array_append_new(list, json_string(codes[i]));
	}
	st = mfa_check_code(c, c->id.user_id, code, true, hashes, &ok);
	if (st != DB_OK)
		resp_db_error(c, st);
	else if (!ok)
		resp_error(c, 400, "INVALID_CODE", "wrong code, or no pending authenticator");
	else /* shown once; only their hashes are kept */
		resp_json(c, 200, NULL,
		          json_pack("{s:b, s:O}", "enabled", 1, "backup_codes", list));
	json_decref(list);
	crypto_wipe(codes, sizeof codes);
}

void resp_mfa_disable(struct resp_ctx *c)
{
	char password[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "", code[16] = "";
	struct db_login u;
	bool ok = false;
	enum db_status st;

	if (resp_field(c, "password", password, sizeof password) != 1 ||
	    resp_field(c, "code", code, sizeof code) != 1) {
		resp_error(c, 400, "BAD_REQUEST", "password and code are required");
		goto out;
	}
	st = db_login_begin(c->t->db, c->id.email, resp_client_ip(c), &u);
	if (st == DB_OK &&
	    (u.password_hash[0] == '\0' || strlen(password) > CRYPTO_BCRYPT_MAX_PASSWORD ||
	     !crypto_bcrypt_verify(password, u.password_hash))) {
		resp_error(c, 403, "WRONG_PASSWORD", "the password is wrong");
		goto out;
	}
	if (st == DB_OK)
		st = mfa_check_code(c, c->id.user_id, code, false, NULL, &ok);
	if (st == DB_OK && !ok) {
		resp_error(c, 400, "INVALID_CODE", "wrong or reused code");
		goto out;
	}
	if (st == DB_OK)
		st = db_mfa_disable(c->t->db, c->id.user_id);
	if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "disabled", 1));
out:
	crypto_wipe(password, sizeof password);
}

int resp_mfa_challenge(struct resp_ctx *c, const char *user_id, char out[CRYPTO_TOKEN_LEN + 1],
                       long long *expires_at)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	enum db_status st;

	if (crypto_token_new(TOKEN_MFA, out) != 0) {
		resp_error(c, 500, "INTERNAL", "cannot create a challenge");
		return -1;
	}
	crypto_sha256(out, strlen(out), hash);
	st = db_mfa_challenge_create(c->t->db, user_id, hash, expires_at);
	if (st != DB_OK) {
		resp_db_error(c, st);
		return -1;
	}
	return 0;
}

/* A backup code as typed: trimmed and lower-cased, "xxxxx-xxxxx". */
static bool mfa_backup_code(const char *in, char out[16])
{
	size_t o = 0;

	for (; *in && o < 15; in++)
		if (!isspace((unsigned char)*in))
			out[o++] = (char)tolower((unsigned char)*in);
	out[o] = '\0';
	return o == 11 && out[5] == '-';
}

void resp_mfa_verify(struct resp_ctx *c)
{
	char challenge[CRYPTO_TOKEN_LEN + 2] = "", code[32] = "", backup[16];
	char return_to[2049] = "", user_id[37], email[IDENTITY_EMAIL_MAX + 1];
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct db_login u;
	int retry_after = 0;
	bool ok = false;
	enum db_status st;

	if (resp_field(c, "challenge", challenge, sizeof challenge) != 1 ||
	    resp_field(c, "code", code, sizeof code) != 1 ||
	    resp_field(c, "return_to", return_to, sizeof return_to) < 0 ||
	    crypto_token_kind(challenge, strlen(challenge)) != TOKEN_MFA) {
		resp_error(c, 400, "BAD_REQUEST", "challenge and code are required");
		return;
	}
	crypto_sha256(challenge, strlen(challenge), hash);
	st = db_mfa_challenge_attempt(c->t->db, hash, user_id, email, sizeof email);
	if (st == DB_NOT_FOUND) {
		resp_error(c, 401, "INVALID_CHALLENGE", "challenge unknown, expired or used up");
		return;
	}
	if (st == DB_OK)
		st = db_login_begin(c->t->db, email, resp_client_ip(c), &u);
	if (st == DB_OK && u.retry_after > 0) {
		resp_error(c, 429, "LOCKED_OUT", "too many attempts, try again later");
		return;
	}
	if (st == DB_OK && mfa_backup_code(code, backup)) {
		unsigned char bh[CRYPTO_SHA256_LEN];
		crypto_sha256(backup, strlen(backup), bh);
		st = db_mfa_use_backup_code(c->t->db, user_id, bh, &ok);
	} else if (st == DB_OK) {
		st = mfa_check_code(c, user_id, code, false, NULL, &ok);
	}
	if (st != DB_OK) {
		resp_db_error(c, st);
		return;
	}
	if (!ok) {
		/* a wrong code counts toward the account's lockout, like a wrong password */
		st = db_login_failed(c->t->db, email, resp_client_ip(c), &retry_after);
		if (st != DB_OK)
			resp_db_error(c, st);
		else if (retry_after > 0)
			resp_error(c, 429, "LOCKED_OUT", "too many attempts, try again later");
		else
			resp_error(c, 401, "INVALID_CODE", "wrong or reused code");
		return;
	}
	db_mfa_challenge_done(c->t->db, hash);
	resp_login_complete(c, user_id, true, return_to);
}
