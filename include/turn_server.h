/*
 * turnpike — the TURN server core (RFC 8656 over RFC 8489): what to answer
 * to each request, and the decisions of the relay data path. It builds
 * responses into the caller's buffer and reaches sockets only through
 * struct turn_io, so tests drive it without a network.
 */
#ifndef TURN_SERVER_H
#define TURN_SERVER_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun_server.h"
#include "turn_alloc.h"
#include "turn_policy.h"

struct auth;
struct auth_limiter;
struct config;
struct turn_ports;
struct turn_quota;

/*
 * Bytes the glue keeps free before and after a peer datagram so that it
 * can be framed for the client in place: a Data indication header with an
 * IPv6 XOR-PEER-ADDRESS before, padding and a FINGERPRINT after.
 */
#define TURN_HEADROOM		48
#define TURN_TAILROOM		12

/* Socket operations the core asks of the glue. */
struct turn_io {
	/*
	 * Open a UDP socket bound to relay->addr (port set) and start reading
	 * it; set relay->fd and relay->io. Returns 0, or -1 with errno
	 * (EADDRINUSE: the core tries another port).
	 */
	int	(*relay_open)(void *arg, struct turn_relay *, bool dont_fragment);
	void	(*relay_close)(void *arg, struct turn_relay *);
	/* Send data from the relay to peer (Send indication). */
	void	(*relay_send)(void *arg, struct turn_relay *,
		    const struct sockaddr *peer, const uint8_t *data,
		    size_t len);
};

/* Read-only after start, shared by every worker. */
struct turn_shared {
	const struct config	*cfg;
	const struct auth	*auth;
	struct turn_ports	*ports;
	struct turn_quota	*quota;
	struct turn_policy	 policy;
	struct stun_server_opts	 stun;
	/* Where relays may live: relay-ip lines, else the listening IPs. */
	struct sockaddr_storage	*relay_ips;
	size_t			 nrelay_ips;
	bool			 relay_ip_configured;
	/* What external-ip advertises for each relay IP (port 0). */
	union addr_sa		*relay_adv;
	bool			 relay_mapped;	/* one differs from its IP */
};

/* One per worker. The glue sets the clocks before each batch. */
struct turn_ctx {
	const struct turn_shared *sh;
	struct turn_table	 table;
	struct auth_limiter	*limiter;
	const struct turn_io	*io;
	void			*io_arg;
	uint64_t		 now;		/* monotonic seconds */
	uint64_t		 now_unix;	/* wall clock, for nonces */
	uint64_t		 now_ms;	/* monotonic milliseconds */
	uint64_t		 next_id;
	uint64_t		 rng;		/* transaction ids */
};

/* One STUN message from a client. */
struct turn_req {
	const uint8_t		*pkt;
	size_t			 len;
	const struct sockaddr	*client;	/* its source address */
	const struct sockaddr	*local;		/* the address it reached */
	const void		*listener;	/* server side of the 5-tuple */
	uint8_t			 transport;	/* TURN_TRANSPORT_UDP / _TCP */
};

void	turn_shared_init(struct turn_shared *, const struct config *,
	    const struct auth *, const struct sockaddr_storage *listen_ips,
	    size_t nlisten_ips);
void	turn_shared_clear(struct turn_shared *);

void	turn_ctx_init(struct turn_ctx *, const struct turn_shared *,
	    const struct turn_io *, void *io_arg, int worker_id);
/* Releases every allocation (their relays through io) and the table. */
void	turn_ctx_clear(struct turn_ctx *);

/*
 * Answer one STUN message. Returns the response length in out (> 0), 0 when
 * nothing is to be sent (indications, responses, rate-limited 401s, the
 * silent cases of RFC 3489), or -1 when the message is malformed (UDP:
 * drop; stream: close the connection).
 */
ssize_t	turn_server_handle(struct turn_ctx *, const struct turn_req *,
	    uint8_t *out, size_t cap);

/*
 * ChannelData from a client: the relay to send from and the peer, or NULL
 * when the channel is not bound (the packet is dropped, RFC 8656 §12.6).
 */
struct turn_relay *turn_server_channel_in(struct turn_ctx *,
	    const struct sockaddr *client, const void *listener, uint16_t chan,
	    const struct sockaddr **peer);

/*
 * Relay to relay inside the worker (hairpin): when from's client sends to
 * peer and peer is a relayed address of this worker, bound or advertised,
 * returns the relay that would receive the datagram; *src is the address
 * it comes from as that relay's client knows it (from's address in the
 * form peer was named in, else in the other form if that client permits
 * only that one), and *chan is as turn_server_peer_in() says (-1:
 * dropped). NULL: the datagram goes through the network (to another
 * worker, or elsewhere); always so with no-relay-hairpin.
 */
struct turn_relay *turn_server_hairpin(struct turn_ctx *,
	    const struct turn_relay *from, const struct sockaddr *peer,
	    const struct sockaddr **src, int *chan);

/*
 * Where a datagram to peer is sent. A relayed address of this server that
 * turn_server_hairpin() did not find (it lives on another worker), named
 * by the address external-ip advertises for it, is reached at its bound
 * address: sent to the public one, it would come back only through a NAT
 * that hairpins. Returns peer, or out set to the bound address; peer
 * with no-relay-hairpin.
 */
const struct sockaddr *turn_server_peer_out(const struct turn_ctx *,
	    const struct sockaddr *peer, union addr_sa *out);

/*
 * The other end of turn_server_peer_out(): a datagram that
 * turn_server_peer_in() refused, sent by a relay of this server from its
 * bound address, is let in when relay's client permits that relay's
 * advertised address, and *peer becomes the advertised address (peer has
 * room for it). Returns as turn_server_peer_in().
 */
int	turn_server_peer_in_nat(struct turn_ctx *, struct turn_relay *,
	    struct sockaddr *peer);

/*
 * A datagram from peer reached relay: returns the channel number to wrap
 * it in, 0 for a Data indication, or -1 to drop it (no permission).
 */
int	turn_server_peer_in(struct turn_ctx *, struct turn_relay *,
	    const struct sockaddr *peer);

/*
 * Frame len bytes of peer data at data for the client, in place: needs
 * TURN_HEADROOM writable bytes before data and TURN_TAILROOM after.
 * ChannelData when chan != 0 (padded to 4 when pad, for streams), else a
 * Data indication. Returns the start; *outlen gets the total length.
 */
uint8_t	*turn_frame_peer_data(struct turn_ctx *, uint8_t *data, size_t len,
	    int chan, const struct sockaddr *peer, bool pad, size_t *outlen);

/*
 * external-ip: the address advertised for a relay address, port kept.
 * "external-ip=PUB/PRIV" maps PRIV; a bare "external-ip=PUB" maps every
 * relay address of its family (coturn's single-address form).
 */
void	turn_advertised_ip(const struct config *, const struct sockaddr *relay,
	    union addr_sa *out);

/* Free allocations past their lifetime; call about once a second. */
void	turn_server_expire(struct turn_ctx *);
/* Free the allocation of a 5-tuple, if any (its stream closed). */
void	turn_server_drop(struct turn_ctx *, const struct sockaddr *client,
	    const void *listener);
/* Free every allocation made with this username (credentials revoked). */
void	turn_server_revoke(struct turn_ctx *, const char *username);
/* Does the 5-tuple hold a live allocation? */
bool	turn_server_has_alloc(struct turn_ctx *, const struct sockaddr *client,
	    const void *listener);

#endif
