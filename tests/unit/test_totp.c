/* test_totp: RFC 6238 vectors, the ±1 step window, base32, and sealing (lib/totp, lib/seal). */
#include "seal.h"
#include "suites.h"
#include "totp.h"

#include <string.h>

static const unsigned char rfc_secret[] = "12345678901234567890";

/* RFC 6238 appendix B (SHA-1), the last 6 of its 8 digits */
static const struct {
	long long t;
	const char *code;
} totp_vectors[] = {
	{ 59, "287082" },         { 1111111109, "081804" }, { 1111111111, "050471" },
	{ 1234567890, "005924" }, { 2000000000, "279037" }, { 20000000000, "353130" },
};

START_TEST(test_rfc6238)
{
	char code[TOTP_DIGITS + 1];

	ck_assert_int_eq(totp_code(rfc_secret, 20, totp_vectors[_i].t / TOTP_STEP, code), 0);
	ck_assert_str_eq(code, totp_vectors[_i].code);
}
END_TEST

START_TEST(test_window)
{
	long long now = 1111111109; /* step 37037036 */

	ck_assert_int_eq(totp_verify(rfc_secret, 20, "081804", now), 37037036);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "081804", now + 30), 37037036);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "081804", now - 30), 37037036);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "081804", now + 60), -1);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "081805", now), -1);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "81804", now), -1);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "0818044", now), -1);
	ck_assert_int_eq(totp_verify(rfc_secret, 20, "08180a", now), -1);
}
END_TEST

START_TEST(test_base32)
{
	char out[64];

	/* RFC 4648 §10, without padding */
	ck_assert_int_eq(totp_base32((const unsigned char *)"foobar", 6, out, sizeof out), 0);
	ck_assert_str_eq(out, "MZXW6YTBOI");
	ck_assert_int_eq(totp_base32((const unsigned char *)"f", 1, out, sizeof out), 0);
	ck_assert_str_eq(out, "MY");
	ck_assert_int_eq(totp_base32(rfc_secret, 20, out, 33), 0);
	ck_assert_str_eq(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	ck_assert_int_eq(totp_base32(rfc_secret, 20, out, 32), -1); /* no room for the NUL */
}
END_TEST

START_TEST(test_seal)
{
	static const unsigned char key[32] = { 7 }, other[32] = { 8 };
	unsigned char sealed[20 + SEAL_OVERHEAD], again[20 + SEAL_OVERHEAD], opened[20];

	ck_assert_int_eq(seal(key, "user-1", rfc_secret, 20, sealed), 0);
	ck_assert_int_eq(seal(key, "user-1", rfc_secret, 20, again), 0);
	ck_assert_mem_ne(sealed, again, sizeof sealed); /* a fresh nonce each time */
	ck_assert_int_eq(seal_open(key, "user-1", sealed, sizeof sealed, opened), 0);
	ck_assert_mem_eq(opened, rfc_secret, 20);
	ck_assert_int_eq(seal_open(other, "user-1", sealed, sizeof sealed, opened), -1);
	ck_assert_int_eq(seal_open(key, "user-2", sealed, sizeof sealed, opened), -1);
	sealed[15] ^= 1;
	ck_assert_int_eq(seal_open(key, "user-1", sealed, sizeof sealed, opened), -1);
	ck_assert_int_eq(seal_open(key, "user-1", sealed, SEAL_OVERHEAD - 1, opened), -1);
}
END_TEST

Suite *suite_totp(void)
{
	Suite *s = suite_create("totp");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_rfc6238, 0, sizeof totp_vectors / sizeof totp_vectors[0]);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_base32);
	tcase_add_test(tc, test_seal);
	suite_add_tcase(s, tc);
	return s;
}
