/*
 * turnpike — socket address helpers (pure: no sockets, no I/O).
 *
 * Addresses travel as struct sockaddr_storage holding AF_INET or AF_INET6.
 */
#ifndef ADDR_H
#define ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "[v6]:65535" + NUL */
#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 8)

/* A socket address that costs 28 bytes instead of sockaddr_storage's 128. */
union addr_sa {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
};

/* An inclusive range of addresses of one family (denied-peer-ip etc.). */
struct addr_range {
	struct sockaddr_storage	lo;
	struct sockaddr_storage	hi;
};

/*
 * Parse an IP literal: dotted IPv4, or IPv6 with or without brackets.
 * The port is set to 0. Returns 0, or -1 if s is not an address.
 */
int	addr_parse_ip(const char *s, struct sockaddr_storage *out);
/*
 * Parse "ip:port", "[v6]:port", or a bare IP (then port = default_port).
 * Returns 0 or -1.
 */
int	addr_parse_ip_port(const char *s, uint16_t default_port,
	    struct sockaddr_storage *out);
/*
 * Parse a peer range as coturn writes it: "ip", "lo-hi" (same family) or
 * "ip/prefix". Returns 0 or -1.
 */
int	addr_range_parse(const char *s, struct addr_range *out);
bool	addr_range_contains(const struct addr_range *,
	    const struct sockaddr *);

/* "1.2.3.4:5" or "[::1]:5"; with_port false: "1.2.3.4" / "::1". */
const char *addr_format(const struct sockaddr *, bool with_port,
	    char *buf, size_t len);
socklen_t addr_len(const struct sockaddr *);
uint16_t addr_port(const struct sockaddr *);
void	addr_set_port(struct sockaddr *, uint16_t);
/* Same family, IP and port. */
bool	addr_equal(const struct sockaddr *, const struct sockaddr *);
/* Same family and IP, port ignored. */
bool	addr_equal_ip(const struct sockaddr *, const struct sockaddr *);
bool	addr_is_any(const struct sockaddr *);
bool	addr_is_loopback(const struct sockaddr *);
/* IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes AF_INET; others unchanged. */
void	addr_unmap_v4(struct sockaddr_storage *);

#endif
