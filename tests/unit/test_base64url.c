/* test_base64url: RFC 4648 vectors and the strictness rules of lib/base64url. */
#include "base64url.h"
#include "suites.h"

#include <string.h>

static const struct {
	const char *raw;
	const char *enc;
} b64_vectors[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
	{ "\xfb\xff", "-_8" },
};

START_TEST(test_vectors)
{
	char enc[32];
	unsigned char dec[32];
	const char *raw = b64_vectors[_i].raw, *want = b64_vectors[_i].enc;

	ck_assert_int_eq(base64url_encode(enc, sizeof enc, raw, strlen(raw)), (long)strlen(want));
	ck_assert_str_eq(enc, want);
	ck_assert_int_eq(base64url_decode(dec, sizeof dec, want, strlen(want)), (long)strlen(raw));
	ck_assert_mem_eq(dec, raw, strlen(raw));
}
END_TEST

/* Everything a lenient decoder would accept and a strict one must not. */
static const char *const b64_rejects[] = {
	"Zg==",   /* padding */
	"Zm9v\n", /* whitespace */
	"Zm 9v",  /* space */
	"Zm+v",   /* standard-alphabet character */
	"Zm/v",   /* standard-alphabet character */
	"Z",      /* impossible length 4k+1 */
	"Zh",     /* non-zero trailing bits ("f" is Zg) */
	"Zm9",    /* non-zero trailing bits ("fo" is Zm8) */
	"Zm9v.",  /* dot */
};

START_TEST(test_rejects)
{
	unsigned char dec[32];
	const char *s = b64_rejects[_i];

	ck_assert_int_eq(base64url_decode(dec, sizeof dec, s, strlen(s)), -1);
}
END_TEST

START_TEST(test_bounds)
{
	char small[5];
	unsigned char d[2];

	ck_assert_int_eq(base64url_encode(small, 4, "foo", 3), -1); /* needs 4 + NUL */
	ck_assert_int_eq(base64url_encode(small, sizeof small, "foo", 3), 4);
	ck_assert_int_eq(base64url_decode(d, sizeof d, "Zm9v", 4), -1); /* 3 bytes into 2 */
	ck_assert_int_eq(BASE64URL_ENCODED_LEN(32), 43);
}
END_TEST

Suite *suite_base64url(void)
{
	Suite *s = suite_create("base64url");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_vectors, 0, sizeof b64_vectors / sizeof b64_vectors[0]);
	tcase_add_loop_test(tc, test_rejects, 0, sizeof b64_rejects / sizeof b64_rejects[0]);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}
