/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * sig_load: a load generator for WebSocket signaling servers that speak the
 * core room protocol of PROTOCOL.md (turnpike, bench/tutorial_server.js).
 * bench/sig_bench.py drives it; bench/README.md says what it measures. Not
 * part of turnpike.
 *
 *   sig_load --url ws://127.0.0.1:PORT/ws --mode hold|join|msg
 *            [--pid SERVER_PID] [--src 127.0.2.1-32] [--timeout S]
 *            [--concurrency C]
 *     hold --conns N      open and join N connections (N/2 rooms of 2),
 *                         print the result, hold them until a line or EOF
 *                         on stdin, then close them
 *     join --conns N      connect + upgrade + join N connections, C in
 *                         flight, each pair closed once both have joined
 *     msg  --pairs P --size S (--window W | --rate R) --duration D
 *          [--warmup S]   P rooms of 2 exchanging S-byte messages
 *
 * One thread, one level-triggered epoll set, non-blocking sockets. A minimal
 * RFC 6455 client: the HTTP upgrade with a random key and a checked
 * Sec-WebSocket-Accept, masked text frames out, unmasked frames in. Reads go
 * into one shared 1 MiB buffer and frames are parsed in place (a partial
 * frame is kept per connection); writes are queued per connection and sent
 * with one send() per connection after each epoll batch. The data messages
 * are built once per connection and only their timestamp changes, so the
 * hot path allocates nothing.
 *
 * Results go to stdout as "# result {json}", progress to stderr. Exit 0
 * when the phase completed (errors are in the JSON), 1 when it could not
 * be measured (a step passed --timeout), 2 on usage errors.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lg_util.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define SL_NS			1000000000ull
#define SL_RXCAP		(1u << 20)	/* one read, shared by all */
#define SL_HTTP_MAX		8192		/* upgrade response headers */
#define SL_EVENTS		512
#define SL_KINDS		24		/* distinct kinds counted */
#define SL_SIZE_MAX		65535		/* 16-bit frame length */
#define SL_WBUF_MAX		(16u << 20)	/* queued output per conn */
#define SL_SRC_MAX		256
#define SL_CLOSE_WAIT_NS	(2 * SL_NS)	/* close handshake, join mode */
#define SL_STDIN_TAG		0xffffffffu
#define SL_WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum sl_mode { SL_HOLD, SL_JOIN, SL_MSG };

enum sl_state {
	SL_FREE,		/* join mode's pool */
	SL_CONNECTING,		/* TCP connect in progress */
	SL_UPGRADING,		/* request sent, waiting for 101 */
	SL_OPEN,
	SL_CLOSING,		/* our close frame sent */
	SL_DEAD
};

struct sl_conn {
	int		 fd;
	uint32_t	 gen;		/* bumped on reuse: stale events */
	uint8_t		 state;
	bool		 joined;	/* resp-join, joined or new-peer seen */
	bool		 join_sent;
	bool		 resolved;	/* joined, failed, or orphaned */
	bool		 dirty;		/* on the flush list */
	bool		 want_out;	/* EPOLLOUT armed */
	bool		 in_frag;	/* a fragmented message is running */
	int		 peer;		/* index of the other member, -1 */
	uint32_t	 uid;
	uint32_t	 room;
	uint32_t	 inflight;	/* data sent, not yet received */
	uint64_t	 close_ns;
	char		 key[32];	/* Sec-WebSocket-Key */
	char		*stash;		/* a partial frame or response */
	uint32_t	 stash_len, stash_cap;
	char		*wbuf;
	uint32_t	 woff, wlen, wcap;
	char		*tmpl;		/* msg mode: the data message */
	uint32_t	 ts_off;	/* where its 16 hex digits go */
};

struct sl_kinds {
	int		 n;
	struct {
		char	 name[48];
		uint64_t count;
	}		 k[SL_KINDS];
};

struct sl {
	/* options */
	enum sl_mode	 mode;
	struct sockaddr_in dst;
	char		 hosthdr[80];
	char		 path[256];
	struct in_addr	 src[SL_SRC_MAX];
	int		 nsrc, src_next;
	int		 pid;
	double		 timeout;
	int		 concurrency;
	int		 nconns;
	int		 pairs, size, window;
	double		 rate, duration, warmup;

	/* machinery */
	int		 ep;
	struct sl_conn	*c;
	int		 ncap;
	int		*dirty;
	int		 ndirty, dirty_cap;
	int		*pool;		/* join mode: free conns */
	int		 npool;
	char		*rx;
	uint64_t	 rx_ns;		/* when the current read returned */
	uint64_t	 rng;
	long		 clk_tck;
	bool		 stdin_done;

	/* progress */
	int		 next;		/* hold, msg: next conn to start */
	int		 upgrading;	/* connecting or upgrading */
	int		 live;		/* fds open */
	int		 connected, joined, resolved;
	int		 closed_by_server;
	int		 pairs_started, pairs_open, pairs_done;
	int		 warm_pairs;	/* join mode: pairs not measured */
	bool		 warm_done;
	uint64_t	 warm_ns;
	double		 warm_cpu, warm_gen;
	int		 warm_joined;
	bool		 sending, measuring;
	uint64_t	 sent, forwarded, inflight;
	uint64_t	 pace_due, pace_period;
	int		 pace_next;
	uint64_t	 housekeep_ns;
	struct lg_hist	 hist;
	struct sl_kinds	 refused, errors, closes;
};

static void	sl_conn_fail(struct sl *, struct sl_conn *, const char *);
static void	sl_resolve(struct sl *, struct sl_conn *);

/* Counting by kind -------------------------------------------------------- */

/* Add one to kind name (len bytes, not NUL-terminated); printable only. */
static void
sl_kinds_add(struct sl_kinds *k, const char *name, size_t len)
{
	char	 buf[sizeof(k->k[0].name)];
	size_t	 i;
	int	 j;

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		buf[i] = (ch >= 0x20 && ch < 0x7f && ch != '"' &&
		    ch != '\\') ? (char)ch : '?';
	}
	buf[len] = '\0';
	for (j = 0; j < k->n; j++) {
		if (strcmp(k->k[j].name, buf) == 0) {
			k->k[j].count++;
			return;
		}
	}
	if (k->n < SL_KINDS) {
		j = k->n++;
		strcpy(k->k[j].name, buf);
	} else
		j = SL_KINDS - 1;	/* the last kind takes the overflow */
	k->k[j].count++;
}

static void
sl_kinds_add_str(struct sl_kinds *k, const char *name)
{
	sl_kinds_add(k, name, strlen(name));
}

static uint64_t
sl_kinds_total(const struct sl_kinds *k)
{
	uint64_t	n = 0;
	int		j;

	for (j = 0; j < k->n; j++)
		n += k->k[j].count;
	return n;
}

static void
sl_kinds_json(FILE *f, const char *key, const struct sl_kinds *k)
{
	int	j;

	fprintf(f, "\"%s\":{", key);
	for (j = 0; j < k->n; j++)
		fprintf(f, "%s\"%s\":%llu", j ? "," : "", k->k[j].name,
		    (unsigned long long)k->k[j].count);
	fputc('}', f);
}

static const char *
sl_errno_kind(int e)
{
	const char	*n = strerrorname_np(e);

	return n != NULL ? n : "errno";
}

/* Clocks ------------------------------------------------------------------ */

/* utime + stime of the server, all threads, in seconds; -1 if unknown. */
static double
sl_server_cpu(const struct sl *s)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	FILE		*f;
	size_t		 n;

	if (s->pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", s->pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after ") ": state is field 3; utime and stime are 14 and 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)s->clk_tck;
}

static double
sl_gen_cpu(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* xorshift64*: masking keys need not be strong here, only varied. */
static uint32_t
sl_rand32(struct sl *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return (uint32_t)((s->rng * 2685821657736338717ull) >> 32);
}

/* Output ------------------------------------------------------------------ */

static void
sl_ep_set(struct sl *s, struct sl_conn *c, bool out)
{
	struct epoll_event	ev;

	ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
	ev.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - s->c);
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		lg_die("epoll_ctl: %s", strerror(errno));
	c->want_out = out;
}

/* Room for n more bytes at the end of c's output; NULL when over the cap. */
static char *
sl_wreserve(struct sl_conn *c, size_t n)
{
	if (c->woff > 0 && c->woff == c->wlen)
		c->woff = c->wlen = 0;
	if (c->wlen + n > c->wcap) {
		size_t	cap;

		if (c->woff > 0) {
			memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
			c->wlen -= c->woff;
			c->woff = 0;
		}
		if (c->wlen + n > SL_WBUF_MAX)
			return NULL;
		for (cap = c->wcap ? c->wcap : 4096; cap < c->wlen + n;)
			cap *= 2;
		if (cap != c->wcap) {
			if ((c->wbuf = realloc(c->wbuf, cap)) == NULL)
				lg_die("out of memory");
			c->wcap = (uint32_t)cap;
		}
	}
	return c->wbuf + c->wlen;
}

static void	sl_flush(struct sl *, struct sl_conn *);

/* Put c on the list sent after this epoll batch. */
static void
sl_mark_dirty(struct sl *s, struct sl_conn *c)
{
	if (c->dirty)
		return;
	if (s->ndirty == s->dirty_cap) {	/* re-marked while flushing */
		sl_flush(s, c);
		return;
	}
	c->dirty = true;
	s->dirty[s->ndirty++] = (int)(c - s->c);
}

/* Send what c has queued: one send() unless the socket is full. */
static void
sl_flush(struct sl *s, struct sl_conn *c)
{
	ssize_t	n;

	while (c->woff < c->wlen) {
		n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->woff += (uint32_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_out)
				sl_ep_set(s, c, true);
			return;
		}
		sl_conn_fail(s, c, sl_errno_kind(errno));
		return;
	}
	c->woff = c->wlen = 0;
	if (c->want_out)
		sl_ep_set(s, c, false);
}

static void
sl_flush_dirty(struct sl *s)
{
	int	i;

	for (i = 0; i < s->ndirty; i++) {
		struct sl_conn	*c = &s->c[s->dirty[i]];

		c->dirty = false;
		if (c->state == SL_OPEN || c->state == SL_CLOSING ||
		    c->state == SL_UPGRADING)
			sl_flush(s, c);
	}
	s->ndirty = 0;
}

/* dst = src ^ mask, 8 bytes at a time (RFC 6455 §5.3). */
static void
sl_mask_copy(char *dst, const char *src, size_t n, uint32_t mask)
{
	uint64_t	m8 = (uint64_t)mask << 32 | mask, w;
	size_t		i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= m8;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = (char)(src[i] ^ ((const char *)&mask)[i & 3]);
}

/* Queue one masked frame with FIN set (client to server: RFC 6455 §5.2). */
static int
sl_send_frame(struct sl *s, struct sl_conn *c, int op, const char *data,
    size_t len)
{
	size_t		 hl = len < 126 ? 6 : 8;
	uint32_t	 mask = sl_rand32(s);
	char		*p;

	if ((p = sl_wreserve(c, hl + len)) == NULL)
		return -1;
	p[0] = (char)(0x80 | op);
	if (len < 126)
		p[1] = (char)(0x80 | len);
	else {
		p[1] = (char)(0x80 | 126);
		p[2] = (char)(len >> 8);
		p[3] = (char)(len & 0xff);
	}
	memcpy(p + hl - 4, &mask, 4);
	sl_mask_copy(p + hl, data, len, mask);
	c->wlen += (uint32_t)(hl + len);
	sl_mark_dirty(s, c);
	return 0;
}

static void
sl_send_join(struct sl *s, struct sl_conn *c)
{
	char	buf[128];
	int	n;

	n = snprintf(buf, sizeof(buf),
	    "{\"cmd\":\"join\",\"roomId\":\"r%u\",\"uid\":\"u%u\"}",
	    c->room, c->uid);
	if (sl_send_frame(s, c, 1, buf, (size_t)n) == 0)
		c->join_sent = true;
}

/* One data message: the template with the current time in it. */
static void
sl_send_data(struct sl *s, struct sl_conn *c)
{
	static const char	 hex[] = "0123456789abcdef";
	uint64_t		 now = lg_now_ns();
	char			*ts = c->tmpl + c->ts_off;
	int			 i;

	for (i = 15; i >= 0; i--, now >>= 4)
		ts[i] = hex[now & 15];
	if (sl_send_frame(s, c, 1, c->tmpl, (size_t)s->size) == -1) {
		sl_kinds_add_str(&s->errors, "generator-backlog");
		return;
	}
	c->inflight++;
	s->inflight++;
	if (s->measuring)
		s->sent++;
}

/* Templates --------------------------------------------------------------- */

/*
 * What a browser sends: msg is JSON.stringify() of the candidate or of the
 * session description, so it arrives with escaped quotes (and escaped
 * CRLFs in an SDP). Our timestamp leads it as "ts".
 */
static const char sl_cand[] = "candidate:1467250027 1 udp 2122260223 "
    "192.168.1.23 46243 typ host generation 0 ufrag 6Ffb network-id 1 "
    "network-cost 10 ";
static const char *const sl_sdp[] = {
	"v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
	"a=group:BUNDLE 0 1", "a=extmap-allow-mixed",
	"a=msid-semantic: WMS 7bbe1d1b-5e28-4e4a-8a4a-4b3b5f0d4e77",
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107",
	"c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:6Ffb",
	"a=ice-pwd:3ee7fdD8l1l7+Dl3Y5pTn4Nm", "a=ice-options:trickle",
	("a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:"
	    "35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08"),
	"a=setup:actpass", "a=mid:0",
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
	"a=sendrecv", "a=rtcp-mux", "a=rtpmap:96 VP8/90000",
	"a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96 transport-cc",
	"a=rtcp-fb:96 ccm fir", "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli",
	"a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
	"a=ssrc:3735928559 cname:Zr4lPqk3XyBf9Q2e",
};
#define SL_CRLF		"\\\\r\\\\n"	/* CRLF, escaped twice */

/* Build c's data message: exactly s->size bytes of JSON text. */
static void
sl_tmpl_build(struct sl *s, struct sl_conn *c, uint32_t peer_uid)
{
	bool		 sdp = s->size >= 1000, offer = c->uid % 2 == 0;
	const char	*cmd, *pre, *suf;
	char		*t;
	size_t		 len, fixed, room, i, n;

	cmd = !sdp ? "candidate" : offer ? "offer" : "answer";
	pre = !sdp ? "\\\"candidate\\\":\\\"" : offer ?
	    "\\\"type\\\":\\\"offer\\\",\\\"sdp\\\":\\\"" :
	    "\\\"type\\\":\\\"answer\\\",\\\"sdp\\\":\\\"";
	suf = !sdp ? "\\\",\\\"sdpMid\\\":\\\"0\\\",\\\"sdpMLineIndex\\\":0,"
	    "\\\"usernameFragment\\\":\\\"6Ffb\\\"}\"}" : "\\\"}\"}";
	if ((t = c->tmpl = malloc((size_t)s->size + 1)) == NULL)
		lg_die("out of memory");
	len = (size_t)snprintf(t, (size_t)s->size + 1, "{\"cmd\":\"%s\","
	    "\"roomId\":\"r%u\",\"uid\":\"u%u\",\"remoteUid\":\"u%u\","
	    "\"msg\":\"{\\\"ts\\\":\\\"", cmd, c->room, c->uid, peer_uid);
	c->ts_off = (uint32_t)len;
	fixed = len + 16 + 3 + strlen(pre) + strlen(suf);
	if (fixed + 1 > (size_t)s->size) {
		fprintf(stderr, "sig_load: --size %d is too small for a %s "
		    "(at least %zu)\n", s->size, cmd, fixed + 1);
		exit(2);
	}
	memset(t + len, '0', 16);
	len += 16;
	memcpy(t + len, "\\\",", 3);
	len += 3;
	memcpy(t + len, pre, strlen(pre));
	len += strlen(pre);
	room = (size_t)s->size - fixed;
	if (!sdp) {
		n = room < sizeof(sl_cand) - 1 ? room : sizeof(sl_cand) - 1;
		memcpy(t + len, sl_cand, n);
		len += n, room -= n;
	}
	for (i = 0; sdp; i = (i + 1) % (sizeof(sl_sdp) / sizeof(sl_sdp[0]))) {
		n = strlen(sl_sdp[i]);
		if (n + sizeof(SL_CRLF) - 1 > room)
			break;
		memcpy(t + len, sl_sdp[i], n);
		memcpy(t + len + n, SL_CRLF, sizeof(SL_CRLF) - 1);
		len += n + sizeof(SL_CRLF) - 1;
		room -= n + sizeof(SL_CRLF) - 1;
	}
	memset(t + len, 'x', room);
	len += room;
	memcpy(t + len, suf, strlen(suf));
	len += strlen(suf);
	t[len] = '\0';
	if (len != (size_t)s->size)
		lg_die("template is %zu bytes, not %d", len, s->size);
}

/* Connections ------------------------------------------------------------- */

static struct sl_conn *
sl_conn_alloc(struct sl *s)
{
	struct sl_conn	*c;

	if (s->mode != SL_JOIN)
		return &s->c[s->next++];
	if (s->npool == 0)
		return NULL;
	c = &s->c[s->pool[--s->npool]];
	c->gen++;
	c->joined = c->join_sent = c->resolved = c->in_frag = false;
	c->want_out = false;
	c->inflight = 0;
	c->stash_len = 0;
	c->woff = c->wlen = 0;
	return c;
}

/* Start a non-blocking connect from the next source address. */
static void
sl_conn_start(struct sl *s, struct sl_conn *c)
{
	struct sockaddr_in	src = { .sin_family = AF_INET };
	struct epoll_event	ev;
	unsigned char		raw[16];
	int			one = 1;

	c->state = SL_CONNECTING;
	s->upgrading++;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		sl_conn_fail(s, c, sl_errno_kind(errno));
		return;
	}
	s->live++;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->nsrc > 0) {
		src.sin_addr = s->src[s->src_next++ % s->nsrc];
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			sl_conn_fail(s, c, sl_errno_kind(errno));
			return;
		}
	}
	if (connect(c->fd, (struct sockaddr *)&s->dst, sizeof(s->dst)) == -1 &&
	    errno != EINPROGRESS) {
		sl_conn_fail(s, c, sl_errno_kind(errno));
		return;
	}
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - s->c);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		lg_die("epoll_ctl: %s", strerror(errno));
	c->want_out = true;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		lg_die("RAND_bytes failed");
	EVP_EncodeBlock((unsigned char *)c->key, raw, sizeof(raw));
}

/* Close c's socket; in join mode its struct goes back to the pool. */
static void
sl_conn_drop(struct sl *s, struct sl_conn *c)
{
	struct sl_conn	*p;

	if (c->state == SL_CONNECTING || c->state == SL_UPGRADING)
		s->upgrading--;
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
		s->live--;
	}
	/* Messages in flight either way will never be credited now. */
	if (c->peer >= 0) {
		p = &s->c[c->peer];
		s->inflight -= c->inflight + p->inflight;
		c->inflight = p->inflight = 0;
		p->peer = -1;
		c->peer = -1;
		/* The survivor waits for a join marker nobody will send. */
		if (!p->resolved && p->join_sent)
			sl_resolve(s, p);
	}
	s->inflight -= c->inflight;
	c->inflight = 0;
	c->state = SL_DEAD;
	if (s->mode == SL_JOIN) {
		c->state = SL_FREE;
		s->pool[s->npool++] = (int)(c - s->c);
	}
}

/*
 * c failed or the server closed it. Before the upgrade that is a refusal
 * (by kind); after it an unexpected close, unless we were closing.
 */
static void
sl_conn_fail(struct sl *s, struct sl_conn *c, const char *kind)
{
	if (c->state == SL_CONNECTING || c->state == SL_UPGRADING)
		sl_kinds_add_str(&s->refused, kind);
	else if (c->state == SL_OPEN) {
		sl_kinds_add_str(&s->closes, kind);
		s->closed_by_server++;
	}
	if (!c->resolved)
		sl_resolve(s, c);
	sl_conn_drop(s, c);
}

/* Begin the closing handshake (RFC 6455 §7.1.2); the server closes TCP. */
static void
sl_conn_close(struct sl *s, struct sl_conn *c)
{
	static const char	bye[2] = { 0x03, (char)0xe8 };	/* 1000 */

	if (c->state != SL_OPEN)
		return;
	c->state = SL_CLOSING;
	c->close_ns = lg_now_ns();
	if (sl_send_frame(s, c, 8, bye, sizeof(bye)) == -1)
		sl_conn_drop(s, c);
}

/* A pair (join mode) is done when both members are resolved. */
static void
sl_join_pair_check(struct sl *s, struct sl_conn *c)
{
	struct sl_conn	*p = c->peer >= 0 ? &s->c[c->peer] : NULL;

	if (p != NULL && !p->resolved)
		return;
	s->pairs_open--;
	s->pairs_done++;
	sl_conn_close(s, c);
	if (p != NULL)
		sl_conn_close(s, p);
	if (!s->warm_done && s->pairs_done >= s->warm_pairs) {
		s->warm_done = true;
		s->warm_ns = lg_now_ns();
		s->warm_cpu = sl_server_cpu(s);
		s->warm_gen = sl_gen_cpu();
		s->warm_joined = s->joined;
	}
}

/* c will not change the counts any more: joined, failed or orphaned. */
static void
sl_resolve(struct sl *s, struct sl_conn *c)
{
	c->resolved = true;
	s->resolved++;
	if (s->mode == SL_JOIN)
		sl_join_pair_check(s, c);
}

/* Input ------------------------------------------------------------------- */

static void
sl_on_connect(struct sl *s, struct sl_conn *c)
{
	char		*p;
	int		 err = 0, n;
	socklen_t	 len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		sl_conn_fail(s, c, sl_errno_kind(err));
		return;
	}
	c->state = SL_UPGRADING;
	if ((p = sl_wreserve(c, 1024)) == NULL)
		lg_die("out of memory");
	n = snprintf(p, 1024, "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    s->path, s->hosthdr, c->key);
	c->wlen += (uint32_t)n;
	sl_ep_set(s, c, false);
	sl_flush(s, c);
}

/* The 101 answer, with Sec-WebSocket-Accept checked (RFC 6455 §4.1). */
static bool
sl_http_ok(const struct sl_conn *c, char *h, const char **kind)
{
	static char	 why[32];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 in[64], want[64], *line, *v, *end;
	unsigned int	 mdlen;
	int		 status, n;

	if (sscanf(h, "HTTP/1.%*d %d", &status) != 1) {
		*kind = "bad-http";
		return false;
	}
	if (status != 101) {
		snprintf(why, sizeof(why), "http-%d", status);
		*kind = why;
		return false;
	}
	n = snprintf(in, sizeof(in), "%s" SL_WS_GUID, c->key);
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)want, md, (int)mdlen);
	*kind = "bad-accept";
	for (line = strstr(h, "\r\n"); line != NULL;
	    line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "sec-websocket-accept:", 21) != 0)
			continue;
		for (v = line + 23; *v == ' ' || *v == '\t'; v++)
			;
		if ((end = strstr(v, "\r\n")) == NULL)
			return false;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		return (size_t)(end - v) == strlen(want) &&
		    memcmp(v, want, strlen(want)) == 0;
	}
	return false;
}

/* Bytes of buf taken by the upgrade response, 0 if incomplete, -1 gone. */
static ssize_t
sl_on_http(struct sl *s, struct sl_conn *c, char *buf, size_t len)
{
	const char	*kind;
	char		*end, save;

	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL) {
		if (len >= SL_HTTP_MAX) {
			sl_conn_fail(s, c, "http-too-long");
			return -1;
		}
		return 0;
	}
	end += 4;
	save = *end;
	*end = '\0';
	if (!sl_http_ok(c, buf, &kind)) {
		*end = save;
		sl_conn_fail(s, c, kind);
		return -1;
	}
	*end = save;
	c->state = SL_OPEN;
	s->upgrading--;
	s->connected++;
	sl_send_join(s, c);
	/* No partner left to answer (node): nothing more will come. */
	if (c->peer < 0 && !c->resolved)
		sl_resolve(s, c);
	return end - buf;
}

/* The value of "cmd" in a JSON text, or NULL; a scan, not a parse. */
static const char *
sl_cmd(const char *p, size_t len, size_t *clen)
{
	const char	*k, *e = p + len, *v;

	if ((k = memmem(p, len < 512 ? len : 512, "\"cmd\"", 5)) == NULL)
		return NULL;
	for (v = k + 5; v < e && (*v == ' ' || *v == ':'); v++)
		;
	if (v >= e || *v++ != '"')
		return NULL;
	for (k = v; k < e && *k != '"'; k++)
		;
	if (k >= e)
		return NULL;
	*clen = (size_t)(k - v);
	return v;
}

static bool
sl_is(const char *cmd, size_t clen, const char *lit)
{
	return clen == strlen(lit) && memcmp(cmd, lit, clen) == 0;
}

/* A data message arrived at c: latency, and a credit to its sender. */
static void
sl_on_data(struct sl *s, struct sl_conn *c, const char *p, size_t len)
{
	const char	*t;
	struct sl_conn	*from;
	uint64_t	 ts = 0;
	int		 i;

	t = memmem(p, len < 256 ? len : 256, "ts\\\":\\\"", 7);
	if (t == NULL || t + 7 + 16 > p + len) {
		sl_kinds_add_str(&s->errors, "generator-unparsable");
		return;
	}
	for (t += 7, i = 0; i < 16; i++, t++)
		ts = ts << 4 | (uint64_t)(*t <= '9' ? *t - '0' : *t - 'a' + 10);
	if (s->measuring) {
		s->forwarded++;
		lg_hist_add(&s->hist, s->rx_ns > ts ? s->rx_ns - ts : 0);
	}
	if (c->peer < 0)
		return;
	from = &s->c[c->peer];
	if (from->inflight > 0) {
		from->inflight--;
		s->inflight--;
	}
	if (s->sending && s->window > 0 && from->state == SL_OPEN &&
	    from->inflight < (uint32_t)s->window)
		sl_send_data(s, from);
}

static void
sl_on_text(struct sl *s, struct sl_conn *c, const char *p, size_t len)
{
	const char	*cmd, *code, *e;
	size_t		 clen;

	if ((cmd = sl_cmd(p, len, &clen)) == NULL) {
		sl_kinds_add_str(&s->errors, "generator-no-cmd");
		return;
	}
	if (sl_is(cmd, clen, "candidate") || sl_is(cmd, clen, "offer") ||
	    sl_is(cmd, clen, "answer")) {
		sl_on_data(s, c, p, len);
		return;
	}
	if (sl_is(cmd, clen, "resp-join") || sl_is(cmd, clen, "joined") ||
	    sl_is(cmd, clen, "new-peer")) {
		if (!c->joined) {
			c->joined = true;
			s->joined++;
			if (!c->resolved)
				sl_resolve(s, c);
		}
		return;
	}
	if (!sl_is(cmd, clen, "error"))
		return;		/* peer-leave, keepalive, ... */
	code = memmem(p, len, "\"code\":\"", 8);
	if (code == NULL)
		sl_kinds_add_str(&s->errors, "?");
	else {
		code += 8;
		for (e = code; e < p + len && *e != '"'; e++)
			;
		sl_kinds_add(&s->errors, code, (size_t)(e - code));
	}
	/* The refused message will not arrive: give its credit back. */
	if (c->inflight > 0) {
		c->inflight--;
		s->inflight--;
		if (s->sending && s->window > 0)
			sl_send_data(s, c);
	}
}

/* A close frame from the server (RFC 6455 §5.5.1). */
static void
sl_on_close(struct sl *s, struct sl_conn *c, const unsigned char *p,
    size_t len)
{
	char	kind[16];

	if (c->state == SL_CLOSING) {
		sl_conn_drop(s, c);
		return;
	}
	snprintf(kind, sizeof(kind), "close-%u",
	    len >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 1005u);
	/* Echo it; the server will not read it, but it is the protocol. */
	sl_send_frame(s, c, 8, (const char *)p, len >= 2 ? 2 : 0);
	sl_flush(s, c);
	if (c->state == SL_OPEN)
		sl_conn_fail(s, c, kind);
}

/* One frame at buf: bytes consumed, 0 if incomplete, -1 if c is gone. */
static ssize_t
sl_on_frame(struct sl *s, struct sl_conn *c, char *buf, size_t len)
{
	const unsigned char	*b = (const unsigned char *)buf;
	uint64_t		 plen;
	size_t			 hl = 2;
	int			 op;

	if (len < 2)
		return 0;
	op = b[0] & 0x0f;
	plen = b[1] & 0x7f;
	if (b[1] & 0x80) {
		sl_conn_fail(s, c, "masked-frame");
		return -1;
	}
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)b[2] << 8 | b[3];
		hl = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		for (plen = 0, hl = 2; hl < 10; hl++)
			plen = plen << 8 | b[hl];
	}
	if (plen > SL_RXCAP - 16) {
		sl_conn_fail(s, c, "frame-too-big");
		return -1;
	}
	if (len < hl + plen)
		return 0;
	buf += hl;
	switch (op) {
	case 0x0:			/* continuation: counted at its start */
		if (b[0] & 0x80)
			c->in_frag = false;
		break;
	case 0x1:
	case 0x2:
		c->in_frag = !(b[0] & 0x80);
		if (c->state == SL_OPEN)
			sl_on_text(s, c, buf, (size_t)plen);
		break;
	case 0x8:
		sl_on_close(s, c, (const unsigned char *)buf, (size_t)plen);
		return -1;
	case 0x9:
		sl_send_frame(s, c, 0xa, buf, (size_t)plen);
		break;
	default:			/* pong */
		break;
	}
	if (c->state != SL_OPEN && c->state != SL_CLOSING)
		return -1;
	return (ssize_t)(hl + plen);
}

/* Keep the unparsed tail of a read for the next one. */
static void
sl_stash(struct sl_conn *c, const char *p, size_t n)
{
	c->stash_len = 0;
	if (n == 0)
		return;
	if (n > c->stash_cap) {
		if ((c->stash = realloc(c->stash, n)) == NULL)
			lg_die("out of memory");
		c->stash_cap = (uint32_t)n;
	}
	memmove(c->stash, p, n);
	c->stash_len = (uint32_t)n;
}

static void
sl_read(struct sl *s, struct sl_conn *c)
{
	size_t	 have = c->stash_len, len, off = 0;
	ssize_t	 n;

	if (have > 0)
		memcpy(s->rx, c->stash, have);
	n = read(c->fd, s->rx + have, SL_RXCAP - have);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->state == SL_CLOSING)
			sl_conn_drop(s, c);
		else
			sl_conn_fail(s, c, n == 0 ? "eof" :
			    sl_errno_kind(errno));
		return;
	}
	s->rx_ns = lg_now_ns();
	len = have + (size_t)n;
	if (c->state == SL_UPGRADING) {
		ssize_t	r = sl_on_http(s, c, s->rx, len);

		if (r < 0)
			return;
		if (r == 0) {
			sl_stash(c, s->rx, len);
			return;
		}
		off = (size_t)r;
	}
	while (off < len) {
		ssize_t	r = sl_on_frame(s, c, s->rx + off, len - off);

		if (r < 0)
			return;
		if (r == 0)
			break;
		off += (size_t)r;
	}
	sl_stash(c, s->rx + off, len - off);
}

static void
sl_on_stdin(struct sl *s)
{
	char	buf[256];
	ssize_t	n;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	s->stdin_done = true;
	epoll_ctl(s->ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
}

static void
sl_event(struct sl *s, const struct epoll_event *ev)
{
	uint32_t	 idx = (uint32_t)ev->data.u64;
	struct sl_conn	*c;

	if (idx == SL_STDIN_TAG) {
		sl_on_stdin(s);
		return;
	}
	c = &s->c[idx];
	if (c->gen != (uint32_t)(ev->data.u64 >> 32) || c->fd == -1)
		return;
	if (c->state == SL_CONNECTING) {
		sl_on_connect(s, c);
		return;
	}
	if ((ev->events & EPOLLOUT) && c->want_out) {
		sl_flush(s, c);
		if (c->fd == -1 || c->gen != (uint32_t)(ev->data.u64 >> 32))
			return;
	}
	if (ev->events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		sl_read(s, c);
}

/* The loop ---------------------------------------------------------------- */

/* Start connections while fewer than --concurrency are on their way. */
static void
sl_pump(struct sl *s)
{
	struct sl_conn	*a, *b;

	if (s->mode != SL_JOIN) {
		while (s->next < s->ncap && s->upgrading < s->concurrency)
			sl_conn_start(s, sl_conn_alloc(s));
		return;
	}
	while (s->pairs_started < s->nconns / 2 &&
	    s->pairs_open * 2 < s->concurrency && s->npool >= 2) {
		a = sl_conn_alloc(s);
		b = sl_conn_alloc(s);
		a->room = b->room = (uint32_t)s->pairs_started;
		a->uid = (uint32_t)s->pairs_started * 2;
		b->uid = a->uid + 1;
		a->peer = (int)(b - s->c);
		b->peer = (int)(a - s->c);
		s->pairs_started++;
		s->pairs_open++;
		sl_conn_start(s, a);
		sl_conn_start(s, b);
	}
}

/* Paced sending: round robin over the conns at rate * conns per second. */
static void
sl_pace(struct sl *s, uint64_t now)
{
	struct sl_conn	*c;
	int		 n;

	if (!s->sending || s->rate <= 0)
		return;
	for (n = 0; s->pace_due <= now && n < s->ncap; n++) {
		c = &s->c[s->pace_next];
		s->pace_next = (s->pace_next + 1) % s->ncap;
		if (c->state == SL_OPEN && c->peer >= 0)
			sl_send_data(s, c);
		s->pace_due += s->pace_period;
	}
	if (s->pace_due + SL_NS < now)
		s->pace_due = now;	/* a second behind: drop the backlog */
}

/* Join mode: a server that never answers our close gets no more time. */
static void
sl_housekeep(struct sl *s, uint64_t now)
{
	int	i;

	if (s->mode != SL_JOIN || now < s->housekeep_ns)
		return;
	s->housekeep_ns = now + SL_NS / 10;
	for (i = 0; i < s->ncap; i++)
		if (s->c[i].state == SL_CLOSING &&
		    now - s->c[i].close_ns > SL_CLOSE_WAIT_NS)
			sl_conn_drop(s, &s->c[i]);
}

/* Run until done(s) or the deadline; 0 if done, -1 at the deadline. */
static int
sl_run(struct sl *s, bool (*done)(const struct sl *), uint64_t deadline)
{
	struct epoll_event	ev[SL_EVENTS];
	uint64_t		now, wake;
	int			n, i, ms;

	for (;;) {
		sl_pump(s);
		sl_flush_dirty(s);
		if (done != NULL && done(s))
			return 0;
		now = lg_now_ns();
		if (now >= deadline)
			return -1;
		wake = deadline;
		if (s->sending && s->rate > 0 && s->pace_due < wake)
			wake = s->pace_due;
		if (s->mode == SL_JOIN && s->housekeep_ns < wake)
			wake = s->housekeep_ns;
		ms = wake <= now ? 0 : wake - now > SL_NS ? 1000 :
		    (int)((wake - now + 999999) / 1000000);
		n = epoll_wait(s->ep, ev, SL_EVENTS, ms);
		if (n == -1 && errno != EINTR)
			lg_die("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++)
			sl_event(s, &ev[i]);
		now = lg_now_ns();
		sl_pace(s, now);
		sl_housekeep(s, now);
	}
}

static bool
sl_all_resolved(const struct sl *s)
{
	return s->next == s->ncap && s->resolved == s->ncap;
}

static bool
sl_join_finished(const struct sl *s)
{
	return s->pairs_done == s->nconns / 2;
}

static bool
sl_drained(const struct sl *s)
{
	return s->inflight == 0;
}

static bool
sl_none_live(const struct sl *s)
{
	return s->live == 0;
}

static bool
sl_stdin_done(const struct sl *s)
{
	return s->stdin_done;
}

static uint64_t
sl_deadline(double secs)
{
	return lg_now_ns() + (uint64_t)(secs * 1e9);
}

/* Close every connection politely, then whatever is left, within secs. */
static void
sl_close_all(struct sl *s, double secs)
{
	int	i;

	for (i = 0; i < s->ncap; i++) {
		struct sl_conn	*c = &s->c[i];

		if (c->state == SL_OPEN)
			sl_conn_close(s, c);
		else if (c->state == SL_CONNECTING || c->state == SL_UPGRADING)
			sl_conn_drop(s, c);
	}
	s->next = s->ncap;		/* start nothing more */
	s->pairs_started = s->nconns / 2;
	sl_run(s, sl_none_live, sl_deadline(secs));
	for (i = 0; i < s->ncap; i++)
		if (s->c[i].fd != -1)
			sl_conn_drop(s, &s->c[i]);
}

/* At a step's deadline: whatever has not connected counts as a timeout. */
static void
sl_timeout_fail(struct sl *s)
{
	int	i;

	for (i = 0; i < s->ncap; i++) {
		struct sl_conn	*c = &s->c[i];

		if (c->state == SL_CONNECTING || c->state == SL_UPGRADING)
			sl_conn_fail(s, c, "timeout");
	}
	while (s->next < s->ncap) {
		sl_kinds_add_str(&s->refused, "not-started");
		s->next++;
	}
}

/* Modes ------------------------------------------------------------------- */

/* hold and msg: conns 2i and 2i+1 share room i. */
static void
sl_setup_pairs(struct sl *s, int n)
{
	int	i;

	s->ncap = n;
	if ((s->c = calloc((size_t)n, sizeof(*s->c))) == NULL ||
	    (s->dirty = calloc((size_t)n, sizeof(int))) == NULL)
		lg_die("out of memory");
	s->dirty_cap = n;
	for (i = 0; i < n; i++) {
		s->c[i].fd = -1;
		s->c[i].uid = (uint32_t)i;
		s->c[i].room = (uint32_t)i / 2;
		s->c[i].peer = (i ^ 1) < n ? i ^ 1 : -1;
	}
}

static void
sl_print_common(const struct sl *s, FILE *f)
{
	fprintf(f, "\"connected\":%d,\"joined\":%d,", s->connected, s->joined);
	sl_kinds_json(f, "refused", &s->refused);
	fprintf(f, ",\"closed_by_server\":%d,", s->closed_by_server);
	sl_kinds_json(f, "closes", &s->closes);
	fputc(',', f);
	sl_kinds_json(f, "errors", &s->errors);
}

static void
sl_print_num(FILE *f, const char *key, double v, bool more)
{
	if (v < 0)
		fprintf(f, "\"%s\":null%s", key, more ? "," : "");
	else
		fprintf(f, "\"%s\":%.6g%s", key, v, more ? "," : "");
}

static int
sl_mode_hold(struct sl *s)
{
	struct epoll_event	ev = { .events = EPOLLIN };
	uint64_t		t0, t1;
	double			c0, c1, secs;
	int			rc;

	sl_setup_pairs(s, s->nconns);
	fprintf(stderr, "sig_load: hold: opening %d connections\n", s->ncap);
	t0 = lg_now_ns();
	c0 = sl_server_cpu(s);
	rc = sl_run(s, sl_all_resolved, t0 + (uint64_t)(s->timeout * 1e9));
	t1 = lg_now_ns();
	c1 = sl_server_cpu(s);
	if (rc == -1)
		sl_timeout_fail(s);
	secs = (double)(t1 - t0) / 1e9;
	printf("# result {\"mode\":\"hold\",\"conns\":%d,", s->ncap);
	sl_print_common(s, stdout);
	printf(",\"timed_out\":%s,", rc == -1 ? "true" : "false");
	sl_print_num(stdout, "seconds", secs, true);
	sl_print_num(stdout, "join_rate", s->joined / secs, true);
	sl_print_num(stdout, "server_cpu_s", c0 < 0 || c1 < 0 ? -1 : c1 - c0,
	    false);
	printf("}\n");
	fflush(stdout);
	fprintf(stderr, "sig_load: hold: %d connected, %d joined, %llu "
	    "refused in %.2f s\n", s->connected, s->joined,
	    (unsigned long long)sl_kinds_total(&s->refused), secs);
	if (rc == -1) {
		sl_close_all(s, 2);
		return 1;
	}
	/* Hold until the driver says so: a line or EOF on stdin. */
	ev.data.u64 = SL_STDIN_TAG;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == -1)
		s->stdin_done = true;	/* /dev/null or a file: no wait */
	sl_run(s, sl_stdin_done, UINT64_MAX);
	printf("# after {\"closed_by_server\":%d,", s->closed_by_server);
	sl_kinds_json(stdout, "closes", &s->closes);
	printf("}\n");
	fflush(stdout);
	sl_close_all(s, s->timeout < 5 ? s->timeout : 5);
	return 0;
}

static int
sl_mode_join(struct sl *s)
{
	uint64_t	t0, t1;
	double		c1, cpu, secs;
	int		rc, i, joins;

	s->ncap = 2 * s->concurrency + 2;
	if ((s->c = calloc((size_t)s->ncap, sizeof(*s->c))) == NULL ||
	    (s->dirty = calloc((size_t)s->ncap, sizeof(int))) == NULL ||
	    (s->pool = calloc((size_t)s->ncap, sizeof(int))) == NULL)
		lg_die("out of memory");
	s->dirty_cap = s->ncap;
	for (i = s->ncap - 1; i >= 0; i--) {
		s->c[i].fd = -1;
		s->c[i].state = SL_FREE;
		s->c[i].peer = -1;
		s->pool[s->npool++] = i;
	}
	s->warm_pairs = s->nconns / 20;		/* 10 % of the conns */
	fprintf(stderr, "sig_load: join: %d connections, %d in flight, "
	    "first %d not measured\n", s->nconns, s->concurrency,
	    2 * s->warm_pairs);
	t0 = lg_now_ns();
	if (s->warm_pairs == 0) {
		s->warm_done = true;
		s->warm_ns = t0;
		s->warm_cpu = sl_server_cpu(s);
		s->warm_gen = sl_gen_cpu();
	}
	rc = sl_run(s, sl_join_finished, t0 + (uint64_t)(s->timeout * 1e9));
	t1 = lg_now_ns();
	c1 = sl_server_cpu(s);
	if (rc == -1)
		sl_timeout_fail(s);
	secs = s->warm_done ? (double)(t1 - s->warm_ns) / 1e9 : -1;
	joins = s->joined - s->warm_joined;
	cpu = s->warm_cpu < 0 || c1 < 0 || !s->warm_done ? -1 :
	    c1 - s->warm_cpu;
	printf("# result {\"mode\":\"join\",\"conns\":%d,\"joins\":%d,",
	    s->nconns, joins);
	sl_print_common(s, stdout);
	printf(",\"timed_out\":%s,", rc == -1 ? "true" : "false");
	sl_print_num(stdout, "seconds", secs, true);
	sl_print_num(stdout, "join_rate", secs > 0 ? joins / secs : -1, true);
	sl_print_num(stdout, "server_cpu_s", cpu, true);
	sl_print_num(stdout, "cpu_us_per_join",
	    cpu >= 0 && joins > 0 ? cpu * 1e6 / joins : -1, true);
	sl_print_num(stdout, "gen_cpu_s", s->warm_done ?
	    sl_gen_cpu() - s->warm_gen : -1, false);
	printf("}\n");
	fflush(stdout);
	fprintf(stderr, "sig_load: join: %d joins in %.2f s\n", joins, secs);
	sl_close_all(s, 2);
	return rc == -1 ? 1 : 0;
}

static double
sl_us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static int
sl_mode_msg(struct sl *s)
{
	uint64_t	t0, t1;
	double		c0, c1, g0, g1, secs, cpu;
	int		rc, i, w;

	sl_setup_pairs(s, 2 * s->pairs);
	for (i = 0; i < s->ncap; i++)
		sl_tmpl_build(s, &s->c[i], s->c[i ^ 1].uid);
	fprintf(stderr, "sig_load: msg: %d pairs, %d B, %s %g\n", s->pairs,
	    s->size, s->window > 0 ? "window" : "rate",
	    s->window > 0 ? (double)s->window : s->rate);
	rc = sl_run(s, sl_all_resolved, sl_deadline(s->timeout));
	if (rc == -1 || s->joined < s->ncap) {
		if (rc == -1)
			sl_timeout_fail(s);
		printf("# result {\"mode\":\"msg\",\"pairs\":%d,\"size\":%d,"
		    "\"ok\":false,", s->pairs, s->size);
		sl_print_common(s, stdout);
		printf("}\n");
		fprintf(stderr, "sig_load: msg: only %d of %d joined\n",
		    s->joined, s->ncap);
		sl_close_all(s, 2);
		return 1;
	}

	s->sending = true;
	if (s->window > 0) {
		for (w = 0; w < s->window; w++)
			for (i = 0; i < s->ncap; i++)
				sl_send_data(s, &s->c[i]);
	} else {
		s->pace_period = (uint64_t)(1e9 / (s->rate * s->ncap));
		if (s->pace_period == 0)
			s->pace_period = 1;
		s->pace_due = lg_now_ns();
	}
	sl_run(s, NULL, sl_deadline(s->warmup));

	s->measuring = true;
	memset(&s->hist, 0, sizeof(s->hist));
	t0 = lg_now_ns();
	c0 = sl_server_cpu(s);
	g0 = sl_gen_cpu();
	sl_run(s, NULL, t0 + (uint64_t)(s->duration * 1e9));
	t1 = lg_now_ns();
	c1 = sl_server_cpu(s);
	g1 = sl_gen_cpu();
	s->measuring = false;
	s->sending = false;
	sl_run(s, sl_drained, sl_deadline(s->timeout < 5 ? s->timeout : 5));

	secs = (double)(t1 - t0) / 1e9;
	cpu = c0 < 0 || c1 < 0 ? -1 : c1 - c0;
	printf("# result {\"mode\":\"msg\",\"pairs\":%d,\"size\":%d,"
	    "\"window\":%d,\"rate\":%g,\"ok\":true,\"sent\":%llu,"
	    "\"forwarded\":%llu,", s->pairs, s->size, s->window, s->rate,
	    (unsigned long long)s->sent, (unsigned long long)s->forwarded);
	sl_print_num(stdout, "seconds", secs, true);
	sl_print_num(stdout, "msg_per_s", (double)s->forwarded / secs, true);
	printf("\"lat_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
	    "\"max\":%.1f},",
	    sl_us(lg_hist_pct(&s->hist, 0.50)),
	    sl_us(lg_hist_pct(&s->hist, 0.90)),
	    sl_us(lg_hist_pct(&s->hist, 0.99)), sl_us(s->hist.max_ns));
	sl_print_num(stdout, "server_cpu_s", cpu, true);
	sl_print_num(stdout, "cpu_us_per_msg", cpu >= 0 && s->forwarded > 0 ?
	    cpu * 1e6 / (double)s->forwarded : -1, true);
	sl_print_num(stdout, "gen_cpu_s", g1 - g0, true);
	sl_print_common(s, stdout);
	printf("}\n");
	fflush(stdout);
	fprintf(stderr, "sig_load: msg: %llu forwarded in %.2f s, p99 %.0f "
	    "us\n", (unsigned long long)s->forwarded, secs,
	    sl_us(lg_hist_pct(&s->hist, 0.99)));
	sl_close_all(s, s->timeout < 5 ? s->timeout : 5);
	return 0;
}

/* Options ----------------------------------------------------------------- */

static void
sl_usage(void)
{
	fprintf(stderr, "usage: sig_load --url ws://HOST:PORT/PATH "
	    "--mode hold|join|msg [--pid PID]\n"
	    "         [--src 127.0.2.1-32] [--timeout S] [--concurrency C]\n"
	    "  hold --conns N\n"
	    "  join --conns N\n"
	    "  msg  --pairs P --size S (--window W | --rate R) --duration D "
	    "[--warmup S]\n");
	exit(2);
}

static double
sl_num(const char *arg, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "sig_load: bad number '%s'\n", arg);
		sl_usage();
	}
	return v;
}

/* ws://A.B.C.D:PORT/PATH, IPv4 literals only (the bench uses 127/8). */
static void
sl_parse_url(struct sl *s, const char *url)
{
	char		 host[64];
	const char	*p, *colon, *slash;
	size_t		 n;

	if (strncmp(url, "ws://", 5) != 0)
		sl_usage();
	p = url + 5;
	slash = strchr(p, '/');
	snprintf(s->path, sizeof(s->path), "%s", slash ? slash : "/");
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	n = (size_t)((colon ? colon : slash) - p);
	if (n == 0 || n >= sizeof(host))
		sl_usage();
	memcpy(host, p, n);
	host[n] = '\0';
	s->dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &s->dst.sin_addr) != 1) {
		fprintf(stderr, "sig_load: %s: an IPv4 address is needed\n",
		    host);
		sl_usage();
	}
	s->dst.sin_port = htons(colon ? (uint16_t)sl_num(
	    strndupa(colon + 1, (size_t)(slash - colon - 1)), 1, 65535) : 80);
	snprintf(s->hosthdr, sizeof(s->hosthdr), "%.*s",
	    (int)(slash - p), p);
}

static void
sl_options(struct sl *s, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "mode", required_argument, NULL, 'm' },
		{ "pid", required_argument, NULL, 'p' },
		{ "src", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "conns", required_argument, NULL, 'n' },
		{ "pairs", required_argument, NULL, 'P' },
		{ "size", required_argument, NULL, 'S' },
		{ "window", required_argument, NULL, 'w' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*mode = NULL;
	bool		 url = false;
	int		 ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': sl_parse_url(s, optarg); url = true; break;
		case 'm': mode = optarg; break;
		case 'p': s->pid = (int)sl_num(optarg, 1, 1 << 30); break;
		case 's':
			s->nsrc = lg_parse_sources(optarg, s->src, SL_SRC_MAX);
			if (s->nsrc < 1)
				sl_usage();
			break;
		case 't': s->timeout = sl_num(optarg, 0.1, 3600); break;
		case 'c': s->concurrency = (int)sl_num(optarg, 2, 100000);
			break;
		case 'n': s->nconns = (int)sl_num(optarg, 1, 1000000); break;
		case 'P': s->pairs = (int)sl_num(optarg, 1, 100000); break;
		case 'S': s->size = (int)sl_num(optarg, 1, SL_SIZE_MAX); break;
		case 'w': s->window = (int)sl_num(optarg, 1, 100000); break;
		case 'r': s->rate = sl_num(optarg, 0.001, 1e6); break;
		case 'd': s->duration = sl_num(optarg, 0.1, 3600); break;
		case 'W': s->warmup = sl_num(optarg, 0, 3600); break;
		default: sl_usage();
		}
	}
	if (optind != argc || !url || mode == NULL)
		sl_usage();
	if (strcmp(mode, "hold") == 0)
		s->mode = SL_HOLD;
	else if (strcmp(mode, "join") == 0)
		s->mode = SL_JOIN;
	else if (strcmp(mode, "msg") == 0)
		s->mode = SL_MSG;
	else
		sl_usage();
	if (s->mode != SL_MSG && s->nconns < 2)
		sl_usage();
	if (s->mode == SL_MSG && (s->pairs < 1 || s->size < 1 ||
	    s->duration <= 0 || (s->window > 0) == (s->rate > 0)))
		sl_usage();
	s->concurrency &= ~1;		/* whole pairs in join mode */
}

int
main(int argc, char **argv)
{
	struct sl	*s;
	long		 nofile;
	int		 rc;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		lg_die("out of memory");
	s->timeout = 30;
	s->concurrency = 256;
	s->warmup = 1;
	sl_options(s, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	s->clk_tck = sysconf(_SC_CLK_TCK);
	nofile = lg_raise_nofile();
	if (s->mode == SL_HOLD && nofile > 0 && s->nconns + 16 > nofile)
		lg_die("--conns %d needs more than the fd limit %ld", s->nconns,
		    nofile);
	if ((s->rx = malloc(SL_RXCAP)) == NULL)
		lg_die("out of memory");
	if ((s->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		lg_die("epoll_create1: %s", strerror(errno));
	if (RAND_bytes((unsigned char *)&s->rng, sizeof(s->rng)) != 1)
		lg_die("RAND_bytes failed");
	s->rng |= 1;
	if (s->mode == SL_HOLD)
		rc = sl_mode_hold(s);
	else if (s->mode == SL_JOIN)
		rc = sl_mode_join(s);
	else
		rc = sl_mode_msg(s);
	close(s->ep);
	for (int i = 0; i < s->ncap; i++) {
		free(s->c[i].stash);
		free(s->c[i].wbuf);
		free(s->c[i].tmpl);
	}
	free(s->c);
	free(s->dirty);
	free(s->pool);
	free(s->rx);
	free(s);
	return rc;
}
