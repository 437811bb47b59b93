/*
 * turnpike — the signaling server glue: one thread with its own event_base
 * that owns every HTTP/WebSocket connection and every room (doc/signaling.md
 * says why). It accepts on signal-port and signal-tls-port itself, and
 * adopts connections the TURN workers found to speak HTTP on their ports.
 */
#ifndef SIG_SERVER_H
#define SIG_SERVER_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct auth;
struct config;
struct ssl_st;
struct ssl_ctx_st;
struct sigsrv;

/* Called on the signaling thread when a client's TURN username is revoked. */
typedef void (*sigsrv_revoke_cb)(void *arg, const char *username);

/*
 * Open the signaling listeners (none when both ports are 0) on ips. tls is
 * the shared TLS context or NULL. Returns NULL after logging on failure.
 */
struct sigsrv	*sigsrv_new(const struct config *, struct auth *,
		    struct ssl_ctx_st *tls, const struct sockaddr_storage *ips,
		    size_t nips, sigsrv_revoke_cb, void *arg);
int		 sigsrv_start(struct sigsrv *);
void		 sigsrv_stop(struct sigsrv *);
void		 sigsrv_free(struct sigsrv *);
/*
 * Take over a connection from a worker (thread-safe): fd, its TLS session
 * (or NULL) and the bytes already read from it. The caller gives up all of
 * them, even on failure.
 */
void		 sigsrv_adopt(struct sigsrv *, int fd, struct ssl_st *ssl,
		    const uint8_t *data, size_t len,
		    const struct sockaddr_storage *peer,
		    const struct sockaddr_storage *local);

#endif
