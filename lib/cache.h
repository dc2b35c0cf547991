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
/* Stores an identity (positive) or, with id NULL, an unknown credential (negative). A
 * positive entry never outlives the identity's own expires_at (unix seconds, 0 = none);
 * now_unix converts it. */
void cache_put(struct cache *c, const unsigned char key[CACHE_KEY_LEN], long long now_ms,
               long long now_unix, const struct identity *id);

/* What a NOTIFY names: evicts every entry of that session, user, API key or shared link. */
enum cache_field { CACHE_SESSION, CACHE_USER, CACHE_KEY, CACHE_LINK };
size_t cache_evict(struct cache *c, enum cache_field field, const char *value);
/* Drops everything (a role's permissions changed, or notifications may have been lost). */
void cache_flush(struct cache *c);

struct cache_stats {
	size_t entries;
	unsigned long long hits, misses, evictions;
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
