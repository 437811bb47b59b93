/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Stateless nonces. A nonce is
 *
 *	"obMatJos2" <4 base64 chars: security features> <16 hex: time>
 *	<16 hex: HMAC-SHA256(key, time || client IP), first 8 bytes>
 *
 * The cookie and feature bits (RFC 8489 §9.2) tell RFC 8489 clients that
 * PASSWORD-ALGORITHMS is offered. The time and MAC let any worker check a
 * nonce without remembering it, and tie it to the client's IP.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "addr.h"
#include "auth.h"
#include "auth_internal.h"
#include "hmac.h"

/* Security feature set: only bit 0, "Password algorithms", is set. */
#define AUTH_NONCE_FEATURES	"AAAB"
#define AUTH_NONCE_PREFIX	AUTH_NONCE_COOKIE AUTH_NONCE_FEATURES
#define AUTH_NONCE_PREFIX_LEN	(sizeof(AUTH_NONCE_PREFIX) - 1)
#define AUTH_NONCE_LEN		(AUTH_NONCE_PREFIX_LEN + 32)

/* The nonce's MAC for time t and the client's IP; -1 if OpenSSL fails. */
static int
auth_nonce_mac(const struct auth *a, uint64_t t, const struct sockaddr *sa,
    uint8_t mac[8])
{
	uint8_t		 buf[8 + 16], full[32];
	const uint8_t	*ip;
	size_t		 iplen, i;

	for (i = 0; i < 8; i++)
		buf[i] = (uint8_t)(t >> (56 - 8 * i));
	if (sa->sa_family == AF_INET) {
		ip = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		iplen = 4;
	} else {
		ip = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		iplen = 16;
	}
	memcpy(buf + 8, ip, iplen);
	if (hmac_compute(HMAC_SHA256, auth_nonce_key(a), 32, buf, 8 + iplen,
	    NULL, 0, full, sizeof(full)) == -1)
		return -1;
	memcpy(mac, full, 8);
	return 0;
}

size_t
auth_nonce_mint(const struct auth *a, const struct sockaddr *client,
    uint64_t now, char *out, size_t cap)
{
	uint8_t	mac[8];
	size_t	n, i;

	if (cap < AUTH_NONCE_LEN + 1 || auth_nonce_mac(a, now, client, mac) ==
	    -1)
		return 0;
	n = (size_t)snprintf(out, cap, "%s%016llx", AUTH_NONCE_PREFIX,
	    (unsigned long long)now);
	for (i = 0; i < 8; i++)
		n += (size_t)snprintf(out + n, cap - n, "%02x", mac[i]);
	return n;
}

static int
auth_nonce_hex(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t	i;
	int	d;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | (uint64_t)d;
	}
	return 0;
}

enum auth_nonce_result
auth_nonce_check(const struct auth *a, const uint8_t *nonce, size_t len,
    const struct sockaddr *client, uint64_t now, uint64_t max_age)
{
	uint8_t		mac[8];
	uint64_t	t, part;
	size_t		i;

	if (len != AUTH_NONCE_LEN ||
	    memcmp(nonce, AUTH_NONCE_PREFIX, AUTH_NONCE_PREFIX_LEN) != 0)
		return AUTH_NONCE_BAD;
	nonce += AUTH_NONCE_PREFIX_LEN;
	if (auth_nonce_hex(nonce, 16, &t) == -1)
		return AUTH_NONCE_BAD;
	if (auth_nonce_mac(a, t, client, mac) == -1)
		return AUTH_NONCE_BAD;
	for (i = 0; i < 8; i++) {
		if (auth_nonce_hex(nonce + 16 + 2 * i, 2, &part) == -1)
			return AUTH_NONCE_BAD;
		mac[i] ^= (uint8_t)part;
	}
	/* Constant time: any difference leaves a non-zero byte. */
	if (CRYPTO_memcmp(mac, "\0\0\0\0\0\0\0\0", 8) != 0)
		return AUTH_NONCE_BAD;
	/* Workers' clocks may differ by a little: allow 5 s of skew. */
	if (t > now + 5 || (t < now && now - t > max_age))
		return AUTH_NONCE_STALE;
	return AUTH_NONCE_OK;
}
