/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * HTTP and WebSocket connections of the signaling thread. A connection
 * starts in HTTP: GET /healthz and GET /ice-servers are answered (with
 * keep-alive), GET /ws (or /) with an Upgrade becomes a WebSocket whose
 * text messages go to the room logic (src/signal/). The pure parsers
 * (http_parse.c, ws_*.c) decide; this file moves bytes, keeps the timers
 * (handshake deadline, pings, idle timeout) and bounds each client's
 * output.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "http_parse.h"
#include "http_static.h"
#include "log.h"
#include "sig.h"
#include "sig_internal.h"
#include "stun_msg.h"
#include "ws.h"
#include "xmalloc.h"

enum sconn_state {
	SCONN_SNIFF,		/* waiting for the first byte (TLS or not) */
	SCONN_HTTP,
	SCONN_WS,
	SCONN_CLOSING,		/* flushing, then freed */
};

struct sconn {
	TAILQ_ENTRY(sconn)	 entry;
	struct sigsrv		*srv;
	uint32_t		 id;
	enum sconn_state	 state;
	int			 fd;
	SSL			*ssl;
	struct event		*sniff;
	struct event		*timer;		/* deadline, then pings */
	struct bufferevent	*bev;
	struct sockaddr_storage	 peer, local;
	struct ws_reader	 reader;
	struct sig_peer		*sig;
	bool			 freeing;
};

static void	sconn_read_cb(struct bufferevent *, void *);
static void	sconn_timer_cb(evutil_socket_t, short, void *);
static void	sconn_arm(struct sconn *);

static uint64_t
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

static void
sconn_free_cb(evutil_socket_t fd, short what, void *arg)
{
	sconn_free(arg);
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
	    addr_format((struct sockaddr *)&c->peer, true, peer,
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
	    addr_format((struct sockaddr *)&c->peer, true, peer,
	    sizeof(peer)), reason);
	c->state = SCONN_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, sconn_flushed_cb, NULL, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	event_add(c->timer, &tv);
	sconn_flushed_cb(c->bev, c);
}

/* Output --------------------------------------------------------------- */

static bool
sconn_output_ok(struct sconn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <
	    SIG_OUT_HIGH)
		return true;
	sconn_drop(c, "client-not-reading");
	return false;
}

static void
sconn_frame(struct sconn *c, uint8_t opcode, const void *data, size_t len)
{
	uint8_t	head[10];
	size_t	n;

	if (c->state != SCONN_WS || !sconn_output_ok(c))
		return;
	n = ws_frame_head_build(head, opcode, true, len);
	bufferevent_write(c->bev, head, n);
	bufferevent_write(c->bev, data, len);
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

static void
sconn_http_answer(struct sconn *c, int status, const char *type,
    const char *body, size_t len, bool keep_alive, const char *extra,
    bool head_only)
{
	char	head[1024], date[64], all[768];
	ssize_t	n;

	if (http_build_date(date, sizeof(date), time(NULL)) < 0)
		date[0] = '\0';
	snprintf(all, sizeof(all), "%s%s", date, extra ? extra : "");
	n = http_build_response_head(head, sizeof(head), status, type,
	    (ssize_t)len, keep_alive, all);
	if (n < 0)
		return;
	bufferevent_write(c->bev, head, (size_t)n);
	if (!head_only && len > 0)
		bufferevent_write(c->bev, body, len);
	if (!keep_alive)
		sconn_close_after_flush(c, "http-close");
}

static void
sconn_http_error(struct sconn *c, int status, const char *extra,
    bool keep_alive)
{
	char	out[1024];
	ssize_t	n;

	if ((n = http_build_error(out, sizeof(out), status, keep_alive,
	    extra)) > 0)
		bufferevent_write(c->bev, out, (size_t)n);
	if (!keep_alive)
		sconn_close_after_flush(c, "http-error");
}

/* HTTP routes ------------------------------------------------------------- */

/* The host the client named (Host header without the port), for URLs. */
static void
sconn_host(const struct sconn *c, const struct http_request *req,
    char *out, size_t cap)
{
	const struct http_header	*h = http_find_header(req, "host");
	const char			*end;
	size_t				 n;

	if (h == NULL || h->value_len == 0 || h->value_len >= cap) {
		addr_format((const struct sockaddr *)&c->local, false, out,
		    cap);
		return;
	}
	n = h->value_len;
	end = h->value[0] == '[' ? memchr(h->value, ']', n) : NULL;
	if (end != NULL)
		n = (size_t)(end - h->value) + 1;
	else if ((end = memchr(h->value, ':', n)) != NULL)
		n = (size_t)(end - h->value);
	memcpy(out, h->value, n);
	out[n] = '\0';
	/* Only what a URL host may hold: no quotes, spaces or slashes. */
	if (strcspn(out, "\"\\/ @?#") != n)
		addr_format((const struct sockaddr *)&c->local, false, out,
		    cap);
}

static void
sconn_route_healthz(struct sconn *c, bool keep_alive, bool head_only)
{
	char	body[128];
	int	n;

	n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"rooms\":%zu,"
	    "\"peers\":%zu}\n", sig_hub_rooms(c->srv->hub),
	    sig_hub_peers(c->srv->hub));
	sconn_http_answer(c, 200, "application/json", body, (size_t)n,
	    keep_alive, "Cache-Control: no-store\r\n", head_only);
}

static bool	sconn_basic_ok(const struct sconn *,
		    const struct http_request *);

/*
 * GET /ice-servers: open with signal-auth=none (local development); with
 * secret, ?uid=U&token=T as for a join; with user, HTTP Basic. CORS is
 * granted only when no credentials guard it.
 */
static void
sconn_route_ice(struct sconn *c, const struct http_request *req,
    bool keep_alive, bool head_only)
{
	const struct config	*cfg = c->srv->cfg;
	char			 body[4200], host[300], user[320], uid[256];
	char			 token[256], jid[300];
	int			 n;

	uid[0] = '\0';
	if (cfg->signal_auth == CONFIG_SIGNAL_AUTH_SECRET &&
	    (http_query_param(req, "uid", uid, sizeof(uid)) <= 0 ||
	    http_query_param(req, "token", token, sizeof(token)) <= 0 ||
	    !sig_token_valid(cfg, token, uid, sconn_now_ms() / 1000))) {
		sconn_http_error(c, 401, NULL, keep_alive);
		return;
	}
	if (cfg->signal_auth == CONFIG_SIGNAL_AUTH_USER &&
	    !sconn_basic_ok(c, req)) {
		snprintf(body, sizeof(body), "WWW-Authenticate: Basic "
		    "realm=\"%s\"\r\n", auth_realm(c->srv->auth));
		sconn_http_error(c, 401, body, keep_alive);
		return;
	}
	if (uid[0] == '\0' && http_query_param(req, "uid", uid,
	    sizeof(uid)) <= 0)
		uid[0] = '\0';
	if (uid[0] != '\0' && sig_json_string(uid, jid, sizeof(jid)) == -1)
		uid[0] = '\0';
	sconn_host(c, req, host, sizeof(host));
	n = sig_ice_json(&c->srv->ice, uid[0] != '\0' ? jid : NULL, host,
	    sconn_now_ms() / 1000, body, sizeof(body) - 1, user, sizeof(user));
	if (n < 0) {
		sconn_http_error(c, 500, NULL, keep_alive);
		return;
	}
	body[n++] = '\n';
	sconn_http_answer(c, 200, "application/json", body, (size_t)n,
	    keep_alive, cfg->signal_auth == CONFIG_SIGNAL_AUTH_NONE ?
	    "Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\n" :
	    "Cache-Control: no-store\r\n", head_only);
}

/* signal-origin: a browser's Origin must be listed (absent: not a page). */
static bool
sconn_origin_ok(const struct sconn *c, const struct http_request *req)
{
	const struct config_strlist	*ok = &c->srv->cfg->signal_origins;
	const struct http_header	*h = http_find_header(req, "origin");
	size_t				 i;

	if (ok->n == 0 || h == NULL)
		return true;
	for (i = 0; i < ok->n; i++)
		if (strlen(ok->v[i]) == h->value_len &&
		    strncasecmp(ok->v[i], h->value, h->value_len) == 0)
			return true;
	return false;
}

/* signal-auth=user: HTTP Basic against the TURN user table. */
static bool
sconn_basic_ok(const struct sconn *c, const struct http_request *req)
{
	const struct http_header	*h = http_find_header(req, "authorization");
	uint8_t				 dec[512], want[AUTH_KEY_MAX], key[16];
	char				*colon;
	size_t				 keylen;
	unsigned int			 idx;
	int				 n;

	if (h == NULL || h->value_len < 7 || h->value_len > 600 ||
	    strncasecmp(h->value, "Basic ", 6) != 0)
		return false;
	n = EVP_DecodeBlock(dec, (const uint8_t *)h->value + 6,
	    (int)h->value_len - 6);
	if (n <= 0)
		return false;
	dec[n] = '\0';
	if ((colon = strchr((char *)dec, ':')) == NULL)
		return false;
	*colon = '\0';
	if (stun_longterm_key((char *)dec, auth_realm(c->srv->auth),
	    colon + 1, key) == -1)
		return false;
	for (idx = 0; auth_user_key(c->srv->auth, (char *)dec,
	    strlen((char *)dec), AUTH_ALG_MD5, sconn_now_ms() / 1000, idx,
	    want, &keylen) == 0; idx++)
		if (keylen == 16 && CRYPTO_memcmp(want, key, 16) == 0)
			return true;
	return false;
}

/* GET /ws with an Upgrade: checks, then 101 and WebSocket from now on. */
static void
sconn_upgrade(struct sconn *c, const struct http_request *req)
{
	const struct http_header	*h;
	struct ws_upgrade		 u;
	char				 accept[WS_ACCEPT_LEN + 1];
	char				 extra[256], token[256], host[300];
	int				 rc;

	memset(&u, 0, sizeof(u));
	u.method = req->method;
	u.method_len = req->method_len;
	u.http_minor = req->minor;
#define SCONN_HDR(name, field) do {					\
	if ((h = http_find_header(req, name)) != NULL) {		\
		u.field = h->value;					\
		u.field##_len = h->value_len;				\
	}								\
} while (0)
	SCONN_HDR("upgrade", upgrade);
	SCONN_HDR("connection", connection);
	SCONN_HDR("sec-websocket-version", version);
	SCONN_HDR("sec-websocket-key", key);
#undef SCONN_HDR
	if ((rc = ws_handshake_check(&u, accept)) != 0) {
		sconn_http_error(c, rc, rc == 426 ?
		    "Sec-WebSocket-Version: 13\r\n" : NULL, false);
		return;
	}
	if (!sconn_origin_ok(c, req)) {
		sconn_http_error(c, 403, NULL, false);
		return;
	}
	if (c->srv->cfg->signal_auth == CONFIG_SIGNAL_AUTH_USER &&
	    !sconn_basic_ok(c, req)) {
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Basic "
		    "realm=\"%s\"\r\n", auth_realm(c->srv->auth));
		sconn_http_error(c, 401, extra, false);
		return;
	}
	snprintf(extra, sizeof(extra), "Upgrade: websocket\r\nConnection: "
	    "Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept);
	sconn_http_answer(c, 101, NULL, NULL, 0, true, extra, false);
	if (http_query_param(req, "token", token, sizeof(token)) < 0)
		token[0] = '\0';
	sconn_host(c, req, host, sizeof(host));
	c->state = SCONN_WS;
	c->sig = sig_peer_new(c->srv->hub, c, token, host);
	ws_reader_init(&c->reader, (size_t)c->srv->cfg->signal_max_message);
}

/* A file of the web front, or 404. */
static void
sconn_route_static(struct sconn *c, const struct http_request *req,
    bool head_only)
{
	char		 rel[512], full[PATH_MAX + 520], *real = NULL;
	const char	*root = c->srv->web_root;
	struct stat	 st;
	int		 fd = -1;
	ssize_t		 n;

	if (root == NULL || http_static_path(req->path, req->path_len, rel,
	    sizeof(rel)) < 0)
		goto notfound;
	snprintf(full, sizeof(full), "%s/%s", root, rel);
	/* Once more, on the real file: below the root, no symlink out. */
	if ((real = realpath(full, NULL)) == NULL ||
	    strncmp(real, root, strlen(root)) != 0 ||
	    real[strlen(root)] != '/' ||
	    (fd = open(real, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto notfound;
	free(real);
	n = (ssize_t)st.st_size;
	sconn_http_answer(c, 200, http_static_mime(rel), NULL, (size_t)n,
	    req->keep_alive, "Cache-Control: no-cache\r\n"
	    "X-Content-Type-Options: nosniff\r\n", true);
	if (!head_only && n > 0 &&
	    evbuffer_add_file(bufferevent_get_output(c->bev), fd, 0, n) == 0)
		return;		/* the buffer owns fd now */
	close(fd);
	return;
notfound:
	free(real);
	if (fd != -1)
		close(fd);
	sconn_http_error(c, 404, NULL, req->keep_alive);
}

static bool
sconn_is_path(const struct http_request *req, const char *path)
{
	return req->path_len == strlen(path) &&
	    memcmp(req->path, path, req->path_len) == 0;
}

static void
sconn_route(struct sconn *c, const struct http_request *req)
{
	bool	get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
	bool	head = req->method_len == 4 &&
	    memcmp(req->method, "HEAD", 4) == 0;
	bool	upgrade = http_find_header(req, "upgrade") != NULL;

	if (!get && !head) {
		sconn_http_error(c, 405, "Allow: GET, HEAD\r\n",
		    req->keep_alive);
		return;
	}
	if ((sconn_is_path(req, "/ws") || sconn_is_path(req, "/")) && upgrade)
		sconn_upgrade(c, req);
	else if (sconn_is_path(req, "/ws"))
		sconn_http_error(c, 426, "Upgrade: websocket\r\n"
		    "Sec-WebSocket-Version: 13\r\n", req->keep_alive);
	else if (sconn_is_path(req, "/healthz"))
		sconn_route_healthz(c, req->keep_alive, head);
	else if (sconn_is_path(req, "/ice-servers"))
		sconn_route_ice(c, req, req->keep_alive, head);
	else
		sconn_route_static(c, req, head);
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
	bufferevent_setcb(c->bev, sconn_read_cb, NULL, sconn_event_cb, c);
	if (idle.tv_sec > 0)
		bufferevent_set_timeouts(c->bev, &idle, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

static void
sconn_sniff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sconn	*c = arg;
	uint8_t		 first;
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		sconn_drop(c, "sniff-timeout");
		return;
	}
	if ((n = recv(fd, &first, 1, MSG_PEEK)) <= 0) {
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		sconn_drop(c, "eof");
		return;
	}
	event_free(c->sniff);
	c->sniff = NULL;
	if ((first == 0x16 && c->srv->tls == NULL) ||
	    sconn_start(c, first == 0x16, false) == -1)
		sconn_drop(c, "setup-failed");
}

void
sconn_new(struct sigsrv *srv, int fd, SSL *ssl, const uint8_t *data,
    size_t len, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local, bool sniff)
{
	struct sconn	*c;
	struct timeval	 tv = { SIG_HANDSHAKE_TIMEOUT, 0 };
	char		 name[ADDR_STRLEN];

	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->id = srv->next_id++ & 0xffffff;
	c->fd = fd;
	c->ssl = ssl;
	c->peer = *peer;
	c->local = *local;
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	log_verbose("conn=s%06x peer=%s signal accept%s", c->id,
	    addr_format((struct sockaddr *)peer, true, name, sizeof(name)),
	    sniff ? "" : " adopted");
	c->timer = event_new(srv->base, -1, 0, sconn_timer_cb, c);
	if (c->timer == NULL || event_add(c->timer, &tv) == -1)
		goto fail;
	if (srv->nconns > srv->max_conns) {
		/* A clear refusal where one can be written in the clear. */
		static const char busy[] = "HTTP/1.1 503 Service "
		    "Unavailable\r\nContent-Length: 0\r\nConnection: close"
		    "\r\n\r\n";

		if (ssl == NULL && !sniff)
			(void)!write(fd, busy, sizeof(busy) - 1);
		sconn_drop(c, "too-many-connections");
		return;
	}
	if (sniff) {
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
