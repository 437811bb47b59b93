/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Relay sockets: the UDP socket behind each relayed transport address
 * (struct turn_io for the TURN core), the peer -> client path, and the
 * batched client -> peer sends. Datagrams from peers are read into the
 * worker's slots at an offset of TURN_HEADROOM and framed in place as
 * ChannelData or a Data indication. They leave for their clients at the
 * end of the loop turn (net_worker_main), all in one sendmmsg(): at the
 * rates of real calls each relay socket has one datagram ready at a time,
 * and sending from each read would cost a system call per datagram. A
 * datagram from a client to another relay of the worker joins that batch
 * directly (relay_hairpin). Nothing here allocates per packet.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "net_internal.h"
#include "turn_server.h"

#define RELAY_PAYLOAD_MAX	(NET_UDP_BUFSZ - TURN_HEADROOM - TURN_TAILROOM)

/*
 * One sendmmsg() per socket: datagrams are gathered by socket first
 * (keeping each socket's order), since a few busy clients interleave
 * their packets in a batch (A B A B ...), and runs of one would each cost
 * a system call.
 */
static void
relay_send_by_fd(const struct mmsghdr *msgs, const int *fds, unsigned int n)
{
	struct mmsghdr	gathered[NET_PTC_SLOTS];
	bool		taken[NET_PTC_SLOTS] = { false };
	unsigned int	i, j, k;

	for (i = 0; i < n; i++) {
		if (taken[i])
			continue;
		for (j = i, k = 0; j < n; j++)
			if (!taken[j] && fds[j] == fds[i]) {
				gathered[k++] = msgs[j];
				taken[j] = true;
			}
		udp_sendmmsg(fds[i], gathered, k);
	}
}

/*
 * RFC 8656 §10.3: no permission, no relay. Returns the channel to frame
 * the datagram in, 0 for a Data indication, -1 to drop it; peer may be
 * rewritten (turn_server_peer_in_nat).
 */
static int
relay_peer_in(struct worker *w, struct turn_relay *rl, struct sockaddr *peer)
{
	int	chan = turn_server_peer_in(&w->turn, rl, peer);

	return chan != -1 ? chan : turn_server_peer_in_nat(&w->turn, rl, peer);
}

/*
 * Datagrams from peers to a client on a stream: framed with padding and
 * queued on the connection, dropped while the client is too far behind.
 */
static void
relay_stream_read(struct worker *w, struct turn_relay *rl, int fd)
{
	struct conn	*c = (struct conn *)rl->alloc->listener;
	struct sockaddr	*peer;
	size_t		 len;
	uint8_t		*start;
	int		 i, got, chan;

	worker_clock(w);
	udp_rx_prepare(w, TURN_HEADROOM, RELAY_PAYLOAD_MAX);
	got = recvmmsg(fd, w->rx_msgs, NET_UDP_BATCH, MSG_DONTWAIT, NULL);
	for (i = 0; i < got; i++) {
		peer = (struct sockaddr *)&w->rx_addr[i];
		if ((w->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    (chan = relay_peer_in(w, rl, peer)) == -1)
			continue;
		start = turn_frame_peer_data(&w->turn,
		    w->rx_buf[i] + TURN_HEADROOM, w->rx_msgs[i].msg_len, chan,
		    peer, true, &len);
		(void)conn_send(c, start, len);
	}
}

/*
 * Frame the len bytes of peer data in slot k for a's client and queue
 * them: for the loop turn's end on UDP, to the connection at once on a
 * stream. Returns true when the slot stays taken until the flush.
 */
static bool
relay_queue_client(struct worker *w, struct turn_alloc *a, unsigned int k,
    size_t len, int chan, const struct sockaddr *peer)
{
	bool		 stream = a->transport == TURN_TRANSPORT_TCP;
	struct msghdr	*h;
	uint8_t		*start;

	start = turn_frame_peer_data(&w->turn, w->ptc_buf[k] + TURN_HEADROOM,
	    len, chan, peer, stream, &len);
	if (stream) {
		(void)conn_send((struct conn *)a->listener, start, len);
		return false;
	}
	/* The slot keeps its own copy: a may be gone by the flush. */
	memcpy(&w->ptc_addr[k], &a->client, addr_len(&a->client.sa));
	w->ptc_iov[k].iov_base = start;
	w->ptc_iov[k].iov_len = len;
	h = &w->ptc_msgs[w->nptc].msg_hdr;
	memset(h, 0, sizeof(*h));
	h->msg_name = &w->ptc_addr[k];
	h->msg_namelen = addr_len(&a->client.sa);
	h->msg_iov = &w->ptc_iov[k];
	h->msg_iovlen = 1;
	w->ptc_fd[w->nptc++] = ((struct net_udp *)a->listener)->fd;
	return true;
}

static void
relay_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct turn_relay	*rl = arg;
	struct turn_alloc	*a = rl->alloc;
	struct worker		*w = rl->worker;
	struct msghdr		*h;
	unsigned int		 k, room;
	int			 i, got, chan;

	if (a->transport == TURN_TRANSPORT_TCP) {
		relay_stream_read(w, rl, fd);
		return;
	}
	worker_clock(w);
	if (NET_PTC_SLOTS - w->nptc_slots < NET_UDP_BATCH)
		relay_flush_clients(w);
	room = NET_PTC_SLOTS - w->nptc_slots;
	room = room < NET_UDP_BATCH ? room : NET_UDP_BATCH;
	for (i = 0; i < (int)room; i++) {
		k = w->nptc_slots + (unsigned int)i;
		w->ptc_iov[k].iov_base = w->ptc_buf[k] + TURN_HEADROOM;
		w->ptc_iov[k].iov_len = RELAY_PAYLOAD_MAX;
		h = &w->ptc_rx[i].msg_hdr;
		memset(h, 0, sizeof(*h));
		h->msg_name = &w->ptc_addr[k];
		h->msg_namelen = sizeof(w->ptc_addr[k]);
		h->msg_iov = &w->ptc_iov[k];
		h->msg_iovlen = 1;
	}
	got = recvmmsg(fd, w->ptc_rx, room, MSG_DONTWAIT, NULL);
	for (i = 0; i < got; i++) {
		struct sockaddr	*peer;

		k = w->nptc_slots + (unsigned int)i;
		peer = (struct sockaddr *)&w->ptc_addr[k];
		if (w->ptc_rx[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		if ((chan = relay_peer_in(w, rl, peer)) == -1)
			continue;
		relay_queue_client(w, a, k, w->ptc_rx[i].msg_len, chan, peer);
	}
	if (got > 0)
		w->nptc_slots += (unsigned int)got;
}

/*
 * Relay to relay on one worker: the datagram is handed to the receiving
 * relay's client here, after the same permission check and in the same
 * framing as if it had crossed the network, which saves a send, a receive
 * and a wake-up. Behind a NAT that does not hairpin, it is also what lets
 * two relayed clients of this server reach each other at all. Returns
 * false when the datagram is to go through the network.
 */
static bool
relay_hairpin(struct worker *w, const struct turn_relay *from,
    const struct sockaddr *peer, const uint8_t *data, size_t len)
{
	const struct sockaddr	*src;
	struct turn_relay	*to;
	int			 chan;

	to = turn_server_hairpin(&w->turn, from, peer, &src, &chan);
	if (to == NULL)
		return false;
	/* Too long for the receiving side's buffer: dropped there too. */
	if (chan == -1 || len > RELAY_PAYLOAD_MAX)
		return true;
	if (w->nptc_slots == NET_PTC_SLOTS)
		relay_flush_clients(w);
	memcpy(w->ptc_buf[w->nptc_slots] + TURN_HEADROOM, data, len);
	if (relay_queue_client(w, to->alloc, w->nptc_slots, len, chan, src))
		w->nptc_slots++;
	return true;
}

/* Send what relay_read_cb() queued for clients. */
void
relay_flush_clients(struct worker *w)
{
	relay_send_by_fd(w->ptc_msgs, w->ptc_fd, w->nptc);
	w->nptc = w->nptc_slots = 0;
}

static int
relay_open(void *arg, struct turn_relay *rl, bool dont_fragment)
{
	struct worker		*w = arg;
	const struct config	*cfg = w->shared->cfg;
	int			 fd, one = 1, pmtu, saved;

	fd = socket(rl->addr.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (rl->addr.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (cfg->relay_device != NULL && setsockopt(fd, SOL_SOCKET,
	    SO_BINDTODEVICE, cfg->relay_device,
	    (socklen_t)strlen(cfg->relay_device)) == -1)
		goto fail;
	if (dont_fragment) {
		/* RFC 8656 §7.2: DONT-FRAGMENT sets DF on the way to peers. */
		pmtu = IP_PMTUDISC_DO;
		if (rl->addr.sa.sa_family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu,
			    sizeof(pmtu));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu,
			    sizeof(pmtu));
	}
	if (bind(fd, &rl->addr.sa, addr_len(&rl->addr.sa)) == -1)
		goto fail;
	rl->worker = w;
	rl->io = event_new(w->base, fd, EV_READ | EV_PERSIST, relay_read_cb,
	    rl);
	if (rl->io == NULL || event_add(rl->io, NULL) == -1)
		goto fail;
	rl->fd = fd;
	return 0;
fail:
	saved = errno;
	if (rl->io != NULL)
		event_free(rl->io);
	rl->io = NULL;
	close(fd);
	errno = saved;
	return -1;
}

static void
relay_close(void *arg, struct turn_relay *rl)
{
	if (rl->io != NULL)
		event_free(rl->io);
	rl->io = NULL;
	if (rl->fd != -1)
		close(rl->fd);
	rl->fd = -1;
}

static void
relay_send(void *arg, struct turn_relay *rl, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	struct worker	*w = arg;
	union addr_sa	 bound;

	if (relay_hairpin(w, rl, peer, data, len))
		return;
	peer = turn_server_peer_out(&w->turn, peer, &bound);
	/* Send indications are rare next to ChannelData: one sendto. */
	if (sendto(rl->fd, data, len, MSG_DONTWAIT, peer, addr_len(peer)) ==
	    -1)
		log_debug("relay sendto: %s", strerror(errno));
}

const struct turn_io relay_io = {
	.relay_open = relay_open,
	.relay_close = relay_close,
	.relay_send = relay_send,
};

/*
 * Queue ChannelData payload for peer, sent from rl's socket at the next
 * relay_flush(). data must stay valid until then (it points into the
 * worker's receive buffer).
 */
void
relay_queue(struct worker *w, struct turn_relay *rl,
    const struct sockaddr *peer, const uint8_t *data, size_t len)
{
	struct msghdr	*h;
	unsigned int	 i;

	if (relay_hairpin(w, rl, peer, data, len))
		return;
	if (w->nrtx == NET_UDP_BATCH)
		relay_flush(w);
	i = w->nrtx++;
	peer = turn_server_peer_out(&w->turn, peer, &w->rtx_addr[i]);
	w->rtx_iov[i].iov_base = (void *)data;
	w->rtx_iov[i].iov_len = len;
	h = &w->rtx_msgs[i].msg_hdr;
	memset(h, 0, sizeof(*h));
	h->msg_name = (void *)peer;
	h->msg_namelen = addr_len(peer);
	h->msg_iov = &w->rtx_iov[i];
	h->msg_iovlen = 1;
	w->rtx_fd[i] = rl->fd;
}

/* Send what relay_queue() queued for peers. */
void
relay_flush(struct worker *w)
{
	relay_send_by_fd(w->rtx_msgs, w->rtx_fd, w->nrtx);
	w->nrtx = 0;
}
