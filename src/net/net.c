/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Workers: N threads, each with its own event_base and its own
 * SO_REUSEPORT socket on every endpoint. Sockets are opened before any
 * thread starts, so a bind error stops start-up with a clear message.
 * Signals are handled by the main thread only.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <event2/event.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "net.h"
#include "net_internal.h"
#include "sig_server.h"
#include "xmalloc.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "0.1.0"
#endif

struct net {
	struct net_shared	 shared;
	struct sockaddr_storage	*listen_ips;	/* distinct endpoint IPs */
	size_t			 nlisten_ips;
	struct worker		**workers;
	int			 nworkers;
	struct net_endpoint	*endpoints;
	size_t			 nendpoints;
};

static int
net_worker_count(const struct config *cfg)
{
	long	n;

	if (cfg->relay_threads > 0)
		return cfg->relay_threads;
	if (cfg->relay_threads == 0)
		return 1;	/* coturn: 0 means a single thread */
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int
net_worker_open(struct net *net, struct worker *w)
{
	size_t	i;

	for (i = 0; i < net->nendpoints; i++) {
		struct net_endpoint	*e = &net->endpoints[i];

		if (e->proto == NET_UDP) {
			if (udp_open(w, &w->udp[w->nudp], &e->addr) == -1)
				return -1;
			w->nudp++;
		} else {
			if (conn_listen(w, &w->tcp[w->ntcp], &e->addr) == -1)
				return -1;
			w->ntcp++;
		}
	}
	return 0;
}

/* The worker's clocks for the TURN core, once per event callback. */
void
worker_clock(struct worker *w)
{
	struct timespec	mono, real;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	clock_gettime(CLOCK_REALTIME_COARSE, &real);
	w->turn.now = (uint64_t)mono.tv_sec;
	w->turn.now_ms = (uint64_t)mono.tv_sec * 1000 +
	    (uint64_t)mono.tv_nsec / 1000000;
	w->turn.now_unix = (uint64_t)real.tv_sec;
}

/*
 * Stop request, made active by the main thread. Unlike a loopbreak from
 * outside, an active event is not lost if the worker has not entered its
 * loop yet: it runs as soon as the loop starts.
 */
static void
net_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	w->stopping = true;
	event_base_loopbreak(w->base);
}

/* A TURN username revoked by signaling, queued for one worker. */
struct net_revoked {
	struct net_revoked	*next;
	char			 name[];
};

/* Drop the allocations of the usernames signaling revoked; on the tick. */
static void
net_revoke_drain(struct worker *w)
{
	struct net_revoked	*r, *next;

	pthread_mutex_lock(&w->revoke_lock);
	r = w->revoked;
	w->revoked = NULL;
	pthread_mutex_unlock(&w->revoke_lock);
	for (; r != NULL; r = next) {
		next = r->next;
		turn_server_revoke(&w->turn, r->name);
		free(r);
	}
}

/*
 * On the signaling thread: every worker drops the username's allocations
 * at its next tick (within a second). The credential itself stops working
 * at once (auth_revoke); waking every worker for every client that leaves
 * cost more than the rest of its join and leave together.
 */
static void
net_revoke(void *arg, const char *username)
{
	struct net		*net = arg;
	struct net_revoked	*r;
	size_t			 len = strlen(username);
	int			 i;

	for (i = 0; i < net->nworkers; i++) {
		struct worker	*w = net->workers[i];

		r = xmalloc(sizeof(*r) + len + 1);
		memcpy(r->name, username, len + 1);
		pthread_mutex_lock(&w->revoke_lock);
		r->next = w->revoked;
		w->revoked = r;
		pthread_mutex_unlock(&w->revoke_lock);
	}
}

static void
net_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	worker_clock(w);
	net_revoke_drain(w);
	turn_server_expire(&w->turn);
}

static struct worker *
net_worker_new(struct net *net, int id)
{
	struct worker	*w;
	struct timeval	 second = { 1, 0 };

	w = xcalloc(1, sizeof(*w));
	w->id = id;
	w->shared = &net->shared;
	TAILQ_INIT(&w->conns);
	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	turn_ctx_init(&w->turn, &net->shared.turn, &relay_io, w, id);
	worker_clock(w);
	w->tick = event_new(w->base, -1, EV_PERSIST, net_tick_cb, w);
	if (w->tick == NULL || event_add(w->tick, &second) == -1)
		fatalx("cannot start the worker timer");
	if ((w->stop = event_new(w->base, -1, 0, net_stop_cb, w)) == NULL)
		fatalx("cannot create the worker events");
	pthread_mutex_init(&w->revoke_lock, NULL);
	w->udp = xcalloc(net->nendpoints, sizeof(*w->udp));
	w->tcp = xcalloc(net->nendpoints, sizeof(*w->tcp));
	return w;
}

static void
net_worker_free(struct worker *w)
{
	struct net_revoked	*r, *next;
	size_t			 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nudp; i++)
		udp_close(&w->udp[i]);
	for (i = 0; i < w->ntcp; i++)
		conn_unlisten(&w->tcp[i]);
	/*
	 * Run what is already due (frees of closing connections) while
	 * every connection is still alive, free the rest, then let libevent
	 * finish the bufferevents whose release it deferred.
	 */
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	conn_free_all(w);
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	turn_ctx_clear(&w->turn);
	if (w->tick != NULL)
		event_free(w->tick);
	if (w->stop != NULL)
		event_free(w->stop);
	for (r = w->revoked; r != NULL; r = next) {
		next = r->next;
		free(r);
	}
	pthread_mutex_destroy(&w->revoke_lock);
	free(w->udp);
	free(w->tcp);
	if (w->base != NULL)
		event_base_free(w->base);
	conn_pool_free(w);
	free(w);
}

static void
net_log_endpoints(const struct net *net)
{
	char	name[ADDR_STRLEN];
	size_t	i;

	for (i = 0; i < net->nendpoints; i++)
		log_info("listening %s %s%s",
		    net->endpoints[i].proto == NET_UDP ? "udp" : "tcp",
		    addr_format((struct sockaddr *)&net->endpoints[i].addr,
		    true, name, sizeof(name)), net->endpoints[i].proto ==
		    NET_UDP ? "" : net->shared.tls != NULL ? " (plain and tls)" :
		    " (plain)");
}

/* TLS is on when a certificate is configured and no-tls is not. */
static int
net_tls_setup(struct net *net)
{
	const struct config	*cfg = net->shared.cfg;

	if (cfg->no_tls)
		return 0;
	if (cfg->cert == NULL) {
		log_info("tls off: no cert configured (turns: needs cert= "
		    "and pkey=)");
		return 0;
	}
	if ((net->shared.tls = tls_ctx_new(cfg)) == NULL)
		return -1;
	log_info("tls on cert=%s min-version=%s", cfg->cert,
	    cfg->no_tlsv1_2 ? "1.3" : "1.2");
	return 0;
}

/* What TURN clients will be told, and what will go wrong for them. */
static void
net_log_turn(const struct net *net)
{
	const struct config		*cfg = net->shared.cfg;
	const struct turn_shared	*sh = &net->shared.turn;
	const struct sockaddr		*ip;
	union addr_sa			 adv;
	char				 a[ADDR_STRLEN], b[ADDR_STRLEN];
	size_t				 i;

	if (cfg->stun_only)
		return;
	for (i = 0; i < sh->nrelay_ips; i++) {
		ip = (const struct sockaddr *)&sh->relay_ips[i];
		turn_advertised_ip(cfg, ip, &adv);
		log_info("turn relay ip=%s advertised=%s ports=%d-%d",
		    addr_format(ip, false, a, sizeof(a)),
		    addr_format(&adv.sa, false, b, sizeof(b)), cfg->min_port,
		    cfg->max_port);
		if (turn_policy_is_special(&adv.sa) && !addr_is_loopback(ip))
			log_warnx("turn relay address %s is not public: clients "
			    "on the internet cannot reach it; if this host is "
			    "behind 1:1 NAT set external-ip=PUBLIC/%s", a, a);
	}
	if (!cfg->no_auth && cfg->n_users == 0 && !cfg->use_auth_secret &&
	    cfg->userdb == NULL)
		log_info("turn has no users of its own: it accepts only the "
		    "credentials the signaling service mints (add "
		    "user=NAME:PASSWORD, use-auth-secret with static-auth-secret, "
		    "or userdb for more)");
	if (cfg->no_auth)
		log_warnx("turn no-auth: anyone can relay through this server");
	else if (cfg->signal_auth == CONFIG_SIGNAL_AUTH_NONE &&
	    (cfg->n_users > 0 || cfg->use_auth_secret || cfg->userdb != NULL))
		log_warnx("signal-auth=none: whoever reaches /ws or "
		    "/ice-servers gets TURN credentials; in production set "
		    "signal-auth=secret or signal-auth=user");
}

/* The distinct IPs of the endpoints: default relay addresses. */
static void
net_collect_ips(struct net *net)
{
	size_t	i, k;

	net->listen_ips = xcalloc(net->nendpoints, sizeof(*net->listen_ips));
	for (i = 0; i < net->nendpoints; i++) {
		const struct sockaddr	*sa;

		sa = (const struct sockaddr *)&net->endpoints[i].addr;
		for (k = 0; k < net->nlisten_ips; k++)
			if (addr_equal_ip((struct sockaddr *)
			    &net->listen_ips[k], sa))
				break;
		if (k < net->nlisten_ips)
			continue;
		net->listen_ips[net->nlisten_ips] = net->endpoints[i].addr;
		addr_set_port((struct sockaddr *)
		    &net->listen_ips[net->nlisten_ips++], 0);
	}
}

struct net *
net_new(const struct config *cfg)
{
	struct net	*net;
	int		 i;

	net = xcalloc(1, sizeof(*net));
	net->shared.cfg = cfg;
	if (net_tls_setup(net) == -1)
		goto fail;
	if (endpoint_list(cfg, net->shared.tls != NULL, &net->endpoints,
	    &net->nendpoints) == -1)
		goto fail;
	if (net->nendpoints == 0) {
		log_warnx("nothing to listen on (no-udp and no-tcp?)");
		goto fail;
	}
	net_collect_ips(net);
	net->shared.auth = auth_new(cfg);
	turn_shared_init(&net->shared.turn, cfg, net->shared.auth,
	    net->listen_ips, net->nlisten_ips);
	net->shared.turn.stun.software_name = "turnpike/" TURNPIKE_VERSION;
	net->nworkers = net_worker_count(cfg);
	net->workers = xcalloc((size_t)net->nworkers, sizeof(*net->workers));
	for (i = 0; i < net->nworkers; i++) {
		net->workers[i] = net_worker_new(net, i);
		if (net_worker_open(net, net->workers[i]) == -1)
			goto fail;
	}
	net->shared.sig = sigsrv_new(cfg, net->shared.auth, net->shared.tls,
	    net->listen_ips, net->nlisten_ips, net_revoke, net);
	if (net->shared.sig == NULL)
		goto fail;
	net_log_endpoints(net);
	net_log_turn(net);
	return net;
fail:
	net_free(net);
	return NULL;
}

static void *
net_worker_main(void *arg)
{
	struct worker	*w = arg;

	log_debug("worker=%d started", w->id);
	/*
	 * One turn at a time (one epoll_wait and its callbacks), so that
	 * what the turn queued for clients leaves together at its end.
	 */
	while (!w->stopping) {
		if (event_base_loop(w->base, EVLOOP_ONCE |
		    EVLOOP_NO_EXIT_ON_EMPTY) == -1)
			break;
		relay_flush_clients(w);
	}
	log_debug("worker=%d stopped", w->id);
	return NULL;
}

int
net_start(struct net *net)
{
	sigset_t	all, old;
	int		i, rc = 0;

	/* Workers inherit a full mask: signals go to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < net->nworkers; i++) {
		struct worker	*w = net->workers[i];

		if (pthread_create(&w->thread, NULL, net_worker_main, w) !=
		    0) {
			log_warnx("cannot start worker %d", i);
			rc = -1;
			break;
		}
		w->running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0 && sigsrv_start(net->shared.sig) == -1)
		rc = -1;
	if (rc == 0)
		log_info("workers=%d started", net->nworkers);
	return rc;
}

void
net_stop(struct net *net)
{
	int	i;

	if (net == NULL)
		return;
	sigsrv_stop(net->shared.sig);
	for (i = 0; i < net->nworkers; i++)
		if (net->workers[i] != NULL && net->workers[i]->running)
			event_active(net->workers[i]->stop, EV_READ, 0);
	for (i = 0; i < net->nworkers; i++) {
		if (net->workers[i] == NULL || !net->workers[i]->running)
			continue;
		pthread_join(net->workers[i]->thread, NULL);
		net->workers[i]->running = false;
	}
}

void
net_free(struct net *net)
{
	int	i;

	if (net == NULL)
		return;
	net_stop(net);
	sigsrv_free(net->shared.sig);
	for (i = 0; i < net->nworkers; i++)
		net_worker_free(net->workers[i]);
	free(net->workers);
	free(net->endpoints);
	free(net->listen_ips);
	if (net->shared.auth != NULL) {
		turn_shared_clear(&net->shared.turn);
		auth_free(net->shared.auth);
	}
	SSL_CTX_free(net->shared.tls);
	free(net);
}
