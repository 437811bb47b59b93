/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Rooms and peers (PROTOCOL.md): join, leave, forwarding of offer, answer,
 * candidate and relay, the extensions, errors, the legacy broadcast form,
 * reconnects that replace a connection, and the per-connection message
 * rate limit. Forwarded messages leave as the exact text that arrived: no
 * JSON is re-encoded on the way through.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "bucket.h"
#include "config.h"
#include "sig.h"
#include "xmalloc.h"

#define SIG_MINTED_MAX		4	/* TURN usernames remembered per peer */
#define SIG_OUT_MAX		1024	/* our own small messages */
#define SIG_ICE_MAX		4096
#define SIG_ROOM_BUCKETS_MIN	64

struct sig_room {
	struct sig_room		 *next;
	struct sig_id		 *id;		/* sig_id_dup() */
	struct sig_peer		**members;
	size_t			  n, cap;
};

struct sig_peer {
	struct sig_hub		*hub;
	void			*conn;
	struct sig_room		*room;		/* NULL until joined */
	struct sig_id		*uid;		/* sig_id_dup(), once joined */
	TAILQ_ENTRY(sig_peer)	 lobby;		/* not in a room */
	char			*token;		/* from the URL, or NULL */
	char			*host;		/* Host header, or NULL */
	struct bucket		 rate;		/* messages (signal-rate) */
	char			*minted[SIG_MINTED_MAX];
};

TAILQ_HEAD(sig_lobby, sig_peer);

struct sig_hub {
	const struct config	 *cfg;
	const struct sig_ice	 *ice;
	const struct sig_ops	 *ops;
	void			 *ops_arg;
	struct sig_room		**rooms;
	size_t			  nbuckets, nrooms, npeers;
	struct sig_lobby	  lobby;
};

/* Hub and rooms ----------------------------------------------------------- */

struct sig_hub *
sig_hub_new(const struct config *cfg, const struct sig_ice *ice,
    const struct sig_ops *ops, void *ops_arg)
{
	struct sig_hub	*h;

	h = xcalloc(1, sizeof(*h));
	h->cfg = cfg;
	h->ice = ice;
	h->ops = ops;
	h->ops_arg = ops_arg;
	h->nbuckets = SIG_ROOM_BUCKETS_MIN;
	h->rooms = xcalloc(h->nbuckets, sizeof(*h->rooms));
	TAILQ_INIT(&h->lobby);
	return h;
}

void
sig_hub_free(struct sig_hub *h)
{
	if (h == NULL)
		return;
	/* The glue frees every peer first, which empties every room. */
	free(h->rooms);
	free(h);
}

size_t
sig_hub_rooms(const struct sig_hub *h)
{
	return h->nrooms;
}

size_t
sig_hub_peers(const struct sig_hub *h)
{
	return h->npeers;
}

static size_t
sig_room_slot(const struct sig_hub *h, const struct sig_id *id)
{
	uint32_t	hash = 2166136261u;
	uint16_t	i;

	for (i = 0; i < id->len; i++)
		hash = (hash ^ (uint8_t)id->text[i]) * 16777619u;
	return hash & (h->nbuckets - 1);
}

static bool
sig_id_eq(const struct sig_id *a, const struct sig_id *b)
{
	return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/*
 * id in just the bytes it uses: a room and a peer each keep one, and a
 * whole struct sig_id (258 bytes) was a tenth of an idle connection.
 * Only len and text[0..len] of the copy may be touched: never copy it
 * as a struct.
 */
static struct sig_id *
sig_id_dup(const struct sig_id *id)
{
	struct sig_id	*d;

	d = xmalloc(offsetof(struct sig_id, text) + id->len + 1);
	d->len = id->len;
	memcpy(d->text, id->text, id->len);
	d->text[id->len] = '\0';
	return d;
}

static struct sig_room *
sig_room_find(const struct sig_hub *h, const struct sig_id *id)
{
	struct sig_room	*r;

	for (r = h->rooms[sig_room_slot(h, id)]; r != NULL; r = r->next)
		if (sig_id_eq(r->id, id))
			return r;
	return NULL;
}

static void
sig_room_grow(struct sig_hub *h)
{
	struct sig_room	**old = h->rooms, *r, *next;
	size_t		  n = h->nbuckets, i, slot;

	h->nbuckets *= 2;
	h->rooms = xcalloc(h->nbuckets, sizeof(*h->rooms));
	for (i = 0; i < n; i++)
		for (r = old[i]; r != NULL; r = next) {
			next = r->next;
			slot = sig_room_slot(h, r->id);
			r->next = h->rooms[slot];
			h->rooms[slot] = r;
		}
	free(old);
}

static struct sig_room *
sig_room_get(struct sig_hub *h, const struct sig_id *id)
{
	struct sig_room	*r;
	size_t		 slot;

	if ((r = sig_room_find(h, id)) != NULL)
		return r;
	if (h->nrooms + 1 > h->nbuckets)
		sig_room_grow(h);
	r = xcalloc(1, sizeof(*r));
	r->id = sig_id_dup(id);
	slot = sig_room_slot(h, id);
	r->next = h->rooms[slot];
	h->rooms[slot] = r;
	h->nrooms++;
	return r;
}

static void
sig_room_free_if_empty(struct sig_hub *h, struct sig_room *r)
{
	struct sig_room	**pp;

	if (r->n > 0)
		return;
	for (pp = &h->rooms[sig_room_slot(h, r->id)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	free(r->members);
	free(r->id);
	free(r);
	h->nrooms--;
}

static struct sig_peer *
sig_room_member(const struct sig_room *r, const struct sig_id *uid)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		if (sig_id_eq(r->members[i]->uid, uid))
			return r->members[i];
	return NULL;
}

static void
sig_room_remove(struct sig_room *r, const struct sig_peer *p)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		if (r->members[i] == p) {
			r->members[i] = r->members[--r->n];
			return;
		}
}

/* Output ------------------------------------------------------------------ */

static void
sig_send(struct sig_hub *h, struct sig_peer *p, const char *text, int n)
{
	if (n > 0 && (size_t)n < SIG_OUT_MAX)
		h->ops->send(p->conn, text, (size_t)n);
}

static void
sig_error(struct sig_hub *h, struct sig_peer *p, const char *code,
    const char *message, const char *ref)
{
	char	out[SIG_OUT_MAX], jref[128], jmsg[512];

	if (sig_json_string(ref, jref, sizeof(jref)) == -1)
		strcpy(jref, "\"\"");
	if (sig_json_string(message, jmsg, sizeof(jmsg)) == -1)
		strcpy(jmsg, "\"\"");
	sig_send(h, p, out, snprintf(out, sizeof(out), "{\"cmd\":\"error\","
	    "\"code\":\"%s\",\"message\":%s,\"ref\":%s}", code, jmsg, jref));
}

/* "{"cmd":CMD,"roomId":R,"remoteUid":U}" */
static void
sig_notify(struct sig_hub *h, struct sig_peer *to, const char *cmd,
    const struct sig_room *r, const struct sig_id *uid)
{
	char	out[SIG_OUT_MAX];

	sig_send(h, to, out, snprintf(out, sizeof(out), "{\"cmd\":\"%s\","
	    "\"roomId\":%s,\"remoteUid\":%s}", cmd, r->id->text, uid->text));
}

/* TURN credentials -------------------------------------------------------- */

static void
sig_peer_remember(struct sig_peer *p, const char *username)
{
	size_t	i;

	free(p->minted[SIG_MINTED_MAX - 1]);
	for (i = SIG_MINTED_MAX - 1; i > 0; i--)
		p->minted[i] = p->minted[i - 1];
	p->minted[0] = xstrdup(username);
}

static void
sig_peer_revoke(struct sig_hub *h, struct sig_peer *p)
{
	size_t	i;

	for (i = 0; i < SIG_MINTED_MAX; i++) {
		if (p->minted[i] == NULL)
			continue;
		h->ops->revoke(h->ops_arg, p->minted[i]);
		free(p->minted[i]);
		p->minted[i] = NULL;
	}
}

/* iceServers for p as uid, remembered for revocation. -1 if none fit. */
static int
sig_peer_ice(struct sig_hub *h, struct sig_peer *p, const struct sig_id *uid,
    uint64_t now_ms, char *out, size_t cap)
{
	char	username[SIG_ID_MAX + 32];
	int	n;

	n = sig_ice_json(h->ice, uid != NULL ? uid->text : NULL,
	    p->host != NULL ? p->host : "",
	    now_ms / 1000, out, cap, username, sizeof(username));
	if (n > 0 && username[0] != '\0')
		sig_peer_remember(p, username);
	return n;
}

/* Access ------------------------------------------------------------------ */

/* The uid as the token signs it: a string's characters, a number's text. */
static void
sig_id_plain(const struct sig_id *id, char *out, size_t cap)
{
	if (id->len >= 2 && id->text[0] == '"')
		snprintf(out, cap, "%.*s", id->len - 2, id->text + 1);
	else
		snprintf(out, cap, "%.*s", id->len, id->text);
}

static bool
sig_token_ok(const struct sig_hub *h, const char *token,
    const struct sig_id *uid, uint64_t now)
{
	char	plain[SIG_ID_MAX];

	sig_id_plain(uid, plain, sizeof(plain));
	return sig_token_valid(h->cfg, token, plain, now);
}

/* Peers ------------------------------------------------------------------- */

struct sig_peer *
sig_peer_new(struct sig_hub *h, void *conn, const char *token,
    const char *host)
{
	struct sig_peer	*p;

	p = xcalloc(1, sizeof(*p));
	p->hub = h;
	p->conn = conn;
	/* Sized to fit (RSS per peer): a token is rare, a host short. */
	p->token = token != NULL && *token != '\0' ? xstrdup(token) : NULL;
	p->host = host != NULL && *host != '\0' ? xstrdup(host) : NULL;
	TAILQ_INSERT_TAIL(&h->lobby, p, lobby);
	h->npeers++;
	return p;
}

/* Take p out of its room; others hear peer-leave unless quietly. */
static void
sig_peer_leave_room(struct sig_hub *h, struct sig_peer *p, bool quietly)
{
	struct sig_room	*r = p->room;
	size_t		 i;

	if (r == NULL)
		return;
	sig_room_remove(r, p);
	p->room = NULL;
	TAILQ_INSERT_TAIL(&h->lobby, p, lobby);
	if (!quietly)
		for (i = 0; i < r->n; i++)
			sig_notify(h, r->members[i], "peer-leave", r, p->uid);
	sig_room_free_if_empty(h, r);
}

void
sig_peer_free(struct sig_hub *h, struct sig_peer *p)
{
	size_t	i;

	if (p == NULL)
		return;
	if (p->room != NULL) {
		sig_peer_leave_room(h, p, false);
		sig_peer_revoke(h, p);
	}
	TAILQ_REMOVE(&h->lobby, p, lobby);
	for (i = 0; i < SIG_MINTED_MAX; i++)
		free(p->minted[i]);
	h->npeers--;
	free(p->token);
	free(p->host);
	free(p->uid);
	free(p);
}

/* A token bucket per peer: signal-rate per second, signal-rate-burst deep. */
static bool
sig_peer_rate_ok(const struct sig_hub *h, struct sig_peer *p, uint64_t now_ms)
{
	if (h->cfg->signal_rate == 0)
		return true;
	if (p->rate.last_ms == 0)	/* the first message: a full bucket */
		bucket_fill(&p->rate, (uint32_t)h->cfg->signal_rate_burst,
		    now_ms);
	return bucket_take(&p->rate, (uint32_t)h->cfg->signal_rate,
	    (uint32_t)h->cfg->signal_rate_burst, now_ms);
}

/* Join -------------------------------------------------------------------- */

/* resp-join for each member, then joined with peers and iceServers. */
static void
sig_join_answer(struct sig_hub *h, struct sig_peer *p, uint64_t now_ms)
{
	struct sig_room	*r = p->room;
	char		 ice[SIG_ICE_MAX];
	char		*out;
	size_t		 i, cap, n;

	cap = 256 + 2 * r->id->len + p->uid->len + sizeof(ice);
	for (i = 0; i < r->n; i++) {
		if (r->members[i] == p)
			continue;
		sig_notify(h, p, "resp-join", r, r->members[i]->uid);
		cap += r->members[i]->uid->len + 1;
	}
	if (sig_peer_ice(h, p, p->uid, now_ms, ice, sizeof(ice)) < 0)
		strcpy(ice, "[]");
	out = xmalloc(cap);
	n = (size_t)snprintf(out, cap, "{\"cmd\":\"joined\",\"roomId\":%s,"
	    "\"uid\":%s,\"peers\":[", r->id->text, p->uid->text);
	for (i = 0; i < r->n; i++) {
		if (r->members[i] == p)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%s",
		    out[n - 1] == '[' ? "" : ",", r->members[i]->uid->text);
	}
	n += (size_t)snprintf(out + n, cap - n, "],\"iceServers\":%s}", ice);
	h->ops->send(p->conn, out, n);
	free(out);
}

/*
 * Would m's uid overflow m's room? A uid already there is a reconnect and
 * takes its own seat; so does p when it moves within the room. Checked
 * before p leaves its room: a refused join changes nothing (PROTOCOL.md).
 */
static bool
sig_room_full(const struct sig_hub *h, const struct sig_peer *p,
    const struct sig_msg *m)
{
	const struct sig_room	*r = sig_room_find(h, &m->room);

	if (r == NULL || h->cfg->signal_room_max == 0 ||
	    sig_room_member(r, &m->uid) != NULL)
		return false;
	return r->n - (p->room == r) >= (size_t)h->cfg->signal_room_max;
}

static void
sig_join(struct sig_hub *h, struct sig_peer *p, const struct sig_msg *m,
    uint64_t now_ms)
{
	struct sig_room	*r;
	struct sig_peer	*old;
	const char	*token = m->token[0] != '\0' ? m->token :
	    p->token != NULL ? p->token : "";
	size_t		 i;

	if (h->cfg->signal_auth == CONFIG_SIGNAL_AUTH_SECRET &&
	    !sig_token_ok(h, token, &m->uid, now_ms / 1000)) {
		sig_error(h, p, "unauthorized", "a valid token for this uid "
		    "is required", m->ref);
		return;
	}
	if (p->room != NULL) {
		if (sig_id_eq(p->room->id, &m->room) &&
		    sig_id_eq(p->uid, &m->uid)) {
			sig_join_answer(h, p, now_ms);	/* a repeated join */
			return;
		}
	}
	if (sig_room_full(h, p, m)) {
		sig_error(h, p, "room-full", "the room is full", m->ref);
		return;
	}
	if (p->room != NULL) {
		sig_peer_leave_room(h, p, false);
		sig_peer_revoke(h, p);
	}
	r = sig_room_get(h, &m->room);
	if ((old = sig_room_member(r, &m->uid)) != NULL) {
		/* A reconnect: the new connection takes over, silently. */
		sig_peer_leave_room(h, old, true);
		h->ops->close(old->conn, 4000, "replaced by a new connection");
		r = sig_room_get(h, &m->room);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 2;
		r->members = xreallocarray(r->members, r->cap,
		    sizeof(*r->members));
	}
	for (i = 0; i < r->n; i++)
		if (old == NULL)
			sig_notify(h, r->members[i], "new-peer", r, &m->uid);
	r->members[r->n++] = p;
	TAILQ_REMOVE(&h->lobby, p, lobby);
	p->room = r;
	free(p->uid);
	p->uid = sig_id_dup(&m->uid);
	sig_join_answer(h, p, now_ms);
}

/* Messages ---------------------------------------------------------------- */

/* Is p the member (room, uid) names? Else answer not-in-room. */
static bool
sig_speaks_for(struct sig_hub *h, struct sig_peer *p,
    const struct sig_msg *m)
{
	if (p->room != NULL && sig_id_eq(p->room->id, &m->room) &&
	    sig_id_eq(p->uid, &m->uid))
		return true;
	sig_error(h, p, "not-in-room", "this connection has not joined that "
	    "room as that uid", m->ref);
	return false;
}

static void
sig_forward(struct sig_hub *h, struct sig_peer *p, const struct sig_msg *m,
    const char *text, size_t len)
{
	struct sig_room	*r = p->room;
	struct sig_peer	*to;
	size_t		 i;

	if (!m->has_remote) {		/* relay to everyone else */
		for (i = 0; i < r->n; i++)
			if (r->members[i] != p)
				h->ops->send(r->members[i]->conn, text, len);
		return;
	}
	if ((to = sig_room_member(r, &m->remote)) == NULL || to == p) {
		sig_error(h, p, "peer-not-found", "remoteUid is not in the "
		    "room", m->ref);
		return;
	}
	h->ops->send(to->conn, text, len);
}

/* {"type":1|2|4,"data":D} to every other connection not in a room. */
static void
sig_legacy(struct sig_hub *h, struct sig_peer *p, const struct sig_msg *m)
{
	struct sig_peer	*q;
	char		*out;
	size_t		 cap = strlen(m->legacy_data) + 32;
	int		 type = m->legacy_type == 1 ? 2 : m->legacy_type == 2 ?
	    3 : 4, n;

	out = xmalloc(cap);
	n = snprintf(out, cap, "{\"type\":%d,\"data\":%s}", type,
	    m->legacy_data);
	TAILQ_FOREACH(q, &h->lobby, lobby)
		if (q != p)
			h->ops->send(q->conn, out, (size_t)n);
	free(out);
}

static void
sig_ice_servers(struct sig_hub *h, struct sig_peer *p, uint64_t now_ms)
{
	char	ice[SIG_ICE_MAX], *out;
	size_t	cap = sizeof(ice) + 64;
	int	n;

	if (sig_peer_ice(h, p, p->room != NULL ? p->uid : NULL, now_ms, ice,
	    sizeof(ice)) < 0)
		strcpy(ice, "[]");
	out = xmalloc(cap);
	n = snprintf(out, cap, "{\"cmd\":\"ice-servers\",\"iceServers\":%s}",
	    ice);
	h->ops->send(p->conn, out, (size_t)n);
	free(out);
}

void
sig_peer_text(struct sig_hub *h, struct sig_peer *p, const char *text,
    size_t len, uint64_t now_ms)
{
	struct sig_msg	 m;
	const char	*code, *message;

	if (!sig_peer_rate_ok(h, p, now_ms)) {
		sig_error(h, p, "rate-limited", "too many messages", "");
		return;
	}
	if (sig_msg_parse(text, len, &m, &code, &message) == -1) {
		sig_error(h, p, code, message, m.ref);
		sig_msg_clear(&m);
		return;
	}
	switch (m.cmd) {
	case SIG_CMD_JOIN:
		sig_join(h, p, &m, now_ms);
		break;
	case SIG_CMD_LEAVE:
		if (sig_speaks_for(h, p, &m)) {
			sig_peer_leave_room(h, p, false);
			sig_peer_revoke(h, p);
		}
		break;
	case SIG_CMD_OFFER:
	case SIG_CMD_ANSWER:
	case SIG_CMD_CANDIDATE:
	case SIG_CMD_RELAY:
		if (sig_speaks_for(h, p, &m))
			sig_forward(h, p, &m, text, len);
		break;
	case SIG_CMD_KEEPALIVE:
		h->ops->send(p->conn, "{\"cmd\":\"keepalive\"}", 19);
		break;
	case SIG_CMD_ICE_SERVERS:
		/* With tokens, credentials only for a member that showed one. */
		if (h->cfg->signal_auth == CONFIG_SIGNAL_AUTH_SECRET &&
		    p->room == NULL)
			sig_error(h, p, "unauthorized", "join with a valid token "
			    "first", m.ref);
		else
			sig_ice_servers(h, p, now_ms);
		break;
	case SIG_CMD_LEGACY:
		sig_legacy(h, p, &m);
		break;
	}
	sig_msg_clear(&m);
}
