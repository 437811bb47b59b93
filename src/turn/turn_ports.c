/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Relay port pool: a bitmap of used ports, a round-robin cursor and a short
 * list of reservations (EVEN-PORT R bit, RFC 8656 §7.2).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "turn_ports.h"
#include "xmalloc.h"

#define TURN_PORTS_MAX_RESERVED	64
#define TURN_PORTS_MAX_BUSY	256	/* the oldest goes back when full */

struct turn_reservation {
	uint8_t		token[8];
	int		port;		/* 0: slot free */
	int		tag;
	uint64_t	deadline;
};

struct turn_ports {
	pthread_mutex_t		 lock;
	int			 min, max;
	int			 cursor;
	int			 nfree;
	uint8_t			*used;		/* bitmap, bit i = min + i */
	uint16_t		*owner;		/* owner + 1, 0: none; atomic */
	struct turn_reservation	 res[TURN_PORTS_MAX_RESERVED];
	struct {
		int		 port;
		uint64_t	 until;
	}			 busy[TURN_PORTS_MAX_BUSY];	/* a ring */
	int			 busy_head, nbusy;
};

static bool
turn_ports_is_used(const struct turn_ports *p, int port)
{
	int	i = port - p->min;

	return (p->used[i / 8] >> (i % 8)) & 1;
}

static void
turn_ports_mark(struct turn_ports *p, int port, bool used)
{
	int	i = port - p->min;

	if (used == turn_ports_is_used(p, port))
		return;
	p->used[i / 8] ^= (uint8_t)(1 << (i % 8));
	p->nfree += used ? -1 : 1;
}

struct turn_ports *
turn_ports_new(int min_port, int max_port)
{
	struct turn_ports	*p;
	uint32_t		 r = 0;

	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->min = min_port;
	p->max = max_port;
	p->nfree = max_port - min_port + 1;
	p->used = xcalloc((size_t)p->nfree / 8 + 1, 1);
	p->owner = xcalloc((size_t)p->nfree, sizeof(*p->owner));
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	p->cursor = min_port + (int)(r % (uint32_t)p->nfree);
	return p;
}

void
turn_ports_free(struct turn_ports *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p->used);
	free(p->owner);
	free(p);
}

void
turn_ports_set_owner(struct turn_ports *p, int port, int owner)
{
	if (port < p->min || port > p->max || owner < -1 || owner >= 0xffff)
		return;
	__atomic_store_n(&p->owner[port - p->min], (uint16_t)(owner + 1),
	    __ATOMIC_RELAXED);
}

int
turn_ports_owner(const struct turn_ports *p, int port)
{
	if (port < p->min || port > p->max)
		return -1;
	return (int)__atomic_load_n(&p->owner[port - p->min],
	    __ATOMIC_RELAXED) - 1;
}

/* Next port at or after the cursor satisfying the wish; lock held. */
static int
turn_ports_scan(struct turn_ports *p, bool even, bool pair)
{
	int	n = p->max - p->min + 1, i, port;

	for (i = 0; i < n; i++) {
		port = p->cursor;
		p->cursor = port == p->max ? p->min : port + 1;
		if (turn_ports_is_used(p, port))
			continue;
		if ((even || pair) && (port & 1))
			continue;
		if (pair && (port + 1 > p->max ||
		    turn_ports_is_used(p, port + 1)))
			continue;
		return port;
	}
	return -1;
}

int
turn_ports_get(struct turn_ports *p, bool even)
{
	int	port;

	pthread_mutex_lock(&p->lock);
	if ((port = turn_ports_scan(p, even, false)) != -1)
		turn_ports_mark(p, port, true);
	pthread_mutex_unlock(&p->lock);
	return port;
}

int
turn_ports_get_pair(struct turn_ports *p, uint64_t now, uint8_t token[8],
    int tag)
{
	struct turn_reservation	*r = NULL;
	int			 port = -1, i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < TURN_PORTS_MAX_RESERVED && r == NULL; i++)
		if (p->res[i].port == 0)
			r = &p->res[i];
	if (r == NULL || RAND_bytes(token, 8) != 1)
		goto out;
	if ((port = turn_ports_scan(p, true, true)) == -1)
		goto out;
	turn_ports_mark(p, port, true);
	turn_ports_mark(p, port + 1, true);
	memcpy(r->token, token, 8);
	r->port = port + 1;
	r->tag = tag;
	r->deadline = now + TURN_PORTS_RESERVE_SECS;
out:
	pthread_mutex_unlock(&p->lock);
	return port;
}

int
turn_ports_take_reserved(struct turn_ports *p, const uint8_t token[8],
    uint64_t now, int *tag)
{
	int	port = -1, i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < TURN_PORTS_MAX_RESERVED; i++) {
		struct turn_reservation	*r = &p->res[i];

		if (r->port == 0 || memcmp(r->token, token, 8) != 0)
			continue;
		if (r->deadline >= now) {
			port = r->port;	/* stays marked used: now it's taken */
			*tag = r->tag;
		}
		else
			turn_ports_mark(p, r->port, false);
		r->port = 0;
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return port;
}

void
turn_ports_put(struct turn_ports *p, int port)
{
	if (port < p->min || port > p->max)
		return;
	pthread_mutex_lock(&p->lock);
	turn_ports_mark(p, port, false);
	pthread_mutex_unlock(&p->lock);
}

void
turn_ports_put_busy(struct turn_ports *p, int port, uint64_t now)
{
	int	i;

	if (port < p->min || port > p->max)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->nbusy == TURN_PORTS_MAX_BUSY) {
		turn_ports_mark(p, p->busy[p->busy_head].port, false);
		p->busy_head = (p->busy_head + 1) % TURN_PORTS_MAX_BUSY;
		p->nbusy--;
	}
	i = (p->busy_head + p->nbusy) % TURN_PORTS_MAX_BUSY;
	p->busy[i].port = port;
	p->busy[i].until = now + TURN_PORTS_BUSY_SECS;
	p->nbusy++;
	turn_ports_mark(p, port, true);
	pthread_mutex_unlock(&p->lock);
}

void
turn_ports_expire(struct turn_ports *p, uint64_t now)
{
	int	i;

	pthread_mutex_lock(&p->lock);
	/* Oldest first: the ring is in the order the ports were found busy. */
	while (p->nbusy > 0 && p->busy[p->busy_head].until < now) {
		turn_ports_mark(p, p->busy[p->busy_head].port, false);
		p->busy_head = (p->busy_head + 1) % TURN_PORTS_MAX_BUSY;
		p->nbusy--;
	}
	for (i = 0; i < TURN_PORTS_MAX_RESERVED; i++) {
		if (p->res[i].port != 0 && p->res[i].deadline < now) {
			turn_ports_mark(p, p->res[i].port, false);
			p->res[i].port = 0;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

int
turn_ports_available(struct turn_ports *p)
{
	int	n;

	pthread_mutex_lock(&p->lock);
	n = p->nfree;
	pthread_mutex_unlock(&p->lock);
	return n;
}
