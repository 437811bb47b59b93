/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * turn_load — the benchmark's own TURN load generator (bench/README.md).
 * Not part of turnpike. One mode per run, one result line per mode:
 *
 *   alloc  N allocations with long-term auth, W transactions in flight:
 *          the cost of an Allocate, and (--hold) a server full of
 *          allocations whose memory the driver can weigh.
 *   flow   N allocations in pairs; each side of a pair sends ChannelData
 *          to the other through both allocations, closed loop (--window)
 *          or paced (--rate): one-way latency and server CPU per relayed
 *          packet.
 *   raw    the same flows through bench/loadgen/udp_floor.c, which does
 *          nothing but forward: the floor turnpike is compared with.
 *
 * One thread, one epoll set, non-blocking sockets, one socket (or TCP/TLS
 * connection) per allocation. It shares the CPUs with the server it
 * measures, so the data path allocates nothing and reads datagrams in
 * batches. It talks to 127.0.0.0/8 only, and every phase has a deadline.
 *
 *	turn_load --server 127.0.0.1:PORT --mode alloc|flow|raw [options]
 *
 * Run without arguments for the options. Progress goes to stderr; stdout
 * gets exactly one line, "# result {json}". Exit 0 when the phase ran
 * (losses and failures are reported, not fatal), 1 when nothing could be
 * measured, 2 on a usage error. Afterwards UDP allocations are deleted
 * (Refresh, LIFETIME 0), except with --hold, which keeps them until stdin
 * ends or gets a line.
 *
 * In raw mode --size is the payload after udp_floor's 8-byte prefix, as
 * it is the payload after the 4-byte ChannelData header in flow mode.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "stun_msg.h"
#include "lg_util.h"

#define TL_NS			1000000000ULL
#define TL_MAX_SRC		256
/* RFC 8489 §14.9/§14.10 allow 763 bytes; servers send far less. */
#define TL_NONCE_MAX		256
#define TL_REALM_MAX		256
#define TL_REQ_MAX		640
#define TL_LIFETIME		600
#define TL_RTO_NS		(TL_NS / 2)	/* UDP retransmit interval */
#define TL_MAX_RETRANS		5
/* TCP/TLS do not retransmit: one deadline covers connect to answer. */
#define TL_STREAM_TXN_NS	(10 * TL_NS)
#define TL_MAX_STALE		3	/* 438 answers per transaction */
#define TL_SCAN_NS		(TL_NS / 20)	/* retransmit and loss checks */
#define TL_LOSS_NS		TL_NS
#define TL_STRAGGLE_NS		TL_NS
#define TL_TICK_NS		(TL_NS / 4000)	/* paced sends: 250 us tick */
#define TL_WINDOW_RAMP_NS	(TL_NS / 10)	/* closed-loop flows start */
#define TL_RATE_BURST		8	/* catch-up sends per flow per tick */
#define TL_HDR_LEN		24
#define TL_MAX_SIZE		60000
#define TL_MAX_WINDOW		1024
#define TL_RAW_PREFIX		8
#define TL_BATCH		16	/* datagrams per recvmmsg() */
#define TL_EVENTS		256
#define TL_OUT_MAX		(256 * 1024)	/* queued stream bytes */
#define TL_READ_ITERS		32	/* TLS reads per event */
#define TL_DEFAULT_TIMEOUT	60
#define TL_DEFAULT_INFLIGHT	128

enum tl_mode {
	TL_MODE_ALLOC,
	TL_MODE_FLOW,
	TL_MODE_RAW,
};

enum tl_transport {
	TL_UDP,
	TL_TCP,
	TL_TLS,
};

/* A client's progress; TL_CONNECT to TL_RELEASE are "in a transaction". */
enum tl_state {
	TL_IDLE = 0,
	TL_CONNECT,
	TL_HANDSHAKE,
	TL_ALLOC,
	TL_PERM,
	TL_BIND,
	TL_RELEASE,	/* Refresh with LIFETIME 0 */
	TL_READY,
	TL_FAILED,
};

/* Failure causes other than STUN error codes (300-699), as err[] slots. */
#define TL_ERR_TIMEOUT	1
#define TL_ERR_IO	2
#define TL_ERR_PROTO	3
#define TL_ERR_CLOSED	4
#define TL_ERR_TLS	5
#define TL_ERR_MAX	700

/*
 * What every flow packet starts with. Sender and receiver are this
 * process, so host byte order and one clock serve both ends.
 */
struct tl_hdr {
	uint32_t	flow;		/* index of the sending client */
	uint32_t	slot;		/* window slot; 0 when paced */
	uint64_t	seq;
	uint64_t	sent_ns;	/* lg_now_ns() when sent */
};
_Static_assert(sizeof(struct tl_hdr) == TL_HDR_LEN, "tl_hdr has padding");

/* One closed-loop packet in flight. */
struct tl_slot {
	uint64_t	seq;		/* 0 when free */
	uint64_t	sent_ns;
};

/* One allocation (raw mode: one plain UDP socket) and its flow. */
struct tl_client {
	int			 fd;		/* -1 once closed */
	SSL			*ssl;
	uint8_t			 state;
	uint8_t			 tries;		/* transmissions of req */
	uint8_t			 stale;		/* 438 answers so far */
	bool			 authed;	/* have a nonce: sign */
	bool			 started;	/* flow: first packets sent */
	bool			 backlog;	/* on tl.backlog */
	uint16_t		 chan;
	uint16_t		 reqlen;
	uint32_t		 events;	/* epoll interest, 0 = none */
	uint32_t		 apos;		/* index in tl.active */
	uint32_t		 partner;
	uint8_t			 tid[STUN_TID_LEN];
	uint64_t		 sent_ns;	/* last transmission of req */
	uint64_t		 start_ns;	/* transaction, or flow start */
	uint64_t		 next_ns;	/* paced: next packet due */
	uint64_t		 nsent;		/* paced: packets due so far */
	uint64_t		 seq;		/* last flow packet sent */
	struct sockaddr_in	 addr;		/* relayed; raw: own address */
	uint8_t			*rbuf;		/* stream: bytes not framed */
	uint32_t		 rlen, rcap;
	uint8_t			*wbuf;		/* stream: bytes not sent yet */
	uint32_t		 wlen, wcap;
	char			 nonce[TL_NONCE_MAX];
	uint8_t			 req[TL_REQ_MAX];	/* for retransmission */
};

/* Figures sampled at the edges of a measured interval. */
struct tl_meas {
	bool		begun, ended;
	uint64_t	t0, t1;
	double		cpu0, cpu1;	/* server, -1 when unknown */
	double		gen0, gen1;	/* this process */
};

struct tl;
typedef void (*tl_start_fn)(struct tl *, struct tl_client *, uint64_t);

struct tl {
	/* Options. */
	int			 mode;
	int			 transport;
	struct sockaddr_in	 server;
	struct sockaddr_in	 target;
	bool			 have_server, have_target;
	const char		*user;
	const char		*pass;
	struct in_addr		 src[TL_MAX_SRC];
	int			 nsrc;
	pid_t			 pid;
	uint64_t		 timeout_ns;
	uint32_t		 inflight;
	uint32_t		 count;
	bool			 hold;
	uint32_t		 sessions;
	uint32_t		 size;
	uint32_t		 window;	/* 0: paced */
	double			 rate;
	double			 duration;
	double			 warmup;

	int			 ep;
	SSL_CTX			*ssl_ctx;
	struct tl_client	*cl;
	uint32_t		 ncl;
	uint32_t		 tid_seq;
	uint32_t		 tid_salt;
	char			 realm[TL_REALM_MAX];
	uint8_t			 key[16];

	/* The transaction phase running now. */
	uint32_t		*active;	/* clients in a transaction */
	uint32_t		 nactive;
	uint32_t		 ndone;
	uint32_t		 ok;
	uint32_t		 failed;
	uint32_t		 err[TL_ERR_MAX];

	/* TLS clients holding decrypted bytes epoll cannot see. */
	uint32_t		*backlog;
	uint32_t		 nbacklog;

	struct mmsghdr		 mmsg[TL_BATCH];
	struct iovec		 iov[TL_BATCH];
	uint8_t			*rx;
	size_t			 rxlen;		/* per datagram */

	/* Flows. */
	struct tl_slot		*slots;		/* window per client */
	uint8_t			*tx;		/* the packet being sent */
	size_t			 txcap;
	bool			 sending;
	uint32_t		 unstarted;
	uint64_t		 m0, m1;	/* measured interval */
	uint64_t		 sent, received;	/* within it */
	uint64_t		 sent_all, received_all;
	uint64_t		 send_errors;
	uint64_t		 bad;
	uint64_t		 dropped;	/* connections lost mid-flow */
	struct lg_hist		 hist;
};

static void	tl_fail(struct tl *, struct tl_client *, int);
static void	tl_send_data(struct tl *, struct tl_client *, uint32_t,
		    uint64_t);

static void
tl_usage(void)
{
	fprintf(stderr,
	    "usage: turn_load --server 127.0.0.1:PORT --mode alloc|flow|raw "
	    "[options]\n"
	    "common: [--transport udp|tcp|tls] [--user U] [--pass P] "
	    "[--src SPEC]\n"
	    "        [--pid PID] [--timeout S] [--inflight W]\n"
	    "alloc:  --count N [--hold]\n"
	    "flow:   --sessions N --size B (--window W | --rate R) "
	    "--duration S\n"
	    "        [--warmup S]\n"
	    "raw:    --target 127.0.0.1:PORT --sessions N --size B\n"
	    "        (--window W | --rate R) --duration S [--warmup S]\n");
	exit(2);
}

static void *
tl_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		lg_die("out of memory");
	return p;
}

static long
tl_num(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "turn_load: bad %s: %s (%ld-%ld)\n", opt, s,
		    min, max);
		exit(2);
	}
	return v;
}

static double
tl_dnum(const char *opt, const char *s, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min) ||
	    !(v <= max)) {
		fprintf(stderr, "turn_load: bad %s: %s (%g-%g)\n", opt, s,
		    min, max);
		exit(2);
	}
	return v;
}

static bool
tl_loopback(struct in_addr a)
{
	return (ntohl(a.s_addr) >> 24) == 127;
}

/* "127.0.0.1:3478", loopback only. */
static int
tl_parse_addr(const char *s, struct sockaddr_in *sin)
{
	char		 host[INET_ADDRSTRLEN];
	const char	*colon;
	char		*end;
	long		 port;

	if ((colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    !tl_loopback(sin->sin_addr))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 ||
	    port > 65535)
		return -1;
	sin->sin_port = htons((uint16_t)port);
	return 0;
}

enum {
	OPT_SERVER = 256, OPT_MODE, OPT_TRANSPORT, OPT_USER, OPT_PASS,
	OPT_SRC, OPT_PID, OPT_TIMEOUT, OPT_INFLIGHT, OPT_COUNT, OPT_HOLD,
	OPT_SESSIONS, OPT_SIZE, OPT_WINDOW, OPT_RATE, OPT_DURATION,
	OPT_WARMUP, OPT_TARGET,
};

static const struct option tl_longopts[] = {
	{ "server",	required_argument,	NULL, OPT_SERVER },
	{ "mode",	required_argument,	NULL, OPT_MODE },
	{ "transport",	required_argument,	NULL, OPT_TRANSPORT },
	{ "user",	required_argument,	NULL, OPT_USER },
	{ "pass",	required_argument,	NULL, OPT_PASS },
	{ "src",	required_argument,	NULL, OPT_SRC },
	{ "pid",	required_argument,	NULL, OPT_PID },
	{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
	{ "inflight",	required_argument,	NULL, OPT_INFLIGHT },
	{ "count",	required_argument,	NULL, OPT_COUNT },
	{ "hold",	no_argument,		NULL, OPT_HOLD },
	{ "sessions",	required_argument,	NULL, OPT_SESSIONS },
	{ "size",	required_argument,	NULL, OPT_SIZE },
	{ "window",	required_argument,	NULL, OPT_WINDOW },
	{ "rate",	required_argument,	NULL, OPT_RATE },
	{ "duration",	required_argument,	NULL, OPT_DURATION },
	{ "warmup",	required_argument,	NULL, OPT_WARMUP },
	{ "target",	required_argument,	NULL, OPT_TARGET },
	{ "help",	no_argument,		NULL, 'h' },
	{ NULL,		0,			NULL, 0 },
};

static void
tl_options(struct tl *t, int argc, char **argv)
{
	const char	*mode = NULL, *src = "127.0.0.1";
	int		 ch, i;

	t->transport = TL_UDP;
	t->user = "u";
	t->pass = "p";
	t->timeout_ns = TL_DEFAULT_TIMEOUT * TL_NS;
	t->inflight = TL_DEFAULT_INFLIGHT;
	t->warmup = 1;
	while ((ch = getopt_long(argc, argv, "h", tl_longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER:
			if (tl_parse_addr(optarg, &t->server) == -1) {
				fprintf(stderr, "turn_load: --server must be "
				    "127.x.x.x:PORT\n");
				exit(2);
			}
			t->have_server = true;
			break;
		case OPT_TARGET:
			if (tl_parse_addr(optarg, &t->target) == -1) {
				fprintf(stderr, "turn_load: --target must be "
				    "127.x.x.x:PORT\n");
				exit(2);
			}
			t->have_target = true;
			break;
		case OPT_MODE:
			mode = optarg;
			break;
		case OPT_TRANSPORT:
			if (strcmp(optarg, "udp") == 0)
				t->transport = TL_UDP;
			else if (strcmp(optarg, "tcp") == 0)
				t->transport = TL_TCP;
			else if (strcmp(optarg, "tls") == 0)
				t->transport = TL_TLS;
			else
				tl_usage();
			break;
		case OPT_USER:
			t->user = optarg;
			break;
		case OPT_PASS:
			t->pass = optarg;
			break;
		case OPT_SRC:
			src = optarg;
			break;
		case OPT_PID:
			t->pid = (pid_t)tl_num("--pid", optarg, 1, INT32_MAX);
			break;
		case OPT_TIMEOUT:
			t->timeout_ns = (uint64_t)(tl_dnum("--timeout", optarg,
			    0.1, 86400) * (double)TL_NS);
			break;
		case OPT_INFLIGHT:
			t->inflight = (uint32_t)tl_num("--inflight", optarg, 1,
			    100000);
			break;
		case OPT_COUNT:
			t->count = (uint32_t)tl_num("--count", optarg, 1,
			    1000000);
			break;
		case OPT_HOLD:
			t->hold = true;
			break;
		case OPT_SESSIONS:
			t->sessions = (uint32_t)tl_num("--sessions", optarg, 2,
			    1000000);
			break;
		case OPT_SIZE:
			t->size = (uint32_t)tl_num("--size", optarg,
			    TL_HDR_LEN, TL_MAX_SIZE);
			break;
		case OPT_WINDOW:
			t->window = (uint32_t)tl_num("--window", optarg, 1,
			    TL_MAX_WINDOW);
			break;
		case OPT_RATE:
			t->rate = tl_dnum("--rate", optarg, 0.01, 1e6);
			break;
		case OPT_DURATION:
			t->duration = tl_dnum("--duration", optarg, 0.1, 86400);
			break;
		case OPT_WARMUP:
			t->warmup = tl_dnum("--warmup", optarg, 0, 86400);
			break;
		default:
			tl_usage();
		}
	}
	if (optind != argc || mode == NULL)
		tl_usage();
	if ((t->nsrc = lg_parse_sources(src, t->src, TL_MAX_SRC)) < 1) {
		fprintf(stderr, "turn_load: bad --src %s\n", src);
		exit(2);
	}
	for (i = 0; i < t->nsrc; i++)
		if (!tl_loopback(t->src[i])) {
			fprintf(stderr, "turn_load: --src must be 127/8\n");
			exit(2);
		}

	if (strcmp(mode, "alloc") == 0) {
		t->mode = TL_MODE_ALLOC;
		if (!t->have_server || t->count == 0)
			tl_usage();
		return;
	}
	if (strcmp(mode, "flow") == 0) {
		t->mode = TL_MODE_FLOW;
		if (!t->have_server)
			tl_usage();
	} else if (strcmp(mode, "raw") == 0) {
		t->mode = TL_MODE_RAW;
		if (!t->have_target || t->transport != TL_UDP)
			tl_usage();
	} else
		tl_usage();
	if (t->sessions == 0 || t->sessions % 2 != 0 || t->size == 0 ||
	    t->duration == 0 || (t->window == 0) == (t->rate == 0)) {
		fprintf(stderr, "turn_load: %s needs an even --sessions, "
		    "--size, --duration and one of --window, --rate\n", mode);
		exit(2);
	}
}

/*
 * utime + stime of every thread of pid, from /proc/PID/stat, in seconds;
 * -1 when there is no pid or it cannot be read.
 */
static double
tl_proc_cpu(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	ssize_t			 n;
	int			 fd;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime (proc(5), fields 3-15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double
tl_self_cpu(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
tl_meas_begin(struct tl *t, struct tl_meas *ms, uint64_t now)
{
	ms->begun = true;
	ms->t0 = now;
	ms->cpu0 = tl_proc_cpu(t->pid);
	ms->gen0 = tl_self_cpu();
}

static void
tl_meas_end(struct tl *t, struct tl_meas *ms, uint64_t now)
{
	ms->ended = true;
	ms->t1 = now;
	ms->cpu1 = tl_proc_cpu(t->pid);
	ms->gen1 = tl_self_cpu();
	if (t->pid > 0 && (ms->cpu0 < 0 || ms->cpu1 < 0))
		fprintf(stderr, "turn_load: cannot read /proc/%d/stat\n",
		    (int)t->pid);
}

static double
tl_meas_server(const struct tl_meas *ms)
{
	if (ms->cpu0 < 0 || ms->cpu1 < 0)
		return -1;
	return ms->cpu1 - ms->cpu0;
}

/* A JSON number, or null for the -1 that means "not measured". */
static const char *
tl_jnum(char *buf, size_t len, double v, int prec)
{
	if (v < 0)
		return "null";
	snprintf(buf, len, "%.*f", prec, v);
	return buf;
}

static void
tl_init(struct tl *t)
{
	uint32_t	i;

	if ((t->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		lg_die("epoll_create1: %s", strerror(errno));
	t->rxlen = t->size + 64 > 4096 ? t->size + 64 : 4096;
	t->rx = tl_calloc(TL_BATCH, t->rxlen);
	for (i = 0; i < TL_BATCH; i++) {
		t->iov[i].iov_base = t->rx + i * t->rxlen;
		t->iov[i].iov_len = t->rxlen;
		t->mmsg[i].msg_hdr.msg_iov = &t->iov[i];
		t->mmsg[i].msg_hdr.msg_iovlen = 1;
	}
	t->tid_salt = (uint32_t)getpid() ^ (uint32_t)lg_now_ns();
	t->m0 = t->m1 = UINT64_MAX;
	if (t->transport != TL_TLS)
		return;
	if ((t->ssl_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		lg_die("SSL_CTX_new failed");
	/* A benchmark against our own self-signed servers: no verification. */
	SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_NONE, NULL);
	/*
	 * Queued output is retried from a buffer that moves and grows
	 * (tl_write), and thousands of idle connections should not each
	 * keep 32 KB of record buffers.
	 */
	SSL_CTX_set_mode(t->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
}

static void
tl_clients_new(struct tl *t, uint32_t n)
{
	uint32_t	i;

	t->cl = tl_calloc(n, sizeof(*t->cl));
	t->ncl = n;
	t->active = tl_calloc(n, sizeof(*t->active));
	/* Room for a client processed and queued again in the same pass. */
	t->backlog = tl_calloc(2 * (size_t)n, sizeof(*t->backlog));
	for (i = 0; i < n; i++) {
		t->cl[i].fd = -1;
		t->cl[i].partner = i ^ 1;
		/* One channel per allocation; vary it a little anyway. */
		t->cl[i].chan = (uint16_t)(STUN_CHANNEL_MIN + (i / 2) % 0x1000);
	}
}

static uint32_t
tl_idx(const struct tl *t, const struct tl_client *c)
{
	return (uint32_t)(c - t->cl);
}

static int
tl_watch(struct tl *t, struct tl_client *c, uint32_t events)
{
	struct epoll_event	ev;

	if (c->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u32 = tl_idx(t, c);
	if (epoll_ctl(t->ep, c->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
	    c->fd, &ev) == -1)
		return -1;
	c->events = events;
	return 0;
}

/*
 * Close without a goodbye: no Refresh 0, no close_notify. The buffers
 * stay, since a caller up the stack may still be walking rbuf.
 */
static void
tl_close(struct tl *t, struct tl_client *c)
{
	(void)t;
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->events = 0;
	c->rlen = c->wlen = 0;
}

static void
tl_active_add(struct tl *t, struct tl_client *c)
{
	c->apos = t->nactive;
	t->active[t->nactive++] = tl_idx(t, c);
}

static void
tl_active_del(struct tl *t, struct tl_client *c)
{
	uint32_t	last = t->active[--t->nactive];

	t->active[c->apos] = last;
	t->cl[last].apos = c->apos;
}

/* End c's transaction: code 0 for success, else an err[] slot. */
static void
tl_finish(struct tl *t, struct tl_client *c, int code)
{
	tl_active_del(t, c);
	t->ndone++;
	if (code == 0) {
		c->state = TL_READY;
		t->ok++;
		return;
	}
	tl_close(t, c);
	c->state = TL_FAILED;
	t->failed++;
	t->err[code]++;
}

static void
tl_fail(struct tl *t, struct tl_client *c, int code)
{
	if (c->state >= TL_CONNECT && c->state <= TL_RELEASE) {
		tl_finish(t, c, code);
		return;
	}
	if (c->state == TL_READY)
		t->dropped++;
	tl_close(t, c);
	c->state = TL_FAILED;
}

static void
tl_err_name(int code, char *buf, size_t len)
{
	static const char	*names[] = {
		[TL_ERR_TIMEOUT] = "timeout", [TL_ERR_IO] = "io",
		[TL_ERR_PROTO] = "proto", [TL_ERR_CLOSED] = "closed",
		[TL_ERR_TLS] = "tls",
	};

	if (code >= 300)
		snprintf(buf, len, "%d", code);
	else
		snprintf(buf, len, "%s", names[code]);
}

/* The err[] counts as JSON ({"401":3,"timeout":1}) or as "401=3 ...". */
static void
tl_print_errors(const struct tl *t, FILE *fp, bool json)
{
	char	name[16];
	int	code;
	bool	first = true;

	if (json)
		fputc('{', fp);
	for (code = 1; code < TL_ERR_MAX; code++) {
		if (t->err[code] == 0 || (code > TL_ERR_TLS && code < 300))
			continue;
		tl_err_name(code, name, sizeof(name));
		if (json)
			fprintf(fp, "%s\"%s\":%u", first ? "" : ",", name,
			    t->err[code]);
		else
			fprintf(fp, " %s=%u", name, t->err[code]);
		first = false;
	}
	if (json)
		fputc('}', fp);
}

/*
 * Queue or send a stream write. Returns the bytes the kernel (or TLS)
 * took, 0 when it would block, -1 when the connection is dead.
 */
static ssize_t
tl_stream_send(struct tl_client *c, const uint8_t *p, size_t len)
{
	ssize_t	n;
	int	e;

	if (c->ssl != NULL) {
		ERR_clear_error();
		n = SSL_write(c->ssl, p, (int)len);
		if (n > 0)
			return n;
		e = SSL_get_error(c->ssl, (int)n);
		return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ?
		    0 : -1;
	}
	n = send(c->fd, p, len, MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

/*
 * Send one whole message. Returns 0 when sent or queued, -1 when dropped
 * (socket buffer or queue full), -2 when the socket is dead.
 *
 * A stream keeps what the kernel did not take in wbuf, and once wbuf is
 * non-empty everything goes behind it: TLS wants a write that would block
 * repeated with the same bytes first, and ChannelData must not interleave.
 */
static int
tl_write(struct tl *t, struct tl_client *c, const uint8_t *p, size_t len)
{
	ssize_t		n;
	uint8_t		*nb;
	size_t		ncap;

	if (c->fd == -1)
		return -2;
	if (c->rbuf == NULL) {
		if (t->mode == TL_MODE_RAW)
			n = sendto(c->fd, p, len, 0,
			    (const struct sockaddr *)&t->target,
			    sizeof(t->target));
		else
			n = send(c->fd, p, len, 0);
		if (n >= 0)
			return 0;
		return errno == EAGAIN || errno == ENOBUFS || errno == EINTR ?
		    -1 : -2;
	}
	if (c->wlen == 0) {
		if ((n = tl_stream_send(c, p, len)) == -1)
			return -2;
		p += n;
		len -= (size_t)n;
		if (len == 0)
			return 0;
	}
	if (c->wlen + len > TL_OUT_MAX)
		return -1;
	if (c->wlen + len > c->wcap) {
		ncap = c->wcap == 0 ? 4096 : c->wcap;
		while (ncap < c->wlen + len)
			ncap *= 2;
		if ((nb = realloc(c->wbuf, ncap)) == NULL)
			lg_die("out of memory");
		c->wbuf = nb;
		c->wcap = (uint32_t)ncap;
	}
	memcpy(c->wbuf + c->wlen, p, len);
	c->wlen += (uint32_t)len;
	return tl_watch(t, c, EPOLLIN | EPOLLOUT) == -1 ? -2 : 0;
}

/* Push out queued stream bytes; -1 when the connection is dead. */
static int
tl_flush(struct tl *t, struct tl_client *c)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < 64 && c->wlen > 0; i++) {
		if ((n = tl_stream_send(c, c->wbuf, c->wlen)) == -1)
			return -1;
		if (n == 0)
			return 0;
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (uint32_t)n;
	}
	if (c->wlen == 0 && tl_watch(t, c, EPOLLIN) == -1)
		return -1;
	return 0;
}

/* A transaction id that names the client, unique for this run. */
static void
tl_new_tid(struct tl *t, struct tl_client *c)
{
	uint32_t	idx = tl_idx(t, c), seq = ++t->tid_seq;

	memcpy(c->tid, &idx, 4);
	memcpy(c->tid + 4, &seq, 4);
	memcpy(c->tid + 8, &t->tid_salt, 4);
}

/* Build c's request for its state into c->req, with a fresh id. */
static int
tl_build(struct tl *t, struct tl_client *c)
{
	struct stun_builder	 b;
	struct tl_client	*peer = &t->cl[c->partner];
	uint16_t		 method;
	ssize_t			 n;

	switch (c->state) {
	case TL_ALLOC:
		method = STUN_METHOD_ALLOCATE;
		break;
	case TL_PERM:
		method = STUN_METHOD_CREATE_PERMISSION;
		break;
	case TL_BIND:
		method = STUN_METHOD_CHANNEL_BIND;
		break;
	case TL_RELEASE:
		method = STUN_METHOD_REFRESH;
		break;
	default:
		return -1;
	}
	tl_new_tid(t, c);
	stun_build_init_tid(&b, c->req, sizeof(c->req), method,
	    STUN_CLASS_REQUEST, c->tid);
	switch (c->state) {
	case TL_ALLOC:
		/* RFC 8656 §18.11: protocol in the first byte, then RFFU. */
		stun_build_u32(&b, STUN_ATTR_REQUESTED_TRANSPORT,
		    (uint32_t)STUN_TRANSPORT_UDP << 24);
		stun_build_u32(&b, STUN_ATTR_LIFETIME, TL_LIFETIME);
		break;
	case TL_BIND:
		/* RFC 8656 §18.1: channel number, then 2 RFFU bytes. */
		stun_build_u32(&b, STUN_ATTR_CHANNEL_NUMBER,
		    (uint32_t)c->chan << 16);
		/* FALLTHROUGH */
	case TL_PERM:
		stun_build_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS,
		    (const struct sockaddr *)&peer->addr);
		break;
	case TL_RELEASE:
		stun_build_u32(&b, STUN_ATTR_LIFETIME, 0);
		break;
	}
	if (c->authed) {
		stun_build_string(&b, STUN_ATTR_USERNAME, t->user);
		stun_build_string(&b, STUN_ATTR_REALM, t->realm);
		stun_build_string(&b, STUN_ATTR_NONCE, c->nonce);
		stun_build_integrity(&b, t->key, sizeof(t->key));
	}
	if ((n = stun_build_finish(&b)) == -1)
		return -1;
	c->reqlen = (uint16_t)n;
	return 0;
}

static void
tl_transmit(struct tl *t, struct tl_client *c, uint64_t now)
{
	c->tries++;
	c->sent_ns = now;
	/* A datagram dropped here is retransmitted like one lost later. */
	if (tl_write(t, c, c->req, c->reqlen) == -2)
		tl_fail(t, c, TL_ERR_IO);
}

/* (Re)send c's request with a new id: after a 401/438, or to begin. */
static void
tl_send_req(struct tl *t, struct tl_client *c, uint64_t now)
{
	if (tl_build(t, c) == -1) {
		tl_fail(t, c, TL_ERR_PROTO);
		return;
	}
	c->tries = 0;
	tl_transmit(t, c, now);
}

static void
tl_begin(struct tl *t, struct tl_client *c, int state, uint64_t now)
{
	c->state = (uint8_t)state;
	c->stale = 0;
	tl_send_req(t, c, now);
}

/* Keep the nonce, and the realm and its key when the realm is new. */
static int
tl_take_nonce(struct tl *t, struct tl_client *c, const struct stun_attr *realm,
    const struct stun_attr *nonce)
{
	if (nonce->len >= sizeof(c->nonce) ||
	    memchr(nonce->val, '\0', nonce->len) != NULL)
		return -1;
	memcpy(c->nonce, nonce->val, nonce->len);
	c->nonce[nonce->len] = '\0';
	if (realm == NULL)
		return t->realm[0] != '\0' ? 0 : -1;
	if (realm->len >= sizeof(t->realm) || realm->len == 0 ||
	    memchr(realm->val, '\0', realm->len) != NULL)
		return -1;
	if (strlen(t->realm) == realm->len &&
	    memcmp(t->realm, realm->val, realm->len) == 0)
		return 0;
	memcpy(t->realm, realm->val, realm->len);
	t->realm[realm->len] = '\0';
	return stun_longterm_key(t->user, t->realm, t->pass, t->key);
}

static void
tl_on_error(struct tl *t, struct tl_client *c, const struct stun_msg *m,
    uint64_t now)
{
	const struct stun_attr	*a, *realm, *nonce;
	const char		*reason;
	size_t			 rlen;
	int			 code;

	if ((a = stun_msg_get(m, STUN_ATTR_ERROR_CODE)) == NULL ||
	    stun_attr_get_error_code(a, &code, &reason, &rlen) == -1) {
		tl_fail(t, c, TL_ERR_PROTO);
		return;
	}
	realm = stun_msg_get(m, STUN_ATTR_REALM);
	nonce = stun_msg_get(m, STUN_ATTR_NONCE);
	/*
	 * RFC 8489 §9.2.5: a 401 to an unsigned request carries the realm and
	 * nonce to sign with; a 438 carries a fresh nonce for the same
	 * request. A 401 to a signed request means the credentials are
	 * wrong: a failure.
	 */
	if (nonce != NULL && ((code == 401 && !c->authed && realm != NULL) ||
	    (code == 438 && c->stale++ < TL_MAX_STALE))) {
		if (tl_take_nonce(t, c, realm, nonce) == -1) {
			tl_fail(t, c, TL_ERR_PROTO);
			return;
		}
		c->authed = true;
		tl_send_req(t, c, now);
		return;
	}
	tl_fail(t, c, code);
}

static void
tl_on_success(struct tl *t, struct tl_client *c, const struct stun_msg *m,
    uint64_t now)
{
	const struct stun_attr	*a;
	struct sockaddr_storage	 ss;

	switch (c->state) {
	case TL_ALLOC:
		if ((a = stun_msg_get(m, STUN_ATTR_XOR_RELAYED_ADDRESS)) ==
		    NULL || stun_attr_get_addr(m, a, &ss) == -1 ||
		    ss.ss_family != AF_INET) {
			tl_fail(t, c, TL_ERR_PROTO);
			return;
		}
		memcpy(&c->addr, &ss, sizeof(c->addr));
		tl_finish(t, c, 0);
		break;
	case TL_PERM:
		tl_begin(t, c, TL_BIND, now);
		break;
	case TL_BIND:
	case TL_RELEASE:
		tl_finish(t, c, 0);
		break;
	}
}

static void tl_on_payload(struct tl *, struct tl_client *, const uint8_t *,
    size_t, uint64_t);

static void
tl_on_stun(struct tl *t, struct tl_client *c, const uint8_t *p, size_t len,
    uint64_t now)
{
	static const uint16_t	 methods[] = {
		[TL_ALLOC] = STUN_METHOD_ALLOCATE,
		[TL_PERM] = STUN_METHOD_CREATE_PERMISSION,
		[TL_BIND] = STUN_METHOD_CHANNEL_BIND,
		[TL_RELEASE] = STUN_METHOD_REFRESH,
	};
	struct stun_msg		 m;
	const struct stun_attr	*a;

	if (stun_msg_parse(p, len, &m) == -1) {
		t->bad++;
		return;
	}
	/* Relayed data before a channel is bound arrives this way. */
	if (m.cls == STUN_CLASS_INDICATION && m.method == STUN_METHOD_DATA) {
		if ((a = stun_msg_get(&m, STUN_ATTR_DATA)) != NULL)
			tl_on_payload(t, c, a->val, a->len, now);
		return;
	}
	if (m.cls != STUN_CLASS_SUCCESS && m.cls != STUN_CLASS_ERROR)
		return;
	/* Late answers to retransmissions and old transactions. */
	if (c->state < TL_ALLOC || c->state > TL_RELEASE ||
	    m.method != methods[c->state] || m.tid_len != STUN_TID_LEN ||
	    memcmp(m.tid, c->tid, STUN_TID_LEN) != 0)
		return;
	if (m.cls == STUN_CLASS_ERROR)
		tl_on_error(t, c, &m, now);
	else
		tl_on_success(t, c, &m, now);
}

/* A flow packet arrived at client rc. */
static void
tl_on_payload(struct tl *t, struct tl_client *rc, const uint8_t *p,
    size_t len, uint64_t now)
{
	struct tl_hdr		 h;
	struct tl_client	*sc;
	struct tl_slot		*s;

	if (len < TL_HDR_LEN) {
		t->bad++;
		return;
	}
	memcpy(&h, p, sizeof(h));
	if (h.flow >= t->ncl || t->cl[h.flow].partner != tl_idx(t, rc) ||
	    (t->window > 0 && h.slot >= t->window)) {
		t->bad++;
		return;
	}
	t->received_all++;
	if (h.sent_ns >= t->m0 && h.sent_ns < t->m1) {
		t->received++;
		lg_hist_add(&t->hist, now > h.sent_ns ? now - h.sent_ns : 0);
	}
	if (t->window == 0)
		return;
	/* Closed loop: the arrival frees the sender's slot for its next. */
	sc = &t->cl[h.flow];
	s = &t->slots[(size_t)h.flow * t->window + h.slot];
	if (s->seq != h.seq)
		return;		/* declared lost already and replaced */
	s->seq = 0;
	if (t->sending && sc->fd != -1)
		tl_send_data(t, sc, h.slot, now);
}

static void
tl_on_packet(struct tl *t, struct tl_client *c, const uint8_t *p, size_t len,
    uint64_t now)
{
	const uint8_t	*data;
	uint16_t	 chan, dlen;

	if (t->mode == TL_MODE_RAW) {
		if (len < TL_RAW_PREFIX) {
			t->bad++;
			return;
		}
		tl_on_payload(t, c, p + TL_RAW_PREFIX, len - TL_RAW_PREFIX,
		    now);
		return;
	}
	/* RFC 8656 §12: 0b01 in the first two bits is ChannelData. */
	if (len >= STUN_CHANNEL_HEADER_LEN && (p[0] & 0xc0) == 0x40) {
		if (stun_channeldata_parse(p, len, &chan, &data, &dlen) == -1 ||
		    chan != c->chan) {
			t->bad++;
			return;
		}
		tl_on_payload(t, c, data, dlen, now);
		return;
	}
	tl_on_stun(t, c, p, len, now);
}

static void
tl_dgram_read(struct tl *t, struct tl_client *c)
{
	uint64_t	now;
	int		i, n;

	/* Level-triggered: whatever is left is reported again. */
	n = recvmmsg(c->fd, t->mmsg, TL_BATCH, MSG_DONTWAIT, NULL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			tl_fail(t, c, TL_ERR_IO);	/* ICMP unreachable */
		return;
	}
	now = lg_now_ns();
	for (i = 0; i < n && c->fd != -1; i++)
		tl_on_packet(t, c, t->iov[i].iov_base, t->mmsg[i].msg_len, now);
}

/* Hand each whole frame in rbuf on; -1 when c died on the way. */
static int
tl_frames(struct tl *t, struct tl_client *c, uint64_t now)
{
	uint32_t	off = 0;
	ssize_t		fl;

	while (off < c->rlen) {
		fl = stun_frame_len(c->rbuf + off, c->rlen - off);
		if (fl == 0)
			break;
		if (fl < 0 || (size_t)fl > c->rcap) {
			tl_fail(t, c, TL_ERR_PROTO);
			return -1;
		}
		if ((size_t)fl > c->rlen - off)
			break;
		tl_on_packet(t, c, c->rbuf + off, (size_t)fl, now);
		if (c->fd == -1)
			return -1;
		off += (uint32_t)fl;
	}
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return 0;
}

static void
tl_backlog_add(struct tl *t, struct tl_client *c)
{
	if (c->backlog)
		return;
	c->backlog = true;
	t->backlog[t->nbacklog++] = tl_idx(t, c);
}

static void
tl_stream_read(struct tl *t, struct tl_client *c)
{
	ssize_t	n;
	int	i, e;

	for (i = 0; i < TL_READ_ITERS; i++) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			n = SSL_read(c->ssl, c->rbuf + c->rlen,
			    (int)(c->rcap - c->rlen));
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_READ ||
				    e == SSL_ERROR_WANT_WRITE)
					return;
				tl_fail(t, c, e == SSL_ERROR_ZERO_RETURN ?
				    TL_ERR_CLOSED : TL_ERR_TLS);
				return;
			}
		} else {
			n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen,
			    0);
			if (n == 0) {
				tl_fail(t, c, TL_ERR_CLOSED);
				return;
			}
			if (n == -1) {
				if (errno != EAGAIN && errno != EINTR)
					tl_fail(t, c, TL_ERR_IO);
				return;
			}
		}
		c->rlen += (uint32_t)n;
		if (tl_frames(t, c, lg_now_ns()) == -1)
			return;
		/* Plain TCP: level-triggered epoll reports the rest. */
		if (c->ssl == NULL)
			return;
	}
	/* TLS may hold decrypted bytes epoll knows nothing about. */
	if (SSL_has_pending(c->ssl))
		tl_backlog_add(t, c);
}

static void
tl_handshake(struct tl *t, struct tl_client *c, uint64_t now)
{
	int	r, e;

	ERR_clear_error();
	if ((r = SSL_connect(c->ssl)) == 1) {
		if (tl_watch(t, c, EPOLLIN) == -1) {
			tl_fail(t, c, TL_ERR_IO);
			return;
		}
		tl_begin(t, c, TL_ALLOC, now);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		r = tl_watch(t, c, EPOLLIN);
	else if (e == SSL_ERROR_WANT_WRITE)
		r = tl_watch(t, c, EPOLLIN | EPOLLOUT);
	else {
		tl_fail(t, c, TL_ERR_TLS);
		return;
	}
	if (r == -1)
		tl_fail(t, c, TL_ERR_IO);
}

static void
tl_connected(struct tl *t, struct tl_client *c, uint64_t now)
{
	if (t->transport == TL_TLS) {
		if ((c->ssl = SSL_new(t->ssl_ctx)) == NULL ||
		    SSL_set_fd(c->ssl, c->fd) != 1) {
			tl_fail(t, c, TL_ERR_TLS);
			return;
		}
		SSL_set_connect_state(c->ssl);
		c->state = TL_HANDSHAKE;
		tl_handshake(t, c, now);
		return;
	}
	if (tl_watch(t, c, EPOLLIN) == -1) {
		tl_fail(t, c, TL_ERR_IO);
		return;
	}
	tl_begin(t, c, TL_ALLOC, now);
}

static void
tl_on_event(struct tl *t, struct tl_client *c, uint32_t ev, uint64_t now)
{
	socklen_t	len = sizeof(int);
	int		err = 0;

	switch (c->state) {
	case TL_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			tl_fail(t, c, TL_ERR_IO);
			return;
		}
		if (ev & EPOLLOUT)
			tl_connected(t, c, now);
		return;
	case TL_HANDSHAKE:
		tl_handshake(t, c, now);
		return;
	}
	if (c->rbuf == NULL) {
		tl_dgram_read(t, c);
		return;
	}
	if ((ev & EPOLLOUT) && tl_flush(t, c) == -1) {
		tl_fail(t, c, TL_ERR_IO);
		return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		tl_stream_read(t, c);
}

static int
tl_epoll_wait(int ep, struct epoll_event *ev, int max, uint64_t wait_ns)
{
	static bool	no_pwait2;
	struct timespec	ts;
	int		n;

	if (wait_ns > TL_NS)
		wait_ns = TL_NS;
	/* epoll_wait() counts in ms; the paced tick needs finer. */
	if (!no_pwait2) {
		ts.tv_sec = (time_t)(wait_ns / TL_NS);
		ts.tv_nsec = (long)(wait_ns % TL_NS);
		n = epoll_pwait2(ep, ev, max, &ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return n;
		no_pwait2 = true;
	}
	return epoll_wait(ep, ev, max, (int)((wait_ns + 999999) / 1000000));
}

static void
tl_poll(struct tl *t, uint64_t wait_ns)
{
	struct epoll_event	 ev[TL_EVENTS];
	struct tl_client	*c;
	uint64_t		 now;
	uint32_t		 i, nb;
	int			 n;

	if (t->nbacklog > 0)
		wait_ns = 0;
	if ((n = tl_epoll_wait(t->ep, ev, TL_EVENTS, wait_ns)) == -1) {
		if (errno == EINTR)
			return;
		lg_die("epoll_wait: %s", strerror(errno));
	}
	now = lg_now_ns();
	for (i = 0; i < (uint32_t)n; i++) {
		c = &t->cl[ev[i].data.u32];
		if (c->fd != -1)
			tl_on_event(t, c, ev[i].events, now);
	}
	nb = t->nbacklog;
	for (i = 0; i < nb; i++) {
		c = &t->cl[t->backlog[i]];
		c->backlog = false;
		if (c->fd != -1)
			tl_stream_read(t, c);
	}
	memmove(t->backlog, t->backlog + nb,
	    (t->nbacklog - nb) * sizeof(*t->backlog));
	t->nbacklog -= nb;
}

/*
 * A non-blocking socket for c on its source address, in epoll for a
 * datagram socket (a stream is added once connected). UDP toward a TURN
 * server is connected: send() and no stray senders.
 */
static int
tl_socket(struct tl *t, struct tl_client *c)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			one = 1, type;

	type = t->transport == TL_UDP ? SOCK_DGRAM : SOCK_STREAM;
	if ((c->fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		lg_die("socket: %s (%u sockets open)", strerror(errno),
		    tl_idx(t, c));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = t->src[tl_idx(t, c) % (uint32_t)t->nsrc];
	if (type == SOCK_STREAM) {
		/*
		 * The port is picked at connect() for the whole 4-tuple, not
		 * at bind() for the address alone: many more connections.
		 */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (bind(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return -1;
	if (type == SOCK_STREAM)
		return 0;
	if (t->mode == TL_MODE_RAW) {
		if (getsockname(c->fd, (struct sockaddr *)&c->addr, &len) ==
		    -1)
			return -1;
	} else if (connect(c->fd, (struct sockaddr *)&t->server,
	    sizeof(t->server)) == -1)
		return -1;
	return tl_watch(t, c, EPOLLIN);
}

static void
tl_start_alloc(struct tl *t, struct tl_client *c, uint64_t now)
{
	c->start_ns = now;
	c->state = TL_CONNECT;
	tl_active_add(t, c);
	if (tl_socket(t, c) == -1) {
		tl_finish(t, c, TL_ERR_IO);
		return;
	}
	if (t->transport == TL_UDP) {
		tl_begin(t, c, TL_ALLOC, now);
		return;
	}
	if (c->rbuf == NULL) {
		/* Room for two of the largest frames we expect. */
		c->rcap = t->size > 2048 ? 2 * (t->size + 8) : 4096;
		c->rbuf = tl_calloc(1, c->rcap);
	}
	if (connect(c->fd, (struct sockaddr *)&t->server,
	    sizeof(t->server)) == 0) {
		tl_connected(t, c, now);
		return;
	}
	if (errno != EINPROGRESS || tl_watch(t, c, EPOLLOUT) == -1)
		tl_finish(t, c, TL_ERR_IO);
}

static void
tl_start_perm(struct tl *t, struct tl_client *c, uint64_t now)
{
	c->start_ns = now;
	tl_active_add(t, c);
	tl_begin(t, c, TL_PERM, now);
}

/* Retransmit UDP requests and time out transactions. */
static void
tl_scan_txn(struct tl *t, uint64_t now)
{
	struct tl_client	*c;
	uint32_t		 i;

	/* Backwards: finishing moves the last entry into the hole. */
	for (i = t->nactive; i-- > 0;) {
		c = &t->cl[t->active[i]];
		if (t->transport != TL_UDP) {
			if (now - c->start_ns >= TL_STREAM_TXN_NS)
				tl_fail(t, c, TL_ERR_TIMEOUT);
			continue;
		}
		if (c->state < TL_ALLOC || now - c->sent_ns < TL_RTO_NS)
			continue;
		if (c->tries > TL_MAX_RETRANS)
			tl_fail(t, c, TL_ERR_TIMEOUT);
		else
			tl_transmit(t, c, now);
	}
}

static void
tl_start_release(struct tl *t, struct tl_client *c, uint64_t now)
{
	c->start_ns = now;
	tl_active_add(t, c);
	tl_begin(t, c, TL_RELEASE, now);
}

/*
 * Run one kind of transaction (start) for the n clients in list, at most
 * t->inflight at a time, until each has succeeded or failed. When the
 * phase outlives --timeout: die if it must finish, else return -1.
 */
static int
tl_phase(struct tl *t, const uint32_t *list, uint32_t n, tl_start_fn start,
    const char *what, bool must)
{
	uint64_t	now, deadline, next_scan, next_report, wake;
	uint32_t	next = 0;

	t->nactive = t->ndone = t->ok = t->failed = 0;
	memset(t->err, 0, sizeof(t->err));
	now = lg_now_ns();
	deadline = now + t->timeout_ns;
	next_scan = now + TL_SCAN_NS;
	next_report = now + TL_NS;
	while (t->ndone < n) {
		now = lg_now_ns();
		while (t->nactive < t->inflight && next < n)
			start(t, &t->cl[list[next++]], now);
		if (t->ndone >= n)
			break;
		if (now >= deadline && must)
			lg_die("%s: timed out after %.1f s, %u of %u done, "
			    "%u in flight", what, (double)t->timeout_ns / 1e9,
			    t->ndone, n, t->nactive);
		if (now >= deadline) {
			fprintf(stderr, "%s: gave up after %.1f s, %u of %u "
			    "done\n", what, (double)t->timeout_ns / 1e9,
			    t->ndone, n);
			return -1;
		}
		if (now >= next_scan) {
			tl_scan_txn(t, now);
			next_scan = now + TL_SCAN_NS;
		}
		if (now >= next_report) {
			fprintf(stderr, "%s: %u/%u done, %u ok, %u failed, "
			    "%u in flight\n", what, t->ndone, n, t->ok,
			    t->failed, t->nactive);
			next_report += TL_NS;
		}
		wake = next_scan < deadline ? next_scan : deadline;
		tl_poll(t, wake > now ? wake - now : 0);
	}
	fprintf(stderr, "%s: %u ok, %u failed", what, t->ok, t->failed);
	tl_print_errors(t, stderr, false);
	fputc('\n', stderr);
	return 0;
}

/*
 * Delete the UDP allocations left (Refresh, LIFETIME 0) so that a later
 * run against the same server, whose kernel may hand out the same source
 * ports, does not meet them as 437 Allocation Mismatch. Streams need
 * nothing: closing the connection ends the allocation (RFC 8656 §3.1).
 */
static void
tl_release(struct tl *t)
{
	uint32_t	*list, i, n = 0;

	if (t->transport != TL_UDP)
		return;
	list = tl_calloc(t->ncl, sizeof(*list));
	for (i = 0; i < t->ncl; i++)
		if (t->cl[i].state == TL_READY)
			list[n++] = i;
	if (n > 0)
		(void)tl_phase(t, list, n, tl_start_release, "release", false);
	free(list);
}

static uint32_t *
tl_identity(uint32_t n)
{
	uint32_t	*list, i;

	list = tl_calloc(n, sizeof(*list));
	for (i = 0; i < n; i++)
		list[i] = i;
	return list;
}

static int
tl_alloc_main(struct tl *t)
{
	struct tl_meas	 ms;
	uint32_t	*list;
	double		 secs, cpu;
	char		 b1[32], b2[32];
	char		 line[64];

	memset(&ms, 0, sizeof(ms));
	tl_clients_new(t, t->count);
	list = tl_identity(t->count);
	tl_meas_begin(t, &ms, lg_now_ns());
	tl_phase(t, list, t->count, tl_start_alloc, "allocate", true);
	tl_meas_end(t, &ms, lg_now_ns());
	free(list);

	secs = (double)(ms.t1 - ms.t0) / 1e9;
	cpu = tl_meas_server(&ms);
	printf("# result {\"phase\":\"alloc\",\"transport\":\"%s\","
	    "\"count\":%u,\"ok\":%u,\"failed\":%u,\"errors\":",
	    t->transport == TL_UDP ? "udp" : t->transport == TL_TCP ? "tcp" :
	    "tls", t->count, t->ok, t->failed);
	tl_print_errors(t, stdout, true);
	printf(",\"seconds\":%.3f,\"rate\":%.1f,\"server_cpu_s\":%s,"
	    "\"cpu_us_per_alloc\":%s,\"gen_cpu_s\":%.3f}\n", secs,
	    secs > 0 ? t->ok / secs : 0, tl_jnum(b1, sizeof(b1), cpu, 2),
	    tl_jnum(b2, sizeof(b2), cpu >= 0 && t->ok > 0 ?
	    cpu * 1e6 / t->ok : -1, 1), ms.gen1 - ms.gen0);
	fflush(stdout);
	if (t->ok == 0)
		lg_die("no allocation succeeded");
	if (!t->hold) {
		tl_release(t);
		return 0;
	}
	/* The allocations stay (lifetime 600 s) until stdin says go. */
	fprintf(stderr, "holding %u allocations until stdin ends or gets a "
	    "line\n", t->ok);
	if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin))
		lg_die("stdin: %s", strerror(errno));
	return 0;
}

/* Paced sends due, and the staggered start of closed-loop flows. */
static void
tl_tick(struct tl *t, const uint32_t *list, uint32_t n, uint64_t now)
{
	struct tl_client	*c;
	uint32_t		 k, s;
	int			 burst;

	for (k = 0; k < n; k++) {
		c = &t->cl[list[k]];
		if (c->fd == -1)
			continue;
		if (t->window > 0) {
			if (c->started || c->start_ns > now)
				continue;
			c->started = true;
			t->unstarted--;
			for (s = 0; s < t->window && c->fd != -1; s++)
				tl_send_data(t, c, s, now);
			continue;
		}
		/* Behind schedule: catch up a little per tick, no bursts. */
		for (burst = 0; burst < TL_RATE_BURST && c->next_ns <= now &&
		    c->fd != -1; burst++) {
			tl_send_data(t, c, 0, now);
			c->nsent++;
			c->next_ns = c->start_ns + (uint64_t)((double)c->nsent *
			    1e9 / t->rate);
		}
	}
}

/* Closed loop: a packet out for TL_LOSS_NS is lost; send the next. */
static void
tl_scan_loss(struct tl *t, const uint32_t *list, uint32_t n, uint64_t now)
{
	struct tl_client	*c;
	struct tl_slot		*s;
	uint32_t		 k, i;

	for (k = 0; k < n; k++) {
		c = &t->cl[list[k]];
		if (!c->started)
			continue;
		s = &t->slots[(size_t)list[k] * t->window];
		for (i = 0; i < t->window && c->fd != -1; i++) {
			if (s[i].seq == 0 || now - s[i].sent_ns < TL_LOSS_NS)
				continue;
			s[i].seq = 0;
			tl_send_data(t, c, i, now);
		}
	}
}

static void
tl_send_data(struct tl *t, struct tl_client *c, uint32_t slot, uint64_t now)
{
	const struct sockaddr_in	*to;
	struct tl_hdr			 h;
	struct tl_slot			*s;
	ssize_t				 len;
	int				 r;

	/*
	 * Stamp the real send time: a tick sends many packets and a batch
	 * of arrivals triggers many, and the caller's clock reading is as
	 * old as the first of them.
	 */
	now = lg_now_ns();
	h.flow = tl_idx(t, c);
	h.slot = slot;
	h.seq = ++c->seq;
	h.sent_ns = now;
	if (t->mode == TL_MODE_RAW) {
		/* udp_floor: partner's address and port, 2 zero bytes. */
		to = &t->cl[c->partner].addr;
		memcpy(t->tx, &to->sin_addr.s_addr, 4);
		memcpy(t->tx + 4, &to->sin_port, 2);
		t->tx[6] = t->tx[7] = 0;
		memcpy(t->tx + TL_RAW_PREFIX, &h, sizeof(h));
		len = TL_RAW_PREFIX + t->size;
	} else {
		memcpy(t->tx + STUN_CHANNEL_HEADER_LEN, &h, sizeof(h));
		/* RFC 8656 §12.5: padded to 4 bytes over TCP/TLS. */
		len = stun_channeldata_build(t->tx, t->txcap, c->chan,
		    t->tx + STUN_CHANNEL_HEADER_LEN, t->size,
		    t->transport != TL_UDP);
		if (len == -1)
			lg_die("cannot build ChannelData of %u bytes", t->size);
	}
	r = tl_write(t, c, t->tx, (size_t)len);
	/* Even unsent, the slot is taken: the loss scan frees it. */
	if (t->window > 0) {
		s = &t->slots[(size_t)h.flow * t->window + slot];
		s->seq = h.seq;
		s->sent_ns = now;
	}
	if (r == -2) {
		tl_fail(t, c, TL_ERR_IO);
		return;
	}
	if (r == -1) {
		t->send_errors++;
		return;
	}
	t->sent_all++;
	if (now >= t->m0 && now < t->m1)
		t->sent++;
}

/*
 * Run the flows of the n clients in list: warm-up, the measured interval,
 * then up to TL_STRAGGLE_NS for packets still on their way.
 */
static void
tl_load(struct tl *t, const uint32_t *list, uint32_t n, struct tl_meas *ms)
{
	struct tl_client	*c;
	uint64_t		 now, t0, stop = 0, next_tick, next_scan;
	uint64_t		 next_report, wake;
	uint32_t		 k, periods;
	double			 period;

	t->slots = tl_calloc((size_t)t->ncl * (t->window ? t->window : 1),
	    sizeof(*t->slots));
	t->txcap = TL_RAW_PREFIX + STUN_CHANNEL_HEADER_LEN + t->size + 4;
	t->tx = tl_calloc(1, t->txcap);

	now = t0 = lg_now_ns();
	t->m0 = t0 + (uint64_t)(t->warmup * 1e9);
	t->m1 = t->m0 + (uint64_t)(t->duration * 1e9);
	/*
	 * Spread the starts. Closed loop: over TL_WINDOW_RAMP_NS. Paced: each
	 * flow gets its own phase within the period (k/n of it), so that the
	 * sum is evenly spaced, and starts a whole number of periods later,
	 * so that the flows come in over the first second. Starting flow k
	 * at k/n s would not do: at 500/s and 100 flows, every start is a
	 * multiple of the 2 ms period and all flows would send at once.
	 */
	period = t->rate > 0 ? 1e9 / t->rate : 0;
	periods = t->rate >= 2 ? (uint32_t)t->rate : 1;
	for (k = 0; k < n; k++) {
		c = &t->cl[list[k]];
		c->started = false;
		c->nsent = 0;
		if (t->window > 0)
			c->start_ns = t0 + TL_WINDOW_RAMP_NS * k / n;
		else
			c->start_ns = t0 + (uint64_t)(period * k / n +
			    period * (k % periods));
		c->next_ns = c->start_ns;
	}
	t->unstarted = n;
	t->sending = true;
	next_tick = next_scan = next_report = now;
	for (;;) {
		now = lg_now_ns();
		if (!ms->begun && now >= t->m0)
			tl_meas_begin(t, ms, now);
		if (t->sending && now >= t->m1) {
			tl_meas_end(t, ms, now);
			t->sending = false;
			stop = now + TL_STRAGGLE_NS;
		}
		if (!t->sending && (t->received >= t->sent || now >= stop))
			break;
		if (t->sending && now >= next_tick &&
		    (t->window == 0 || t->unstarted > 0)) {
			tl_tick(t, list, n, now);
			next_tick += TL_TICK_NS;
			if (next_tick <= now)
				next_tick = now + TL_TICK_NS;
		}
		if (t->sending && t->window > 0 && now >= next_scan) {
			tl_scan_loss(t, list, n, now);
			next_scan = now + TL_SCAN_NS;
		}
		if (now >= next_report) {
			fprintf(stderr, "flow: %.1f s, sent %" PRIu64
			    ", received %" PRIu64 ", bad %" PRIu64 "\n",
			    (double)(now - t0) / 1e9, t->sent_all,
			    t->received_all, t->bad);
			next_report += TL_NS;
		}
		if (!t->sending)
			wake = stop;
		else {
			wake = ms->begun ? t->m1 : t->m0;
			if ((t->window == 0 || t->unstarted > 0) &&
			    next_tick < wake)
				wake = next_tick;
			if (t->window > 0 && next_scan < wake)
				wake = next_scan;
		}
		if (next_report < wake)
			wake = next_report;
		tl_poll(t, wake > now ? wake - now : 0);
	}
}

static void
tl_load_result(struct tl *t, const struct tl_meas *ms, uint32_t active,
    uint32_t setup_failed)
{
	const struct lg_hist	*h = &t->hist;
	double			 secs, cpu, relayed;
	int64_t			 lost;
	char			 b1[32], b2[32], shape[64];

	secs = (double)(ms->t1 - ms->t0) / 1e9;
	cpu = tl_meas_server(ms);
	/* TURN: each delivery crossed the server twice, one leg per alloc. */
	relayed = (double)t->received * (t->mode == TL_MODE_RAW ? 1 : 2);
	lost = (int64_t)t->sent - (int64_t)t->received;
	if (t->window > 0)
		snprintf(shape, sizeof(shape), "\"mode\":\"window\","
		    "\"window\":%u", t->window);
	else
		snprintf(shape, sizeof(shape), "\"mode\":\"rate\","
		    "\"rate\":%g", t->rate);
	printf("# result {\"phase\":\"%s\",\"transport\":\"%s\","
	    "\"sessions\":%u,\"active_sessions\":%u,\"setup_failed\":%u,"
	    "\"size\":%u,%s,\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ","
	    "\"lost\":%" PRId64 ",\"seconds\":%.3f,\"pkt_per_s\":%.1f,"
	    "\"relayed_per_s\":%.1f,\"lat_us\":{\"p50\":%.1f,\"p90\":%.1f,"
	    "\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},\"server_cpu_s\":%s,"
	    "\"cpu_us_per_relayed\":%s,\"gen_cpu_s\":%.3f,"
	    "\"send_errors\":%" PRIu64 ",\"dropped\":%" PRIu64 "}\n",
	    t->mode == TL_MODE_RAW ? "raw" : "flow",
	    t->transport == TL_UDP ? "udp" : t->transport == TL_TCP ? "tcp" :
	    "tls", t->sessions, active, setup_failed, t->size, shape, t->sent,
	    t->received, lost, secs, secs > 0 ? (double)t->received / secs : 0,
	    secs > 0 ? relayed / secs : 0,
	    (double)lg_hist_pct(h, 0.50) / 1e3,
	    (double)lg_hist_pct(h, 0.90) / 1e3,
	    (double)lg_hist_pct(h, 0.99) / 1e3,
	    (double)lg_hist_pct(h, 0.999) / 1e3, (double)h->max_ns / 1e3,
	    tl_jnum(b1, sizeof(b1), cpu, 2),
	    tl_jnum(b2, sizeof(b2), cpu >= 0 && relayed > 0 ?
	    cpu * 1e6 / relayed : -1, 2), ms->gen1 - ms->gen0,
	    t->send_errors, t->dropped);
	fflush(stdout);
}

/* Clients in list (of n) whose partner is also TL_READY. */
static uint32_t
tl_ready_pairs(struct tl *t, uint32_t *list, uint32_t n)
{
	uint32_t	i, k = 0;

	for (i = 0; i < n; i++)
		if (t->cl[i].state == TL_READY &&
		    t->cl[t->cl[i].partner].state == TL_READY)
			list[k++] = i;
	return k;
}

static int
tl_flow_main(struct tl *t)
{
	struct tl_meas	 ms;
	uint32_t	*list, n = t->sessions, k;

	memset(&ms, 0, sizeof(ms));
	tl_clients_new(t, n);
	list = tl_identity(n);
	tl_phase(t, list, n, tl_start_alloc, "allocate", true);
	if ((k = tl_ready_pairs(t, list, n)) == 0)
		lg_die("no pair of allocations to relay between");
	tl_phase(t, list, k, tl_start_perm, "permission+channel", true);
	if ((k = tl_ready_pairs(t, list, n)) == 0)
		lg_die("no pair of allocations with channels bound");
	fprintf(stderr, "flow: %u sessions relaying\n", k);
	tl_load(t, list, k, &ms);
	tl_load_result(t, &ms, k, n - k);
	if (t->dropped >= k)
		lg_die("every session lost its socket: server gone?");
	tl_release(t);
	free(list);
	return 0;
}

static int
tl_raw_main(struct tl *t)
{
	struct tl_meas	 ms;
	struct tl_client	*c;
	uint32_t	*list, n = t->sessions, i;

	memset(&ms, 0, sizeof(ms));
	tl_clients_new(t, n);
	list = tl_identity(n);
	for (i = 0; i < n; i++) {
		c = &t->cl[i];
		if (tl_socket(t, c) == -1)
			lg_die("raw socket %u: %s", i, strerror(errno));
		c->state = TL_READY;
	}
	tl_load(t, list, n, &ms);
	tl_load_result(t, &ms, n, 0);
	if (t->dropped >= n)
		lg_die("every session lost its socket: forwarder gone?");
	free(list);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct tl	t;
	long			nofile;
	uint32_t		need;

	tl_options(&t, argc, argv);
	/* A TLS peer that goes away must not kill us on the next write. */
	signal(SIGPIPE, SIG_IGN);
	need = (t.mode == TL_MODE_ALLOC ? t.count : t.sessions) + 32;
	if ((nofile = lg_raise_nofile()) != -1 && nofile < (long)need)
		lg_die("need %u file descriptors, the limit is %ld", need,
		    nofile);
	tl_init(&t);
	switch (t.mode) {
	case TL_MODE_ALLOC:
		return tl_alloc_main(&t);
	case TL_MODE_FLOW:
		return tl_flow_main(&t);
	default:
		return tl_raw_main(&t);
	}
}
