/* test_oidc: the relying party logic of lib/oidc: discovery documents, the ID and logout token
 * claim tables, PKCE, claim lookup and role mapping. */
#include "oidc.h"
#include "suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISS "https://idp.example/realms/postern"
#define NOW 1700000000LL
#define NONCE "n-0S6_WzA2Mj"

/* One change to a base document: key set to the JSON value (an "@N" value is a string of N
 * characters "a"), or removed when json is NULL. */
struct oidc_mod {
	const char *key;
	const char *json;
};

static json_t *oidc_value(const char *json)
{
	json_t *v;

	if (json[0] == '@') {
		size_t n = (size_t)atoi(json + 1);
		char *s = malloc(n + 1);
		ck_assert_ptr_nonnull(s);
		memset(s, 'a', n);
		s[n] = '\0';
		v = json_string(s);
		free(s);
	} else {
		v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	}
	ck_assert_msg(v != NULL, "bad test value %s", json);
	return v;
}

/* The base document with up to n changes applied (a NULL key ends them). */
static json_t *oidc_doc(const char *base, const struct oidc_mod *mods, size_t n)
{
	json_t *doc = json_loads(base, 0, NULL);

	ck_assert_ptr_nonnull(doc);
	for (size_t i = 0; i < n && mods[i].key != NULL; i++) {
		if (mods[i].json == NULL)
			json_object_del(doc, mods[i].key);
		else
			json_object_set_new(doc, mods[i].key, oidc_value(mods[i].json));
	}
	return doc;
}

/* ---- discovery ---------------------------------------------------------------------------- */

/* Keycloak's document, cut down to what matters and a little noise. */
static const char oidc_meta_base[] =
    "{\"issuer\":\"" ISS "\","
    "\"authorization_endpoint\":\"" ISS "/protocol/openid-connect/auth\","
    "\"token_endpoint\":\"" ISS "/protocol/openid-connect/token\","
    "\"jwks_uri\":\"" ISS "/protocol/openid-connect/certs\","
    "\"userinfo_endpoint\":\"" ISS "/protocol/openid-connect/userinfo\","
    "\"end_session_endpoint\":\"" ISS "/protocol/openid-connect/logout\","
    "\"response_types_supported\":[\"code\",\"none\",\"id_token\",\"token\",\"id_token token\","
    "\"code id_token\",\"code token\",\"code id_token token\"],"
    "\"id_token_signing_alg_values_supported\":[\"PS384\",\"ES384\",\"RS384\",\"RS256\"],"
    "\"backchannel_logout_supported\":true,"
    "\"code_challenge_methods_supported\":[\"plain\",\"S256\"]}";

static const struct meta_case {
	const char *name;
	const char *raw; /* instead of the base document with mods */
	struct oidc_mod mods[2];
	const char *expected; /* NULL: ISS */
	bool trust_issuer;
	const char *err; /* NULL: accepted; else a part of the error */
	bool iss_parameter;
} meta_cases[] = {
	{ "Keycloak's document", NULL, { { NULL, NULL } }, NULL, false, NULL, false },
	{ "RFC 9207 iss parameter",
	  NULL,
	  { { "authorization_response_iss_parameter_supported", "true" } },
	  NULL,
	  false,
	  NULL,
	  true },
	{ "iss parameter false",
	  NULL,
	  { { "authorization_response_iss_parameter_supported", "false" } },
	  NULL,
	  false,
	  NULL,
	  false },
	{ "iss parameter a string",
	  NULL,
	  { { "authorization_response_iss_parameter_supported", "\"true\"" } },
	  NULL,
	  false,
	  NULL,
	  false },
	{ "no userinfo, no end_session",
	  NULL,
	  { { "userinfo_endpoint", NULL }, { "end_session_endpoint", NULL } },
	  NULL,
	  false,
	  NULL,
	  false },
	{ "no response_types_supported",
	  NULL,
	  { { "response_types_supported", NULL } },
	  NULL,
	  false,
	  NULL,
	  false },
	{ "response_types code only",
	  NULL,
	  { { "response_types_supported", "[\"code\"]" } },
	  NULL,
	  false,
	  NULL,
	  false },
	{ "loopback http endpoints",
	  NULL,
	  { { "token_endpoint", "\"http://127.0.0.1:9000/token\"" },
	    { "jwks_uri", "\"http://localhost:9000/certs\"" } },
	  NULL,
	  false,
	  NULL,
	  false },
	{ "loopback http issuer",
	  NULL,
	  { { "issuer", "\"http://127.0.0.1:9000\"" },
	    { "userinfo_endpoint", "\"http://[::1]:9000/me\"" } },
	  "http://127.0.0.1:9000",
	  false,
	  NULL,
	  false },

	/* the issuer */
	{ "issuer with a trailing slash",
	  NULL,
	  { { "issuer", "\"" ISS "/\"" } },
	  NULL,
	  false,
	  "issuer",
	  false },
	{ "issuer of another realm",
	  NULL,
	  { { "issuer", "\"https://idp.example/realms/other\"" } },
	  NULL,
	  false,
	  "issuer",
	  false },
	{ "issuer in another case",
	  NULL,
	  { { "issuer", "\"https://IDP.example/realms/postern\"" } },
	  NULL,
	  false,
	  "issuer",
	  false },
	{ "issuer elsewhere, trusted (Authentik)",
	  NULL,
	  { { "issuer", "\"https://idp.example/application/o/postern/\"" } },
	  NULL,
	  true,
	  NULL,
	  false },
	{ "issuer missing", NULL, { { "issuer", NULL } }, NULL, false, "issuer", false },
	{ "issuer missing, trusted", NULL, { { "issuer", NULL } }, NULL, true, "issuer", false },
	{ "issuer a number", NULL, { { "issuer", "1" } }, NULL, true, "issuer", false },
	{ "issuer over http",
	  NULL,
	  { { "issuer", "\"http://idp.example/realms/postern\"" } },
	  "http://idp.example/realms/postern",
	  false,
	  "issuer",
	  false },
	{ "issuer over http, trusted",
	  NULL,
	  { { "issuer", "\"http://idp.example\"" } },
	  NULL,
	  true,
	  "issuer",
	  false },
	{ "issuer not a URL",
	  NULL,
	  { { "issuer", "\"postern\"" } },
	  "postern",
	  false,
	  "issuer",
	  false },

	/* endpoints */
	{ "authorization_endpoint over http",
	  NULL,
	  { { "authorization_endpoint", "\"http://idp.example/auth\"" } },
	  NULL,
	  false,
	  "authorization_endpoint",
	  false },
	{ "token_endpoint over http",
	  NULL,
	  { { "token_endpoint", "\"http://idp.example/token\"" } },
	  NULL,
	  false,
	  "token_endpoint",
	  false },
	{ "jwks_uri over http",
	  NULL,
	  { { "jwks_uri", "\"http://idp.example/certs\"" } },
	  NULL,
	  false,
	  "jwks_uri",
	  false },
	{ "userinfo_endpoint over http",
	  NULL,
	  { { "userinfo_endpoint", "\"http://idp.example/me\"" } },
	  NULL,
	  false,
	  "userinfo_endpoint",
	  false },
	{ "end_session_endpoint over http",
	  NULL,
	  { { "end_session_endpoint", "\"http://idp.example/logout\"" } },
	  NULL,
	  false,
	  "end_session_endpoint",
	  false },
	{ "http to a name that starts like loopback",
	  NULL,
	  { { "token_endpoint", "\"http://127.0.0.1.evil.example/token\"" } },
	  NULL,
	  false,
	  "token_endpoint",
	  false },
	{ "http to localhost's lookalike",
	  NULL,
	  { { "jwks_uri", "\"http://localhost.evil.example/certs\"" } },
	  NULL,
	  false,
	  "jwks_uri",
	  false },
	{ "endpoint with user info",
	  NULL,
	  { { "token_endpoint", "\"https://user:pw@idp.example/token\"" } },
	  NULL,
	  false,
	  "token_endpoint",
	  false },
	{ "endpoint with a fragment",
	  NULL,
	  { { "authorization_endpoint", "\"https://idp.example/auth#x\"" } },
	  NULL,
	  false,
	  "authorization_endpoint",
	  false },
	{ "endpoint javascript:",
	  NULL,
	  { { "authorization_endpoint", "\"javascript:alert(1)\"" } },
	  NULL,
	  false,
	  "authorization_endpoint",
	  false },
	{ "endpoint relative",
	  NULL,
	  { { "token_endpoint", "\"/token\"" } },
	  NULL,
	  false,
	  "token_endpoint",
	  false },
	{ "endpoint a number", NULL, { { "jwks_uri", "1" } }, NULL, false, "jwks_uri", false },
	{ "endpoint empty",
	  NULL,
	  { { "userinfo_endpoint", "\"\"" } },
	  NULL,
	  false,
	  "userinfo_endpoint",
	  false },
	{ "no authorization_endpoint",
	  NULL,
	  { { "authorization_endpoint", NULL } },
	  NULL,
	  false,
	  "authorization_endpoint",
	  false },
	{ "no token_endpoint",
	  NULL,
	  { { "token_endpoint", NULL } },
	  NULL,
	  false,
	  "token_endpoint",
	  false },
	{ "no jwks_uri", NULL, { { "jwks_uri", NULL } }, NULL, false, "jwks_uri", false },
	{ "userinfo null",
	  NULL,
	  { { "userinfo_endpoint", "null" } },
	  NULL,
	  false,
	  "userinfo_endpoint",
	  false },

	/* the code flow */
	{ "response_types without code",
	  NULL,
	  { { "response_types_supported", "[\"id_token\",\"id_token token\"]" } },
	  NULL,
	  false,
	  "code flow",
	  false },
	{ "response_types code id_token only",
	  NULL,
	  { { "response_types_supported", "[\"code id_token\"]" } },
	  NULL,
	  false,
	  "code flow",
	  false },
	{ "response_types empty",
	  NULL,
	  { { "response_types_supported", "[]" } },
	  NULL,
	  false,
	  "code flow",
	  false },
	{ "response_types a string",
	  NULL,
	  { { "response_types_supported", "\"code\"" } },
	  NULL,
	  false,
	  "code flow",
	  false },

	/* not a document */
	{ "not JSON", "issuer: " ISS, { { NULL, NULL } }, NULL, false, "JSON object", false },
	{ "empty", "", { { NULL, NULL } }, NULL, false, "JSON object", false },
	{ "an array",
	  "[{\"issuer\":\"" ISS "\"}]",
	  { { NULL, NULL } },
	  NULL,
	  false,
	  "JSON object",
	  false },
	{ "repeated issuer",
	  "{\"issuer\":\"https://evil.example\",\"issuer\":\"" ISS "\"}",
	  { { NULL, NULL } },
	  NULL,
	  false,
	  "JSON object",
	  false },
};

/* Each member the parser copies: compared with the document. */
static void meta_check_member(json_t *doc, const char *name, const char *got)
{
	json_t *v = json_object_get(doc, name);

	if (v == NULL)
		ck_assert_msg(got == NULL, "%s: %s", name, got);
	else
		ck_assert_str_eq(got, json_string_value(v));
}

START_TEST(test_meta)
{
	const struct meta_case *c = &meta_cases[_i];
	json_t *doc = c->raw ? NULL : oidc_doc(oidc_meta_base, c->mods, 2);
	char *text = c->raw ? strdup(c->raw) : json_dumps(doc, 0), err[512] = "";
	struct oidc_meta m;
	int rc;

	ck_assert_ptr_nonnull(text);
	rc = oidc_meta_parse(text, strlen(text), c->expected ? c->expected : ISS, c->trust_issuer,
	                     &m, err, sizeof err);
	if (c->err != NULL) {
		ck_assert_msg(rc == -1, "%s: accepted", c->name);
		ck_assert_msg(strstr(err, c->err) != NULL, "%s: error \"%s\", want \"%s\"", c->name,
		              err, c->err);
		ck_assert(m.issuer == NULL && m.authorization_endpoint == NULL &&
		          m.token_endpoint == NULL && m.jwks_uri == NULL &&
		          m.userinfo_endpoint == NULL && m.end_session_endpoint == NULL);
	} else {
		ck_assert_msg(rc == 0, "%s: %s", c->name, err);
		meta_check_member(doc, "issuer", m.issuer);
		meta_check_member(doc, "authorization_endpoint", m.authorization_endpoint);
		meta_check_member(doc, "token_endpoint", m.token_endpoint);
		meta_check_member(doc, "jwks_uri", m.jwks_uri);
		meta_check_member(doc, "userinfo_endpoint", m.userinfo_endpoint);
		meta_check_member(doc, "end_session_endpoint", m.end_session_endpoint);
		ck_assert_int_eq(m.iss_parameter, c->iss_parameter);
		oidc_meta_free(&m);
		ck_assert_ptr_null(m.issuer);
	}
	free(text);
	json_decref(doc);
}
END_TEST

START_TEST(test_meta_too_large)
{
	size_t size = OIDC_DISCOVERY_MAX + 1, n;
	char *doc = malloc(size + 1), err[256];
	struct oidc_meta m;

	ck_assert_ptr_nonnull(doc);
	n = (size_t)snprintf(doc, size + 1, "%.*s,\"pad\":\"", (int)strlen(oidc_meta_base) - 1,
	                     oidc_meta_base);
	memset(doc + n, 'p', size - n - 2);
	memcpy(doc + size - 2, "\"}", 3);
	ck_assert_int_eq(oidc_meta_parse(doc, size, ISS, false, &m, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger"));
	/* one byte less is a document like any other */
	memcpy(doc + size - 3, "\"}", 3);
	ck_assert_int_eq(oidc_meta_parse(doc, size - 1, ISS, false, &m, err, sizeof err), 0);
	oidc_meta_free(&m);
	free(doc);
}
END_TEST

/* ---- ID and logout token claims ----------------------------------------------------------- */

static const char oidc_id_base[] = "{\"iss\":\"" ISS "\",\"aud\":\"postern\","
                                   "\"exp\":1700000300,\"iat\":1699999990,"
                                   "\"auth_time\":1699999980,\"nonce\":\"" NONCE "\","
                                   "\"sub\":\"248289761001\",\"amr\":[\"pwd\"],"
                                   "\"preferred_username\":\"alice\"}";

static const char oidc_logout_base[] =
    "{\"iss\":\"" ISS "\",\"aud\":\"postern\",\"iat\":1699999995,\"exp\":1700000120,"
    "\"jti\":\"bWJq\",\"sid\":\"08a5019c-17e1-4977-8f42-65a12843ea02\","
    "\"sub\":\"248289761001\",\"events\":{\"" OIDC_BACKCHANNEL_EVENT "\":{}}}";

enum token_kind { ID, LOGOUT };

static const struct claim_case {
	const char *name;
	enum token_kind base, check;
	struct oidc_mod mods[2];
	const char *want; /* the failing claim, NULL: passes */
} claim_cases[] = {
	{ "ID token", ID, ID, { { NULL, NULL } }, NULL },
	/* iss: exact */
	{ "iss of another realm",
	  ID,
	  ID,
	  { { "iss", "\"https://idp.example/realms/other\"" } },
	  "iss" },
	{ "iss with a trailing slash", ID, ID, { { "iss", "\"" ISS "/\"" } }, "iss" },
	{ "iss in another case",
	  ID,
	  ID,
	  { { "iss", "\"https://IDP.example/realms/postern\"" } },
	  "iss" },
	{ "iss a prefix", ID, ID, { { "iss", "\"https://idp.example/realms/poster\"" } }, "iss" },
	{ "iss with a NUL", ID, ID, { { "iss", "\"" ISS "\\u0000x\"" } }, "iss" },
	{ "iss in an array", ID, ID, { { "iss", "[\"" ISS "\"]" } }, "iss" },
	{ "iss a number", ID, ID, { { "iss", "1" } }, "iss" },
	{ "no iss", ID, ID, { { "iss", NULL } }, "iss" },
	/* aud: our client id alone */
	{ "aud a one-element array", ID, ID, { { "aud", "[\"postern\"]" } }, NULL },
	{ "aud with another audience", ID, ID, { { "aud", "[\"postern\",\"other\"]" } }, "aud" },
	{ "aud another audience first", ID, ID, { { "aud", "[\"other\",\"postern\"]" } }, "aud" },
	{ "aud ours twice", ID, ID, { { "aud", "[\"postern\",\"postern\"]" } }, "aud" },
	{ "aud empty array", ID, ID, { { "aud", "[]" } }, "aud" },
	{ "aud [1]", ID, ID, { { "aud", "[1]" } }, "aud" },
	{ "aud another client", ID, ID, { { "aud", "\"other\"" } }, "aud" },
	{ "aud in another case", ID, ID, { { "aud", "\"Postern\"" } }, "aud" },
	{ "aud a prefix", ID, ID, { { "aud", "\"poster\"" } }, "aud" },
	{ "aud null", ID, ID, { { "aud", "null" } }, "aud" },
	{ "no aud", ID, ID, { { "aud", NULL } }, "aud" },
	/* azp: ours if present */
	{ "azp ours", ID, ID, { { "azp", "\"postern\"" } }, NULL },
	{ "azp ours, aud an array",
	  ID,
	  ID,
	  { { "azp", "\"postern\"" }, { "aud", "[\"postern\"]" } },
	  NULL },
	{ "azp another client", ID, ID, { { "azp", "\"other\"" } }, "azp" },
	{ "azp a number", ID, ID, { { "azp", "1" } }, "azp" },
	{ "azp null", ID, ID, { { "azp", "null" } }, "azp" },
	/* exp: required in an ID token, in the future (skew 60) */
	{ "exp within the skew", ID, ID, { { "exp", "1699999941" } }, NULL },
	{ "exp at the skew", ID, ID, { { "exp", "1699999940" } }, "exp" },
	{ "exp past", ID, ID, { { "exp", "1699990000" } }, "exp" },
	{ "exp a fraction", ID, ID, { { "exp", "1700000300.5" } }, NULL },
	{ "exp huge", ID, ID, { { "exp", "1e300" } }, "exp" },
	{ "exp a string", ID, ID, { { "exp", "\"1700000300\"" } }, "exp" },
	{ "exp true", ID, ID, { { "exp", "true" } }, "exp" },
	{ "exp null", ID, ID, { { "exp", "null" } }, "exp" },
	{ "no exp", ID, ID, { { "exp", NULL } }, "exp" },
	/* iat: present, not in the future, not older than max_age (600) */
	{ "iat within the skew", ID, ID, { { "iat", "1700000060" } }, NULL },
	{ "iat in the future", ID, ID, { { "iat", "1700000061" } }, "iat" },
	{ "iat as old as allowed", ID, ID, { { "iat", "1699999340" } }, NULL },
	{ "iat too old", ID, ID, { { "iat", "1699999339" } }, "iat" },
	{ "iat negative", ID, ID, { { "iat", "-1" } }, "iat" },
	{ "iat a string", ID, ID, { { "iat", "\"1699999990\"" } }, "iat" },
	{ "iat null", ID, ID, { { "iat", "null" } }, "iat" },
	{ "no iat", ID, ID, { { "iat", NULL } }, "iat" },
	/* nbf: passed if present */
	{ "nbf passed", ID, ID, { { "nbf", "1699999000" } }, NULL },
	{ "nbf within the skew", ID, ID, { { "nbf", "1700000060" } }, NULL },
	{ "nbf in the future", ID, ID, { { "nbf", "1700000061" } }, "nbf" },
	{ "nbf a string", ID, ID, { { "nbf", "\"0\"" } }, "nbf" },
	/* nonce: equal */
	{ "nonce another", ID, ID, { { "nonce", "\"abc\"" } }, "nonce" },
	{ "nonce in another case", ID, ID, { { "nonce", "\"n-0S6_WzA2MJ\"" } }, "nonce" },
	{ "nonce a prefix", ID, ID, { { "nonce", "\"n-0S6_WzA2M\"" } }, "nonce" },
	{ "nonce longer", ID, ID, { { "nonce", "\"" NONCE "x\"" } }, "nonce" },
	{ "nonce with a NUL", ID, ID, { { "nonce", "\"" NONCE "\\u0000\"" } }, "nonce" },
	{ "nonce empty", ID, ID, { { "nonce", "\"\"" } }, "nonce" },
	{ "nonce a number", ID, ID, { { "nonce", "1" } }, "nonce" },
	{ "no nonce", ID, ID, { { "nonce", NULL } }, "nonce" },
	/* sub: 1 to 255 characters */
	{ "sub of 255 characters", ID, ID, { { "sub", "@255" } }, NULL },
	{ "sub of 256 characters", ID, ID, { { "sub", "@256" } }, "sub" },
	{ "sub empty", ID, ID, { { "sub", "\"\"" } }, "sub" },
	{ "sub with a control character", ID, ID, { { "sub", "\"a\\u0001b\"" } }, "sub" },
	{ "sub with a NUL", ID, ID, { { "sub", "\"a\\u0000b\"" } }, "sub" },
	{ "sub a number", ID, ID, { { "sub", "248289761001" } }, "sub" },
	{ "no sub", ID, ID, { { "sub", NULL } }, "sub" },
	/* a logout token is no ID token */
	{ "events in an ID token",
	  ID,
	  ID,
	  { { "events", "{\"" OIDC_BACKCHANNEL_EVENT "\":{}}" } },
	  "events" },
	{ "events empty in an ID token", ID, ID, { { "events", "{}" } }, "events" },
	{ "logout token as an ID token", LOGOUT, ID, { { NULL, NULL } }, "nonce" },
	{ "logout token with our nonce", LOGOUT, ID, { { "nonce", "\"" NONCE "\"" } }, "events" },
	/* the order: the first claim that fails */
	{ "iss and aud wrong", ID, ID, { { "aud", "\"other\"" }, { "iss", "\"x\"" } }, "iss" },
	{ "aud wrong, no exp", ID, ID, { { "aud", "\"other\"" }, { "exp", NULL } }, "aud" },
	{ "nbf future, no exp", ID, ID, { { "nbf", "1700001000" }, { "exp", NULL } }, "nbf" },
	{ "no nonce, no sub", ID, ID, { { "nonce", NULL }, { "sub", NULL } }, "nonce" },

	{ "logout token", LOGOUT, LOGOUT, { { NULL, NULL } }, NULL },
	{ "logout without exp", LOGOUT, LOGOUT, { { "exp", NULL } }, NULL },
	{ "logout exp past", LOGOUT, LOGOUT, { { "exp", "1699999000" } }, "exp" },
	{ "logout exp a string", LOGOUT, LOGOUT, { { "exp", "\"x\"" } }, "exp" },
	{ "logout iss wrong", LOGOUT, LOGOUT, { { "iss", "\"https://evil.example\"" } }, "iss" },
	{ "logout aud two", LOGOUT, LOGOUT, { { "aud", "[\"postern\",\"other\"]" } }, "aud" },
	{ "logout aud array", LOGOUT, LOGOUT, { { "aud", "[\"postern\"]" } }, NULL },
	{ "logout azp another", LOGOUT, LOGOUT, { { "azp", "\"other\"" } }, "azp" },
	{ "logout no iat", LOGOUT, LOGOUT, { { "iat", NULL } }, "iat" },
	{ "logout iat future", LOGOUT, LOGOUT, { { "iat", "1700000100" } }, "iat" },
	{ "logout iat too old", LOGOUT, LOGOUT, { { "iat", "1699990000" } }, "iat" },
	{ "logout nbf future", LOGOUT, LOGOUT, { { "nbf", "1700000100" } }, "nbf" },
	{ "no jti", LOGOUT, LOGOUT, { { "jti", NULL } }, "jti" },
	{ "jti empty", LOGOUT, LOGOUT, { { "jti", "\"\"" } }, "jti" },
	{ "jti a number", LOGOUT, LOGOUT, { { "jti", "1" } }, "jti" },
	{ "jti of 256 characters", LOGOUT, LOGOUT, { { "jti", "@256" } }, NULL },
	{ "jti of 257 characters", LOGOUT, LOGOUT, { { "jti", "@257" } }, "jti" },
	{ "no events", LOGOUT, LOGOUT, { { "events", NULL } }, "events" },
	{ "events empty", LOGOUT, LOGOUT, { { "events", "{}" } }, "events" },
	{ "events an array",
	  LOGOUT,
	  LOGOUT,
	  { { "events", "[\"" OIDC_BACKCHANNEL_EVENT "\"]" } },
	  "events" },
	{ "events a string",
	  LOGOUT,
	  LOGOUT,
	  { { "events", "\"" OIDC_BACKCHANNEL_EVENT "\"" } },
	  "events" },
	{ "event not an object",
	  LOGOUT,
	  LOGOUT,
	  { { "events", "{\"" OIDC_BACKCHANNEL_EVENT "\":1}" } },
	  "events" },
	{ "event of another URI",
	  LOGOUT,
	  LOGOUT,
	  { { "events", "{\"" OIDC_BACKCHANNEL_EVENT "/\":{}}" } },
	  "events" },
	{ "logout event among others",
	  LOGOUT,
	  LOGOUT,
	  { { "events", "{\"urn:x\":{},\"" OIDC_BACKCHANNEL_EVENT "\":{}}" } },
	  NULL },
	{ "logout with a nonce", LOGOUT, LOGOUT, { { "nonce", "\"" NONCE "\"" } }, "nonce" },
	{ "logout with a null nonce", LOGOUT, LOGOUT, { { "nonce", "null" } }, "nonce" },
	{ "logout sid only", LOGOUT, LOGOUT, { { "sub", NULL } }, NULL },
	{ "logout sub only", LOGOUT, LOGOUT, { { "sid", NULL } }, NULL },
	{ "logout neither sub nor sid",
	  LOGOUT,
	  LOGOUT,
	  { { "sub", NULL }, { "sid", NULL } },
	  "sub" },
	{ "logout sub empty", LOGOUT, LOGOUT, { { "sub", "\"\"" } }, "sub" },
	{ "logout sub of 256 characters", LOGOUT, LOGOUT, { { "sub", "@256" } }, "sub" },
	{ "logout sub a number", LOGOUT, LOGOUT, { { "sub", "1" } }, "sub" },
	{ "logout sid empty", LOGOUT, LOGOUT, { { "sid", "\"\"" } }, "sid" },
	{ "logout sid a number", LOGOUT, LOGOUT, { { "sid", "1" } }, "sid" },
	{ "logout sid of 255 characters", LOGOUT, LOGOUT, { { "sid", "@255" } }, NULL },
	{ "logout sid of 256 characters", LOGOUT, LOGOUT, { { "sid", "@256" } }, "sid" },
	{ "logout sid empty, no sub",
	  LOGOUT,
	  LOGOUT,
	  { { "sub", NULL }, { "sid", "\"\"" } },
	  "sid" },
	{ "ID token as a logout token", ID, LOGOUT, { { NULL, NULL } }, "jti" },
	{ "ID token with jti as a logout token", ID, LOGOUT, { { "jti", "\"x\"" } }, "events" },
};

static const struct oidc_expect claim_expect = {
	.issuer = ISS,
	.client_id = "postern",
	.nonce = NONCE,
	.now = NOW,
	.skew = 60,
	.max_age = 600,
};

START_TEST(test_claims)
{
	const struct claim_case *c = &claim_cases[_i];
	json_t *claims = oidc_doc(c->base == ID ? oidc_id_base : oidc_logout_base, c->mods, 2);
	const char *got = c->check == ID ? oidc_check_id_token(claims, &claim_expect)
	                                 : oidc_check_logout_token(claims, &claim_expect);

	if (c->want == NULL)
		ck_assert_msg(got == NULL, "%s: failed on %s", c->name, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, c->want) == 0, "%s: %s, want %s", c->name,
		              got ? got : "passed", c->want);
	json_decref(claims);
}
END_TEST

/* Without a nonce of our own no ID token passes; a logout token ignores it. */
START_TEST(test_claims_no_nonce)
{
	struct oidc_expect e = claim_expect;
	json_t *id = json_loads(oidc_id_base, 0, NULL), *lo = json_loads(oidc_logout_base, 0, NULL);

	e.nonce = NULL;
	ck_assert_str_eq(oidc_check_id_token(id, &e), "nonce");
	ck_assert_ptr_null(oidc_check_logout_token(lo, &e));
	e.nonce = "";
	json_object_set_new(id, "nonce", json_string(""));
	ck_assert_str_eq(oidc_check_id_token(id, &e), "nonce");
	json_decref(id);
	json_decref(lo);
}
END_TEST

/* ---- PKCE --------------------------------------------------------------------------------- */

START_TEST(test_pkce_rfc7636)
{
	char c[OIDC_PKCE_LEN + 1];

	/* RFC 7636 Appendix B */
	oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c);
	ck_assert_str_eq(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}
END_TEST

START_TEST(test_pkce_random)
{
	char a[OIDC_PKCE_LEN + 1], b[OIDC_PKCE_LEN + 1], c[OIDC_PKCE_LEN + 1];

	ck_assert_int_eq(oidc_random(a), 0);
	ck_assert_int_eq(oidc_random(b), 0);
	ck_assert_uint_eq(strlen(a), OIDC_PKCE_LEN);
	ck_assert_str_ne(a, b);
	ck_assert(oidc_pkce_verifier_ok(a));
	oidc_pkce_challenge(a, c);
	ck_assert_uint_eq(strlen(c), OIDC_PKCE_LEN);
	ck_assert_str_ne(a, c);
}
END_TEST

static const struct {
	const char *verifier; /* "@N": N characters "a" */
	bool ok;
} pkce_cases[] = {
	{ "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", true },
	{ "@43", true },
	{ "@128", true },
	{ "@42", false },
	{ "@129", false },
	{ "", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-._~", true },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%", false },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9", false },
};

START_TEST(test_pkce_verifier)
{
	char buf[256];
	const char *v = pkce_cases[_i].verifier;

	if (v[0] == '@') {
		size_t n = (size_t)atoi(v + 1);
		memset(buf, 'a', n);
		buf[n] = '\0';
		v = buf;
	}
	ck_assert_msg(oidc_pkce_verifier_ok(v) == pkce_cases[_i].ok, "case %d", _i);
}
END_TEST

/* ---- claims by name ----------------------------------------------------------------------- */

static const char claim_doc[] =
    "{\"sub\":\"alice\",\"a.b\":\"exact\",\"a\":{\"b\":\"nested\",\"c\":{\"d\":\"deep\"}},"
    "\"realm_access\":{\"roles\":[\"admin\",\"user\"]},"
    "\"resource_access\":{\"postern\":{\"roles\":[\"viewer\"]}},\"n\":1,\"s\":\"x\","
    "\"\":{\"a\":\"empty name\"},"
    "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":{\"x\":127},"
    "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":{\"x\":128}}";

static const struct {
	const char *name; /* "@N.x": a first component of N characters "k" */
	const char *want; /* JSON, NULL: absent */
} claim_lookups[] = {
	{ "sub", "\"alice\"" },
	{ "a.b", "\"exact\"" }, /* the member of that very name wins over the nested one */
	{ "a", "{\"b\":\"nested\",\"c\":{\"d\":\"deep\"}}" },
	{ "a.c", "{\"d\":\"deep\"}" },
	{ "a.c.d", "\"deep\"" },
	{ "realm_access.roles", "[\"admin\",\"user\"]" },
	{ "resource_access.postern.roles", "[\"viewer\"]" },
	{ "realm_access.missing", NULL },
	{ "missing.roles", NULL },
	{ "missing", NULL },
	{ "s.x", NULL },
	{ "n.x", NULL },
	{ "realm_access.roles.0", NULL },
	{ "a.c.d.e", NULL },
	{ ".a", NULL }, /* even though there is a member "" with an "a" */
	{ "a.", NULL },
	{ "a..c", NULL },
	{ ".", NULL },
	{ "", "{\"a\":\"empty name\"}" }, /* a member of that very name, too */
	{ "@127.x", "127" },
	{ "@128.x", NULL },
};

START_TEST(test_claim_lookup)
{
	json_t *claims = json_loads(claim_doc, 0, NULL), *want = NULL, *got;
	const char *name = claim_lookups[_i].name;
	char buf[256];

	ck_assert_ptr_nonnull(claims);
	if (name[0] == '@') {
		int n = atoi(name + 1);
		memset(buf, 'k', (size_t)n);
		snprintf(buf + n, sizeof buf - (size_t)n, "%s", strchr(name, '.'));
		name = buf;
	}
	got = oidc_claim(claims, name);
	if (claim_lookups[_i].want == NULL) {
		ck_assert_msg(got == NULL, "%s: found", name);
	} else {
		want = json_loads(claim_lookups[_i].want, JSON_DECODE_ANY, NULL);
		ck_assert_msg(got != NULL && json_equal(got, want), "%s: not %s", name,
		              claim_lookups[_i].want);
	}
	json_decref(want);
	json_decref(claims);
}
END_TEST

static const struct {
	const char *name;
	size_t max;
	const char *want; /* NULL: refused */
} claim_strings[] = {
	{ "ok", 255, "alice" },      { "utf8", 255, "caf\xc3\xa9" },
	{ "nested.x", 255, "deep" }, { "five", 5, "aaaaa" },
	{ "five", 4, NULL },         { "tab", 255, NULL },
	{ "nl", 255, NULL },         { "ctl", 255, NULL },
	{ "del", 255, NULL },        { "nul", 255, NULL },
	{ "nul_end", 255, NULL },    { "empty", 255, NULL },
	{ "num", 255, NULL },        { "arr", 255, NULL },
	{ "null", 255, NULL },       { "missing", 255, NULL },
};

START_TEST(test_claim_string)
{
	json_t *claims =
	    json_loads("{\"ok\":\"alice\",\"utf8\":\"caf\\u00e9\",\"nested\":{\"x\":"
	               "\"deep\"},\"five\":\"aaaaa\",\"tab\":\"a\\tb\",\"nl\":\"a\\n\","
	               "\"ctl\":\"a\\u0001b\",\"del\":\"a\\u007fb\",\"nul\":\"a\\u0000b\","
	               "\"nul_end\":\"ab\\u0000\",\"empty\":\"\",\"num\":1,"
	               "\"arr\":[\"x\"],\"null\":null}",
	               JSON_ALLOW_NUL, NULL);
	const char *got;

	ck_assert_ptr_nonnull(claims);
	got = oidc_claim_string(claims, claim_strings[_i].name, claim_strings[_i].max);
	if (claim_strings[_i].want == NULL)
		ck_assert_msg(got == NULL, "%s: \"%s\"", claim_strings[_i].name, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, claim_strings[_i].want) == 0, "%s: %s",
		              claim_strings[_i].name, got ? got : "refused");
	json_decref(claims);
}
END_TEST

/* ---- roles -------------------------------------------------------------------------------- */

static const struct {
	const char *claims;
	const char *claim;
	const char *map;
	size_t rolelen;   /* 0: 64 */
	const char *want; /* NULL: no match */
} role_cases[] = {
	{ "{\"groups\":[\"staff\",\"admins\"]}", "groups", "admins=admin staff=user", 0, "admin" },
	{ "{\"groups\":[\"staff\",\"admins\"]}", "groups", "staff=user admins=admin", 0, "user" },
	{ "{\"groups\":\"admins\"}", "groups", "staff=user admins=admin", 0, "admin" },
	{ "{\"groups\":[1,null,\"admins\"]}", "groups", "admins=admin", 0, "admin" },
	{ "{\"groups\":[\"other\"]}", "groups", "admins=admin staff=user", 0, NULL },
	{ "{\"groups\":[]}", "groups", "admins=admin", 0, NULL },
	{ "{\"groups\":\"\"}", "groups", "admins=admin", 0, NULL },
	{ "{\"roles\":[\"admins\"]}", "groups", "admins=admin", 0, NULL },
	{ "{\"groups\":1}", "groups", "admins=admin", 0, NULL },
	{ "{\"groups\":{\"admins\":true}}", "groups", "admins=admin", 0, NULL },
	{ "{\"groups\":[\"admin\"]}", "groups", "admins=admin", 0, NULL },
	{ "{\"groups\":[\"admins\"]}", "groups", "admin=admin", 0, NULL },
	{ "{\"groups\":[\"Admins\"]}", "groups", "admins=admin", 0, NULL },
	{ "{\"groups\":[\"admins x\"]}", "groups", "admins=admin", 0, NULL },
	{ "{\"realm_access\":{\"roles\":[\"offline_access\",\"postern-admin\"]}}",
	  "realm_access.roles", "postern-user=user postern-admin=admin", 0, "admin" },
	{ "{\"groups\":[\"/staff/ops\"]}", "groups", "/staff/ops=operator", 0, "operator" },
	{ "{\"groups\":[\"b\"]}", "groups", "   a=x    b=y   ", 0, "y" },
	{ "{\"groups\":[\"a\"]}", "groups", "junk a=x", 0, "x" },
	{ "{\"groups\":[\"a\"]}", "groups", "", 0, NULL },
	{ "{\"groups\":[\"a\"]}", "groups", "   ", 0, NULL },
	{ "{\"groups\":[\"a\"]}", "groups", "a=administrator", 13, NULL },
	{ "{\"groups\":[\"a\"]}", "groups", "a=administrator", 14, "administrator" },
};

START_TEST(test_map_role)
{
	json_t *claims = json_loads(role_cases[_i].claims, 0, NULL);
	char role[64] = "untouched";
	size_t len = role_cases[_i].rolelen ? role_cases[_i].rolelen : sizeof role;
	int rc;

	ck_assert_ptr_nonnull(claims);
	rc = oidc_map_role(claims, role_cases[_i].claim, role_cases[_i].map, role, len);
	if (role_cases[_i].want == NULL) {
		ck_assert_msg(rc == 0, "case %d: %s", _i, role);
		ck_assert_str_eq(role, "untouched");
	} else {
		ck_assert_msg(rc == 1, "case %d: no match", _i);
		ck_assert_str_eq(role, role_cases[_i].want);
	}
	json_decref(claims);
}
END_TEST

static const struct {
	const char *claims;
	const char *values;
	bool want;
} has_any_cases[] = {
	{ "{\"g\":[\"a\",\"b\"]}", "x b", true },  { "{\"g\":\"b\"}", "  b  ", true },
	{ "{\"g\":[\"a\",\"b\"]}", "x y", false }, { "{\"g\":[\"a\",\"b\"]}", "", false },
	{ "{\"g\":[\"ab\"]}", "a b", false },      { "{\"h\":[\"a\"]}", "a", false },
};

START_TEST(test_has_any)
{
	json_t *claims = json_loads(has_any_cases[_i].claims, 0, NULL);

	ck_assert_ptr_nonnull(claims);
	ck_assert_msg(oidc_claim_has_any(claims, "g", has_any_cases[_i].values) ==
	                  has_any_cases[_i].want,
	              "case %d", _i);
	json_decref(claims);
}
END_TEST

static const struct {
	const char *claims;
	bool mfa;
} amr_cases[] = {
	{ "{\"amr\":[\"pwd\"]}", false },
	{ "{\"amr\":[\"pwd\",\"otp\"]}", true },
	{ "{\"amr\":[\"mfa\"]}", true },
	{ "{\"amr\":\"mfa\"}", true },
	{ "{\"amr\":[\"hwk\"]}", true },
	{ "{\"amr\":[\"pwd\",\"sms\"]}", true },
	{ "{\"amr\":[\"face\"]}", true },
	{ "{\"amr\":[\"pwd\",\"kba\"]}", false },
	{ "{\"amr\":[\"MFA\"]}", false },
	{ "{\"amr\":[]}", false },
	{ "{\"amr\":1}", false },
	{ "{\"acr\":\"mfa\"}", false },
	{ "{}", false },
};

START_TEST(test_amr_mfa)
{
	json_t *claims = json_loads(amr_cases[_i].claims, 0, NULL);

	ck_assert_ptr_nonnull(claims);
	ck_assert_msg(oidc_amr_mfa(claims) == amr_cases[_i].mfa, "%s", amr_cases[_i].claims);
	json_decref(claims);
}
END_TEST

static const struct {
	const char *value;
	int rc;
} role_map_cases[] = {
	{ "admins=admin", 0 },
	{ "admins=admin staff=user", 0 },
	{ "  admins=admin   staff=user  ", 0 },
	{ "/staff/ops=operator", 0 },
	{ "", 0 },
	{ "   ", 0 },
	{ "admins", -1 },
	{ "=admin", -1 },
	{ "admins=", -1 },
	{ "a=b=c", -1 },
	{ "admins=admin staff", -1 },
	{ "=", -1 },
};

START_TEST(test_role_map_check)
{
	char err[256] = "";
	int rc = oidc_role_map_check(role_map_cases[_i].value, err, sizeof err);

	ck_assert_msg(rc == role_map_cases[_i].rc, "\"%s\": %d", role_map_cases[_i].value, rc);
	if (rc != 0)
		ck_assert_str_ne(err, "");
}
END_TEST

Suite *suite_oidc(void)
{
	Suite *s = suite_create("oidc");
	TCase *meta = tcase_create("discovery"), *claims = tcase_create("claims");
	TCase *pkce = tcase_create("pkce"), *map = tcase_create("mapping");

	tcase_add_loop_test(meta, test_meta, 0, sizeof meta_cases / sizeof meta_cases[0]);
	tcase_add_test(meta, test_meta_too_large);
	tcase_add_loop_test(claims, test_claims, 0, sizeof claim_cases / sizeof claim_cases[0]);
	tcase_add_test(claims, test_claims_no_nonce);
	tcase_add_test(pkce, test_pkce_rfc7636);
	tcase_add_test(pkce, test_pkce_random);
	tcase_add_loop_test(pkce, test_pkce_verifier, 0, sizeof pkce_cases / sizeof pkce_cases[0]);
	tcase_add_loop_test(map, test_claim_lookup, 0,
	                    sizeof claim_lookups / sizeof claim_lookups[0]);
	tcase_add_loop_test(map, test_claim_string, 0,
	                    sizeof claim_strings / sizeof claim_strings[0]);
	tcase_add_loop_test(map, test_map_role, 0, sizeof role_cases / sizeof role_cases[0]);
	tcase_add_loop_test(map, test_has_any, 0, sizeof has_any_cases / sizeof has_any_cases[0]);
	tcase_add_loop_test(map, test_amr_mfa, 0, sizeof amr_cases / sizeof amr_cases[0]);
	tcase_add_loop_test(map, test_role_map_check, 0,
	                    sizeof role_map_cases / sizeof role_map_cases[0]);
	suite_add_tcase(s, meta);
	suite_add_tcase(s, claims);
	suite_add_tcase(s, pkce);
	suite_add_tcase(s, map);
	return s;
}
