/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The signaling thread. Every room lives on one event loop: a message
 * between two browsers is then a lookup and a write, with no lock and no
 * hand-over between threads (doc/signaling.md). Connections arrive on the
 * signal-port / signal-tls-port listeners of this thread, or are adopted
 * from the TURN workers, which hand over an HTTP connection found on their
 * ports (fd, TLS session, bytes read) through a locked queue and an event.
 */
#include <sys/resource.h>
#include <netinet/in.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "net_internal.h"
#include "sig.h"
#include "sig_internal.h"
#include "xmalloc.h"

static void
sigsrv_accept_cb(int fd, struct sockaddr *sa, int salen, void *arg)
{
	struct sigsrv		*srv = arg;
	struct sockaddr_storage	 peer, local;
	socklen_t		 len = sizeof(local);

	/* TCP_NODELAY: inherited from the listener (sock_tcp_listen). */
	memset(&peer, 0, sizeof(peer));
	memcpy(&peer, sa, (size_t)salen < sizeof(peer) ? (size_t)salen :
	    sizeof(peer));
	addr_unmap_v4(&peer);
	memset(&local, 0, sizeof(local));
	getsockname(fd, (struct sockaddr *)&local, &len);
	sconn_new(srv, fd, NULL, NULL, 0, &peer, &local, true);
}

/* Take every queued connection from the workers. */
static void
sigsrv_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sigsrv		*srv = arg;
	struct sig_adopt	*a, *next;

	pthread_mutex_lock(&srv->lock);
	a = srv->adopt;
	srv->adopt = NULL;
	pthread_mutex_unlock(&srv->lock);
	for (; a != NULL; a = next) {
		next = a->next;
		sconn_new(srv, a->fd, a->ssl, a->data, a->len, &a->peer,
		    &a->local, false);
		free(a);
	}
}

void
sigsrv_adopt(struct sigsrv *srv, int fd, SSL *ssl, const uint8_t *data,
    size_t len, const struct sockaddr_storage *peer,
    const struct sockaddr_storage *local)
{
	struct sig_adopt	*a, **pp;

	a = xmalloc(sizeof(*a) + len);
	a->next = NULL;
	a->fd = fd;
	a->ssl = ssl;
	a->peer = *peer;
	a->local = *local;
	a->len = len;
	if (len > 0)
		memcpy(a->data, data, len);
	pthread_mutex_lock(&srv->lock);
	for (pp = &srv->adopt; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = a;
	pthread_mutex_unlock(&srv->lock);
	event_active(srv->adopt_ev, EV_READ, 0);
}

static void
sigsrv_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sigsrv	*srv = arg;

	event_base_loopbreak(srv->base);
}

static int
sigsrv_listen(struct sigsrv *srv, const struct sockaddr_storage *ip,
    int port)
{
	struct sockaddr_storage	 ss = *ip;
	struct sock_listener	*l;
	char			 name[ADDR_STRLEN];
	int			 fd;

	addr_set_port((struct sockaddr *)&ss, (uint16_t)port);
	if ((fd = sock_tcp_listen(&ss, srv->cfg->listening_device, true)) ==
	    -1)
		return -1;
	/* Each on its own: libevent keeps a pointer to it. */
	l = xmalloc(sizeof(*l));
	if (sock_listener_open(l, srv->base, fd, sigsrv_accept_cb, srv,
	    "signal") == -1) {
		free(l);
		return -1;
	}
	srv->listeners = xreallocarray(srv->listeners, srv->nlisteners + 1,
	    sizeof(*srv->listeners));
	srv->listeners[srv->nlisteners++] = l;
	log_info("listening tcp %s (signaling: http, ws%s)",
	    addr_format((struct sockaddr *)&ss, true, name, sizeof(name)),
	    srv->tls != NULL ? ", https, wss" : "");
	return 0;
}

/*
 * The web front's directory: web-root, else the pages beside the binary
 * (bin/../examples/web in a checkout) or an installed copy.
 */
static char *
sigsrv_web_root(const struct config *cfg)
{
	char		 exe[PATH_MAX], cand[PATH_MAX + 32], *slash, *real;
	const char	*installed[] = { "/usr/local/share/turnpike/web",
	    "/usr/share/turnpike/web" };
	ssize_t		 n;
	size_t		 i;

	if (cfg->web_root != NULL) {
		if ((real = realpath(cfg->web_root, NULL)) == NULL)
			log_warn("web-root %s", cfg->web_root);
		return real;
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/../examples/web", exe);
		if ((real = realpath(cand, NULL)) != NULL)
			return real;
		snprintf(cand, sizeof(cand), "%s/../../../examples/web", exe);
		if ((real = realpath(cand, NULL)) != NULL)
			return real;	/* build/<variant>/bin */
	}
	for (i = 0; i < sizeof(installed) / sizeof(installed[0]); i++)
		if ((real = realpath(installed[i], NULL)) != NULL)
			return real;
	return NULL;
}

/* The secret REST credentials for signaling clients are made with. */
static char *
sigsrv_secret(const struct config *cfg)
{
	uint8_t	raw[24];
	char	*out;

	if (cfg->static_auth_secrets.n > 0)
		return xstrdup(cfg->static_auth_secrets.v[0]);
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		fatalx("no randomness for the signaling secret");
	out = xmalloc(4 * sizeof(raw) / 3 + 4);
	EVP_EncodeBlock((uint8_t *)out, raw, sizeof(raw));
	return out;
}

/*
 * The start-up banner: where to check this server from a browser, and the
 * iceServers to paste into any Trickle ICE page (a credential for a day).
 */
static void
sigsrv_banner(struct sigsrv *srv, const struct sockaddr_storage *ips,
    size_t nips)
{
	const struct config	*cfg = srv->cfg;
	char			 host[ADDR_STRLEN + 2], ip[ADDR_STRLEN];
	char			 ice[4096], user[320];
	size_t			 i, pick = 0;

	for (i = 0; i < nips; i++)
		if (!addr_is_loopback((const struct sockaddr *)&ips[i])) {
			pick = i;
			break;
		}
	if (cfg->server_name != NULL)
		snprintf(host, sizeof(host), "%s", cfg->server_name);
	else if (cfg->n_external_ips > 0) {
		addr_format((const struct sockaddr *)&cfg->external_ips[0].pub,
		    false, ip, sizeof(ip));
		snprintf(host, sizeof(host), cfg->external_ips[0].pub.ss_family
		    == AF_INET6 ? "[%s]" : "%s", ip);
	} else if (nips > 0) {
		addr_format((const struct sockaddr *)&ips[pick], false, ip,
		    sizeof(ip));
		snprintf(host, sizeof(host), ips[pick].ss_family == AF_INET6 ?
		    "[%s]" : "%s", ip);
	} else
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!cfg->no_tcp)
		log_info("check page: http://%s:%d/check%s", host,
		    cfg->listening_port, srv->tls != NULL ? " (https: on the "
		    "TLS port too)" : "");
	else if (srv->tls != NULL)
		log_info("check page: https://%s:%d/check", host,
		    cfg->tls_listening_port);
	if (sig_ice_json(&srv->ice, "\"trickle-ice\"", host,
	    (uint64_t)time(NULL), ice, sizeof(ice), user, sizeof(user)) > 0)
		log_info("iceServers (for /check or an app; valid %d s): %s",
		    cfg->signal_ice_ttl, ice);
}

struct sigsrv *
sigsrv_new(const struct config *cfg, struct auth *auth, SSL_CTX *tls,
    const struct sockaddr_storage *ips, size_t nips, sigsrv_revoke_cb revoke,
    void *arg)
{
	struct sigsrv	*srv;
	char		*secret;
	size_t		 i;

	srv = xcalloc(1, sizeof(*srv));
	srv->cfg = cfg;
	srv->auth = auth;
	srv->tls = tls;
	srv->revoke = revoke;
	srv->revoke_arg = arg;
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->dirty);
	pthread_mutex_init(&srv->lock, NULL);
	if ((srv->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	srv->stop_ev = event_new(srv->base, -1, 0, sigsrv_stop_cb, srv);
	srv->adopt_ev = event_new(srv->base, -1, 0, sigsrv_adopt_cb, srv);
	if (srv->stop_ev == NULL || srv->adopt_ev == NULL)
		fatalx("cannot create the signaling events");
	secret = sigsrv_secret(cfg);
	auth_set_signal_secret(auth, secret);
	sig_ice_init(&srv->ice, cfg, tls != NULL, secret);
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
	srv->hub = sig_hub_new(cfg, &srv->ice, &sconn_sig_ops, srv);
	if ((srv->web_root = sigsrv_web_root(cfg)) != NULL)
		log_info("web root=%s (/, /call, /check)", srv->web_root);
	else
		log_info("web root: none found, no pages (set web-root=)");
	for (i = 0; i < nips; i++) {
		if ((cfg->signal_port > 0 && sigsrv_listen(srv, &ips[i],
		    cfg->signal_port) == -1) || (cfg->signal_tls_port > 0 &&
		    tls != NULL && sigsrv_listen(srv, &ips[i],
		    cfg->signal_tls_port) == -1)) {
			sigsrv_free(srv);
			return NULL;
		}
	}
	if (cfg->signal_tls_port > 0 && tls == NULL)
		log_warnx("signal-tls-port %d not opened: TLS needs cert=",
		    cfg->signal_tls_port);
	sigsrv_banner(srv, ips, nips);
	return srv;
}

static void *
sigsrv_main(void *arg)
{
	struct sigsrv	*srv = arg;

	event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* Descriptors open now (the workers' sockets, the log...), or -1. */
static long
sigsrv_open_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own */
}

/*
 * Connections: the fd limit, less what the process holds once its workers
 * are set up and a margin. Past it a client gets a 503 rather than wait
 * for an accept() that cannot succeed. TURN allocations made later share
 * the same limit and get 508 when it is spent.
 */
static void
sigsrv_set_max_conns(struct sigsrv *srv)
{
	struct rlimit	rl;
	long		open = sigsrv_open_fds();

	if (open < 0)
		open = 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur > (rlim_t)open + SIG_FD_MARGIN + 256)
		srv->max_conns = (size_t)(rl.rlim_cur - (rlim_t)open -
		    SIG_FD_MARGIN);
	else
		srv->max_conns = 256;
	log_info("signal connections max=%zu", srv->max_conns);
}

int
sigsrv_start(struct sigsrv *srv)
{
	sigset_t	all, old;
	int		rc;

	sigsrv_set_max_conns(srv);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&srv->thread, NULL, sigsrv_main, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("cannot start the signaling thread");
		return -1;
	}
	srv->running = true;
	return 0;
}

void
sigsrv_stop(struct sigsrv *srv)
{
	if (srv == NULL || !srv->running)
		return;
	event_active(srv->stop_ev, EV_READ, 0);
	pthread_join(srv->thread, NULL);
	srv->running = false;
}

void
sigsrv_free(struct sigsrv *srv)
{
	struct sig_adopt	*a, *next;
	size_t			 i;

	if (srv == NULL)
		return;
	sigsrv_stop(srv);
	for (i = 0; i < srv->nlisteners; i++) {
		sock_listener_close(srv->listeners[i]);
		free(srv->listeners[i]);
	}
	free(srv->listeners);
	/* As in net_worker_free(): due frees first, then the rest. */
	event_base_loop(srv->base, EVLOOP_NONBLOCK);
	sconn_free_all(srv);
	event_base_loop(srv->base, EVLOOP_NONBLOCK);
	for (a = srv->adopt; a != NULL; a = next) {
		next = a->next;
		if (a->ssl != NULL)
			SSL_free(a->ssl);
		close(a->fd);
		free(a);
	}
	sig_hub_free(srv->hub);
	sig_ice_clear(&srv->ice);
	free(srv->web_root);
	event_free(srv->stop_ev);
	event_free(srv->adopt_ev);
	event_base_free(srv->base);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
