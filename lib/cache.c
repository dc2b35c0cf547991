/* cache: the per-process credential cache (hash -> identity), bounded, with TTLs, CLOCK
 * eviction, negative entries, eviction by session, user, key or link for NOTIFY, and the role
 * permissions its session entries are made with. */
#include "cache.h"

#include "roles.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_NONE UINT32_MAX
/* Entries keep 16 of the key's 32 bytes: finding a credential whose SHA-256 shares 128 bits
 * with a cached one takes 2^128 / entries tries, and memory per entry is what this cache is
 * measured by (make bench: 100,000 entries). */
#define CACHE_STORED_KEY 16
#define CACHE_UUID_LEN IDENTITY_UUID_BYTES
#define CACHE_GRANT_BUCKETS 256

/* A role and a permission list, shared by every entry with the same pair: there are few. */
struct cache_grant {
	struct cache_grant *next; /* in its intern bucket */
	uint32_t refs, hash;
	size_t role_len, perms_len;
	char text[]; /* role \0 permissions \0 */
};

enum {
	F_USED = 1, /* CLOCK's reference bit */
	F_LIVE = 2,
	F_USER = 4, /* user_id holds a user (not so for an unknown credential) */
	F_USER_MFA = 8,
	F_SESSION_MFA = 16,
	F_MUST_CHANGE = 32,
	F_HAS_PASSWORD = 64,
};

/* Deadlines are milliseconds since the cache's own epoch, in 32 bits: once the clock is this
 * far past it, everything is flushed and the epoch moves (every 24 days; the longest TTL, an
 * hour, keeps every deadline below 2^32). */
#define CACHE_EPOCH_SPAN_MS (1LL << 31)

/* One cached credential in 88 bytes, plus its email (and a link's path and version) in one
 * small allocation. The UUIDs are binary; which one cred_id is depends on kind. */
struct cache_entry {
	unsigned char key[CACHE_STORED_KEY];
	struct cache_grant *grant; /* NULL: a negative entry */
	char *text;                /* email \0 [path_prefix \0 link_version \0] */
	uint32_t deadline;         /* ms since the epoch */
	uint32_t next;             /* bucket chain */
	uint32_t cred_next;        /* chain of the cred_id index (positive entries only) */
	uint32_t expires_at;       /* unix seconds, 0 = never */
	uint32_t elevated_until;
	unsigned char user_id[CACHE_UUID_LEN], cred_id[CACHE_UUID_LEN];
	uint8_t kind, flags;
};

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct cache_entry) == 88,
               "the entry's size is what the cache is measured by");
#endif

struct cache {
	pthread_mutex_t lock;
	struct cache_entry *entries;
	uint32_t *buckets;
	uint32_t nbuckets; /* a power of two */
	/* By cred_id: a logout or revocation evicts without a scan of every entry (which holds
	 * the lock for milliseconds at 100,000 entries, and revocations come with every logout). */
	uint32_t *cred_buckets;
	uint32_t ncred_buckets; /* a power of two */
	uint32_t max, count, hand, free_head, unused;
	long ttl_ms, negative_ttl_ms;
	long long epoch_ms;
	bool epoch_set;
	/* Counts evictions and flushes: a lookup that began before one may have read what it
	 * evicted, so its result is not stored (cache_ticket). */
	unsigned long long generation;
	struct roles *roles; /* NULL: not loaded (sessions then come with their permissions) */
	long session_idle;   /* seconds; 0: not known (sessions are then looked up in full) */
	unsigned long long hits, misses, evictions;
	struct cache_grant *grants[CACHE_GRANT_BUCKETS];
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
	c->ncred_buckets = nb / 4; /* chains of 2 at most: evictions are rare next to lookups */
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto fail;
	if (c->max > 0) {
		c->entries = calloc(c->max, sizeof *c->entries);
		c->buckets = malloc(nb * sizeof *c->buckets);
		c->cred_buckets = malloc(c->ncred_buckets * sizeof *c->cred_buckets);
		if (c->entries == NULL || c->buckets == NULL || c->cred_buckets == NULL)
			goto fail;
		memset(c->buckets, 0xff, nb * sizeof *c->buckets);
		memset(c->cred_buckets, 0xff, c->ncred_buckets * sizeof *c->cred_buckets);
	}
	return c;
fail:
	if (c != NULL) {
		free(c->entries);
		free(c->buckets);
		free(c->cred_buckets);
	}
	free(c);
	return NULL;
}

static void cache_grant_drop(struct cache *c, struct cache_grant *g)
{
	struct cache_grant **p = &c->grants[g->hash % CACHE_GRANT_BUCKETS];

	if (--g->refs > 0)
		return;
	while (*p != g)
		p = &(*p)->next;
	*p = g->next;
	free(g);
}

/* The shared grant for (role, permissions): found, or made. NULL on allocation failure. */
static struct cache_grant *cache_grant_get(struct cache *c, const char *role, const char *perms)
{
	size_t rl = strlen(role), pl = strlen(perms);
	uint32_t h = 2166136261u; /* FNV-1a over both strings */
	struct cache_grant *g;

	for (size_t i = 0; i <= rl; i++)
		h = (h ^ (unsigned char)role[i]) * 16777619u;
	for (size_t i = 0; i < pl; i++)
		h = (h ^ (unsigned char)perms[i]) * 16777619u;
	for (g = c->grants[h % CACHE_GRANT_BUCKETS]; g != NULL; g = g->next)
		if (g->hash == h && g->role_len == rl && memcmp(g->text, role, rl + 1) == 0 &&
		    strcmp(g->text + rl + 1, perms) == 0) {
			g->refs++;
			return g;
		}
	g = malloc(sizeof *g + rl + pl + 2);
	if (g == NULL)
		return NULL;
	g->refs = 1;
	g->hash = h;
	g->role_len = rl;
	g->perms_len = pl;
	memcpy(g->text, role, rl + 1);
	memcpy(g->text + rl + 1, perms, pl + 1);
	g->next = c->grants[h % CACHE_GRANT_BUCKETS];
	c->grants[h % CACHE_GRANT_BUCKETS] = g;
	return g;
}

static void cache_release(struct cache *c, struct cache_entry *e)
{
	if (e->grant != NULL)
		cache_grant_drop(c, e->grant);
	free(e->text);
}

void cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (uint32_t i = 0; i < c->unused; i++)
		if (c->entries[i].flags & F_LIVE)
			cache_release(c, &c->entries[i]);
	free(c->entries);
	free(c->buckets);
	free(c->cred_buckets);
	roles_free(c->roles);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static uint32_t cache_bucket(const struct cache *c, const unsigned char *key)
{
	uint32_t h;

	memcpy(&h, key, sizeof h); /* the key is a SHA-256: its bytes are already uniform */
	return h & (c->nbuckets - 1);
}

static uint32_t cache_find(const struct cache *c, const unsigned char *key)
{
	for (uint32_t i = c->buckets[cache_bucket(c, key)]; i != CACHE_NONE; i = c->entries[i].next)
		if (memcmp(c->entries[i].key, key, CACHE_STORED_KEY) == 0)
			return i;
	return CACHE_NONE;
}

/* UUIDs are not uniform (version bits, and ids like PostgreSQL's sequences' text): FNV-1a. */
static uint32_t cache_cred_bucket(const struct cache *c, const unsigned char *uuid)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < CACHE_UUID_LEN; i++)
		h = (h ^ uuid[i]) * 16777619u;
	return h & (c->ncred_buckets - 1);
}

static void cache_remove(struct cache *c, uint32_t i)
{
	struct cache_entry *e = &c->entries[i];
	uint32_t *p = &c->buckets[cache_bucket(c, e->key)];

	while (*p != i)
		p = &c->entries[*p].next;
	*p = e->next;
	if (e->grant != NULL) {
		p = &c->cred_buckets[cache_cred_bucket(c, e->cred_id)];
		while (*p != i)
			p = &c->entries[*p].cred_next;
		*p = e->cred_next;
	}
	cache_release(c, e);
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
		if (!(e->flags & F_USED))
			break;
		e->flags &= (uint8_t)~F_USED;
	}
	cache_remove(c, i);
	c->evictions++;
	i = c->free_head;
	c->free_head = c->entries[i].next;
	return i;
}

static int cache_uuid_parse(const char *s, unsigned char out[CACHE_UUID_LEN])
{
	return identity_uuid_parse(s, strnlen(s, IDENTITY_UUID_LEN + 1), out);
}

/* Which of the identity's ids belongs to its kind; the others must be empty. NULL: the
 * identity does not have the shape the cache keeps (it is then simply not cached). */
static const char *cache_cred_id(const struct identity *id)
{
	const char *own, *other1, *other2;

	switch (id->kind) {
	case AUTH_SESSION:
	case AUTH_JWT: own = id->session_id, other1 = id->key_id, other2 = id->link_id; break;
	case AUTH_API_KEY: own = id->key_id, other1 = id->session_id, other2 = id->link_id; break;
	case AUTH_SHARED_LINK:
		own = id->link_id, other1 = id->session_id, other2 = id->key_id;
		break;
	default: return NULL;
	}
	return other1[0] == '\0' && other2[0] == '\0' ? own : NULL;
}

/* The identity into e (not yet in the table). -1: not cacheable, or out of memory. */
static int cache_pack(struct cache *c, struct cache_entry *e, const struct identity *id)
{
	const char *cred = cache_cred_id(id);
	bool link = id->kind == AUTH_SHARED_LINK;
	size_t el = strlen(id->email), pl = 0, vl = 0;

	if (cred == NULL || cache_uuid_parse(cred, e->cred_id) != 0 || id->expires_at < 0 ||
	    id->expires_at > UINT32_MAX || id->elevated_until < 0 ||
	    id->elevated_until > UINT32_MAX)
		return -1;
	if (id->user_id[0] != '\0') {
		if (cache_uuid_parse(id->user_id, e->user_id) != 0)
			return -1;
		e->flags |= F_USER;
	}
	if (!link && (id->path_prefix[0] != '\0' || id->link_version[0] != '\0'))
		return -1;
	if (link) {
		pl = strlen(id->path_prefix);
		vl = strlen(id->link_version);
	}
	e->text = malloc(el + 1 + (link ? pl + vl + 2 : 0));
	if (e->text == NULL)
		return -1;
	memcpy(e->text, id->email, el + 1);
	if (link) {
		memcpy(e->text + el + 1, id->path_prefix, pl + 1);
		memcpy(e->text + el + 1 + pl + 1, id->link_version, vl + 1);
	}
	e->grant = cache_grant_get(c, id->role, id->permissions);
	if (e->grant == NULL) {
		free(e->text);
		e->text = NULL;
		return -1;
	}
	e->kind = (uint8_t)id->kind;
	e->expires_at = (uint32_t)id->expires_at;
	e->elevated_until = (uint32_t)id->elevated_until;
	e->flags |= (id->user_mfa ? F_USER_MFA : 0) | (id->session_mfa ? F_SESSION_MFA : 0) |
	            (id->must_change_password ? F_MUST_CHANGE : 0) |
	            (id->has_password ? F_HAS_PASSWORD : 0);
	return 0;
}

/* Every string was a field of a struct identity when packed, so each fits its field again. */
static void cache_unpack(const struct cache_entry *e, struct identity *id)
{
	const char *text = e->text, *role = e->grant->text;
	size_t el = strlen(text);
	char *cred;

	id->kind = (enum auth_kind)e->kind;
	id->user_mfa = (e->flags & F_USER_MFA) != 0;
	id->session_mfa = (e->flags & F_SESSION_MFA) != 0;
	id->must_change_password = (e->flags & F_MUST_CHANGE) != 0;
	id->has_password = (e->flags & F_HAS_PASSWORD) != 0;
	id->expires_at = e->expires_at;
	id->elevated_until = e->elevated_until;
	id->display_name[0] = id->session_id[0] = id->key_id[0] = id->link_id[0] = '\0';
	id->path_prefix[0] = id->link_version[0] = '\0';
	id->user_id[0] = '\0';
	if (e->flags & F_USER)
		identity_uuid_format(e->user_id, id->user_id);
	cred = id->kind == AUTH_API_KEY       ? id->key_id
	       : id->kind == AUTH_SHARED_LINK ? id->link_id
	                                      : id->session_id;
	identity_uuid_format(e->cred_id, cred);
	memcpy(id->email, text, el + 1);
	memcpy(id->role, role, e->grant->role_len + 1);
	memcpy(id->permissions, role + e->grant->role_len + 1, e->grant->perms_len + 1);
	if (id->kind == AUTH_SHARED_LINK) {
		const char *path = text + el + 1;
		size_t pl = strlen(path);
		memcpy(id->path_prefix, path, pl + 1);
		snprintf(id->link_version, sizeof id->link_version, "%s", path + pl + 1);
	}
}

static void cache_flush_locked(struct cache *c);

/* now_ms on the cache's 32-bit clock, moving the epoch (and flushing everything) when due. A
 * time before the epoch (a thread read the clock before another set it) counts as the epoch. */
static uint32_t cache_clock_locked(struct cache *c, long long now_ms)
{
	if (c->epoch_set && now_ms - c->epoch_ms >= CACHE_EPOCH_SPAN_MS)
		cache_flush_locked(c);
	if (!c->epoch_set || now_ms - c->epoch_ms >= CACHE_EPOCH_SPAN_MS) {
		c->epoch_ms = now_ms;
		c->epoch_set = true;
	}
	return now_ms > c->epoch_ms ? (uint32_t)(now_ms - c->epoch_ms) : 0;
}

enum cache_result cache_get(struct cache *c, const unsigned char key[CACHE_KEY_LEN],
                            long long now_ms, struct identity *id)
{
	enum cache_result r = CACHE_MISS;
	uint32_t i, now;

	if (c == NULL || c->max == 0)
		return CACHE_MISS;
	pthread_mutex_lock(&c->lock);
	now = cache_clock_locked(c, now_ms);
	i = cache_find(c, key);
	if (i != CACHE_NONE && c->entries[i].deadline <= now) {
		cache_remove(c, i);
		i = CACHE_NONE;
	}
	if (i != CACHE_NONE) {
		struct cache_entry *e = &c->entries[i];
		e->flags |= F_USED;
		if (e->grant != NULL) {
			cache_unpack(e, id);
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

unsigned long long cache_ticket(struct cache *c)
{
	unsigned long long g;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	g = c->generation;
	pthread_mutex_unlock(&c->lock);
	return g;
}

void cache_put(struct cache *c, unsigned long long ticket, const unsigned char key[CACHE_KEY_LEN],
               long long now_ms, long long now_unix, const struct identity *id)
{
	struct cache_entry e = { .flags = F_LIVE };
	long long ttl;
	uint32_t i, b;

	if (c == NULL || c->max == 0)
		return;
	ttl = id ? c->ttl_ms : c->negative_ttl_ms;
	if (id != NULL && id->expires_at > 0 && (id->expires_at - now_unix) * 1000 < ttl)
		ttl = (id->expires_at - now_unix) * 1000;
	if (ttl <= 0 || ttl > UINT32_MAX - CACHE_EPOCH_SPAN_MS)
		return;
	memcpy(e.key, key, CACHE_STORED_KEY);
	pthread_mutex_lock(&c->lock);
	if (ticket != c->generation) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	e.deadline = cache_clock_locked(c, now_ms) + (uint32_t)ttl;
	i = cache_find(c, key);
	if (i != CACHE_NONE)
		cache_remove(c, i);
	if (id == NULL || cache_pack(c, &e, id) == 0) {
		i = cache_slot(c);
		b = cache_bucket(c, key);
		e.next = c->buckets[b];
		if (e.grant != NULL) {
			uint32_t cb = cache_cred_bucket(c, e.cred_id);
			e.cred_next = c->cred_buckets[cb];
			c->cred_buckets[cb] = i;
		}
		c->entries[i] = e;
		c->buckets[b] = i;
		c->count++;
	}
	pthread_mutex_unlock(&c->lock);
}

static bool cache_matches(const struct cache_entry *e, enum cache_field field,
                          const unsigned char uuid[CACHE_UUID_LEN])
{
	switch (field) {
	case CACHE_USER:
		return (e->flags & F_USER) && memcmp(e->user_id, uuid, CACHE_UUID_LEN) == 0;
	case CACHE_SESSION:
		if (e->kind != AUTH_SESSION && e->kind != AUTH_JWT)
			return false;
		break;
	case CACHE_KEY:
		if (e->kind != AUTH_API_KEY)
			return false;
		break;
	case CACHE_LINK:
		if (e->kind != AUTH_SHARED_LINK)
			return false;
		break;
	}
	return memcmp(e->cred_id, uuid, CACHE_UUID_LEN) == 0;
}

/* A session, key or link: its chain in the cred_id index. A user (disabled, password or MFA
 * changed: rare next to logouts): a scan of every entry. */
size_t cache_evict(struct cache *c, enum cache_field field, const char *value)
{
	unsigned char uuid[CACHE_UUID_LEN];
	size_t n = 0;

	if (c == NULL || c->max == 0 || cache_uuid_parse(value, uuid) != 0)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->generation++;
	if (field == CACHE_USER) {
		for (uint32_t i = 0; i < c->unused; i++) {
			struct cache_entry *e = &c->entries[i];
			if ((e->flags & F_LIVE) && e->grant != NULL &&
			    cache_matches(e, field, uuid)) {
				cache_remove(c, i);
				n++;
			}
		}
	} else {
		uint32_t i = c->cred_buckets[cache_cred_bucket(c, uuid)];
		while (i != CACHE_NONE) {
			uint32_t next = c->entries[i].cred_next;
			if (cache_matches(&c->entries[i], field, uuid)) {
				cache_remove(c, i);
				n++;
			}
			i = next;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Stops at the last live entry: a lost listener and the reloads after it flush up to four
 * times in a row, and all but the first find the cache empty. */
static void cache_flush_locked(struct cache *c)
{
	c->generation++;
	for (uint32_t i = 0; i < c->unused && c->count > 0; i++)
		if (c->entries[i].flags & F_LIVE)
			cache_remove(c, i);
}

void cache_flush(struct cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	cache_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void cache_set_roles(struct cache *c, struct roles *r)
{
	struct roles *old;

	if (c == NULL) {
		roles_free(r);
		return;
	}
	pthread_mutex_lock(&c->lock);
	old = c->roles;
	c->roles = r;
	cache_flush_locked(c); /* every entry was made with the old permissions */
	pthread_mutex_unlock(&c->lock);
	roles_free(old);
}

void cache_set_session_idle(struct cache *c, long seconds)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->session_idle != seconds) {
		c->session_idle = seconds;
		cache_flush_locked(c); /* every session entry's expiry was made with the old one */
	}
	pthread_mutex_unlock(&c->lock);
}

long cache_lean_lookup(struct cache *c)
{
	long idle;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->lock);
	idle = c->roles != NULL ? c->session_idle : 0;
	pthread_mutex_unlock(&c->lock);
	return idle;
}

bool cache_role_permissions(struct cache *c, const char *role, char *out, size_t n)
{
	bool has;

	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->lock);
	has = c->roles != NULL;
	if (has)
		roles_permissions(c->roles, role, out, n);
	pthread_mutex_unlock(&c->lock);
	return has;
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
