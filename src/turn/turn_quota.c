/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Allocation quotas (include/turn_quota.h). Per-user counts live in a
 * chained hash table; an entry is freed when its count drops to zero.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "turn_quota.h"
#include "xmalloc.h"

#define TURN_QUOTA_BUCKETS	1024

struct turn_quota_user {
	struct turn_quota_user	*next;
	int			 count;
	char			 name[];
};

struct turn_quota {
	pthread_mutex_t		 lock;
	int			 total_max, user_max;
	int			 total;
	struct turn_quota_user	*bucket[TURN_QUOTA_BUCKETS];
};

struct turn_quota *
turn_quota_new(int total, int per_user)
{
	struct turn_quota	*q;

	q = xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	q->total_max = total;
	q->user_max = per_user;
	return q;
}

void
turn_quota_free(struct turn_quota *q)
{
	struct turn_quota_user	*u, *next;
	size_t			 i;

	if (q == NULL)
		return;
	for (i = 0; i < TURN_QUOTA_BUCKETS; i++)
		for (u = q->bucket[i]; u != NULL; u = next) {
			next = u->next;
			free(u);
		}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct turn_quota_user **
turn_quota_find(struct turn_quota *q, const char *user)
{
	struct turn_quota_user	**pp;
	uint32_t		  h = 2166136261u;
	const char		 *p;

	for (p = user; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	pp = &q->bucket[h % TURN_QUOTA_BUCKETS];
	for (; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->name, user) == 0)
			break;
	return pp;
}

bool
turn_quota_take(struct turn_quota *q, const char *user)
{
	struct turn_quota_user	**pp, *u;
	bool			  ok = false;

	pthread_mutex_lock(&q->lock);
	if (q->total_max > 0 && q->total >= q->total_max)
		goto out;
	if (*user == '\0') {	/* anonymous (no-auth): the total only */
		q->total++;
		ok = true;
		goto out;
	}
	pp = turn_quota_find(q, user);
	if ((u = *pp) == NULL) {
		u = xcalloc(1, sizeof(*u) + strlen(user) + 1);
		strcpy(u->name, user);
		*pp = u;
	}
	if (q->user_max > 0 && u->count >= q->user_max)
		goto out;
	u->count++;
	q->total++;
	ok = true;
out:
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void
turn_quota_give(struct turn_quota *q, const char *user)
{
	struct turn_quota_user	**pp, *u;

	pthread_mutex_lock(&q->lock);
	if (*user == '\0') {
		q->total--;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	pp = turn_quota_find(q, user);
	if ((u = *pp) != NULL && u->count > 0) {
		u->count--;
		q->total--;
		if (u->count == 0) {
			*pp = u->next;
			free(u);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

int
turn_quota_total(struct turn_quota *q)
{
	int	n;

	pthread_mutex_lock(&q->lock);
	n = q->total;
	pthread_mutex_unlock(&q->lock);
	return n;
}
