/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Socket creation with the options every listener needs: non-blocking,
 * close-on-exec, SO_REUSEPORT (one socket per worker on the same address),
 * IPV6_V6ONLY (IPv4 and IPv6 are separate endpoints), an optional
 * SO_BINDTODEVICE, and larger buffers for UDP.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "log.h"
#include "net_internal.h"

#define SOCK_UDP_BUFFER	(4 * 1024 * 1024)

/*
 * SO_REUSEPORT would let a second server (same user) share the port
 * silently. Before the first worker binds, a socket without it must be
 * able to: otherwise someone else holds the address.
 */
static int
sock_probe(const struct sockaddr_storage *ss, int type, const char *name)
{
	int	fd, one = 1, rc = 0;

	if ((fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0)) == -1)
		return 0;	/* the real socket() will report it */
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* TCP: ignore connections of a previous run still in TIME_WAIT. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss,
	    addr_len((const struct sockaddr *)ss)) == -1) {
		if (errno == EADDRINUSE)
			log_warnx("bind %s %s: in use by another program",
			    type == SOCK_DGRAM ? "udp" : "tcp", name);
		else
			log_warn("bind %s %s", type == SOCK_DGRAM ? "udp" :
			    "tcp", name);
		rc = -1;
	}
	close(fd);
	return rc;
}

static int
sock_new(const struct sockaddr_storage *ss, int type, const char *device,
    bool first)
{
	int	fd, one = 1;
	char	name[ADDR_STRLEN];

	addr_format((const struct sockaddr *)ss, true, name, sizeof(name));
	if (first && sock_probe(ss, type, name) == -1)
		return -1;
	fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket %s", name);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1)
		goto fail;
	if (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1)
		goto fail;
	if (device != NULL && *device != '\0' && setsockopt(fd, SOL_SOCKET,
	    SO_BINDTODEVICE, device, (socklen_t)strlen(device)) == -1) {
		log_warn("listening-device %s", device);
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)ss,
	    addr_len((const struct sockaddr *)ss)) == -1) {
		log_warn("bind %s %s", type == SOCK_DGRAM ? "udp" : "tcp",
		    name);
		close(fd);
		return -1;
	}
	return fd;
fail:
	log_warn("setsockopt %s", name);
	close(fd);
	return -1;
}

int
sock_udp_bind(const struct sockaddr_storage *ss, const char *device,
    bool first)
{
	int	fd, size = SOCK_UDP_BUFFER;

	if ((fd = sock_new(ss, SOCK_DGRAM, device, first)) == -1)
		return -1;
	/* Best effort: the kernel caps these at net.core.[rw]mem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return fd;
}

int
sock_tcp_listen(const struct sockaddr_storage *ss, const char *device,
    bool first)
{
	int	fd, one = 1;

	if ((fd = sock_new(ss, SOCK_STREAM, device, first)) == -1)
		return -1;
	/*
	 * Small TURN and signaling messages must not wait for Nagle. Set on
	 * the listener, it is inherited by every accepted socket (Linux):
	 * one system call less per connection.
	 */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/*
	 * The kernel's cap (net.core.somaxconn, 4096 by default): a burst
	 * of connects past the backlog costs each a 1 s SYN retransmit.
	 */
	if (listen(fd, SOMAXCONN) == -1) {
		log_warn("listen");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The first byte waiting on a new connection, left in place (MSG_PEEK):
 * it tells TLS from the rest. Returns 1 with *first set, 0 when there is
 * nothing yet (try again on the next event), or -1 with *why set.
 */
int
sock_peek_first(int fd, uint8_t *first, const char **why)
{
	ssize_t	n = recv(fd, first, 1, MSG_PEEK);

	if (n == 1)
		return 1;
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	*why = n == 0 ? "eof" : "error";
	return -1;
}

/* How long a listener rests after accept() found no descriptor or memory. */
#define SOCK_LISTEN_PAUSE_MS	100

static void
sock_listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sock_listener	*l = arg;

	l->warned = false;
	l->accept(fd, sa, salen, l->arg);
}

static void
sock_listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sock_listener	*l = arg;

	evconnlistener_enable(l->lev);
}

static void
sock_listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct sock_listener	*l = arg;
	struct timeval		 tv = { 0, SOCK_LISTEN_PAUSE_MS * 1000 };
	int			 err = errno;

	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM)
		return;		/* the client's trouble: try the next one */
	/* Once per shortage, not every pause: it may last a while. */
	if (!l->warned)
		log_warnx("%s accept: %s; pausing %d ms at a time until it "
		    "passes", l->what, strerror(err), SOCK_LISTEN_PAUSE_MS);
	l->warned = true;
	evconnlistener_disable(lev);
	event_add(l->resume, &tv);
}

/* Listen on fd (already listening); closes it on failure. */
int
sock_listener_open(struct sock_listener *l, struct event_base *base, int fd,
    sock_accept_cb accept_cb, void *arg, const char *what)
{
	memset(l, 0, sizeof(*l));
	l->accept = accept_cb;
	l->arg = arg;
	l->what = what;
	l->resume = evtimer_new(base, sock_listener_resume_cb, l);
	/* backlog 0: keep sock_tcp_listen()'s */
	l->lev = l->resume == NULL ? NULL : evconnlistener_new(base,
	    sock_listener_accept_cb, l, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (l->lev == NULL) {
		sock_listener_close(l);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->lev, sock_listener_error_cb);
	return 0;
}

void
sock_listener_close(struct sock_listener *l)
{
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->resume != NULL)
		event_free(l->resume);
	l->lev = NULL;
	l->resume = NULL;
}
