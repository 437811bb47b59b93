/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * TCP listeners and connections. Each worker accepts on its own
 * SO_REUSEPORT socket; a connection lives on the worker that accepted it.
 * The first bytes of a connection decide what it speaks (sniffing): STUN or
 * ChannelData framing today; TLS and HTTP are recognised here as the
 * project grows. Frames are cut by stun_frame_len() and answered by the
 * pure STUN core.
 */
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "net_internal.h"
#include "stun_msg.h"
#include "stun_server.h"
#include "xmalloc.h"

enum conn_kind {
	CONN_SNIFF,		/* nothing read yet */
	CONN_STUN,		/* STUN / ChannelData framing */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	uint32_t		 id;
	enum conn_kind		 kind;
	bool			 closing;
	struct bufferevent	*bev;
	struct sockaddr_storage	 peer;
	struct sockaddr_storage	 local;
};

static void	conn_close(struct conn *, const char *);

/* What the first byte of a stream says it carries. */
static enum conn_kind
conn_sniff(uint8_t first, bool *known)
{
	*known = true;
	if (first < 0x04 || (first >= 0x40 && first <= 0x7f))
		return CONN_STUN;	/* STUN header or ChannelData */
	*known = false;
	return CONN_SNIFF;
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	TAILQ_REMOVE(&c->w->conns, c, entry);
	bufferevent_free(c->bev);
	free(c);
}

/*
 * Stop all I/O on c and free it once the current callback has returned
 * (STYLE.md: closing and freeing are separate). Return at once after it.
 */
static void
conn_close(struct conn *c, const char *reason)
{
	char	peer[ADDR_STRLEN];

	if (c->closing)
		return;
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	log_verbose("conn=%08x peer=%s tcp close reason=%s", c->id,
	    addr_format((struct sockaddr *)&c->peer, true, peer,
	    sizeof(peer)), reason);
	if (event_base_once(c->w->base, -1, EV_TIMEOUT, conn_free_cb, c,
	    NULL) == -1)
		log_warnx("conn=%08x cannot schedule free", c->id);
}

/* Answer one whole frame of len bytes at the head of the input buffer. */
static int
conn_stun_frame(struct conn *c, struct evbuffer *in, size_t len)
{
	const struct net_shared	*sh = c->w->shared;
	uint8_t			 out[NET_UDP_BUFSZ];
	uint8_t			*frame;
	ssize_t			 n;

	if ((frame = evbuffer_pullup(in, (ssize_t)len)) == NULL)
		return -1;
	if (frame[0] >= 0x40) {
		/* ChannelData: no channels exist yet; drop it. */
		evbuffer_drain(in, len);
		return 0;
	}
	/* TURN over streams is not served yet: STUN Binding only. */
	n = sh->cfg->no_stun ? 0 : stun_server_handle(&sh->turn.stun, frame,
	    len, (struct sockaddr *)&c->peer, out, sizeof(out));
	evbuffer_drain(in, len);
	if (n < 0)
		return -1;
	if (n > 0 && bufferevent_write(c->bev, out, (size_t)n) == -1)
		return -1;
	return 0;
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

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		 head[4];
	size_t		 avail;
	ssize_t		 need;
	bool		 known;

	while (!c->closing && !conn_output_full(c) &&
	    (avail = evbuffer_get_length(in)) > 0) {
		if (c->kind == CONN_SNIFF) {
			evbuffer_copyout(in, head, 1);
			c->kind = conn_sniff(head[0], &known);
			if (!known) {
				conn_close(c, "unknown-protocol");
				return;
			}
		}
		if (avail < sizeof(head))
			return;
		evbuffer_copyout(in, head, sizeof(head));
		need = stun_frame_len(head, sizeof(head));
		if (need < 0 || need > NET_STREAM_MAX) {
			conn_close(c, "bad-frame");
			return;
		}
		if ((size_t)need > avail)
			return;		/* wait for the rest */
		if (conn_stun_frame(c, in, (size_t)need) == -1) {
			conn_close(c, "bad-message");
			return;
		}
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_EOF)
		conn_close(c, "eof");
	else if (what & BEV_EVENT_TIMEOUT)
		conn_close(c, "idle");
	else if (what & BEV_EVENT_ERROR)
		conn_close(c, "error");
}

static void
conn_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct net_tcp	*t = arg;
	struct worker	*w = t->w;
	struct conn	*c;
	struct timeval	 idle = { NET_TCP_IDLE_TIMEOUT, 0 };
	socklen_t	 len = sizeof(c->local);
	char		 peer[ADDR_STRLEN];

	c = xcalloc(1, sizeof(*c));
	c->w = w;
	c->id = ((uint32_t)w->id << 24) | (w->next_conn_id++ & 0xffffff);
	memcpy(&c->peer, sa, (size_t)salen < sizeof(c->peer) ?
	    (size_t)salen : sizeof(c->peer));
	if (getsockname(fd, (struct sockaddr *)&c->local, &len) == -1)
		c->local = t->local;
	c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_setwatermark(c->bev, EV_WRITE, NET_STREAM_OUT_LOW, 0);
	bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_verbose("conn=%08x peer=%s tcp accept", c->id,
	    addr_format(sa, true, peer, sizeof(peer)));
}

static void
conn_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	/* EMFILE and friends: the listener retries on the next event. */
	log_warn("tcp accept");
}

int
conn_listen(struct worker *w, struct net_tcp *t,
    const struct sockaddr_storage *ss)
{
	int	fd;

	memset(t, 0, sizeof(*t));
	t->w = w;
	t->local = *ss;
	if ((fd = sock_tcp_listen(ss, w->shared->cfg->listening_device)) ==
	    -1)
		return -1;
	t->lev = evconnlistener_new(w->base, conn_accept_cb, t,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (t->lev == NULL) {
		log_warnx("tcp: cannot register listener");
		evutil_closesocket(fd);
		return -1;
	}
	evconnlistener_set_error_cb(t->lev, conn_accept_error_cb);
	return 0;
}

void
conn_unlisten(struct net_tcp *t)
{
	if (t->lev != NULL)
		evconnlistener_free(t->lev);
	t->lev = NULL;
}

/* At shutdown, after the worker's loop has stopped. */
void
conn_free_all(struct worker *w)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&w->conns)) != NULL) {
		TAILQ_REMOVE(&w->conns, c, entry);
		bufferevent_free(c->bev);
		free(c);
	}
}
