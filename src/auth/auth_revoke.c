/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Revoked TURN REST usernames: the credentials the signaling service
 * minted for a client that left stop working at once, not at their
 * expiry. A chained hash set under a mutex (it is read once per
 * authentication, written once per departing client) that doubles its
 * buckets as it fills: a busy day revokes as many names as clients came.
 * An entry goes when the credential would have expired anyway.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_internal.h"
#include "xmalloc.h"

#define AUTH_REVOKE_BUCKETS	256	/* to start with */

struct auth_revoked_entry {
	struct auth_revoked_entry	*next;
	uint64_t			 until;
	char				 name[];
};

struct auth_revoked {
	pthread_mutex_t			  lock;
	struct auth_revoked_entry	**bucket;
	size_t				  nbuckets, n;
};

struct auth_revoked *
auth_revoked_new(void)
{
	struct auth_revoked	*r;

	r = xcalloc(1, sizeof(*r));
	r->nbuckets = AUTH_REVOKE_BUCKETS;
	r->bucket = xcalloc(r->nbuckets, sizeof(*r->bucket));
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
auth_revoked_free(struct auth_revoked *r)
{
	struct auth_revoked_entry	*e, *next;
	size_t				 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nbuckets; i++)
		for (e = r->bucket[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	pthread_mutex_destroy(&r->lock);
	free(r->bucket);
	free(r);
}

static uint32_t
auth_revoked_hash(const char *name, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static struct auth_revoked_entry **
auth_revoked_slot(struct auth_revoked *r, const char *name, size_t len)
{
	return &r->bucket[auth_revoked_hash(name, len) % r->nbuckets];
}

/* Drop expired entries of one chain; lock held. */
static void
auth_revoked_prune(struct auth_revoked *r, struct auth_revoked_entry **pp,
    uint64_t now)
{
	struct auth_revoked_entry	*e;

	while ((e = *pp) != NULL) {
		if (e->until < now) {
			*pp = e->next;
			free(e);
			r->n--;
		} else
			pp = &e->next;
	}
}

/*
 * Drop every expired entry, then, if the set is still as full, twice the
 * buckets to keep chains short; lock held.
 */
static void
auth_revoked_grow(struct auth_revoked *r, uint64_t now)
{
	struct auth_revoked_entry	**old = r->bucket, *e, *next, **pp;
	size_t				  n = r->nbuckets, i;

	for (i = 0; i < n; i++)
		auth_revoked_prune(r, &old[i], now);
	if (r->n < 2 * r->nbuckets)
		return;
	r->nbuckets *= 2;
	r->bucket = xcalloc(r->nbuckets, sizeof(*r->bucket));
	for (i = 0; i < n; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			pp = auth_revoked_slot(r, e->name, strlen(e->name));
			e->next = *pp;
			*pp = e;
		}
	free(old);
}

void
auth_revoked_add(struct auth_revoked *r, const char *name, uint64_t until,
    uint64_t now)
{
	struct auth_revoked_entry	**pp, *e;
	size_t				  len = strlen(name);

	pthread_mutex_lock(&r->lock);
	if (r->n >= 2 * r->nbuckets)
		auth_revoked_grow(r, now);
	pp = auth_revoked_slot(r, name, len);
	auth_revoked_prune(r, pp, now);
	e = xmalloc(sizeof(*e) + len + 1);
	memcpy(e->name, name, len + 1);
	e->until = until;
	e->next = *pp;
	*pp = e;
	r->n++;
	pthread_mutex_unlock(&r->lock);
}

bool
auth_revoked_has(struct auth_revoked *r, const char *name, size_t len,
    uint64_t now)
{
	struct auth_revoked_entry	*e;
	bool				 found = false;

	pthread_mutex_lock(&r->lock);
	for (e = *auth_revoked_slot(r, name, len); e != NULL; e = e->next)
		if (e->until >= now && strlen(e->name) == len &&
		    memcmp(e->name, name, len) == 0) {
			found = true;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return found;
}
