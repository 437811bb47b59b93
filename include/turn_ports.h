/*
 * turnpike — the relay port pool: min-port..max-port, shared by every
 * worker (a mutex guards it; taking a port is not on the relay hot path).
 *
 * Ports are handed out round-robin from a random start, so a port just
 * freed is the last to be reused: a late packet for an old allocation does
 * not reach a new one. EVEN-PORT with the R bit reserves the next port
 * under an 8-byte RESERVATION-TOKEN for TURN_PORTS_RESERVE_SECS.
 */
#ifndef TURN_PORTS_H
#define TURN_PORTS_H

#include <stdbool.h>
#include <stdint.h>

#define TURN_PORTS_RESERVE_SECS	30
/* A port another program held stays out of the pool this long. */
#define TURN_PORTS_BUSY_SECS	60

struct turn_ports;

struct turn_ports *turn_ports_new(int min_port, int max_port);
void	turn_ports_free(struct turn_ports *);
/* A free port (even if asked), marked used; -1 when none is left. */
int	turn_ports_get(struct turn_ports *, bool even);
/*
 * An even port whose successor is free too: both are marked used, and the
 * successor is kept under a new token (written to token) until now + 30 s,
 * with tag (the caller's note: the relay's address family).
 */
int	turn_ports_get_pair(struct turn_ports *, uint64_t now,
	    uint8_t token[8], int tag);
/* The port reserved under token (its tag in *tag), or -1. */
int	turn_ports_take_reserved(struct turn_ports *, const uint8_t token[8],
	    uint64_t now, int *tag);
/* Give a port back (also frees expired reservations). */
void	turn_ports_put(struct turn_ports *, int port);
/*
 * A port bind() found in use by some other program: kept out of the pool
 * until now + TURN_PORTS_BUSY_SECS, or the round-robin cursor would come
 * back to it on every pass.
 */
void	turn_ports_put_busy(struct turn_ports *, int port, uint64_t now);
/*
 * Which relay IP holds a port: owner is the caller's index of it (the
 * relay-IP list of struct turn_shared), -1 when the port is given back.
 * Read without the lock, by relay-to-relay traffic between workers: a
 * reader may see the owner of a moment ago, never a torn value.
 */
void	turn_ports_set_owner(struct turn_ports *, int port, int owner);
int	turn_ports_owner(const struct turn_ports *, int port);
/* Release reservations and busy ports older than their deadline. */
void	turn_ports_expire(struct turn_ports *, uint64_t now);
int	turn_ports_available(struct turn_ports *);

#endif
