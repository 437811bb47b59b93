/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * ws_floor — the signaling benchmark's "floor": the least work a
 * WebSocket server can do for sig_load's join load on this kernel. One
 * thread, one level-triggered epoll set, accept4(); per connection a
 * fixed buffer, one read and at most one write per readiness. It does
 * what RFC 6455 asks of any server: it checks the upgrade request (a GET
 * with Upgrade, Sec-WebSocket-Version 13 and a key) and answers it with
 * Sec-WebSocket-Accept (§4.2), refuses unmasked client frames (§5.1),
 * echoes a ping's data in its pong and answers a close with a close, then
 * closes the socket. Every text frame gets a fixed {"cmd":"joined"} frame
 * without being read; a request that is not an upgrade gets a 426.
 * No rooms, no JSON, no credentials, no timers, no logging.
 *
 *	ws_floor --listen 127.0.0.1:PORT
 *
 * Prints "listening PORT" once bound; exits 0 on SIGTERM or SIGINT.
 * Not part of turnpike: bench/sig_bench.py drives it (bench/README.md).
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lg_util.h"

#define WF_BUF		2048	/* a request or a frame must fit */
#define WF_ANSWER_MAX	(2 + 125)	/* the longest answer: a full pong */
#define WF_EVENTS	256
#define WF_FDS_MAX	(65536 + 64)
#define WF_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WF_426		"HTTP/1.1 426 Upgrade Required\r\n" \
			"Content-Length: 0\r\nConnection: close\r\n\r\n"

struct wf_conn {
	bool		open;
	bool		upgraded;
	uint16_t	len;
	uint8_t		buf[WF_BUF];
};

struct wf {
	int		 ep;
	int		 lfd;
	int		 nconns;	/* fds below this index conns */
	struct wf_conn	*conns;
};

static void
wf_usage(void)
{
	fprintf(stderr, "usage: ws_floor --listen IP:PORT\n");
	exit(2);
}

static int
wf_listen(const struct sockaddr_in *sin)
{
	struct sockaddr_in	bound;
	socklen_t		len = sizeof(bound);
	int			fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		lg_die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Accepted sockets inherit it from the listener on Linux. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		lg_die("bind: %s", strerror(errno));
	if (listen(fd, SOMAXCONN) == -1)
		lg_die("listen: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&bound, &len) == -1)
		lg_die("getsockname: %s", strerror(errno));
	printf("listening %u\n", ntohs(bound.sin_port));
	fflush(stdout);
	return fd;
}

static void
wf_close(struct wf *w, int fd)
{
	w->conns[fd].open = false;
	close(fd);		/* leaves the epoll set with it */
}

static void
wf_accept(struct wf *w)
{
	struct epoll_event	ev;
	int			fd;

	for (;;) {
		fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			/* Out of descriptors: the listener stays readable. */
			if (errno == EMFILE || errno == ENFILE)
				usleep(1000);
			return;
		}
		if (fd >= w->nconns) {
			close(fd);	/* over the fd limit we sized for */
			continue;
		}
		w->conns[fd].open = true;
		w->conns[fd].upgraded = false;
		w->conns[fd].len = 0;
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			wf_close(w, fd);
	}
}

/* The 101 answer into out for the request in c; its length, or 0. */
static size_t
wf_upgrade(struct wf_conn *c, size_t head, char *out, size_t cap)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	char		 in[128], accept[64], *line, *v, *e;
	unsigned int	 mdlen;
	int		 n;

	c->buf[head - 1] = '\0';	/* the last '\n' of the head */
	if (strncmp((char *)c->buf, "GET ", 4) != 0 ||
	    strcasestr((char *)c->buf, "\r\nupgrade: websocket") == NULL ||
	    strcasestr((char *)c->buf, "\r\nsec-websocket-version: 13\r")
	    == NULL)
		return 0;
	for (line = strstr((char *)c->buf, "\r\n"); line != NULL;
	    line = strstr(line + 2, "\r\n")) {
		if (strncasecmp(line + 2, "sec-websocket-key:", 18) == 0)
			break;
	}
	if (line == NULL)
		return 0;
	for (v = line + 20; *v == ' '; v++)
		;
	for (e = v; *e != '\r' && *e != ' ' && *e != '\0'; e++)
		;
	n = snprintf(in, sizeof(in), "%.*s" WF_GUID, (int)(e - v), v);
	if (e == v || n <= 0 || (size_t)n >= sizeof(in))
		return 0;
	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)accept, md, (int)mdlen);
	n = snprintf(out, cap, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/*
 * One whole frame at the start of c->buf: its length, 0 if incomplete,
 * -1 if it cannot fit. Its answer (if any) is appended to out.
 */
static ssize_t
wf_frame(struct wf_conn *c, char *out, size_t *olen, bool *bye)
{
	static const char	joined[] = "{\"cmd\":\"joined\"}";
	const uint8_t		*b = c->buf;
	size_t			 need = 2, plen, i;

	if (c->len < 2)
		return 0;
	plen = b[1] & 0x7f;
	if (plen == 126) {
		need += 2;
		if (c->len < need)
			return 0;
		plen = (size_t)b[2] << 8 | b[3];
	} else if (plen == 127)
		return -1;
	if (!(b[1] & 0x80))
		return -1;		/* clients must mask (§5.1) */
	need += 4;
	if (need + plen > WF_BUF)
		return -1;
	if (c->len < need + plen)
		return 0;
	switch (b[0] & 0x0f) {
	case 1:				/* text: the join */
		out[(*olen)++] = (char)0x81;
		out[(*olen)++] = (char)(sizeof(joined) - 1);
		memcpy(out + *olen, joined, sizeof(joined) - 1);
		*olen += sizeof(joined) - 1;
		break;
	case 8:				/* close: 1000 back */
		memcpy(out + *olen, "\x88\x02\x03\xe8", 4);
		*olen += 4;
		*bye = true;
		break;
	case 9:				/* ping: a pong with its data */
		if (plen > 125)
			return -1;
		out[(*olen)++] = (char)0x8a;
		out[(*olen)++] = (char)plen;
		for (i = 0; i < plen; i++)
			out[(*olen)++] = (char)(b[need + i] ^ b[need - 4 + i % 4]);
		break;
	}
	return (ssize_t)(need + plen);
}

/*
 * The answers fit the socket's buffer: a short write would mean a client
 * that does not read, which the join load never is. It is dropped.
 */
static bool
wf_write(int fd, const char *out, size_t len)
{
	return write(fd, out, len) == (ssize_t)len;
}

static void
wf_read(struct wf *w, int fd)
{
	struct wf_conn	*c = &w->conns[fd];
	char		 out[WF_BUF];
	size_t		 olen = 0, used;
	ssize_t		 n;
	uint8_t		*head;
	bool		 bye = false;

	n = read(fd, c->buf + c->len, WF_BUF - c->len);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			wf_close(w, fd);
		return;
	}
	c->len += (uint16_t)n;
	if (!c->upgraded) {
		head = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (head == NULL) {
			if (c->len == WF_BUF)
				wf_close(w, fd);
			return;
		}
		used = (size_t)(head + 4 - c->buf);
		if ((olen = wf_upgrade(c, used, out, sizeof(out))) == 0) {
			/* Not an upgrade (the driver's readiness probe). */
			(void)!write(fd, WF_426, sizeof(WF_426) - 1);
			wf_close(w, fd);
			return;
		}
		c->upgraded = true;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= (uint16_t)used;
	}
	while (!bye) {
		if (olen + WF_ANSWER_MAX > sizeof(out)) {
			if (!wf_write(fd, out, olen))
				break;
			olen = 0;
		}
		if ((n = wf_frame(c, out, &olen, &bye)) == 0)
			break;
		if (n < 0) {
			wf_close(w, fd);
			return;
		}
		memmove(c->buf, c->buf + n, c->len - (size_t)n);
		c->len -= (uint16_t)n;
	}
	if (olen > 0 && !wf_write(fd, out, olen))
		bye = true;
	if (bye)
		wf_close(w, fd);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 ev, evs[WF_EVENTS];
	struct sockaddr_in	 sin;
	struct wf		 w;
	int			 i, n;

	if (argc != 3 || strcmp(argv[1], "--listen") != 0 ||
	    lg_parse_addr4(argv[2], &sin) == -1)
		wf_usage();
	lg_catch_stop();
	memset(&w, 0, sizeof(w));
	w.nconns = (int)lg_raise_nofile();
	if (w.nconns <= 0 || w.nconns > WF_FDS_MAX)
		w.nconns = WF_FDS_MAX;
	if ((w.conns = calloc((size_t)w.nconns, sizeof(*w.conns))) == NULL)
		lg_die("out of memory");
	if ((w.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		lg_die("epoll_create1: %s", strerror(errno));
	w.lfd = wf_listen(&sin);
	ev.events = EPOLLIN;
	ev.data.fd = w.lfd;
	if (epoll_ctl(w.ep, EPOLL_CTL_ADD, w.lfd, &ev) == -1)
		lg_die("epoll_ctl: %s", strerror(errno));
	while (!lg_stop) {
		n = epoll_wait(w.ep, evs, WF_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			lg_die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == w.lfd)
				wf_accept(&w);
			else if (w.conns[evs[i].data.fd].open)
				wf_read(&w, evs[i].data.fd);
		}
	}
	for (i = 0; i < w.nconns; i++)
		if (w.conns[i].open)
			close(i);
	free(w.conns);
	close(w.lfd);
	close(w.ep);
	return 0;
}
