/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * udp_floor — the benchmark's "floor": the least work a UDP relay can do
 * per packet on this kernel. One socket; recvmmsg() a batch, read each
 * datagram's destination from its first 8 bytes (IPv4 address and port in
 * network order, then 2 zero bytes), send the datagram unchanged there,
 * one sendmmsg() per batch. No allocation per packet, no logging.
 *
 *	udp_floor --listen 127.0.0.1:PORT [--batch 64]
 *
 * Prints "listening PORT" once bound; exits 0 on SIGTERM or SIGINT.
 * Not part of turnpike: bench/turn_bench.py drives it (bench/README.md).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lg_util.h"

#define FLOOR_BATCH_MAX		1024
#define FLOOR_BATCH_DEFAULT	64
#define FLOOR_DGRAM_MAX		65536
#define FLOOR_HDR_LEN		8
/* The same as turnpike asks for its UDP sockets (src/net/sock.c). */
#define FLOOR_SOCK_BUFFER	(4 * 1024 * 1024)

struct floor_slot {
	struct iovec		rx_iov;
	struct iovec		tx_iov;
	struct sockaddr_in	dst;
	uint8_t			buf[FLOOR_DGRAM_MAX];
};

struct floor {
	int			 fd;
	unsigned int		 batch;
	struct floor_slot	*slot;
	struct mmsghdr		*rx;
	struct mmsghdr		*tx;
};

static void
floor_usage(void)
{
	fprintf(stderr, "usage: udp_floor --listen IP:PORT [--batch N]\n");
	exit(2);
}

static int
floor_bind(const struct sockaddr_in *sin)
{
	struct sockaddr_in	bound;
	socklen_t		len = sizeof(bound);
	int			fd, size = FLOOR_SOCK_BUFFER;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		lg_die("socket: %s", strerror(errno));
	/* Best effort: the kernel caps these at net.core.[rw]mem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		lg_die("bind: %s", strerror(errno));
	if (getsockname(fd, (struct sockaddr *)&bound, &len) == -1)
		lg_die("getsockname: %s", strerror(errno));
	printf("listening %u\n", ntohs(bound.sin_port));
	fflush(stdout);
	return fd;
}

static void
floor_init(struct floor *f, int fd, unsigned int batch)
{
	unsigned int	i;

	f->fd = fd;
	f->batch = batch;
	f->slot = calloc(batch, sizeof(*f->slot));
	f->rx = calloc(batch, sizeof(*f->rx));
	f->tx = calloc(batch, sizeof(*f->tx));
	if (f->slot == NULL || f->rx == NULL || f->tx == NULL)
		lg_die("out of memory");
	for (i = 0; i < batch; i++) {
		f->slot[i].rx_iov.iov_base = f->slot[i].buf;
		f->slot[i].rx_iov.iov_len = sizeof(f->slot[i].buf);
		f->slot[i].tx_iov.iov_base = f->slot[i].buf;
		f->rx[i].msg_hdr.msg_iov = &f->slot[i].rx_iov;
		f->rx[i].msg_hdr.msg_iovlen = 1;
		f->slot[i].dst.sin_family = AF_INET;
	}
}

static void
floor_clear(struct floor *f)
{
	free(f->slot);
	free(f->rx);
	free(f->tx);
	close(f->fd);
}

/*
 * Send tx[0..n) with as few sendmmsg() calls as the kernel allows. An
 * ICMP error left by an earlier send is reported once and then retried
 * past; a datagram the kernel refuses otherwise is dropped, as a relay
 * would drop it.
 */
static void
floor_send(struct floor *f, unsigned int n)
{
	unsigned int	sent = 0;
	int		r;

	while (sent < n && !lg_stop) {
		r = sendmmsg(f->fd, f->tx + sent, n - sent, 0);
		if (r > 0)
			sent += (unsigned int)r;
		else if (r == -1 && errno == EINTR)
			continue;
		else if (r == -1 && errno == ECONNREFUSED)
			continue;	/* the pending ICMP error is cleared */
		else
			sent++;
	}
}

/* One batch: receive, address, send. Returns -1 when told to stop. */
static int
floor_batch(struct floor *f)
{
	struct floor_slot	*s;
	unsigned int		 i, n = 0;
	int			 got;

	got = recvmmsg(f->fd, f->rx, f->batch, MSG_WAITFORONE, NULL);
	if (got == -1) {
		if (errno == EINTR)
			return lg_stop ? -1 : 0;
		/* ICMP port unreachable from an earlier send: not ours. */
		if (errno == ECONNREFUSED)
			return 0;
		lg_die("recvmmsg: %s", strerror(errno));
	}
	for (i = 0; i < (unsigned int)got; i++) {
		s = &f->slot[i];
		if (f->rx[i].msg_len < FLOOR_HDR_LEN)
			continue;
		memcpy(&s->dst.sin_addr, s->buf, 4);
		memcpy(&s->dst.sin_port, s->buf + 4, 2);
		f->tx[n].msg_hdr.msg_name = &s->dst;
		f->tx[n].msg_hdr.msg_namelen = sizeof(s->dst);
		f->tx[n].msg_hdr.msg_iov = &s->tx_iov;
		f->tx[n].msg_hdr.msg_iovlen = 1;
		s->tx_iov.iov_len = f->rx[i].msg_len;
		n++;
	}
	floor_send(f, n);
	return lg_stop ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	struct floor		 f;
	const char		*listen_spec = NULL;
	char			*end;
	unsigned long		 batch = FLOOR_BATCH_DEFAULT;
	int			 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_spec = argv[++i];
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			errno = 0;
			batch = strtoul(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || batch < 1 ||
			    batch > FLOOR_BATCH_MAX)
				floor_usage();
		} else
			floor_usage();
	}
	if (listen_spec == NULL || lg_parse_addr4(listen_spec, &sin) == -1)
		floor_usage();

	lg_catch_stop();
	floor_init(&f, floor_bind(&sin), (unsigned int)batch);
	while (floor_batch(&f) == 0)
		;
	floor_clear(&f);
	return 0;
}
