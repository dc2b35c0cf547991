/* test_cache: hits, TTLs, negative entries, CLOCK eviction, NOTIFY evictions, lookups that
 * raced an eviction, and the role permissions (lib/cache, lib/roles). */
#include "cache.h"
#include "roles.h"
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
	snprintf(id.user_id, sizeof id.user_id, "00000000-0000-4000-8000-%012d", n % 3);
	snprintf(id.session_id, sizeof id.session_id, "5e550000-0000-4000-8000-%012d", n);
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
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	memset(&out, 0, sizeof out);
	ck_assert_int_eq(cache_get(c, k, 4999, &out), CACHE_HIT);
	ck_assert_str_eq(out.email, "u1@example.com");
	ck_assert_str_eq(out.session_id, "5e550000-0000-4000-8000-000000000001");
	ck_assert_str_eq(out.user_id, "00000000-0000-4000-8000-000000000001");
	ck_assert_str_eq(out.role, "user");
	ck_assert_str_eq(out.key_id, "");
	ck_assert_str_eq(out.link_id, "");
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
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1999, &out), CACHE_HIT);
	ck_assert_int_eq(cache_get(c, k, 2000, &out), CACHE_MISS);
	in.expires_at = 999; /* already expired: not stored at all */
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
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
	cache_put(c, cache_ticket(c), k, 0, 0, NULL);
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
		cache_put(c, cache_ticket(c), k, 0, 0, &in);
	}
	key_of(0, k);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_HIT); /* 0 is referenced */
	for (int i = 8; i < 12; i++) {
		in = ident(i);
		key_of(i, k);
		cache_put(c, cache_ticket(c), k, 1, 0, &in);
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
		cache_put(c, cache_ticket(c), k, 0, 0, &in);
	}
	ck_assert_uint_eq(cache_evict(c, CACHE_KEY, "5e550000-0000-4000-8000-000000000004"), 0);
	ck_assert_uint_eq(cache_evict(c, CACHE_SESSION, "5e550000-0000-4000-8000-000000000004"), 1);
	key_of(4, k);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_MISS);
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "00000000-0000-4000-8000-000000000001"), 2);
	/* 1 and 7; 4 went already */
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "00000000-0000-4000-8000-000000000001"), 0);
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "00000000-0000-4000-8000-00000000000"), 0);
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
		cache_put(c, cache_ticket(c), k, 0, 0, &in);
	}
	cache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 64);
	ck_assert_uint_eq(st.evictions, 0);
	cache_free(c);
}
END_TEST

START_TEST(test_api_key_and_link_round_trip)
{
	struct cache *c = cache_new(16, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(5), out;

	key_of(5, k);
	in.kind = AUTH_API_KEY;
	in.session_id[0] = '\0';
	snprintf(in.key_id, sizeof in.key_id, "%s", "abcdef01-2345-4678-9abc-def012345678");
	snprintf(in.permissions, sizeof in.permissions, "%s", "album.read");
	in.expires_at = 4000000000LL; /* past 2038 */
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	memset(&out, 0x55, sizeof out);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_HIT);
	ck_assert_int_eq(out.kind, AUTH_API_KEY);
	ck_assert_str_eq(out.key_id, "abcdef01-2345-4678-9abc-def012345678");
	ck_assert_str_eq(out.session_id, "");
	ck_assert_str_eq(out.permissions, "album.read");
	ck_assert_str_eq(out.display_name, "");
	ck_assert_int_eq(out.expires_at, 4000000000LL);
	ck_assert_uint_eq(cache_evict(c, CACHE_KEY, "abcdef01-2345-4678-9abc-def012345678"), 1);

	in = ident(6);
	key_of(6, k);
	in.kind = AUTH_SHARED_LINK;
	in.session_id[0] = in.role[0] = '\0';
	snprintf(in.link_id, sizeof in.link_id, "%s", "0000aaaa-0000-4000-8000-000000000006");
	snprintf(in.path_prefix, sizeof in.path_prefix, "%s", "/albums/1/");
	snprintf(in.link_version, sizeof in.link_version, "%s", "3");
	in.has_password = true;
	in.user_mfa = false;
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_HIT);
	ck_assert_int_eq(out.kind, AUTH_SHARED_LINK);
	ck_assert_str_eq(out.link_id, "0000aaaa-0000-4000-8000-000000000006");
	ck_assert_str_eq(out.path_prefix, "/albums/1/");
	ck_assert_str_eq(out.link_version, "3");
	ck_assert_str_eq(out.role, "");
	ck_assert_str_eq(out.email, "u6@example.com");
	ck_assert(out.has_password);
	ck_assert(!out.user_mfa);
	ck_assert_uint_eq(cache_evict(c, CACHE_SESSION, "0000aaaa-0000-4000-8000-000000000006"), 0);
	ck_assert_uint_eq(cache_evict(c, CACHE_LINK, "0000aaaa-0000-4000-8000-000000000006"), 1);
	cache_free(c);
}
END_TEST

START_TEST(test_unusual_shapes_are_not_cached)
{
	struct cache *c = cache_new(16, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in, out;
	const char *bad_ids[] = { "session-1", "5E550000-0000-4000-8000-000000000001",
		                  "5e550000-0000-4000-8000-00000000000", "" };

	key_of(7, k);
	for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
		in = ident(7);
		snprintf(in.session_id, sizeof in.session_id, "%s", bad_ids[i]);
		cache_put(c, cache_ticket(c), k, 0, 1000, &in);
		ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_MISS);
	}
	in = ident(7); /* a session identity that also names a key */
	snprintf(in.key_id, sizeof in.key_id, "%s", "abcdef01-2345-4678-9abc-def012345678");
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_MISS);
	in = ident(7);
	in.kind = AUTH_TOKEN;
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_MISS);
	in = ident(7); /* and it replaces what was there */
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_HIT);
	snprintf(in.user_id, sizeof in.user_id, "%s", "nobody");
	cache_put(c, cache_ticket(c), k, 0, 1000, &in);
	ck_assert_int_eq(cache_get(c, k, 1, &out), CACHE_MISS);
	cache_free(c);
}
END_TEST

START_TEST(test_disabled)
{
	struct cache *c = cache_new(0, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(1), out;

	key_of(1, k);
	cache_put(c, cache_ticket(c), k, 0, 0, &in);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	ck_assert_uint_eq(cache_evict(c, CACHE_USER, "00000000-0000-4000-8000-000000000001"), 0);
	cache_flush(c);
	cache_free(c);
}
END_TEST

START_TEST(test_lookup_racing_an_eviction_is_not_stored)
{
	struct cache *c = cache_new(16, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(1), out;
	unsigned long long ticket;

	key_of(1, k);
	/* the lookup began, then its session was revoked (any eviction counts), then it ended */
	ticket = cache_ticket(c);
	ck_assert_uint_eq(cache_evict(c, CACHE_SESSION, "5e550000-0000-4000-8000-000000000009"), 0);
	cache_put(c, ticket, k, 0, 0, &in);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	/* negative results the same; and a flush too */
	ticket = cache_ticket(c);
	cache_flush(c);
	cache_put(c, ticket, k, 0, 0, NULL);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	/* a lookup after them is stored */
	cache_put(c, cache_ticket(c), k, 0, 0, &in);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_HIT);
	cache_free(c);
}
END_TEST

START_TEST(test_roles_map)
{
	struct roles *r = roles_new();
	char out[IDENTITY_PERMS_MAX], big[IDENTITY_PERMS_MAX + 1], name[IDENTITY_ROLE_SIZE + 1];

	ck_assert_int_eq(roles_add(r, "editor", "album.read album.write"), 0);
	ck_assert_int_eq(roles_add(r, "admin", "all"), 0);
	ck_assert_int_eq(roles_add(r, "editor", "x.y"), -1); /* twice */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(roles_add(r, "huge", big), -1); /* longer than an identity holds */
	memset(name, 'r', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	ck_assert_int_eq(roles_add(r, name, "x.y"), -1);
	ck_assert_uint_eq(roles_count(r), 2);
	roles_permissions(r, "editor", out, sizeof out);
	ck_assert_str_eq(out, "album.read album.write");
	roles_permissions(r, "admin", out, sizeof out);
	ck_assert_str_eq(out, "all");
	roles_permissions(r, "user", out, sizeof out); /* a role without permissions */
	ck_assert_str_eq(out, "");
	roles_permissions(r, "editor", out, 5); /* never a cut list */
	ck_assert_str_eq(out, "");
	roles_free(r);
}
END_TEST

START_TEST(test_roles_bounded)
{
	struct roles *r = roles_new();
	char name[32];

	for (int i = 0; i < ROLES_MAX; i++) {
		snprintf(name, sizeof name, "r%d", i);
		ck_assert_int_eq(roles_add(r, name, "a.b"), 0);
	}
	ck_assert_int_eq(roles_add(r, "one-more", "a.b"), -1);
	roles_free(r);
}
END_TEST

START_TEST(test_cache_roles)
{
	struct cache *c = cache_new(16, 60000, 1000);
	struct roles *r = roles_new();
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(1), out;
	char perms[IDENTITY_PERMS_MAX] = "untouched";

	ck_assert_int_eq(cache_lean_lookup(c), 0);
	ck_assert(!cache_role_permissions(c, "editor", perms, sizeof perms));
	ck_assert_str_eq(perms, "untouched");
	ck_assert_int_eq(roles_add(r, "editor", "album.read"), 0);
	key_of(1, k);
	cache_put(c, cache_ticket(c), k, 0, 0, &in);
	/* new role permissions: every entry was made with the old ones */
	cache_set_roles(c, r);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	ck_assert_int_eq(cache_lean_lookup(c), 0); /* the idle timeout is not known yet */
	ck_assert(cache_role_permissions(c, "editor", perms, sizeof perms));
	ck_assert_str_eq(perms, "album.read");
	ck_assert(cache_role_permissions(c, "viewer", perms, sizeof perms));
	ck_assert_str_eq(perms, "");
	cache_set_session_idle(c, 3600);
	ck_assert_int_eq(cache_lean_lookup(c), 3600);
	cache_set_roles(c, NULL); /* a failed reload forgets them */
	ck_assert_int_eq(cache_lean_lookup(c), 0);
	ck_assert(!cache_role_permissions(c, "editor", perms, sizeof perms));
	cache_set_roles(NULL, roles_new()); /* no cache: freed */
	ck_assert_int_eq(cache_lean_lookup(NULL), 0);
	cache_free(c);
}
END_TEST

/* Entries' expiries were made with the idle timeout: a new one drops them, the same one not. */
START_TEST(test_cache_session_idle)
{
	struct cache *c = cache_new(16, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in = ident(1), out;
	unsigned long long ticket;

	cache_set_roles(c, roles_new());
	cache_set_session_idle(c, 604800);
	ck_assert_int_eq(cache_lean_lookup(c), 604800);
	key_of(1, k);
	cache_put(c, cache_ticket(c), k, 0, 0, &in);
	cache_set_session_idle(c, 604800);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_HIT);
	ticket = cache_ticket(c); /* a lookup made with the old timeout, stored after the change */
	cache_set_session_idle(c, 3600);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	cache_put(c, ticket, k, 0, 0, &in);
	ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
	ck_assert_int_eq(cache_lean_lookup(c), 3600);
	cache_set_session_idle(c, 0); /* a lost listener forgets it: full lookups */
	ck_assert_int_eq(cache_lean_lookup(c), 0);
	cache_set_session_idle(NULL, 60);
	cache_free(c);
}
END_TEST

/* The cred_id index stays right through puts, replacements, CLOCK evictions and evictions. */
START_TEST(test_evict_through_the_index)
{
	struct cache *c = cache_new(1000, 60000, 1000);
	unsigned char k[CACHE_KEY_LEN];
	struct identity in, out;
	char sid[IDENTITY_UUID_LEN + 1];
	int live = 0;

	for (int n = 0; n < 1500; n++) { /* 500 more than fit: CLOCK evicts */
		in = ident(n);
		key_of(n, k);
		cache_put(c, cache_ticket(c), k, 0, 0, &in);
	}
	for (int n = 0; n < 1500; n++) { /* a replacement under the same key, another session */
		key_of(n, k);
		if (n % 7 == 0 && cache_get(c, k, 0, &out) == CACHE_HIT) {
			in = ident(n + 100000);
			cache_put(c, cache_ticket(c), k, 0, 0, &in);
		}
	}
	for (int n = 0; n < 1500; n++) {
		int want;
		key_of(n, k);
		want = cache_get(c, k, 0, &out) == CACHE_HIT;
		snprintf(sid, sizeof sid, "5e550000-0000-4000-8000-%012d",
		         n % 7 == 0 ? n + 100000 : n);
		ck_assert_uint_eq(cache_evict(c, CACHE_SESSION, sid), (size_t)want);
		ck_assert_int_eq(cache_get(c, k, 0, &out), CACHE_MISS);
		live += want;
	}
	ck_assert_int_eq(live, 1000);
	cache_free(c);
}
END_TEST

/* Deadlines are 32-bit milliseconds since an epoch: 2^31 ms on, everything goes and the epoch
 * moves, so that no deadline is ever read across a wrap. */
START_TEST(test_epoch_moves)
{
	struct cache *c = cache_new(16, 3600000, 1000);
	unsigned char k[CACHE_KEY_LEN], k2[CACHE_KEY_LEN];
	struct identity in = ident(1), out;
	const long long span = 1LL << 31, t0 = 1000;

	key_of(1, k);
	key_of(2, k2);
	cache_put(c, cache_ticket(c), k, t0, 0, &in);
	ck_assert_int_eq(cache_get(c, k, t0 + 3599999, &out), CACHE_HIT);
	ck_assert_int_eq(cache_get(c, k, t0 - 5, &out), CACHE_HIT); /* read the clock earlier */
	cache_put(c, cache_ticket(c), k2, t0 + span - 10, 0, &in);  /* just before the move */
	ck_assert_int_eq(cache_get(c, k2, t0 + span - 1, &out), CACHE_HIT);
	ck_assert_int_eq(cache_get(c, k2, t0 + span, &out), CACHE_MISS); /* flushed */
	cache_put(c, cache_ticket(c), k2, t0 + span + 5, 0, &in);
	ck_assert_int_eq(cache_get(c, k2, t0 + span + 3600004, &out), CACHE_HIT);
	ck_assert_int_eq(cache_get(c, k2, t0 + span + 3600005, &out), CACHE_MISS); /* its TTL */
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
	tcase_add_test(tc, test_api_key_and_link_round_trip);
	tcase_add_test(tc, test_unusual_shapes_are_not_cached);
	tcase_add_test(tc, test_disabled);
	tcase_add_test(tc, test_lookup_racing_an_eviction_is_not_stored);
	tcase_add_test(tc, test_roles_map);
	tcase_add_test(tc, test_roles_bounded);
	tcase_add_test(tc, test_cache_roles);
	tcase_add_test(tc, test_cache_session_idle);
	tcase_add_test(tc, test_evict_through_the_index);
	tcase_add_test(tc, test_epoch_moves);
	suite_add_tcase(s, tc);
	return s;
}
