/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Connections of the signaling thread. A connection starts in HTTP (its
 * requests are routed by sig_route.c); after an upgrade it is a WebSocket
 * whose text messages go to the room logic (src/signal/). The pure parsers
 * (http_parse.c, ws_*.c) decide; this file moves bytes, keeps the timers
 * (handshake deadline, pings, idle timeout) and bounds each client's
 * output.
 */
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "http_parse.h"
#include "log.h"
#include "sig.h"
#include "net_internal.h"
#include "sig_internal.h"
#include "ws.h"
#include "xmalloc.h"

static void	sconn_read_cb(struct bufferevent *, void *);
static void	sconn_timer_cb(evutil_socket_t, short, void *);
static void	sconn_arm(struct sconn *);

uint64_t
sconn_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sconn_free(struct sconn *c)
{
	struct sigsrv	*srv = c->srv;

	if (c->sig != NULL)
		sig_peer_free(srv->hub, c->sig);
	if (c->dirty)
		TAILQ_REMOVE(&srv->dirty, c, dirty_entry);
	if (c->refusing)
		srv->nrefusing--;
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->nconns--;
	if (c->sniff != NULL)
		event_free(c->sniff);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);
	ws_reader_clear(&c->reader);
	free(c);
}

static void	sconn_flush(struct sigsrv *);
static void	sconn_flush_one(struct sconn *);

static void
sconn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	struct sigsrv	*srv = c->srv;

	srv->batching = true;		/* the room hears of the leave */
	sconn_free(c);
	sconn_flush(srv);
}

/*
 * Free after the current callback, without flushing. The peer leaves its
 * room only then (in sconn_free), so room logic that is sending to many
 * connections never sees one vanish in the middle of its loop.
 */
static void
sconn_drop(struct sconn *c, const char *reason)
{
	char	peer[ADDR_STRLEN];

	if (c->freeing)
		return;
	c->freeing = true;
	log_verbose("conn=s%06x peer=%s signal close reason=%s", c->id,
	    addr_format(&c->peer.sa, true, peer,
	    sizeof(peer)), reason);
	c->state = SCONN_CLOSING;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->timer != NULL)
		event_del(c->timer);
	if (event_base_once(c->srv->base, -1, EV_TIMEOUT, sconn_free_cb, c,
	    NULL) == -1)
		log_warnx("conn=s%06x cannot schedule free", c->id);
}

static void
sconn_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct sconn	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		sconn_drop(c, "closed");
}

/* Close once the output is written (bounded by the deadline timer). */
static void
sconn_close_after_flush(struct sconn *c, const char *reason)
{
	struct timeval	tv = { 2, 0 };
	char		peer[ADDR_STRLEN];

	if (c->state == SCONN_CLOSING)
		return;
	log_verbose("conn=s%06x peer=%s signal closing reason=%s", c->id,
	    addr_format(&c->peer.sa, true, peer,
	    sizeof(peer)), reason);
	c->state = SCONN_CLOSING;
	if (c->ssl == NULL && !c->writing) {
		/* Most often the socket takes it all at once: no write event. */
		sconn_flush_one(c);
		if (!c->writing) {
			sconn_drop(c, "closed");
			return;
		}
	}
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, sconn_flushed_cb, NULL, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
	c->writing = true;
	event_add(c->timer, &tv);
	sconn_flushed_cb(c->bev, c);
}

/* Output --------------------------------------------------------------- */

/*
 * The output of a plain connection is written here, not by the
 * bufferevent: once, at the end of the read that produced it, with one
 * write(2) for everything queued to that connection. The bufferevent
 * would first add a write event (epoll_ctl), write on the next turn of
 * the loop, then delete the event again: three system calls and a turn
 * of latency per forwarded message. Only when the socket takes less than
 * all of it does the bufferevent take over, until the output is empty.
 * TLS connections are left to their bufferevent throughout.
 */
void
sconn_wrote(struct sconn *c)
{
	struct sigsrv	*srv = c->srv;

	if (c->ssl != NULL || c->writing || c->freeing)
		return;
	if (!c->dirty) {
		c->dirty = true;
		TAILQ_INSERT_TAIL(&srv->dirty, c, dirty_entry);
	}
	if (!srv->batching)
		sconn_flush(srv);
}

static void
sconn_flush_one(struct sconn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	int		 n;

	if (c->freeing || c->writing || evbuffer_get_length(out) == 0)
		return;
	/* The bufferevent keeps its output's start frozen but for itself. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, c->fd);
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EINTR) {
		sconn_drop(c, "error");
		return;
	}
	if (evbuffer_get_length(out) > 0) {
		c->writing = true;
		bufferevent_enable(c->bev, EV_WRITE);
	}
}

/* Write what the reads queued; called with batching on, turns it off. */
static void
sconn_flush(struct sigsrv *srv)
{
	struct sconn	*c;

	while ((c = TAILQ_FIRST(&srv->dirty)) != NULL) {
		TAILQ_REMOVE(&srv->dirty, c, dirty_entry);
		c->dirty = false;
		sconn_flush_one(c);
	}
	srv->batching = false;
}

/* The bufferevent wrote the rest: our writes again. */
static void
sconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct sconn	*c = arg;

	if (c->ssl == NULL && c->writing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		bufferevent_disable(bev, EV_WRITE);
		c->writing = false;
	}
}

static bool
sconn_output_ok(struct sconn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <
	    SIG_OUT_HIGH)
		return true;
	sconn_drop(c, "client-not-reading");
	return false;
}

void
sconn_frame(struct sconn *c, uint8_t opcode, const void *data, size_t len)
{
	uint8_t	head[10];
	size_t	n;

	if (c->state != SCONN_WS || !sconn_output_ok(c))
		return;
	n = ws_frame_head_build(head, opcode, true, len);
	bufferevent_write(c->bev, head, n);
	bufferevent_write(c->bev, data, len);
	sconn_wrote(c);
}

static void
sconn_ws_close(struct sconn *c, uint16_t code, const char *reason)
{
	uint8_t	body[WS_MAX_CONTROL];
	size_t	n = ws_close_body(body, code, reason);
	char	why[32];

	sconn_frame(c, WS_OP_CLOSE, body, n);
	snprintf(why, sizeof(why), "ws-%u", code);
	if (c->state != SCONN_CLOSING)
		sconn_close_after_flush(c, why);
}

/* struct sig_ops for the room logic: conn is a struct sconn. */
static void
sconn_sig_send(void *conn, const char *text, size_t len)
{
	sconn_frame(conn, WS_OP_TEXT, text, len);
}

static void
sconn_sig_close(void *conn, uint16_t code, const char *reason)
{
	/*
	 * A replaced connection: the room logic has already taken its peer
	 * out of the room; sconn_free() releases the peer without a leave.
	 */
	sconn_ws_close(conn, code, reason);
}

static void
sconn_sig_revoke(void *arg, const char *username)
{
	struct sigsrv	*srv = arg;

	auth_revoke(srv->auth, username, sconn_now_ms() / 1000);
	srv->revoke(srv->revoke_arg, username);
}

const struct sig_ops sconn_sig_ops = {
	.send = sconn_sig_send,
	.close = sconn_sig_close,
	.revoke = sconn_sig_revoke,
};

/* The response head, with a Date; false if it does not fit. */
static bool
sconn_http_head(struct sconn *c, int status, const char *type, size_t len,
    bool keep_alive, const char *extra)
{
	char	head[1024], date[64], all[768];
	ssize_t	n;

	if (http_build_date(date, sizeof(date), time(NULL)) < 0)
		date[0] = '\0';
	snprintf(all, sizeof(all), "%s%s", date, extra ? extra : "");
	n = http_build_response_head(head, sizeof(head), status, type,
	    (ssize_t)len, keep_alive, all);
	if (n < 0)
		return false;
	bufferevent_write(c->bev, head, (size_t)n);
	return true;
}

void
sconn_http_answer(struct sconn *c, int status, const char *type,
    const char *body, size_t len, bool keep_alive, const char *extra,
    bool head_only)
{
	if (!sconn_http_head(c, status, type, len, keep_alive, extra))
		return;
	if (!head_only && len > 0)
		bufferevent_write(c->bev, body, len);
	sconn_wrote(c);
	if (!keep_alive)
		sconn_close_after_flush(c, "http-close");
}

/* 200 with len bytes of the open file fd, which is taken over. */
void
sconn_http_answer_file(struct sconn *c, const char *type, int fd,
    size_t len, bool keep_alive, const char *extra, bool head_only)
{
	if (!sconn_http_head(c, 200, type, len, keep_alive, extra) ||
	    head_only || len == 0 || evbuffer_add_file(bufferevent_get_output(
	    c->bev), fd, 0, (ev_off_t)len) == -1)
		close(fd);		/* else the buffer owns it now */
	sconn_wrote(c);
	if (!keep_alive)
		sconn_close_after_flush(c, "http-close");
}

void
sconn_http_error(struct sconn *c, int status, const char *extra,
    bool keep_alive)
{
	char	out[1024];
	ssize_t	n;

	if ((n = http_build_error(out, sizeof(out), status, keep_alive,
	    extra)) > 0)
		bufferevent_write(c->bev, out, (size_t)n);
	sconn_wrote(c);
	if (!keep_alive)
		sconn_close_after_flush(c, "http-error");
}

/* One request head (and its body, ignored) from the input; false: wait. */
static bool
sconn_http_read(struct sconn *c, struct evbuffer *in)
{
	struct http_request	 req;
	size_t			 avail = evbuffer_get_length(in), want;
	ssize_t			 n;
	char			*buf;

	want = avail < HTTP_MAX_HEAD ? avail : HTTP_MAX_HEAD;
	buf = (char *)evbuffer_pullup(in, (ssize_t)want);
	n = http_parse_request(buf, want, &req);
	if (n == HTTP_INCOMPLETE) {
		if (avail >= HTTP_MAX_HEAD)
			sconn_http_error(c, 431, NULL, false);
		return false;
	}
	if (n == HTTP_ERROR) {
		sconn_http_error(c, req.status, NULL, false);
		return false;
	}
	if (req.chunked || req.content_length > SIG_MAX_BODY) {
		sconn_http_error(c, 413, NULL, false);
		return false;
	}
	if (avail < (size_t)n + req.content_length)
		return false;		/* the body is still coming */
	sconn_route(c, &req);
	/* req points into the buffer: drain only once it is answered. */
	evbuffer_drain(in, (size_t)n + req.content_length);
	/* Go on: more requests, or frames sent right behind the upgrade. */
	return c->state == SCONN_HTTP || c->state == SCONN_WS;
}

/* WebSocket --------------------------------------------------------------- */

static void
sconn_ws_event(struct sconn *c, const struct ws_event *ev)
{
	switch (ev->type) {
	case WS_EV_TEXT:
		if (c->sig != NULL)
			sig_peer_text(c->srv->hub, c->sig,
			    (const char *)ev->data, ev->len, sconn_now_ms());
		break;
	case WS_EV_BINARY:
		sconn_ws_close(c, WS_CLOSE_UNSUPPORTED, "text frames only");
		break;
	case WS_EV_PING:
		sconn_frame(c, WS_OP_PONG, ev->data, ev->len);
		break;
	case WS_EV_CLOSE:
		/* Echo the code (RFC 6455 §5.5.1), or none for none. */
		sconn_ws_close(c, ev->close_code == WS_CLOSE_NO_STATUS ?
		    WS_CLOSE_NORMAL : ev->close_code, "");
		break;
	default:
		break;
	}
}

/* One whole frame from the input; false when it must wait or stop. */
static bool
sconn_ws_read(struct sconn *c, struct evbuffer *in)
{
	struct ws_frame	 f;
	struct ws_event	 ev;
	uint8_t		 head[WS_MAX_HEAD], *buf;
	size_t		 avail = evbuffer_get_length(in), need;
	uint16_t	 code = 0;
	ssize_t		 n;

	n = evbuffer_copyout(in, head, sizeof(head));
	if ((n = ws_frame_parse(head, (size_t)n, &f, &code)) == 0)
		return false;
	need = n < 0 ? (size_t)evbuffer_get_length(in) :
	    (size_t)n + (f.len > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)f.len);
	if (n > 0 && need > avail) {
		/* Let the reader judge the header (1009) before waiting. */
		buf = evbuffer_pullup(in, n);
		if (ws_read(&c->reader, buf, (size_t)n, &ev) < 0) {
			sconn_ws_close(c, ev.close_code, "");
			return false;
		}
		return false;
	}
	buf = evbuffer_pullup(in, (ssize_t)need);
	if ((n = ws_read(&c->reader, buf, need, &ev)) < 0) {
		sconn_ws_close(c, ev.close_code, "");
		return false;
	}
	if (n == 0)
		return false;
	sconn_ws_event(c, &ev);
	evbuffer_drain(in, (size_t)n);
	return c->state == SCONN_WS;
}

static void
sconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct sconn	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	enum sconn_state	 before = c->state;

	c->srv->batching = true;
	while (evbuffer_get_length(in) > 0) {
		if (c->state == SCONN_HTTP) {
			if (!sconn_http_read(c, in))
				break;
			if (c->state == SCONN_HTTP)
				sconn_arm(c);	/* each request: a deadline */
		} else if (c->state == SCONN_WS) {
			if (!sconn_ws_read(c, in))
				break;
		} else
			break;
	}
	if (before != SCONN_WS && c->state == SCONN_WS)
		sconn_arm(c);		/* upgraded: pings from now on */
	sconn_flush(c->srv);
}

static void
sconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sconn	*c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		sconn_drop(c, "idle");
	else if (what & BEV_EVENT_EOF)
		sconn_drop(c, "eof");
	else if (what & BEV_EVENT_ERROR)
		sconn_drop(c, "error");
}

/*
 * The connection's one timer: in HTTP the deadline for a request (and the
 * TLS handshake before it); in WebSocket the ping interval; while closing,
 * the end of the wait for the output to drain.
 */
static void
sconn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	struct timeval	 tv = { c->srv->cfg->signal_ping_interval, 0 };

	switch (c->state) {
	case SCONN_WS:
		sconn_frame(c, WS_OP_PING, NULL, 0);
		if (tv.tv_sec > 0)
			event_add(c->timer, &tv);
		break;
	case SCONN_CLOSING:
		sconn_drop(c, "flush-timeout");
		break;
	default:
		sconn_drop(c, "handshake-timeout");
		break;
	}
}

/* Re-arm the timer for the state the connection is now in. */
static void
sconn_arm(struct sconn *c)
{
	struct timeval	tv = { SIG_HANDSHAKE_TIMEOUT, 0 };

	if (c->state == SCONN_WS)
		tv.tv_sec = c->srv->cfg->signal_ping_interval;
	if (c->state == SCONN_CLOSING || tv.tv_sec == 0)
		return;
	event_add(c->timer, &tv);
}

/* Set up the bufferevent: TLS (accepting, or already open) or plain. */
static int
sconn_start(struct sconn *c, bool tls, bool tls_open)
{
	struct sigsrv	*srv = c->srv;
	struct timeval	 idle = { srv->cfg->signal_idle_timeout, 0 };

	if (tls && c->ssl == NULL && (c->ssl = SSL_new(srv->tls)) == NULL)
		return -1;
	if (tls)
		c->bev = bufferevent_openssl_socket_new(srv->base, c->fd,
		    c->ssl, tls_open ? BUFFEREVENT_SSL_OPEN :
		    BUFFEREVENT_SSL_ACCEPTING, 0);
	else
		c->bev = bufferevent_socket_new(srv->base, c->fd, 0);
	if (c->bev == NULL)
		return -1;
	if (tls)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	c->state = SCONN_HTTP;
	bufferevent_setcb(c->bev, sconn_read_cb, sconn_write_cb,
	    sconn_event_cb, c);
	if (idle.tv_sec > 0)
		bufferevent_set_timeouts(c->bev, &idle, NULL);
	/* A new bufferevent writes; plain connections write themselves. */
	bufferevent_enable(c->bev, EV_READ);
	if (tls)
		bufferevent_enable(c->bev, EV_WRITE);
	else
		bufferevent_disable(c->bev, EV_WRITE);	/* sconn_wrote() */
	return 0;
}

/*
 * Over the connection limit: a 503 where it can be written in the clear,
 * that is when the request is plain HTTP (handed over in data, or already
 * waiting on a new socket). The request is read before the close, or the
 * kernel would answer the client with a reset instead of the 503.
 */
static void
sconn_refuse(int fd, bool tls, const uint8_t *data, size_t len)
{
	static const char	busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	uint8_t			buf[4096];
	ssize_t			n;
	int			i;

	if (tls)
		return;
	if (data == NULL || len == 0) {
		n = recv(fd, buf, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n != 1 || buf[0] == 0x16)
			return;		/* nothing yet, or a TLS hello */
	}
	(void)!write(fd, busy, sizeof(busy) - 1);
	shutdown(fd, SHUT_WR);
	/* What is there now, and no more: a client may go on sending. */
	for (i = 0; i < 16 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0;
	    i++)
		;
}

/* The first byte is in: TLS or plain, or a 503 over the limit. */
static void
sconn_sniffed(struct sconn *c, uint8_t first)
{
	if (c->refusing) {
		sconn_refuse(c->fd, false, NULL, 0);
		sconn_drop(c, "too-many-connections");
		return;
	}
	if ((first == 0x16 && c->srv->tls == NULL) ||
	    sconn_start(c, first == 0x16, false) == -1)
		sconn_drop(c, "setup-failed");
}

static void
sconn_sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	const char	*why;
	uint8_t		 first;
	int		 rc;

	if (what & EV_TIMEOUT) {
		sconn_drop(c, "sniff-timeout");
		return;
	}
	if ((rc = sock_peek_first(fd, &first, &why)) <= 0) {
		if (rc == -1)
			sconn_drop(c, why);
		return;
	}
	event_free(c->sniff);
	c->sniff = NULL;
	sconn_sniffed(c, first);
}

void
sconn_new(struct sigsrv *srv, int fd, SSL *ssl, const uint8_t *data,
    size_t len, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local, bool sniff)
{
	struct sconn	*c;
	struct timeval	 tv = { SIG_HANDSHAKE_TIMEOUT, 0 };
	char		 name[ADDR_STRLEN];
	const char	*why;
	uint8_t		 first;
	int		 rc;

	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->id = srv->next_id++ & 0xffffff;
	c->fd = fd;
	c->ssl = ssl;
	memcpy(&c->peer, peer, addr_len((const struct sockaddr *)peer));
	memcpy(&c->local, local, addr_len((const struct sockaddr *)local));
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	log_verbose("conn=s%06x peer=%s signal accept%s", c->id,
	    addr_format((struct sockaddr *)peer, true, name, sizeof(name)),
	    sniff ? "" : " adopted");
	c->timer = event_new(srv->base, -1, 0, sconn_timer_cb, c);
	if (c->timer == NULL || event_add(c->timer, &tv) == -1)
		goto fail;
	if (srv->nconns > srv->max_conns) {
		/* A few wait (briefly) for their request, to read a 503. */
		if (sniff && srv->nrefusing < SIG_REFUSING_MAX) {
			c->refusing = true;
			srv->nrefusing++;
			tv.tv_sec = 1;
		} else {
			sconn_refuse(fd, ssl != NULL, sniff ? NULL : data, len);
			sconn_drop(c, "too-many-connections");
			return;
		}
	}
	if (sniff) {
		/* Clients speak first: their first bytes are often here. */
		if ((rc = sock_peek_first(fd, &first, &why)) != 0) {
			if (rc == -1)
				sconn_drop(c, why);
			else
				sconn_sniffed(c, first);
			return;
		}
		c->sniff = event_new(srv->base, fd, EV_READ | EV_PERSIST,
		    sconn_sniff_cb, c);
		if (c->sniff == NULL || event_add(c->sniff, &tv) == -1)
			goto fail;
		return;
	}
	if (sconn_start(c, ssl != NULL, true) == -1)
		goto fail;
	if (len > 0) {
		/* The input's end is frozen (libevent's own); its start is not. */
		evbuffer_prepend(bufferevent_get_input(c->bev), data, len);
		sconn_read_cb(c->bev, c);
	}
	return;
fail:
	sconn_drop(c, "setup-failed");
}

/* At shutdown, with the loop stopped. */
void
sconn_free_all(struct sigsrv *srv)
{
	struct sconn	*c;

	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		sconn_free(c);
}
