/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * UDP listeners. No bufferevents and no allocation per packet: datagrams
 * are read in batches with recvmmsg() into the worker's fixed buffers.
 * STUN messages are answered by the TURN core into the worker's transmit
 * buffers and the answers leave in one sendmmsg() per batch; ChannelData
 * is relayed to peers straight from the receive buffer, batched per relay
 * socket.
 */
#include <sys/socket.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "net_internal.h"
#include "stun_msg.h"
#include "turn_server.h"

/* Point the worker's receive batch at its buffers, from offset on. */
void
udp_rx_prepare(struct worker *w, size_t offset, size_t len)
{
	struct msghdr	*h;
	int		 i;

	for (i = 0; i < NET_UDP_BATCH; i++) {
		w->rx_iov[i].iov_base = w->rx_buf[i] + offset;
		w->rx_iov[i].iov_len = len;
		h = &w->rx_msgs[i].msg_hdr;
		memset(h, 0, sizeof(*h));
		h->msg_name = &w->rx_addr[i];
		h->msg_namelen = sizeof(w->rx_addr[i]);
		h->msg_iov = &w->rx_iov[i];
		h->msg_iovlen = 1;
	}
}

/* Send the first n queued answers; a full socket buffer drops the rest. */
static void
udp_tx_flush(struct net_udp *u, unsigned int n)
{
	udp_sendmmsg(u->fd, u->w->tx_msgs, n);
}

void
udp_sendmmsg(int fd, struct mmsghdr *msgs, unsigned int n)
{
	unsigned int	 sent = 0;
	int		 r;

	while (sent < n) {
		r = sendmmsg(fd, msgs + sent, n - sent, MSG_DONTWAIT);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug("udp sendmmsg: %s", strerror(errno));
			/* Skip the datagram that failed (e.g. unreachable). */
			sent++;
			continue;
		}
		sent += (unsigned int)r;
	}
}

/* ChannelData from a client (RFC 8656 §12.4): out through its relay. */
static void
udp_channel_data(struct net_udp *u, const uint8_t *pkt, size_t len,
    const struct sockaddr *client)
{
	struct worker		*w = u->w;
	const struct sockaddr	*peer;
	const uint8_t		*data;
	struct turn_relay	*rl;
	uint16_t		 chan, dlen;

	if (stun_channeldata_parse(pkt, len, &chan, &data, &dlen) == -1)
		return;
	rl = turn_server_channel_in(&w->turn, client, u, chan, &peer);
	if (rl != NULL)
		relay_queue(w, rl, peer, data, dlen);
}

/* Decide the answer to datagram i and queue it at slot n. */
static bool
udp_answer(struct net_udp *u, int i, unsigned int n)
{
	struct worker		*w = u->w;
	struct mmsghdr		*rx = &w->rx_msgs[i];
	struct sockaddr		*client = (struct sockaddr *)&w->rx_addr[i];
	struct turn_req		 req;
	struct msghdr		*h;
	ssize_t			 len;

	if ((rx->msg_hdr.msg_flags & MSG_TRUNC) || rx->msg_len < 4)
		return false;
	if (w->rx_buf[i][0] >= 0x40 && w->rx_buf[i][0] <= 0x7f) {
		udp_channel_data(u, w->rx_buf[i], rx->msg_len, client);
		return false;
	}
	/*
	 * Queued ChannelData points into allocation state that this
	 * message may change (a ChannelBind, a Refresh to 0): send it first.
	 */
	relay_flush(w);
	req.pkt = w->rx_buf[i];
	req.len = rx->msg_len;
	req.client = client;
	req.local = (struct sockaddr *)&u->local;
	req.listener = u;
	req.transport = TURN_TRANSPORT_UDP;
	len = turn_server_handle(&w->turn, &req, w->tx_buf[n], NET_UDP_BUFSZ);
	if (len <= 0)
		return false;
	w->tx_iov[n].iov_base = w->tx_buf[n];
	w->tx_iov[n].iov_len = (size_t)len;
	h = &w->tx_msgs[n].msg_hdr;
	memset(h, 0, sizeof(*h));
	h->msg_name = client;
	h->msg_namelen = rx->msg_hdr.msg_namelen;
	h->msg_iov = &w->tx_iov[n];
	h->msg_iovlen = 1;
	return true;
}

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_udp	*u = arg;
	struct worker	*w = u->w;
	unsigned int	 n;
	int		 i, got, round;

	worker_clock(w);
	for (round = 0; round < NET_UDP_ROUNDS; round++) {
		udp_rx_prepare(w, 0, NET_UDP_BUFSZ);
		got = recvmmsg(fd, w->rx_msgs, NET_UDP_BATCH, MSG_DONTWAIT,
		    NULL);
		if (got <= 0) {
			if (got == -1 && errno != EAGAIN &&
			    errno != EWOULDBLOCK && errno != EINTR)
				log_debug("udp recvmmsg: %s", strerror(errno));
			return;
		}
		n = 0;
		for (i = 0; i < got; i++)
			if (udp_answer(u, i, n))
				n++;
		relay_flush(w);
		if (n > 0)
			udp_tx_flush(u, n);
		if (got < NET_UDP_BATCH)
			return;
	}
}

int
udp_open(struct worker *w, struct net_udp *u,
    const struct sockaddr_storage *ss)
{
	const struct config	*cfg = w->shared->cfg;

	memset(u, 0, sizeof(*u));
	u->w = w;
	u->local = *ss;
	if ((u->fd = sock_udp_bind(ss, cfg->listening_device, w->id == 0)) ==
	    -1)
		return -1;
	u->ev = event_new(w->base, u->fd, EV_READ | EV_PERSIST, udp_read_cb,
	    u);
	if (u->ev == NULL || event_add(u->ev, NULL) == -1) {
		log_warnx("udp: cannot register socket");
		udp_close(u);
		return -1;
	}
	return 0;
}

void
udp_close(struct net_udp *u)
{
	if (u->ev != NULL)
		event_free(u->ev);
	u->ev = NULL;
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
}
