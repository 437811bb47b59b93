/*
 * turnpike — which peer addresses a TURN allocation may reach.
 *
 * Safe by default (DESIGN.md): a relay open to the internet must not become
 * a way into the server's own network. Peers on loopback, 0.0.0.0/8,
 * link-local, private (RFC 1918), CGNAT (100.64.0.0/10), ULA (fc00::/7),
 * multicast, broadcast and reserved ranges, and the cloud metadata address
 * 169.254.169.254, are refused, except the server's own relay and external
 * addresses (so two clients of one server on a private network can reach
 * each other's relayed candidates) — and there only the relay ports
 * (min-port..max-port), so a client cannot reach other services on the
 * server's private address. Loopback stays refused unless
 * allow-loopback-peers. allowed-peer-ip opens ranges, denied-peer-ip
 * closes them; allowed wins, as in coturn. IPv4-mapped and NAT64
 * (64:ff9b::/96) IPv6 peers are judged as the IPv4 address they carry.
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
	int			 min_port, max_port;	/* relay ports */
};

/* The policy of cfg; own addresses are added with turn_policy_add_own(). */
void	turn_policy_init(struct turn_policy *, const struct config *);
void	turn_policy_add_own(struct turn_policy *, const struct sockaddr *);
void	turn_policy_clear(struct turn_policy *);
/*
 * May an allocation reach this peer? with_port false judges the IP alone
 * (CreatePermission, RFC 8656 §9: the port is ignored there); true also
 * holds the server's own addresses to the relay ports (ChannelBind, Send).
 */
bool	turn_policy_peer_allowed(const struct turn_policy *,
	    const struct sockaddr *peer, bool with_port);
/* True for the ranges refused by default (loopback excluded). */
bool	turn_policy_is_special(const struct sockaddr *);

#endif
