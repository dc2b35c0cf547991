/* test_jws: compact JWS verification of lib/jws against tokens signed here with fresh keys:
 * every algorithm, alg pinning, kid selection, typ, and the malformed-token table. */
#include "jws.h"
#include "suites.h"
#include "testkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWS_ALL_ALGS "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384"
#define JWS_PAYLOAD "{\"iss\":\"https://idp.example\",\"sub\":\"alice\",\"aud\":\"postern\"}"

/* The key sets the tokens are verified against. */
enum jws_set {
	S_MAIN,    /* RSA r1, P-256 e1, P-384 e3 */
	S_TWO_RSA, /* RSA r1, RSA r2 */
	S_RSA_OCT, /* RSA r1 and an HMAC secret h1 (which the parser must drop) */
	S_RSA_ALG, /* RSA r1 that names "alg": "RS256" */
	S_NO_KID,  /* RSA and P-256, neither with a kid */
	S_COUNT
};

static const struct {
	enum testkey key;
	const char *members; /* after the key's own: kid, alg */
} jws_set_keys[S_COUNT][3] = {
	[S_MAIN] = { { TK_RSA, ",\"kid\":\"r1\"" },
	             { TK_EC256, ",\"kid\":\"e1\"" },
	             { TK_EC384, ",\"kid\":\"e3\"" } },
	[S_TWO_RSA] = { { TK_RSA, ",\"kid\":\"r1\"" }, { TK_RSA2, ",\"kid\":\"r2\"" } },
	[S_RSA_OCT] = { { TK_RSA, ",\"kid\":\"r1\"" } },
	[S_RSA_ALG] = { { TK_RSA, ",\"kid\":\"r1\",\"alg\":\"RS256\"" } },
	[S_NO_KID] = { { TK_RSA, "" }, { TK_EC256, "" } },
};

static struct jwks *jws_sets[S_COUNT];

static void jws_setup(void)
{
	char doc[8192], err[256];

	testkeys_init();
	for (int s = 0; s < S_COUNT; s++) {
		size_t n = (size_t)snprintf(doc, sizeof doc, "{\"keys\":[");
		for (int i = 0; i < 3 && jws_set_keys[s][i].members != NULL; i++)
			n += (size_t)snprintf(doc + n, sizeof doc - n, "%s{%s%s}", i ? "," : "",
			                      testkey_jwk(jws_set_keys[s][i].key),
			                      jws_set_keys[s][i].members);
		if (s == S_RSA_OCT)
			n += (size_t)snprintf(
			    doc + n, sizeof doc - n,
			    ",{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"}");
		snprintf(doc + n, sizeof doc - n, "]}");
		ck_assert_msg(jwks_parse(doc, strlen(doc), &jws_sets[s], err, sizeof err) == 0,
		              "set %d: %s", s, err);
	}
	ck_assert_uint_eq(jws_sets[S_MAIN]->n, 3);
	ck_assert_uint_eq(jws_sets[S_RSA_OCT]->n, 1);
}

static void jws_teardown(void)
{
	for (int s = 0; s < S_COUNT; s++) {
		jwks_unref(jws_sets[s]);
		jws_sets[s] = NULL;
	}
}

/* What is done to a token on its way to the verifier. */
enum jws_mangle {
	M_NONE,
	M_FLIP_SIG,         /* one bit of the signature */
	M_TRUNC_SIG,        /* the signature one byte short */
	M_LONG_SIG,         /* a zero byte after the signature */
	M_SWAP_PAYLOAD,     /* another (valid JSON) payload under the same signature */
	M_ONE_DOT,          /* header.payload */
	M_FOUR_PARTS,       /* header.payload.sig.sig */
	M_FIVE_PARTS,       /* a JWE's shape */
	M_EMPTY_SIG,        /* header.payload. */
	M_PAD_SIG,          /* base64 padding after the signature */
	M_NONCANON_SIG,     /* non-zero trailing bits in the signature's last character */
	M_NONCANON_HEADER,  /* the same in the header (signed as sent) */
	M_NONCANON_PAYLOAD, /* the same in the payload (signed as sent) */
	M_PAD_PAYLOAD,      /* padding in the payload (signed as sent) */
	M_SPACE_SIG,        /* a space inside the signature */
	M_NUL,              /* a NUL byte inside the length */
	M_EMPTY,            /* a zero-length token */
	M_TOO_LONG,         /* a valid token longer than JWS_TOKEN_MAX */
};

static const struct jws_case {
	const char *name;
	const char *header;
	const char *payload; /* NULL: JWS_PAYLOAD */
	enum testkey key;
	const char *sign; /* the algorithm really used; NULL: 64 junk bytes */
	enum jws_set set;
	const char *allowed; /* NULL: all */
	const char *typs;    /* NULL: "JWT" */
	enum jws_mangle mangle;
	enum jws_status want;
} jws_cases[] = {
	/* every algorithm, with its kid */
	{ "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "RS384", "{\"alg\":\"RS384\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS384", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "RS512", "{\"alg\":\"RS512\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS512", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "PS256", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "PS256", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "PS384", "{\"alg\":\"PS384\",\"kid\":\"r1\"}", NULL, TK_RSA, "PS384", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "PS512", "{\"alg\":\"PS512\",\"kid\":\"r1\"}", NULL, TK_RSA, "PS512", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "ES256", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256, "ES256", S_MAIN, NULL,
	  NULL, M_NONE, JWS_OK },
	{ "ES384", "{\"alg\":\"ES384\",\"kid\":\"e3\"}", NULL, TK_EC384, "ES384", S_MAIN, NULL,
	  NULL, M_NONE, JWS_OK },
	{ "RS256 among the allowed", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, "ES256 RS256", NULL, M_NONE, JWS_OK },
	{ "allowed list with extra spaces", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256,
	  "ES256", S_MAIN, "  RS256   ES256 ", NULL, M_NONE, JWS_OK },

	/* alg pinning: checked before any key is looked for */
	{ "alg none", "{\"alg\":\"none\"}", NULL, TK_RSA, NULL, S_MAIN, NULL, NULL, M_NONE,
	  JWS_ALG },
	{ "alg none, empty signature", "{\"alg\":\"none\"}", NULL, TK_RSA, NULL, S_MAIN, NULL, NULL,
	  M_EMPTY_SIG, JWS_ALG },
	{ "alg none even if allowed", "{\"alg\":\"none\",\"kid\":\"r1\"}", NULL, TK_RSA, NULL,
	  S_MAIN, "none RS256", NULL, M_NONE, JWS_ALG },
	{ "alg None", "{\"alg\":\"None\"}", NULL, TK_RSA, NULL, S_MAIN, NULL, NULL, M_NONE,
	  JWS_ALG },
	{ "no alg", "{\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONE,
	  JWS_ALG },
	{ "alg a number", "{\"alg\":256,\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL,
	  M_NONE, JWS_ALG },
	{ "alg null", "{\"alg\":null,\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL,
	  M_NONE, JWS_ALG },
	{ "alg not allowed", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  "PS256 ES256", NULL, M_NONE, JWS_ALG },
	{ "alg a prefix of an allowed one", "{\"alg\":\"RS2\",\"kid\":\"r1\"}", NULL, TK_RSA, NULL,
	  S_MAIN, "RS256", NULL, M_NONE, JWS_ALG },
	{ "allowed a prefix of alg", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, "RS2", NULL, M_NONE, JWS_ALG },
	{ "alg in lower case", "{\"alg\":\"rs256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, NULL, M_NONE, JWS_ALG },
	{ "alg with a space", "{\"alg\":\"RS256 \",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, NULL, M_NONE, JWS_ALG },
	{ "two algs in alg", "{\"alg\":\"RS256 ES256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONE, JWS_ALG },
	{ "HS256 allowed, with an oct key in the set", "{\"alg\":\"HS256\",\"kid\":\"h1\"}", NULL,
	  TK_RSA, NULL, S_RSA_OCT, "HS256 RS256", NULL, M_NONE, JWS_ALG },
	{ "HS256 naming the RSA key", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", NULL, TK_RSA, NULL,
	  S_RSA_OCT, "HS256 RS256", NULL, M_NONE, JWS_ALG },
	{ "alg checked before kid", "{\"alg\":\"none\",\"kid\":\"unknown\"}", NULL, TK_RSA, NULL,
	  S_MAIN, NULL, NULL, M_NONE, JWS_ALG },

	/* key selection */
	{ "no kid, one RSA key", "{\"alg\":\"RS256\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL,
	  M_NONE, JWS_OK },
	{ "no kid, one P-256 key", "{\"alg\":\"ES256\"}", NULL, TK_EC256, "ES256", S_MAIN, NULL,
	  NULL, M_NONE, JWS_OK },
	{ "no kid, keys without kids", "{\"alg\":\"PS256\"}", NULL, TK_RSA, "PS256", S_NO_KID, NULL,
	  NULL, M_NONE, JWS_OK },
	{ "no kid, two RSA keys", "{\"alg\":\"RS256\"}", NULL, TK_RSA, "RS256", S_TWO_RSA, NULL,
	  NULL, M_NONE, JWS_NO_KEY },
	{ "kid of the second RSA key", "{\"alg\":\"RS256\",\"kid\":\"r2\"}", NULL, TK_RSA2, "RS256",
	  S_TWO_RSA, NULL, NULL, M_NONE, JWS_OK },
	{ "kid of the other RSA key", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA2, "RS256",
	  S_TWO_RSA, NULL, NULL, M_NONE, JWS_BAD_SIG },
	{ "unknown kid", "{\"alg\":\"RS256\",\"kid\":\"r9\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_NONE, JWS_NO_KEY },
	{ "kid in another case", "{\"alg\":\"RS256\",\"kid\":\"R1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONE, JWS_NO_KEY },
	{ "kid of an EC key, RS256", "{\"alg\":\"RS256\",\"kid\":\"e1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONE, JWS_NO_KEY },
	{ "kid of the P-384 key, ES256", "{\"alg\":\"ES256\",\"kid\":\"e3\"}", NULL, TK_EC256,
	  "ES256", S_MAIN, NULL, NULL, M_NONE, JWS_NO_KEY },
	{ "ES256 with only RSA keys", "{\"alg\":\"ES256\"}", NULL, TK_EC256, "ES256", S_TWO_RSA,
	  NULL, NULL, M_NONE, JWS_NO_KEY },
	{ "ES256 with only RSA keys, kid", "{\"alg\":\"ES256\",\"kid\":\"r1\"}", NULL, TK_EC256,
	  "ES256", S_TWO_RSA, NULL, NULL, M_NONE, JWS_NO_KEY },
	{ "key pinned to RS256, RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_RSA_ALG, NULL, NULL, M_NONE, JWS_OK },
	{ "key pinned to RS256, PS256", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "PS256",
	  S_RSA_ALG, NULL, NULL, M_NONE, JWS_NO_KEY },
	{ "key pinned to RS256, no kid", "{\"alg\":\"RS256\"}", NULL, TK_RSA, "RS256", S_RSA_ALG,
	  NULL, NULL, M_NONE, JWS_OK },

	/* signatures */
	{ "RS256 bit flip", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, NULL, M_FLIP_SIG, JWS_BAD_SIG },
	{ "PS256 bit flip", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "PS256", S_MAIN,
	  NULL, NULL, M_FLIP_SIG, JWS_BAD_SIG },
	{ "ES256 bit flip", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256, "ES256", S_MAIN,
	  NULL, NULL, M_FLIP_SIG, JWS_BAD_SIG },
	{ "ES384 bit flip", "{\"alg\":\"ES384\",\"kid\":\"e3\"}", NULL, TK_EC384, "ES384", S_MAIN,
	  NULL, NULL, M_FLIP_SIG, JWS_BAD_SIG },
	{ "RS256 one byte short", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_TRUNC_SIG, JWS_BAD_SIG },
	{ "ES256 one byte short", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256, "ES256",
	  S_MAIN, NULL, NULL, M_TRUNC_SIG, JWS_BAD_SIG },
	{ "RS256 one byte long", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_LONG_SIG, JWS_BAD_SIG },
	{ "ES256 one byte long", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256, "ES256",
	  S_MAIN, NULL, NULL, M_LONG_SIG, JWS_BAD_SIG },
	{ "ES384 one byte long", "{\"alg\":\"ES384\",\"kid\":\"e3\"}", NULL, TK_EC384, "ES384",
	  S_MAIN, NULL, NULL, M_LONG_SIG, JWS_BAD_SIG },
	{ "ES256 header, ES384 signature", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC384,
	  "ES384", S_MAIN, NULL, NULL, M_NONE, JWS_BAD_SIG },
	{ "RS256 header, PS256 signature", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA,
	  "PS256", S_MAIN, NULL, NULL, M_NONE, JWS_BAD_SIG },
	{ "PS256 header, RS256 signature", "{\"alg\":\"PS256\",\"kid\":\"r1\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, NULL, M_NONE, JWS_BAD_SIG },
	{ "RS384 header, RS256 signature", "{\"alg\":\"RS384\",\"kid\":\"r1\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, NULL, M_NONE, JWS_BAD_SIG },
	{ "junk signature", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, NULL, S_MAIN, NULL,
	  NULL, M_NONE, JWS_BAD_SIG },
	{ "payload swapped", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256, "ES256", S_MAIN,
	  NULL, NULL, M_SWAP_PAYLOAD, JWS_BAD_SIG },

	/* typ */
	{ "typ JWT", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, "JWT", M_NONE, JWS_OK },
	{ "typ jwt", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"jwt\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, "JWT", M_NONE, JWS_OK },
	{ "typ application/jwt", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"application/jwt\"}",
	  NULL, TK_RSA, "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_OK },
	{ "typ Application/JWT", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"Application/JWT\"}",
	  NULL, TK_RSA, "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_OK },
	{ "typ logout+jwt", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"logout+jwt\"}", NULL,
	  TK_RSA, "RS256", S_MAIN, NULL, "logout+jwt", M_NONE, JWS_OK },
	{ "typ application/logout+jwt",
	  "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"application/logout+jwt\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, "JWT logout+jwt", M_NONE, JWS_OK },
	{ "no typ", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  "logout+jwt", M_NONE, JWS_OK },
	{ "typ at+jwt as an ID token", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"at+jwt\"}",
	  NULL, TK_RSA, "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ JWT as a logout token", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWT\"}", NULL,
	  TK_RSA, "RS256", S_MAIN, NULL, "logout+jwt", M_NONE, JWS_TYP },
	{ "typ application/at+jwt",
	  "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"application/at+jwt\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ a prefix", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JW\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ longer", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"JWTX\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ with another media prefix",
	  "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"text/jwt\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ empty", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ application/ only", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"application/\"}",
	  NULL, TK_RSA, "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ a number", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":1}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ null", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":null}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },
	{ "typ checked before kid", "{\"alg\":\"RS256\",\"kid\":\"r9\",\"typ\":\"at+jwt\"}", NULL,
	  TK_RSA, "RS256", S_MAIN, NULL, "JWT", M_NONE, JWS_TYP },

	/* malformed header or payload */
	{ "crit", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"],\"exp\":1}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "crit empty", "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[]}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "crit with alg none", "{\"alg\":\"none\",\"crit\":[\"b64\"],\"b64\":false}", NULL, TK_RSA,
	  NULL, S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "kid a number", "{\"alg\":\"RS256\",\"kid\":1}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_NONE, JWS_MALFORMED },
	{ "kid null", "{\"alg\":\"RS256\",\"kid\":null}", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL,
	  M_NONE, JWS_MALFORMED },
	{ "header an array", "[\"RS256\"]", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONE,
	  JWS_MALFORMED },
	{ "header not JSON", "alg=RS256", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONE,
	  JWS_MALFORMED },
	{ "header with a repeated alg", "{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL,
	  TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "header empty", "", NULL, TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "payload an array", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "[{\"sub\":\"alice\"}]", TK_RSA,
	  "RS256", S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "payload a string", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "\"alice\"", TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "payload a number", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", "1", TK_EC256, "ES256", S_MAIN,
	  NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "payload not JSON", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "sub=alice", TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONE, JWS_MALFORMED },
	{ "payload empty", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "", TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_NONE, JWS_MALFORMED },
	{ "payload with a repeated claim", "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
	  "{\"sub\":\"alice\",\"sub\":\"admin\"}", TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONE,
	  JWS_MALFORMED },

	/* malformed compact serialisation */
	{ "two parts", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_ONE_DOT, JWS_MALFORMED },
	{ "four parts", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_FOUR_PARTS, JWS_MALFORMED },
	{ "five parts (JWE)", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, NULL, M_FIVE_PARTS, JWS_MALFORMED },
	{ "empty signature", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, NULL, M_EMPTY_SIG, JWS_MALFORMED },
	{ "padded signature", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN,
	  NULL, NULL, M_PAD_SIG, JWS_MALFORMED },
	{ "non-canonical signature", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONCANON_SIG, JWS_MALFORMED },
	{ "non-canonical ES256 signature", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", NULL, TK_EC256,
	  "ES256", S_MAIN, NULL, NULL, M_NONCANON_SIG, JWS_MALFORMED },
	{ "non-canonical header", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_NONCANON_HEADER, JWS_MALFORMED },
	{ "non-canonical payload, validly signed", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL,
	  TK_RSA, "RS256", S_MAIN, NULL, NULL, M_NONCANON_PAYLOAD, JWS_MALFORMED },
	{ "padded payload, validly signed", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA,
	  "RS256", S_MAIN, NULL, NULL, M_PAD_PAYLOAD, JWS_MALFORMED },
	{ "space in the signature", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256",
	  S_MAIN, NULL, NULL, M_SPACE_SIG, JWS_MALFORMED },
	{ "NUL byte", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_NUL, JWS_MALFORMED },
	{ "empty token", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_EMPTY, JWS_MALFORMED },
	{ "too long", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", NULL, TK_RSA, "RS256", S_MAIN, NULL,
	  NULL, M_TOO_LONG, JWS_MALFORMED },
};

static const char jws_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Sets a trailing bit of the last character: the same bytes, a second (refused) spelling. */
static void jws_noncanon(char *s)
{
	size_t n = strlen(s);

	ck_assert_msg(n % 4 != 0, "\"%s\" has no trailing bits", s);
	s[n - 1] = jws_alphabet[(strchr(jws_alphabet, s[n - 1]) - jws_alphabet) ^ 1];
}

/* The token of a case, mangled as it says; *len is its length. */
static char *jws_build(const struct jws_case *c, size_t *len)
{
	const char *payload = c->payload ? c->payload : JWS_PAYLOAD;
	char *big = NULL, *h, *p, *s, *input, *token;
	unsigned char sig[1024];
	size_t siglen = 64, n;

	if (c->mangle == M_TOO_LONG) {
		big = malloc(JWS_TOKEN_MAX + 64);
		ck_assert_ptr_nonnull(big);
		n = (size_t)sprintf(big, "{\"sub\":\"alice\",\"x\":\"");
		memset(big + n, 'x', JWS_TOKEN_MAX * 3 / 4);
		strcpy(big + n + JWS_TOKEN_MAX * 3 / 4, "\"}");
		payload = big;
	}
	h = test_b64(c->header, strlen(c->header));
	p = test_b64(payload, strlen(payload));
	free(big);
	if (c->mangle == M_NONCANON_HEADER)
		jws_noncanon(h);
	if (c->mangle == M_NONCANON_PAYLOAD)
		jws_noncanon(p);
	n = strlen(h) + strlen(p) + 2;
	input = malloc(n + 1);
	ck_assert_ptr_nonnull(input);
	snprintf(input, n + 1, "%s.%s%s", h, p, c->mangle == M_PAD_PAYLOAD ? "=" : "");
	if (c->sign != NULL)
		siglen = testkey_signature(c->key, c->sign, input, strlen(input), sig, sizeof sig);
	else
		for (size_t i = 0; i < siglen; i++)
			sig[i] = (unsigned char)(i * 37 + 1);
	if (c->mangle == M_FLIP_SIG)
		sig[siglen / 2 + 3] ^= 0x10;
	if (c->mangle == M_TRUNC_SIG)
		siglen--;
	if (c->mangle == M_LONG_SIG)
		sig[siglen++] = 0;
	s = test_b64(sig, siglen);
	if (c->mangle == M_NONCANON_SIG)
		jws_noncanon(s);
	if (c->mangle == M_SWAP_PAYLOAD) {
		free(input);
		free(p);
		p = test_b64("{\"sub\":\"admin\"}", 15);
		n = strlen(h) + strlen(p) + 2;
		input = malloc(n + 1);
		ck_assert_ptr_nonnull(input);
		snprintf(input, n + 1, "%s.%s", h, p);
	}
	n = strlen(input) + 2 * strlen(s) + 8;
	token = malloc(n);
	ck_assert_ptr_nonnull(token);
	switch (c->mangle) {
	case M_ONE_DOT: snprintf(token, n, "%s", input); break;
	case M_FOUR_PARTS: snprintf(token, n, "%s.%s.%s", input, s, s); break;
	case M_FIVE_PARTS: snprintf(token, n, "%s.%s.%s.%s", input, s, s, s); break;
	case M_EMPTY_SIG: snprintf(token, n, "%s.", input); break;
	case M_PAD_SIG: snprintf(token, n, "%s.%s==", input, s); break;
	case M_SPACE_SIG: snprintf(token, n, "%s.%.10s %s", input, s, s + 10); break;
	case M_EMPTY: token[0] = '\0'; break;
	default: snprintf(token, n, "%s.%s", input, s); break;
	}
	*len = strlen(token);
	if (c->mangle == M_NUL) {
		/* token.sig\0sig: the NUL is inside the length given */
		snprintf(token + *len, n - *len, "?%s", s);
		token[*len] = '\0';
		*len += 1 + strlen(s);
	}
	free(h);
	free(p);
	free(s);
	free(input);
	return token;
}

START_TEST(test_cases)
{
	const struct jws_case *c = &jws_cases[_i];
	size_t len;
	char *token = jws_build(c, &len);
	json_t *claims = NULL;
	enum jws_status st;

	if (c->mangle == M_TOO_LONG)
		ck_assert_uint_gt(len, JWS_TOKEN_MAX);
	st = jws_verify(token, len, jws_sets[c->set], c->allowed ? c->allowed : JWS_ALL_ALGS,
	                c->typs ? c->typs : "JWT", &claims);
	ck_assert_msg(st == c->want, "%s: %d (%s), want %d", c->name, st, jws_status_text(st),
	              c->want);
	if (st == JWS_OK) {
		ck_assert(json_is_object(claims));
		ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "alice");
		json_decref(claims);
	} else {
		ck_assert_msg(claims == NULL, "%s: claims written on failure", c->name);
	}
	free(token);
}
END_TEST

/* Key rotation the way a provider does it: a token of the new key fails against the old set,
 * a set holding both verifies both. */
START_TEST(test_rotation)
{
	char doc[8192], err[256];
	struct jwks *both;
	json_t *claims = NULL;
	char *old =
	    testkey_token(TK_RSA, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", JWS_PAYLOAD);
	char *fresh =
	    testkey_token(TK_RSA2, "RS256", "{\"alg\":\"RS256\",\"kid\":\"r2\"}", JWS_PAYLOAD);

	ck_assert_int_eq(
	    jws_verify(fresh, strlen(fresh), jws_sets[S_MAIN], "RS256", "JWT", &claims),
	    JWS_NO_KEY);
	snprintf(doc, sizeof doc, "{\"keys\":[{%s,\"kid\":\"r2\"},{%s,\"kid\":\"r1\"}]}",
	         testkey_jwk(TK_RSA2), testkey_jwk(TK_RSA));
	ck_assert_int_eq(jwks_parse(doc, strlen(doc), &both, err, sizeof err), 0);
	ck_assert_int_eq(jws_verify(fresh, strlen(fresh), both, "RS256", "JWT", &claims), JWS_OK);
	json_decref(claims);
	ck_assert_int_eq(jws_verify(old, strlen(old), both, "RS256", "JWT", &claims), JWS_OK);
	json_decref(claims);
	jwks_unref(both);
	free(old);
	free(fresh);
}
END_TEST

static const struct {
	const char *value;
	int rc;
} jws_algs_cases[] = {
	{ "RS256", 0 },
	{ "RS256 ES256", 0 },
	{ "  PS256   ES384 ", 0 },
	{ JWS_ALGS_SUPPORTED, 0 },
	{ "", -1 },
	{ "   ", -1 },
	{ "none", -1 },
	{ "HS256", -1 },
	{ "RS256 none", -1 },
	{ "rs256", -1 },
	{ "ES512", -1 },
	{ "EdDSA", -1 },
	{ "RS256,ES256", -1 },
	{ "RS256RS256RS256RS256RS256RS256RS256", -1 },
};

START_TEST(test_algs_check)
{
	char err[256] = "";
	int rc = jws_algs_check(jws_algs_cases[_i].value, err, sizeof err);

	ck_assert_msg(rc == jws_algs_cases[_i].rc, "\"%s\": %d", jws_algs_cases[_i].value, rc);
	if (rc != 0)
		ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(test_status_text)
{
	static const enum jws_status all[] = { JWS_OK,  JWS_MALFORMED, JWS_ALG,
		                               JWS_TYP, JWS_NO_KEY,    JWS_BAD_SIG };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		ck_assert_str_ne(jws_status_text(all[i]), "");
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(jws_status_text(all[i]), jws_status_text(all[j]));
	}
	ck_assert_str_eq(jws_status_text((enum jws_status) - 99), "invalid");
}
END_TEST

Suite *suite_jws(void)
{
	Suite *s = suite_create("jws");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, jws_setup, jws_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_cases, 0, sizeof jws_cases / sizeof jws_cases[0]);
	tcase_add_test(tc, test_rotation);
	tcase_add_loop_test(tc, test_algs_check, 0,
	                    sizeof jws_algs_cases / sizeof jws_algs_cases[0]);
	tcase_add_test(tc, test_status_text);
	suite_add_tcase(s, tc);
	return s;
}
