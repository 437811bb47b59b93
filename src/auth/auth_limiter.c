/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Rate limit for 401 answers by source IP, so the server cannot be used to
 * reflect traffic at a spoofed address. Fixed memory: IPs hash (with a
 * random seed) into AUTH_LIMITER_SLOTS token buckets; a collision only
 * shares a budget.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "auth.h"
#include "bucket.h"
#include "xmalloc.h"

#define AUTH_LIMITER_SLOTS	1024
/*
 * Generous enough for a NAT full of clients (each Allocate draws one 401),
 * small enough that a spoofed source gets a trickle: 100 answers of about
 * 100 bytes a second is no amplifier.
 */
#define AUTH_LIMITER_RATE	100	/* answers per second per slot */
#define AUTH_LIMITER_BURST	200


struct auth_limiter {
	uint64_t		seed;
	struct bucket		slot[AUTH_LIMITER_SLOTS];
};

struct auth_limiter *
auth_limiter_new(void)
{
	struct auth_limiter	*l;

	l = xcalloc(1, sizeof(*l));
	if (RAND_bytes((uint8_t *)&l->seed, sizeof(l->seed)) != 1)
		l->seed = 0x9e3779b97f4a7c15ULL;
	return l;
}

void
auth_limiter_free(struct auth_limiter *l)
{
	free(l);
}

/* FNV-1a over the IP bytes, mixed with the seed. */
static uint32_t
auth_limiter_hash(const struct auth_limiter *l, const struct sockaddr *sa)
{
	const uint8_t	*p;
	size_t		 n, i;
	uint64_t	 h = 0xcbf29ce484222325ULL ^ l->seed;

	if (sa->sa_family == AF_INET) {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else {
		p = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		n = 8;		/* a /64 is one subscriber */
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (uint32_t)(h ^ (h >> 32)) % AUTH_LIMITER_SLOTS;
}

bool
auth_limiter_allow(struct auth_limiter *l, const struct sockaddr *sa,
    uint64_t now_ms)
{
	struct bucket	*b = &l->slot[auth_limiter_hash(l, sa)];

	if (b->last_ms == 0)		/* a slot never used starts full */
		bucket_fill(b, AUTH_LIMITER_BURST, now_ms);
	return bucket_take(b, AUTH_LIMITER_RATE, AUTH_LIMITER_BURST, now_ms);
}
