/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Unit tests for the TURN state tables used directly: the 5-tuple table
 * (src/turn/turn_alloc.c) with thousands of entries, permissions and
 * channels through their growth to the per-allocation limits, the relay
 * port pool (turn_ports.c), quotas (turn_quota.c) and the peer address
 * policy (turn_policy.c).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "tap.h"
#include "turn_alloc.h"
#include "turn_policy.h"
#include "turn_ports.h"
#include "turn_quota.h"

static int	listener_a, listener_b;
static int	tag;		/* what turn_ports_take_reserved() reports */

static struct sockaddr_storage
sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	if (addr_parse_ip(ip, &ss) == 0)
		addr_set_port((struct sockaddr *)&ss, port);
	return ss;
}

/* IPv4 10.x.y.z or IPv6 2001:db8::x:y from an index. */
static struct sockaddr_storage
nth_addr(unsigned int i, bool v6, uint16_t port)
{
	char	ip[64];

	if (v6)
		snprintf(ip, sizeof(ip), "2001:db8::%x:%x", i >> 16,
		    i & 0xffff);
	else
		snprintf(ip, sizeof(ip), "198.%u.%u.%u", 18 + (i >> 16) % 2,
		    (i >> 8) & 0xff, i & 0xff);
	return sa(ip, port);
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
test_table(void)
{
	enum { N = 5000 };
	static struct turn_alloc	*allocs[N];
	static struct sockaddr_storage	 clients[N];
	struct turn_table		 t;
	struct sockaddr_storage		 other;
	int				 i, found = 0, wrong = 0, gone = 0;
	const void			*l;

	turn_table_init(&t);
	ok(t.nbuckets > 0 && t.count == 0, "empty table");
	other = sa("192.0.2.1", 5);
	ok(turn_table_find(&t, SA(other), &listener_a) == NULL,
	    "find in an empty table: NULL");
	for (i = 0; i < N; i++) {
		/* Same IP for runs of 7 clients: only the port differs. */
		clients[i] = nth_addr((unsigned int)i / 7, i % 3 == 0,
		    (uint16_t)(10000 + i));
		l = i % 2 ? &listener_a : &listener_b;
		allocs[i] = turn_alloc_new(SA(clients[i]), l,
		    TURN_TRANSPORT_UDP);
		turn_table_insert(&t, allocs[i]);
	}
	is_int(t.count, N, "5000 allocations inserted");
	ok(t.nbuckets >= N, "buckets grew with the count");
	for (i = 0; i < N; i++) {
		if (turn_table_find(&t, SA(clients[i]), allocs[i]->listener) ==
		    allocs[i])
			found++;
		l = i % 2 ? &listener_b : &listener_a;
		if (turn_table_find(&t, SA(clients[i]), l) != NULL)
			wrong++;
	}
	is_int(found, N, "every allocation found by its 5-tuple");
	is_int(wrong, 0, "not found under the other listener");
	other = clients[1];
	addr_set_port((struct sockaddr *)&other, 9);
	ok(turn_table_find(&t, SA(other), &listener_a) == NULL,
	    "other client port: not found");
	ok(allocs[1]->client.sa.sa_family == clients[1].ss_family &&
	    addr_equal(&allocs[1]->client.sa, SA(clients[1])),
	    "turn_alloc_new keeps the client address");
	ok(allocs[1]->relay[0].fd == -1 && allocs[1]->relay[1].fd == -1 &&
	    allocs[1]->relay[0].alloc == allocs[1] && allocs[1]->nrelay == 0,
	    "turn_alloc_new: relays unused and linked back");

	for (i = 0; i < N; i += 2)
		turn_table_remove(&t, allocs[i]);
	is_int(t.count, N / 2, "half removed");
	found = gone = 0;
	for (i = 0; i < N; i++) {
		struct turn_alloc *a = turn_table_find(&t, SA(clients[i]),
		    allocs[i]->listener);

		if (i % 2 == 0 && a == NULL)
			gone++;
		if (i % 2 == 1 && a == allocs[i])
			found++;
	}
	is_int(gone, N / 2, "removed ones are gone");
	is_int(found, N / 2, "the others still found");
	turn_table_remove(&t, allocs[0]);
	is_int(t.count, N / 2, "removing one not in the table: no change");
	for (i = 0; i < N; i++) {
		if (i % 2 == 1)
			turn_table_remove(&t, allocs[i]);
		turn_alloc_free(allocs[i]);
	}
	is_int(t.count, 0, "all removed");
	turn_table_clear(&t);
	turn_alloc_free(NULL);
}

/* Relays by address: bound or advertised, IPv4 and IPv6, ports shared. */
static void
test_relay_index(void)
{
	enum { N = 3000 };
	static struct turn_alloc	*allocs[N];
	struct sockaddr_storage		 bound, adv, client;
	struct turn_relay		*rl;
	struct turn_table		 t;
	int				 i, j, by_bound = 0, by_adv = 0, gone = 0;
	bool				 advertised;
	char				 ip[64];

	turn_table_init(&t);
	for (i = 0; i < N; i++) {
		client = nth_addr((unsigned int)i, false, 7);
		allocs[i] = turn_alloc_new(SA(client), &listener_a,
		    TURN_TRANSPORT_UDP);
		/* Two relay IPs: each port is taken on both. */
		snprintf(ip, sizeof(ip), "10.0.0.%d", 5 + i % 2);
		bound = sa(ip, (uint16_t)(20000 + i / 2));
		snprintf(ip, sizeof(ip), "203.0.113.%d", 5 + i % 2);
		adv = sa(ip, (uint16_t)(20000 + i / 2));
		turn_sa_set(&allocs[i]->relay[0].addr, SA(bound));
		turn_sa_set(&allocs[i]->relay[0].advertised, SA(adv));
		allocs[i]->nrelay = 1;
		if (i % 5 == 0) {
			bound = sa("2001:db8::5", (uint16_t)(40000 + i));
			turn_sa_set(&allocs[i]->relay[1].addr, SA(bound));
			turn_sa_set(&allocs[i]->relay[1].advertised, SA(bound));
			allocs[i]->nrelay = 2;
		}
		turn_table_insert(&t, allocs[i]);
	}
	is_int(t.nrelays, N + N / 5, "every relay indexed");
	ok(t.nrelay_buckets >= t.nrelays, "relay buckets grew with them");
	for (i = 0; i < N; i++)
		for (j = 0; j < allocs[i]->nrelay; j++) {
			rl = &allocs[i]->relay[j];
			if (turn_table_relay(&t, &rl->addr.sa, &advertised) ==
			    rl && !advertised)
				by_bound++;
			if (turn_table_relay(&t, &rl->advertised.sa,
			    &advertised) == rl && advertised == (j == 0))
				by_adv++;
		}
	is_int(by_bound, N + N / 5, "each found by its bound address");
	is_int(by_adv, N + N / 5, "each found by its advertised address");
	bound = sa("10.0.0.7", 20000);
	ok(turn_table_relay(&t, SA(bound), &advertised) == NULL,
	    "another IP on a taken port: NULL");
	bound = sa("10.0.0.5", 19999);
	ok(turn_table_relay(&t, SA(bound), &advertised) == NULL,
	    "a port no relay holds: NULL");
	bound = sa("2001:db8::5", 40001);
	ok(turn_table_relay(&t, SA(bound), &advertised) == NULL,
	    "IPv6 port of no relay: NULL");

	for (i = 0; i < N; i += 2)
		turn_table_remove(&t, allocs[i]);
	is_int(t.nrelays, N / 2 + N / 10, "removed with their allocations");
	for (i = 0; i < N; i++) {
		rl = turn_table_relay(&t, &allocs[i]->relay[0].addr.sa,
		    &advertised);
		if (i % 2 == 0 ? rl == NULL : rl == &allocs[i]->relay[0])
			gone++;
	}
	is_int(gone, N, "removed ones gone, their port neighbours kept");
	for (i = 0; i < N; i++) {
		if (i % 2 == 1)
			turn_table_remove(&t, allocs[i]);
		turn_alloc_free(allocs[i]);
	}
	is_int(t.nrelays, 0, "all relays removed");
	turn_table_clear(&t);
}

static void
test_permissions(void)
{
	struct sockaddr_storage	 client = sa("198.51.100.7", 40000), p;
	struct turn_alloc	*a;
	int			 i, n, rc_ok = 0, seen = 0;

	a = turn_alloc_new(SA(client), &listener_a, TURN_TRANSPORT_UDP);
	p = sa("203.0.113.7", 1);
	ok(!turn_alloc_permitted(a, SA(p), 0), "no permission at first");
	for (i = 0; i < 5; i++) {
		p = nth_addr((unsigned int)i, false, (uint16_t)i);
		turn_alloc_permit(a, SA(p), 0, 100);
	}
	ok(a->capperm > 4 && a->nperm == 5, "grown past 4 entries");
	for (i = 0; i < 5; i++) {
		p = nth_addr((unsigned int)i, false, 7777);
		if (turn_alloc_permitted(a, SA(p), 100))
			seen++;
	}
	is_int(seen, 5, "all five found after growth, any port");
	for (i = 5; i < TURN_MAX_PERMS; i++) {
		p = nth_addr((unsigned int)i, i % 2 == 0, 1);
		if (turn_alloc_permit(a, SA(p), 0, 100) == 0)
			rc_ok++;
	}
	is_int(rc_ok, TURN_MAX_PERMS - 5, "up to TURN_MAX_PERMS installed");
	is_int(a->nperm, TURN_MAX_PERMS, "nperm == TURN_MAX_PERMS");
	ok(a->capperm >= 2 * a->nperm, "table at most half full");
	p = nth_addr(TURN_MAX_PERMS, false, 1);
	is_int(turn_alloc_permit(a, SA(p), 0, 100), -1, "one more: -1");
	ok(!turn_alloc_permitted(a, SA(p), 0), "and not permitted");
	p = nth_addr(3, false, 9);
	is_int(turn_alloc_permit(a, SA(p), 0, 500), 0,
	    "refreshing an existing one when full: 0");
	ok(turn_alloc_permitted(a, SA(p), 500), "refreshed until 500");
	ok(!turn_alloc_permitted(a, SA(p), 501), "expired at 501");
	p = nth_addr(4, false, 9);
	ok(turn_alloc_permitted(a, SA(p), 100), "valid up to its expiry");
	ok(!turn_alloc_permitted(a, SA(p), 101), "expired after");
	is_int(turn_alloc_permit(a, SA(p), 0, 900), 0, "expired one renewed");
	ok(turn_alloc_permitted(a, SA(p), 800), "renewed works");
	seen = 0;
	for (i = 0, n = 0; i < TURN_MAX_PERMS; i++) {
		p = nth_addr((unsigned int)i, i >= 5 && i % 2 == 0, 2);
		if (turn_alloc_permitted(a, SA(p), 100))
			seen++;
		n++;
	}
	is_int(seen, n, "all 256 found, IPv4 and IPv6");
	p = nth_addr(TURN_MAX_PERMS + 1, false, 1);
	is_int(turn_alloc_permit(a, SA(p), 0, 100), -1, "full at time 0");
	is_int(turn_alloc_permit(a, SA(p), 200, 600), 0,
	    "a full table of expired permissions makes room");
	ok(turn_alloc_permitted(a, SA(p), 500), "the new one is permitted");
	p = nth_addr(3, false, 9);
	ok(turn_alloc_permitted(a, SA(p), 500), "a live one survived");
	turn_alloc_free(a);
}

static void
test_channels(void)
{
	struct sockaddr_storage	 client = sa("198.51.100.7", 40000), p, q;
	struct turn_alloc	*a;
	const struct turn_chan	*c;
	int			 i, bound = 0, by_num = 0, by_peer = 0;

	a = turn_alloc_new(SA(client), &listener_a, TURN_TRANSPORT_UDP);
	ok(turn_alloc_chan_by_num(a, 0x4000, 0) == NULL,
	    "no channel at first (by number)");
	p = sa("203.0.113.7", 1);
	ok(turn_alloc_chan_by_peer(a, SA(p), 0) == NULL,
	    "no channel at first (by peer)");
	for (i = 0; i < TURN_MAX_CHANNELS; i++) {
		p = nth_addr((unsigned int)i, i % 4 == 0, (uint16_t)(1000 + i));
		if (turn_alloc_bind(a, (uint16_t)(0x4000 + 3 * i), SA(p), 0,
		    600) == 0)
			bound++;
	}
	is_int(bound, TURN_MAX_CHANNELS, "TURN_MAX_CHANNELS channels bound");
	is_int(a->nchan, TURN_MAX_CHANNELS, "nchan");
	p = nth_addr(9999, false, 1);
	is_int(turn_alloc_bind(a, 0x7000, SA(p), 0, 600), -2,
	    "one more: -2");
	for (i = 0; i < TURN_MAX_CHANNELS; i++) {
		p = nth_addr((unsigned int)i, i % 4 == 0, (uint16_t)(1000 + i));
		c = turn_alloc_chan_by_num(a, (uint16_t)(0x4000 + 3 * i), 600);
		if (c != NULL && c->num == 0x4000 + 3 * i &&
		    addr_equal(&c->peer.sa, SA(p)))
			by_num++;
		c = turn_alloc_chan_by_peer(a, SA(p), 0);
		if (c != NULL && c->num == 0x4000 + 3 * i)
			by_peer++;
	}
	is_int(by_num, TURN_MAX_CHANNELS, "every channel by number");
	is_int(by_peer, TURN_MAX_CHANNELS, "every channel by peer");
	ok(turn_alloc_chan_by_num(a, 0x4001, 0) == NULL, "unbound number");
	p = nth_addr(0, true, 1000);
	q = nth_addr(0, true, 1001);
	ok(turn_alloc_chan_by_peer(a, SA(q), 0) == NULL,
	    "peer IP with another port: no channel");
	ok(turn_alloc_chan_by_num(a, 0x4000, 601) == NULL, "expired: NULL");
	is_int(turn_alloc_bind(a, 0x4000, SA(p), 601, 1200), 0,
	    "rebind the same pair when full: refresh");
	ok(turn_alloc_chan_by_num(a, 0x4000, 1200) != NULL &&
	    turn_alloc_chan_by_peer(a, SA(p), 1200) != NULL,
	    "refreshed by number and by peer");
	is_int(turn_alloc_bind(a, 0x4000, SA(q), 601, 1200), -1,
	    "number to another peer: -1");
	is_int(turn_alloc_bind(a, 0x4003, SA(p), 601, 1200), -1,
	    "peer to another number: -1");
	is_int(turn_alloc_bind(a, 0x7000, SA(p), 601, 1200), -1,
	    "peer to a new number when full: -1");
	is_int(a->nchan, TURN_MAX_CHANNELS, "still TURN_MAX_CHANNELS");
	turn_alloc_free(a);

	/* Small: every step of the growth. */
	a = turn_alloc_new(SA(client), &listener_a, TURN_TRANSPORT_UDP);
	bound = 0;
	for (i = 0; i < 9; i++) {
		p = sa("203.0.113.7", (uint16_t)(5000 + i));
		turn_alloc_bind(a, (uint16_t)(0x7FFF - i), SA(p), 0, 10);
		for (by_num = 0; by_num <= i; by_num++) {
			q = sa("203.0.113.7", (uint16_t)(5000 + by_num));
			c = turn_alloc_chan_by_peer(a, SA(q), 10);
			if (c == NULL || c->num != 0x7FFF - by_num)
				bound = -1;
		}
	}
	is_int(bound, 0, "one peer IP, nine ports, nine channels");
	ok(a->capchan >= 9, "grew to hold them");
	turn_alloc_free(a);

	/*
	 * RFC 8656 §12: an expired binding is unbound, but the number and
	 * the peer stay reserved for TURN_CHANNEL_QUARANTINE seconds.
	 */
	a = turn_alloc_new(SA(client), &listener_a, TURN_TRANSPORT_UDP);
	p = sa("203.0.113.7", 1);
	q = sa("203.0.113.8", 1);
	is_int(turn_alloc_bind(a, 0x4000, SA(p), 0, 600), 0, "bind until 600");
	is_int(turn_alloc_bind(a, 0x4000, SA(q), 700, 1300), -1,
	    "expired, in quarantine: number not rebound");
	is_int(turn_alloc_bind(a, 0x4001, SA(p), 700, 1300), -1,
	    "expired, in quarantine: peer not rebound");
	is_int(turn_alloc_bind(a, 0x4000, SA(q), 600 + TURN_CHANNEL_QUARANTINE,
	    1500), -1, "last second of the quarantine: still -1");
	is_int(turn_alloc_bind(a, 0x4000, SA(q), 601 + TURN_CHANNEL_QUARANTINE,
	    1500), 0, "after the quarantine: number to another peer");
	c = turn_alloc_chan_by_num(a, 0x4000, 1000);
	ok(c != NULL && addr_equal(&c->peer.sa, SA(q)), "now bound to it");
	ok(turn_alloc_chan_by_peer(a, SA(p), 1000) == NULL,
	    "old peer unbound");
	is_int(turn_alloc_bind(a, 0x4001, SA(p), 1000, 1500), 0,
	    "old peer to another number");
	c = turn_alloc_chan_by_peer(a, SA(p), 1000);
	ok(c != NULL && c->num == 0x4001, "found by peer under it");
	turn_alloc_free(a);

	/* A full table makes room from bindings past their quarantine. */
	a = turn_alloc_new(SA(client), &listener_a, TURN_TRANSPORT_UDP);
	for (i = 0, bound = 0; i < TURN_MAX_CHANNELS; i++) {
		p = nth_addr((unsigned int)i, false, 1);
		if (turn_alloc_bind(a, (uint16_t)(0x4000 + i), SA(p), 0,
		    i == 7 ? 100 : 600) == 0)
			bound++;
	}
	is_int(bound, TURN_MAX_CHANNELS, "table full");
	p = nth_addr(999, false, 1);
	is_int(turn_alloc_bind(a, 0x7000, SA(p), 100 + TURN_CHANNEL_QUARANTINE,
	    1000), -2, "nothing past its quarantine: -2");
	is_int(turn_alloc_bind(a, 0x7000, SA(p), 101 + TURN_CHANNEL_QUARANTINE,
	    1000), 0, "one past its quarantine: room made");
	ok(turn_alloc_chan_by_num(a, 0x4007, 0) == NULL,
	    "the old binding is gone");
	for (i = 0, by_num = 0, by_peer = 0; i < TURN_MAX_CHANNELS; i++) {
		if (i == 7)
			continue;
		p = nth_addr((unsigned int)i, false, 1);
		c = turn_alloc_chan_by_num(a, (uint16_t)(0x4000 + i), 600);
		if (c != NULL && addr_equal(&c->peer.sa, SA(p)))
			by_num++;
		c = turn_alloc_chan_by_peer(a, SA(p), 600);
		if (c != NULL && c->num == 0x4000 + i)
			by_peer++;
	}
	is_int(by_num, TURN_MAX_CHANNELS - 1, "the others, by number");
	is_int(by_peer, TURN_MAX_CHANNELS - 1, "the others, by peer");
	p = nth_addr(999, false, 1);
	c = turn_alloc_chan_by_peer(a, SA(p), 600);
	ok(c != NULL && c->num == 0x7000, "the new one by peer");
	turn_alloc_free(a);
}

static void
test_relay_lookup(void)
{
	struct sockaddr_storage	 client = sa("198.51.100.7", 40000);
	struct sockaddr_storage	 r4 = sa("10.0.0.5", 50000);
	struct sockaddr_storage	 r6 = sa("2001:db8::5", 50001);
	struct sockaddr_storage	 x = sa("10.0.0.5", 1), y = sa("10.0.0.5", 2);
	struct turn_alloc	*a;

	a = turn_alloc_new(SA(client), &listener_b, TURN_TRANSPORT_TCP);
	ok(turn_alloc_relay(a, AF_INET) == NULL, "no relay yet");
	turn_sa_set(&a->relay[0].addr, SA(r4));
	a->nrelay = 1;
	ok(turn_alloc_relay(a, AF_INET) == &a->relay[0], "IPv4 relay");
	ok(turn_alloc_relay(a, AF_INET6) == NULL, "no IPv6 relay");
	turn_sa_set(&a->relay[1].addr, SA(r6));
	a->nrelay = 2;
	ok(turn_alloc_relay(a, AF_INET6) == &a->relay[1], "IPv6 relay");
	ok(a->transport == TURN_TRANSPORT_TCP && a->listener == &listener_b,
	    "transport and listener kept");
	turn_alloc_free(a);

	is_int(turn_sa_hash(SA(x), false), turn_sa_hash(SA(y), false),
	    "hash without port ignores the port");
	ok(turn_sa_hash(SA(x), true) != turn_sa_hash(SA(y), true),
	    "hash with port differs (these two)");
	is_int(turn_sa_hash(SA(r6), true), turn_sa_hash(SA(r6), true),
	    "hash is stable");
}

/* Ports ----------------------------------------------------------------- */

static uint32_t	lcg = 12345;

static uint32_t
rnd(void)
{
	lcg = lcg * 1103515245u + 12345u;
	return lcg >> 8;
}

static void
test_ports(void)
{
	struct turn_ports	*p;
	uint8_t			 tok[8], tok2[8];
	bool			 seen[10], dup = false, range = true;
	int			 i, port, first, again, pair;

	p = turn_ports_new(50000, 50009);
	is_int(turn_ports_available(p), 10, "10 ports available");
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < 10; i++) {
		port = turn_ports_get(p, false);
		if (port < 50000 || port > 50009)
			range = false;
		else if (seen[port - 50000])
			dup = true;
		else
			seen[port - 50000] = true;
	}
	ok(range, "every port in range");
	ok(!dup, "never the same port twice");
	is_int(turn_ports_get(p, false), -1, "exhausted: -1");
	is_int(turn_ports_available(p), 0, "none available");
	turn_ports_put(p, 50004);
	is_int(turn_ports_get(p, false), 50004, "the one put back");
	turn_ports_put(p, 49999);
	turn_ports_put(p, 50010);
	is_int(turn_ports_available(p), 0, "out-of-range puts ignored");
	turn_ports_put(p, 50004);
	turn_ports_put(p, 50004);
	is_int(turn_ports_available(p), 1, "a double put counts once");
	is_int(turn_ports_get(p, false), 50004, "taken again");
	turn_ports_put_busy(p, 50004, 100);
	is_int(turn_ports_available(p), 0, "a port found busy stays out");
	turn_ports_expire(p, 100 + TURN_PORTS_BUSY_SECS);
	is_int(turn_ports_available(p), 0, "until its time is up");
	turn_ports_expire(p, 101 + TURN_PORTS_BUSY_SECS);
	is_int(turn_ports_get(p, false), 50004, "then it is handed out again");
	turn_ports_put_busy(p, 50010, 100);
	is_int(turn_ports_available(p), 0, "an out-of-range busy port ignored");
	turn_ports_free(p);
	p = turn_ports_new(40000, 40299);
	for (i = 0; i < 300; i++)
		(void)turn_ports_get(p, false);
	for (i = 0; i < 257; i++)
		turn_ports_put_busy(p, 40000 + i, 100);
	ok(turn_ports_available(p) == 1 && turn_ports_get(p, false) == 40000,
	    "past 256 busy ports the oldest goes back");
	turn_ports_free(p);
	turn_ports_free(NULL);

	/* Round robin: a freed port is the last to come back. */
	p = turn_ports_new(50000, 50009);
	first = turn_ports_get(p, false);
	turn_ports_put(p, first);
	again = 0;
	for (i = 0; i < 9; i++)
		if (turn_ports_get(p, false) == first)
			again++;
	is_int(again, 0, "freed port not reused while others are free");
	is_int(turn_ports_get(p, false), first, "then it is");
	turn_ports_free(p);

	/* Even ports. */
	p = turn_ports_new(50001, 50004);
	port = turn_ports_get(p, true);
	ok(port == 50002 || port == 50004, "even port");
	again = turn_ports_get(p, true);
	ok((again == 50002 || again == 50004) && again != port,
	    "the other even port");
	is_int(turn_ports_get(p, true), -1, "no even port left: -1");
	is_int(turn_ports_available(p), 2, "odd ones still free");
	turn_ports_free(p);

	/* Pairs and reservation tokens. */
	p = turn_ports_new(50000, 50009);
	pair = turn_ports_get_pair(p, 100, tok, AF_INET);
	ok(pair >= 50000 && pair < 50009 && pair % 2 == 0, "pair: even port");
	is_int(turn_ports_available(p), 8, "pair takes two ports");
	memset(tok2, 0, sizeof(tok2));
	is_int(turn_ports_take_reserved(p, tok2, 100, &tag), -1,
	    "unknown token");
	is_int(turn_ports_take_reserved(p, tok, 130, &tag), pair + 1,
	    "token gives port + 1 (at the deadline)");
	is_int(tag, AF_INET, "with the tag it was reserved under");
	is_int(turn_ports_take_reserved(p, tok, 130, &tag), -1, "only once");
	is_int(turn_ports_available(p), 8, "port + 1 stays used");
	pair = turn_ports_get_pair(p, 200, tok, AF_INET);
	is_int(turn_ports_take_reserved(p, tok, 231, &tag), -1,
	    "token after 30 s: -1");
	is_int(turn_ports_available(p), 7, "and its port is free again");
	pair = turn_ports_get_pair(p, 300, tok, AF_INET);
	turn_ports_expire(p, 330);
	is_int(turn_ports_available(p), 5, "expire at the deadline: kept");
	turn_ports_expire(p, 331);
	is_int(turn_ports_available(p), 6, "expire after: port + 1 freed");
	is_int(turn_ports_take_reserved(p, tok, 331, &tag), -1,
	    "expired token: -1");
	turn_ports_free(p);
	p = turn_ports_new(50000, 50003);
	turn_ports_get_pair(p, 0, tok, AF_INET);
	turn_ports_get_pair(p, 0, tok2, AF_INET);
	ok(memcmp(tok, tok2, 8) != 0, "tokens differ");
	is_int(turn_ports_get_pair(p, 0, tok, AF_INET), -1, "no pair left: -1");
	turn_ports_free(p);
	p = turn_ports_new(50001, 50002);
	is_int(turn_ports_get_pair(p, 0, tok, AF_INET), -1,
	    "50001-50002 has no even/odd pair: -1");
	turn_ports_free(p);
	p = turn_ports_new(60000, 60000);
	is_int(turn_ports_get(p, false), 60000, "one-port range");
	is_int(turn_ports_get(p, false), -1, "then none");
	turn_ports_free(p);
}

/* Random gets, puts, pairs and tokens against a shadow map. */
static void
test_ports_stress(void)
{
	enum { MIN = 50000, N = 64, OPS = 30000 };
	struct turn_ports	*p = turn_ports_new(MIN, MIN + N - 1);
	int			 owned[N];	/* 0 free, 1 used, 2 reserved */
	uint8_t			 toks[N][8];
	uint64_t		 dl[N], now = 1000;
	int			 i, k, port, errors = 0, mismatch = 0, nfree;

	memset(owned, 0, sizeof(owned));
	for (i = 0; i < OPS; i++) {
		switch (rnd() % 6) {
		case 0:
		case 1:
			port = turn_ports_get(p, rnd() % 4 == 0);
			if (port == -1)
				break;
			if (port < MIN || port >= MIN + N ||
			    owned[port - MIN] != 0)
				errors++;
			else
				owned[port - MIN] = 1;
			break;
		case 2:
			port = turn_ports_get_pair(p, now, toks[0], AF_INET);
			if (port == -1)
				break;
			if (port % 2 != 0 || owned[port - MIN] != 0 ||
			    owned[port + 1 - MIN] != 0)
				errors++;
			owned[port - MIN] = 1;
			owned[port + 1 - MIN] = 2;
			memcpy(toks[port + 1 - MIN], toks[0], 8);
			dl[port + 1 - MIN] = now + TURN_PORTS_RESERVE_SECS;
			break;
		case 3:
			k = (int)(rnd() % N);
			if (owned[k] != 2)
				break;
			port = turn_ports_take_reserved(p, toks[k], now, &tag);
			if (dl[k] >= now ? port != MIN + k : port != -1)
				errors++;
			owned[k] = dl[k] >= now ? 1 : 0;
			break;
		case 4:
			k = (int)(rnd() % N);
			if (owned[k] == 1) {
				turn_ports_put(p, MIN + k);
				owned[k] = 0;
			}
			break;
		default:
			now += rnd() % 8;
			turn_ports_expire(p, now);
			for (k = 0; k < N; k++)
				if (owned[k] == 2 && dl[k] < now)
					owned[k] = 0;
			break;
		}
		for (k = 0, nfree = 0; k < N; k++)
			nfree += owned[k] == 0;
		if (nfree != turn_ports_available(p))
			mismatch++;
	}
	is_int(errors, 0, "random ops: never a used port handed out");
	is_int(mismatch, 0, "random ops: available() matches the shadow map");
	turn_ports_free(p);
}

/* Quotas ---------------------------------------------------------------- */

static void
test_quota(void)
{
	struct turn_quota	*q = turn_quota_new(3, 2);
	char			 name[32];
	int			 i, taken = 0;

	ok(turn_quota_take(q, "alice"), "alice 1");
	ok(turn_quota_take(q, "alice"), "alice 2");
	ok(!turn_quota_take(q, "alice"), "alice 3: over user-quota");
	ok(turn_quota_take(q, "bob"), "bob 1");
	is_int(turn_quota_total(q), 3, "total 3");
	ok(!turn_quota_take(q, "carol"), "carol: over total-quota");
	turn_quota_give(q, "alice");
	is_int(turn_quota_total(q), 2, "alice gave one back");
	ok(turn_quota_take(q, "carol"), "carol fits now");
	ok(!turn_quota_take(q, "alice"), "alice: total full again");
	turn_quota_give(q, "nobody");
	is_int(turn_quota_total(q), 3, "give for an unknown user: no change");
	turn_quota_give(q, "carol");
	turn_quota_give(q, "carol");
	is_int(turn_quota_total(q), 2, "a second give for carol: ignored");
	ok(turn_quota_take(q, ""), "empty user name is a user too");
	turn_quota_free(q);
	turn_quota_free(NULL);

	q = turn_quota_new(0, 0);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "user%d", i % 1500);
		if (turn_quota_take(q, name))
			taken++;
	}
	is_int(taken, 3000, "unlimited: 3000 taken");
	is_int(turn_quota_total(q), 3000, "total 3000");
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "user%d", i % 1500);
		turn_quota_give(q, name);
	}
	is_int(turn_quota_total(q), 0, "all given back");
	turn_quota_free(q);

	q = turn_quota_new(0, 1);
	ok(turn_quota_take(q, "a") && turn_quota_take(q, "b") &&
	    !turn_quota_take(q, "a"), "user-quota only");
	turn_quota_free(q);
}

/* Policy ---------------------------------------------------------------- */

struct policy_case {
	const char	*ip;
	bool		 allowed;
};

static void
policy_table(const struct turn_policy *pol, const struct policy_case *c,
    size_t n, const char *what)
{
	struct sockaddr_storage	ss;
	char			msg[128];
	size_t			i;

	for (i = 0; i < n; i++) {
		ss = sa(c[i].ip, 3478);
		snprintf(msg, sizeof(msg), "%s: %s %s", what, c[i].ip,
		    c[i].allowed ? "allowed" : "refused");
		ok(ss.ss_family != 0 &&
		    turn_policy_peer_allowed(pol, SA(ss), false) ==
		    c[i].allowed, msg);
	}
}

static struct config *
conf(const char *text)
{
	struct config	*cfg = config_new();
	char		 err[256];

	if (config_parse_text(cfg, text, strlen(text), "test", err,
	    sizeof(err)) != CONFIG_OK) {
		printf("# config: %s\n", err);
		abort();
	}
	return cfg;
}

static void
test_policy(void)
{
	static const struct policy_case defaults[] = {
		{ "8.8.8.8", true }, { "203.0.113.7", true },
		{ "192.0.2.1", true }, { "1.1.1.1", true },
		{ "127.0.0.1", false }, { "127.255.255.254", false },
		{ "0.0.0.0", false }, { "0.1.2.3", false },
		{ "10.0.0.1", false }, { "10.255.255.255", false },
		{ "10.0.0.5", true },		/* own */
		{ "172.15.255.255", true }, { "172.16.0.0", false },
		{ "172.31.255.255", false }, { "172.32.0.0", true },
		{ "192.168.0.1", false }, { "192.169.0.1", true },
		{ "100.63.255.255", true }, { "100.64.0.0", false },
		{ "100.127.255.255", false }, { "100.128.0.0", true },
		{ "169.254.169.254", false }, { "169.254.0.1", false },
		{ "192.0.0.8", false },
		{ "198.18.0.1", false }, { "198.19.255.255", false },
		{ "198.20.0.1", true },
		{ "224.0.0.1", false }, { "239.255.255.250", false },
		{ "240.0.0.1", false }, { "255.255.255.255", false },
		{ "::", false }, { "::1", false },
		{ "::ffff:10.0.0.1", false }, { "::ffff:8.8.8.8", true },
		{ "::ffff:127.0.0.1", false }, { "::ffff:10.0.0.5", true },
		{ "64:ff9b::808:808", true }, { "64:ff9b:1::1", false },
		{ "100::1", false }, { "fc00::1", false },
		{ "fd12:3456::1", false }, { "fe80::1", false },
		{ "febf::1", false }, { "ff02::1", false },
		{ "2001:db8::7", true }, { "2606:4700::1111", true },
		{ "fd00::5", true },		/* own */
		{ "fd00::6", false },
	};
	static const struct policy_case opened[] = {
		{ "127.0.0.1", true }, { "::1", true },
		{ "::ffff:127.0.0.1", true },
		{ "10.1.2.3", true }, { "10.1.255.255", true },
		{ "10.2.0.1", false },
		{ "203.0.113.7", true },	/* allowed wins over denied */
		{ "203.0.113.8", false }, { "203.0.114.1", true },
		{ "2001:db8:bad::1", false }, { "2001:db8:900d::1", true },
		{ "10.0.0.5", false },		/* denied wins over own */
	};
	struct turn_policy	 pol;
	struct config		*cfg;
	struct sockaddr_storage	 own, lo = sa("127.0.0.1", 0), ss;

	cfg = conf("");
	turn_policy_init(&pol, cfg);
	own = sa("10.0.0.5", 0);
	turn_policy_add_own(&pol, SA(own));
	own = sa("fd00::5", 0);
	turn_policy_add_own(&pol, SA(own));
	turn_policy_add_own(&pol, SA(lo));
	policy_table(&pol, defaults, sizeof(defaults) / sizeof(defaults[0]),
	    "default");
	ss = sa("127.0.0.1", 1);
	ok(!turn_policy_peer_allowed(&pol, SA(ss), false),
	    "loopback refused even when one of ours");
	turn_policy_clear(&pol);
	config_free(cfg);

	cfg = conf("allow-loopback-peers\nallowed-peer-ip=10.1.0.0/16\n"
	    "allowed-peer-ip=203.0.113.7\n"
	    "denied-peer-ip=203.0.113.0-203.0.113.255\n"
	    "denied-peer-ip=2001:db8:bad::/48\ndenied-peer-ip=10.0.0.5\n"
	    "relay-ip=10.0.0.5\n");
	turn_policy_init(&pol, cfg);
	policy_table(&pol, opened, sizeof(opened) / sizeof(opened[0]),
	    "configured");
	turn_policy_clear(&pol);
	config_free(cfg);

	/* relay-ip and external-ip are our own addresses. */
	cfg = conf("relay-ip=172.16.5.5\nexternal-ip=100.64.9.9/10.9.9.9\n"
	    "external-ip=fd00::9\n");
	turn_policy_init(&pol, cfg);
	ss = sa("172.16.5.5", 1);
	ok(turn_policy_peer_allowed(&pol, SA(ss), false), "relay-ip is ours");
	ss = sa("100.64.9.9", 1);
	ok(turn_policy_peer_allowed(&pol, SA(ss), false),
	    "external public is ours");
	ss = sa("10.9.9.9", 1);
	ok(turn_policy_peer_allowed(&pol, SA(ss), false),
	    "external private is ours");
	ss = sa("fd00::9", 1);
	ok(turn_policy_peer_allowed(&pol, SA(ss), false),
	    "external v6 is ours");
	ss = sa("172.16.5.6", 1);
	ok(!turn_policy_peer_allowed(&pol, SA(ss), false),
	    "its neighbour is not");
	ss = sa("172.16.5.5", 5432);
	ok(!turn_policy_peer_allowed(&pol, SA(ss), true),
	    "our own private address: only relay ports (not 5432)");
	ss = sa("172.16.5.5", 50000);
	ok(turn_policy_peer_allowed(&pol, SA(ss), true),
	    "our own private address: a relay port");
	ss = sa("64:ff9b::a9fe:a9fe", 80);
	ok(!turn_policy_peer_allowed(&pol, SA(ss), true),
	    "NAT64 64:ff9b::169.254.169.254 is the metadata address");
	ss = sa("64:ff9b::cb00:7107", 80);
	ok(turn_policy_peer_allowed(&pol, SA(ss), true),
	    "NAT64 of a public IPv4 address is allowed");
	turn_policy_clear(&pol);
	config_free(cfg);

	ss = sa("10.0.0.1", 0);
	ok(turn_policy_is_special(SA(ss)), "is_special: 10.0.0.1");
	ss = sa("127.0.0.1", 0);
	ok(!turn_policy_is_special(SA(ss)), "is_special: loopback excluded");
	ss = sa("8.8.8.8", 0);
	ok(!turn_policy_is_special(SA(ss)), "is_special: 8.8.8.8 no");
	ss = sa("fe80::1", 0);
	ok(turn_policy_is_special(SA(ss)), "is_special: fe80::1");
}

int
main(void)
{
	test_table();
	test_relay_index();
	test_permissions();
	test_channels();
	test_relay_lookup();
	test_ports();
	test_ports_stress();
	test_quota();
	test_policy();
	return tap_done();
}
