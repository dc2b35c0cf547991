/* test_identity: the canonical UUID text <-> 16 bytes, and permission lists. */
#include "identity.h"

#include "suites.h"

#include <string.h>

static const char UUID_TEXT[] = "0123abcd-4567-89ef-fedc-ba9876543210";
static const unsigned char UUID_BYTES[IDENTITY_UUID_BYTES] = {
	0x01, 0x23, 0xab, 0xcd, 0x45, 0x67, 0x89, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

START_TEST(test_uuid_round_trip)
{
	unsigned char b[IDENTITY_UUID_BYTES];
	char text[IDENTITY_UUID_LEN + 1];

	ck_assert_int_eq(identity_uuid_parse(UUID_TEXT, strlen(UUID_TEXT), b), 0);
	ck_assert_mem_eq(b, UUID_BYTES, sizeof b);
	identity_uuid_format(b, text);
	ck_assert_str_eq(text, UUID_TEXT);
	ck_assert_int_eq(identity_uuid_parse(UUID_TEXT, strlen(UUID_TEXT), NULL), 0);
}
END_TEST

static const char *const bad_uuids[] = {
	"0123ABCD-4567-89ef-fedc-ba9876543210",  /* upper case would not come back as it was */
	"0123abcd4567-89ef-fedc-ba9876543210-",  /* a dash out of place */
	"0123abcd-4567-89ef-fedc-ba987654321",   /* short */
	"0123abcd-4567-89ef-fedc-ba98765432100", /* long */
	"0123abcd-4567-89ef-fedc-ba987654321g",  "{123abcd-4567-89ef-fedc-ba9876543210", "",
};

START_TEST(test_uuid_rejects)
{
	unsigned char b[IDENTITY_UUID_BYTES];
	const char *s = bad_uuids[_i];

	ck_assert_msg(identity_uuid_parse(s, strlen(s), b) == -1, "\"%s\"", s);
	ck_assert_msg(identity_uuid_parse(s, strlen(s), NULL) == -1, "\"%s\"", s);
}
END_TEST

START_TEST(test_has_permission)
{
	struct identity id = { 0 };

	strcpy(id.permissions, "album.read album.write");
	ck_assert(identity_has_permission(&id, "album.read"));
	ck_assert(identity_has_permission(&id, "album.write"));
	ck_assert(!identity_has_permission(&id, "album"));
	ck_assert(!identity_has_permission(&id, "album.rea"));
	strcpy(id.permissions, "all");
	ck_assert(identity_has_permission(&id, "anything.at_all"));
}
END_TEST

Suite *suite_identity(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_uuid_round_trip);
	tcase_add_loop_test(tc, test_uuid_rejects, 0, sizeof bad_uuids / sizeof bad_uuids[0]);
	tcase_add_test(tc, test_has_permission);
	suite_add_tcase(s, tc);
	return s;
}
