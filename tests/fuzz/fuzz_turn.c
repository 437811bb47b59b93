/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * libFuzzer harness for the TURN server core. Two long-lived servers (an
 * lt-cred-mech one and a no-auth one, so inputs reach the handlers behind
 * authentication) with a fake socket layer; each input is
 *
 *   - handled as sent, from a client of its own, by both servers (an
 *     Allocate whose transaction id ends in an odd byte first drops the
 *     allocation that client may hold);
 *   - handled by the no-auth server from a client whose allocation (with a
 *     permission and channel 0x4000) the harness keeps alive, and from an
 *     IPv6 client;
 *   - re-signed with valid long-term credentials and a fresh nonce and
 *     handled by the lt-cred-mech server;
 *   - when it starts with 0x40-0x7F, parsed as ChannelData and looked up
 *     with turn_server_channel_in();
 *   - framed as peer data for the client through turn_server_peer_in() and
 *     turn_frame_peer_data().
 *
 * Every answer must parse and carry the request's transaction id; signed
 * answers must verify; relays opened and closed must balance, a port is
 * never open twice, and quotas match the allocations. The clock advances a
 * little per input and expired state is swept. Also linked with replay.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "stun_msg.h"
#include "turn_ports.h"
#include "turn_quota.h"
#include "turn_server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_REALM	"example.org"
#define FUZZ_MIN_PORT	50000
#define FUZZ_NPORTS	64
#define FUZZ_T0_UNIX	1700000000ULL

struct fuzz_srv {
	struct config		*cfg;
	struct auth		*auth;
	struct turn_shared	 sh;
	struct turn_ctx		 ctx;
	struct sockaddr_storage	 listen[2];
	bool			 open[FUZZ_NPORTS];
	long			 opens, closes;
};

static struct fuzz_srv	fz_auth, fz_open;
static int		fz_listener;
static uint64_t		fz_clock_ms, fz_inputs;
static struct sockaddr_storage fz_a, fz_a2, fz_b, fz_c, fz_local4, fz_local6;
static uint8_t		fz_md5[16], fz_sha256[32];

static void
fuzz_check_at(bool cond, int line)
{
	if (!cond) {
		fprintf(stderr, "fuzz_turn.c:%d: check failed\n", line);
		abort();
	}
}

#define fuzz_check(cond)	fuzz_check_at((cond), __LINE__)

/* Fake glue ------------------------------------------------------------ */

static int
fuzz_relay_open(void *arg, struct turn_relay *rl, bool df)
{
	struct fuzz_srv	*s = arg;
	int		 port = addr_port(&rl->addr.sa), i;

	fuzz_check(port >= FUZZ_MIN_PORT && port < FUZZ_MIN_PORT + FUZZ_NPORTS);
	fuzz_check(rl->fd == -1);
	i = port - FUZZ_MIN_PORT;
	/* A few ports are taken by someone else; one fails otherwise. */
	if (port % 13 == 3) {
		errno = EADDRINUSE;
		return -1;
	}
	if (port == FUZZ_MIN_PORT + 41) {
		errno = EMFILE;
		return -1;
	}
	fuzz_check(!s->open[i]);	/* never handed out twice */
	s->open[i] = true;
	s->opens++;
	rl->fd = 1000 + i;
	return 0;
}

static void
fuzz_relay_close(void *arg, struct turn_relay *rl)
{
	struct fuzz_srv	*s = arg;
	int		 i = addr_port(&rl->addr.sa) - FUZZ_MIN_PORT;

	fuzz_check(i >= 0 && i < FUZZ_NPORTS && s->open[i] &&
	    rl->fd == 1000 + i);
	s->open[i] = false;
	s->closes++;
}

static void
fuzz_relay_send(void *arg, struct turn_relay *rl, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	struct fuzz_srv	*s = arg;
	int		 i = addr_port(&rl->addr.sa) - FUZZ_MIN_PORT;

	fuzz_check(i >= 0 && i < FUZZ_NPORTS && s->open[i]);
	fuzz_check(peer->sa_family == rl->addr.sa.sa_family);
	fuzz_check(turn_policy_peer_allowed(&s->sh.policy, peer, true));
	fuzz_check(len <= 65535 && (len == 0 || data != NULL));
}

static const struct turn_io	fuzz_io = {
	fuzz_relay_open, fuzz_relay_close, fuzz_relay_send
};

/* Setup ----------------------------------------------------------------- */

static struct sockaddr_storage
fuzz_sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	if (addr_parse_ip(ip, &ss) == 0)
		addr_set_port((struct sockaddr *)&ss, port);
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static void
fuzz_srv_init(struct fuzz_srv *s, const char *text)
{
	char	err[256];

	memset(s, 0, sizeof(*s));
	s->cfg = config_new();
	if (config_parse_text(s->cfg, text, strlen(text), "fuzz", err,
	    sizeof(err)) != CONFIG_OK ||
	    config_validate(s->cfg, err, sizeof(err)) != CONFIG_OK) {
		fprintf(stderr, "fuzz_turn: config: %s\n", err);
		abort();
	}
	s->auth = auth_new(s->cfg);
	s->listen[0] = fuzz_sa("10.0.0.5", 0);
	s->listen[1] = fuzz_sa("2001:db8::5", 0);
	turn_shared_init(&s->sh, s->cfg, s->auth, s->listen, 2);
	turn_ctx_init(&s->ctx, &s->sh, &fuzz_io, s, 0);
}

static void
fuzz_srv_clear(struct fuzz_srv *s)
{
	turn_ctx_clear(&s->ctx);
	fuzz_check(s->opens == s->closes);
	fuzz_check(turn_quota_total(s->sh.quota) == 0);
	turn_shared_clear(&s->sh);
	auth_free(s->auth);
	config_free(s->cfg);
}

static void
fuzz_fini(void)
{
	fuzz_srv_clear(&fz_auth);
	fuzz_srv_clear(&fz_open);
}

static void
fuzz_init(void)
{
	fuzz_srv_init(&fz_auth, "lt-cred-mech\nrealm=" FUZZ_REALM "\n"
	    "user=alice:secret\nuse-auth-secret\nstatic-auth-secret=fuzz\n"
	    "min-port=50000\nmax-port=50063\nuser-quota=8\ntotal-quota=24\n"
	    "stale-nonce=60\n");
	fuzz_srv_init(&fz_open, "no-auth\nmin-port=50000\nmax-port=50063\n"
	    "fingerprint\nallowed-peer-ip=10.1.0.0/16\n"
	    "denied-peer-ip=198.51.100.66\nchannel-lifetime=120\n"
	    "permission-lifetime=60\n");
	fz_a = fuzz_sa("198.51.100.7", 40000);
	fz_a2 = fuzz_sa("198.51.100.7", 40001);
	fz_b = fuzz_sa("198.51.100.8", 40002);
	fz_c = fuzz_sa("2001:db8:c::7", 40003);
	fz_local4 = fuzz_sa("10.0.0.5", 3478);
	fz_local6 = fuzz_sa("2001:db8::5", 3478);
	stun_longterm_key("alice", FUZZ_REALM, "secret", fz_md5);
	stun_longterm_key_sha256("alice", FUZZ_REALM, "secret", fz_sha256);
	fz_clock_ms = 0;
	atexit(fuzz_fini);
}

static void
fuzz_tick(void)
{
	struct fuzz_srv	*s[2] = { &fz_auth, &fz_open };
	int		 i;

	fz_clock_ms += 250;
	for (i = 0; i < 2; i++) {
		s[i]->ctx.now = 1000 + fz_clock_ms / 1000;
		s[i]->ctx.now_unix = FUZZ_T0_UNIX + fz_clock_ms / 1000;
		s[i]->ctx.now_ms = 1000000 + fz_clock_ms;
		if (fz_inputs % 16 == 0)
			turn_server_expire(&s[i]->ctx);
	}
}

/* Invariants over a server's allocations. */
static void
fuzz_srv_check(struct fuzz_srv *s)
{
	struct turn_alloc	*a;
	size_t			 i, n = 0, relays = 0;
	int			 k;

	for (i = 0; i < s->ctx.table.nbuckets; i++)
		for (a = s->ctx.table.buckets[i]; a != NULL; a = a->hnext) {
			n++;
			fuzz_check(a->nrelay >= 1 && a->nrelay <= 2);
			for (k = 0; k < a->nrelay; k++)
				fuzz_check(a->relay[k].fd != -1 &&
				    a->relay[k].alloc == a);
			relays += a->nrelay;
			fuzz_check(a->nperm <= TURN_MAX_PERMS &&
			    a->nchan <= TURN_MAX_CHANNELS);
		}
	fuzz_check(n == s->ctx.table.count);
	fuzz_check((long)relays == s->opens - s->closes);
	fuzz_check(turn_quota_total(s->sh.quota) == (int)n);
}

/* Requests -------------------------------------------------------------- */

/*
 * Hand pkt to srv from client and check the answer. key/keylen: what a
 * signed answer must verify with; NULL: no answer may be signed.
 */
static ssize_t
fuzz_handle(struct fuzz_srv *s, const uint8_t *pkt, size_t len,
    const struct sockaddr_storage *client, const uint8_t *key, size_t keylen)
{
	static uint8_t	out[4096];
	struct turn_req	r;
	struct stun_msg	resp;
	ssize_t		n;

	memset(&r, 0, sizeof(r));
	r.pkt = pkt;
	r.len = len;
	r.client = SA(*client);
	r.local = client->ss_family == AF_INET6 ? SA(fz_local6) :
	    SA(fz_local4);
	r.listener = &fz_listener;
	r.transport = TURN_TRANSPORT_UDP;
	n = turn_server_handle(&s->ctx, &r, out, sizeof(out));
	fuzz_check(n >= -1 && n <= (ssize_t)sizeof(out));
	if (n > 0) {
		fuzz_check(len >= STUN_HEADER_LEN);
		fuzz_check(stun_msg_parse(out, (size_t)n, &resp) == n);
		fuzz_check(resp.cls == STUN_CLASS_SUCCESS ||
		    resp.cls == STUN_CLASS_ERROR);
		fuzz_check(memcmp(out + 8, pkt + 8, 12) == 0);
		if (key == NULL)
			fuzz_check(resp.integrity_idx == -1 &&
			    resp.integrity256_idx == -1);
		else if (resp.integrity256_idx != -1)
			fuzz_check(stun_msg_check_integrity_sha256(&resp, key,
			    keylen));
		else if (resp.integrity_idx != -1)
			fuzz_check(stun_msg_check_integrity(&resp, key,
			    keylen));
	}
	fuzz_srv_check(s);
	return n;
}

/* Keep an allocation for fz_b on the no-auth server, with a channel. */
static void
fuzz_keep_alloc(void)
{
	uint8_t			 buf[256], t[12] = { 'k', 'e', 'e', 'p' };
	uint8_t			 rt[4] = { 17, 0, 0, 0 };
	uint8_t			 aaf[4] = { 2, 0, 0, 0 }, cn[4] = { 0x40, 0 };
	struct sockaddr_storage	 peer = fuzz_sa("203.0.113.7", 5000);
	struct stun_builder	 b;
	ssize_t			 n;

	if (turn_table_find(&fz_open.ctx.table, SA(fz_b), &fz_listener) !=
	    NULL && fz_inputs % 64 != 0)
		return;
	t[8] = (uint8_t)(fz_inputs >> 24);
	t[9] = (uint8_t)(fz_inputs >> 16);
	t[10] = (uint8_t)(fz_inputs >> 8);
	t[11] = (uint8_t)fz_inputs;
	stun_build_init_tid(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE,
	    STUN_CLASS_REQUEST, t);
	stun_build_attr(&b, STUN_ATTR_REQUESTED_TRANSPORT, rt, 4);
	stun_build_attr(&b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, aaf, 4);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 3600);
	if ((n = stun_build_finish(&b)) > 0)
		fuzz_handle(&fz_open, buf, (size_t)n, &fz_b, NULL, 0);
	t[4] = 1;
	stun_build_init_tid(&b, buf, sizeof(buf), STUN_METHOD_CHANNEL_BIND,
	    STUN_CLASS_REQUEST, t);
	stun_build_attr(&b, STUN_ATTR_CHANNEL_NUMBER, cn, 4);
	stun_build_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, SA(peer));
	if ((n = stun_build_finish(&b)) > 0)
		fuzz_handle(&fz_open, buf, (size_t)n, &fz_b, NULL, 0);
}

/*
 * Rebuild a parsed request or indication with alice's credentials, a
 * nonce minted now, and MESSAGE-INTEGRITY(-SHA256) over the result, so the
 * input reaches the authenticated handlers of the lt-cred-mech server.
 */
static void
fuzz_signed(const struct stun_msg *m)
{
	static uint8_t		 buf[STUN_MAX_MSG_LEN];
	const struct stun_attr	*a, *pa;
	struct stun_builder	 b;
	char			 nonce[AUTH_NONCE_MAX];
	const uint8_t		*key = fz_md5;
	size_t			 i, nn, keylen = 16, kept = 0;
	ssize_t			 n;

	if (m->classic || (m->cls != STUN_CLASS_REQUEST &&
	    m->cls != STUN_CLASS_INDICATION))
		return;
	pa = stun_msg_get(m, STUN_ATTR_PASSWORD_ALGORITHM);
	if (pa != NULL && pa->len >= 2 && pa->val[0] == 0 && pa->val[1] == 2) {
		key = fz_sha256;
		keylen = 32;
	}
	stun_build_init(&b, buf, sizeof(buf), m->method, m->cls, m);
	for (i = 0; i < m->nattrs; i++) {
		a = &m->attrs[i];
		switch (a->type) {
		case STUN_ATTR_USERNAME:
		case STUN_ATTR_REALM:
		case STUN_ATTR_NONCE:
		case STUN_ATTR_MESSAGE_INTEGRITY:
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		case STUN_ATTR_FINGERPRINT:
			continue;
		}
		stun_build_attr(&b, a->type, a->val, a->len);
		kept++;
	}
	if (kept + 6 > STUN_MAX_ATTRS)
		return;
	nn = auth_nonce_mint(fz_auth.auth, SA(fz_a2), fz_auth.ctx.now_unix,
	    nonce, sizeof(nonce));
	stun_build_string(&b, STUN_ATTR_USERNAME, "alice");
	stun_build_string(&b, STUN_ATTR_REALM, FUZZ_REALM);
	stun_build_attr(&b, STUN_ATTR_NONCE, nonce, nn);
	if (m->integrity256_idx != -1)
		stun_build_integrity_sha256(&b, key, keylen);
	else
		stun_build_integrity(&b, key, keylen);
	if (m->fingerprint_idx != -1)
		stun_build_fingerprint(&b);
	if ((n = stun_build_finish(&b)) > 0)
		fuzz_handle(&fz_auth, buf, (size_t)n, &fz_a2, key, keylen);
}

/* Data path --------------------------------------------------------------- */

static void
fuzz_channel_in(struct fuzz_srv *s, const uint8_t *data, size_t size,
    const struct sockaddr_storage *client)
{
	const struct sockaddr	*peer = NULL;
	struct turn_relay	*rl;
	const uint8_t		*payload;
	uint16_t		 chan, dlen;

	if (stun_channeldata_parse(data, size, &chan, &payload, &dlen) == -1)
		return;
	fuzz_check(payload + dlen <= data + size);
	rl = turn_server_channel_in(&s->ctx, SA(*client), &fz_listener, chan,
	    &peer);
	if (rl == NULL)
		return;
	fuzz_check(peer != NULL && peer->sa_family == rl->addr.sa.sa_family);
	fuzz_check(rl->fd != -1 && rl->alloc != NULL);
	fuzz_check(turn_policy_peer_allowed(&s->sh.policy, peer, true));
}

/* A datagram from peer to fz_b's relay carrying the input. */
static void
fuzz_peer_data(const uint8_t *data, size_t size,
    const struct sockaddr_storage *peer, bool pad)
{
	static uint8_t		 buf[TURN_HEADROOM + 2048 + TURN_TAILROOM];
	struct turn_alloc	*a;
	struct turn_relay	*rl;
	struct stun_msg		 m;
	struct sockaddr_storage	 got, want;
	const struct stun_attr	*d, *pa;
	uint8_t			*start;
	size_t			 outlen, len = size > 2048 ? 2048 : size;
	int			 chan;

	if ((a = turn_table_find(&fz_open.ctx.table, SA(fz_b),
	    &fz_listener)) == NULL ||
	    (rl = turn_alloc_relay(a, peer->ss_family)) == NULL)
		return;
	chan = turn_server_peer_in(&fz_open.ctx, rl, SA(*peer));
	fuzz_check(chan == -1 || chan == 0 ||
	    (chan >= TURN_CHANNEL_MIN && chan <= TURN_CHANNEL_MAX));
	if (chan == -1)
		return;
	if (len > 0)
		memcpy(buf + TURN_HEADROOM, data, len);
	start = turn_frame_peer_data(&fz_open.ctx, buf + TURN_HEADROOM, len,
	    chan, SA(*peer), pad, &outlen);
	fuzz_check(start >= buf && start + outlen <= buf + sizeof(buf));
	if (chan > 0) {
		fuzz_check(start == buf + TURN_HEADROOM - 4 &&
		    start[0] == chan >> 8 && start[1] == (chan & 0xff) &&
		    start[2] == len >> 8 && start[3] == (len & 0xff));
		fuzz_check(outlen == (pad ? 4 + ((len + 3) & ~(size_t)3) :
		    4 + len));
		return;
	}
	fuzz_check(stun_msg_parse(start, outlen, &m) == (ssize_t)outlen);
	fuzz_check(m.method == STUN_METHOD_DATA &&
	    m.cls == STUN_CLASS_INDICATION && m.fingerprint_idx != -1);
	d = stun_msg_get(&m, STUN_ATTR_DATA);
	pa = stun_msg_get(&m, STUN_ATTR_XOR_PEER_ADDRESS);
	fuzz_check(d != NULL && d->len == len &&
	    (len == 0 || memcmp(d->val, data, len) == 0));
	/*
	 * The builder writes an IPv4-mapped IPv6 peer as IPv4; a real IPv6
	 * relay socket (IPV6_V6ONLY) never hears from one, but a fuzzed
	 * CreatePermission can install one, so compare unmapped.
	 */
	want = *peer;
	addr_unmap_v4(&want);
	fuzz_check(pa != NULL && stun_attr_get_addr(&m, pa, &got) == 0 &&
	    addr_equal(SA(got), SA(want)));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool		 inited;
	struct stun_msg		 m;
	struct sockaddr_storage	 peer;
	char			 ip[INET6_ADDRSTRLEN];
	ssize_t			 n;

	if (!inited) {
		fuzz_init();
		inited = true;
	}
	fz_inputs++;
	fuzz_tick();
	fuzz_keep_alloc();

	/*
	 * An Allocate whose transaction id ends in an odd byte starts from a
	 * clean 5-tuple, so it is handled in full instead of getting 437.
	 */
	n = stun_msg_parse(data, size, &m);
	if (n > 0 && m.method == STUN_METHOD_ALLOCATE &&
	    m.cls == STUN_CLASS_REQUEST && (m.tid[m.tid_len - 1] & 1)) {
		turn_server_drop(&fz_auth.ctx, SA(fz_a), &fz_listener);
		turn_server_drop(&fz_auth.ctx, SA(fz_a2), &fz_listener);
		turn_server_drop(&fz_open.ctx, SA(fz_a), &fz_listener);
		turn_server_drop(&fz_open.ctx, SA(fz_c), &fz_listener);
	}
	fuzz_handle(&fz_auth, data, size, &fz_a, NULL, 0);
	fuzz_handle(&fz_open, data, size, &fz_a, NULL, 0);
	fuzz_handle(&fz_open, data, size, &fz_b, NULL, 0);
	fuzz_handle(&fz_open, data, size, &fz_c, NULL, 0);
	if (n > 0 && (size_t)n == size)
		fuzz_signed(&m);

	if (size >= 4 && data[0] >= 0x40 && data[0] <= 0x7f) {
		fuzz_channel_in(&fz_open, data, size, &fz_b);
		fuzz_channel_in(&fz_open, data, size, &fz_a);
		fuzz_channel_in(&fz_auth, data, size, &fz_a2);
	}

	peer = fuzz_sa("203.0.113.7", 5000);	/* the kept channel */
	fuzz_peer_data(data, size, &peer, size % 2 == 0);
	peer = fuzz_sa("203.0.113.7", 5001);	/* permission only */
	fuzz_peer_data(data, size, &peer, false);
	if (size >= 6) {			/* a peer named by the input */
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", data[0], data[1],
		    data[2], data[3]);
		peer = fuzz_sa(ip, (uint16_t)(data[4] << 8 | data[5]));
		fuzz_peer_data(data, size, &peer, true);
	}
	if (size >= 18) {
		inet_ntop(AF_INET6, data + 2, ip, sizeof(ip));
		peer = fuzz_sa(ip, (uint16_t)(data[0] << 8 | data[1]));
		fuzz_peer_data(data, size, &peer, false);
	}
	return 0;
}
