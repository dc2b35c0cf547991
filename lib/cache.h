/* cache: the per-process credential cache (hash -> identity), bounded, with TTLs, CLOCK
 * eviction, negative entries, and eviction by session, user, key or link for NOTIFY. */
#ifndef POSTERN_CACHE_H
#define POSTERN_CACHE_H

#include "identity.h"

#include <stdbool.h>
#include <stddef.h>

#define CACHE_KEY_LEN 32

struct cache;

/* max_entries 0 disables the cache (every call then misses). ttl_ms bounds every entry, and
 * negative_ttl_ms entries for unknown credentials. NULL on allocation failure. */
struct cache *cache_new(size_t max_entries, long ttl_ms, long negative_ttl_ms);
void cache_free(struct cache *c);

enum cache_result { CACHE_MISS, CACHE_HIT, CACHE_HIT_NEGATIVE };

/* Looks key up at now_ms (CLOCK_MONOTONIC milliseconds); a hit copies the identity into *id. */
enum cache_result cache_get(struct cache *c, const unsigned char key[CACHE_KEY_LEN],
                            long long now_ms, struct identity *id);
/* Taken before a lookup whose result is to be stored: cache_put drops a result whose lookup
 * began before an eviction or flush (it may have read what was revoked). */
unsigned long long cache_ticket(struct cache *c);
/* Stores an identity (positive) or, with id NULL, an unknown credential (negative), unless an
 * eviction or flush came after ticket. A positive entry never outlives the identity's own
 * expires_at (unix seconds, 0 = none); now_unix converts it. */
void cache_put(struct cache *c, unsigned long long ticket, const unsigned char key[CACHE_KEY_LEN],
               long long now_ms, long long now_unix, const struct identity *id);

/* What a NOTIFY names: evicts every entry of that session, user, API key or shared link. */
enum cache_field { CACHE_SESSION, CACHE_USER, CACHE_KEY, CACHE_LINK };
size_t cache_evict(struct cache *c, enum cache_field field, const char *value);
/* Drops everything (notifications may have been lost). */
void cache_flush(struct cache *c);

/* What the authorizer's lean session lookup needs, kept here because every entry is made with
 * it: the roles' permissions and the session idle timeout. Each setter drops every entry when
 * it changes what was there.
 *
 * The roles' permissions: taken over; NULL forgets them. With a cache NULL, r is freed. */
struct roles;
void cache_set_roles(struct cache *c, struct roles *r);
/* settings.session_idle_timeout in seconds; 0 forgets it. */
void cache_set_session_idle(struct cache *c, long seconds);
/* Whether a session may be looked up lean (both are known): the idle timeout, else 0. Then
 * cache_role_permissions copies role's permissions into out (true); false when they have been
 * forgotten meanwhile (look the permissions up with the session). */
long cache_lean_lookup(struct cache *c);
bool cache_role_permissions(struct cache *c, const char *role, char *out, size_t n);

struct cache_stats {
	size_t entries;
	unsigned long long hits, misses, evictions;
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
