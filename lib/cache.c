/* cache: the per-process credential cache (hash -> identity), bounded, with TTLs, CLOCK
 * eviction, negative entries, and eviction by session, user, key or link for NOTIFY. */
#include "cache.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_NONE UINT32_MAX

/* The identity as the cache keeps it: the fields the authorizer uses, strings packed into one
 * allocation (a full struct identity is kilobytes; an entry should be a few hundred bytes). */
struct cache_blob {
	enum auth_kind kind;
	bool user_mfa, session_mfa, must_change_password, has_password;
	long long expires_at, elevated_until;
	unsigned short off[9]; /* offsets of the strings below in text[] */
	char text[];
};

enum { B_USER, B_EMAIL, B_ROLE, B_SESSION, B_KEY, B_LINK, B_PERMS, B_PATH, B_VERSION, B_COUNT };

struct cache_entry {
	unsigned char key[CACHE_KEY_LEN];
	long long deadline_ms;
	struct cache_blob *blob; /* NULL: a negative entry */
	uint32_t next;           /* bucket chain */
	bool used;               /* CLOCK's reference bit */
	bool live;
};

struct cache {
	pthread_mutex_t lock;
	struct cache_entry *entries;
	uint32_t *buckets;
	uint32_t nbuckets; /* a power of two */
	uint32_t max, count, hand, free_head, unused;
	long ttl_ms, negative_ttl_ms;
	unsigned long long hits, misses, evictions;
};

struct cache *cache_new(size_t max_entries, long ttl_ms, long negative_ttl_ms)
{
	struct cache *c = calloc(1, sizeof *c);
	uint32_t nb = 16;

	if (c == NULL || max_entries > UINT32_MAX / 4)
		goto fail;
	c->max = (uint32_t)max_entries;
	c->ttl_ms = ttl_ms;
	c->negative_ttl_ms = negative_ttl_ms;
	c->free_head = CACHE_NONE;
	while (nb < c->max * 2)
		nb <<= 1;
	c->nbuckets = nb;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto fail;
	if (c->max > 0) {
		c->entries = calloc(c->max, sizeof *c->entries);
		c->buckets = malloc(nb * sizeof *c->buckets);
		if (c->entries == NULL || c->buckets == NULL)
			goto fail;
		memset(c->buckets, 0xff, nb * sizeof *c->buckets);
	}
	return c;
fail:
	if (c != NULL) {
		free(c->entries);
		free(c->buckets);
	}
	free(c);
	return NULL;
}

void cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->max; i++)
		free(c->entries[i].blob);
	free(c->entries);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static uint32_t cache_bucket(const struct cache *c, const unsigned char key[CACHE_KEY_LEN])
{
	uint32_t h;

	memcpy(&h, key, sizeof h); /* the key is a SHA-256: its bytes are already uniform */
	return h & (c->nbuckets - 1);
}

static uint32_t cache_find(const struct cache *c, const unsigned char key[CACHE_KEY_LEN])
{
	for (uint32_t i = c->buckets[cache_bucket(c, key)]; i != CACHE_NONE; i = c->entries[i].next)
		if (memcmp(c->entries[i].key, key, CACHE_KEY_LEN) == 0)
			return i;
	return CACHE_NONE;
}

static void cache_remove(struct cache *c, uint32_t i)
{
	struct cache_entry *e = &c->entries[i];
	uint32_t *p = &c->buckets[cache_bucket(c, e->key)];

	while (*p != i)
		p = &c->entries[*p].next;
	*p = e->next;
	free(e->blob);
	memset(e, 0, sizeof *e);
	e->next = c->free_head;
	c->free_head = i;
	c->count--;
}

/* A slot for a new entry: a free one, a never used one, or CLOCK's next victim. */
static uint32_t cache_slot(struct cache *c)
{
	uint32_t i;

	if (c->free_head != CACHE_NONE) {
		i = c->free_head;
		c->free_head = c->entries[i].next;
		return i;
	}
	if (c->unused < c->max)
		return c->unused++;
	for (;;) {
		struct cache_entry *e = &c->entries[c->hand];
		i = c->hand;
		c->hand = (c->hand + 1) % c->max;
		if (!e->used)
			break;
		e->used = false;
	}
	cache_remove(c, i);
	c->evictions++;
	i = c->free_head;
	c->free_head = c->entries[i].next;
	return i;
}

static struct cache_blob *cache_pack(const struct identity *id)
{
	const char *s[B_COUNT] = { id->user_id,     id->email,       id->role,
		                   id->session_id,  id->key_id,      id->link_id,
		                   id->permissions, id->path_prefix, id->link_version };
	size_t len[B_COUNT], total = 0;
	struct cache_blob *b;

	for (int i = 0; i < B_COUNT; i++) {
		len[i] = strlen(s[i]) + 1;
		total += len[i];
	}
	if (total > USHRT_MAX)
		return NULL;
	b = malloc(sizeof *b + total);
	if (b == NULL)
		return NULL;
	b->kind = id->kind;
	b->user_mfa = id->user_mfa;
	b->session_mfa = id->session_mfa;
	b->must_change_password = id->must_change_password;
	b->has_password = id->has_password;
	b->expires_at = id->expires_at;
	b->elevated_until = id->elevated_until;
	total = 0;
	for (int i = 0; i < B_COUNT; i++) {
		b->off[i] = (unsigned short)total;
		memcpy(b->text + total, s[i], len[i]);
		total += len[i];
	}
	return b;
}

static void cache_unpack(const struct cache_blob *b, struct identity *id)
{
	char *const d[B_COUNT] = { id->user_id,     id->email,       id->role,
		                   id->session_id,  id->key_id,      id->link_id,
		                   id->permissions, id->path_prefix, id->link_version };
	const size_t cap[B_COUNT] = { sizeof id->user_id,     sizeof id->email,
		                      sizeof id->role,        sizeof id->session_id,
		                      sizeof id->key_id,      sizeof id->link_id,
		                      sizeof id->permissions, sizeof id->path_prefix,
		                      sizeof id->link_version };

	id->kind = b->kind;
	id->user_mfa = b->user_mfa;
	id->session_mfa = b->session_mfa;
	id->must_change_password = b->must_change_password;
	id->has_password = b->has_password;
	id->expires_at = b->expires_at;
	id->elevated_until = b->elevated_until;
	id->display_name[0] = '\0';
	for (int i = 0; i < B_COUNT; i++) {
		/* packed from a struct identity, so every string fits its field again */
		size_t l = strnlen(b->text + b->off[i], cap[i] - 1);
		memcpy(d[i], b->text + b->off[i], l);
		d[i][l] = '\0';
	}
}

enum cache_result cache_get(struct cache *c, const unsigned char key[CACHE_KEY_LEN],
                            long long now_ms, struct identity *id)
{
	enum cache_result r = CACHE_MISS;
	uint32_t i;

	if (c == NULL || c->max == 0)
		return CACHE_MISS;
	pthread_mutex_lock(&c->lock);
	i = cache_find(c, key);
	if (i != CACHE_NONE && c->entries[i].deadline_ms <= now_ms) {
		cache_remove(c, i);
		i = CACHE_NONE;
	}
	if (i != CACHE_NONE) {
		struct cache_entry *e = &c->entries[i];
		e->used = true;
		if (e->blob != NULL) {
			cache_unpack(e->blob, id);
			r = CACHE_HIT;
		} else {
			r = CACHE_HIT_NEGATIVE;
		}
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

void cache_put(struct cache *c, const unsigned char key[CACHE_KEY_LEN], long long now_ms,
               long long now_unix, const struct identity *id)
{
	struct cache_blob *blob = NULL;
	long long deadline;
	uint32_t i, b;

	if (c == NULL || c->max == 0)
		return;
	deadline = now_ms + (id ? c->ttl_ms : c->negative_ttl_ms);
	if (id != NULL) {
		if (id->expires_at > 0 && (id->expires_at - now_unix) * 1000 < deadline - now_ms)
			deadline = now_ms + (id->expires_at - now_unix) * 1000;
		if (deadline <= now_ms || (blob = cache_pack(id)) == NULL)
			return;
	}
	pthread_mutex_lock(&c->lock);
	i = cache_find(c, key);
	if (i != CACHE_NONE)
		cache_remove(c, i);
	i = cache_slot(c);
	b = cache_bucket(c, key);
	memcpy(c->entries[i].key, key, CACHE_KEY_LEN);
	c->entries[i].deadline_ms = deadline;
	c->entries[i].blob = blob;
	c->entries[i].used = false;
	c->entries[i].live = true;
	c->entries[i].next = c->buckets[b];
	c->buckets[b] = i;
	c->count++;
	pthread_mutex_unlock(&c->lock);
}

static bool cache_matches(const struct cache_blob *b, enum cache_field field, const char *value)
{
	static const int offs[] = { [CACHE_SESSION] = B_SESSION,
		                    [CACHE_USER] = B_USER,
		                    [CACHE_KEY] = B_KEY,
		                    [CACHE_LINK] = B_LINK };

	return strcmp(b->text + b->off[offs[field]], value) == 0;
}

/* A scan of every entry: revocations are rare next to lookups, and this needs no index. */
size_t cache_evict(struct cache *c, enum cache_field field, const char *value)
{
	size_t n = 0;

	if (c == NULL || c->max == 0 || value[0] == '\0')
		return 0;
	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->unused; i++) {
		struct cache_entry *e = &c->entries[i];
		if (e->live && e->blob != NULL && cache_matches(e->blob, field, value)) {
			cache_remove(c, i);
			n++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

void cache_flush(struct cache *c)
{
	if (c == NULL || c->max == 0)
		return;
	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->unused; i++)
		if (c->entries[i].live)
			cache_remove(c, i);
	pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	memset(out, 0, sizeof *out);
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	out->entries = c->count;
	out->hits = c->hits;
	out->misses = c->misses;
	out->evictions = c->evictions;
	pthread_mutex_unlock(&c->lock);
}
