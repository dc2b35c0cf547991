/* test_body: Content-Type classification and string fields of JSON and form bodies (lib/body). */
#include "body.h"
#include "suites.h"

#include <string.h>

static const struct {
	const char *content_type;
	enum body_type type;
} body_types[] = {
	{ NULL, BODY_NONE },
	{ "", BODY_NONE },
	{ "application/json", BODY_JSON },
	{ "Application/JSON; charset=utf-8", BODY_JSON },
	{ "application/jsonx", BODY_UNSUPPORTED },
	{ "application/x-www-form-urlencoded", BODY_FORM },
	{ "application/x-www-form-urlencoded;charset=UTF-8", BODY_FORM },
	{ "multipart/form-data; boundary=x", BODY_UNSUPPORTED },
	{ "text/plain", BODY_UNSUPPORTED },
};

START_TEST(test_types)
{
	ck_assert_int_eq(body_type_of(body_types[_i].content_type), body_types[_i].type);
}
END_TEST

static const struct {
	enum body_type type;
	const char *body;
	const char *name;
	int rc;
	const char *value;
} body_fields[] = {
	{ BODY_JSON, "{\"email\":\"a@b.c\"}", "email", 1, "a@b.c" },
	{ BODY_JSON, "{\"email\":\"a@b.c\"}", "password", 0, NULL },
	{ BODY_JSON, "{\"email\":null}", "email", 0, NULL },
	{ BODY_JSON, "{\"email\":1}", "email", -1, NULL },
	{ BODY_JSON, "{\"email\":[\"a\"]}", "email", -1, NULL },
	{ BODY_JSON, "{\"email\":\"0123456789abcdef\"}", "email", -1, NULL }, /* outlen 16 */
	{ BODY_JSON, "{\"email\":\"0123456789abcde\"}", "email", 1, "0123456789abcde" },
	{ BODY_FORM, "email=a%40b.c&x=1", "email", 1, "a@b.c" },
	{ BODY_FORM, "email=a&email=b", "email", -1, NULL },
	{ BODY_FORM, "email=%zz", "email", -1, NULL },
	{ BODY_FORM, "x=1", "email", 0, NULL },
	{ BODY_NONE, "email=a", "email", 0, NULL },
};

START_TEST(test_fields)
{
	const char *body = body_fields[_i].body;
	json_t *json =
	    body_fields[_i].type == BODY_JSON ? body_parse_json(body, strlen(body)) : NULL;
	char out[16] = "untouched";
	int rc;

	if (body_fields[_i].type == BODY_JSON)
		ck_assert_ptr_nonnull(json);
	rc = body_field(body_fields[_i].type, body, strlen(body), json, body_fields[_i].name, out,
	                sizeof out);
	ck_assert_msg(rc == body_fields[_i].rc, "case %d: rc %d", _i, rc);
	ck_assert_str_eq(out, body_fields[_i].value ? body_fields[_i].value : "untouched");
	json_decref(json);
}
END_TEST

START_TEST(test_json_must_be_one_object)
{
	static const char
	    *const bad[] = { "[1]",   "\"x\"", "{\"a\":1,\"a\":2}",        "{",
		             "{} {}", "",      "{\"email\":\"a\\u0000b\"}" /* no NUL */ };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_ptr_null(body_parse_json(bad[i], strlen(bad[i])));
}
END_TEST

Suite *suite_body(void)
{
	Suite *s = suite_create("body");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_types, 0, sizeof body_types / sizeof body_types[0]);
	tcase_add_loop_test(tc, test_fields, 0, sizeof body_fields / sizeof body_fields[0]);
	tcase_add_test(tc, test_json_must_be_one_object);
	suite_add_tcase(s, tc);
	return s;
}
