/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * libFuzzer harness for the signaling logic (src/signal/). The whole input
 * goes to sig_msg_parse(); then the first byte picks one of four
 * configurations and the rest, split at '\n', drives a fresh hub with
 * three connections, one line at a time:
 *
 *   <d>TEXT       connection d (0-2) sends TEXT
 *   !<d>TOK HOST  connection d goes away; a new one takes its place, with
 *                 TOK as the URL token and HOST as the Host header
 *   ?<d>UID       the same, with a valid signal-auth=secret token for UID
 *   +N            the clock moves N seconds on
 *   other         connection 0 sends the line
 *
 * The fake glue behaves like src/net/sig_conn.c and checks what the logic
 * asks of it: every text sent is a JSON object (valid UTF-8) for an open
 * connection (one closed by the logic drops it, as the glue does); closes
 * are 4000, once per connection; every revoked name is a TURN REST name,
 * and none comes from freeing a replaced connection. A closed connection
 * is freed after the line, its peer with it, so ASan sees any later use.
 * After every line the hub counts exactly the three open peers.
 *
 * Also linked with replay.c for `make check`.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "config.h"
#include "sig.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_SIG_CONNS		3
#define FUZZ_SIG_LINES		256
#define FUZZ_SIG_SECRET		"fuzz-token-secret"
#define FUZZ_SIG_T0		1700000000000ULL

struct fuzz_sig_conn {
	struct sig_peer	*peer;
	bool		 closed;
};

static struct sig_hub		*fuzz_sig_hub;
static struct fuzz_sig_conn	*fuzz_sig_conns[FUZZ_SIG_CONNS];

static void
fuzz_sig_check(bool cond)
{
	if (!cond)
		abort();
}

static bool	fuzz_sig_reaping;

/* Is c one of the connections not yet freed? */
static bool
fuzz_sig_known(const struct fuzz_sig_conn *c)
{
	size_t	i;

	for (i = 0; i < FUZZ_SIG_CONNS; i++)
		if (fuzz_sig_conns[i] == c)
			return true;
	return false;
}

static void
fuzz_sig_send(void *conn, const char *text, size_t len)
{
	json_t	*j;

	fuzz_sig_check(fuzz_sig_known(conn));
	fuzz_sig_check(len > 0 && memchr(text, '\0', len) == NULL);
	j = json_loadb(text, len, 0, NULL);
	fuzz_sig_check(json_is_object(j));
	json_decref(j);
}

static void
fuzz_sig_close(void *conn, uint16_t code, const char *reason)
{
	struct fuzz_sig_conn	*c = conn;

	fuzz_sig_check(fuzz_sig_known(c) && !c->closed && code == 4000 &&
	    reason != NULL);
	c->closed = true;
}

static void
fuzz_sig_revoke(void *arg, const char *name)
{
	const char	*p = name;

	fuzz_sig_check(arg == &fuzz_sig_hub && !fuzz_sig_reaping);
	while (*p >= '0' && *p <= '9')
		p++;
	fuzz_sig_check(p > name && (*p == '\0' || *p == ':'));
}

static const struct sig_ops	fuzz_sig_ops = {
	.send = fuzz_sig_send,
	.close = fuzz_sig_close,
	.revoke = fuzz_sig_revoke,
};

/* Four configurations, made once: they are only read. */
static const char *const fuzz_sig_confs[4] = {
	"external-ip=203.0.113.5\n",
	"signal-room-max=0\nserver-name=turn.example.org\nno-udp\n",
	"signal-auth=secret\nstatic-auth-secret=" FUZZ_SIG_SECRET "\n"
	    "signal-room-max=3\nstun-only\n",
	"signal-ice-url=stun:{host}:3478\n"
	    "signal-ice-url=turn:{host}:3478?transport=udp\n"
	    "signal-room-max=1\nsignal-ice-ttl=60\n",
};
static struct config	*fuzz_sig_cfg[4];
static struct sig_ice	 fuzz_sig_ice[4];

static void
fuzz_sig_setup(void)
{
	char	err[256];
	size_t	i;

	if (fuzz_sig_cfg[0] != NULL)
		return;
	for (i = 0; i < 4; i++) {
		fuzz_sig_cfg[i] = config_new();
		fuzz_sig_check(config_parse_text(fuzz_sig_cfg[i],
		    fuzz_sig_confs[i], strlen(fuzz_sig_confs[i]), "fuzz", err,
		    sizeof(err)) == CONFIG_OK && config_validate(
		    fuzz_sig_cfg[i], err, sizeof(err)) == CONFIG_OK);
		sig_ice_init(&fuzz_sig_ice[i], fuzz_sig_cfg[i], i != 1,
		    "fuzz-ice-secret");
	}
}

/* The connection in slot i goes; a new one opens there. */
static void
fuzz_sig_replace(size_t i, const char *token, const char *host)
{
	struct fuzz_sig_conn	*c = fuzz_sig_conns[i];

	if (c != NULL) {
		if (c->peer != NULL)
			sig_peer_free(fuzz_sig_hub, c->peer);
		free(c);
	}
	c = calloc(1, sizeof(*c));
	fuzz_sig_check(c != NULL);
	fuzz_sig_conns[i] = c;
	c->peer = sig_peer_new(fuzz_sig_hub, c, token, host);
}

/* After each line, as the glue's deferred free: closed ones go. */
static void
fuzz_sig_reap(void)
{
	size_t	i;

	fuzz_sig_reaping = true;
	for (i = 0; i < FUZZ_SIG_CONNS; i++)
		if (fuzz_sig_conns[i]->closed)
			fuzz_sig_replace(i, NULL, NULL);
	fuzz_sig_reaping = false;
	fuzz_sig_check(sig_hub_peers(fuzz_sig_hub) == FUZZ_SIG_CONNS);
	fuzz_sig_check(sig_hub_rooms(fuzz_sig_hub) <= FUZZ_SIG_CONNS);
}

/* "!<d>TOK HOST" and "?<d>UID": a new connection in slot d. */
static void
fuzz_sig_reconnect(const char *line, size_t len, uint64_t now_ms)
{
	char	 buf[600], token[300], name[640], mac[64];
	char	*host;
	size_t	 slot;

	if (len < 2)
		return;
	slot = (size_t)(uint8_t)line[1] % FUZZ_SIG_CONNS;
	snprintf(buf, sizeof(buf), "%.*s", (int)(len - 2), line + 2);
	if (line[0] == '?') {
		snprintf(name, sizeof(name), "%llu:%s",
		    (unsigned long long)(now_ms / 1000 + 60), buf);
		if (auth_rest_password(FUZZ_SIG_SECRET, name, strlen(name), mac,
		    sizeof(mac)) < 0)
			return;
		snprintf(token, sizeof(token), "%llu:%s",
		    (unsigned long long)(now_ms / 1000 + 60), mac);
		fuzz_sig_replace(slot, token, "example.net");
		return;
	}
	if ((host = strchr(buf, ' ')) != NULL)
		*host++ = '\0';
	fuzz_sig_replace(slot, buf, host);
}

static void
fuzz_sig_line(const char *line, size_t len, uint64_t *now_ms)
{
	struct fuzz_sig_conn	*c;
	char			*copy;
	unsigned long		 secs;
	size_t			 i;

	if (len > 0 && line[0] >= '0' && line[0] <= '2') {
		c = fuzz_sig_conns[line[0] - '0'];
		line++;
		len--;
	} else if (len > 0 && (line[0] == '!' || line[0] == '?')) {
		fuzz_sig_reconnect(line, len, *now_ms);
		return;
	} else if (len > 0 && line[0] == '+') {
		for (i = 1, secs = 0; i < len && i < 6 && line[i] >= '0' &&
		    line[i] <= '9'; i++)
			secs = secs * 10 + (unsigned long)(line[i] - '0');
		*now_ms += (uint64_t)secs * 1000;
		return;
	} else
		c = fuzz_sig_conns[0];
	/* Exactly len bytes, so ASan sees any overread. */
	copy = malloc(len > 0 ? len : 1);
	fuzz_sig_check(copy != NULL);
	memcpy(copy, line, len);
	sig_peer_text(fuzz_sig_hub, c->peer, copy, len, *now_ms);
	free(copy);
}

/* sig_msg_parse() alone: what it returns is well formed. */
static void
fuzz_sig_parse(const uint8_t *data, size_t size)
{
	struct sig_msg	 m;
	const char	*code = NULL, *message = NULL;
	char		*copy;
	int		 rc;

	copy = malloc(size > 0 ? size : 1);
	fuzz_sig_check(copy != NULL);
	memcpy(copy, data, size);
	rc = sig_msg_parse(copy, size, &m, &code, &message);
	fuzz_sig_check(strlen(m.ref) < sizeof(m.ref));
	if (rc == -1) {
		fuzz_sig_check(code != NULL && message != NULL &&
		    (strcmp(code, "bad-json") == 0 ||
		    strcmp(code, "bad-request") == 0 ||
		    strcmp(code, "unknown-cmd") == 0));
	} else {
		fuzz_sig_check(rc == 0);
		fuzz_sig_check(!m.has_room || (m.room.len > 0 &&
		    m.room.len < SIG_ID_MAX &&
		    strlen(m.room.text) == m.room.len));
		fuzz_sig_check(!m.has_uid || (m.uid.len > 0 &&
		    m.uid.len < SIG_ID_MAX && strlen(m.uid.text) == m.uid.len));
		fuzz_sig_check(!m.has_remote || (m.remote.len > 0 &&
		    m.remote.len < SIG_ID_MAX &&
		    strlen(m.remote.text) == m.remote.len));
		if (m.cmd == SIG_CMD_LEGACY)
			fuzz_sig_check(m.legacy_data != NULL &&
			    (m.legacy_type == 1 || m.legacy_type == 2 ||
			    m.legacy_type == 4));
		else
			fuzz_sig_check(m.legacy_data == NULL);
		if (m.cmd == SIG_CMD_JOIN || m.cmd == SIG_CMD_LEAVE)
			fuzz_sig_check(m.has_room && m.has_uid);
		if (m.cmd == SIG_CMD_OFFER || m.cmd == SIG_CMD_ANSWER ||
		    m.cmd == SIG_CMD_CANDIDATE)
			fuzz_sig_check(m.has_room && m.has_uid && m.has_remote);
	}
	sig_msg_clear(&m);
	free(copy);
}

/*
 * sig_json_scan() against jansson: both accept the same objects, with as
 * many members when no key repeats.
 */
static void
fuzz_sig_scan(const uint8_t *data, size_t size)
{
	struct sig_json_member	 mm[8];
	json_t			*obj;
	size_t			 n, i, j;
	bool			 dup = false;
	int			 rc;

	rc = sig_json_scan((const char *)data, size, mm, 8, &n);
	fuzz_sig_check(rc == -1 || rc == (n > 8));
	for (i = 0; i < n && i < 8; i++) {
		fuzz_sig_check(mm[i].key >= (const char *)data &&
		    mm[i].val + mm[i].val_len <= (const char *)data + size);
		for (j = 0; j < i; j++)
			dup |= mm[i].key_len == mm[j].key_len &&
			    memcmp(mm[i].key, mm[j].key, mm[i].key_len) == 0;
	}
	obj = json_loadb((const char *)data, size, 0, NULL);
	if (rc != -1)
		fuzz_sig_check(json_is_object(obj));
	if (json_is_object(obj)) {
		fuzz_sig_check(rc != -1);
		fuzz_sig_check(dup || n > 8 || json_object_size(obj) == n);
	}
	json_decref(obj);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p, *end, *nl;
	uint64_t	 now_ms = FUZZ_SIG_T0;
	size_t		 i, lines = 0, which;

	fuzz_sig_parse(data, size);
	fuzz_sig_scan(data, size);
	if (size < 1)
		return 0;
	fuzz_sig_setup();
	which = data[0] & 3;
	fuzz_sig_hub = sig_hub_new(fuzz_sig_cfg[which], &fuzz_sig_ice[which],
	    &fuzz_sig_ops, &fuzz_sig_hub);
	for (i = 0; i < FUZZ_SIG_CONNS; i++)
		fuzz_sig_replace(i, NULL, i == 1 ? "[2001:db8::1]" : NULL);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end && lines++ < FUZZ_SIG_LINES) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		fuzz_sig_line(p, (size_t)(nl - p), &now_ms);
		fuzz_sig_reap();
		p = nl + 1;
	}
	for (i = 0; i < FUZZ_SIG_CONNS; i++) {
		if (fuzz_sig_conns[i]->peer != NULL)
			sig_peer_free(fuzz_sig_hub, fuzz_sig_conns[i]->peer);
		free(fuzz_sig_conns[i]);
		fuzz_sig_conns[i] = NULL;
	}
	fuzz_sig_check(sig_hub_rooms(fuzz_sig_hub) == 0 &&
	    sig_hub_peers(fuzz_sig_hub) == 0);
	sig_hub_free(fuzz_sig_hub);
	fuzz_sig_hub = NULL;
	return 0;
}
