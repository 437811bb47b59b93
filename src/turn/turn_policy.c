/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Peer address policy (see include/turn_policy.h for the rules and why).
 * Pure: decides from the address and the configuration only.
 */
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "turn_policy.h"
#include "xmalloc.h"

/* Refused by default: not reachable on the public internet, or internal. */
static const char *const turn_policy_special_text[] = {
	"0.0.0.0/8",		/* "this network" */
	"10.0.0.0/8",		/* RFC 1918 */
	"100.64.0.0/10",	/* CGNAT, RFC 6598 */
	"169.254.0.0/16",	/* link-local, incl. cloud metadata */
	"172.16.0.0/12",	/* RFC 1918 */
	"192.0.0.0/24",		/* IETF protocol assignments */
	"192.168.0.0/16",	/* RFC 1918 */
	"198.18.0.0/15",	/* benchmarking */
	"224.0.0.0/4",		/* multicast */
	"240.0.0.0/4",		/* reserved, broadcast */
	"::/128",		/* unspecified */
	"::ffff:0:0/96",	/* IPv4-mapped: judged as IPv4 instead */
	"64:ff9b:1::/48",	/* local-use NAT64 */
	"100::/64",		/* discard */
	"fc00::/7",		/* ULA */
	"fe80::/10",		/* link-local */
	"ff00::/8",		/* multicast */
};

#define TURN_POLICY_NSPECIAL	(sizeof(turn_policy_special_text) / \
	sizeof(turn_policy_special_text[0]))

static struct addr_range	turn_policy_special[TURN_POLICY_NSPECIAL];
static pthread_once_t		turn_policy_once = PTHREAD_ONCE_INIT;

static void
turn_policy_parse_special(void)
{
	size_t	i;

	for (i = 0; i < TURN_POLICY_NSPECIAL; i++)
		if (addr_range_parse(turn_policy_special_text[i],
		    &turn_policy_special[i]) == -1)
			abort();	/* a typo in the table above */
}

bool
turn_policy_is_special(const struct sockaddr *sa)
{
	size_t	i;

	pthread_once(&turn_policy_once, turn_policy_parse_special);
	for (i = 0; i < TURN_POLICY_NSPECIAL; i++)
		if (addr_range_contains(&turn_policy_special[i], sa))
			return true;
	return false;
}

/* IPv4 carried in IPv4-mapped or NAT64 (RFC 6052) IPv6 becomes IPv4. */
static void
turn_policy_unwrap(struct sockaddr_storage *ss)
{
	static const uint8_t	 nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in	 sin;

	if (ss->ss_family == AF_INET6 &&
	    memcmp(sin6->sin6_addr.s6_addr, nat64, sizeof(nat64)) == 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = sin6->sin6_port;
		memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, &sin, sizeof(sin));
		return;
	}
	addr_unmap_v4(ss);
}

void
turn_policy_init(struct turn_policy *p, const struct config *cfg)
{
	size_t	i;

	memset(p, 0, sizeof(*p));
	p->allow_loopback = cfg->allow_loopback_peers;
	p->allowed = cfg->allowed_peer_ips;
	p->nallowed = cfg->n_allowed_peer_ips;
	p->denied = cfg->denied_peer_ips;
	p->ndenied = cfg->n_denied_peer_ips;
	p->min_port = cfg->min_port;
	p->max_port = cfg->max_port;
	for (i = 0; i < cfg->n_relay_ips; i++)
		turn_policy_add_own(p,
		    (const struct sockaddr *)&cfg->relay_ips[i]);
	for (i = 0; i < cfg->n_external_ips; i++) {
		turn_policy_add_own(p,
		    (const struct sockaddr *)&cfg->external_ips[i].pub);
		if (cfg->external_ips[i].has_priv)
			turn_policy_add_own(p, (const struct sockaddr *)
			    &cfg->external_ips[i].priv);
	}
}

void
turn_policy_add_own(struct turn_policy *p, const struct sockaddr *sa)
{
	p->own = xreallocarray(p->own, p->nown + 1, sizeof(*p->own));
	memset(&p->own[p->nown], 0, sizeof(*p->own));
	memcpy(&p->own[p->nown], sa, addr_len(sa));
	p->nown++;
}

void
turn_policy_clear(struct turn_policy *p)
{
	free(p->own);
	memset(p, 0, sizeof(*p));
}

static bool
turn_policy_in(const struct addr_range *r, size_t n, const struct sockaddr *sa)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (addr_range_contains(&r[i], sa))
			return true;
	return false;
}

bool
turn_policy_peer_allowed(const struct turn_policy *p,
    const struct sockaddr *peer, bool with_port)
{
	struct sockaddr_storage	ss;
	const struct sockaddr	*sa;
	size_t			i;
	int			port;

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, peer, addr_len(peer));
	turn_policy_unwrap(&ss);
	sa = (const struct sockaddr *)&ss;

	if (turn_policy_in(p->allowed, p->nallowed, sa))
		return true;
	if (turn_policy_in(p->denied, p->ndenied, sa))
		return false;
	if (addr_is_loopback(sa))
		return p->allow_loopback;
	if (!turn_policy_is_special(sa))
		return true;
	for (i = 0; i < p->nown; i++) {
		if (!addr_equal_ip((const struct sockaddr *)&p->own[i], sa))
			continue;
		port = addr_port(sa);
		return !with_port || (port >= p->min_port &&
		    port <= p->max_port);
	}
	return false;
}
