/* test_crypto: tokens, SHA-256/HMAC vectors, constant-time compare and bcrypt of lib/crypto. */
#include "crypto.h"
#include "suites.h"

#include <string.h>

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[d[i] >> 4];
		out[2 * i + 1] = h[d[i] & 15];
	}
	out[2 * n] = '\0';
}

START_TEST(test_sha256_vector)
{
	unsigned char d[CRYPTO_SHA256_LEN];
	char h[65];

	crypto_sha256("abc", 3, d);
	hex(d, sizeof d, h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

START_TEST(test_hmac_rfc4231_case2)
{
	unsigned char d[CRYPTO_SHA256_LEN];
	char h[65];
	const char *data = "what do ya want for nothing?";

	ck_assert_int_eq(crypto_hmac_sha256("Jefe", 4, data, strlen(data), d), 0);
	hex(d, sizeof d, h);
	ck_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
END_TEST

START_TEST(test_tokens)
{
	static const char *const prefixes[] = { "pst_s_", "pst_k_", "pst_l_",
		                                "pst_r_", "pst_t_", "pst_m_" };
	char a[CRYPTO_TOKEN_LEN + 1], b[CRYPTO_TOKEN_LEN + 1];

	for (int k = 0; k < TOKEN_KIND_COUNT; k++) {
		ck_assert_int_eq(crypto_token_new((enum crypto_token_kind)k, a), 0);
		ck_assert_int_eq(crypto_token_new((enum crypto_token_kind)k, b), 0);
		ck_assert_uint_eq(strlen(a), 49);
		ck_assert_int_eq(strncmp(a, prefixes[k], 6), 0);
		ck_assert_str_ne(a, b);
		ck_assert_int_eq(crypto_token_kind(a, strlen(a)), k);
	}
}
END_TEST

static const char *const token_rejects[] = {
	"",
	"pst_s_",
	"pst_x_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* unknown kind */
	"pst_s_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",  /* non-canonical last char */
	"pst_s_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* short */
	"pst_s_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* long */
	"pst_s_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
	"PST_S_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* case */
};

START_TEST(test_token_rejects)
{
	ck_assert_int_eq(crypto_token_kind(token_rejects[_i], strlen(token_rejects[_i])), -1);
}
END_TEST

START_TEST(test_equal_and_wipe)
{
	unsigned char a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, b[8] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	static const unsigned char zero[8];

	ck_assert(crypto_equal(a, a, 8));
	ck_assert(!crypto_equal(a, b, 8));
	ck_assert(crypto_equal(a, b, 7));
	crypto_wipe(a, sizeof a);
	ck_assert_mem_eq(a, zero, 8);
}
END_TEST

START_TEST(test_bcrypt)
{
	char hash[CRYPTO_BCRYPT_HASH_LEN + 1];
	char long_pw[80];
	/* Openwall crypt_blowfish test vector; pgcrypto writes $2a$ hashes, so we verify those. */
	const char *pg2a = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

	ck_assert_int_eq(crypto_bcrypt_hash("correct horse battery", 12, hash), 0);
	ck_assert_int_eq(strncmp(hash, "$2b$12$", 7), 0);
	ck_assert_uint_eq(strlen(hash), 60);
	ck_assert(crypto_bcrypt_verify("correct horse battery", hash));
	ck_assert(!crypto_bcrypt_verify("correct horse batterz", hash));
	ck_assert(!crypto_bcrypt_verify("", hash));
	ck_assert(crypto_bcrypt_verify("U*U", pg2a));
	ck_assert(!crypto_bcrypt_verify("U*V", pg2a));
	/* cost below the floor, and > 72 bytes, are refused rather than weakened or truncated */
	ck_assert_int_eq(crypto_bcrypt_hash("correct horse battery", 6, hash), -1);
	memset(long_pw, 'a', sizeof long_pw - 1);
	long_pw[sizeof long_pw - 1] = '\0';
	ck_assert_int_eq(crypto_bcrypt_hash(long_pw, 12, hash), -1);
	ck_assert(!crypto_bcrypt_verify(long_pw, hash));
	/* anything but $2a$/$2b$ is not a hash we accept */
	ck_assert(!crypto_bcrypt_verify("x", "$1$abc$def"));
	ck_assert(!crypto_bcrypt_verify("x", ""));
	ck_assert(!crypto_bcrypt_verify("x", "$2b$04$short"));
}
END_TEST

START_TEST(test_hex)
{
	char out[9] = "xxxxxxxx";

	crypto_hex("\x00\x9f\xa0\xff", 4, out);
	ck_assert_str_eq(out, "009fa0ff");
	crypto_hex("", 0, out);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_unhex)
{
	unsigned char b[4] = { 1, 2, 3, 4 };

	ck_assert_int_eq(crypto_unhex("009fa0ff", 4, b), 0);
	ck_assert_mem_eq(b, "\x00\x9f\xa0\xff", 4);
	ck_assert_int_eq(crypto_unhex("", 0, b), 0);
	ck_assert_int_eq(crypto_unhex("009FA0ff", 4, b),
	                 -1); /* upper case is not what was written */
	ck_assert_int_eq(crypto_unhex("0g", 1, b), -1);
	ck_assert_int_eq(crypto_unhex("0", 1, b), -1); /* the NUL is no digit: never read past it */
	ck_assert_int_eq(crypto_unhex(" 1", 1, b), -1); /* sscanf("%2x") took blanks and signs */
	ck_assert_int_eq(crypto_unhex("-1", 1, b), -1);
}
END_TEST

Suite *suite_crypto(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_sha256_vector);
	tcase_add_test(tc, test_hmac_rfc4231_case2);
	tcase_add_test(tc, test_tokens);
	tcase_add_loop_test(tc, test_token_rejects, 0,
	                    sizeof token_rejects / sizeof token_rejects[0]);
	tcase_add_test(tc, test_equal_and_wipe);
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_unhex);
	tcase_add_test(tc, test_bcrypt);
	suite_add_tcase(s, tc);
	return s;
}
