/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * HTTP/1.1 request-head parser and response-head builder (RFC 9110, RFC
 * 9112), for the signaling listener's WebSocket upgrade, /ice-servers and
 * static files. Pure: no sockets, no clock, no globals, no allocation, no
 * logging. Bytes in, struct out; builders write into the caller's buffer.
 *
 * Decisions:
 * - Lines end in CRLF, strictly. A bare LF or a bare CR is a 400: RFC 9112
 *   §2.2 lets a server accept a lone LF, but two parsers that disagree on
 *   where a head ends are how requests get smuggled past a proxy in front
 *   of us, and every browser and curl send CRLF (`nc -C` for hand tests).
 * - Empty lines (CRLF) before the request line are skipped (RFC 9112 §2.2)
 *   and counted in the returned head length.
 * - The request target is any run of visible ASCII (0x21-0x7e) up to
 *   HTTP_MAX_TARGET bytes; its form (origin, absolute, authority, "*") is
 *   not checked here: the router answers what it does not serve. Nothing
 *   is normalised: ".." and "//" pass through, http_decode_path() only
 *   decodes, and the static-file router refuses "..".
 * - No Date header from the builders (no clock in pure code): the glue
 *   appends http_build_date()'s line through `extra`, as RFC 9110 §6.6.1
 *   asks of an origin server with a clock. No Server header.
 */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTP_MAX_HEADERS	32
#define HTTP_MAX_HEAD		8192	/* request line + headers, bytes */
#define HTTP_MAX_TARGET		2048
#define HTTP_INCOMPLETE		(-2)
#define HTTP_ERROR		(-1)
#define HTTP_DATE_LEN		37	/* "Date: " IMF-fixdate CRLF */

struct http_header {
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* OWS around it trimmed */
	size_t		 value_len;
};

struct http_request {
	const char	*method;
	size_t		 method_len;
	const char	*target;	/* as sent: path and query */
	size_t		 target_len;
	const char	*path;		/* target up to '?' */
	size_t		 path_len;
	const char	*query;		/* after '?', or NULL/0 */
	size_t		 query_len;
	int		 minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t		 nheaders;
	uint64_t	 content_length;
	bool		 has_content_length;
	bool		 chunked;
	/* 1.1 unless "Connection: close"; 1.0 only with keep-alive. */
	bool		 keep_alive;
	int		 status;	/* on HTTP_ERROR: status to answer */
};

/*
 * Parse the request head at buf (len bytes so far). Returns the length of
 * the head including the final CRLFCRLF (> 0), so a pipelined request
 * starts at buf + that; HTTP_INCOMPLETE when more bytes are needed (and
 * fewer than HTTP_MAX_HEAD have arrived); or HTTP_ERROR with req->status:
 *   400 malformed: request line, header syntax, obs-fold, whitespace
 *       before a colon or before the first header, bare CR or LF, control
 *       characters or NUL, a missing (HTTP/1.1) or repeated or invalid
 *       Host, a repeated or invalid Content-Length, Transfer-Encoding other
 *       than a single "chunked", Transfer-Encoding on HTTP/1.0, both
 *       Transfer-Encoding and Content-Length;
 *   414 target longer than HTTP_MAX_TARGET;
 *   431 head larger than HTTP_MAX_HEAD or more than HTTP_MAX_HEADERS;
 *   505 a well-formed version other than HTTP/1.0 or HTTP/1.1;
 *   501 a well-formed method other than GET HEAD POST PUT DELETE OPTIONS
 *       PATCH CONNECT TRACE (methods are case-sensitive: "get" is 501).
 * Errors are reported as soon as the bytes so far prove them, even if the
 * head is incomplete; on error the other fields are unspecified and the
 * caller answers and closes. Never reads buf[len] or past
 * buf[HTTP_MAX_HEAD - 1]. All pointers in req point into buf.
 */
ssize_t	http_parse_request(const char *buf, size_t len,
	    struct http_request *req);

/* The first header named name (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_request *req,
	    const char *name);

/*
 * Whether the comma-separated list in h's value holds token
 * (case-insensitive, OWS around elements trimmed, empty elements
 * ignored): "Connection: keep-alive, Upgrade" has "upgrade". False for a
 * NULL h.
 */
bool	http_header_has_token(const struct http_header *h, const char *token);

/* Whether h's whole value, OWS trimmed, equals value case-insensitively. */
bool	http_header_equals(const struct http_header *h, const char *value);

/*
 * The value of the first query parameter whose name (percent-decoded) is
 * name, percent-decoded with '+' -> ' ', NUL-terminated in out. A
 * parameter without '=' has the empty value. Returns its length, or -1 if
 * absent, malformed (bad %xx, or %00, which would cut the C string), or
 * too long for out (length + 1 > cap).
 */
ssize_t	http_query_param(const struct http_request *req, const char *name,
	    char *out, size_t cap);

/*
 * Percent-decode the len bytes of path into out, NUL-terminated, for
 * routing and static files. '+' stays '+'. Returns the decoded length, or
 * -1 on a bad escape, a NUL (raw or %00), an encoded '/' (%2F, which
 * would change the segments the router sees), or overflow. Only decodes:
 * "." and ".." segments are the static-file router's business.
 */
ssize_t	http_decode_path(const char *path, size_t len, char *out,
	    size_t cap);

/*
 * The reason phrase for status: "OK", "Bad Request", ... for 101 200 204
 * 301 302 304 307 308 400 401 403 404 405 408 411 413 414 426 429 431 500
 * 501 502 503 504 505; "" for any other code (an empty reason phrase is
 * valid, RFC 9112 §4). Never NULL.
 */
const char *http_status_text(int status);

/*
 * Write a response head into out: "HTTP/1.1 <status> <reason>", then
 * Content-Type when content_type is non-NULL, Content-Length when
 * body_len >= 0, Connection: keep-alive or close, then extra (header
 * lines each ending in CRLF, or NULL), then the empty line. For 1xx and
 * 204, Content-Length is never written (RFC 9110 §8.6); for 1xx neither
 * is Connection (a 101's extra carries "Connection: Upgrade"). No Date,
 * no Server. Returns the length (out is also NUL-terminated), or -1 if it
 * does not fit, status is not 100-599, or content_type or extra would
 * break the head (CR, LF or other controls in content_type; in extra
 * anything but complete non-empty CRLF lines).
 */
ssize_t	http_build_response_head(char *out, size_t cap, int status,
	    const char *content_type, ssize_t body_len, bool keep_alive,
	    const char *extra);

/*
 * A complete error response: the head as above with Content-Type
 * text/plain; charset=utf-8 and the body "<status> <reason>\n". For a
 * HEAD request, send only the head: it ends at the first CRLFCRLF. Returns
 * the length (NUL-terminated), or -1 if it does not fit or status is not
 * 400-599.
 */
ssize_t	http_build_error(char *out, size_t cap, int status, bool keep_alive,
	    const char *extra);

/*
 * Write "Date: <IMF-fixdate>\r\n" for t (UTC, RFC 9110 §5.6.7) into out,
 * NUL-terminated, for the glue to pass in `extra`. Returns HTTP_DATE_LEN,
 * or -1 if it does not fit or t is before 1970 or after 9999.
 */
ssize_t	http_build_date(char *out, size_t cap, time_t t);

#endif
