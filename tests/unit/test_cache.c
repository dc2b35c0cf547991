/* test_cache: hits, TTLs, negative entries, CLOCK eviction and NOTIFY evictions (lib/cache). */
#include "cache.h"
#include "suites.h"

#include <stdio.h>
#include <string.h>

static void key_of(int n, unsigned char key[CACHE_KEY_LEN])
{
	memset(key, 0, CACHE_KEY_LEN);
	memcpy(key, &n, sizeof n);
	key[CACHE_KEY_LEN - 1] = 0x5a;
}

static struct identity ident(int n)
{
	struct identity id;

	memset(&id, 0, sizeof id);
	id.kind = AUTH_SESSION;
	snprintf(id.user_id, sizeof id.user_id, "user-%d", n % 3);
	snprintf(id.session_id, sizeof id.session_id, "session-%d", n);
	snprintf(id.email, sizeof id.email, "u%d@example.com", n);
	snprintf(id.permissions, sizeof id.permissions, "album.read album.write");
	snprintf(id.role, sizeof id.role, "user");
	id.user_mfa = true;
	return id;
}

START_TEST(test_hit_miss_ttl)
{
	struct cache *c = cache_new(16, 5000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(1), out;

	key_of(1, k);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	cache_put(c, k, 0, 1000, &in);
	memset(&out, 0, sizeof out);
	ck_assert_int_eq(cache_get(c, k, 4999, &out), CACHE_HIT);
	ck_assert_str_eq(out.email, "u1@example.com");
	ck_assert_str_eq(out.session_id, "session-1");
	ck_assert_str_eq(out.permissions, "album.read album.write");
	ck_assert(out.user_mfa);
	ck_assert_int_eq(out.kind, AUTH_SESSION);
	ck_assert_int_eq(cache_get(c, k, 5000, &out), CACHE_MISS); /* the TTL */
	cache_free(c);
}
END_TEST

START_TEST(test_identity_expiry_bounds_the_entry)
{
	struct cache *c = cache_new(16, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(2), out;

	key_of(2, k);
	in.expires_at = 1002; /* two seconds after now_unix 1000 */
	cache_put(c, k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1999, &out), CACHE_HIT);
	ck_assert_int_eq(cache_get(c, k, 2000, &out), CACHE_MISS);
	in.expires_at = 999; /* already expired: not stored at all */
	cache_put(c, k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	cache_free(c);
}
END_TEST

START_TEST(test_negative_entries)
{
	struct cache *c = cache_new(16, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity out;

	key_of(3, k);
	cache_put(c, k, 0, 0, NULL);
	ck_assert_int_eq(cache_get(c, k, 999, &out), CACHE_HIT_NEGATIVE);
	ck_assert_int_eq(cache_get(c, k, 1000, &out), CACHE_MISS);
	cache_free(c);
}
END_TEST

START_TEST(test_bounded_with_clock)
{
	struct cache *c = cache_new(8, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in, out;
	struct cache_stats st;
	int hits = 0;

	for (int i = 0; i < 8; i++) {
		in = ident(i);
		key_of(i, k);
		cache_put(c, k, 0, 0, &in);
	}
	key_of(0, k);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_HIT); /* 0 is referenced */
	for (int i = 8; i < 12; i++) {
		in = ident(i);
		key_of(i, k);
		cache_put(c, k, 1, 0, &in);
	}
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 8);
	ck_assert_uint_eq(st.evictions, 4);
	key_of(0, k);
	ck_assert_int_eq(cache_get(c, k, 2, &out), CACHE_HIT); /* CLOCK spared it */
	for (int i = 0; i < 12; i++) {
		key_of(i, k);
		hits += cache_get(c, k, 3, &out) == CACHE_HIT;
	}
	ck_assert_int_eq(hits, 8);
	cache_free(c);
}
END_TEST

START_TEST(test_evict_by_field_and_flush)
{
	struct cache *c = cache_new(64, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in, out;
	struct cache_stats st;

	for (int i = 0; i < 9; i++) {
		in = ident(i);
		key_of(i, k);
		cache_put(c, k, 0, 0, &in);
	}
	ck_assert_uint_eq(cache_evict(c, CACHE_SESSION, "session-4"), 1);
	key_of(4, k);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_MISS);
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "user-1"), 2); /* 1 and 7; 4 went already */
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "user-1"), 0);
	ck_assert_uint_eq(cache_evict(c, CACHE_KEY, ""), 0); /* empty ids match nothing */
	ck_assert_uint_eq(cache_evict(c, CACHE_LINK, "x"), 0);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 6);
	cache_flush(c);
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 0);
	/* the freed slots are reused */
	for (int i = 0; i < 64; i++) {
		in = ident(i);
		key_of(i, k);
		cache_put(c, k, 0, 0, &in);
	}
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 64);
	ck_assert_uint_eq(st.evictions, 0);
	cache_free(c);
}
END_TEST

START_TEST(test_disabled)
{
	struct cache *c = cache_new(0, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(1), out;

	key_of(1, k);
	cache_put(c, k, 0, 0, &in);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "user-1"), 0);
	cache_flush(c);
	cache_free(c);
}
END_TEST

Suite *suite_cache(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hit_miss_ttl);
	tcase_add_test(tc, test_identity_expiry_bounds_the_entry);
	tcase_add_test(tc, test_negative_entries);
	tcase_add_test(tc, test_bounded_with_clock);
	tcase_add_test(tc, test_evict_by_field_and_flush);
	tcase_add_test(tc, test_disabled);
	suite_add_tcase(s, tc);
	return s;
}
