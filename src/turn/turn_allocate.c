/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The Allocate request (RFC 8656 §7.2): transport, address families
 * (REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY, RFC 8656 §7.2 and
 * RFC 6156), EVEN-PORT and RESERVATION-TOKEN, quotas, the relay address
 * (relay-ip, else the address the client reached) and the public address
 * advertised for it (external-ip).
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "turn_internal.h"
#include "turn_ports.h"
#include "turn_quota.h"
#include "xmalloc.h"

#define TURN_BIND_TRIES		32

/* What the request asked for, once validated. */
struct turn_alloc_wish {
	int		family;		/* AF_INET / AF_INET6 */
	bool		additional_v6;	/* ADDITIONAL-ADDRESS-FAMILY */
	bool		even, reserve;	/* EVEN-PORT, its R bit */
	const uint8_t	*token;		/* RESERVATION-TOKEN */
	bool		dont_fragment;
	uint32_t	lifetime;
};

static int
turn_alloc_family(const struct stun_attr *a, int *family)
{
	if (a->len != 4)
		return 400;
	if (a->val[0] == 0x01)
		*family = AF_INET;
	else if (a->val[0] == 0x02)
		*family = AF_INET6;
	else
		return 440;
	return 0;
}

/* RFC 8656 §7.2 checks, in the RFC's order. 0, or the error code. */
static int
turn_alloc_parse(struct turn_ctx *c, const struct stun_msg *m,
    struct turn_alloc_wish *w)
{
	const struct stun_attr	*t, *ep, *tok, *raf, *aaf, *lt;
	uint32_t		 v;
	int			 code, fam;

	memset(w, 0, sizeof(*w));
	w->family = AF_INET;	/* RFC 8656 §7.2: IPv4 unless asked */
	if ((t = stun_msg_get(m, STUN_ATTR_REQUESTED_TRANSPORT)) == NULL ||
	    t->len != 4)
		return 400;
	if (t->val[0] != TURN_TRANSPORT_UDP || c->sh->cfg->no_udp_relay)
		return 442;
	w->dont_fragment = stun_msg_get(m, STUN_ATTR_DONT_FRAGMENT) != NULL;
	ep = stun_msg_get(m, STUN_ATTR_EVEN_PORT);
	tok = stun_msg_get(m, STUN_ATTR_RESERVATION_TOKEN);
	raf = stun_msg_get(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY);
	aaf = stun_msg_get(m, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY);
	if (aaf == NULL)	/* coturn 4.6's clients use a draft's number */
		aaf = stun_msg_get(m, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY_OLD);
	if (tok != NULL && (ep != NULL || raf != NULL || tok->len != 8))
		return 400;
	if (ep != NULL) {
		if (ep->len < 1)
			return 400;
		w->even = true;
		w->reserve = (ep->val[0] & 0x80) != 0;
	}
	w->token = tok != NULL ? tok->val : NULL;
	/* RFC 8656 §7.2: a reservation has one family, its port is v4/v6. */
	if (raf != NULL && aaf != NULL)
		return 400;
	if (aaf != NULL && (tok != NULL || w->reserve))
		return 400;
	if (raf != NULL && (code = turn_alloc_family(raf, &w->family)) != 0)
		return code;
	if (aaf != NULL) {
		if ((code = turn_alloc_family(aaf, &fam)) != 0 ||
		    fam != AF_INET6)
			return 400;
		w->additional_v6 = true;
	}
	w->lifetime = TURN_DEFAULT_LIFETIME;
	if ((lt = stun_msg_get(m, STUN_ATTR_LIFETIME)) != NULL) {
		if (stun_attr_get_u32(lt, &v) == -1)
			return 400;
		if (v > TURN_DEFAULT_LIFETIME)
			w->lifetime = v;
	}
	if (w->lifetime > (uint32_t)c->sh->cfg->max_allocate_lifetime)
		w->lifetime = (uint32_t)c->sh->cfg->max_allocate_lifetime;
	return 0;
}

/*
 * The relay IP for a family: with relay-ip lines, the first of that
 * family; otherwise the address the client reached if it is of that
 * family, else the first listening address of it. -1 if there is none.
 */
static int
turn_alloc_relay_ip(struct turn_ctx *c, const struct turn_req *r, int family,
    struct sockaddr_storage *ip)
{
	const struct turn_shared	*sh = c->sh;
	size_t				 i;

	if (!sh->relay_ip_configured && r->local->sa_family == family &&
	    !addr_is_any(r->local)) {
		memset(ip, 0, sizeof(*ip));
		memcpy(ip, r->local, addr_len(r->local));
		return 0;
	}
	for (i = 0; i < sh->nrelay_ips; i++) {
		if (sh->relay_ips[i].ss_family == family) {
			*ip = sh->relay_ips[i];
			return 0;
		}
	}
	return -1;
}

void
turn_advertised_ip(const struct config *cfg, const struct sockaddr *relay,
    union addr_sa *out)
{
	const struct config_extip	*x, *match = NULL;
	size_t				 i;

	turn_sa_set(out, relay);
	for (i = 0; i < cfg->n_external_ips; i++) {
		x = &cfg->external_ips[i];
		if (x->pub.ss_family != relay->sa_family)
			continue;
		if (x->has_priv && addr_equal_ip((const struct sockaddr *)
		    &x->priv, relay)) {
			match = x;
			break;
		}
		if (!x->has_priv && match == NULL)
			match = x;
	}
	if (match == NULL)
		return;
	turn_sa_set(out, (const struct sockaddr *)&match->pub);
	addr_set_port(&out->sa, addr_port(relay));
}

/*
 * Give back what a failed bind took: the port, and for a pair the
 * reservation of its successor (cancelled, so it is freed exactly once).
 */
static void
turn_alloc_unport(struct turn_ctx *c, int port, bool pair,
    const uint8_t token[8], bool keep_port)
{
	int	next, tag;

	if (!keep_port)
		turn_ports_put(c->sh->ports, port);
	if (pair && (next = turn_ports_take_reserved(c->sh->ports, token,
	    c->now, &tag)) != -1)
		turn_ports_put(c->sh->ports, next);
}

/* Which of sh->relay_ips ip is, or -1. */
static int
turn_relay_ip_index(const struct turn_shared *sh,
    const struct sockaddr_storage *ip)
{
	size_t	i;

	for (i = 0; i < sh->nrelay_ips; i++)
		if (addr_equal_ip((const struct sockaddr *)&sh->relay_ips[i],
		    (const struct sockaddr *)ip))
			return (int)i;
	return -1;
}

/*
 * Bind relay i of a on ip with a port from the pool, or the given one
 * (a reservation's). Returns 0, or the error code: 508 when no port could
 * be bound.
 */
static int
turn_alloc_open(struct turn_ctx *c, struct turn_alloc *a, int i,
    const struct sockaddr_storage *ip, const struct turn_alloc_wish *w,
    int fixed, uint8_t token[8])
{
	struct turn_relay	*rl = &a->relay[i];
	bool			 pair = i == 0 && w->reserve, busy;
	int			 port, tries;

	for (tries = 0; tries < TURN_BIND_TRIES; tries++) {
		if (fixed != -1)
			port = fixed;
		else if (pair)
			port = turn_ports_get_pair(c->sh->ports, c->now, token,
			    ip->ss_family);
		else
			port = turn_ports_get(c->sh->ports, i == 0 && w->even);
		if (port == -1)
			return 508;
		turn_sa_set(&rl->addr, (const struct sockaddr *)ip);
		addr_set_port(&rl->addr.sa, (uint16_t)port);
		if (c->io->relay_open(c->io_arg, rl, w->dont_fragment) == 0) {
			turn_advertised_ip(c->sh->cfg, &rl->addr.sa,
			    &rl->advertised);
			turn_ports_set_owner(c->sh->ports, port,
			    turn_relay_ip_index(c->sh, ip));
			a->nrelay++;
			return 0;
		}
		busy = errno == EADDRINUSE && fixed == -1;
		/* A port some other program holds sits out a while. */
		turn_alloc_unport(c, port, pair, token, busy);
		if (!busy)
			return 508;
		turn_ports_put_busy(c->sh->ports, port, c->now);
	}
	return 508;
}

static void
turn_alloc_log(const struct turn_ctx *c, const struct turn_alloc *a)
{
	char	client[ADDR_STRLEN], relay[ADDR_STRLEN], adv[ADDR_STRLEN];

	if (!log_enabled(LOG_LEVEL_VERBOSE))
		return;
	log_verbose("alloc=%llx client=%s transport=%s user=%s turn allocate "
	    "ok relay=%s advertised=%s relays=%d lifetime=%llu",
	    (unsigned long long)a->id, addr_format(&a->client.sa, true, client,
	    sizeof(client)), a->transport == TURN_TRANSPORT_UDP ? "udp" : "tcp",
	    a->username, addr_format(&a->relay[0].addr.sa,
	    true, relay, sizeof(relay)), addr_format(&a->relay[0].advertised.sa,
	    true, adv, sizeof(adv)), a->nrelay,
	    (unsigned long long)(a->expires - c->now));
}

static ssize_t
turn_alloc_answer(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, const struct turn_auth_result *au,
    struct turn_alloc *a, int v6_error, const uint8_t *token, uint8_t *out,
    size_t cap)
{
	struct stun_builder	b;
	uint8_t			aec[4];
	int			i;

	stun_build_init(&b, out, cap, STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS,
	    m);
	for (i = 0; i < a->nrelay; i++)
		stun_build_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
		    &a->relay[i].advertised.sa);
	if (v6_error != 0) {
		/* RFC 8656 §7.2: the family that failed, and why. */
		aec[0] = 0x02;
		aec[1] = 0;
		aec[2] = (uint8_t)(v6_error / 100);
		aec[3] = (uint8_t)(v6_error % 100);
		stun_build_attr(&b, STUN_ATTR_ADDRESS_ERROR_CODE, aec, 4);
	}
	stun_build_u32(&b, STUN_ATTR_LIFETIME,
	    (uint32_t)(a->expires - c->now));
	if (token != NULL)
		stun_build_attr(&b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	stun_build_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, r->client);
	return turn_finish(c, &b, m, au);
}

/* Open the relays a asks for; 0 or the error code. */
static int
turn_alloc_relays(struct turn_ctx *c, const struct turn_req *r,
    struct turn_alloc *a, const struct turn_alloc_wish *w, uint8_t token[8],
    int *v6_error)
{
	struct sockaddr_storage	ip;
	int			code, family = w->family, fixed = -1;

	/* RFC 8656 §7.2: a token gives the reserved port, in its family. */
	if (w->token != NULL && (fixed = turn_ports_take_reserved(
	    c->sh->ports, w->token, c->now, &family)) == -1)
		return 508;
	if (turn_alloc_relay_ip(c, r, family, &ip) == -1) {
		if (fixed != -1)
			turn_ports_put(c->sh->ports, fixed);
		return 440;
	}
	if ((code = turn_alloc_open(c, a, 0, &ip, w, fixed, token)) != 0)
		return code;
	if (!w->additional_v6)
		return 0;
	if (turn_alloc_relay_ip(c, r, AF_INET6, &ip) == -1)
		*v6_error = 440;
	else
		*v6_error = turn_alloc_open(c, a, 1, &ip, w, -1, token);
	return 0;
}

ssize_t
turn_allocate(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, const struct turn_auth_result *au,
    uint8_t *out, size_t cap)
{
	struct turn_alloc	*a;
	struct turn_alloc_wish	 w;
	uint8_t			 token[8];
	int			 code, v6_error = 0;

	if ((a = turn_live_alloc(c, r)) != NULL) {
		/* A retransmission gets the same answer; else 437. */
		if (memcmp(a->tid, m->tid, sizeof(a->tid)) != 0)
			return turn_error(c, m, au, 437, out, cap);
		return turn_alloc_answer(c, r, m, au, a, 0, NULL, out, cap);
	}
	if ((code = turn_alloc_parse(c, m, &w)) != 0)
		return turn_error(c, m, au, code, out, cap);
	a = turn_alloc_new(r->client, r->listener, r->transport);
	a->username = xstrndup(au->user, au->ulen);
	if (!turn_quota_take(c->sh->quota, a->username)) {
		turn_alloc_free(a);
		return turn_error(c, m, au, 486, out, cap);
	}
	if ((code = turn_alloc_relays(c, r, a, &w, token, &v6_error)) != 0) {
		turn_release(c, a);
		return turn_error(c, m, au, code, out, cap);
	}
	memcpy(a->tid, m->tid, sizeof(a->tid));
	memcpy(a->key, au->key, au->keylen);
	a->keylen = (uint8_t)au->keylen;
	a->alg = au->alg;
	a->expires = c->now + w.lifetime;
	a->id = c->next_id++;
	turn_table_insert(&c->table, a);
	turn_alloc_log(c, a);
	return turn_alloc_answer(c, r, m, au, a, v6_error,
	    w.reserve ? token : NULL, out, cap);
}
