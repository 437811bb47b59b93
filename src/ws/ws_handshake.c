/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The server's half of the WebSocket opening handshake (RFC 6455 §4.2):
 * deciding whether an HTTP request is an acceptable upgrade, and the
 * Sec-WebSocket-Accept value that proves the server read the key. The
 * caller parses the HTTP request and writes the response.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "ws.h"

/* Sec-WebSocket-Key: 16 bytes in base64 (§4.1 item 7). */
#define WS_KEY_B64_LEN	24

void
ws_accept_key(const char *key, size_t key_len, char out[29])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;

	/* §4.2.2 item 5.4: SHA-1 of the key as sent followed by the GUID. */
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, key, key_len) != 1 ||
	    EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 20)
		abort();	/* out of memory, as xmalloc */
	EVP_MD_CTX_free(ctx);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	out[WS_ACCEPT_LEN] = '\0';
}

static bool
ws_handshake_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Strip optional whitespace around *s. */
static void
ws_handshake_trim(const char **s, size_t *len)
{
	while (*len > 0 && ws_handshake_ows((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ws_handshake_ows((*s)[*len - 1]))
		(*len)--;
}

/*
 * True when the comma-separated list s holds token, compared without
 * regard to ASCII case (Connection: keep-alive, Upgrade).
 */
static bool
ws_handshake_has_token(const char *s, size_t len, const char *token)
{
	const char	*item, *end = s + len, *comma;
	size_t		 tlen = strlen(token), n;

	while (s < end) {
		comma = memchr(s, ',', (size_t)(end - s));
		item = s;
		n = (size_t)((comma != NULL ? comma : end) - s);
		ws_handshake_trim(&item, &n);
		if (n == tlen && strncasecmp(item, token, tlen) == 0)
			return true;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	return false;
}

static bool
ws_handshake_b64char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* 16 bytes in base64: 22 digits and "==" (§4.2.1 item 5). */
static bool
ws_handshake_key_ok(const char *key, size_t len)
{
	size_t	i;

	if (len != WS_KEY_B64_LEN)
		return false;
	for (i = 0; i < WS_KEY_B64_LEN - 2; i++) {
		if (!ws_handshake_b64char(key[i]))
			return false;
	}
	return key[22] == '=' && key[23] == '=';
}

int
ws_handshake_check(const struct ws_upgrade *u, char accept[29])
{
	const char	*s;
	size_t		 n;

	accept[0] = '\0';
	/* §4.2.1 item 1: an HTTP/1.1 or higher GET request. */
	if (u->method == NULL || u->method_len != 3 ||
	    memcmp(u->method, "GET", 3) != 0 || u->http_minor < 1)
		return 400;
	/* Items 3 and 4. */
	if (u->upgrade == NULL ||
	    !ws_handshake_has_token(u->upgrade, u->upgrade_len, "websocket"))
		return 400;
	if (u->connection == NULL ||
	    !ws_handshake_has_token(u->connection, u->connection_len,
	    "upgrade"))
		return 400;
	/* Item 6 and §4.4: an unknown version gets 426 and the one we do. */
	if ((s = u->version) == NULL)
		return 426;
	n = u->version_len;
	ws_handshake_trim(&s, &n);
	if (n != 2 || memcmp(s, "13", 2) != 0)
		return 426;
	/* Item 5. */
	if ((s = u->key) == NULL)
		return 400;
	n = u->key_len;
	ws_handshake_trim(&s, &n);
	if (!ws_handshake_key_ok(s, n))
		return 400;
	ws_accept_key(s, n, accept);
	return 0;
}
