/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Unit tests for the HTTP/1.1 request parser and response builders: the
 * RFC 9110/9112 examples, a browser's WebSocket upgrade and curl's GET
 * verbatim first, then pipelining, every error status, truncation at
 * every split point (in exact-size heap copies, so ASan sees an
 * overread), the size limits, header, query and path helpers, and the
 * builders. No sockets.
 */
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"
#include "tap.h"

/* RFC 9110 §3.9. */
static const char rfc9110_hello[] =
    "GET /hello.txt HTTP/1.1\r\n"
    "User-Agent: curl/7.64.1\r\n"
    "Host: www.example.com\r\n"
    "Accept-Language: en, mi\r\n"
    "\r\n";

/* Chromium's WebSocket handshake, header order and all. */
static const char chrome_ws[] =
    "GET /ws HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

/* curl 7.88 `curl -v http://localhost:3478/ice-servers?uid=7`. */
static const char curl_get[] =
    "GET /ice-servers?uid=7 HTTP/1.1\r\n"
    "Host: localhost:3478\r\n"
    "User-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n"
    "\r\n";

static const char post_body[] =
    "POST /api HTTP/1.1\r\n"
    "Host: a\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 2\r\n"
    "\r\n"
    "{}";

/* Parse the first len bytes of s from an exact-size heap copy. */
static ssize_t
parse_n(const char *s, size_t len, struct http_request *req)
{
	char	*copy;
	ssize_t	 n;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, s, len);
	n = http_parse_request(copy, len, req);
	free(copy);
	return n;
}

static ssize_t
parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), req);
}

/* The status a head is refused with, 0 if accepted, -2 if incomplete. */
static int
refusal_n(const char *s, size_t len)
{
	struct http_request	req;
	ssize_t			n;

	n = parse_n(s, len, &req);
	if (n == HTTP_ERROR)
		return req.status;
	return n == HTTP_INCOMPLETE ? -2 : 0;
}

static int
refusal(const char *s)
{
	return refusal_n(s, strlen(s));
}

/* Whether span [p, p + n) holds exactly the string want. */
static int
span_is(const char *p, size_t n, const char *want)
{
	return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static int
header_is(const struct http_request *req, const char *name, const char *want)
{
	const struct http_header	*h = http_find_header(req, name);

	return h != NULL && span_is(h->value, h->value_len, want);
}

/* Every proper prefix is incomplete; the whole parses to its length. */
static void
test_every_split(const char *s, const char *what)
{
	struct http_request	req;
	size_t			i, len = strlen(s);
	int			bad = 0;

	for (i = 0; i < len; i++)
		if (parse_n(s, i, &req) != HTTP_INCOMPLETE)
			bad++;
	is_int(bad, 0, what);
	is_int(parse_n(s, len, &req), len, what);
}

static void
test_rfc_examples(void)
{
	struct http_request	req;

	is_int(parse(rfc9110_hello, &req), strlen(rfc9110_hello),
	    "9110 §3.9: whole head");
	ok(span_is(req.method, req.method_len, "GET"), "9110: method");
	ok(span_is(req.target, req.target_len, "/hello.txt"), "9110: target");
	ok(span_is(req.path, req.path_len, "/hello.txt"), "9110: path");
	ok(req.query == NULL && req.query_len == 0, "9110: no query");
	is_int(req.minor, 1, "9110: HTTP/1.1");
	is_int(req.nheaders, 3, "9110: three headers");
	ok(header_is(&req, "user-agent", "curl/7.64.1"), "9110: user-agent");
	ok(header_is(&req, "HOST", "www.example.com"), "9110: host");
	ok(http_header_has_token(http_find_header(&req, "Accept-Language"),
	    "MI"), "9110: accept-language has mi");
	ok(req.keep_alive && !req.has_content_length && !req.chunked,
	    "9110: keep-alive, no body");

	is_int(parse("GET /where?q=now HTTP/1.1\r\nHost: www.example.org\r\n"
	    "\r\n", &req), 52, "9112 §3.2.1 origin-form");
	ok(span_is(req.path, req.path_len, "/where") &&
	    span_is(req.query, req.query_len, "q=now"), "origin-form split");
	is_int(refusal("GET http://www.example.org/pub/WWW/TheProject.html "
	    "HTTP/1.1\r\nHost: www.example.org\r\n\r\n"), 0,
	    "9112 §3.2.2 absolute-form passes through");
	is_int(parse("CONNECT www.example.com:80 HTTP/1.1\r\n"
	    "Host: www.example.com\r\n\r\n", &req) > 0, 1,
	    "9112 §3.2.3 authority-form");
	ok(span_is(req.path, req.path_len, "www.example.com:80"),
	    "authority-form is the path");
	is_int(refusal("OPTIONS * HTTP/1.1\r\nHost: www.example.org:8001\r\n"
	    "\r\n"), 0, "9112 §3.2.4 asterisk-form");
}

static void
test_browser_upgrade(void)
{
	struct http_request		 req;
	const struct http_header	*h;

	is_int(parse(chrome_ws, &req), strlen(chrome_ws), "chrome: whole head");
	ok(span_is(req.path, req.path_len, "/ws"), "chrome: path");
	is_int(req.nheaders, 12, "chrome: 12 headers");
	ok(http_header_has_token(http_find_header(&req, "connection"),
	    "upgrade"), "chrome: Connection has upgrade");
	ok(http_header_equals(http_find_header(&req, "Upgrade"), "WebSocket"),
	    "chrome: Upgrade is websocket");
	ok(http_header_equals(http_find_header(&req,
	    "sec-websocket-version"), "13"), "chrome: version 13");
	ok(header_is(&req, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
	    "chrome: key");
	ok(header_is(&req, "origin", "http://localhost:8080"),
	    "chrome: origin");
	h = http_find_header(&req, "sec-websocket-extensions");
	ok(http_header_has_token(h, "permessage-deflate; "
	    "client_max_window_bits"), "chrome: extension element");
	ok(!http_header_has_token(h, "permessage-deflate"),
	    "has_token compares whole list elements");
	ok(req.keep_alive, "chrome: keep-alive");
	ok(http_find_header(&req, "Sec-WebSocket-Protocol") == NULL,
	    "chrome: no subprotocol");
	test_every_split(chrome_ws, "chrome: every split incomplete");
}

static void
test_curl_and_pipeline(void)
{
	struct http_request	req;
	char			buf[1024], val[16];
	size_t			off;
	ssize_t			n;

	is_int(parse(curl_get, &req), strlen(curl_get), "curl: whole head");
	ok(span_is(req.path, req.path_len, "/ice-servers"), "curl: path");
	is_int(http_query_param(&req, "uid", val, sizeof(val)), 1,
	    "curl: uid param");
	is_str(val, "7", "curl: uid is 7");
	ok(header_is(&req, "accept", "*/*"), "curl: accept");
	test_every_split(curl_get, "curl: every split incomplete");
	test_every_split(rfc9110_hello, "9110: every split incomplete");

	snprintf(buf, sizeof(buf), "%s%s%s", curl_get, post_body, chrome_ws);
	n = parse(buf, &req);
	is_int(n, strlen(curl_get), "pipeline: first head");
	off = (size_t)n;
	n = parse(buf + off, &req);
	is_int(n, strlen(post_body) - 2, "pipeline: POST head, body not in it");
	ok(req.has_content_length && req.content_length == 2,
	    "pipeline: POST Content-Length 2");
	ok(span_is(buf + off + n, req.content_length, "{}"), "pipeline: body");
	off += (size_t)n + req.content_length;
	n = parse_n(buf + off, strlen(chrome_ws) - 1, &req);
	is_int(n, HTTP_INCOMPLETE, "pipeline: third head incomplete");
	n = parse(buf + off, &req);
	is_int(n, strlen(chrome_ws), "pipeline: third head");
	is_int(off + (size_t)n, strlen(buf), "pipeline: all consumed");
}

static void
test_persistence(void)
{
	struct http_request	req;

	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &req);
	ok(!req.keep_alive, "1.1 + close: not kept");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n"
	    "\r\n", &req);
	ok(!req.keep_alive, "1.1 + keep-alive, close: close wins");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
	    "Connection: close\r\n\r\n", &req);
	ok(!req.keep_alive, "close in a second Connection header");
	is_int(parse("GET / HTTP/1.0\r\n\r\n", &req), 18, "1.0 without Host");
	is_int(req.minor, 0, "1.0: minor 0");
	ok(!req.keep_alive, "1.0: not kept by default");
	parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &req);
	ok(req.keep_alive, "1.0 + keep-alive: kept");
	parse("GET / HTTP/1.1\r\nHost: a\r\nConnection:close-ish\r\n\r\n",
	    &req);
	ok(req.keep_alive, "close-ish is not close");
}

static void
test_leniencies(void)
{
	struct http_request	req;

	is_int(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &req), 31,
	    "9112 §2.2: leading empty lines skipped, counted");
	ok(span_is(req.method, req.method_len, "GET"), "method after them");
	parse("GET / HTTP/1.1\r\nHost: a\r\nX-A:\t v  w \t\r\nX-B:\r\n"
	    "X-C:   \r\n\r\n", &req);
	ok(header_is(&req, "x-a", "v  w"), "OWS trimmed, inner kept");
	ok(header_is(&req, "x-b", "") && header_is(&req, "x-c", ""),
	    "empty values");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"),
	    0, "obs-text in a value");
	is_int(refusal("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), 0,
	    "IPv6 Host");
	is_int(refusal("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 0, "empty Host");
	is_int(refusal("GET /a|b^c{d} HTTP/1.1\r\nHost: a\r\n\r\n"), 0,
	    "unencoded |^{} browsers leave in targets");
	parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
	    &req);
	ok(req.has_content_length && req.content_length == 7,
	    "Content-Length leading zeros");
	parse("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 18446744073709551615\r\n\r\n", &req);
	ok(req.content_length == UINT64_MAX, "Content-Length 2^64-1");
	parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n"
	    "\r\n", &req);
	ok(req.chunked && !req.has_content_length, "chunked");
}

static void
test_errors_400_line(void)
{
	is_int(refusal(" GET / HTTP/1.1\r\n\r\n"), 400, "leading space");
	is_int(refusal("GET  / HTTP/1.1\r\n\r\n"), 400, "two spaces");
	is_int(refusal("GET /\tHTTP/1.1\r\n\r\n"), 400, "tab separator");
	is_int(refusal("GET / HTTP/1.1 \r\n\r\n"), 400, "trailing space");
	is_int(refusal("GET /\x01 HTTP/1.1\r\n\r\n"), 400, "control in target");
	is_int(refusal("GET /\x7f HTTP/1.1\r\n"), 400, "DEL in target");
	is_int(refusal("GET /\xc3\xa9 HTTP/1.1\r\n"), 400, "raw UTF-8 target");
	is_int(refusal("G(T / HTTP/1.1\r\n"), 400, "non-token method");
	is_int(refusal("GET / http/1.1\r\n"), 400, "lower-case version");
	is_int(refusal("GET / HTTP/1.10\r\n"), 400, "three-digit version");
	is_int(refusal("GET / HTTP/1\r\n"), 400, "version without minor");
	is_int(refusal("GET / HTTP/1.1\n\n"), 400,
	    "bare LF ends a line (strict)");
	is_int(refusal("GET / HTTP/1.1\rHost: a\r\n\r\n"), 400, "bare CR");
	is_int(refusal("GET /\r\n\r\n"), 400, "HTTP/0.9 shape");
	is_int(refusal("\r\rGET / HTTP/1.1\r\n"), 400, "bad leading line");
	is_int(refusal("\x16\x03\x01\x02\x00\x01"), 400,
	    "TLS ClientHello refused at once");
	is_int(refusal_n("\x00\x01\x00\x00\x21\x12\xa4\x42", 8), 400,
	    "STUN refused at once");
}

static void
test_errors_400_headers(void)
{
	is_int(refusal("GET / HTTP/1.1\r\n\r\n"), 400, "1.1 without Host");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400,
	    "two Host");
	is_int(refusal("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), 400,
	    "two Host on 1.0");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400,
	    "space in Host");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400,
	    "slash in Host");
	is_int(refusal("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400,
	    "space before colon");
	is_int(refusal("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), 400,
	    "tab before colon");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"), 400,
	    "obs-fold");
	is_int(refusal("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400,
	    "whitespace before the first header");
	is_int(refusal("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"), 400,
	    "empty name");
	is_int(refusal("GET / HTTP/1.1\r\nHost a\r\n\r\n"), 400, "no colon");
	is_int(refusal("GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n"), 400,
	    "obs-text in a name");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n"), 400,
	    "control char in a value");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\x7f\r\n"), 400,
	    "DEL in a value");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), 400,
	    "bare LF in a header line");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n"), 400,
	    "bare CR in a value");
	is_int(refusal("GET / HTTP/1.1\r\nHost: a\r\n\r\r"), 400,
	    "CR CR at the end");
}

static void
test_errors_400_nul(void)
{
	static const char	 nul_value[] =
	    "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	static const char	 nul_name[] =
	    "GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n";
	static const char	 nul_target[] = "GET /\0 HTTP/1.1\r\n\r\n";
	struct http_request	 req;

	ok(parse_n(nul_value, sizeof(nul_value) - 1, &req) == HTTP_ERROR &&
	    req.status == 400, "NUL in a value");
	ok(parse_n(nul_name, sizeof(nul_name) - 1, &req) == HTTP_ERROR &&
	    req.status == 400, "NUL in a name");
	ok(parse_n(nul_target, sizeof(nul_target) - 1, &req) == HTTP_ERROR &&
	    req.status == 400, "NUL in the target");
}

static void
test_errors_400_framing(void)
{
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\n"), 400, "duplicate Content-Length");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n"
	    "\r\n"), 400, "Content-Length list");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n"
	    "\r\n"), 400, "negative Content-Length");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n"
	    "\r\n"), 400, "hex Content-Length");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n"
	    "\r\n"), 400, "empty Content-Length");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 18446744073709551616\r\n\r\n"), 400,
	    "Content-Length overflow");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip"
	    "\r\n\r\n"), 400, "Transfer-Encoding gzip");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
	    "chunked\r\n\r\n"), 400, "Transfer-Encoding gzip, chunked");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	    "chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400,
	    "two Transfer-Encoding");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
	    "chunked\r\nContent-Length: 3\r\n\r\n"), 400, "TE and CL");
	is_int(refusal("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400, "CL and TE");
	is_int(refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    400, "Transfer-Encoding on 1.0");
}

static void
test_errors_other(void)
{
	is_int(refusal("GET / HTTP/2.0\r\n"), 505, "HTTP/2.0: 505");
	is_int(refusal("GET / HTTP/0.9\r\n"), 505, "HTTP/0.9: 505");
	is_int(refusal("GET / HTTP/1.2\r\n"), 505, "HTTP/1.2: 505");
	is_int(refusal("BREW /pot HTTP/1.1\r\n"), 501, "BREW: 501");
	is_int(refusal("get / HTTP/1.1\r\n"), 501, "get (case): 501");
	is_int(refusal("PROPFIND / HTTP/1.1\r\n"), 501, "PROPFIND: 501");
	is_int(refusal("BREW / HTTP/1.1"), -2, "501 waits for the line");
	is_int(refusal("GET / HTTP/2.0"), -2, "505 waits for the line");
	is_int(refusal("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "DELETE");
	is_int(refusal("PATCH / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "PATCH");
	is_int(refusal("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "TRACE");
	is_int(refusal("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "HEAD");
	is_int(refusal("PUT / HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "PUT");
}

static void
test_target_limit(void)
{
	struct http_request	req;
	char			buf[HTTP_MAX_TARGET + 64];
	size_t			n;

	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', HTTP_MAX_TARGET - 1);
	n = 4 + HTTP_MAX_TARGET;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n,
	    " HTTP/1.1\r\nHost: a\r\n\r\n");
	is_int(parse_n(buf, n, &req), n, "target of HTTP_MAX_TARGET bytes");
	is_int(req.target_len, HTTP_MAX_TARGET, "its length");
	memset(buf + 5, 'a', HTTP_MAX_TARGET);
	is_int(parse_n(buf, 4 + HTTP_MAX_TARGET + 1, &req), HTTP_ERROR,
	    "one more: refused before the line ends");
	is_int(req.status, 414, "414");
	is_int(parse_n(buf, 4 + HTTP_MAX_TARGET, &req), HTTP_INCOMPLETE,
	    "exactly HTTP_MAX_TARGET so far: incomplete");
}

/* A GET whose padding header makes the head exactly size bytes. */
static size_t
make_head(char *buf, size_t size)
{
	static const char	 pre[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
	size_t			 pad = size - (sizeof(pre) - 1) - 4;

	memcpy(buf, pre, sizeof(pre) - 1);
	memset(buf + sizeof(pre) - 1, 'p', pad);
	memcpy(buf + sizeof(pre) - 1 + pad, "\r\n\r\n", 4);
	return size;
}

static void
test_head_limit(void)
{
	static char		buf[HTTP_MAX_HEAD + 64];
	struct http_request	req;
	size_t			n;

	n = make_head(buf, HTTP_MAX_HEAD);
	is_int(parse_n(buf, n, &req), HTTP_MAX_HEAD, "head of 8 KiB exactly");
	memcpy(buf + n, "GET", 3);
	is_int(parse_n(buf, n + 3, &req), HTTP_MAX_HEAD,
	    "8 KiB head with a pipelined one after it");
	n = make_head(buf, HTTP_MAX_HEAD + 1);
	is_int(parse_n(buf, n, &req), HTTP_ERROR, "one byte more: refused");
	is_int(req.status, 431, "431");
	is_int(parse_n(buf, HTTP_MAX_HEAD, &req), HTTP_ERROR,
	    "8 KiB without the end: refused");
	is_int(req.status, 431, "431 at the limit");
	is_int(parse_n(buf, HTTP_MAX_HEAD - 1, &req), HTTP_INCOMPLETE,
	    "8 KiB - 1 without the end: incomplete");
	memset(buf, '\r', HTTP_MAX_HEAD);
	for (n = 1; n < HTTP_MAX_HEAD; n += 2)
		buf[n] = '\n';
	is_int(parse_n(buf, HTTP_MAX_HEAD, &req), HTTP_ERROR,
	    "8 KiB of empty lines");
	is_int(req.status, 431, "431 for empty lines");
}

static void
test_header_count(void)
{
	char			buf[2048];
	struct http_request	req;
	size_t			n;
	int			i;

	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "X-%d: %d\r\n", i, i);
	memcpy(buf + n, "\r\n", 3);
	is_int(parse(buf, &req), n + 2, "32 headers");
	is_int(req.nheaders, HTTP_MAX_HEADERS, "all 32 kept");
	ok(header_is(&req, "x-31", "31"), "the last one found");
	memcpy(buf + n, "X-33: 1\r\n\r\n", 12);
	is_int(parse(buf, &req), HTTP_ERROR, "33 headers");
	is_int(req.status, 431, "431 for 33 headers");
	buf[n + 1] = '\0';
	is_int(parse(buf, &req), HTTP_ERROR, "33rd header refused at once");
	is_int(req.status, 431, "431 before the 33rd is complete");
}

static void
test_find_and_tokens(void)
{
	struct http_request	 req;
	struct http_header	 h;

	parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nx: 2\r\n\r\n", &req);
	ok(header_is(&req, "X", "1"), "find returns the first");
	ok(http_find_header(&req, "X-") == NULL, "no prefix match");
	ok(http_find_header(&req, "") == NULL, "empty name absent");
	h.name = "Connection";
	h.name_len = 10;
	h.value = " ,keep-alive ,, \tUpgrade\t, ";
	h.value_len = strlen(h.value);
	ok(http_header_has_token(&h, "upgrade"), "token amid empty elements");
	ok(http_header_has_token(&h, "KEEP-ALIVE"), "token case-insensitive");
	ok(!http_header_has_token(&h, "keep"), "no partial token");
	ok(!http_header_has_token(&h, ""), "empty token never found");
	ok(!http_header_has_token(NULL, "x"), "NULL header");
	h.value = "\t WebSocket ";
	h.value_len = strlen(h.value);
	ok(http_header_equals(&h, "websocket"), "equals trims and folds case");
	ok(!http_header_equals(&h, "websocke"), "equals is whole value");
	ok(!http_header_equals(NULL, ""), "equals NULL header");
	h.value_len = 0;
	ok(http_header_equals(&h, ""), "empty equals empty");
}

static void
test_query(void)
{
	struct http_request	req;
	char			out[16], big[32];

	parse("GET /ws?token=a%2Bb+c&room=1&flag&e=&k%65y=v&bad=%zz&z=%00&"
	    "long=0123456789abcdef&room=2&u=%C3%A9 HTTP/1.1\r\nHost: a\r\n\r\n",
	    &req);
	is_int(http_query_param(&req, "token", out, sizeof(out)), 5, "token");
	is_str(out, "a+b c", "%2B is '+', '+' is ' '");
	is_int(http_query_param(&req, "room", out, sizeof(out)), 1, "room");
	is_str(out, "1", "first of two wins");
	is_int(http_query_param(&req, "flag", out, sizeof(out)), 0,
	    "no '=': empty");
	is_str(out, "", "flag is empty");
	is_int(http_query_param(&req, "e", out, sizeof(out)), 0, "e= empty");
	is_int(http_query_param(&req, "key", out, sizeof(out)), 1,
	    "encoded name decoded");
	is_int(http_query_param(&req, "bad", out, sizeof(out)), -1, "bad %zz");
	is_int(http_query_param(&req, "z", out, sizeof(out)), -1, "%00");
	is_int(http_query_param(&req, "long", out, sizeof(out)), -1,
	    "16 bytes do not fit 16 with the NUL");
	is_int(http_query_param(&req, "long", big, 17), 16, "but fit 17");
	is_str(big, "0123456789abcdef", "long value");
	is_int(http_query_param(&req, "u", out, sizeof(out)), 2, "UTF-8");
	is_str(out, "\xc3\xa9", "é decoded");
	is_int(http_query_param(&req, "missing", out, sizeof(out)), -1,
	    "absent");
	is_int(http_query_param(&req, "roo", out, sizeof(out)), -1,
	    "no prefix match");
	is_int(http_query_param(&req, "token", out, 0), -1, "cap 0");
}

static void
test_query_shapes(void)
{
	struct http_request	req;
	char			out[16];

	parse("GET /ws HTTP/1.1\r\nHost: a\r\n\r\n", &req);
	is_int(http_query_param(&req, "a", out, sizeof(out)), -1, "no query");
	parse("GET /ws? HTTP/1.1\r\nHost: a\r\n\r\n", &req);
	ok(req.query != NULL && req.query_len == 0, "empty query");
	is_int(http_query_param(&req, "a", out, sizeof(out)), -1,
	    "empty query: absent");
	parse("GET /?a=%4 HTTP/1.1\r\nHost: a\r\n\r\n", &req);
	is_int(http_query_param(&req, "a", out, sizeof(out)), -1,
	    "truncated escape");
	parse("GET /?x=1?y=2 HTTP/1.1\r\nHost: a\r\n\r\n", &req);
	is_int(http_query_param(&req, "x", out, sizeof(out)), 5,
	    "second '?' is data");
	is_str(out, "1?y=2", "x keeps it");
}

static void
test_decode_path(void)
{
	char	out[16];

	is_int(http_decode_path("/a%20b+c", 8, out, sizeof(out)), 6,
	    "decode %20, keep +");
	is_str(out, "/a b+c", "decoded path");
	is_int(http_decode_path("/%41%62", 7, out, sizeof(out)), 3, "hex case");
	is_str(out, "/Ab", "upper and lower hex");
	is_int(http_decode_path("/a%2Fb", 6, out, sizeof(out)), -1, "%2F");
	is_int(http_decode_path("/a%2fb", 6, out, sizeof(out)), -1, "%2f");
	is_int(http_decode_path("/a%00", 5, out, sizeof(out)), -1, "%00");
	is_int(http_decode_path("/a\0", 3, out, sizeof(out)), -1, "raw NUL");
	is_int(http_decode_path("/a%g0", 5, out, sizeof(out)), -1, "bad hex");
	is_int(http_decode_path("/a%2", 4, out, sizeof(out)), -1, "cut escape");
	is_int(http_decode_path("/a%", 3, out, sizeof(out)), -1, "lone %");
	is_int(http_decode_path("/../%2e%2E/", 11, out, sizeof(out)), 7,
	    "dots decoded, not judged");
	is_str(out, "/../../", "\"..\" is the router's business");
	is_int(http_decode_path("/abc", 4, out, 4), -1, "no room for NUL");
	is_int(http_decode_path("/abc", 4, out, 5), 4, "exact fit");
	is_int(http_decode_path("", 0, out, 1), 0, "empty path");
	is_int(http_decode_path("", 0, out, 0), -1, "cap 0");
}

static void
test_status_text(void)
{
	static const int	codes[] = { 101, 200, 204, 301, 304, 400, 401,
	    403, 404, 405, 408, 413, 414, 426, 429, 431, 500, 501, 503, 505 };
	size_t			i;
	int			missing = 0;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (*http_status_text(codes[i]) == '\0')
			missing++;
	is_int(missing, 0, "every listed status has a reason");
	is_str(http_status_text(200), "OK", "200 OK");
	is_str(http_status_text(101), "Switching Protocols", "101");
	is_str(http_status_text(431), "Request Header Fields Too Large", "431");
	is_str(http_status_text(599), "", "unknown: empty, not NULL");
}

static void
test_build_head(void)
{
	char	out[512];
	ssize_t	n;

	n = http_build_response_head(out, sizeof(out), 200, "application/json",
	    12, true, NULL);
	is_str(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 12\r\nConnection: keep-alive\r\n\r\n", "200 head");
	is_int(n, strlen(out), "200 head length");
	n = http_build_response_head(out, sizeof(out), 101, NULL, 0, true,
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
	is_str(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
	    "101: no Content-Length, no Connection of ours");
	is_int(n, strlen(out), "101 length");
	http_build_response_head(out, sizeof(out), 204, NULL, 0, false, NULL);
	is_str(out, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
	    "204: no Content-Length");
	http_build_response_head(out, sizeof(out), 304, NULL, -1, true, "");
	is_str(out, "HTTP/1.1 304 Not Modified\r\nConnection: keep-alive\r\n"
	    "\r\n", "body_len -1: no Content-Length; empty extra");
	http_build_response_head(out, sizeof(out), 299, NULL, 0, true, NULL);
	is_str(out, "HTTP/1.1 299 \r\nContent-Length: 0\r\n"
	    "Connection: keep-alive\r\n\r\n", "unknown status: empty reason");
	n = http_build_response_head(out, sizeof(out), 200, NULL, 0, true,
	    NULL);
	is_int(http_build_response_head(out, (size_t)n, 200, NULL, 0, true,
	    NULL), -1, "no room for the NUL");
	is_int(http_build_response_head(out, (size_t)n + 1, 200, NULL, 0,
	    true, NULL), n, "exact fit");
	is_int(http_build_response_head(out, 0, 200, NULL, 0, true, NULL), -1,
	    "cap 0");
}

static void
test_build_refusals(void)
{
	char	out[256];

	is_int(http_build_response_head(out, sizeof(out), 99, NULL, 0, true,
	    NULL), -1, "status 99");
	is_int(http_build_response_head(out, sizeof(out), 600, NULL, 0, true,
	    NULL), -1, "status 600");
	is_int(http_build_response_head(out, sizeof(out), 200, "a\r\nX: y",
	    0, true, NULL), -1, "CRLF in Content-Type");
	is_int(http_build_response_head(out, sizeof(out), 200, "", 0, true,
	    NULL), -1, "empty Content-Type");
	is_int(http_build_response_head(out, sizeof(out), 200, NULL, 0, true,
	    "X: a"), -1, "extra without CRLF");
	is_int(http_build_response_head(out, sizeof(out), 200, NULL, 0, true,
	    "X: a\n"), -1, "extra with bare LF");
	is_int(http_build_response_head(out, sizeof(out), 200, NULL, 0, true,
	    "X: a\r\n\r\nbody"), -1, "extra ending the head");
	is_int(http_build_response_head(out, sizeof(out), 200, NULL, 0, true,
	    "X a\r\n"), -1, "extra line without a colon");
	is_int(http_build_response_head(out, sizeof(out), 200, NULL, 0, true,
	    "X: a\rb\r\n"), -1, "extra with bare CR");
}

static void
test_build_error(void)
{
	char	out[256];
	ssize_t	n;

	n = http_build_error(out, sizeof(out), 404, true, NULL);
	is_str(out, "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 14\r\nConnection: keep-alive\r\n\r\n"
	    "404 Not Found\n", "404 error");
	is_int(n, strlen(out), "404 length");
	http_build_error(out, sizeof(out), 405, false, "Allow: GET, HEAD\r\n");
	is_str(out, "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 23\r\nConnection: close\r\n"
	    "Allow: GET, HEAD\r\n\r\n405 Method Not Allowed\n", "405 + Allow");
	n = http_build_error(out, sizeof(out), 431, false, NULL);
	is_int(http_build_error(out, (size_t)n, 431, false, NULL), -1,
	    "no room for the NUL");
	is_int(http_build_error(out, (size_t)n + 1, 431, false, NULL), n,
	    "exact fit");
	is_int(http_build_error(out, (size_t)n - 5, 431, false, NULL), -1,
	    "body does not fit");
	is_int(http_build_error(out, sizeof(out), 200, true, NULL), -1,
	    "200 is no error");
	is_int(http_build_error(out, 10, 404, true, NULL), -1,
	    "head does not fit");
	is_int(http_build_error(out, sizeof(out), 404, true, "X\r\n"), -1,
	    "bad extra");
}

static void
test_build_date(void)
{
	char	out[64];

	is_int(http_build_date(out, sizeof(out), 784111777), HTTP_DATE_LEN,
	    "date length");
	is_str(out, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
	    "RFC 9110 §5.6.7 example");
	http_build_date(out, sizeof(out), 0);
	is_str(out, "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n", "epoch");
	http_build_date(out, sizeof(out), 951782400);
	is_str(out, "Date: Tue, 29 Feb 2000 00:00:00 GMT\r\n", "2000-02-29");
	http_build_date(out, sizeof(out), 951868800);
	is_str(out, "Date: Wed, 01 Mar 2000 00:00:00 GMT\r\n", "2000-03-01");
	http_build_date(out, sizeof(out), 4107542400LL);
	is_str(out, "Date: Mon, 01 Mar 2100 00:00:00 GMT\r\n",
	    "2100 is no leap year");
	http_build_date(out, sizeof(out), 1700000000);
	is_str(out, "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n", "2023");
	http_build_date(out, sizeof(out), 253402300799LL);
	is_str(out, "Date: Fri, 31 Dec 9999 23:59:59 GMT\r\n", "9999");
	is_int(http_build_date(out, sizeof(out), 253402300800LL), -1,
	    "year 10000");
	is_int(http_build_date(out, sizeof(out), -1), -1, "before 1970");
	is_int(http_build_date(out, HTTP_DATE_LEN, 0), -1, "no room for NUL");
	is_int(http_build_date(out, HTTP_DATE_LEN + 1, 0), HTTP_DATE_LEN,
	    "exact fit");
}

int
main(void)
{
	test_rfc_examples();
	test_browser_upgrade();
	test_curl_and_pipeline();
	test_persistence();
	test_leniencies();
	test_errors_400_line();
	test_errors_400_headers();
	test_errors_400_nul();
	test_errors_400_framing();
	test_errors_other();
	test_target_limit();
	test_head_limit();
	test_header_count();
	test_find_and_tokens();
	test_query();
	test_query_shapes();
	test_decode_path();
	test_status_text();
	test_build_head();
	test_build_refusals();
	test_build_error();
	test_build_date();
	return tap_done();
}
