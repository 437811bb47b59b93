/*
 * turnpike — the network layer: worker threads, listeners, connections.
 *
 * This is the only code that touches sockets and libevent I/O (STYLE.md).
 * N workers each run their own event_base and own SO_REUSEPORT sockets on
 * every listening address, so the kernel spreads clients over workers and
 * a client's packets always reach the same worker.
 */
#ifndef NET_H
#define NET_H

#include <stdbool.h>

struct config;
struct event_base;
struct net;

/*
 * Resolve the listening endpoints from the configuration and open every
 * socket (errors are logged; returns NULL when nothing could be opened or
 * a configured endpoint failed). No thread runs yet.
 */
struct net	*net_new(const struct config *);
/* Start one thread per worker. Returns 0 or -1. */
int		 net_start(struct net *);
/* Ask every worker to stop and wait for them. Safe to call twice. */
void		 net_stop(struct net *);
/* Close every socket and free all state; NULL is ignored. */
void		 net_free(struct net *);

#endif
