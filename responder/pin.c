/* pin: the PIN (POST /auth/pin) and step-up of the current session with the PIN or password
 * (POST /auth/session/unlock), and locking it again (POST /auth/session/lock). */
#include "responder.h"

#include <stdio.h>
#include <string.h>

#define PIN_MIN 6
#define PIN_MAX 12

/* Wrong PINs and passwords count toward the account's lockout, like failed logins. */
static void pin_refused(struct resp_ctx *c, const char *code, const char *message)
{
	int retry_after = 0;
	enum db_status st = db_login_failed(c->t->db, c->id.email, resp_client_ip(c), &retry_after);

	if (st != DB_OK)
		resp_db_error(c, st);
	else if (retry_after > 0)
		resp_error(c, 429, "LOCKED_OUT", "too many attempts, try again later");
	else
		resp_error(c, 403, code, message);
}

static bool pin_locked_out(struct resp_ctx *c, struct db_login *u)
{
	enum db_status st = db_login_begin(c->t->db, c->id.email, resp_client_ip(c), u);

	if (st != DB_OK) {
		resp_db_error(c, st);
		return true;
	}
	if (u->retry_after > 0) {
		resp_error(c, 429, "LOCKED_OUT", "too many attempts, try again later");
		return true;
	}
	return false;
}

bool resp_check_password(struct resp_ctx *c, const char *password)
{
	struct db_login u;

	if (pin_locked_out(c, &u))
		return false;
	if (strlen(password) <= CRYPTO_BCRYPT_MAX_PASSWORD && u.password_hash[0] != '\0' &&
	    crypto_bcrypt_verify(password, u.password_hash))
		return true;
	pin_refused(c, "WRONG_PASSWORD", "the password is wrong");
	return false;
}

static bool pin_well_formed(const char *pin)
{
	size_t n = strlen(pin);

	return n >= PIN_MIN && n <= PIN_MAX && strspn(pin, "0123456789") == n;
}

void resp_pin_set(struct resp_ctx *c)
{
	char pin[PIN_MAX + 2] = "", password[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "";
	char hash[CRYPTO_BCRYPT_HASH_LEN + 1];
	long cost = CRYPTO_BCRYPT_MIN_COST;
	enum db_status st;
	int has_pin;

	has_pin = resp_field(c, "pin", pin, sizeof pin);
	if (has_pin < 0 || resp_field(c, "password", password, sizeof password) != 1 ||
	    (has_pin == 1 && !pin_well_formed(pin))) {
		resp_error(c, 400, "BAD_REQUEST",
		           "password is required, and pin must be 6 to 12 digits (absent: remove)");
		goto out;
	}
	if (!resp_check_password(c, password))
		goto out;
	st = resp_setting(c, "bcrypt_cost", &cost);
	if (st == DB_OK && has_pin == 1 && crypto_bcrypt_hash(pin, (int)cost, hash) != 0)
		st = DB_ERROR;
	if (st == DB_OK)
		st = db_set_user_pin(c->t->db, c->id.user_id, has_pin == 1 ? hash : NULL);
	if (st != DB_OK)
		resp_db_error(c, st);
	else /* a new PIN locks every session of the user again */
		resp_json(c, 200, NULL, json_pack("{s:b}", "pin", has_pin == 1));
out:
	crypto_wipe(pin, sizeof pin);
	crypto_wipe(password, sizeof password);
}

void resp_session_unlock(struct resp_ctx *c)
{
	char pin[PIN_MAX + 2] = "", password[CRYPTO_BCRYPT_MAX_PASSWORD + 2] = "";
	char hash[128];
	long long until = 0;
	struct db_login u;
	enum db_status st;
	bool ok;

	if (resp_field(c, "pin", pin, sizeof pin) < 0 ||
	    resp_field(c, "password", password, sizeof password) < 0 ||
	    (pin[0] == '\0') == (password[0] == '\0')) {
		resp_error(c, 400, "BAD_REQUEST", "send either pin or password");
		goto out;
	}
	if (password[0] != '\0') {
		if (!resp_check_password(c, password))
			goto out;
	} else {
		if (pin_locked_out(c, &u))
			goto out;
		st = db_user_pin_hash(c->t->db, c->id.user_id, hash, sizeof hash);
		if (st != DB_OK && st != DB_NOT_FOUND) {
			resp_db_error(c, st);
			goto out;
		}
		ok = crypto_bcrypt_verify(pin, st == DB_OK ? hash : c->t->app->dummy_hash);
		if (st != DB_OK || !ok || !pin_well_formed(pin)) {
			pin_refused(c, "WRONG_PIN", "wrong PIN, or no PIN set");
			goto out;
		}
	}
	st = db_set_session_elevation(c->t->db, c->id.session_id, true, &until);
	if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL, json_pack("{s:I}", "elevated_until", (json_int_t)until));
out:
	crypto_wipe(pin, sizeof pin);
	crypto_wipe(password, sizeof password);
}

void resp_session_lock(struct resp_ctx *c)
{
	long long until = 0;
	enum db_status st = db_set_session_elevation(c->t->db, c->id.session_id, false, &until);

	if (st != DB_OK)
		resp_db_error(c, st);
	else
		resp_json(c, 200, NULL, json_pack("{s:b}", "locked", 1));
}
