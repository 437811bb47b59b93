/*
 * turnpike — structures shared by the files of src/net/ only.
 */
#ifndef NET_INTERNAL_H
#define NET_INTERNAL_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "stun_server.h"
#include "turn_server.h"

struct config;
struct event;
struct event_base;
struct evconnlistener;
struct bufferevent;

/* Datagrams read or written per recvmmsg/sendmmsg call. */
#define NET_UDP_BATCH		32
/* Largest datagram accepted; longer ones are truncated and dropped. */
#define NET_UDP_BUFSZ		4096
/* Peer -> client datagrams held for one sendmmsg at the loop turn's end. */
#define NET_PTC_SLOTS		128
/* recvmmsg batches handled per readiness event before yielding. */
#define NET_UDP_ROUNDS		8
/* Largest STUN message (RFC 8489 length field) plus header on a stream. */
#define NET_STREAM_MAX		(65535 + 20)
/* Output queued to a stream client above which it is no longer read. */
#define NET_STREAM_OUT_HIGH	(256 * 1024)
#define NET_STREAM_OUT_LOW	(64 * 1024)
/* A TCP connection silent this long is closed (seconds). */
#define NET_TCP_IDLE_TIMEOUT	60

enum net_proto {
	NET_UDP,
	NET_TCP,
};

/* One address:port the server listens on, in every worker. */
struct net_endpoint {
	struct sockaddr_storage	addr;
	enum net_proto		proto;
	bool			tls_port;	/* tls-listening-port */
};

struct net_udp {
	struct worker		*w;
	int			 fd;
	struct event		*ev;
	struct sockaddr_storage	 local;
};

/*
 * A TCP listener (sock.c) that pauses for a moment when accept() runs out
 * of file descriptors or memory: its event is level-triggered, so trying
 * again at once would spin on a connection it cannot take.
 */
typedef void (*sock_accept_cb)(int fd, struct sockaddr *, int salen,
    void *arg);
struct sock_listener {
	struct evconnlistener	*lev;
	struct event		*resume;
	sock_accept_cb		 accept;
	void			*arg;
	const char		*what;		/* for the log */
	bool			 warned;	/* this shortage is logged */
};

struct net_tcp {
	struct worker		*w;
	struct sock_listener	 listener;
	struct sockaddr_storage	 local;
};

struct conn;
struct conn_msg;
struct net_revoked;
struct sigsrv;
TAILQ_HEAD(conn_list, conn);

/* What a worker and its sockets read but never change. */
struct net_shared {
	const struct config	*cfg;
	struct ssl_ctx_st	*tls;		/* NULL: TLS off */
	struct sigsrv		*sig;		/* HTTP connections go there */
	struct auth		*auth;
	struct turn_shared	 turn;
};

struct worker {
	int			 id;
	pthread_t		 thread;
	bool			 running;
	struct event_base	*base;
	const struct net_shared	*shared;

	struct net_udp		*udp;
	size_t			 nudp;
	struct net_tcp		*tcp;
	size_t			 ntcp;

	struct conn_list	 conns;
	uint32_t		 next_conn_id;

	struct turn_ctx		 turn;
	struct event		*tick;		/* 1 s: lifetimes */
	struct event		*stop;		/* made active to stop */
	pthread_mutex_t		 revoke_lock;
	struct net_revoked	*revoked;	/* under revoke_lock; on tick */
	struct conn_msg		*pool;		/* free TLS message buffers */
	unsigned int		 npool;

	/* UDP batch buffers: reused for every packet, never reallocated. */
	struct mmsghdr		 rx_msgs[NET_UDP_BATCH];
	struct iovec		 rx_iov[NET_UDP_BATCH];
	struct sockaddr_storage	 rx_addr[NET_UDP_BATCH];
	uint8_t			 rx_buf[NET_UDP_BATCH][NET_UDP_BUFSZ];
	struct mmsghdr		 tx_msgs[NET_UDP_BATCH];
	struct iovec		 tx_iov[NET_UDP_BATCH];
	uint8_t			 tx_buf[NET_UDP_BATCH][NET_UDP_BUFSZ];
	/* ChannelData leaving through relay sockets, grouped by socket. */
	struct mmsghdr		 rtx_msgs[NET_UDP_BATCH];
	struct iovec		 rtx_iov[NET_UDP_BATCH];
	int			 rtx_fd[NET_UDP_BATCH];
	union addr_sa		 rtx_addr[NET_UDP_BATCH];	/* rewritten */
	unsigned int		 nrtx;
	/*
	 * Datagrams from peers, framed for their clients, wait here until
	 * the end of the loop turn (relay.c): slots hold what recvmmsg read,
	 * ptc_msgs what leaves.
	 */
	struct mmsghdr		 ptc_rx[NET_UDP_BATCH];
	struct iovec		 ptc_iov[NET_PTC_SLOTS];
	struct sockaddr_storage	 ptc_addr[NET_PTC_SLOTS];
	uint8_t			 ptc_buf[NET_PTC_SLOTS][NET_UDP_BUFSZ];
	struct mmsghdr		 ptc_msgs[NET_PTC_SLOTS];
	int			 ptc_fd[NET_PTC_SLOTS];
	unsigned int		 nptc_slots, nptc;
	bool			 stopping;
};

/* sock.c: first is true for the first worker's socket of an endpoint */
int	 sock_udp_bind(const struct sockaddr_storage *, const char *device,
	    bool first);
int	 sock_tcp_listen(const struct sockaddr_storage *, const char *device,
	    bool first);
int	 sock_peek_first(int fd, uint8_t *first, const char **why);
int	 sock_listener_open(struct sock_listener *, struct event_base *,
	    int fd, sock_accept_cb, void *arg, const char *what);
void	 sock_listener_close(struct sock_listener *);

/* udp.c */
int	 udp_open(struct worker *, struct net_udp *,
	    const struct sockaddr_storage *);
void	 udp_close(struct net_udp *);
/* sendmmsg all n, skipping a datagram the kernel refuses. */
void	 udp_sendmmsg(int fd, struct mmsghdr *, unsigned int n);
void	 udp_rx_prepare(struct worker *, size_t offset, size_t len);

/* conn.c: TCP listeners and connections */
int	 conn_listen(struct worker *, struct net_tcp *,
	    const struct sockaddr_storage *);
void	 conn_unlisten(struct net_tcp *);
void	 conn_free_all(struct worker *);
void	 conn_pool_free(struct worker *);
int	 conn_send(struct conn *, const uint8_t *, size_t);

/* tls.c */
struct ssl_ctx_st *tls_ctx_new(const struct config *);

/* relay.c: relay sockets (struct turn_io) and the peer side of the relay */
extern const struct turn_io relay_io;
void	 relay_queue(struct worker *, struct turn_relay *,
	    const struct sockaddr *peer, const uint8_t *data, size_t len);
void	 relay_flush(struct worker *);
void	 relay_flush_clients(struct worker *);

/* net.c */
void	 worker_clock(struct worker *);

/* endpoint.c */
int	 endpoint_list(const struct config *, bool tls,
	    struct net_endpoint **, size_t *);

#endif
