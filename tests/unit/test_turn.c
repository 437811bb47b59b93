/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Unit tests for the TURN server core (src/turn/turn_server.c,
 * turn_allocate.c, turn_auth.c): every answer turn_server_handle() decides,
 * driven with messages built by the STUN builder and answers parsed back,
 * and the relay data path decisions. Sockets are a fake struct turn_io that
 * records what the core asks of it; the clocks are set by hand.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "stun_msg.h"
#include "tap.h"
#include "turn_ports.h"
#include "turn_quota.h"
#include "turn_server.h"

#define REALM		"example.org"
#define T0_UNIX		1700000000ULL
#define T0		1000ULL
#define AUTH_CONF	"lt-cred-mech\nuser=alice:secret\nuser=bob:hunter2\n" \
			"realm=" REALM "\n"
#define PORTS4		"min-port=50000\nmax-port=50003\n"
#define PORTS64		"min-port=50000\nmax-port=50063\n"

static const uint8_t	pw_algorithms[8] = { 0, 1, 0, 0, 0, 2, 0, 0 };

/* Fake glue ------------------------------------------------------------ */

struct fake_io {
	int			 open_calls, opens, closes, sends;
	int			 busy[8];	/* EADDRINUSE on these */
	size_t			 nbusy;
	int			 busy_hits;	/* EADDRINUSE returned */
	int			 fail_errno;	/* next open fails with it */
	int			 ports[256];	/* open relay ports */
	size_t			 nports;
	int			 dup;		/* a port opened twice */
	bool			 last_df;
	struct turn_relay	*send_relay;
	struct sockaddr_storage	 send_peer;
	uint8_t			 send_data[256];
	size_t			 send_len;
};

static int
fake_open(void *arg, struct turn_relay *rl, bool df)
{
	struct fake_io	*f = arg;
	int		 port = addr_port(&rl->addr.sa);
	size_t		 i;

	f->open_calls++;
	if (f->fail_errno != 0) {
		errno = f->fail_errno;
		f->fail_errno = 0;
		return -1;
	}
	for (i = 0; i < f->nbusy; i++)
		if (f->busy[i] == port) {
			f->busy_hits++;
			errno = EADDRINUSE;
			return -1;
		}
	for (i = 0; i < f->nports; i++)
		if (f->ports[i] == port)
			f->dup++;
	if (f->nports < sizeof(f->ports) / sizeof(f->ports[0]))
		f->ports[f->nports++] = port;
	f->last_df = df;
	rl->fd = 100 + f->opens++;
	return 0;
}

static void
fake_close(void *arg, struct turn_relay *rl)
{
	struct fake_io	*f = arg;
	int		 port = addr_port(&rl->addr.sa);
	size_t		 i;

	f->closes++;
	for (i = 0; i < f->nports; i++)
		if (f->ports[i] == port) {
			f->ports[i] = f->ports[--f->nports];
			break;
		}
}

static void
fake_send(void *arg, struct turn_relay *rl, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	struct fake_io	*f = arg;

	f->sends++;
	f->send_relay = rl;
	memset(&f->send_peer, 0, sizeof(f->send_peer));
	memcpy(&f->send_peer, peer, addr_len(peer));
	f->send_len = len;
	memcpy(f->send_data, data, len < sizeof(f->send_data) ? len :
	    sizeof(f->send_data));
}

static const struct turn_io	fake_io_ops = {
	fake_open, fake_close, fake_send
};

/* Addresses ----------------------------------------------------------- */

static struct sockaddr_storage
sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	if (addr_parse_ip(ip, &ss) == 0)
		addr_set_port((struct sockaddr *)&ss, port);
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

/* Environment: config, auth, shared state and one worker ------------- */

enum cred {
	CRED_NONE,
	CRED_MD5,		/* MESSAGE-INTEGRITY, no algorithm attrs */
	CRED_SHA256		/* PASSWORD-ALGORITHM(S) + MI-SHA256 */
};

/* What req_send() adds (a mask). */
#define F_USER		0x001
#define F_REALM		0x002
#define F_NONCE		0x004
#define F_MI		0x008
#define F_MI256		0x010
#define F_PA_MD5	0x020
#define F_PA_SHA256	0x040
#define F_PAS		0x080
#define F_PAS_MD5ONLY	0x100
#define F_FP		0x200
#define F_CREDS		(F_USER | F_REALM | F_NONCE)

struct env {
	struct config		*cfg;
	struct auth		*auth;
	struct turn_shared	 sh;
	struct turn_ctx		 ctx;
	struct fake_io		 io;
	struct sockaddr_storage	 listen[2];
	size_t			 nlisten;
	struct sockaddr_storage	 client, local;
	const void		*listener;
	int			 nports;	/* size of the relay range */
	/* credentials */
	char			 user[128];
	uint8_t			 key[32];
	size_t			 keylen;
	int			 flags;
	char			 nonce[128];
	size_t			 noncelen;
	/* the last request and its answer */
	uint8_t			 tid[12];
	uint32_t		 tidseq;
	uint8_t			 pkt[1024];
	size_t			 pktlen;
	uint8_t			 out[2048];
	ssize_t			 n;
	struct stun_msg		 resp;
	bool			 parsed;
};

static int	listener_a, listener_b;

static void
env_init(struct env *e, const char *conf, const char *ip4, const char *ip6)
{
	char	err[256];
	int	rc;

	memset(e, 0, sizeof(*e));
	e->cfg = config_new();
	rc = config_parse_text(e->cfg, conf, strlen(conf), "test", err,
	    sizeof(err));
	if (rc == CONFIG_OK)
		rc = config_validate(e->cfg, err, sizeof(err));
	if (rc != CONFIG_OK) {
		printf("# config: %s\n", err);
		abort();
	}
	e->auth = auth_new(e->cfg);
	if (ip4 != NULL)
		e->listen[e->nlisten++] = sa(ip4, 0);
	if (ip6 != NULL)
		e->listen[e->nlisten++] = sa(ip6, 0);
	turn_shared_init(&e->sh, e->cfg, e->auth, e->listen, e->nlisten);
	turn_ctx_init(&e->ctx, &e->sh, &fake_io_ops, &e->io, 0);
	e->ctx.now = T0;
	e->ctx.now_unix = T0_UNIX;
	e->ctx.now_ms = T0 * 1000;
	e->client = sa("198.51.100.7", 40000);
	e->local = e->listen[0];
	addr_set_port((struct sockaddr *)&e->local, 3478);
	e->listener = &listener_a;
	e->nports = e->cfg->max_port - e->cfg->min_port + 1;
}

static void
env_free(struct env *e)
{
	turn_ctx_clear(&e->ctx);
	is_int(e->io.nports, 0, "teardown: every relay socket closed");
	is_int(e->io.opens, e->io.closes, "teardown: opens == closes");
	is_int(turn_quota_total(e->sh.quota), 0, "teardown: quota all back");
	turn_shared_clear(&e->sh);
	auth_free(e->auth);
	config_free(e->cfg);
}

static void
client_port(struct env *e, uint16_t port)
{
	addr_set_port((struct sockaddr *)&e->client, port);
}

static void
creds_key(struct env *e, const char *user, const uint8_t *key, size_t keylen,
    int flags)
{
	snprintf(e->user, sizeof(e->user), "%s", user);
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	e->flags = flags;
}

static void
creds(struct env *e, enum cred how, const char *user, const char *pass)
{
	uint8_t	key[32];

	switch (how) {
	case CRED_NONE:
		e->flags = 0;
		e->keylen = 0;
		break;
	case CRED_MD5:
		stun_longterm_key(user, REALM, pass, key);
		creds_key(e, user, key, 16, F_CREDS | F_MI);
		break;
	case CRED_SHA256:
		stun_longterm_key_sha256(user, REALM, pass, key);
		creds_key(e, user, key, 32, F_CREDS | F_PA_SHA256 | F_PAS |
		    F_MI256);
		break;
	}
}

/* TURN REST password, computed here by hand with OpenSSL. */
static void
rest_password(const char *secret, const char *user, char *out)
{
	uint8_t		mac[EVP_MAX_MD_SIZE];
	unsigned int	len = 0;

	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t *)user,
	    strlen(user), mac, &len);
	EVP_EncodeBlock((uint8_t *)out, mac, (int)len);
}

/* Requests -------------------------------------------------------------- */

struct req {
	struct stun_builder	b;
	uint8_t			buf[1024];
};

static struct stun_builder *
req_new(struct env *e, struct req *q, uint16_t method, uint8_t cls)
{
	e->tidseq++;
	memset(e->tid, 0, sizeof(e->tid));
	e->tid[0] = 0x7e;
	e->tid[8] = (uint8_t)(e->tidseq >> 24);
	e->tid[9] = (uint8_t)(e->tidseq >> 16);
	e->tid[10] = (uint8_t)(e->tidseq >> 8);
	e->tid[11] = (uint8_t)e->tidseq;
	stun_build_init_tid(&q->b, q->buf, sizeof(q->buf), method, cls,
	    e->tid);
	return &q->b;
}

static ssize_t
deliver(struct env *e, const uint8_t *pkt, size_t len)
{
	struct turn_req	r;

	memset(&r, 0, sizeof(r));
	r.pkt = pkt;
	r.len = len;
	r.client = SA(e->client);
	r.local = SA(e->local);
	r.listener = e->listener;
	r.transport = TURN_TRANSPORT_UDP;
	e->n = turn_server_handle(&e->ctx, &r, e->out, sizeof(e->out));
	e->parsed = e->n > 0 &&
	    stun_msg_parse(e->out, (size_t)e->n, &e->resp) == e->n;
	return e->n;
}

/* Finish the request with what flags says, send it, parse the answer. */
static ssize_t
req_send_flags(struct env *e, struct req *q, int flags)
{
	static const uint8_t	pa_md5[4] = { 0, 1, 0, 0 };
	static const uint8_t	pa_sha256[4] = { 0, 2, 0, 0 };
	ssize_t			n;

	if (flags & F_USER)
		stun_build_string(&q->b, STUN_ATTR_USERNAME, e->user);
	if (flags & F_REALM)
		stun_build_string(&q->b, STUN_ATTR_REALM, REALM);
	if (flags & F_NONCE)
		stun_build_attr(&q->b, STUN_ATTR_NONCE, e->nonce, e->noncelen);
	if (flags & F_PA_MD5)
		stun_build_attr(&q->b, STUN_ATTR_PASSWORD_ALGORITHM, pa_md5, 4);
	if (flags & F_PA_SHA256)
		stun_build_attr(&q->b, STUN_ATTR_PASSWORD_ALGORITHM,
		    pa_sha256, 4);
	if (flags & F_PAS)
		stun_build_attr(&q->b, STUN_ATTR_PASSWORD_ALGORITHMS,
		    pw_algorithms, sizeof(pw_algorithms));
	if (flags & F_PAS_MD5ONLY)
		stun_build_attr(&q->b, STUN_ATTR_PASSWORD_ALGORITHMS,
		    pw_algorithms, 4);
	if (flags & F_MI)
		stun_build_integrity(&q->b, e->key, e->keylen);
	if (flags & F_MI256)
		stun_build_integrity_sha256(&q->b, e->key, e->keylen);
	if (flags & F_FP)
		stun_build_fingerprint(&q->b);
	if ((n = stun_build_finish(&q->b)) < 0) {
		printf("# request does not fit\n");
		abort();
	}
	memcpy(e->pkt, q->buf, (size_t)n);
	e->pktlen = (size_t)n;
	return deliver(e, q->buf, (size_t)n);
}

static ssize_t
req_send(struct env *e, struct req *q)
{
	return req_send_flags(e, q, e->flags);
}

static ssize_t
resend(struct env *e)
{
	uint8_t	copy[1024];

	memcpy(copy, e->pkt, e->pktlen);
	return deliver(e, copy, e->pktlen);
}

/*
 * The answer: 200 for a success response, the error code of an error
 * response, 0 when nothing was sent, -1 when the core returned -1 or the
 * answer does not parse, -3 when its transaction id is not the request's.
 */
static int
resp_code(struct env *e)
{
	const struct stun_attr	*a;
	const char		*reason;
	size_t			 rlen;
	int			 code;

	if (e->n == 0)
		return 0;
	if (!e->parsed)
		return -1;
	if (memcmp(e->resp.tid, e->tid, 12) != 0)
		return -3;
	if (e->resp.cls == STUN_CLASS_SUCCESS)
		return 200;
	if (e->resp.cls != STUN_CLASS_ERROR ||
	    (a = stun_msg_get(&e->resp, STUN_ATTR_ERROR_CODE)) == NULL ||
	    stun_attr_get_error_code(a, &code, &reason, &rlen) == -1)
		return -2;
	return code;
}

/* Signed with the request's key (MI or MI-SHA256)? */
static bool
resp_signed(struct env *e)
{
	if (!e->parsed || e->keylen == 0)
		return false;
	if (e->resp.integrity256_idx != -1)
		return stun_msg_check_integrity_sha256(&e->resp, e->key,
		    e->keylen);
	return stun_msg_check_integrity(&e->resp, e->key, e->keylen);
}

static bool
resp_unsigned(struct env *e)
{
	return e->parsed && e->resp.integrity_idx == -1 &&
	    e->resp.integrity256_idx == -1;
}

/* The nth address attribute of that type in the answer; -1 if none. */
static int
resp_addr(struct env *e, uint16_t type, int nth, struct sockaddr_storage *ss)
{
	size_t	i;

	memset(ss, 0, sizeof(*ss));
	if (!e->parsed)
		return -1;
	for (i = 0; i < e->resp.nattrs; i++)
		if (e->resp.attrs[i].type == type && nth-- == 0)
			return stun_attr_get_addr(&e->resp, &e->resp.attrs[i],
			    ss);
	return -1;
}

static int
resp_count(struct env *e, uint16_t type)
{
	size_t	i;
	int	n = 0;

	if (!e->parsed)
		return -1;
	for (i = 0; i < e->resp.nattrs; i++)
		if (e->resp.attrs[i].type == type)
			n++;
	return n;
}

static long long
resp_u32(struct env *e, uint16_t type)
{
	const struct stun_attr	*a;
	uint32_t		 v;

	if (!e->parsed || (a = stun_msg_get(&e->resp, type)) == NULL ||
	    stun_attr_get_u32(a, &v) == -1)
		return -1;
	return v;
}

static int
relayed_port(struct env *e)
{
	struct sockaddr_storage	ss;

	if (resp_addr(e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss) == -1)
		return -1;
	return addr_port(SA(ss));
}

/* Remember the NONCE of a 401/438 answer. */
static bool
take_nonce(struct env *e)
{
	const struct stun_attr	*a;

	if (!e->parsed || (a = stun_msg_get(&e->resp, STUN_ATTR_NONCE)) ==
	    NULL || a->len >= sizeof(e->nonce))
		return false;
	memcpy(e->nonce, a->val, a->len);
	e->nonce[a->len] = '\0';
	e->noncelen = a->len;
	return true;
}

/* The first step: an Allocate without credentials, for its nonce. */
static int
get_nonce(struct env *e)
{
	struct req	q;
	uint8_t		rt[4] = { STUN_TRANSPORT_UDP, 0, 0, 0 };
	int		code;

	e->ctx.now_ms += 5000;		/* a fresh 401 budget */
	req_new(e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_REQUESTED_TRANSPORT, rt, 4);
	req_send_flags(e, &q, 0);
	if ((code = resp_code(e)) == 401 && !take_nonce(e))
		return -1;
	return code;
}

static void
add_transport(struct stun_builder *b, uint8_t proto)
{
	uint8_t	rt[4] = { proto, 0, 0, 0 };

	stun_build_attr(b, STUN_ATTR_REQUESTED_TRANSPORT, rt, 4);
}

static void
add_family(struct stun_builder *b, uint16_t type, uint8_t fam)
{
	uint8_t	v[4] = { fam, 0, 0, 0 };

	stun_build_attr(b, type, v, 4);
}

/* An Allocate for UDP with an optional LIFETIME (0: none). */
static int
allocate(struct env *e, uint32_t lifetime)
{
	struct req	q;

	req_new(e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	if (lifetime != 0)
		stun_build_u32(&q.b, STUN_ATTR_LIFETIME, lifetime);
	req_send(e, &q);
	return resp_code(e);
}

/* A Refresh; lifetime < 0: no LIFETIME attribute. */
static int
refresh(struct env *e, long long lifetime)
{
	struct req	q;

	req_new(e, &q, STUN_METHOD_REFRESH, STUN_CLASS_REQUEST);
	if (lifetime >= 0)
		stun_build_u32(&q.b, STUN_ATTR_LIFETIME, (uint32_t)lifetime);
	req_send(e, &q);
	return resp_code(e);
}

static int
permit(struct env *e, const char *ip, uint16_t port)
{
	struct sockaddr_storage	peer = sa(ip, port);
	struct req		q;

	req_new(e, &q, STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(peer));
	req_send(e, &q);
	return resp_code(e);
}

static int
chan_bind(struct env *e, uint16_t num, const char *ip, uint16_t port)
{
	struct sockaddr_storage	peer = sa(ip, port);
	struct req		q;
	uint8_t			cn[4] = { (uint8_t)(num >> 8), (uint8_t)num };

	req_new(e, &q, STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_CHANNEL_NUMBER, cn, 4);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(peer));
	req_send(e, &q);
	return resp_code(e);
}

static ssize_t
send_ind(struct env *e, const char *ip, uint16_t port, const char *data)
{
	struct sockaddr_storage	peer = sa(ip, port);
	struct req		q;

	req_new(e, &q, STUN_METHOD_SEND, STUN_CLASS_INDICATION);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(peer));
	stun_build_attr(&q.b, STUN_ATTR_DATA, data, strlen(data));
	return req_send_flags(e, &q, 0);
}

/* The allocation of the current client, or NULL. */
static struct turn_alloc *
cur_alloc(struct env *e)
{
	struct turn_table	*t = &e->ctx.table;
	struct turn_alloc	*a;
	size_t			 i;

	for (i = 0; i < t->nbuckets; i++)
		for (a = t->buckets[i]; a != NULL; a = a->hnext)
			if (a->listener == e->listener &&
			    addr_equal(&a->client.sa, SA(e->client)))
				return a;
	return NULL;
}

static int
peer_in(struct env *e, const char *ip, uint16_t port)
{
	struct sockaddr_storage	 peer = sa(ip, port);
	struct turn_alloc	*a = cur_alloc(e);
	struct turn_relay	*rl;

	if (a == NULL || (rl = turn_alloc_relay(a, peer.ss_family)) == NULL)
		return -100;
	return turn_server_peer_in(&e->ctx, rl, SA(peer));
}

/* Tests: authentication ------------------------------------------------- */

static void
test_challenge_and_allocate(void)
{
	struct env		e;
	struct req		q;
	struct sockaddr_storage	ss, want;
	const struct stun_attr	*a;
	char			first_nonce[128];
	int			port;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);

	/* Step 1: no credentials -> 401 with REALM, NONCE, algorithms. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 401, "unauthenticated Allocate: 401");
	ok(e.parsed && e.resp.method == STUN_METHOD_ALLOCATE,
	    "401 is an Allocate error response");
	a = stun_msg_get(&e.resp, STUN_ATTR_REALM);
	ok(a != NULL && a->len == strlen(REALM) &&
	    memcmp(a->val, REALM, a->len) == 0, "401 carries REALM");
	a = stun_msg_get(&e.resp, STUN_ATTR_NONCE);
	ok(a != NULL && a->len > 9 && memcmp(a->val, "obMatJos2", 9) == 0,
	    "401 carries a NONCE with the RFC 8489 cookie");
	a = stun_msg_get(&e.resp, STUN_ATTR_PASSWORD_ALGORITHMS);
	ok(a != NULL && a->len == 8 && memcmp(a->val, pw_algorithms, 8) == 0,
	    "401 offers PASSWORD-ALGORITHMS MD5 and SHA-256");
	ok(resp_unsigned(&e), "401 is not signed");
	is_int(e.ctx.table.count, 0, "401: no allocation");
	is_int(e.io.open_calls, 0, "401: no relay opened");
	ok(take_nonce(&e), "nonce taken");
	snprintf(first_nonce, sizeof(first_nonce), "%s", e.nonce);

	/* Step 2: with the nonce and MD5(user:realm:pass). */
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "authenticated Allocate: success");
	ok(resp_signed(&e), "success signed with the long-term key");
	ok(e.resp.integrity256_idx == -1, "MD5 request: MI, not MI-SHA256");
	ok(e.resp.fingerprint_idx == -1, "no FINGERPRINT unless asked");
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss) == 0,
	    "XOR-RELAYED-ADDRESS present");
	port = addr_port(SA(ss));
	want = sa("10.0.0.5", (uint16_t)port);
	ok(addr_equal(SA(ss), SA(want)), "relay on the listening IP");
	ok(port >= 50000 && port <= 50003, "relay port in min-port..max-port");
	is_int(resp_count(&e, STUN_ATTR_XOR_RELAYED_ADDRESS), 1,
	    "one relayed address");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 600, "LIFETIME 600");
	ok(resp_addr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &ss) == 0 &&
	    addr_equal(SA(ss), SA(e.client)),
	    "XOR-MAPPED-ADDRESS is the client");
	is_int(e.ctx.table.count, 1, "one allocation");
	is_int(e.io.opens, 1, "one relay opened");
	ok(e.io.nports == 1 && e.io.ports[0] == port,
	    "the relay opened on the advertised port");
	ok(cur_alloc(&e) != NULL && cur_alloc(&e)->relay[0].fd == 100,
	    "relay fd kept from relay_open");
	ok(!e.io.last_df, "no DONT-FRAGMENT asked");

	/* A retransmission gets the same answer, no new relay. */
	resend(&e);
	is_int(resp_code(&e), 200, "retransmitted Allocate: success again");
	is_int(relayed_port(&e), port, "same relayed address");
	ok(resp_signed(&e), "retransmission answer signed");
	is_int(e.io.open_calls, 1, "retransmission opens nothing");
	/* Another transaction on the same 5-tuple: 437. */
	is_int(allocate(&e, 0), 437, "second Allocate, same 5-tuple: 437");
	ok(resp_signed(&e), "437 signed");
	is_int(e.ctx.table.count, 1, "still one allocation");

	/* FINGERPRINT in the request -> FINGERPRINT in the answer. */
	req_new(&e, &q, STUN_METHOD_REFRESH, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, e.flags | F_FP);
	is_int(resp_code(&e), 200, "Refresh with FINGERPRINT: success");
	ok(e.parsed && e.resp.fingerprint_idx != -1,
	    "FINGERPRINT echoed (and valid: the answer parsed)");
	ok(resp_signed(&e), "signed before FINGERPRINT");

	/* DONT-FRAGMENT reaches relay_open. */
	client_port(&e, 40001);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_DONT_FRAGMENT, NULL, 0);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "Allocate with DONT-FRAGMENT");
	ok(e.io.last_df, "DONT-FRAGMENT passed to relay_open");
	env_free(&e);
}

static void
test_auth_failures(void)
{
	struct env		 e;
	struct req		 q;
	char			 old[128];
	struct sockaddr_storage	 keep;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");

	creds(&e, CRED_MD5, "alice", "wrong");
	is_int(allocate(&e, 0), 401, "wrong password: 401");
	ok(resp_unsigned(&e), "401 for a bad password is not signed");
	ok(stun_msg_get(&e.resp, STUN_ATTR_NONCE) != NULL &&
	    stun_msg_get(&e.resp, STUN_ATTR_REALM) != NULL,
	    "401 for a bad password carries REALM and NONCE");
	creds(&e, CRED_MD5, "mallory", "secret");
	is_int(allocate(&e, 0), 401, "unknown user: 401");
	creds(&e, CRED_MD5, "Alice", "secret");
	is_int(allocate(&e, 0), 401, "user names are case-sensitive");
	is_int(e.ctx.table.count, 0, "no allocation after failures");

	/* Missing USERNAME / REALM / NONCE alongside MI: 400. */
	creds(&e, CRED_MD5, "alice", "secret");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_REALM | F_NONCE | F_MI);
	is_int(resp_code(&e), 400, "MI without USERNAME: 400");
	ok(resp_unsigned(&e), "that 400 is not signed");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_USER | F_NONCE | F_MI);
	is_int(resp_code(&e), 400, "MI without REALM: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_USER | F_REALM | F_MI);
	is_int(resp_code(&e), 400, "MI without NONCE: 400");
	/* Credentials but no integrity: a challenge. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS);
	is_int(resp_code(&e), 401, "USERNAME/REALM/NONCE without MI: 401");

	/* A garbage nonce: 438 with a fresh one. */
	snprintf(old, sizeof(old), "%s", e.nonce);
	snprintf(e.nonce, sizeof(e.nonce), "garbage");
	e.noncelen = 7;
	is_int(allocate(&e, 0), 438, "garbage nonce: 438");
	ok(take_nonce(&e) && strncmp(e.nonce, "obMatJos2", 9) == 0,
	    "438 carries a fresh nonce");
	ok(stun_msg_get(&e.resp, STUN_ATTR_REALM) != NULL, "438 has REALM");
	/* A nonce minted for another client IP: 438. */
	keep = e.client;
	e.client = sa("198.51.100.99", 40000);
	is_int(allocate(&e, 0), 438, "nonce of another client IP: 438");
	e.client = keep;

	/* Stale: advance the wall clock past stale-nonce (600). */
	snprintf(old, sizeof(old), "%s", e.nonce);
	e.ctx.now_unix += 601;
	is_int(allocate(&e, 0), 438, "stale nonce: 438");
	ok(take_nonce(&e) && strcmp(old, e.nonce) != 0,
	    "438 gives a new nonce");
	ok(resp_unsigned(&e), "438 is not signed");
	is_int(allocate(&e, 0), 200, "new nonce accepted");
	/* Exactly stale-nonce seconds old is still fine. */
	snprintf(old, sizeof(old), "%s", e.nonce);
	e.ctx.now_unix += 600;
	is_int(refresh(&e, -1), 200, "nonce stale-nonce seconds old: ok");
	e.ctx.now_unix += 1;
	is_int(refresh(&e, -1), 438, "one second more: 438");
	env_free(&e);

	/* stale-nonce from the configuration. */
	env_init(&e, AUTH_CONF PORTS4 "stale-nonce=30\n", "10.0.0.5", NULL);
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(get_nonce(&e), 401, "nonce");
	e.ctx.now_unix += 31;
	is_int(allocate(&e, 0), 438, "stale-nonce=30: 31 s old is stale");
	env_free(&e);
}

static void
test_sha256(void)
{
	struct env	e;
	struct req	q;
	uint8_t		key[32];

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_SHA256, "alice", "secret");
	is_int(allocate(&e, 0), 200, "SHA-256 Allocate: success");
	ok(e.parsed && e.resp.integrity256_idx != -1 &&
	    e.resp.integrity_idx == -1, "answer signed with MI-SHA256 only");
	ok(resp_signed(&e), "MI-SHA256 verifies with SHA-256 key");
	is_int(refresh(&e, 0), 200, "SHA-256 Refresh 0");

	/* PASSWORD-ALGORITHMS that is not what we offered: 400. */
	client_port(&e, 40001);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS | F_PA_SHA256 | F_PAS_MD5ONLY |
	    F_MI256);
	is_int(resp_code(&e), 400, "PASSWORD-ALGORITHMS mismatch: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS | F_PA_SHA256 | F_MI256);
	is_int(resp_code(&e), 400, "PASSWORD-ALGORITHM alone: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS | F_PAS | F_MI256);
	is_int(resp_code(&e), 400, "PASSWORD-ALGORITHMS alone: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_PASSWORD_ALGORITHM, "\0\3\0\0", 4);
	req_send_flags(&e, &q, F_CREDS | F_PAS | F_MI256);
	is_int(resp_code(&e), 400, "PASSWORD-ALGORITHM 3: 400");
	is_int(e.ctx.table.count, 0, "no allocation from those");

	/* SHA-256 key but MD5 MESSAGE-INTEGRITY (HMAC-SHA1). */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS | F_PA_SHA256 | F_PAS | F_MI);
	is_int(resp_code(&e), 200, "SHA-256 algorithm with MI: success");
	ok(e.parsed && e.resp.integrity_idx != -1 &&
	    e.resp.integrity256_idx == -1, "answer signed with MI");
	ok(resp_signed(&e), "MI verifies with the SHA-256 key");

	/* MD5 named explicitly. */
	client_port(&e, 40002);
	creds(&e, CRED_MD5, "alice", "secret");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS | F_PA_MD5 | F_PAS | F_MI);
	is_int(resp_code(&e), 200, "PASSWORD-ALGORITHM MD5: success");
	ok(resp_signed(&e), "signed with the MD5 key");
	/* MD5 key in MI-SHA256 (no algorithm attributes): also valid. */
	client_port(&e, 40003);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, F_CREDS | F_MI256);
	is_int(resp_code(&e), 200, "MD5 key with MI-SHA256: success");
	ok(e.parsed && e.resp.integrity256_idx != -1 && resp_signed(&e),
	    "answered with MI-SHA256");
	/* SHA-256 key with the MD5 algorithm: wrong key, 401. */
	client_port(&e, 40004);
	stun_longterm_key_sha256("alice", REALM, "secret", key);
	creds_key(&e, "alice", key, 32, F_CREDS | F_MI);
	is_int(allocate(&e, 0), 401, "SHA-256 key under MD5: 401");
	env_free(&e);
}

static void
test_hex_key(void)
{
	struct env	e;
	char		conf[512];
	uint8_t		key[16];
	int		i, n;

	stun_longterm_key("carol", REALM, "pw", key);
	n = snprintf(conf, sizeof(conf), "%suser=carol:0x", AUTH_CONF PORTS4);
	for (i = 0; i < 16; i++)
		n += snprintf(conf + n, sizeof(conf) - (size_t)n, "%02x",
		    key[i]);
	snprintf(conf + n, sizeof(conf) - (size_t)n, "\n");
	env_init(&e, conf, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "carol", "pw");
	is_int(allocate(&e, 0), 200, "user=name:0x<key>: MD5 accepted");
	ok(resp_signed(&e), "signed with the configured key");
	client_port(&e, 40001);
	creds(&e, CRED_SHA256, "carol", "pw");
	is_int(allocate(&e, 0), 401, "0x key has no SHA-256 form: 401");
	env_free(&e);
}

static void
test_rest(void)
{
	struct env	e;
	char		name[64], pass[64];
	uint8_t		key[32];

	env_init(&e, "use-auth-secret\nstatic-auth-secret=newsecret\n"
	    "static-auth-secret=oldsecret\nrealm=" REALM "\n" PORTS4,
	    "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	snprintf(name, sizeof(name), "%llu:bob", T0_UNIX + 3600);
	rest_password("newsecret", name, pass);
	stun_longterm_key(name, REALM, pass, key);
	creds_key(&e, name, key, 16, F_CREDS | F_MI);
	is_int(allocate(&e, 0), 200, "REST credential, new secret: ok");
	ok(resp_signed(&e), "REST answer signed");

	client_port(&e, 40001);
	rest_password("oldsecret", name, pass);
	stun_longterm_key(name, REALM, pass, key);
	creds_key(&e, name, key, 16, F_CREDS | F_MI);
	is_int(allocate(&e, 0), 200, "REST credential, old secret: ok");

	client_port(&e, 40002);
	rest_password("othersecret", name, pass);
	stun_longterm_key(name, REALM, pass, key);
	creds_key(&e, name, key, 16, F_CREDS | F_MI);
	is_int(allocate(&e, 0), 401, "REST credential, unknown secret: 401");

	snprintf(name, sizeof(name), "%llu:bob", T0_UNIX - 1);
	rest_password("newsecret", name, pass);
	stun_longterm_key(name, REALM, pass, key);
	creds_key(&e, name, key, 16, F_CREDS | F_MI);
	is_int(allocate(&e, 0), 401, "expired REST name: 401");

	snprintf(name, sizeof(name), "%llu", T0_UNIX + 60);
	rest_password("newsecret", name, pass);
	stun_longterm_key_sha256(name, REALM, pass, key);
	creds_key(&e, name, key, 32, F_CREDS | F_PA_SHA256 | F_PAS | F_MI256);
	is_int(allocate(&e, 0), 200, "REST name without user, SHA-256: ok");
	ok(resp_signed(&e), "signed with MI-SHA256");
	env_free(&e);
}

static void
test_no_auth(void)
{
	struct env	e;
	struct req	q;

	env_init(&e, "no-auth\n" PORTS4, "10.0.0.5", NULL);
	creds(&e, CRED_NONE, NULL, NULL);
	is_int(allocate(&e, 0), 200, "no-auth: Allocate without credentials");
	ok(resp_unsigned(&e), "no-auth: answer not signed");
	ok(relayed_port(&e) >= 50000, "no-auth: relayed address");
	is_int(permit(&e, "203.0.113.7", 0), 200, "no-auth: CreatePermission");
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 5000), 200,
	    "no-auth: ChannelBind");
	is_int(permit(&e, "10.1.2.3", 0), 403, "no-auth: policy still applies");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, 0x0777, "x", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 420, "no-auth: unknown attribute 420");
	is_int(refresh(&e, 0), 200, "no-auth: Refresh 0");
	is_int(e.ctx.table.count, 0, "no-auth: deallocated");
	/* Credentials are ignored in no-auth mode. */
	creds(&e, CRED_MD5, "alice", "whatever");
	snprintf(e.nonce, sizeof(e.nonce), "junk");
	e.noncelen = 4;
	is_int(allocate(&e, 0), 200, "no-auth: credentials ignored");
	env_free(&e);
}

static void
test_rate_limit(void)
{
	struct env		e;
	struct req		q;
	struct sockaddr_storage	keep;
	char			ip[32];
	int			i, answered = 0, silent = 0, others = 0;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	for (i = 0; i < 400; i++) {
		req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
		add_transport(&q.b, STUN_TRANSPORT_UDP);
		req_send_flags(&e, &q, 0);
		if (resp_code(&e) == 401)
			answered++;
		else if (e.n == 0)
			silent++;
	}
	ok(answered >= 1 && answered < 400, "some 401s answered, not all");
	is_int(answered + silent, 400, "the others silently dropped (0)");
	is_int(e.n, 0, "the last one is not answered");
	/* Other source IPs have their own budget. */
	keep = e.client;
	for (i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", 10 + i);
		e.client = sa(ip, 40000);
		req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
		add_transport(&q.b, STUN_TRANSPORT_UDP);
		req_send_flags(&e, &q, 0);
		if (resp_code(&e) == 401)
			others++;
	}
	ok(others >= 1, "another source IP is still answered");
	e.client = keep;
	/* Seconds later the budget is back. */
	is_int(get_nonce(&e), 401, "a few seconds later: answered again");
	env_free(&e);
}

/* Tests: Allocate ------------------------------------------------------- */

static void
test_allocate_errors(void)
{
	struct env		e;
	struct req		q;
	struct sockaddr_storage	ss;
	const struct stun_attr	*a;
	uint16_t		types[4];

	env_init(&e, AUTH_CONF PORTS64, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");

	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "no REQUESTED-TRANSPORT: 400");
	ok(resp_signed(&e), "authenticated 400 is signed");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_REQUESTED_TRANSPORT, "\x11", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "short REQUESTED-TRANSPORT: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_TCP);
	req_send(&e, &q);
	is_int(resp_code(&e), 442, "REQUESTED-TRANSPORT TCP: 442");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 442, "REQUESTED-TRANSPORT ICMP: 442");

	/* Address families, IPv4-only server. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 440, "REQUESTED-ADDRESS-FAMILY IPv6, no v6: 440");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 3);
	req_send(&e, &q);
	is_int(resp_code(&e), 440, "REQUESTED-ADDRESS-FAMILY 3: 440");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	add_family(&q.b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 400,
	    "REQUESTED- + ADDITIONAL-ADDRESS-FAMILY: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "ADDITIONAL-ADDRESS-FAMILY IPv4: 400");
	is_int(e.ctx.table.count, 0, "no allocation from the errors");
	is_int(e.io.open_calls, 0, "no relay opened for the errors");

	/* Unknown comprehension-required attribute: 420 listing it. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, 0x0777, "abcd", 4);
	req_send(&e, &q);
	is_int(resp_code(&e), 420, "unknown attribute 0x0777: 420");
	a = stun_msg_get(&e.resp, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	ok(a != NULL && stun_attr_get_unknown(a, types, 4) == 1 &&
	    types[0] == 0x0777, "UNKNOWN-ATTRIBUTES lists 0x0777");
	ok(resp_signed(&e), "420 signed");
	/* Unknown comprehension-optional attributes are fine. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, 0xC777, "abcd", 4);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "unknown optional attribute ignored");
	is_int(refresh(&e, 0), 200, "released");

	/* ADDITIONAL-ADDRESS-FAMILY IPv6 without an IPv6 relay address. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "ADDITIONAL-ADDRESS-FAMILY, v4 only: ok");
	is_int(resp_count(&e, STUN_ATTR_XOR_RELAYED_ADDRESS), 1,
	    "only the IPv4 relay");
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss) == 0 &&
	    ss.ss_family == AF_INET, "it is IPv4");
	a = stun_msg_get(&e.resp, STUN_ATTR_ADDRESS_ERROR_CODE);
	ok(a != NULL && a->len == 4 && a->val[0] == 2 && a->val[2] == 4 &&
	    a->val[3] == 40, "ADDRESS-ERROR-CODE: IPv6, 440");
	is_int(refresh(&e, 0), 200, "released");
	env_free(&e);
}

static void
test_lifetimes(void)
{
	static const struct {
		uint32_t	ask;
		long long	got;
	} cases[] = {
		{ 0, 600 }, { 10, 600 }, { 599, 600 }, { 601, 601 },
		{ 1000, 1000 }, { 3600, 3600 }, { 100000, 3600 },
		{ 0xffffffffu, 3600 },
	};
	struct env	e;
	struct req	q;
	size_t		i;
	char		what[96];

	env_init(&e, AUTH_CONF PORTS64, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_port(&e, (uint16_t)(41000 + i));
		snprintf(what, sizeof(what), "Allocate LIFETIME %u -> %lld",
		    cases[i].ask, cases[i].got);
		is_int(allocate(&e, cases[i].ask), 200, what);
		is_int(resp_u32(&e, STUN_ATTR_LIFETIME), cases[i].got, what);
		ok(cur_alloc(&e) != NULL &&
		    cur_alloc(&e)->expires == T0 + (uint64_t)cases[i].got,
		    "allocation expires accordingly");
	}
	/* Refresh clamps the same way. */
	client_port(&e, 41000);
	is_int(refresh(&e, 10), 200, "Refresh 10");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 600, "Refresh 10 -> 600");
	is_int(refresh(&e, 100000), 200, "Refresh 100000");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 3600,
	    "Refresh 100000 -> 3600");
	is_int(refresh(&e, -1), 200, "Refresh without LIFETIME");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 600, "-> 600");
	req_new(&e, &q, STUN_METHOD_REFRESH, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_LIFETIME, "\0\0", 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "Refresh with a 2-byte LIFETIME: 400");
	env_free(&e);

	/* max-allocate-lifetime from the configuration. */
	env_init(&e, AUTH_CONF PORTS4 "max-allocate-lifetime=1200\n",
	    "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 100000), 200, "Allocate 100000");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 1200,
	    "clamped to max-allocate-lifetime=1200");
	env_free(&e);
}

static void
test_families(void)
{
	struct env		e;
	struct req		q;
	struct sockaddr_storage	ss, want;

	env_init(&e, AUTH_CONF PORTS64, "10.0.0.5", "2001:db8::5");
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");

	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "dual-stack Allocate: ok");
	is_int(resp_count(&e, STUN_ATTR_XOR_RELAYED_ADDRESS), 2,
	    "two XOR-RELAYED-ADDRESS");
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss) == 0 &&
	    ss.ss_family == AF_INET, "first relay IPv4");
	want = sa("2001:db8::5", 0);
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 1, &ss) == 0 &&
	    addr_equal_ip(SA(ss), SA(want)), "second relay on the v6 IP");
	ok(stun_msg_get(&e.resp, STUN_ATTR_ADDRESS_ERROR_CODE) == NULL,
	    "no ADDRESS-ERROR-CODE");
	is_int(e.io.opens, 2, "two relays opened");
	ok(e.io.nports == 2 && e.io.ports[0] != e.io.ports[1],
	    "on different ports");
	is_int(permit(&e, "2001:db8:1::7", 0), 200,
	    "IPv6 peer on a dual allocation: ok");
	is_int(permit(&e, "fd00::1", 0), 403, "ULA fd00::1: 403");
	is_int(permit(&e, "203.0.113.7", 0), 200, "IPv4 peer too");
	is_int(peer_in(&e, "2001:db8:1::7", 9), 0, "v6 permission works");
	is_int(refresh(&e, 0), 200, "Refresh 0 of the dual allocation");
	is_int(e.io.closes, 2, "both relays closed");

	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "REQUESTED-ADDRESS-FAMILY IPv6: ok");
	is_int(resp_count(&e, STUN_ATTR_XOR_RELAYED_ADDRESS), 1, "one relay");
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss) == 0 &&
	    addr_equal_ip(SA(ss), SA(want)), "relay on the v6 IP");
	is_int(permit(&e, "203.0.113.7", 0), 443,
	    "IPv4 peer on an IPv6 allocation: 443");
	req_new(&e, &q, STUN_METHOD_REFRESH, STUN_CLASS_REQUEST);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 443,
	    "Refresh asking IPv4 of a v6 allocation: 443");
	req_new(&e, &q, STUN_METHOD_REFRESH, STUN_CLASS_REQUEST);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "Refresh asking IPv6: ok");
	is_int(refresh(&e, 0), 200, "released");

	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "REQUESTED-ADDRESS-FAMILY IPv4: ok");
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &ss) == 0 &&
	    ss.ss_family == AF_INET, "relay IPv4");
	is_int(permit(&e, "2001:db8:1::7", 0), 443,
	    "IPv6 peer on a v4-only allocation: 443");
	env_free(&e);
}

static void
test_even_port(void)
{
	struct env	e;
	struct req	q;
	const struct stun_attr *a;
	uint8_t		token[8];
	int		port, avail;

	env_init(&e, AUTH_CONF "min-port=50000\nmax-port=50009\n",
	    "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");

	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x00", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "EVEN-PORT: ok");
	port = relayed_port(&e);
	ok(port > 0 && port % 2 == 0, "EVEN-PORT: even relay port");
	ok(stun_msg_get(&e.resp, STUN_ATTR_RESERVATION_TOKEN) == NULL,
	    "no R bit: no RESERVATION-TOKEN");

	client_port(&e, 40001);
	avail = turn_ports_available(e.sh.ports);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x80", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "EVEN-PORT with R: ok");
	port = relayed_port(&e);
	ok(port > 0 && port % 2 == 0, "EVEN-PORT R: even relay port");
	a = stun_msg_get(&e.resp, STUN_ATTR_RESERVATION_TOKEN);
	ok(a != NULL && a->len == 8, "RESERVATION-TOKEN returned");
	memset(token, 0, sizeof(token));
	if (a != NULL && a->len == 8)
		memcpy(token, a->val, 8);
	is_int(turn_ports_available(e.sh.ports), avail - 2,
	    "the port and its successor both taken");

	/* Another client claims port + 1 with the token. */
	client_port(&e, 40002);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "RESERVATION-TOKEN: ok");
	is_int(relayed_port(&e), port + 1, "RESERVATION-TOKEN: port + 1");
	ok(stun_msg_get(&e.resp, STUN_ATTR_RESERVATION_TOKEN) == NULL,
	    "no token in that answer");
	is_int(e.io.dup, 0, "no port opened twice");

	client_port(&e, 40003);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	req_send(&e, &q);
	is_int(resp_code(&e), 508, "a used token again: 508");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, "ABCDEFGH", 8);
	req_send(&e, &q);
	is_int(resp_code(&e), 508, "an unknown token: 508");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x00", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "RESERVATION-TOKEN + EVEN-PORT: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	add_family(&q.b, STUN_ATTR_REQUESTED_ADDRESS_FAMILY, 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 400,
	    "RESERVATION-TOKEN + REQUESTED-ADDRESS-FAMILY: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 4);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "4-byte RESERVATION-TOKEN: 400");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, NULL, 0);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "empty EVEN-PORT: 400");

	/* A reservation not claimed within 30 s lapses. */
	client_port(&e, 40004);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x80", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "second EVEN-PORT with R");
	a = stun_msg_get(&e.resp, STUN_ATTR_RESERVATION_TOKEN);
	if (a != NULL && a->len == 8)
		memcpy(token, a->val, 8);
	avail = turn_ports_available(e.sh.ports);
	e.ctx.now += 31;
	turn_server_expire(&e.ctx);
	is_int(turn_ports_available(e.sh.ports), avail + 1,
	    "expired reservation returns the port");
	client_port(&e, 40005);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	req_send(&e, &q);
	is_int(resp_code(&e), 508, "expired token: 508");
	is_int(e.io.dup, 0, "no port opened twice");
	env_free(&e);
}

static void
test_quota(void)
{
	struct env	e;

	env_init(&e, AUTH_CONF "user=carol:pw\nuser-quota=1\ntotal-quota=2\n"
	    PORTS64, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "alice, first allocation");
	client_port(&e, 40001);
	is_int(allocate(&e, 0), 486, "alice, second: 486 (user-quota=1)");
	ok(resp_signed(&e), "486 signed");
	is_int(e.io.open_calls, 1, "486: no relay opened");
	creds(&e, CRED_MD5, "bob", "hunter2");
	client_port(&e, 40002);
	is_int(allocate(&e, 0), 200, "bob, first allocation");
	creds(&e, CRED_MD5, "carol", "pw");
	client_port(&e, 40003);
	is_int(allocate(&e, 0), 486, "carol: 486 (total-quota=2)");
	is_int(turn_quota_total(e.sh.quota), 2, "two counted");
	creds(&e, CRED_MD5, "alice", "secret");
	client_port(&e, 40000);
	is_int(refresh(&e, 0), 200, "alice releases");
	is_int(turn_quota_total(e.sh.quota), 1, "quota given back");
	creds(&e, CRED_MD5, "carol", "pw");
	client_port(&e, 40003);
	is_int(allocate(&e, 0), 200, "carol now fits");
	creds(&e, CRED_MD5, "alice", "secret");
	client_port(&e, 40001);
	is_int(allocate(&e, 0), 486, "alice: total full again");
	env_free(&e);
}

static void
test_ports(void)
{
	struct env	e;
	int		p[4], i, j, distinct = 1;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	for (i = 0; i < 4; i++) {
		client_port(&e, (uint16_t)(40000 + i));
		is_int(allocate(&e, 0), 200, "allocation in a 4-port range");
		p[i] = relayed_port(&e);
		for (j = 0; j < i; j++)
			if (p[j] == p[i])
				distinct = 0;
	}
	ok(distinct, "four distinct relay ports");
	is_int(turn_ports_available(e.sh.ports), 0, "range used up");
	client_port(&e, 40004);
	is_int(allocate(&e, 0), 508, "fifth: 508");
	ok(resp_signed(&e), "508 signed");
	is_int(e.ctx.table.count, 4, "still four allocations");

	client_port(&e, 40001);
	is_int(refresh(&e, 0), 200, "Refresh 0 of the second");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 0, "answer has LIFETIME 0");
	ok(resp_signed(&e), "Refresh 0 answer signed");
	is_int(e.io.closes, 1, "relay_close called at once");
	is_int(e.ctx.table.count, 3, "deallocated at once");
	is_int(turn_ports_available(e.sh.ports), 1, "its port is back");
	is_int(refresh(&e, 0), 437, "Refresh of what is gone: 437");
	client_port(&e, 40004);
	is_int(allocate(&e, 0), 200, "fifth client fits now");
	is_int(relayed_port(&e), p[1], "on the freed port");
	is_int(e.io.dup, 0, "no port opened twice");
	env_free(&e);

	/* EADDRINUSE on some ports: the core tries others. */
	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	e.io.busy[0] = 50000;
	e.io.busy[1] = 50001;
	e.io.busy[2] = 50002;
	e.io.nbusy = 3;
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "EADDRINUSE on three ports: still ok");
	is_int(relayed_port(&e), 50003, "on the one free port");
	ok(e.io.open_calls >= 1 && e.io.open_calls <= 4,
	    "tried at most every port once");
	client_port(&e, 40001);
	is_int(allocate(&e, 0), 508, "then nothing left: 508");
	env_free(&e);

	/* Another error from relay_open: 508, port returned. */
	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	e.io.fail_errno = EMFILE;
	is_int(allocate(&e, 0), 508, "relay_open EMFILE: 508");
	is_int(e.io.open_calls, 1, "EMFILE is not retried");
	is_int(turn_ports_available(e.sh.ports), 4, "the port is returned");
	is_int(turn_quota_total(e.sh.quota), 0, "the quota is returned");
	is_int(e.ctx.table.count, 0, "no allocation");
	client_port(&e, 40001);
	is_int(allocate(&e, 0), 200, "next Allocate works");
	env_free(&e);
}

/*
 * EVEN-PORT with R and relay_open failing (not EADDRINUSE): the port pair
 * goes back to the pool, and its reservation must go too, or expiring it
 * later frees a port that another allocation holds by then.
 */
static void
test_pair_failure(void)
{
	struct env		 e;
	struct req		 q;
	const struct stun_attr	*a;
	uint8_t			 token[8];
	int			 i, busy;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	e.io.fail_errno = EMFILE;
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x80", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 508, "EVEN-PORT R, relay_open EMFILE: 508");
	is_int(turn_ports_available(e.sh.ports), 4, "both ports returned");
	for (i = 0; i < 4; i++) {
		client_port(&e, (uint16_t)(40001 + i));
		is_int(allocate(&e, 0), 200, "fill the range");
	}
	is_int(turn_ports_available(e.sh.ports), 0, "range used up");
	e.ctx.now += TURN_PORTS_RESERVE_SECS + 1;
	turn_server_expire(&e.ctx);
	is_int(turn_ports_available(e.sh.ports), 0,
	    "stale reservation of the failed Allocate frees no port in use");
	client_port(&e, 40005);
	is_int(allocate(&e, 0), 508, "range still full: 508");
	is_int(e.io.dup, 0, "no port handed out twice");
	env_free(&e);

	/*
	 * EADDRINUSE on a pair: the busy port sits out TURN_PORTS_BUSY_SECS,
	 * the reservation of its successor is cancelled, another pair tried.
	 */
	env_init(&e, AUTH_CONF "min-port=50000\nmax-port=50005\n", "10.0.0.5",
	    NULL);
	e.io.busy[0] = 50000;
	e.io.busy[1] = 50002;
	e.io.nbusy = 2;
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x80", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "EVEN-PORT R past two busy pairs: ok");
	is_int(relayed_port(&e), 50004, "on the one free pair");
	memset(token, 0, sizeof(token));
	if ((a = stun_msg_get(&e.resp, STUN_ATTR_RESERVATION_TOKEN)) != NULL &&
	    a->len == 8)
		memcpy(token, a->val, 8);
	busy = e.io.busy_hits;
	is_int(turn_ports_available(e.sh.ports), 4 - busy,
	    "the pair in use is taken, the busy ports tried sit out, their "
	    "successors went back");
	client_port(&e, 40002);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	req_send(&e, &q);
	is_int(relayed_port(&e), 50005, "the token still gives port + 1");
	e.ctx.now += TURN_PORTS_RESERVE_SECS + 1;
	turn_server_expire(&e.ctx);
	is_int(turn_ports_available(e.sh.ports), 4 - busy,
	    "no cancelled reservation frees a port later");
	e.ctx.now += TURN_PORTS_BUSY_SECS;
	turn_server_expire(&e.ctx);
	is_int(turn_ports_available(e.sh.ports), 4,
	    "the busy ports come back after their time out");
	client_port(&e, 40001);
	for (i = 0; i < 4; i++)
		allocate(&e, 0);
	is_int(e.io.dup, 0, "no port handed out twice");
	env_free(&e);
}

/* Tests: Refresh, permissions, channels, Send --------------------------- */

static void
test_refresh(void)
{
	struct env	e;
	int		avail;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(refresh(&e, 600), 437, "Refresh without allocation: 437");
	ok(resp_signed(&e), "437 signed");
	is_int(permit(&e, "203.0.113.7", 0), 437,
	    "CreatePermission without allocation: 437");
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 1), 437,
	    "ChannelBind without allocation: 437");

	avail = turn_ports_available(e.sh.ports);
	is_int(allocate(&e, 0), 200, "allocate");
	is_int(refresh(&e, 1200), 200, "Refresh 1200");
	is_int(resp_u32(&e, STUN_ATTR_LIFETIME), 1200, "LIFETIME 1200");
	ok(resp_signed(&e), "Refresh answer signed");
	e.ctx.now += 700;
	turn_server_expire(&e.ctx);
	is_int(e.ctx.table.count, 1, "alive after the first 600 s");
	e.ctx.now += 500;
	turn_server_expire(&e.ctx);
	is_int(e.ctx.table.count, 1, "alive at exactly its expiry");
	e.ctx.now += 1;
	turn_server_expire(&e.ctx);
	is_int(e.ctx.table.count, 0, "expired after 1200 s");
	is_int(e.io.closes, 1, "expiry closes the relay");
	is_int(turn_ports_available(e.sh.ports), avail, "port returned");
	is_int(turn_quota_total(e.sh.quota), 0, "quota returned");

	/* Someone else's credentials on the 5-tuple: 441. */
	e.ctx.now_unix += 1200;
	is_int(get_nonce(&e), 401, "nonce");
	is_int(allocate(&e, 0), 200, "allocate again");
	creds(&e, CRED_MD5, "bob", "hunter2");
	is_int(refresh(&e, 600), 441, "Refresh with bob's credentials: 441");
	ok(resp_signed(&e), "441 signed with bob's key");
	is_int(permit(&e, "203.0.113.7", 0), 441,
	    "CreatePermission with bob's credentials: 441");
	is_int(refresh(&e, 0), 441, "bob cannot delete it");
	is_int(e.ctx.table.count, 1, "still there");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(refresh(&e, 0), 200, "alice deletes it");
	is_int(e.ctx.table.count, 0, "gone");
	is_int(e.io.nports, 0, "relay closed");
	env_free(&e);
}

static void
test_permissions(void)
{
	static const char *const refused[] = {
		"127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1",
		"169.254.169.254", "100.64.0.1", "224.0.0.1", "0.0.0.0",
		"255.255.255.255", "198.18.0.1",
	};
	struct env		e;
	struct req		q;
	struct sockaddr_storage	p1, p2;
	size_t			i;
	char			what[96];

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate");

	req_new(&e, &q, STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "CreatePermission without peer: 400");
	req_new(&e, &q, STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, "\0\1\0", 3);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "malformed XOR-PEER-ADDRESS: 400");
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(what, sizeof(what), "peer %s: 403", refused[i]);
		is_int(permit(&e, refused[i], 0), 403, what);
	}
	ok(resp_signed(&e), "403 signed");
	is_int(permit(&e, "203.0.113.7", 0), 200, "public peer: ok");
	ok(resp_signed(&e), "CreatePermission answer signed");
	is_int(permit(&e, "10.0.0.5", 0), 200, "our own listening IP: ok");
	/* There, Send and ChannelBind reach only the relay ports. */
	is_int(send_ind(&e, "10.0.0.5", 22, "ssh?"), 0, "Send to own IP:22");
	is_int(e.io.sends, 0, "own private IP, port 22: not relayed");
	is_int(send_ind(&e, "10.0.0.5", 50002, "hi"), 0,
	    "Send to own IP, a relay port");
	is_int(e.io.sends, 1, "own private IP, relay port: relayed");
	is_int(chan_bind(&e, 0x4000, "10.0.0.5", 22), 403,
	    "ChannelBind to own IP:22: 403");
	is_int(chan_bind(&e, 0x4001, "10.0.0.5", 50003), 200,
	    "ChannelBind to own IP, a relay port: ok");
	is_int(permit(&e, "2001:db8::7", 0), 443,
	    "IPv6 peer on a v4-only allocation: 443");

	/* All or nothing: one bad peer refuses the whole request. */
	p1 = sa("198.51.100.20", 0);
	p2 = sa("10.9.9.9", 0);
	req_new(&e, &q, STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(p1));
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(p2));
	req_send(&e, &q);
	is_int(resp_code(&e), 403, "two peers, one refused: 403");
	is_int(peer_in(&e, "198.51.100.20", 1), -1,
	    "the good one was not installed either");
	p2 = sa("198.51.100.21", 0);
	req_new(&e, &q, STUN_METHOD_CREATE_PERMISSION, STUN_CLASS_REQUEST);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(p1));
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(p2));
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "two good peers: ok");
	is_int(peer_in(&e, "198.51.100.20", 1), 0, "first permitted");
	is_int(peer_in(&e, "198.51.100.21", 65535), 0,
	    "second permitted, any port");
	env_free(&e);

	env_init(&e, AUTH_CONF PORTS4 "allow-loopback-peers\n"
	    "allowed-peer-ip=10.1.0.0-10.1.255.255\n"
	    "denied-peer-ip=203.0.113.0-203.0.113.255\n", "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate");
	is_int(permit(&e, "127.0.0.1", 0), 200,
	    "allow-loopback-peers: loopback ok");
	is_int(permit(&e, "10.1.2.3", 0), 200,
	    "allowed-peer-ip opens a private range");
	is_int(permit(&e, "10.2.0.1", 0), 403, "but only that range");
	is_int(permit(&e, "203.0.113.7", 0), 403,
	    "denied-peer-ip closes a public range");
	is_int(permit(&e, "198.51.100.1", 0), 200, "other public ok");
	env_free(&e);

	/* relay-ip: relays live there, and it counts as our own. */
	env_init(&e, AUTH_CONF PORTS4 "relay-ip=172.16.5.5\n", "10.0.0.5",
	    NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate with relay-ip");
	p1 = sa("172.16.5.5", 0);
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &p2) == 0 &&
	    addr_equal_ip(SA(p1), SA(p2)), "relay on relay-ip");
	is_int(permit(&e, "172.16.5.5", 0), 200, "relay-ip as peer: ok");
	is_int(permit(&e, "172.16.5.6", 0), 403, "its neighbour: 403");
	env_free(&e);

	/* external-ip: advertised instead of the private relay address. */
	env_init(&e, AUTH_CONF PORTS4 "external-ip=198.51.100.200/10.0.0.5\n",
	    "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate with external-ip");
	p1 = sa("198.51.100.200", 0);
	ok(resp_addr(&e, STUN_ATTR_XOR_RELAYED_ADDRESS, 0, &p2) == 0 &&
	    addr_equal_ip(SA(p1), SA(p2)), "external IP advertised");
	ok(cur_alloc(&e) != NULL && addr_port(&cur_alloc(&e)->relay[0].addr.sa)
	    == addr_port(SA(p2)), "with the relay's port");
	env_free(&e);
}

static void
test_channels(void)
{
	struct env		 e;
	struct req		 q;
	const struct sockaddr	*peer;
	struct turn_relay	*rl;
	struct sockaddr_storage	 want;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 3600), 200, "allocate for an hour");

	is_int(chan_bind(&e, 0x3FFF, "203.0.113.7", 5000), 400,
	    "channel 0x3FFF: 400");
	is_int(chan_bind(&e, 0x8000, "203.0.113.7", 5000), 400,
	    "channel 0x8000: 400");
	is_int(chan_bind(&e, 0xFFFF, "203.0.113.7", 5000), 400,
	    "channel 0xFFFF: 400");
	is_int(chan_bind(&e, 0x4000, "10.1.2.3", 5000), 403,
	    "channel to a private peer: 403");
	is_int(chan_bind(&e, 0x4000, "2001:db8::1", 5000), 443,
	    "channel to an IPv6 peer, v4 allocation: 443");
	req_new(&e, &q, STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_CHANNEL_NUMBER, "\x40\0\0\0", 4);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "ChannelBind without peer: 400");
	want = sa("203.0.113.7", 5000);
	req_new(&e, &q, STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(want));
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "ChannelBind without number: 400");
	req_new(&e, &q, STUN_METHOD_CHANNEL_BIND, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, STUN_ATTR_CHANNEL_NUMBER, "\x40\0", 2);
	stun_build_addr(&q.b, STUN_ATTR_XOR_PEER_ADDRESS, SA(want));
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "2-byte CHANNEL-NUMBER: 400");

	is_int(peer_in(&e, "203.0.113.7", 5000), -1,
	    "peer_in before anything: -1");
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 5000), 200,
	    "channel 0x4000: ok");
	ok(resp_signed(&e), "ChannelBind answer signed");
	is_int(chan_bind(&e, 0x7FFF, "203.0.113.8", 5000), 200,
	    "channel 0x7FFF: ok");
	is_int(chan_bind(&e, 0x4000, "203.0.113.9", 5000), 400,
	    "0x4000 to another peer: 400");
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 5001), 400,
	    "0x4000 to another port of the peer: 400");
	is_int(chan_bind(&e, 0x4001, "203.0.113.7", 5000), 400,
	    "the peer to another number: 400");

	/* The data path. */
	rl = turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4000,
	    &peer);
	ok(rl != NULL && rl == &cur_alloc(&e)->relay[0],
	    "channel_in: the allocation's relay");
	ok(rl != NULL && addr_equal(peer, SA(want)), "channel_in: the peer");
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4002,
	    &peer) == NULL, "channel_in: unbound channel: NULL");
	ok(turn_server_channel_in(&e.ctx, SA(e.client), &listener_b, 0x4000,
	    &peer) == NULL, "channel_in: other listener: NULL");
	want = sa("198.51.100.7", 40001);
	ok(turn_server_channel_in(&e.ctx, SA(want), e.listener, 0x4000,
	    &peer) == NULL, "channel_in: other client port: NULL");
	is_int(peer_in(&e, "203.0.113.7", 5000), 0x4000,
	    "peer_in: the bound channel");
	is_int(peer_in(&e, "203.0.113.7", 5001), 0,
	    "peer_in: same IP other port: Data indication");
	is_int(peer_in(&e, "203.0.113.9", 5000), -1,
	    "peer_in: no permission: -1");

	/* Rebinding refreshes; without it the channel expires at 600 s. */
	e.ctx.now += 500;
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 5000), 200,
	    "rebind the same pair: ok");
	e.ctx.now += 200;	/* 700 s: 0x7FFF is past channel-lifetime */
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x7FFF,
	    &peer) == NULL, "channel_in: expired channel: NULL");
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4000,
	    &peer) != NULL, "channel_in: refreshed channel still bound");
	is_int(peer_in(&e, "203.0.113.8", 5000), -1,
	    "peer_in: expired permission: -1");
	is_int(peer_in(&e, "203.0.113.7", 5000), 0x4000,
	    "peer_in: refreshed (permission refreshed too)");
	e.ctx.now += 301;	/* permission of the rebind gone (300 s) */
	is_int(peer_in(&e, "203.0.113.7", 5000), -1,
	    "peer_in: permission expired, channel or not: -1");
	e.ctx.now += 200;
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4000,
	    &peer) == NULL, "channel_in: after channel-lifetime: NULL");
	env_free(&e);

	/* channel-lifetime and permission-lifetime from the config. */
	env_init(&e, AUTH_CONF PORTS4 "channel-lifetime=60\n"
	    "permission-lifetime=30\n", "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate");
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 5000), 200, "bind");
	is_int(permit(&e, "203.0.113.10", 0), 200, "permit");
	e.ctx.now += 31;
	is_int(peer_in(&e, "203.0.113.10", 1), -1,
	    "permission-lifetime=30 honoured");
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4000,
	    &peer) != NULL, "channel alive at 31 s");
	e.ctx.now += 30;
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4000,
	    &peer) == NULL, "channel-lifetime=60 honoured");
	env_free(&e);
}

static void
test_send(void)
{
	struct env	e;
	struct sockaddr_storage	want;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(send_ind(&e, "203.0.113.7", 5000, "hello"), 0,
	    "Send without allocation: no answer");
	is_int(e.io.sends, 0, "nothing relayed");
	is_int(allocate(&e, 0), 200, "allocate");
	is_int(send_ind(&e, "203.0.113.7", 5000, "hello"), 0,
	    "Send without permission: no answer");
	is_int(e.io.sends, 0, "nothing relayed without permission");
	is_int(permit(&e, "203.0.113.7", 0), 200, "permit");
	is_int(send_ind(&e, "203.0.113.7", 5000, "hello"), 0,
	    "Send with permission: no answer");
	is_int(e.io.sends, 1, "relay_send called");
	want = sa("203.0.113.7", 5000);
	ok(addr_equal(SA(e.io.send_peer), SA(want)), "to the peer");
	ok(e.io.send_len == 5 && memcmp(e.io.send_data, "hello", 5) == 0,
	    "with the DATA");
	ok(e.io.send_relay == &cur_alloc(&e)->relay[0], "from the relay");
	is_int(send_ind(&e, "203.0.113.8", 5000, "x"), 0, "other IP");
	is_int(e.io.sends, 1, "not relayed");
	is_int(send_ind(&e, "2001:db8::1", 5000, "x"), 0, "IPv6 peer");
	is_int(e.io.sends, 1, "not relayed on a v4 allocation");
	e.ctx.now += 301;
	is_int(send_ind(&e, "203.0.113.7", 5000, "late"), 0, "after expiry");
	is_int(e.io.sends, 1, "not relayed after the permission expired");
	env_free(&e);
}

/*
 * Listening on 127.0.0.1 and 10.0.0.5 with a bare external-ip: every relay
 * IP, loopback too, is advertised as 203.0.113.5; clients reach 10.0.0.5,
 * so relays are bound there. Client 40000 allocates A, client 40001 B.
 */
static void
env_init_nat(struct env *e, const char *more, struct turn_alloc **a,
    struct turn_alloc **b)
{
	char	conf[512];

	snprintf(conf, sizeof(conf), "%s%s%s", AUTH_CONF PORTS4,
	    "external-ip=203.0.113.5\n", more);
	env_init(e, conf, "127.0.0.1", NULL);
	turn_ctx_clear(&e->ctx);
	turn_shared_clear(&e->sh);
	e->listen[e->nlisten++] = sa("10.0.0.5", 0);
	turn_shared_init(&e->sh, e->cfg, e->auth, e->listen, e->nlisten);
	turn_ctx_init(&e->ctx, &e->sh, &fake_io_ops, &e->io, 0);
	e->ctx.now = T0;
	e->ctx.now_unix = T0_UNIX;
	e->ctx.now_ms = T0 * 1000;
	e->local = sa("10.0.0.5", 3478);
	is_int(get_nonce(e), 401, "nonce");
	creds(e, CRED_MD5, "alice", "secret");
	is_int(allocate(e, 0), 200, "allocate A");
	*a = cur_alloc(e);
	client_port(e, 40001);
	is_int(allocate(e, 0), 200, "allocate B");
	*b = cur_alloc(e);
}

/* Relay to relay: inside one worker, and between workers. */
static void
test_hairpin(void)
{
	struct env		 e;
	struct turn_alloc	*a, *b;
	const struct sockaddr	*src = NULL;
	struct sockaddr_storage	 x, want;
	union addr_sa		 a_adv, out;
	int			 chan = -2, free_port, pa, pb;

	env_init_nat(&e, "", &a, &b);
	want = sa("10.0.0.5", addr_port(&b->relay[0].addr.sa));
	ok(addr_equal(&b->relay[0].addr.sa, SA(want)),
	    "relays bound on the address the client reached");
	pa = addr_port(&a->relay[0].addr.sa);
	pb = addr_port(&b->relay[0].addr.sa);
	for (free_port = 50000; free_port == pa || free_port == pb;
	    free_port++)
		;
	a_adv = a->relay[0].advertised;

	/* One worker: straight to the relay, B's permissions decide. */
	ok(turn_server_hairpin(&e.ctx, &a->relay[0],
	    &b->relay[0].advertised.sa, &src, &chan) == &b->relay[0],
	    "hairpin: B's advertised address is B's relay");
	ok(src != NULL && addr_equal(src, &a_adv.sa),
	    "hairpin: from A's advertised address");
	is_int(chan, -1, "hairpin: B without a permission: dropped");
	x = sa("10.0.0.5", (uint16_t)pa);
	is_int(turn_server_peer_in_nat(&e.ctx, &b->relay[0],
	    (struct sockaddr *)&x), -1,
	    "peer_in_nat: B without a permission: dropped");
	is_int(permit(&e, "203.0.113.5", 0), 200, "B permits 203.0.113.5");
	ok(turn_server_hairpin(&e.ctx, &a->relay[0],
	    &b->relay[0].advertised.sa, &src, &chan) == &b->relay[0] &&
	    chan == 0, "hairpin: then a Data indication");
	ok(turn_server_hairpin(&e.ctx, &a->relay[0], &b->relay[0].addr.sa,
	    &src, &chan) == &b->relay[0] && chan == 0 && src != NULL &&
	    addr_equal(src, &a_adv.sa),
	    "hairpin to B's bound address: from A's advertised one, which "
	    "B permits (as between workers)");
	ok(turn_server_hairpin(&e.ctx, &b->relay[0],
	    &b->relay[0].advertised.sa, &src, &chan) == &b->relay[0],
	    "hairpin: to itself, itself");
	x = sa("203.0.113.6", (uint16_t)pb);
	ok(turn_server_hairpin(&e.ctx, &a->relay[0], SA(x), &src, &chan) ==
	    NULL, "hairpin: another IP, B's port: through the network");
	x = sa("203.0.113.7", 5000);
	ok(turn_server_hairpin(&e.ctx, &a->relay[0], SA(x), &src, &chan) ==
	    NULL, "hairpin: a peer elsewhere: through the network");

	/* Between workers: out to the bound address, in as advertised. */
	x = sa("203.0.113.5", (uint16_t)pb);
	want = sa("10.0.0.5", (uint16_t)pb);
	ok(addr_equal(turn_server_peer_out(&e.ctx, SA(x), &out), SA(want)),
	    "peer_out: to the IP the relay is bound on, not loopback");
	x = sa("203.0.113.5", (uint16_t)free_port);
	ok(turn_server_peer_out(&e.ctx, SA(x), &out) == SA(x),
	    "peer_out: a relay port no relay holds: unchanged");
	x = sa("203.0.113.5", 3478);
	ok(turn_server_peer_out(&e.ctx, SA(x), &out) == SA(x),
	    "peer_out: not a relay port: unchanged");
	x = sa("203.0.113.7", (uint16_t)pb);
	ok(turn_server_peer_out(&e.ctx, SA(x), &out) == SA(x),
	    "peer_out: another IP: unchanged");
	x = sa("10.0.0.5", (uint16_t)pa);
	is_int(turn_server_peer_in(&e.ctx, &b->relay[0], SA(x)), -1,
	    "from A's bound address: not permitted as such");
	is_int(turn_server_peer_in_nat(&e.ctx, &b->relay[0],
	    (struct sockaddr *)&x), 0,
	    "peer_in_nat: let in as A's advertised address");
	ok(addr_equal(SA(x), &a_adv.sa),
	    "peer_in_nat: the peer becomes A's advertised address");
	x = sa("127.0.0.1", (uint16_t)pa);
	is_int(turn_server_peer_in_nat(&e.ctx, &b->relay[0],
	    (struct sockaddr *)&x), -1,
	    "peer_in_nat: loopback on A's port is not A: dropped");
	x = sa("10.0.0.5", (uint16_t)free_port);
	is_int(turn_server_peer_in_nat(&e.ctx, &b->relay[0],
	    (struct sockaddr *)&x), -1,
	    "peer_in_nat: a port no relay holds: dropped");
	x = sa("10.0.0.5", 3478);
	is_int(turn_server_peer_in_nat(&e.ctx, &b->relay[0],
	    (struct sockaddr *)&x), -1,
	    "peer_in_nat: not a relay port: dropped");

	/* A gone: nothing of it is found any more. */
	client_port(&e, 40000);
	is_int(refresh(&e, 0), 200, "A deallocates");
	ok(turn_server_hairpin(&e.ctx, &b->relay[0], &a_adv.sa, &src,
	    &chan) == NULL, "hairpin: A freed, not found");
	ok(turn_server_peer_out(&e.ctx, &a_adv.sa, &out) == &a_adv.sa,
	    "peer_out: A's port given back, unchanged");
	env_free(&e);

	/* B permits A's bound address only; B expired, not yet swept. */
	env_init_nat(&e, "", &a, &b);
	is_int(permit(&e, "10.0.0.5", 0), 200, "B permits 10.0.0.5");
	ok(turn_server_hairpin(&e.ctx, &a->relay[0],
	    &b->relay[0].advertised.sa, &src, &chan) == &b->relay[0] &&
	    chan == 0 && src != NULL && addr_equal(src, &a->relay[0].addr.sa),
	    "hairpin to B's advertised address: from A's bound one, which "
	    "B permits (as between workers)");
	e.ctx.now += 601;
	ok(turn_server_hairpin(&e.ctx, &a->relay[0],
	    &b->relay[0].advertised.sa, &src, &chan) == &b->relay[0],
	    "hairpin: B expired but not yet freed is reached, as its socket "
	    "would be");
	env_free(&e);

	/* A wildcard relay-ip is not rewritten to. */
	env_init(&e, AUTH_CONF PORTS4 "relay-ip=0.0.0.0\n"
	    "external-ip=203.0.113.5\n", "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate on relay-ip=0.0.0.0");
	a = cur_alloc(&e);
	ok(turn_server_peer_out(&e.ctx, &a->relay[0].advertised.sa, &out) ==
	    &a->relay[0].advertised.sa,
	    "peer_out: a relay on 0.0.0.0 is not sent to at 0.0.0.0");
	env_free(&e);

	env_init_nat(&e, "no-relay-hairpin\n", &a, &b);
	ok(turn_server_hairpin(&e.ctx, &a->relay[0],
	    &b->relay[0].advertised.sa, &src, &chan) == NULL,
	    "no-relay-hairpin: through the network");
	ok(turn_server_peer_out(&e.ctx, &b->relay[0].advertised.sa, &out) ==
	    &b->relay[0].advertised.sa,
	    "no-relay-hairpin: to the advertised address");
	env_free(&e);
}

/* Tests: Binding, dispatch ------------------------------------------------ */

static void
test_binding_and_dispatch(void)
{
	struct env		e;
	struct req		q;
	struct sockaddr_storage	ss;
	uint8_t			bad[64];
	ssize_t			n;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 200, "Binding without auth: success");
	ok(resp_addr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &ss) == 0 &&
	    addr_equal(SA(ss), SA(e.client)), "XOR-MAPPED-ADDRESS");
	ok(resp_unsigned(&e), "Binding answer not signed");
	/* Method 5 (reserved) request: 400. */
	req_new(&e, &q, 0x005, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 400, "unknown method: 400");
	req_new(&e, &q, 0x005, STUN_CLASS_REQUEST);
	stun_build_attr(&q.b, 0x0777, "x", 1);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 420, "unknown method, unknown attr: 420");
	/* Responses and other indications: no answer. */
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS);
	is_int(req_send_flags(&e, &q, 0), 0, "a success response: 0");
	req_new(&e, &q, STUN_METHOD_DATA, STUN_CLASS_INDICATION);
	is_int(req_send_flags(&e, &q, 0), 0, "a Data indication: 0");
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_ERROR);
	is_int(req_send_flags(&e, &q, 0), 0, "an error response: 0");
	/* Malformed. */
	is_int(deliver(&e, (const uint8_t *)"\x00\x01\x00", 3), -1,
	    "3 bytes: -1");
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, 0);
	memcpy(bad, e.pkt, 20);
	bad[3] = 8;
	bad[20] = 0x80; bad[21] = 0x22; bad[22] = 0; bad[23] = 40;
	memset(bad + 24, 'a', 4);
	n = deliver(&e, bad, 28);
	is_int(resp_code(&e), 400, "attribute overrunning the message: 400");
	ok(n > 0, "answered");
	is_int(deliver(&e, bad, 27), -1, "length field beyond the data: -1");
	bad[3] = 0;
	is_int(deliver(&e, bad, 24), -1,
	    "trailing bytes after the message: -1");
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, F_FP);
	e.pkt[e.pktlen - 1] ^= 1;
	is_int(resend(&e), -1, "bad FINGERPRINT: -1");
	env_free(&e);

	env_init(&e, AUTH_CONF PORTS4 "no-stun\n", "10.0.0.5", NULL);
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	is_int(req_send_flags(&e, &q, 0), 0, "no-stun: Binding not answered");
	env_free(&e);

	env_init(&e, AUTH_CONF PORTS4 "stun-only\n", "10.0.0.5", NULL);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 400, "stun-only: Allocate 400");
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 200, "stun-only: Binding ok");
	env_free(&e);

	env_init(&e, AUTH_CONF PORTS4 "secure-stun\n", "10.0.0.5", NULL);
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 401, "secure-stun: Binding 401");
	ok(take_nonce(&e), "with a nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "secure-stun: authenticated Binding ok");
	ok(resp_addr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, 0, &ss) == 0 &&
	    addr_equal(SA(ss), SA(e.client)), "XOR-MAPPED-ADDRESS");
	ok(resp_signed(&e), "signed");
	creds(&e, CRED_MD5, "alice", "nope");
	req_new(&e, &q, STUN_METHOD_BINDING, STUN_CLASS_REQUEST);
	req_send(&e, &q);
	is_int(resp_code(&e), 401, "secure-stun: bad password 401");
	env_free(&e);

	env_init(&e, "lt-cred-mech\nuser=alice:secret\nrealm=" REALM "\n"
	    "fingerprint\n" PORTS4, "10.0.0.5", NULL);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	req_send_flags(&e, &q, 0);
	is_int(resp_code(&e), 401, "fingerprint: 401");
	ok(e.parsed && e.resp.fingerprint_idx != -1,
	    "fingerprint option: FINGERPRINT on every answer");
	env_free(&e);
}

static void
test_advertised(void)
{
	struct config		*cfg;
	struct sockaddr_storage	 relay, want;
	union addr_sa		 out;
	char			 err[128];
	const char		*text;

	text = "external-ip=198.51.100.200/10.0.0.5\n"
	    "external-ip=2001:db8:ff::1\n";
	cfg = config_new();
	ok(config_parse_text(cfg, text, strlen(text), "t", err,
	    sizeof(err)) == CONFIG_OK, "external-ip config");
	relay = sa("10.0.0.5", 50000);
	turn_advertised_ip(cfg, SA(relay), &out);
	want = sa("198.51.100.200", 50000);
	ok(addr_equal(&out.sa, SA(want)), "PUB/PRIV maps PRIV, port kept");
	relay = sa("10.0.0.6", 50001);
	turn_advertised_ip(cfg, SA(relay), &out);
	ok(addr_equal(&out.sa, SA(relay)), "another IPv4 relay: unchanged");
	relay = sa("2001:db8::5", 50002);
	turn_advertised_ip(cfg, SA(relay), &out);
	want = sa("2001:db8:ff::1", 50002);
	ok(addr_equal(&out.sa, SA(want)), "bare IPv6 PUB maps every v6 relay");
	config_free(cfg);

	text = "external-ip=198.51.100.201\n";
	cfg = config_new();
	ok(config_parse_text(cfg, text, strlen(text), "t", err,
	    sizeof(err)) == CONFIG_OK, "bare external-ip config");
	relay = sa("10.0.0.5", 50003);
	turn_advertised_ip(cfg, SA(relay), &out);
	want = sa("198.51.100.201", 50003);
	ok(addr_equal(&out.sa, SA(want)), "bare PUB maps every v4 relay");
	relay = sa("2001:db8::5", 50004);
	turn_advertised_ip(cfg, SA(relay), &out);
	ok(addr_equal(&out.sa, SA(relay)), "but not IPv6 ones");
	config_free(cfg);
}

/* Tests: data path framing, expiry --------------------------------------- */

/* Is msg (outlen bytes) a Data indication from peer carrying data? */
static bool
data_ind_ok(const uint8_t *msg, size_t outlen, const struct sockaddr *peer,
    const uint8_t *data, size_t len, bool fp)
{
	struct stun_msg		 m;
	struct sockaddr_storage	 got;
	const struct stun_attr	*d, *pa;

	if (stun_msg_parse(msg, outlen, &m) != (ssize_t)outlen ||
	    outlen % 4 != 0 || m.method != STUN_METHOD_DATA ||
	    m.cls != STUN_CLASS_INDICATION || m.classic)
		return false;
	if ((d = stun_msg_get(&m, STUN_ATTR_DATA)) == NULL || d->len != len ||
	    (len > 0 && memcmp(d->val, data, len) != 0))
		return false;
	if ((pa = stun_msg_get(&m, STUN_ATTR_XOR_PEER_ADDRESS)) == NULL ||
	    stun_attr_get_addr(&m, pa, &got) != 0 || !addr_equal(SA(got), peer))
		return false;
	return fp ? m.fingerprint_idx != -1 : m.fingerprint_idx == -1;
}

static void
test_frame(void)
{
	static const char *const peers[] = { "203.0.113.7", "2001:db8::77" };
	struct env		 e;
	struct sockaddr_storage	 peer;
	uint8_t			*buf, *start, copy[16];
	size_t			 len, outlen, i, k, good;
	int			 fp;

	for (fp = 0; fp < 2; fp++) {
		env_init(&e, fp ? "no-auth\nfingerprint\n" : "no-auth\n",
		    "10.0.0.5", NULL);
		for (k = 0; k < 2; k++) {
			peer = sa(peers[k], 6000);
			good = 0;
			for (len = 0; len < 8; len++) {
				/* Exactly the room promised: ASan checks it. */
				buf = malloc(TURN_HEADROOM + len +
				    TURN_TAILROOM);
				for (i = 0; i < len; i++)
					copy[i] = buf[TURN_HEADROOM + i] =
					    (uint8_t)(0xa0 + i);
				start = turn_frame_peer_data(&e.ctx,
				    buf + TURN_HEADROOM, len, 0, SA(peer),
				    false, &outlen);
				if (start >= buf && start + outlen <= buf +
				    TURN_HEADROOM + len + TURN_TAILROOM &&
				    data_ind_ok(start, outlen, SA(peer), copy,
				    len, fp != 0))
					good++;
				free(buf);
			}
			is_int(good, 8, k == 0 ? (fp ? "IPv4 Data indications "
			    "with FINGERPRINT, payload 0..7" : "IPv4 Data "
			    "indications, payload 0..7") : (fp ? "IPv6 Data "
			    "indications with FINGERPRINT, payload 0..7" :
			    "IPv6 Data indications, payload 0..7"));
		}
		env_free(&e);
	}

	/* ChannelData, unpadded and padded. */
	env_init(&e, "no-auth\n", "10.0.0.5", NULL);
	peer = sa("203.0.113.7", 6000);
	for (len = 0; len < 8; len++) {
		uint8_t		want[16];
		uint16_t	chan, dlen;
		const uint8_t	*data;
		int		pad;

		for (pad = 0; pad < 2; pad++) {
			buf = malloc(TURN_HEADROOM + len + TURN_TAILROOM);
			memset(buf, 0xee, TURN_HEADROOM + len + TURN_TAILROOM);
			for (i = 0; i < len; i++)
				buf[TURN_HEADROOM + i] = (uint8_t)(0xb0 + i);
			start = turn_frame_peer_data(&e.ctx,
			    buf + TURN_HEADROOM, len, 0x4abc, SA(peer),
			    pad != 0, &outlen);
			memset(want, 0, sizeof(want));
			want[0] = 0x4a;
			want[1] = 0xbc;
			want[3] = (uint8_t)len;
			for (i = 0; i < len; i++)
				want[4 + i] = (uint8_t)(0xb0 + i);
			ok(start == buf + TURN_HEADROOM - 4 &&
			    outlen == (pad ? 4 + ((len + 3) & ~(size_t)3) :
			    4 + len) && memcmp(start, want, outlen) == 0,
			    pad ? "ChannelData padded: bytes" :
			    "ChannelData: bytes");
			ok(stun_channeldata_parse(start, outlen, &chan, &data,
			    &dlen) == 0 && chan == 0x4abc && dlen == len,
			    "ChannelData parses back");
			free(buf);
		}
	}
	env_free(&e);
}

static void
test_expire(void)
{
	struct env	e;

	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate (600 s)");
	client_port(&e, 40001);
	is_int(allocate(&e, 1200), 200, "allocate (1200 s)");
	client_port(&e, 40002);
	e.listener = &listener_b;
	is_int(allocate(&e, 3600), 200, "allocate on another listener");
	is_int(turn_ports_available(e.sh.ports), 1, "three ports used");
	e.ctx.now += 600;
	turn_server_expire(&e.ctx);
	is_int(e.ctx.table.count, 3, "nothing expires at exactly 600 s");
	e.ctx.now += 1;
	turn_server_expire(&e.ctx);
	is_int(e.ctx.table.count, 2, "600 s one expired");
	is_int(e.io.closes, 1, "its relay closed");
	is_int(turn_quota_total(e.sh.quota), 2, "its quota returned");
	is_int(turn_ports_available(e.sh.ports), 2, "its port returned");
	ok(turn_server_has_alloc(&e.ctx, SA(e.client), &listener_b),
	    "has_alloc: the listener-b 5-tuple");
	ok(!turn_server_has_alloc(&e.ctx, SA(e.client), &listener_a),
	    "has_alloc: same client, other listener: no");
	turn_server_drop(&e.ctx, SA(e.client), &listener_a);
	is_int(e.ctx.table.count, 2, "drop of a 5-tuple without one: no-op");
	turn_server_drop(&e.ctx, SA(e.client), &listener_b);
	is_int(e.ctx.table.count, 1, "drop frees that 5-tuple's allocation");
	is_int(e.io.closes, 2, "and closes its relay");
	ok(cur_alloc(&e) == NULL, "the listener-b allocation is gone");
	ok(!turn_server_has_alloc(&e.ctx, SA(e.client), &listener_b),
	    "has_alloc: no longer");
	e.listener = &listener_a;
	client_port(&e, 40001);
	ok(cur_alloc(&e) != NULL, "the listener-a one stays");
	ok(turn_server_has_alloc(&e.ctx, SA(e.client), &listener_a),
	    "has_alloc: live one");
	e.ctx.now += 600;	/* 1201 s: past its 1200 s, not swept yet */
	ok(!turn_server_has_alloc(&e.ctx, SA(e.client), &listener_a),
	    "has_alloc: past its lifetime, before the sweep: no");
	/* Left for turn_ctx_clear() to release. */
	env_free(&e);
}

/*
 * RFC 8656 rules the core does not follow yet (each assertion names the
 * section); see the report that came with this file.
 */
static void
test_rfc_gaps(void)
{
	struct env		 e;
	struct req		 q;
	const struct sockaddr	*peer;
	const struct stun_attr	*a;
	uint8_t			 token[8];
	long long		 l_alloc, l_none, l_small;

	env_init(&e, AUTH_CONF PORTS64, "10.0.0.5", "2001:db8::5");
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");

	/* §7.2 step 8: EVEN-PORT with R and ADDITIONAL-ADDRESS-FAMILY. */
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x80", 1);
	add_family(&q.b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 400,
	    "RFC 8656 7.2/8: EVEN-PORT R + ADDITIONAL-ADDRESS-FAMILY: 400");
	if (resp_code(&e) == 200)
		refresh(&e, 0);

	/* §7.2 step 5: RESERVATION-TOKEN and ADDITIONAL-ADDRESS-FAMILY. */
	client_port(&e, 40001);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_EVEN_PORT, "\x80", 1);
	req_send(&e, &q);
	is_int(resp_code(&e), 200, "EVEN-PORT R for a token");
	memset(token, 0, sizeof(token));
	if ((a = stun_msg_get(&e.resp, STUN_ATTR_RESERVATION_TOKEN)) != NULL &&
	    a->len == 8)
		memcpy(token, a->val, 8);
	client_port(&e, 40002);
	req_new(&e, &q, STUN_METHOD_ALLOCATE, STUN_CLASS_REQUEST);
	add_transport(&q.b, STUN_TRANSPORT_UDP);
	stun_build_attr(&q.b, STUN_ATTR_RESERVATION_TOKEN, token, 8);
	add_family(&q.b, STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2);
	req_send(&e, &q);
	is_int(resp_code(&e), 400, "RFC 8656 7.2/5: RESERVATION-TOKEN + "
	    "ADDITIONAL-ADDRESS-FAMILY: 400");

	/*
	 * §12: an expired channel binding is unbound; after the 5 minutes
	 * the client must wait, the number may go to another peer and the
	 * peer to another number.
	 */
	client_port(&e, 40003);
	is_int(allocate(&e, 3600), 200, "allocate for an hour");
	is_int(chan_bind(&e, 0x4000, "203.0.113.7", 5000), 200, "bind 0x4000");
	is_int(chan_bind(&e, 0x4001, "203.0.113.8", 5000), 200, "bind 0x4001");
	e.ctx.now += 600 + 300 + 1;
	e.ctx.now_unix += 600 + 300 + 1;
	is_int(get_nonce(&e), 401, "nonce");
	ok(turn_server_channel_in(&e.ctx, SA(e.client), e.listener, 0x4000,
	    &peer) == NULL, "channel 0x4000 expired");
	is_int(chan_bind(&e, 0x4000, "203.0.113.9", 5000), 200,
	    "RFC 8656 12: expired channel number rebound to another peer");
	is_int(chan_bind(&e, 0x4002, "203.0.113.8", 5000), 200,
	    "RFC 8656 12: peer of an expired channel bound to another number");
	env_free(&e);

	/*
	 * §8.2 computes a Refresh lifetime the way §7.2 does for Allocate;
	 * with max-allocate-lifetime=300 (under the default 600) Allocate
	 * gives 300, so Refresh must too, with or without a small LIFETIME.
	 */
	env_init(&e, AUTH_CONF PORTS4 "max-allocate-lifetime=300\n",
	    "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 10), 200, "Allocate LIFETIME 10");
	l_alloc = resp_u32(&e, STUN_ATTR_LIFETIME);
	is_int(refresh(&e, -1), 200, "Refresh without LIFETIME");
	l_none = resp_u32(&e, STUN_ATTR_LIFETIME);
	is_int(refresh(&e, 10), 200, "Refresh LIFETIME 10");
	l_small = resp_u32(&e, STUN_ATTR_LIFETIME);
	is_int(l_none, l_alloc, "Refresh without LIFETIME == Allocate's");
	is_int(l_small, l_alloc,
	    "Refresh LIFETIME 10 == Allocate LIFETIME 10 (max 300)");
	ok(l_small <= 300, "Refresh never exceeds max-allocate-lifetime");
	env_free(&e);

	/*
	 * An allocation past its lifetime, before turn_server_expire() ran:
	 * a retransmitted Allocate must not get LIFETIME 2^32 - 1.
	 */
	env_init(&e, AUTH_CONF PORTS4, "10.0.0.5", NULL);
	is_int(get_nonce(&e), 401, "nonce");
	creds(&e, CRED_MD5, "alice", "secret");
	is_int(allocate(&e, 0), 200, "allocate (600 s)");
	e.ctx.now += 601;
	resend(&e);
	ok(resp_code(&e) != 200 ||
	    resp_u32(&e, STUN_ATTR_LIFETIME) <= 3600,
	    "retransmission after expiry: no LIFETIME underflow");
	is_int(e.io.closes, 1, "the expired allocation was released");
	env_free(&e);
}

int
main(void)
{
	test_challenge_and_allocate();
	test_auth_failures();
	test_sha256();
	test_hex_key();
	test_rest();
	test_no_auth();
	test_rate_limit();
	test_allocate_errors();
	test_lifetimes();
	test_families();
	test_even_port();
	test_quota();
	test_ports();
	test_pair_failure();
	test_refresh();
	test_permissions();
	test_advertised();
	test_channels();
	test_send();
	test_hairpin();
	test_binding_and_dispatch();
	test_frame();
	test_expire();
	test_rfc_gaps();
	return tap_done();
}
