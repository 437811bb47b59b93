/*
 * turnpike — TURN allocations and their permissions and channels
 * (RFC 8656 §§5-12), and the per-worker table that finds an allocation by
 * its 5-tuple. Pure state: the sockets behind a relay address belong to the
 * glue (src/net/), which only keeps a handle in struct turn_relay.
 *
 * Lookups on the relay path are O(1): the allocation by a hash of the
 * 5-tuple, a permission by a hash of the peer IP, a channel by a hash of
 * its number or of its peer address (small open-addressing tables that
 * only grow while the allocation lives, bounded by TURN_MAX_PERMS and
 * TURN_MAX_CHANNELS).
 */
#ifndef TURN_ALLOC_H
#define TURN_ALLOC_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define TURN_MAX_PERMS		256	/* per allocation */
#define TURN_MAX_CHANNELS	256	/* per allocation */
#define TURN_CHANNEL_MIN	0x4000
#define TURN_CHANNEL_MAX	0x7FFF	/* RFC 5766 range; see doc/ */
/* After expiry a channel's number and peer stay reserved this long. */
#define TURN_CHANNEL_QUARANTINE	300
#define TURN_TRANSPORT_UDP	17
#define TURN_TRANSPORT_TCP	6

struct turn_perm {
	union addr_sa	ip;		/* port 0 */
	uint64_t	expires;	/* 0: slot empty */
};

struct turn_chan {
	union addr_sa	peer;
	uint64_t	expires;
	uint16_t	num;
};

/* One relayed transport address and the glue's socket behind it. */
struct turn_relay {
	union addr_sa	 addr;		/* bound local address */
	union addr_sa	 advertised;	/* after external-ip mapping */
	int		 fd;		/* -1: unused */
	void		*io;		/* the glue's event */
	void		*worker;	/* the glue's worker */
	struct turn_alloc *alloc;
	struct turn_relay *pnext;	/* relay-address hash chain */
};

struct turn_alloc {
	struct turn_alloc	*hnext;		/* 5-tuple hash chain */
	union addr_sa		 client;	/* client transport address */
	const void		*listener;	/* server side of the 5-tuple */
	uint8_t			 transport;	/* client side: UDP or TCP */
	uint8_t			 nrelay;
	uint8_t			 keylen;
	uint16_t		 alg;		/* PASSWORD-ALGORITHM in use */
	struct turn_relay	 relay[2];	/* ADDITIONAL-ADDRESS-FAMILY */
	char			*username;
	uint8_t			 key[32];
	uint8_t			 tid[12];	/* of the Allocate request */
	uint64_t		 expires;	/* monotonic seconds */
	uint64_t		 id;

	struct turn_perm	*perms;
	uint16_t		 nperm, capperm;
	struct turn_chan	*chans;
	uint16_t		*chan_by_num;	/* index + 1, 0 = empty */
	uint16_t		*chan_by_peer;
	uint16_t		 nchan, capchan;
};

/*
 * A worker's allocations by 5-tuple, and their relays by relay port (for
 * relay-to-relay traffic that never leaves the worker).
 */
struct turn_table {
	struct turn_alloc	**buckets;
	size_t			  nbuckets;
	size_t			  count;
	struct turn_relay	**relays;	/* by port */
	size_t			  nrelay_buckets;
	size_t			  nrelays;
};

void	turn_table_init(struct turn_table *);
/* Frees the table only; allocations must have been removed. */
void	turn_table_clear(struct turn_table *);
struct turn_alloc *turn_table_find(const struct turn_table *,
	    const struct sockaddr *client, const void *listener);
/* Insert and remove an allocation with its relays (set up by then). */
void	turn_table_insert(struct turn_table *, struct turn_alloc *);
void	turn_table_remove(struct turn_table *, struct turn_alloc *);
/*
 * The relay of this table whose bound or advertised address is addr (IP
 * and port), or NULL; *advertised says which of the two matched.
 */
struct turn_relay *turn_table_relay(const struct turn_table *,
	    const struct sockaddr *addr, bool *advertised);

struct turn_alloc *turn_alloc_new(const struct sockaddr *client,
	    const void *listener, uint8_t transport);
void	turn_alloc_free(struct turn_alloc *);

/*
 * Install or refresh a permission for peer's IP until expires. Returns 0,
 * or -1 when TURN_MAX_PERMS live permissions leave no room (508).
 */
int	turn_alloc_permit(struct turn_alloc *, const struct sockaddr *peer,
	    uint64_t now, uint64_t expires);
/* Does a live permission cover peer's IP at time now? */
bool	turn_alloc_permitted(const struct turn_alloc *,
	    const struct sockaddr *peer, uint64_t now);

/*
 * Bind channel num to peer (or refresh that binding) until expires.
 * Returns 0, -1 if num or peer is bound to something else (400), or -2 when
 * the allocation has no room for another channel (508). A binding expired
 * for TURN_CHANNEL_QUARANTINE seconds no longer counts (RFC 8656 §12).
 */
int	turn_alloc_bind(struct turn_alloc *, uint16_t num,
	    const struct sockaddr *peer, uint64_t now, uint64_t expires);
/* A live channel by number / by peer transport address, or NULL. */
const struct turn_chan *turn_alloc_chan_by_num(const struct turn_alloc *,
	    uint16_t num, uint64_t now);
const struct turn_chan *turn_alloc_chan_by_peer(const struct turn_alloc *,
	    const struct sockaddr *peer, uint64_t now);

/* The relay of this address family, or NULL. */
struct turn_relay *turn_alloc_relay(struct turn_alloc *, int family);

/* Hash of an address (IP, and the port when with_port). */
uint32_t turn_sa_hash(const struct sockaddr *, bool with_port);
void	turn_sa_set(union addr_sa *, const struct sockaddr *);

#endif
