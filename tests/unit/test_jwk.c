/* test_jwk: JWKS parsing of lib/jwk over keys generated here: what is kept, what is skipped,
 * what is refused, and the reference count. */
#include "base64url.h"
#include "jwk.h"
#include "suites.h"
#include "testkeys.h"

#include <openssl/core_names.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWK_DOC_MAX (64 * 1024)

/* Key members the case documents name as @NAME@ (built from the generated keys). */
enum jwk_frag {
	F_RSA,
	F_RSA2,
	F_RSA1024,
	F_EC256,
	F_EC384,
	F_RSA_ZERO,     /* RSA with a leading zero byte before n */
	F_EC256_OFF,    /* P-256 with y changed: not on the curve */
	F_EC256_AS_384, /* P-256 coordinates labelled P-384 */
	F_EC384_AS_256, /* P-384 coordinates labelled P-256 */
	F_EC256_NO_Y,
	F_RSA_NO_E,
	F_RSA_PADDED,   /* n with base64 padding */
	F_RSA1024_WIDE, /* the 1024-bit key's n after 128 zero bytes: 2048 bits wide, not strong */
	F_COUNT
};

static const char *const jwk_frag_names[F_COUNT] = {
	[F_RSA] = "RSA",
	[F_RSA2] = "RSA2",
	[F_RSA1024] = "RSA1024",
	[F_EC256] = "EC256",
	[F_EC384] = "EC384",
	[F_RSA_ZERO] = "RSA_ZERO",
	[F_EC256_OFF] = "EC256_OFF",
	[F_EC256_AS_384] = "EC256_AS_384",
	[F_EC384_AS_256] = "EC384_AS_256",
	[F_EC256_NO_Y] = "EC256_NO_Y",
	[F_RSA_NO_E] = "RSA_NO_E",
	[F_RSA_PADDED] = "RSA_PADDED",
	[F_RSA1024_WIDE] = "RSA1024_WIDE",
};

static char jwk_frags[F_COUNT][2048];

/* Replaces the first `from` of s by `to` (s has room). */
static void jwk_replace(char *s, size_t size, const char *from, const char *to)
{
	char *at = strstr(s, from), rest[2048];

	ck_assert_ptr_nonnull(at);
	snprintf(rest, sizeof rest, "%s", at + strlen(from));
	snprintf(at, size - (size_t)(at - s), "%s%s", to, rest);
}

static void jwk_setup(void)
{
	static const enum testkey plain[] = { [F_RSA] = TK_RSA,
		                              [F_RSA2] = TK_RSA2,
		                              [F_RSA1024] = TK_RSA1024,
		                              [F_EC256] = TK_EC256,
		                              [F_EC384] = TK_EC384 };
	unsigned char n[520] = { 0 };
	BIGNUM *bn = NULL;
	char *b64, *y;
	int nl;

	testkeys_init();
	for (int f = F_RSA; f <= F_EC384; f++)
		snprintf(jwk_frags[f], sizeof jwk_frags[f], "%s", testkey_jwk(plain[f]));

	ck_assert_int_eq(EVP_PKEY_get_bn_param(testkey(TK_RSA), OSSL_PKEY_PARAM_RSA_N, &bn), 1);
	n[0] = 0;
	nl = BN_bn2bin(bn, n + 1);
	BN_free(bn);
	bn = NULL; /* EVP_PKEY_get_bn_param would write into it */
	b64 = test_b64(n, (size_t)nl + 1);
	snprintf(jwk_frags[F_RSA_ZERO], sizeof jwk_frags[0],
	         "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"", b64);
	free(b64);

	ck_assert_int_eq(EVP_PKEY_get_bn_param(testkey(TK_RSA1024), OSSL_PKEY_PARAM_RSA_N, &bn), 1);
	ck_assert_int_eq(BN_bn2binpad(bn, n, 256), 256);
	BN_free(bn);
	b64 = test_b64(n, 256);
	snprintf(jwk_frags[F_RSA1024_WIDE], sizeof jwk_frags[0],
	         "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"", b64);
	free(b64);

	snprintf(jwk_frags[F_EC256_OFF], sizeof jwk_frags[0], "%s", testkey_jwk(TK_EC256));
	y = strstr(jwk_frags[F_EC256_OFF], "\"y\":\"") + 5 + 10; /* a middle character */
	*y = *y == 'A' ? 'B' : 'A';

	snprintf(jwk_frags[F_EC256_AS_384], sizeof jwk_frags[0], "%s", testkey_jwk(TK_EC256));
	jwk_replace(jwk_frags[F_EC256_AS_384], sizeof jwk_frags[0], "P-256", "P-384");
	snprintf(jwk_frags[F_EC384_AS_256], sizeof jwk_frags[0], "%s", testkey_jwk(TK_EC384));
	jwk_replace(jwk_frags[F_EC384_AS_256], sizeof jwk_frags[0], "P-384", "P-256");

	snprintf(jwk_frags[F_EC256_NO_Y], sizeof jwk_frags[0], "%s", testkey_jwk(TK_EC256));
	*strstr(jwk_frags[F_EC256_NO_Y], ",\"y\":") = '\0';
	snprintf(jwk_frags[F_RSA_NO_E], sizeof jwk_frags[0], "%s", testkey_jwk(TK_RSA));
	*strstr(jwk_frags[F_RSA_NO_E], ",\"e\":") = '\0';
	/* a 256-byte n is 342 characters: canonical padding would be "==" */
	snprintf(jwk_frags[F_RSA_PADDED], sizeof jwk_frags[0], "%s", testkey_jwk(TK_RSA));
	jwk_replace(jwk_frags[F_RSA_PADDED], sizeof jwk_frags[0], "\",\"e\"", "==\",\"e\"");
}

/* The key members named name (w characters). */
static const char *jwk_frag(const char *name, size_t w)
{
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(jwk_frag_names[f]) == w && strncmp(jwk_frag_names[f], name, w) == 0)
			return jwk_frags[f];
	ck_abort_msg("no fragment %.*s", (int)w, name);
	return "";
}

/* The case's document with every @NAME@ replaced by its key members, and @Knnn@ by nnn
 * characters "k". */
static char *jwk_expand(const char *tmpl)
{
	char *out = malloc(JWK_DOC_MAX), *o = out;

	ck_assert_ptr_nonnull(out);
	while (*tmpl) {
		const char *end;
		size_t w;

		if (*tmpl != '@') {
			*o++ = *tmpl++;
			continue;
		}
		end = strchr(tmpl + 1, '@');
		ck_assert_ptr_nonnull(end);
		w = (size_t)(end - tmpl - 1);
		if (tmpl[1] == 'K') {
			int k = atoi(tmpl + 2);
			memset(o, 'k', (size_t)k);
			o += k;
		} else {
			o += sprintf(o, "%s", jwk_frag(tmpl + 1, w));
		}
		tmpl = end + 1;
	}
	*o = '\0';
	ck_assert_uint_lt((size_t)(o - out), JWK_DOC_MAX);
	return out;
}

static const struct jwk_case {
	const char *name;
	const char *doc;
	const char *kids; /* kept keys' kids in order ("-": none, @Knnn@ expanded); NULL: refused */
	const char *err;  /* NULL: kept; else a part of the error message */
} jwk_cases[] = {
	/* kept */
	{ "one RSA key", "{\"keys\":[{@RSA@,\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\"}]}",
	  "r1", NULL },
	{ "RSA, P-256 and P-384",
	  "{\"keys\":[{@RSA@,\"kid\":\"r1\"},{@EC256@,\"kid\":\"e1\"},{@EC384@,\"kid\":\"e3\"}]}",
	  "r1 e1 e3", NULL },
	{ "keys without kid", "{\"keys\":[{@RSA@},{@RSA2@}]}", "- -", NULL },
	{ "n with a leading zero byte", "{\"keys\":[{@RSA_ZERO@,\"kid\":\"z\"}]}", "z", NULL },
	{ "unknown members ignored",
	  "{\"keys\":[{@RSA@,\"kid\":\"r1\",\"x5c\":[\"MIIC\"],\"x5t\":\"abc\",\"ext\":true}],"
	  "\"other\":1}",
	  "r1", NULL },
	{ "key_ops verify", "{\"keys\":[{@RSA@,\"kid\":\"r1\",\"key_ops\":[\"verify\"]}]}", "r1",
	  NULL },
	{ "key_ops sign and verify",
	  "{\"keys\":[{@RSA@,\"kid\":\"r1\",\"key_ops\":[\"sign\",\"verify\"]}]}", "r1", NULL },
	{ "kid of 128 characters", "{\"keys\":[{@RSA@,\"kid\":\"@K128@\"}]}", "@K128@", NULL },
	{ "alg of 15 characters", "{\"keys\":[{@RSA@,\"kid\":\"r1\",\"alg\":\"@K15@\"}]}", "r1",
	  NULL },

	/* skipped */
	{ "use enc skipped (Keycloak's set)",
	  "{\"keys\":[{@RSA2@,\"kid\":\"enc\",\"use\":\"enc\",\"alg\":\"RSA-OAEP\"},"
	  "{@RSA@,\"kid\":\"sig\",\"use\":\"sig\",\"alg\":\"RS256\"}]}",
	  "sig", NULL },
	{ "use not a string skipped",
	  "{\"keys\":[{@RSA2@,\"kid\":\"x\",\"use\":1},{@RSA@,\"kid\":\"r1\"}]}", "r1", NULL },
	{ "use SIG skipped",
	  "{\"keys\":[{@RSA2@,\"kid\":\"x\",\"use\":\"SIG\"},{@RSA@,\"kid\":\"r1\"}]}", "r1",
	  NULL },
	{ "key_ops encrypt skipped",
	  "{\"keys\":[{@RSA2@,\"kid\":\"x\",\"key_ops\":[\"encrypt\"]},{@RSA@,\"kid\":\"r1\"}]}",
	  "r1", NULL },
	{ "key_ops not an array skipped",
	  "{\"keys\":[{@RSA2@,\"kid\":\"x\",\"key_ops\":\"verify\"},{@RSA@,\"kid\":\"r1\"}]}", "r1",
	  NULL },
	{ "oct skipped",
	  "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\",\"alg\":\"HS256\"},"
	  "{@RSA@,\"kid\":\"r1\"}]}",
	  "r1", NULL },
	{ "OKP skipped",
	  "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","
	  "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},{@RSA@,\"kid\":\"r1\"}]}",
	  "r1", NULL },
	{ "P-521 skipped",
	  "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-521\",\"kid\":\"p5\",\"x\":\"AA\",\"y\":\"AA\"},"
	  "{@EC256@,\"kid\":\"e1\"}]}",
	  "e1", NULL },
	{ "EC without crv skipped",
	  "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"c\"},{@RSA@,\"kid\":\"r1\"}]}", "r1", NULL },
	{ "kty in lower case skipped",
	  "{\"keys\":[{\"kty\":\"rsa\",\"kid\":\"l\",\"n\":\"AQAB\",\"e\":\"AQAB\"},{@RSA@,\"kid\":\"r1\"}]}",
	  "r1", NULL },
	{ "RSA of 1024 bits skipped",
	  "{\"keys\":[{@RSA1024@,\"kid\":\"weak\"},{@RSA@,\"kid\":\"r1\"}]}", "r1", NULL },
	{ "RSA of 1024 bits after zero bytes skipped",
	  "{\"keys\":[{@RSA1024_WIDE@,\"kid\":\"weak\"},{@RSA@,\"kid\":\"r1\"}]}", "r1", NULL },
	{ "a skipped key's kid may repeat",
	  "{\"keys\":[{@RSA2@,\"kid\":\"k\",\"use\":\"enc\"},{@RSA@,\"kid\":\"k\"}]}", "k", NULL },
	{ "a skipped key may be malformed",
	  "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"use\":\"enc\",\"n\":1},{@RSA@,\"kid\":\"r1\"}]}",
	  "r1", NULL },

	/* refused */
	{ "only an enc key", "{\"keys\":[{@RSA@,\"kid\":\"enc\",\"use\":\"enc\"}]}", NULL,
	  "no usable" },
	{ "only an oct key", "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}", NULL,
	  "no usable" },
	{ "only a 1024-bit RSA key", "{\"keys\":[{@RSA1024@,\"kid\":\"weak\"}]}", NULL,
	  "no usable" },
	{ "only a 1024-bit RSA key after zero bytes", "{\"keys\":[{@RSA1024_WIDE@}]}", NULL,
	  "no usable" },
	{ "no keys", "{\"keys\":[]}", NULL, "no usable" },
	{ "RSA private key", "{\"keys\":[{@RSA@,\"kid\":\"r1\",\"d\":\"AQAB\"}]}", NULL,
	  "private" },
	{ "EC private key", "{\"keys\":[{@EC256@,\"kid\":\"e1\",\"d\":\"AQAB\"}]}", NULL,
	  "private" },
	{ "repeated kid", "{\"keys\":[{@RSA@,\"kid\":\"k\"},{@RSA2@,\"kid\":\"k\"}]}", NULL,
	  "same kid" },
	{ "repeated kid across types", "{\"keys\":[{@RSA@,\"kid\":\"k\"},{@EC256@,\"kid\":\"k\"}]}",
	  NULL, "same kid" },
	{ "EC point not on the curve", "{\"keys\":[{@EC256_OFF@,\"kid\":\"e1\"}]}", NULL, "point" },
	{ "EC point zero",
	  "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	  "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
	  NULL, "point" },
	{ "P-256 point labelled P-384", "{\"keys\":[{@EC256_AS_384@}]}", NULL, "size" },
	{ "P-384 point labelled P-256", "{\"keys\":[{@EC384_AS_256@}]}", NULL, "size" },
	{ "EC coordinate of 31 bytes",
	  "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	  "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
	  NULL, "size" },
	{ "EC without y", "{\"keys\":[{@EC256_NO_Y@}]}", NULL, "size" },
	{ "RSA without e", "{\"keys\":[{@RSA_NO_E@}]}", NULL, "n and e" },
	{ "RSA with padded n", "{\"keys\":[{@RSA_PADDED@}]}", NULL, "n and e" },
	{ "RSA n not a string", "{\"keys\":[{\"kty\":\"RSA\",\"n\":12345,\"e\":\"AQAB\"}]}", NULL,
	  "n and e" },
	{ "RSA n of junk", "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"@K400@\",\"e\":\"AQAB\"}]}", NULL,
	  "RSA key is not valid" },
	{ "a good key, then a bad one", "{\"keys\":[{@RSA@,\"kid\":\"r1\"},{@EC256_OFF@}]}", NULL,
	  "key 1" },
	{ "key without kty", "{\"keys\":[{\"kid\":\"r1\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", NULL,
	  "kty" },
	{ "kty a number", "{\"keys\":[{\"kty\":1}]}", NULL, "kty" },
	{ "key a string", "{\"keys\":[\"RSA\",{@RSA@}]}", NULL, "kty" },
	{ "kid a number", "{\"keys\":[{@RSA@,\"kid\":1}]}", NULL, "kid" },
	{ "kid of 129 characters", "{\"keys\":[{@RSA@,\"kid\":\"@K129@\"}]}", NULL, "kid" },
	{ "alg of 16 characters", "{\"keys\":[{@RSA@,\"alg\":\"@K16@\"}]}", NULL, "alg" },
	{ "alg a number", "{\"keys\":[{@RSA@,\"alg\":256}]}", NULL, "alg" },
	{ "not JSON", "keys: []", NULL, "keys" },
	{ "empty", "", NULL, "keys" },
	{ "an array", "[{@RSA@}]", NULL, "keys" },
	{ "keys an object", "{\"keys\":{\"r1\":{@RSA@}}}", NULL, "keys" },
	{ "repeated member", "{\"keys\":[{@RSA@,\"kid\":\"a\",\"kid\":\"b\"}]}", NULL, "keys" },
	{ "trailing junk", "{\"keys\":[{@RSA@}]} x", NULL, "keys" },
};

START_TEST(test_cases)
{
	const struct jwk_case *c = &jwk_cases[_i];
	static struct jwks sentinel;
	char *doc = jwk_expand(c->doc), err[256] = "", kids[1024] = "", *want;
	struct jwks *keys = &sentinel;
	int rc = jwks_parse(doc, strlen(doc), &keys, err, sizeof err);

	if (c->err != NULL) {
		ck_assert_msg(rc == -1, "%s: accepted", c->name);
		ck_assert_msg(strstr(err, c->err) != NULL, "%s: error \"%s\", want \"%s\"", c->name,
		              err, c->err);
		ck_assert_msg(keys == &sentinel, "%s: *out written on failure", c->name);
	} else {
		ck_assert_msg(rc == 0, "%s: %s", c->name, err);
		for (size_t i = 0; i < keys->n; i++) {
			ck_assert_ptr_nonnull(keys->keys[i].pkey);
			snprintf(kids + strlen(kids), sizeof kids - strlen(kids), "%s%s",
			         i ? " " : "", keys->keys[i].kid[0] ? keys->keys[i].kid : "-");
		}
		want = jwk_expand(c->kids);
		ck_assert_msg(strcmp(kids, want) == 0, "%s: kept \"%s\", want \"%s\"", c->name,
		              kids, want);
		free(want);
		ck_assert_int_eq(keys->refs, 1);
		jwks_unref(keys);
	}
	free(doc);
}
END_TEST

/* Types, alg, and the public keys themselves: the same as the generated ones. */
START_TEST(test_fields)
{
	char *doc =
	    jwk_expand("{\"keys\":[{@RSA@,\"kid\":\"r1\",\"alg\":\"PS256\"},"
	               "{@EC256@,\"kid\":\"e1\",\"alg\":\"ES256\"},{@EC384@},{@RSA_ZERO@}]}");
	char err[256];
	struct jwks *keys;

	ck_assert_int_eq(jwks_parse(doc, strlen(doc), &keys, err, sizeof err), 0);
	ck_assert_uint_eq(keys->n, 4);
	ck_assert_int_eq(keys->keys[0].type, JWK_RSA);
	ck_assert_str_eq(keys->keys[0].alg, "PS256");
	ck_assert_int_eq(keys->keys[1].type, JWK_EC_P256);
	ck_assert_str_eq(keys->keys[1].alg, "ES256");
	ck_assert_int_eq(keys->keys[2].type, JWK_EC_P384);
	ck_assert_str_eq(keys->keys[2].kid, "");
	ck_assert_str_eq(keys->keys[2].alg, "");
	ck_assert_int_eq(EVP_PKEY_get_bits(keys->keys[0].pkey), 2048);
	ck_assert_int_eq(EVP_PKEY_eq(keys->keys[0].pkey, testkey(TK_RSA)), 1);
	ck_assert_int_eq(EVP_PKEY_eq(keys->keys[1].pkey, testkey(TK_EC256)), 1);
	ck_assert_int_eq(EVP_PKEY_eq(keys->keys[2].pkey, testkey(TK_EC384)), 1);
	ck_assert_int_eq(EVP_PKEY_eq(keys->keys[3].pkey, testkey(TK_RSA)), 1);
	ck_assert_int_eq(EVP_PKEY_eq(keys->keys[0].pkey, testkey(TK_RSA2)), 0);
	jwks_unref(keys);
	free(doc);
}
END_TEST

START_TEST(test_refcount)
{
	char *doc = jwk_expand("{\"keys\":[{@EC256@}]}");
	char err[256];
	struct jwks *keys;

	ck_assert_int_eq(jwks_parse(doc, strlen(doc), &keys, err, sizeof err), 0);
	ck_assert_int_eq(keys->refs, 1);
	ck_assert_ptr_eq(jwks_ref(keys), keys);
	ck_assert_ptr_eq(jwks_ref(keys), keys);
	ck_assert_int_eq(keys->refs, 3);
	jwks_unref(keys);
	jwks_unref(keys);
	ck_assert_int_eq(keys->refs, 1);
	ck_assert_uint_eq(keys->n, 1);
	jwks_unref(keys); /* the last: freed (valgrind and ASan check it) */
	jwks_unref(NULL);
	free(doc);
}
END_TEST

/* JWKS_MAX_KEYS usable keys are kept; one more is an error. */
START_TEST(test_max_keys)
{
	char *doc = malloc(JWK_DOC_MAX), err[256];
	struct jwks *keys;

	for (int count = JWKS_MAX_KEYS; count <= JWKS_MAX_KEYS + 1; count++) {
		size_t n = (size_t)sprintf(doc, "{\"keys\":[");
		for (int i = 0; i < count; i++)
			n +=
			    (size_t)sprintf(doc + n, "%s{%s}", i ? "," : "", testkey_jwk(TK_EC256));
		sprintf(doc + n, "]}");
		if (count == JWKS_MAX_KEYS) {
			ck_assert_int_eq(jwks_parse(doc, strlen(doc), &keys, err, sizeof err), 0);
			ck_assert_uint_eq(keys->n, JWKS_MAX_KEYS);
			jwks_unref(keys);
		} else {
			ck_assert_int_eq(jwks_parse(doc, strlen(doc), &keys, err, sizeof err), -1);
			ck_assert_ptr_nonnull(strstr(err, "more than"));
		}
	}
	free(doc);
}
END_TEST

/* The RSA minimum counts bits, not bytes: a 256-byte modulus whose top bit is clear has 2047
 * bits and is skipped; keys that are skipped do not count toward the limit. */
START_TEST(test_rsa_bits_and_skipped_keys)
{
	unsigned char n[256];
	char *b64, *doc = malloc(JWK_DOC_MAX), err[256];
	struct jwks *keys;
	size_t len;

	memset(n, 0xa5, sizeof n);
	n[0] = 0x7f;
	b64 = test_b64(n, sizeof n);
	snprintf(doc, JWK_DOC_MAX, "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
	         b64);
	ck_assert_int_eq(jwks_parse(doc, strlen(doc), &keys, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "no usable"));
	free(b64);
	len = (size_t)sprintf(doc, "{\"keys\":[");
	for (int i = 0; i < JWKS_MAX_KEYS; i++)
		len += (size_t)sprintf(doc + len, "{%s},", testkey_jwk(TK_EC256));
	sprintf(doc + len, "{\"use\":\"enc\",%s}]}", testkey_jwk(TK_EC256));
	ck_assert_int_eq(jwks_parse(doc, strlen(doc), &keys, err, sizeof err), 0);
	ck_assert_uint_eq(keys->n, JWKS_MAX_KEYS);
	jwks_unref(keys);
	free(doc);
}
END_TEST

START_TEST(test_too_large)
{
	char *doc = malloc(JWKS_DOC_MAX + 2), err[256];
	struct jwks *keys;
	size_t n;

	ck_assert_ptr_nonnull(doc);
	n = (size_t)sprintf(doc, "{\"keys\":[{%s}],\"pad\":\"", testkey_jwk(TK_EC256));
	memset(doc + n, 'p', JWKS_DOC_MAX - n - 2);
	memcpy(doc + JWKS_DOC_MAX - 2, "\"}", 3);
	ck_assert_uint_eq(strlen(doc), JWKS_DOC_MAX);
	ck_assert_int_eq(jwks_parse(doc, JWKS_DOC_MAX, &keys, err, sizeof err), 0);
	jwks_unref(keys);
	memcpy(doc + JWKS_DOC_MAX - 2, "p\"}", 4);
	ck_assert_int_eq(jwks_parse(doc, JWKS_DOC_MAX + 1, &keys, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger"));
	free(doc);
}
END_TEST

Suite *suite_jwk(void)
{
	Suite *s = suite_create("jwk");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, jwk_setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cases, 0, sizeof jwk_cases / sizeof jwk_cases[0]);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_max_keys);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_rsa_bits_and_skipped_keys);
	suite_add_tcase(s, tc);
	return s;
}
