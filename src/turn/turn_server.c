/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The TURN server core: dispatch of STUN messages to the Binding answer and
 * the TURN methods (Refresh, CreatePermission, ChannelBind, Send here;
 * Allocate in turn_allocate.c), lifetimes, and the decisions of the relay
 * data path. Responses are built into the caller's buffer; sockets are
 * reached only through struct turn_io.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "log.h"
#include "turn_internal.h"
#include "turn_ports.h"
#include "turn_quota.h"
#include "xmalloc.h"

/* What external-ip advertises for each relay IP. */
static void
turn_relay_adv_init(struct turn_shared *sh)
{
	const struct sockaddr	*ip;
	size_t			 i;

	sh->relay_adv = xreallocarray(NULL, sh->nrelay_ips + 1,
	    sizeof(*sh->relay_adv));
	for (i = 0; i < sh->nrelay_ips; i++) {
		ip = (const struct sockaddr *)&sh->relay_ips[i];
		/* A wildcard relay-ip is no address to send to or come from. */
		if (addr_is_any(ip))
			turn_sa_set(&sh->relay_adv[i], ip);
		else
			turn_advertised_ip(sh->cfg, ip, &sh->relay_adv[i]);
		addr_set_port(&sh->relay_adv[i].sa, 0);
		if (!addr_equal_ip(&sh->relay_adv[i].sa, ip))
			sh->relay_mapped = true;
	}
}

void
turn_shared_init(struct turn_shared *sh, const struct config *cfg,
    const struct auth *auth, const struct sockaddr_storage *listen_ips,
    size_t nlisten_ips)
{
	const struct sockaddr_storage	*ips = cfg->relay_ips;
	size_t				 n = cfg->n_relay_ips, i;

	memset(sh, 0, sizeof(*sh));
	sh->cfg = cfg;
	sh->auth = auth;
	sh->ports = turn_ports_new(cfg->min_port, cfg->max_port);
	sh->quota = turn_quota_new(cfg->total_quota, cfg->user_quota);
	turn_policy_init(&sh->policy, cfg);
	sh->relay_ip_configured = n > 0;
	if (n == 0) {
		ips = listen_ips;
		n = nlisten_ips;
	}
	sh->relay_ips = xreallocarray(NULL, n + 1, sizeof(*sh->relay_ips));
	memcpy(sh->relay_ips, ips, n * sizeof(*ips));
	sh->nrelay_ips = n;
	/* Relays on our own addresses stay reachable from other clients. */
	for (i = 0; i < n; i++)
		turn_policy_add_own(&sh->policy,
		    (const struct sockaddr *)&ips[i]);
	turn_relay_adv_init(sh);
	sh->stun.fingerprint = cfg->fingerprint;
	sh->stun.software = cfg->software_attribute;
	sh->stun.classic = !cfg->no_stun_backward_compatibility;
}

void
turn_shared_clear(struct turn_shared *sh)
{
	turn_ports_free(sh->ports);
	turn_quota_free(sh->quota);
	turn_policy_clear(&sh->policy);
	free(sh->relay_ips);
	free(sh->relay_adv);
	memset(sh, 0, sizeof(*sh));
}

void
turn_ctx_init(struct turn_ctx *c, const struct turn_shared *sh,
    const struct turn_io *io, void *io_arg, int worker_id)
{
	memset(c, 0, sizeof(*c));
	c->sh = sh;
	c->io = io;
	c->io_arg = io_arg;
	c->limiter = auth_limiter_new();
	turn_table_init(&c->table);
	/* Allocation ids: the worker in the top byte, unique per process. */
	c->next_id = (uint64_t)worker_id << 56 | 1;
	c->rng = 0x853c49e6748fea9bULL ^ ((uint64_t)worker_id << 32) ^
	    (uint64_t)(uintptr_t)c;
}

void
turn_release(struct turn_ctx *c, struct turn_alloc *a)
{
	int	i;

	for (i = 0; i < 2; i++) {
		if (a->relay[i].fd == -1)
			continue;
		turn_ports_set_owner(c->sh->ports,
		    addr_port(&a->relay[i].addr.sa), -1);
		c->io->relay_close(c->io_arg, &a->relay[i]);
		turn_ports_put(c->sh->ports, addr_port(&a->relay[i].addr.sa));
		a->relay[i].fd = -1;
	}
	if (a->username != NULL)
		turn_quota_give(c->sh->quota, a->username);
	turn_alloc_free(a);
}

/* Remove a from the table and release it, logging why. */
static void
turn_dealloc(struct turn_ctx *c, struct turn_alloc *a, const char *why)
{
	char	client[ADDR_STRLEN];

	log_verbose("alloc=%llx client=%s user=%s turn deallocate reason=%s",
	    (unsigned long long)a->id, addr_format(&a->client.sa, true,
	    client, sizeof(client)), a->username, why);
	turn_table_remove(&c->table, a);
	turn_release(c, a);
}

struct turn_alloc *
turn_live_alloc(struct turn_ctx *c, const struct turn_req *r)
{
	struct turn_alloc	*a;

	a = turn_table_find(&c->table, r->client, r->listener);
	if (a != NULL && a->expires < c->now) {
		turn_dealloc(c, a, "expired");
		a = NULL;
	}
	return a;
}

void
turn_ctx_clear(struct turn_ctx *c)
{
	struct turn_alloc	*a;
	size_t			 i;

	for (i = 0; i < c->table.nbuckets; i++)
		while ((a = c->table.buckets[i]) != NULL) {
			turn_table_remove(&c->table, a);
			turn_release(c, a);
		}
	turn_table_clear(&c->table);
	auth_limiter_free(c->limiter);
	c->limiter = NULL;
}

ssize_t
turn_finish(struct turn_ctx *c, struct stun_builder *b,
    const struct stun_msg *req, const struct turn_auth_result *au)
{
	const struct stun_server_opts	*o = &c->sh->stun;

	if (o->software)
		stun_build_string(b, STUN_ATTR_SOFTWARE,
		    o->software_name != NULL ? o->software_name :
		    "turnpike/" TURNPIKE_VERSION);
	if (au != NULL && !au->anonymous) {
		if (au->sha256)
			stun_build_integrity_sha256(b, au->key, au->keylen);
		else
			stun_build_integrity(b, au->key, au->keylen);
	}
	if (o->fingerprint || req->fingerprint_idx != -1)
		stun_build_fingerprint(b);
	return stun_build_finish(b);
}

ssize_t
turn_error(struct turn_ctx *c, const struct stun_msg *req,
    const struct turn_auth_result *au, int code, uint8_t *out, size_t cap)
{
	struct stun_builder	b;

	stun_build_init(&b, out, cap, req->method, STUN_CLASS_ERROR, req);
	stun_build_error_code(&b, code, NULL);
	if (code == 420)
		stun_build_unknown_attrs(&b, req->unknown, req->nunknown);
	return turn_finish(c, &b, req, au);
}

/* The peer address of a CreatePermission/ChannelBind: 0 or error. */
static int
turn_peer_addr(struct turn_ctx *c, struct turn_alloc *a,
    const struct stun_msg *m, const struct stun_attr *attr, bool with_port,
    struct sockaddr_storage *peer)
{
	if (stun_attr_get_addr(m, attr, peer) == -1)
		return 400;
	/*
	 * RFC 8656 §9.1: peer address family mismatch. An IPv4-mapped IPv6
	 * peer is IPv4 in disguise: the IPv6-only relay cannot reach it.
	 */
	if (turn_alloc_relay(a, peer->ss_family) == NULL ||
	    (peer->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(
	    &((struct sockaddr_in6 *)peer)->sin6_addr)))
		return 443;
	if (!turn_policy_peer_allowed(&c->sh->policy,
	    (const struct sockaddr *)peer, with_port))
		return 403;
	return 0;
}

static ssize_t
turn_refresh(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, struct turn_alloc *a,
    const struct turn_auth_result *au, uint8_t *out, size_t cap)
{
	const struct stun_attr	*lt, *raf;
	struct stun_builder	 b;
	uint32_t		 v = TURN_DEFAULT_LIFETIME;
	int			 fam = 0;

	if ((raf = stun_msg_get(m, STUN_ATTR_REQUESTED_ADDRESS_FAMILY)) !=
	    NULL) {
		if (raf->len == 4)
			fam = raf->val[0] == 1 ? AF_INET : raf->val[0] == 2 ?
			    AF_INET6 : -1;
		if (fam == -1 || turn_alloc_relay(a, fam) == NULL)
			return turn_error(c, m, au, 443, out, cap);
	}
	if ((lt = stun_msg_get(m, STUN_ATTR_LIFETIME)) != NULL &&
	    stun_attr_get_u32(lt, &v) == -1)
		return turn_error(c, m, au, 400, out, cap);
	/* RFC 8656 §8.2: computed as for Allocate; 0 stays 0. */
	if (v != 0 && v < TURN_DEFAULT_LIFETIME)
		v = TURN_DEFAULT_LIFETIME;
	if (v > (uint32_t)c->sh->cfg->max_allocate_lifetime)
		v = (uint32_t)c->sh->cfg->max_allocate_lifetime;
	stun_build_init(&b, out, cap, STUN_METHOD_REFRESH, STUN_CLASS_SUCCESS,
	    m);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, v);
	/* RFC 8656 §7.3: lifetime 0 deletes the allocation at once. */
	if (v == 0)
		turn_dealloc(c, a, "refresh-0");
	else
		a->expires = c->now + v;
	return turn_finish(c, &b, m, au);
}

static ssize_t
turn_create_permission(struct turn_ctx *c, const struct stun_msg *m,
    struct turn_alloc *a, const struct turn_auth_result *au, uint8_t *out,
    size_t cap)
{
	struct sockaddr_storage	peers[STUN_MAX_ATTRS];
	struct stun_builder	b;
	size_t			n = 0, i;
	int			code;

	/* Check every XOR-PEER-ADDRESS first: all or nothing. */
	for (i = 0; i < m->nattrs; i++) {
		if (m->attrs[i].type != STUN_ATTR_XOR_PEER_ADDRESS)
			continue;
		if ((code = turn_peer_addr(c, a, m, &m->attrs[i], false,
		    &peers[n])) != 0)
			return turn_error(c, m, au, code, out, cap);
		n++;
	}
	if (n == 0)
		return turn_error(c, m, au, 400, out, cap);
	for (i = 0; i < n; i++)
		if (turn_alloc_permit(a, (struct sockaddr *)&peers[i], c->now,
		    c->now + (uint64_t)c->sh->cfg->permission_lifetime) == -1)
			return turn_error(c, m, au, 508, out, cap);
	stun_build_init(&b, out, cap, STUN_METHOD_CREATE_PERMISSION,
	    STUN_CLASS_SUCCESS, m);
	return turn_finish(c, &b, m, au);
}

static ssize_t
turn_channel_bind(struct turn_ctx *c, const struct stun_msg *m,
    struct turn_alloc *a, const struct turn_auth_result *au, uint8_t *out,
    size_t cap)
{
	const struct stun_attr	*cn, *pa;
	struct sockaddr_storage	 peer;
	struct stun_builder	 b;
	uint16_t		 num;
	int			 code;

	cn = stun_msg_get(m, STUN_ATTR_CHANNEL_NUMBER);
	pa = stun_msg_get(m, STUN_ATTR_XOR_PEER_ADDRESS);
	if (cn == NULL || pa == NULL || cn->len != 4)
		return turn_error(c, m, au, 400, out, cap);
	num = (uint16_t)(cn->val[0] << 8 | cn->val[1]);
	if (num < TURN_CHANNEL_MIN || num > TURN_CHANNEL_MAX)
		return turn_error(c, m, au, 400, out, cap);
	if ((code = turn_peer_addr(c, a, m, pa, true, &peer)) != 0)
		return turn_error(c, m, au, code, out, cap);
	code = turn_alloc_bind(a, num, (struct sockaddr *)&peer, c->now,
	    c->now + (uint64_t)c->sh->cfg->channel_lifetime);
	if (code == 0 && turn_alloc_permit(a, (struct sockaddr *)&peer, c->now,
	    c->now + (uint64_t)c->sh->cfg->permission_lifetime) == -1)
		code = -2;
	if (code != 0)
		return turn_error(c, m, au, code == -1 ? 400 : 508, out, cap);
	stun_build_init(&b, out, cap, STUN_METHOD_CHANNEL_BIND,
	    STUN_CLASS_SUCCESS, m);
	return turn_finish(c, &b, m, au);
}

/* Send indication: relay DATA to a permitted peer; never answered. */
static void
turn_send(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m)
{
	const struct stun_attr	*pa, *data;
	struct sockaddr_storage	 peer;
	struct turn_alloc	*a;
	struct turn_relay	*rl;

	if ((a = turn_live_alloc(c, r)) == NULL)
		return;
	pa = stun_msg_get(m, STUN_ATTR_XOR_PEER_ADDRESS);
	data = stun_msg_get(m, STUN_ATTR_DATA);
	if (pa == NULL || data == NULL ||
	    stun_attr_get_addr(m, pa, &peer) == -1 ||
	    (rl = turn_alloc_relay(a, peer.ss_family)) == NULL ||
	    !turn_alloc_permitted(a, (struct sockaddr *)&peer, c->now) ||
	    !turn_policy_peer_allowed(&c->sh->policy,
	    (struct sockaddr *)&peer, true))
		return;
	c->io->relay_send(c->io_arg, rl, (struct sockaddr *)&peer, data->val,
	    data->len);
}

/* A Binding request under secure-stun: authenticated, signed answer. */
static ssize_t
turn_binding(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, uint8_t *out, size_t cap)
{
	struct turn_auth_result	au;
	struct stun_builder	b;
	ssize_t			n;

	if (!c->sh->cfg->secure_stun || m->classic)
		return stun_binding_answer(&c->sh->stun, m, r->client, out,
		    cap);
	if ((n = turn_auth_request(c, r, m, &au, out, cap)) != 0)
		return n == -2 ? 0 : n;
	if (m->nunknown > 0)
		return turn_error(c, m, &au, 420, out, cap);
	stun_build_init(&b, out, cap, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS,
	    m);
	stun_build_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, r->client);
	return turn_finish(c, &b, m, &au);
}

/* A request for an existing allocation: find it, check who asks. */
static ssize_t
turn_on_alloc(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, const struct turn_auth_result *au,
    uint8_t *out, size_t cap)
{
	struct turn_alloc	*a;

	if ((a = turn_live_alloc(c, r)) == NULL)
		return turn_error(c, m, au, 437, out, cap);
	/* RFC 8656 §5: same credentials as the Allocate, else 441. */
	if (!au->anonymous && (strlen(a->username) != au->ulen ||
	    memcmp(a->username, au->user, au->ulen) != 0))
		return turn_error(c, m, au, 441, out, cap);
	switch (m->method) {
	case STUN_METHOD_REFRESH:
		return turn_refresh(c, r, m, a, au, out, cap);
	case STUN_METHOD_CREATE_PERMISSION:
		return turn_create_permission(c, m, a, au, out, cap);
	default:
		return turn_channel_bind(c, m, a, au, out, cap);
	}
}

static ssize_t
turn_request(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, uint8_t *out, size_t cap)
{
	struct turn_auth_result	au;
	ssize_t			n;

	switch (m->method) {
	case STUN_METHOD_BINDING:
		if (c->sh->cfg->no_stun)
			return 0;
		if (c->sh->cfg->log_binding) {	/* opt-in: cheap to flood */
			char	client[ADDR_STRLEN];

			log_info("client=%s stun binding", addr_format(r->client,
			    true, client, sizeof(client)));
		}
		return turn_binding(c, r, m, out, cap);
	case STUN_METHOD_ALLOCATE:
	case STUN_METHOD_REFRESH:
	case STUN_METHOD_CREATE_PERMISSION:
	case STUN_METHOD_CHANNEL_BIND:
		if (m->classic)
			return 0;
		if (c->sh->cfg->stun_only)
			return turn_error(c, m, NULL, 400, out, cap);
		break;
	default:
		return turn_error(c, m, NULL, m->nunknown ? 420 : 400, out,
		    cap);
	}
	if ((n = turn_auth_request(c, r, m, &au, out, cap)) != 0)
		return n == -2 ? 0 : n;
	if (m->nunknown > 0)
		return turn_error(c, m, &au, 420, out, cap);
	if (m->method == STUN_METHOD_ALLOCATE)
		n = turn_allocate(c, r, m, &au, out, cap);
	else
		n = turn_on_alloc(c, r, m, &au, out, cap);
	memset(au.key, 0, sizeof(au.key));
	return n;
}

ssize_t
turn_server_handle(struct turn_ctx *c, const struct turn_req *r,
    uint8_t *out, size_t cap)
{
	struct stun_msg	m;
	ssize_t		n;

	n = stun_msg_parse(r->pkt, r->len, &m);
	if (n == -1) {
		/* A sound header with bad attributes: answer requests. */
		if (m.err == 0 || m.cls != STUN_CLASS_REQUEST ||
		    m.len != r->len || m.classic)
			return -1;
		return turn_error(c, &m, NULL, m.err, out, cap);
	}
	if ((size_t)n != r->len)
		return -1;
	if (m.cls == STUN_CLASS_INDICATION) {
		if (m.method == STUN_METHOD_SEND && !m.classic)
			turn_send(c, r, &m);
		return 0;
	}
	if (m.cls != STUN_CLASS_REQUEST)
		return 0;
	return turn_request(c, r, &m, out, cap);
}

/* Data path ----------------------------------------------------------- */

struct turn_relay *
turn_server_channel_in(struct turn_ctx *c, const struct sockaddr *client,
    const void *listener, uint16_t chan, const struct sockaddr **peer)
{
	struct turn_alloc	*a;
	const struct turn_chan	*ch;
	struct turn_relay	*rl;

	if ((a = turn_table_find(&c->table, client, listener)) == NULL ||
	    a->expires < c->now ||
	    (ch = turn_alloc_chan_by_num(a, chan, c->now)) == NULL ||
	    (rl = turn_alloc_relay(a, ch->peer.sa.sa_family)) == NULL)
		return NULL;
	*peer = &ch->peer.sa;
	return rl;
}

struct turn_relay *
turn_server_hairpin(struct turn_ctx *c, const struct turn_relay *from,
    const struct sockaddr *peer, const struct sockaddr **src, int *chan)
{
	const struct sockaddr	*other;
	struct turn_relay	*to;
	bool			 advertised;

	if (c->sh->cfg->no_relay_hairpin ||
	    (to = turn_table_relay(&c->table, peer, &advertised)) == NULL)
		return NULL;
	*src = advertised ? &from->advertised.sa : &from->addr.sa;
	other = advertised ? &from->addr.sa : &from->advertised.sa;
	*chan = turn_server_peer_in(c, to, *src);
	/*
	 * What the other form lets in between workers (peer_out, then
	 * peer_in or peer_in_nat) gets in here too.
	 */
	if (*chan == -1 && !addr_equal(other, *src) &&
	    (*chan = turn_server_peer_in(c, to, other)) != -1)
		*src = other;
	return to;
}

static bool
turn_relay_port(const struct turn_ctx *c, const struct sockaddr *sa)
{
	uint16_t	port = addr_port(sa);

	return port >= c->sh->cfg->min_port && port <= c->sh->cfg->max_port;
}

/*
 * The index of the relay IP whose relay holds sa's port, when relays of
 * this server may be known by another address (external-ip); else -1.
 */
static int
turn_port_owner(const struct turn_ctx *c, const struct sockaddr *sa)
{
	const struct turn_shared	*sh = c->sh;
	int				 i;

	if (!sh->relay_mapped || sh->cfg->no_relay_hairpin ||
	    !turn_relay_port(c, sa))
		return -1;
	i = turn_ports_owner(sh->ports, addr_port(sa));
	return i >= 0 && (size_t)i < sh->nrelay_ips ? i : -1;
}

const struct sockaddr *
turn_server_peer_out(const struct turn_ctx *c, const struct sockaddr *peer,
    union addr_sa *out)
{
	const struct turn_shared	*sh = c->sh;
	int				 i;

	if ((i = turn_port_owner(c, peer)) == -1 ||
	    !addr_equal_ip(&sh->relay_adv[i].sa, peer) ||
	    addr_equal_ip((const struct sockaddr *)&sh->relay_ips[i], peer))
		return peer;
	turn_sa_set(out, (const struct sockaddr *)&sh->relay_ips[i]);
	addr_set_port(&out->sa, addr_port(peer));
	return &out->sa;
}

int
turn_server_peer_in_nat(struct turn_ctx *c, struct turn_relay *rl,
    struct sockaddr *peer)
{
	const struct turn_shared	*sh = c->sh;
	union addr_sa			 adv;
	int				 i, chan;

	if ((i = turn_port_owner(c, peer)) == -1 ||
	    !addr_equal_ip((const struct sockaddr *)&sh->relay_ips[i], peer) ||
	    addr_equal_ip(&sh->relay_adv[i].sa, peer))
		return -1;
	adv = sh->relay_adv[i];
	addr_set_port(&adv.sa, addr_port(peer));
	if ((chan = turn_server_peer_in(c, rl, &adv.sa)) != -1)
		memcpy(peer, &adv, addr_len(&adv.sa));
	return chan;
}

int
turn_server_peer_in(struct turn_ctx *c, struct turn_relay *rl,
    const struct sockaddr *peer)
{
	const struct turn_chan	*ch;

	if (!turn_alloc_permitted(rl->alloc, peer, c->now))
		return -1;
	ch = turn_alloc_chan_by_peer(rl->alloc, peer, c->now);
	return ch != NULL ? ch->num : 0;
}

/* xorshift64*: transaction ids for Data indications, not secrets. */
static void
turn_tid(struct turn_ctx *c, uint8_t tid[12])
{
	uint64_t	x;
	int		i;

	for (i = 0; i < 12; i++) {
		if (i % 8 == 0) {
			c->rng ^= c->rng >> 12;
			c->rng ^= c->rng << 25;
			c->rng ^= c->rng >> 27;
		}
		x = c->rng * 0x2545F4914F6CDD1DULL;
		tid[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

/* Append FINGERPRINT to the message of len bytes at msg; returns 8. */
static size_t
turn_fingerprint(uint8_t *msg, size_t len)
{
	uint32_t	crc;

	msg[2] = (uint8_t)((len + 8 - 20) >> 8);
	msg[3] = (uint8_t)(len + 8 - 20);
	crc = stun_crc32(msg, len) ^ 0x5354554eu;	/* RFC 8489 §14.7 */
	msg[len] = (uint8_t)(STUN_ATTR_FINGERPRINT >> 8);
	msg[len + 1] = (uint8_t)STUN_ATTR_FINGERPRINT;
	msg[len + 2] = 0;
	msg[len + 3] = 4;
	msg[len + 4] = (uint8_t)(crc >> 24);
	msg[len + 5] = (uint8_t)(crc >> 16);
	msg[len + 6] = (uint8_t)(crc >> 8);
	msg[len + 7] = (uint8_t)crc;
	return 8;
}

uint8_t *
turn_frame_peer_data(struct turn_ctx *c, uint8_t *data, size_t len, int chan,
    const struct sockaddr *peer, bool pad, size_t *outlen)
{
	struct stun_builder	b;
	uint8_t			hdr[TURN_HEADROOM], tid[12], *start;
	size_t			padlen = (4 - (len & 3)) & 3;
	ssize_t			n;

	if (chan > 0) {
		start = data - 4;
		start[0] = (uint8_t)(chan >> 8);
		start[1] = (uint8_t)chan;
		start[2] = (uint8_t)(len >> 8);
		start[3] = (uint8_t)len;
		if (pad && padlen > 0)
			memset(data + len, 0, padlen);
		*outlen = 4 + len + (pad ? padlen : 0);
		return start;
	}
	/* Build the header apart, then move it in front of the payload. */
	turn_tid(c, tid);
	stun_build_init_tid(&b, hdr, sizeof(hdr), STUN_METHOD_DATA,
	    STUN_CLASS_INDICATION, tid);
	stun_build_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, peer);
	n = stun_build_finish(&b);
	start = data - (size_t)n - 4;
	memcpy(start, hdr, (size_t)n);
	start[n] = (uint8_t)(STUN_ATTR_DATA >> 8);
	start[n + 1] = (uint8_t)STUN_ATTR_DATA;
	start[n + 2] = (uint8_t)(len >> 8);
	start[n + 3] = (uint8_t)len;
	memset(data + len, 0, padlen);
	*outlen = (size_t)n + 4 + len + padlen;
	/* The STUN length field: everything after the 20-byte header. */
	start[2] = (uint8_t)((*outlen - 20) >> 8);
	start[3] = (uint8_t)(*outlen - 20);
	if (c->sh->stun.fingerprint)
		*outlen += turn_fingerprint(start, *outlen);
	return start;
}

void
turn_server_expire(struct turn_ctx *c)
{
	struct turn_alloc	*a, *next;
	size_t			 i;

	turn_ports_expire(c->sh->ports, c->now);
	for (i = 0; i < c->table.nbuckets; i++)
		for (a = c->table.buckets[i]; a != NULL; a = next) {
			next = a->hnext;
			if (a->expires < c->now)
				turn_dealloc(c, a, "expired");
		}
}

void
turn_server_drop(struct turn_ctx *c, const struct sockaddr *client,
    const void *listener)
{
	struct turn_alloc	*a;

	if ((a = turn_table_find(&c->table, client, listener)) != NULL)
		turn_dealloc(c, a, "connection-closed");
}

void
turn_server_revoke(struct turn_ctx *c, const char *username)
{
	struct turn_alloc	*a, *next;
	size_t			 i;

	for (i = 0; i < c->table.nbuckets; i++)
		for (a = c->table.buckets[i]; a != NULL; a = next) {
			next = a->hnext;
			if (strcmp(a->username, username) == 0)
				turn_dealloc(c, a, "revoked");
		}
}

bool
turn_server_has_alloc(struct turn_ctx *c, const struct sockaddr *client,
    const void *listener)
{
	struct turn_alloc	*a;

	a = turn_table_find(&c->table, client, listener);
	return a != NULL && a->expires >= c->now;
}
