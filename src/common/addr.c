/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Socket address helpers: parsing, formatting, comparison and ranges of
 * IPv4/IPv6 addresses. Pure: no sockets are opened here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int
addr_parse_ip(const char *s, struct sockaddr_storage *out)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)out;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)out;
	char			 buf[INET6_ADDRSTRLEN + 2];
	size_t			 n = strlen(s);

	memset(out, 0, sizeof(*out));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static int
addr_parse_port(const char *s, uint16_t *port)
{
	char		*end;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
addr_parse_ip_port(const char *s, uint16_t default_port,
    struct sockaddr_storage *out)
{
	char		 buf[INET6_ADDRSTRLEN + 16];
	const char	*colon, *close;
	uint16_t	 port = default_port;

	if (strlen(s) >= sizeof(buf))
		return -1;
	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		if ((close = strchr(s, ']')) == NULL)
			return -1;
		if (close[1] == ':') {
			if (addr_parse_port(close + 2, &port) == -1)
				return -1;
		} else if (close[1] != '\0')
			return -1;
		memcpy(buf, s, close - s + 1);
		buf[close - s + 1] = '\0';
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		/* one colon: "v4:port" */
		if (addr_parse_port(colon + 1, &port) == -1)
			return -1;
		memcpy(buf, s, colon - s);
		buf[colon - s] = '\0';
	} else
		strcpy(buf, s);		/* bare v4 or v6 */
	if (addr_parse_ip(buf, out) == -1)
		return -1;
	addr_set_port((struct sockaddr *)out, port);
	return 0;
}

/* Address bytes of a v4/v6 sockaddr and their count. */
static const uint8_t *
addr_bytes(const struct sockaddr *sa, size_t *n)
{
	if (sa->sa_family == AF_INET) {
		*n = 4;
		return (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	}
	*n = 16;
	return ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
}

static uint8_t *
addr_bytes_mut(struct sockaddr_storage *ss, size_t *n)
{
	return (uint8_t *)addr_bytes((struct sockaddr *)ss, n);
}

static int
addr_range_prefix(const char *s, const char *slash, struct addr_range *out)
{
	char		 buf[INET6_ADDRSTRLEN + 2];
	char		*end;
	unsigned long	 bits;
	uint8_t		*lo, *hi;
	size_t		 n, i;

	if ((size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	if (addr_parse_ip(buf, &out->lo) == -1)
		return -1;
	if (slash[1] < '0' || slash[1] > '9')
		return -1;
	bits = strtoul(slash + 1, &end, 10);
	lo = addr_bytes_mut(&out->lo, &n);
	if (*end != '\0' || bits > n * 8)
		return -1;
	out->hi = out->lo;
	hi = addr_bytes_mut(&out->hi, &n);
	for (i = 0; i < n; i++) {
		int	keep = (int)bits - (int)i * 8;
		uint8_t	mask = keep >= 8 ? 0xff :
		    keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		lo[i] &= mask;
		hi[i] = lo[i] | (uint8_t)~mask;
	}
	return 0;
}

int
addr_range_parse(const char *s, struct addr_range *out)
{
	char		 buf[INET6_ADDRSTRLEN + 2];
	const char	*sep;
	const uint8_t	*lo, *hi;
	size_t		 n;

	memset(out, 0, sizeof(*out));
	if ((sep = strchr(s, '/')) != NULL)
		return addr_range_prefix(s, sep, out);
	if ((sep = strchr(s, '-')) == NULL) {
		if (addr_parse_ip(s, &out->lo) == -1)
			return -1;
		out->hi = out->lo;
		return 0;
	}
	if ((size_t)(sep - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, sep - s);
	buf[sep - s] = '\0';
	if (addr_parse_ip(buf, &out->lo) == -1 ||
	    addr_parse_ip(sep + 1, &out->hi) == -1 ||
	    out->lo.ss_family != out->hi.ss_family)
		return -1;
	lo = addr_bytes((struct sockaddr *)&out->lo, &n);
	hi = addr_bytes((struct sockaddr *)&out->hi, &n);
	if (memcmp(lo, hi, n) > 0)
		return -1;
	return 0;
}

bool
addr_range_contains(const struct addr_range *r, const struct sockaddr *sa)
{
	const uint8_t	*a, *lo, *hi;
	size_t		 n;

	if (sa->sa_family != r->lo.ss_family)
		return false;
	a = addr_bytes(sa, &n);
	lo = addr_bytes((const struct sockaddr *)&r->lo, &n);
	hi = addr_bytes((const struct sockaddr *)&r->hi, &n);
	return memcmp(a, lo, n) >= 0 && memcmp(a, hi, n) <= 0;
}

const char *
addr_format(const struct sockaddr *sa, bool with_port, char *buf,
    size_t len)
{
	char	ip[INET6_ADDRSTRLEN];
	size_t	n;

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		snprintf(buf, len, "?");
		return buf;
	}
	inet_ntop(sa->sa_family, addr_bytes(sa, &n), ip, sizeof(ip));
	if (!with_port)
		snprintf(buf, len, "%s", ip);
	else if (sa->sa_family == AF_INET)
		snprintf(buf, len, "%s:%u", ip, addr_port(sa));
	else
		snprintf(buf, len, "[%s]:%u", ip, addr_port(sa));
	return buf;
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

void
addr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

bool
addr_equal_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	const uint8_t	*pa, *pb;
	size_t		 n;

	if (a->sa_family != b->sa_family)
		return false;
	pa = addr_bytes(a, &n);
	pb = addr_bytes(b, &n);
	return memcmp(pa, pb, n) == 0;
}

bool
addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return addr_equal_ip(a, b) && addr_port(a) == addr_port(b);
}

bool
addr_is_any(const struct sockaddr *sa)
{
	static const uint8_t	zero[16];
	size_t			n;
	const uint8_t		*p = addr_bytes(sa, &n);

	return memcmp(p, zero, n) == 0;
}

bool
addr_is_loopback(const struct sockaddr *sa)
{
	const uint8_t	*p;
	size_t		 n;

	p = addr_bytes(sa, &n);
	if (sa->sa_family == AF_INET)
		return p[0] == 127;
	return IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)p);
}

void
addr_unmap_v4(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in	 sin;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}
