/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The HTTP side of the signaling thread: which route a request takes
 * (/healthz, /ice-servers, the WebSocket upgrade on /ws and /, the web
 * front's static files), and the access checks on them (signal-auth,
 * signal-origin). src/net/sig_conn.c reads the requests and owns the
 * connection.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "http_parse.h"
#include "http_static.h"
#include "sig.h"
#include "sig_internal.h"
#include "stun_msg.h"
#include "ws.h"

static bool	sconn_basic_ok(const struct sconn *,
		    const struct http_request *);

/* The address the client reached, as a URL host ("[v6]" bracketed). */
static void
sconn_local_host(const struct sconn *c, char *out, size_t cap)
{
	char	ip[ADDR_STRLEN];

	addr_format(&c->local.sa, false, ip, sizeof(ip));
	snprintf(out, cap, c->local.sa.sa_family == AF_INET6 ? "[%s]" : "%s",
	    ip);
}

/* The host the client named (Host header without the port), for URLs. */
static void
sconn_host(const struct sconn *c, const struct http_request *req,
    char *out, size_t cap)
{
	const struct http_header	*h = http_find_header(req, "host");
	const char			*end;
	size_t				 n;

	if (h == NULL || h->value_len == 0 || h->value_len >= cap) {
		sconn_local_host(c, out, cap);
		return;
	}
	n = h->value_len;
	end = h->value[0] == '[' ? memchr(h->value, ']', n) : NULL;
	if (end != NULL)
		n = (size_t)(end - h->value) + 1;
	else if ((end = memchr(h->value, ':', n)) != NULL)
		n = (size_t)(end - h->value);
	memcpy(out, h->value, n);
	out[n] = '\0';
	/* Only what a URL host may hold: no quotes, spaces or slashes. */
	if (strcspn(out, "\"\\/ @?#") != n)
		sconn_local_host(c, out, cap);
}

static void
sconn_route_healthz(struct sconn *c, bool keep_alive, bool head_only)
{
	char	body[128];
	int	n;

	n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"rooms\":%zu,"
	    "\"peers\":%zu}\n", sig_hub_rooms(c->srv->hub),
	    sig_hub_peers(c->srv->hub));
	sconn_http_answer(c, 200, "application/json", body, (size_t)n,
	    keep_alive, "Cache-Control: no-store\r\n", head_only);
}

/*
 * GET /ice-servers: open with signal-auth=none (local development); with
 * secret, ?uid=U&token=T as for a join; with user, HTTP Basic. CORS is
 * granted only when no credentials guard it.
 */
static void
sconn_route_ice(struct sconn *c, const struct http_request *req,
    bool keep_alive, bool head_only)
{
	const struct config	*cfg = c->srv->cfg;
	char			 body[4200], host[300], user[320], uid[256];
	char			 token[256], jid[300];
	int			 n;

	uid[0] = '\0';
	if (cfg->signal_auth == CONFIG_SIGNAL_AUTH_SECRET &&
	    (http_query_param(req, "uid", uid, sizeof(uid)) <= 0 ||
	    http_query_param(req, "token", token, sizeof(token)) <= 0 ||
	    !sig_token_valid(cfg, token, uid, sconn_now_ms() / 1000))) {
		sconn_http_error(c, 401, NULL, keep_alive);
		return;
	}
	if (cfg->signal_auth == CONFIG_SIGNAL_AUTH_USER &&
	    !sconn_basic_ok(c, req)) {
		snprintf(body, sizeof(body), "WWW-Authenticate: Basic "
		    "realm=\"%s\"\r\n", auth_realm(c->srv->auth));
		sconn_http_error(c, 401, body, keep_alive);
		return;
	}
	if (uid[0] == '\0' && http_query_param(req, "uid", uid,
	    sizeof(uid)) <= 0)
		uid[0] = '\0';
	if (uid[0] != '\0' && sig_json_string(uid, jid, sizeof(jid)) == -1)
		uid[0] = '\0';
	sconn_host(c, req, host, sizeof(host));
	n = sig_ice_json(&c->srv->ice, uid[0] != '\0' ? jid : NULL, host,
	    sconn_now_ms() / 1000, body, sizeof(body) - 1, user, sizeof(user));
	if (n < 0) {
		sconn_http_error(c, 500, NULL, keep_alive);
		return;
	}
	body[n++] = '\n';
	sconn_http_answer(c, 200, "application/json", body, (size_t)n,
	    keep_alive, cfg->signal_auth == CONFIG_SIGNAL_AUTH_NONE ?
	    "Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\n" :
	    "Cache-Control: no-store\r\n", head_only);
}

/* signal-origin: a browser's Origin must be listed (absent: not a page). */
static bool
sconn_origin_ok(const struct sconn *c, const struct http_request *req)
{
	const struct config_strlist	*ok = &c->srv->cfg->signal_origins;
	const struct http_header	*h = http_find_header(req, "origin");
	size_t				 i;

	if (ok->n == 0 || h == NULL)
		return true;
	for (i = 0; i < ok->n; i++)
		if (strlen(ok->v[i]) == h->value_len &&
		    strncasecmp(ok->v[i], h->value, h->value_len) == 0)
			return true;
	return false;
}

/* signal-auth=user: HTTP Basic against the TURN user table. */
static bool
sconn_basic_ok(const struct sconn *c, const struct http_request *req)
{
	const struct http_header	*h = http_find_header(req, "authorization");
	uint8_t				 dec[512], want[AUTH_KEY_MAX], key[16];
	char				*colon;
	size_t				 keylen;
	unsigned int			 idx;
	int				 n;

	if (h == NULL || h->value_len < 7 || h->value_len > 600 ||
	    strncasecmp(h->value, "Basic ", 6) != 0)
		return false;
	n = EVP_DecodeBlock(dec, (const uint8_t *)h->value + 6,
	    (int)h->value_len - 6);
	if (n <= 0)
		return false;
	dec[n] = '\0';
	if ((colon = strchr((char *)dec, ':')) == NULL)
		return false;
	*colon = '\0';
	if (stun_longterm_key((char *)dec, auth_realm(c->srv->auth),
	    colon + 1, key) == -1)
		return false;
	for (idx = 0; auth_user_key(c->srv->auth, (char *)dec,
	    strlen((char *)dec), AUTH_ALG_MD5, sconn_now_ms() / 1000, idx,
	    want, &keylen) == 0; idx++)
		if (keylen == 16 && CRYPTO_memcmp(want, key, 16) == 0)
			return true;
	return false;
}

/* GET /ws with an Upgrade: checks, then 101 and WebSocket from now on. */
static void
sconn_upgrade(struct sconn *c, const struct http_request *req)
{
	const struct http_header	*h;
	struct ws_upgrade		 u;
	char				 accept[WS_ACCEPT_LEN + 1];
	char				 extra[256], token[256], host[300];
	int				 rc;

	memset(&u, 0, sizeof(u));
	u.method = req->method;
	u.method_len = req->method_len;
	u.http_minor = req->minor;
#define SCONN_HDR(name, field) do {					\
	if ((h = http_find_header(req, name)) != NULL) {		\
		u.field = h->value;					\
		u.field##_len = h->value_len;				\
	}								\
} while (0)
	SCONN_HDR("upgrade", upgrade);
	SCONN_HDR("connection", connection);
	SCONN_HDR("sec-websocket-version", version);
	SCONN_HDR("sec-websocket-key", key);
#undef SCONN_HDR
	if ((rc = ws_handshake_check(&u, accept)) != 0) {
		sconn_http_error(c, rc, rc == 426 ?
		    "Sec-WebSocket-Version: 13\r\n" : NULL, false);
		return;
	}
	if (!sconn_origin_ok(c, req)) {
		sconn_http_error(c, 403, NULL, false);
		return;
	}
	if (c->srv->cfg->signal_auth == CONFIG_SIGNAL_AUTH_USER &&
	    !sconn_basic_ok(c, req)) {
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Basic "
		    "realm=\"%s\"\r\n", auth_realm(c->srv->auth));
		sconn_http_error(c, 401, extra, false);
		return;
	}
	snprintf(extra, sizeof(extra), "Upgrade: websocket\r\nConnection: "
	    "Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept);
	sconn_http_answer(c, 101, NULL, NULL, 0, true, extra, false);
	if (http_query_param(req, "token", token, sizeof(token)) < 0)
		token[0] = '\0';
	sconn_host(c, req, host, sizeof(host));
	c->state = SCONN_WS;
	c->sig = sig_peer_new(c->srv->hub, c, token, host);
	ws_reader_init(&c->reader, (size_t)c->srv->cfg->signal_max_message);
}

/* A file of the web front, or 404. */
static void
sconn_route_static(struct sconn *c, const struct http_request *req,
    bool head_only)
{
	char		 rel[512], full[PATH_MAX + 520], *real = NULL;
	const char	*root = c->srv->web_root;
	struct stat	 st;
	int		 fd = -1;
	ssize_t		 n;

	if (root == NULL || http_static_path(req->path, req->path_len, rel,
	    sizeof(rel)) < 0)
		goto notfound;
	snprintf(full, sizeof(full), "%s/%s", root, rel);
	/* Once more, on the real file: below the root, no symlink out. */
	if ((real = realpath(full, NULL)) == NULL ||
	    strncmp(real, root, strlen(root)) != 0 ||
	    real[strlen(root)] != '/' ||
	    (fd = open(real, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto notfound;
	free(real);
	n = (ssize_t)st.st_size;
	sconn_http_answer_file(c, http_static_mime(rel), fd, (size_t)n,
	    req->keep_alive, "Cache-Control: no-cache\r\n"
	    "X-Content-Type-Options: nosniff\r\n", head_only);
	return;
notfound:
	free(real);
	if (fd != -1)
		close(fd);
	sconn_http_error(c, 404, NULL, req->keep_alive);
}

static bool
sconn_is_path(const struct http_request *req, const char *path)
{
	return req->path_len == strlen(path) &&
	    memcmp(req->path, path, req->path_len) == 0;
}

void
sconn_route(struct sconn *c, const struct http_request *req)
{
	bool	get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
	bool	head = req->method_len == 4 &&
	    memcmp(req->method, "HEAD", 4) == 0;
	bool	upgrade = http_find_header(req, "upgrade") != NULL;

	if (!get && !head) {
		sconn_http_error(c, 405, "Allow: GET, HEAD\r\n",
		    req->keep_alive);
		return;
	}
	if ((sconn_is_path(req, "/ws") || sconn_is_path(req, "/")) && upgrade)
		sconn_upgrade(c, req);
	else if (sconn_is_path(req, "/ws"))
		sconn_http_error(c, 426, "Upgrade: websocket\r\n"
		    "Sec-WebSocket-Version: 13\r\n", req->keep_alive);
	else if (sconn_is_path(req, "/healthz"))
		sconn_route_healthz(c, req->keep_alive, head);
	else if (sconn_is_path(req, "/ice-servers"))
		sconn_route_ice(c, req, req->keep_alive, head);
	else
		sconn_route_static(c, req, head);
}
