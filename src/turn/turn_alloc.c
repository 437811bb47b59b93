/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Allocation state: the 5-tuple table, permissions and channels. See
 * include/turn_alloc.h. Entries are never deleted from the small per-
 * allocation tables, only left to expire and reused when refreshed, which
 * keeps open addressing simple; both tables are bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "turn_alloc.h"
#include "xmalloc.h"

#define TURN_TABLE_MIN_BUCKETS	64

void
turn_sa_set(union addr_sa *u, const struct sockaddr *sa)
{
	memset(u, 0, sizeof(*u));
	memcpy(u, sa, addr_len(sa));
}

uint32_t
turn_sa_hash(const struct sockaddr *sa, bool with_port)
{
	const uint8_t	*p;
	size_t		 n, i;
	uint32_t	 h = 2166136261u;

	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		p = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		n = 16;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	if (with_port) {
		uint16_t	port = addr_port(sa);

		h = (h ^ (port & 0xff)) * 16777619u;
		h = (h ^ (port >> 8)) * 16777619u;
	}
	return h ^ (h >> 16);
}

/* 5-tuple table --------------------------------------------------------- */

void
turn_table_init(struct turn_table *t)
{
	t->nbuckets = TURN_TABLE_MIN_BUCKETS;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->count = 0;
	t->nrelay_buckets = TURN_TABLE_MIN_BUCKETS;
	t->relays = xcalloc(t->nrelay_buckets, sizeof(*t->relays));
	t->nrelays = 0;
}

void
turn_table_clear(struct turn_table *t)
{
	free(t->buckets);
	free(t->relays);
	memset(t, 0, sizeof(*t));
}

/*
 * Relays by port alone, so that one lookup serves the bound and the
 * advertised address; the relay port pool is shared by every relay IP, so
 * a port is held by one relay at most.
 */
static size_t
turn_relay_slot(size_t nbuckets, uint16_t port)
{
	return ((uint32_t)port * 2654435761u >> 7) & (nbuckets - 1);
}

static void
turn_relay_link(struct turn_relay **buckets, size_t nbuckets,
    struct turn_relay *rl)
{
	size_t	slot = turn_relay_slot(nbuckets, addr_port(&rl->addr.sa));

	rl->pnext = buckets[slot];
	buckets[slot] = rl;
}

static void
turn_relays_grow(struct turn_table *t)
{
	struct turn_relay	**old = t->relays, *rl, *next;
	size_t			  n = t->nrelay_buckets, i;

	t->nrelay_buckets *= 2;
	t->relays = xcalloc(t->nrelay_buckets, sizeof(*t->relays));
	for (i = 0; i < n; i++)
		for (rl = old[i]; rl != NULL; rl = next) {
			next = rl->pnext;
			turn_relay_link(t->relays, t->nrelay_buckets, rl);
		}
	free(old);
}

static void
turn_relays_insert(struct turn_table *t, struct turn_alloc *a)
{
	int	i;

	for (i = 0; i < a->nrelay; i++) {
		if (t->nrelays + 1 > t->nrelay_buckets)
			turn_relays_grow(t);
		turn_relay_link(t->relays, t->nrelay_buckets, &a->relay[i]);
		t->nrelays++;
	}
}

static void
turn_relays_remove(struct turn_table *t, struct turn_alloc *a)
{
	struct turn_relay	**pp;
	int			  i;

	for (i = 0; i < a->nrelay; i++) {
		pp = &t->relays[turn_relay_slot(t->nrelay_buckets,
		    addr_port(&a->relay[i].addr.sa))];
		for (; *pp != NULL; pp = &(*pp)->pnext)
			if (*pp == &a->relay[i]) {
				*pp = a->relay[i].pnext;
				a->relay[i].pnext = NULL;
				t->nrelays--;
				break;
			}
	}
}

struct turn_relay *
turn_table_relay(const struct turn_table *t, const struct sockaddr *addr,
    bool *advertised)
{
	struct turn_relay	*rl;

	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
		return NULL;
	rl = t->relays[turn_relay_slot(t->nrelay_buckets, addr_port(addr))];
	for (; rl != NULL; rl = rl->pnext) {
		if (addr_equal(&rl->addr.sa, addr)) {
			*advertised = false;
			return rl;
		}
		if (addr_equal(&rl->advertised.sa, addr)) {
			*advertised = true;
			return rl;
		}
	}
	return NULL;
}

static size_t
turn_table_slot(const struct turn_table *t, const struct sockaddr *client,
    const void *listener)
{
	uint32_t	h = turn_sa_hash(client, true);

	h ^= (uint32_t)((uintptr_t)listener >> 4) * 2654435761u;
	return h & (t->nbuckets - 1);
}

struct turn_alloc *
turn_table_find(const struct turn_table *t, const struct sockaddr *client,
    const void *listener)
{
	struct turn_alloc	*a;

	a = t->buckets[turn_table_slot(t, client, listener)];
	for (; a != NULL; a = a->hnext)
		if (a->listener == listener && addr_equal(&a->client.sa,
		    client))
			return a;
	return NULL;
}

static void
turn_table_grow(struct turn_table *t)
{
	struct turn_alloc	**old = t->buckets, *a, *next;
	size_t			  n = t->nbuckets, i, slot;

	t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	for (i = 0; i < n; i++) {
		for (a = old[i]; a != NULL; a = next) {
			next = a->hnext;
			slot = turn_table_slot(t, &a->client.sa, a->listener);
			a->hnext = t->buckets[slot];
			t->buckets[slot] = a;
		}
	}
	free(old);
}

void
turn_table_insert(struct turn_table *t, struct turn_alloc *a)
{
	size_t	slot;

	if (t->count + 1 > t->nbuckets)
		turn_table_grow(t);
	slot = turn_table_slot(t, &a->client.sa, a->listener);
	a->hnext = t->buckets[slot];
	t->buckets[slot] = a;
	t->count++;
	turn_relays_insert(t, a);
}

void
turn_table_remove(struct turn_table *t, struct turn_alloc *a)
{
	struct turn_alloc	**pp;

	pp = &t->buckets[turn_table_slot(t, &a->client.sa, a->listener)];
	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == a) {
			*pp = a->hnext;
			a->hnext = NULL;
			t->count--;
			turn_relays_remove(t, a);
			return;
		}
	}
}

/* Allocation -------------------------------------------------------------- */

struct turn_alloc *
turn_alloc_new(const struct sockaddr *client, const void *listener,
    uint8_t transport)
{
	struct turn_alloc	*a;

	a = xcalloc(1, sizeof(*a));
	turn_sa_set(&a->client, client);
	a->listener = listener;
	a->transport = transport;
	a->relay[0].fd = a->relay[1].fd = -1;
	a->relay[0].alloc = a->relay[1].alloc = a;
	return a;
}

void
turn_alloc_free(struct turn_alloc *a)
{
	if (a == NULL)
		return;
	free(a->username);
	free(a->perms);
	free(a->chans);
	free(a->chan_by_num);
	free(a->chan_by_peer);
	memset(a->key, 0, sizeof(a->key));
	free(a);
}

struct turn_relay *
turn_alloc_relay(struct turn_alloc *a, int family)
{
	int	i;

	for (i = 0; i < a->nrelay; i++)
		if (a->relay[i].addr.sa.sa_family == family)
			return &a->relay[i];
	return NULL;
}

/* Permissions: open addressing by peer IP -------------------------------- */

static struct turn_perm *
turn_perm_slot(struct turn_perm *perms, uint16_t cap,
    const struct sockaddr *peer)
{
	uint32_t	i = turn_sa_hash(peer, false);
	uint16_t	n;

	for (n = 0; n < cap; n++, i++) {
		struct turn_perm	*p = &perms[i & (cap - 1u)];

		if (p->expires == 0 || addr_equal_ip(&p->ip.sa, peer))
			return p;
	}
	return NULL;
}

/*
 * Rehash into a table of cap slots, keeping the permissions still live at
 * now (all of them when now is 0).
 */
static void
turn_perm_rehash(struct turn_alloc *a, uint16_t cap, uint64_t now)
{
	struct turn_perm	*old = a->perms;
	uint16_t		 n = a->capperm, i;

	a->capperm = cap;
	a->perms = xcalloc(a->capperm, sizeof(*a->perms));
	a->nperm = 0;
	for (i = 0; i < n; i++) {
		if (old[i].expires == 0 || old[i].expires < now)
			continue;
		*turn_perm_slot(a->perms, a->capperm, &old[i].ip.sa) = old[i];
		a->nperm++;
	}
	free(old);
}

int
turn_alloc_permit(struct turn_alloc *a, const struct sockaddr *peer,
    uint64_t now, uint64_t expires)
{
	struct turn_perm	*p;

	if (a->capperm != 0 &&
	    (p = turn_perm_slot(a->perms, a->capperm, peer)) != NULL &&
	    p->expires != 0) {
		p->expires = expires;
		return 0;
	}
	if (a->nperm >= TURN_MAX_PERMS)
		turn_perm_rehash(a, a->capperm, now);	/* drop expired ones */
	if (a->nperm >= TURN_MAX_PERMS)
		return -1;
	if ((a->nperm + 1u) * 2 > a->capperm)
		turn_perm_rehash(a, a->capperm ? (uint16_t)(a->capperm * 2) : 4,
		    0);
	p = turn_perm_slot(a->perms, a->capperm, peer);
	turn_sa_set(&p->ip, peer);
	addr_set_port(&p->ip.sa, 0);
	p->expires = expires;
	a->nperm++;
	return 0;
}

bool
turn_alloc_permitted(const struct turn_alloc *a, const struct sockaddr *peer,
    uint64_t now)
{
	const struct turn_perm	*p;

	if (a->capperm == 0)
		return false;
	p = turn_perm_slot(a->perms, a->capperm, peer);
	return p != NULL && p->expires != 0 && p->expires >= now;
}

/* Channels: entries plus two open-addressing indexes --------------------- */

static uint16_t *
turn_chan_index(const struct turn_alloc *a, uint16_t *index, uint32_t h,
    uint16_t num, const struct sockaddr *peer)
{
	uint16_t	n;

	for (n = 0; n < a->capchan * 2; n++, h++) {
		uint16_t		*slot = &index[h & (a->capchan * 2u - 1)];
		const struct turn_chan	*c;

		if (*slot == 0)
			return slot;
		c = &a->chans[*slot - 1];
		if (peer == NULL ? c->num == num : addr_equal(&c->peer.sa,
		    peer))
			return slot;
	}
	return NULL;	/* not reached: indexes are at most half full */
}

static uint32_t
turn_chan_num_hash(uint16_t num)
{
	return (uint32_t)num * 2654435761u >> 16;
}

/* Rebuild both indexes from the entries, at capacity a->capchan. */
static void
turn_chan_reindex(struct turn_alloc *a)
{
	uint16_t	i;

	free(a->chan_by_num);
	free(a->chan_by_peer);
	a->chan_by_num = xcalloc(a->capchan * 2u, sizeof(uint16_t));
	a->chan_by_peer = xcalloc(a->capchan * 2u, sizeof(uint16_t));
	for (i = 0; i < a->nchan; i++) {
		*turn_chan_index(a, a->chan_by_num,
		    turn_chan_num_hash(a->chans[i].num), a->chans[i].num,
		    NULL) = (uint16_t)(i + 1);
		*turn_chan_index(a, a->chan_by_peer,
		    turn_sa_hash(&a->chans[i].peer.sa, true), 0,
		    &a->chans[i].peer.sa) = (uint16_t)(i + 1);
	}
}

static void
turn_chan_grow(struct turn_alloc *a)
{
	a->capchan = a->capchan ? (uint16_t)(a->capchan * 2) : 2;
	a->chans = xreallocarray(a->chans, a->capchan, sizeof(*a->chans));
	turn_chan_reindex(a);
}

/* Forget bindings past their quarantine; true if any was dropped. */
static bool
turn_chan_purge(struct turn_alloc *a, uint64_t now)
{
	uint16_t	i, n = 0;

	for (i = 0; i < a->nchan; i++)
		if (a->chans[i].expires + TURN_CHANNEL_QUARANTINE >= now)
			a->chans[n++] = a->chans[i];
	if (n == a->nchan)
		return false;
	a->nchan = n;
	turn_chan_reindex(a);
	return true;
}

int
turn_alloc_bind(struct turn_alloc *a, uint16_t num,
    const struct sockaddr *peer, uint64_t now, uint64_t expires)
{
	uint16_t	*by_num = NULL, *by_peer = NULL;
	struct turn_chan *c;

	if (a->capchan != 0) {
		by_num = turn_chan_index(a, a->chan_by_num,
		    turn_chan_num_hash(num), num, NULL);
		by_peer = turn_chan_index(a, a->chan_by_peer,
		    turn_sa_hash(peer, true), 0, peer);
		/* A conflict or a full table may be only old bindings. */
		if ((*by_num != *by_peer || a->nchan >= TURN_MAX_CHANNELS) &&
		    turn_chan_purge(a, now))
			return turn_alloc_bind(a, num, peer, now, expires);
	}
	if (by_num != NULL && (*by_num != 0 || *by_peer != 0)) {
		/* RFC 8656 §12.2: a channel is bound to one peer for life. */
		if (*by_num != *by_peer)
			return -1;
		a->chans[*by_num - 1].expires = expires;
		return 0;
	}
	if (a->nchan >= TURN_MAX_CHANNELS)
		return -2;
	if (a->nchan + 1 > a->capchan)
		turn_chan_grow(a);
	c = &a->chans[a->nchan++];
	memset(c, 0, sizeof(*c));
	c->num = num;
	turn_sa_set(&c->peer, peer);
	c->expires = expires;
	*turn_chan_index(a, a->chan_by_num, turn_chan_num_hash(num), num,
	    NULL) = a->nchan;
	*turn_chan_index(a, a->chan_by_peer, turn_sa_hash(peer, true), 0,
	    peer) = a->nchan;
	return 0;
}

const struct turn_chan *
turn_alloc_chan_by_num(const struct turn_alloc *a, uint16_t num,
    uint64_t now)
{
	const uint16_t		*slot;
	const struct turn_chan	*c;

	if (a->capchan == 0)
		return NULL;
	slot = turn_chan_index(a, a->chan_by_num, turn_chan_num_hash(num),
	    num, NULL);
	if (slot == NULL || *slot == 0)
		return NULL;
	c = &a->chans[*slot - 1];
	return c->expires >= now ? c : NULL;
}

const struct turn_chan *
turn_alloc_chan_by_peer(const struct turn_alloc *a,
    const struct sockaddr *peer, uint64_t now)
{
	const uint16_t		*slot;
	const struct turn_chan	*c;

	if (a->capchan == 0)
		return NULL;
	slot = turn_chan_index(a, a->chan_by_peer, turn_sa_hash(peer, true),
	    0, peer);
	if (slot == NULL || *slot == 0)
		return NULL;
	c = &a->chans[*slot - 1];
	return c->expires >= now ? c : NULL;
}
