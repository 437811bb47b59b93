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

#include "addr.h"
#include "sig.h"
#include "ws.h"
#include "sig_server.h"

struct event;
struct event_base;
struct sock_listener;

/* Seconds an HTTP request (or a TLS handshake) has to arrive: slowloris. */
#define SIG_HANDSHAKE_TIMEOUT	10
/* Output queued to a client past which it is closed: it stopped reading. */
#define SIG_OUT_HIGH		(1024 * 1024)
/* Descriptors the connection limit leaves free beyond those open at start. */
#define SIG_FD_MARGIN		32
/* Connections over the limit that may wait a moment for a 503. */
#define SIG_REFUSING_MAX	16
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

	struct sock_listener	**listeners;
	size_t			  nlisteners;

	struct sig_hub		 *hub;
	struct sig_ice		  ice;
	char			 *web_root;	/* realpath, or NULL: no pages */
	struct sconn_list	  conns;
	struct sconn_list	  dirty;	/* output not yet written */
	bool			  batching;	/* in a read: write after */
	size_t			  nconns, max_conns;
	size_t			  nrefusing;	/* over the limit, for a 503 */
	uint32_t		  next_id;
};

struct ssl_st;
struct bufferevent;
struct http_request;

enum sconn_state {
	SCONN_SNIFF,		/* waiting for the first byte (TLS or not) */
	SCONN_HTTP,
	SCONN_WS,
	SCONN_CLOSING,		/* flushing, then freed */
};

struct sconn {
	TAILQ_ENTRY(sconn)	 entry;
	TAILQ_ENTRY(sconn)	 dirty_entry;	/* on srv->dirty if dirty */
	struct sigsrv		*srv;
	uint32_t		 id;
	enum sconn_state	 state;
	int			 fd;
	struct ssl_st		*ssl;
	struct event		*sniff;
	struct event		*timer;		/* deadline, then pings */
	struct bufferevent	*bev;
	union addr_sa		 peer, local;	/* not storage: RSS */
	struct ws_reader	 reader;
	struct sig_peer		*sig;
	bool			 freeing;
	bool			 dirty;		/* output we have not written */
	bool			 writing;	/* the bufferevent writes it */
	bool			 refusing;	/* over the limit: 503, close */
};

/* sig_conn.c */
uint64_t sconn_now_ms(void);
void	sconn_http_answer(struct sconn *, int status, const char *type,
	    const char *body, size_t len, bool keep_alive, const char *extra,
	    bool head_only);
void	sconn_http_error(struct sconn *, int status, const char *extra,
	    bool keep_alive);
void	sconn_http_answer_file(struct sconn *, const char *type, int fd,
	    size_t len, bool keep_alive, const char *extra, bool head_only);
void	sconn_frame(struct sconn *, uint8_t opcode, const void *data,
	    size_t len);
/* Call after adding to c's output by hand: it will be written. */
void	sconn_wrote(struct sconn *);
/* sig_route.c: answer one parsed request (the upgrade included) */
void	sconn_route(struct sconn *, const struct http_request *);
void	sconn_new(struct sigsrv *, int fd, struct ssl_st *ssl,
	    const uint8_t *data, size_t len, const struct sockaddr_storage *peer,
	    const struct sockaddr_storage *local, bool sniff);
void	sconn_free_all(struct sigsrv *);
extern const struct sig_ops sconn_sig_ops;

#endif
