/*
 * turnpike — which peer addresses a TURN allocation may reach.
 *
 * Safe by default (DESIGN.md): a relay open to the internet must not become
 * a way into the server's own network. Peers on loopback, 0.0.0.0/8,
 * link-local, private (RFC 1918), CGNAT (100.64.0.0/10), ULA (fc00::/7),
 * multicast, broadcast and reserved ranges, and the cloud metadata address
 * 169.254.169.254, are refused, except the server's own relay and external
 * addresses (so two clients of one server on a private network can reach
 * each other's relayed candidates). Loopback stays refused unless
 * allow-loopback-peers. allowed-peer-ip opens ranges, denied-peer-ip closes
 * them; allowed wins, as in coturn.
 */
#ifndef TURN_POLICY_H
#define TURN_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct config;

struct turn_policy {
	bool			 allow_loopback;
	const struct addr_range	*allowed;
	size_t			 nallowed;
	const struct addr_range	*denied;
	size_t			 ndenied;
	struct sockaddr_storage	*own;		/* relay and external IPs */
	size_t			 nown;
};

/* The policy of cfg; own addresses are added with turn_policy_add_own(). */
void	turn_policy_init(struct turn_policy *, const struct config *);
void	turn_policy_add_own(struct turn_policy *, const struct sockaddr *);
void	turn_policy_clear(struct turn_policy *);
/* May an allocation send to (and receive from) this peer address? */
bool	turn_policy_peer_allowed(const struct turn_policy *,
	    const struct sockaddr *peer);
/* True for the ranges refused by default (loopback excluded). */
bool	turn_policy_is_special(const struct sockaddr *);

#endif
