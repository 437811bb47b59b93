/*
 * turnpike — shared by src/net/sig_server.c and src/net/sig_conn.c only.
 */
#ifndef SIG_INTERNAL_H
#define SIG_INTERNAL_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sig.h"
#include "sig_server.h"

struct event;
struct event_base;
struct evconnlistener;

/* Seconds an HTTP request (or a TLS handshake) has to arrive: slowloris. */
#define SIG_HANDSHAKE_TIMEOUT	10
/* Output queued to a client past which it is closed: it stopped reading. */
#define SIG_OUT_HIGH		(1024 * 1024)
/* Largest request body accepted (and ignored): no route takes one. */
#define SIG_MAX_BODY		16384

struct sconn;
TAILQ_HEAD(sconn_list, sconn);

struct sig_adopt {
	struct sig_adopt	*next;
	int			 fd;
	struct ssl_st		*ssl;
	struct sockaddr_storage	 peer, local;
	size_t			 len;
	uint8_t			 data[];
};

struct sigsrv {
	const struct config	 *cfg;
	struct auth		 *auth;
	struct ssl_ctx_st	 *tls;
	sigsrv_revoke_cb	  revoke;
	void			 *revoke_arg;

	pthread_t		  thread;
	bool			  running;
	struct event_base	 *base;
	struct event		 *stop_ev;
	struct event		 *adopt_ev;
	pthread_mutex_t		  lock;
	struct sig_adopt	 *adopt;	/* under lock */

	struct evconnlistener	**listeners;
	size_t			  nlisteners;

	struct sig_hub		 *hub;
	struct sig_ice		  ice;
	char			 *web_root;	/* realpath, or NULL: no pages */
	struct sconn_list	  conns;
	size_t			  nconns, max_conns;
	uint32_t		  next_id;
};

/* sig_conn.c */
void	sconn_new(struct sigsrv *, int fd, struct ssl_st *ssl,
	    const uint8_t *data, size_t len, const struct sockaddr_storage *peer,
	    const struct sockaddr_storage *local, bool sniff);
void	sconn_free_all(struct sigsrv *);
extern const struct sig_ops sconn_sig_ops;

#endif
