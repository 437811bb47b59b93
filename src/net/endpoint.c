/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Which addresses and ports the server listens on. With listening-ip lines,
 * exactly those; without, every address of every local interface (as coturn
 * does), so that each socket answers from the address the client reached
 * and that address can later serve as the relay address. IPv6 link-local
 * addresses are skipped: they need a scope and are useless to TURN clients.
 */
#include <sys/types.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "net_internal.h"
#include "xmalloc.h"

static void
endpoint_add(struct net_endpoint **v, size_t *n,
    const struct sockaddr_storage *ip, uint16_t port, enum net_proto proto,
    bool tls_port)
{
	struct net_endpoint	*e;
	size_t			 i;

	for (i = 0; i < *n; i++)
		if ((*v)[i].proto == proto && addr_equal_ip(
		    (struct sockaddr *)&(*v)[i].addr,
		    (const struct sockaddr *)ip) &&
		    addr_port((struct sockaddr *)&(*v)[i].addr) == port)
			return;
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	e = &(*v)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->addr = *ip;
	addr_set_port((struct sockaddr *)&e->addr, port);
	e->proto = proto;
	e->tls_port = tls_port;
}

static bool
endpoint_usable(const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return true;
	if (sa->sa_family != AF_INET6)
		return false;
	return !IN6_IS_ADDR_LINKLOCAL(
	    &((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* Every local interface address, deduplicated. */
static int
endpoint_local_ips(struct sockaddr_storage **ips, size_t *n)
{
	struct ifaddrs	*ifa, *i;
	size_t		 k;

	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs");
		return -1;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (!endpoint_usable(i->ifa_addr))
			continue;
		for (k = 0; k < *n; k++)
			if (addr_equal_ip((struct sockaddr *)&(*ips)[k],
			    i->ifa_addr))
				break;
		if (k < *n)
			continue;
		*ips = xreallocarray(*ips, *n + 1, sizeof(**ips));
		memset(&(*ips)[*n], 0, sizeof(**ips));
		memcpy(&(*ips)[*n], i->ifa_addr, addr_len(i->ifa_addr));
		(*n)++;
	}
	freeifaddrs(ifa);
	return 0;
}

/*
 * The IPs to listen on: the listening-ip lines, where a wildcard (0.0.0.0
 * or ::) stands for every local address of its family, or every local
 * address when there is no line.
 */
static int
endpoint_ips(const struct config *cfg, struct sockaddr_storage **ips,
    size_t *nips)
{
	struct sockaddr_storage	*local = NULL;
	size_t			 nlocal = 0, i, k;
	bool			 all = cfg->n_listening_ips == 0;

	for (i = 0; i < cfg->n_listening_ips; i++)
		if (addr_is_any((struct sockaddr *)&cfg->listening_ips[i]))
			all = true;
	if (all && endpoint_local_ips(&local, &nlocal) == -1)
		return -1;
	*ips = xreallocarray(NULL, cfg->n_listening_ips + nlocal + 1,
	    sizeof(**ips));
	*nips = 0;
	for (i = 0; i < nlocal; i++) {
		for (k = 0; k < cfg->n_listening_ips; k++)
			if (addr_is_any((struct sockaddr *)
			    &cfg->listening_ips[k]) &&
			    cfg->listening_ips[k].ss_family ==
			    local[i].ss_family)
				break;
		if (cfg->n_listening_ips == 0 || k < cfg->n_listening_ips)
			(*ips)[(*nips)++] = local[i];
	}
	for (i = 0; i < cfg->n_listening_ips; i++)
		if (!addr_is_any((struct sockaddr *)&cfg->listening_ips[i]))
			(*ips)[(*nips)++] = cfg->listening_ips[i];
	free(local);
	return 0;
}

/*
 * Every endpoint: UDP and TCP on listening-port, and TCP on
 * tls-listening-port when TLS is on. Both TCP ports accept plain and TLS
 * clients alike (the first bytes tell); only the names differ.
 */
int
endpoint_list(const struct config *cfg, bool tls, struct net_endpoint **out,
    size_t *nout)
{
	struct sockaddr_storage	*ips;
	size_t			 nips, i;
	uint16_t		 port = (uint16_t)cfg->listening_port;

	*out = NULL;
	*nout = 0;
	if (endpoint_ips(cfg, &ips, &nips) == -1)
		return -1;
	for (i = 0; i < nips; i++) {
		if (!cfg->no_udp)
			endpoint_add(out, nout, &ips[i], port, NET_UDP, false);
		if (!cfg->no_tcp)
			endpoint_add(out, nout, &ips[i], port, NET_TCP, false);
		if (tls && cfg->tls_listening_port != cfg->listening_port)
			endpoint_add(out, nout, &ips[i],
			    (uint16_t)cfg->tls_listening_port, NET_TCP, true);
	}
	free(ips);
	return 0;
}
