/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * TCP listeners and stream connections. Each worker accepts on its own
 * SO_REUSEPORT socket; a connection lives on the worker that accepted it.
 *
 * The first bytes decide what a connection speaks (sniffing), on every
 * TCP port alike: a TLS ClientHello (0x16) gets a TLS bufferevent and is
 * sniffed again once decrypted; STUN (first two bits 00) or ChannelData
 * (0x40-0x7F) is TURN over a stream (RFC 8656 §3.1: STUN length framing,
 * ChannelData padded to 4 bytes). Anything else is closed.
 *
 * Over TLS every message leaves in its own TLS record: it is added to the
 * output as its own buffer chain, which bufferevent_openssl writes with
 * one SSL_write each (clients such as turnutils_uclient read one message
 * per record).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "net_internal.h"
#include "sig_server.h"
#include "stun_msg.h"
#include "turn_server.h"
#include "xmalloc.h"

/* Seconds a new connection has to send its first byte. */
#define CONN_SNIFF_TIMEOUT	10
/* Message buffers kept for reuse per worker (TLS output). */
#define CONN_POOL_MAX		256

enum conn_kind {
	CONN_SNIFF,		/* nothing (decrypted) read yet */
	CONN_TURN,		/* STUN / ChannelData framing */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	uint32_t		 id;
	enum conn_kind		 kind;
	bool			 closing;
	bool			 tls;
	evutil_socket_t		 fd;		/* -1 once handed over */
	SSL			*ssl;
	struct event		*sniff;		/* waiting for the first byte */
	struct bufferevent	*bev;
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;
};

/* A pooled buffer holding one outgoing message (TLS). */
struct conn_msg {
	struct conn_msg		*next;
	struct worker		*w;
	uint8_t			 data[NET_UDP_BUFSZ];
};

static void	conn_close(struct conn *, const char *);
static void	conn_free(struct conn *);

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	conn_free(arg);
}

static void
conn_msg_done(const void *data, size_t len, void *arg)
{
	struct conn_msg	*m = arg;
	struct worker	*w = m->w;

	if (w->npool >= CONN_POOL_MAX) {
		free(m);
		return;
	}
	m->next = w->pool;
	w->pool = m;
	w->npool++;
}

/*
 * Queue one whole message for the client. Returns -1 when the client is
 * too far behind (its output passed the high mark) and the message was
 * dropped: the caller decides whether that is fatal.
 */
int
conn_send(struct conn *c, const uint8_t *data, size_t len)
{
	struct evbuffer	*out;
	struct conn_msg	*m;

	if (c->closing)
		return -1;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) >= NET_STREAM_OUT_HIGH)
		return -1;
	if (!c->tls || len > sizeof(m->data))
		return bufferevent_write(c->bev, data, len);
	if ((m = c->w->pool) != NULL) {
		c->w->pool = m->next;
		c->w->npool--;
	} else {
		m = xmalloc(sizeof(*m));
		m->w = c->w;
	}
	memcpy(m->data, data, len);
	if (evbuffer_add_reference(out, m->data, len, conn_msg_done, m) ==
	    -1) {
		conn_msg_done(m->data, len, m);
		return -1;
	}
	return 0;
}

/*
 * The bufferevent never owns the socket or the TLS session (no
 * BEV_OPT_CLOSE_ON_FREE): an HTTP connection is handed to the signaling
 * thread with both, and freed here only when still ours.
 */
static void
conn_free(struct conn *c)
{
	TAILQ_REMOVE(&c->w->conns, c, entry);
	if (c->sniff != NULL)
		event_free(c->sniff);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		evutil_closesocket(c->fd);
	free(c);
}

/*
 * An HTTP request on a TURN port (ws:// and https:// on 3478 or 443): the
 * socket, its TLS session and the bytes read so far go to the signaling
 * thread, and this connection is forgotten.
 */
static void
conn_handoff(struct conn *c, struct evbuffer *in)
{
	struct sigsrv	*sig = c->w->shared->sig;
	size_t		 len = evbuffer_get_length(in);
	uint8_t		*data = evbuffer_pullup(in, (ssize_t)len);

	log_verbose("conn=%08x %s handed to signaling", c->id,
	    c->tls ? "tls" : "tcp");
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	sigsrv_adopt(sig, c->fd, c->ssl, data, len, &c->peer, &c->local);
	evbuffer_drain(in, len);
	c->fd = -1;
	c->ssl = NULL;
	c->closing = true;
	if (event_base_once(c->w->base, -1, EV_TIMEOUT, conn_free_cb, c,
	    NULL) == -1)
		log_warnx("conn=%08x cannot schedule free", c->id);
}


/*
 * Stop all I/O on c, release its allocation, and free it once the current
 * callback has returned (STYLE.md: closing and freeing are separate).
 * Return at once after it.
 */
static void
conn_close(struct conn *c, const char *reason)
{
	char	peer[ADDR_STRLEN];

	if (c->closing)
		return;
	c->closing = true;
	if (c->sniff != NULL)
		event_del(c->sniff);
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	relay_flush(c->w);
	turn_server_drop(&c->w->turn, (struct sockaddr *)&c->peer, c);
	log_verbose("conn=%08x peer=%s %s close reason=%s", c->id,
	    addr_format((struct sockaddr *)&c->peer, true, peer,
	    sizeof(peer)), c->tls ? "tls" : "tcp", reason);
	if (event_base_once(c->w->base, -1, EV_TIMEOUT, conn_free_cb, c,
	    NULL) == -1)
		log_warnx("conn=%08x cannot schedule free", c->id);
}

/* One STUN message from the stream: answer it through the TURN core. */
static int
conn_stun(struct conn *c, const uint8_t *frame, size_t len)
{
	struct worker	*w = c->w;
	struct turn_req	 req;
	uint8_t		 out[NET_UDP_BUFSZ];
	ssize_t		 n;

	relay_flush(w);		/* see udp_answer() */
	req.pkt = frame;
	req.len = len;
	req.client = (struct sockaddr *)&c->peer;
	req.local = (struct sockaddr *)&c->local;
	req.listener = c;
	req.transport = TURN_TRANSPORT_TCP;
	if ((n = turn_server_handle(&w->turn, &req, out, sizeof(out))) < 0)
		return -1;
	if (n > 0 && conn_send(c, out, (size_t)n) == -1)
		return -1;
	return 0;
}

/* ChannelData from the stream: out through the allocation's relay. */
static void
conn_channel_data(struct conn *c, const uint8_t *frame, size_t len)
{
	const struct sockaddr	*peer;
	const uint8_t		*data;
	struct turn_relay	*rl;
	uint16_t		 chan, dlen;

	if (stun_channeldata_parse(frame, len, &chan, &data, &dlen) == -1)
		return;
	rl = turn_server_channel_in(&c->w->turn, (struct sockaddr *)&c->peer,
	    c, chan, &peer);
	if (rl == NULL)
		return;
	/* data lives in the input buffer, drained after this frame. */
	relay_queue(c->w, rl, peer, data, dlen);
	relay_flush(c->w);
}

/*
 * Backpressure: a client that sends requests but does not read the answers
 * stops being read once its output passes the high mark, until it drains.
 */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (!c->closing && !(bufferevent_get_enabled(bev) & EV_READ)) {
		bufferevent_enable(bev, EV_READ);
		bufferevent_trigger(bev, EV_READ, 0);
	}
}

static bool
conn_output_full(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <
	    NET_STREAM_OUT_HIGH)
		return false;
	bufferevent_disable(c->bev, EV_READ);
	return true;
}

/* Handle the frame of need bytes at the head of in; false to stop. */
static bool
conn_frame(struct conn *c, struct evbuffer *in, size_t need)
{
	uint8_t	*frame;

	if ((frame = evbuffer_pullup(in, (ssize_t)need)) == NULL) {
		conn_close(c, "out-of-memory");
		return false;
	}
	if (frame[0] >= 0x40)
		conn_channel_data(c, frame, need);
	else if (conn_stun(c, frame, need) == -1) {
		evbuffer_drain(in, need);
		conn_close(c, "bad-message");
		return false;
	}
	evbuffer_drain(in, need);
	return true;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		 head[4];
	size_t		 avail;
	ssize_t		 need;

	worker_clock(c->w);
	while (!c->closing && !conn_output_full(c) &&
	    (avail = evbuffer_get_length(in)) > 0) {
		if (c->kind == CONN_SNIFF) {
			evbuffer_copyout(in, head, 1);
			/* "GET ", "HEAD ", ...: HTTP for the signaling. */
			if (head[0] >= 'A' && head[0] <= 'Z') {
				conn_handoff(c, in);
				return;
			}
			if (!(head[0] < 0x04 || (head[0] >= 0x40 &&
			    head[0] <= 0x7f))) {
				conn_close(c, "unknown-protocol");
				return;
			}
			c->kind = CONN_TURN;
		}
		if (avail < sizeof(head))
			break;
		evbuffer_copyout(in, head, sizeof(head));
		need = stun_frame_len(head, sizeof(head));
		if (need < 0 || need > NET_STREAM_MAX) {
			conn_close(c, "bad-frame");
			return;
		}
		if ((size_t)need > avail || !conn_frame(c, in, (size_t)need))
			break;
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		/* Idle, but an allocation keeps a TURN connection alive. */
		worker_clock(c->w);
		if (turn_server_has_alloc(&c->w->turn,
		    (struct sockaddr *)&c->peer, c)) {
			bufferevent_enable(bev, EV_READ);
			return;
		}
		conn_close(c, "idle");
	} else if (what & BEV_EVENT_EOF)
		conn_close(c, "eof");
	else if (what & BEV_EVENT_ERROR)
		conn_close(c, c->tls ? "tls-error" : "error");
}

/* Wrap the socket in a plain or a TLS bufferevent and start reading. */
static int
conn_start(struct conn *c, bool tls)
{
	struct worker	*w = c->w;
	struct timeval	 idle = { NET_TCP_IDLE_TIMEOUT, 0 };
	SSL		*ssl;

	if (tls) {
		if ((ssl = SSL_new(w->shared->tls)) == NULL)
			return -1;
		c->ssl = ssl;
		c->bev = bufferevent_openssl_socket_new(w->base, c->fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, 0);
		if (c->bev == NULL)
			return -1;
		/* Closing with the socket is enough; no close_notify wait. */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->tls = true;
	} else if ((c->bev = bufferevent_socket_new(w->base, c->fd, 0)) ==
	    NULL)
		return -1;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_WRITE, NET_STREAM_OUT_LOW, 0);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

/* The first byte arrived (or the sniff timer fired): TLS or not. */
/* The first byte is in: TLS, or STUN/ChannelData, or HTTP. */
static void
conn_sniffed(struct conn *c, uint8_t first)
{
	if (first == 0x16 && c->w->shared->tls == NULL) {
		conn_close(c, "tls-not-configured");
		return;
	}
	if (conn_start(c, first == 0x16) == -1)
		conn_close(c, "setup-failed");
}

static void
conn_sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	const char	*why;
	uint8_t		 first;
	int		 rc;

	if (what & EV_TIMEOUT) {
		conn_close(c, "sniff-timeout");
		return;
	}
	if ((rc = sock_peek_first(fd, &first, &why)) <= 0) {
		if (rc == -1)
			conn_close(c, why);
		return;
	}
	event_free(c->sniff);
	c->sniff = NULL;
	conn_sniffed(c, first);
}

static void
conn_accept_cb(int fd, struct sockaddr *sa, int salen, void *arg)
{
	struct net_tcp	*t = arg;
	struct worker	*w = t->w;
	struct conn	*c;
	struct timeval	 tv = { CONN_SNIFF_TIMEOUT, 0 };
	socklen_t	 len = sizeof(c->local);
	char		 peer[ADDR_STRLEN];
	const char	*why;
	uint8_t		 first;
	int		 rc;

	c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->fd = fd;
	c->id = ((uint32_t)w->id << 24) | (w->next_conn_id++ & 0xffffff);
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ?
	    (size_t)salen : sizeof(c->peer));
	addr_unmap_v4(&c->peer);
	if (getsockname(fd, (struct sockaddr *)&c->local, &len) == -1)
		c->local = t->local;
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	/* TCP_NODELAY: inherited from the listener (sock_tcp_listen). */
	log_verbose("conn=%08x peer=%s tcp accept", c->id,
	    addr_format(sa, true, peer, sizeof(peer)));
	/* Clients speak first: their first bytes are often here already. */
	if ((rc = sock_peek_first(fd, &first, &why)) != 0) {
		if (rc == -1)
			conn_close(c, why);
		else
			conn_sniffed(c, first);
		return;
	}
	c->sniff = event_new(w->base, fd, EV_READ | EV_PERSIST, conn_sniff_cb,
	    c);
	if (c->sniff == NULL || event_add(c->sniff, &tv) == -1)
		conn_close(c, "setup-failed");
}

int
conn_listen(struct worker *w, struct net_tcp *t,
    const struct sockaddr_storage *ss)
{
	int	fd;

	memset(t, 0, sizeof(*t));
	t->w = w;
	t->local = *ss;
	if ((fd = sock_tcp_listen(ss, w->shared->cfg->listening_device,
	    w->id == 0)) == -1)
		return -1;
	if (sock_listener_open(&t->listener, w->base, fd, conn_accept_cb, t,
	    "tcp") == -1) {
		log_warnx("tcp: cannot register listener");
		return -1;
	}
	return 0;
}

void
conn_unlisten(struct net_tcp *t)
{
	sock_listener_close(&t->listener);
}

/* At shutdown, after the worker's loop has stopped. */
void
conn_free_all(struct worker *w)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&w->conns)) != NULL) {
		if (!c->closing)
			turn_server_drop(&w->turn, (struct sockaddr *)&c->peer,
			    c);
		conn_free(c);
	}
}

/*
 * After the worker's event_base is freed: bufferevents are finalized late
 * and return their queued TLS messages to the pool only then.
 */
void
conn_pool_free(struct worker *w)
{
	struct conn_msg	*m;

	while ((m = w->pool) != NULL) {
		w->pool = m->next;
		free(m);
	}
	w->npool = 0;
}
