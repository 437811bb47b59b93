/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * HTTP/1.1 request heads (RFC 9112 §2-§3, §5-§6, RFC 9110 §5) in, response
 * heads out. The parser walks the bytes once, checking each as it goes,
 * so garbage (a TLS ClientHello on the plain port) is refused at its first
 * byte rather than after 8 KiB; the message-level rules (Host, framing,
 * persistence) are applied once the head is complete. Also the small
 * helpers the router needs: header lookups, query parameters, path
 * decoding. Pure: no sockets, no clock, no allocation, no logging.
 */
#include <stdint.h>
#include <string.h>

#include "http_parse.h"

/* A cursor over the head; end stops at HTTP_MAX_HEAD. */
struct http_scan {
	const char		*buf;
	const char		*p;
	const char		*end;
	bool			 capped;	/* end is the limit, not data */
	struct http_request	*req;
};

/* The output side of the builders; fail sticks. */
struct http_out {
	char		*buf;
	size_t		 cap;
	size_t		 len;
	bool		 fail;
};

static const struct {
	int		 code;
	const char	*text;
} http_statuses[] = {
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 204, "No Content" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 304, "Not Modified" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 411, "Length Required" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 426, "Upgrade Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
};

static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT",
	"TRACE",
};

/* Character classes. */

/* tchar, RFC 9110 §5.6.2. */
static bool
http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP or HTAB: what a field value may hold (RFC 9110 §5.5). */
static bool
http_is_field_char(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

/* uri-host [ ":" port ] characters (RFC 3986 §3.2.2). */
static bool
http_is_host_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=:[]%", c) != NULL;
}

static bool
http_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
http_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool
http_ci_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t	i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++)
		if (http_lower(a[i]) != http_lower(b[i]))
			return false;
	return true;
}

/* Trim OWS on both sides of [*s, *s + *n). */
static void
http_trim(const char **s, size_t *n)
{
	while (*n > 0 && http_is_ows(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && http_is_ows((*s)[*n - 1]))
		(*n)--;
}

/* The request head. */

static int
http_fail(struct http_scan *s, int status)
{
	s->req->status = status;
	return HTTP_ERROR;
}

/* Out of bytes: wait for more, unless the head is already at the limit. */
static int
http_more(struct http_scan *s)
{
	return s->capped ? http_fail(s, 431) : HTTP_INCOMPLETE;
}

/* Expect CRLF at p; a lone CR or LF is an error (see http_parse.h). */
static int
http_scan_crlf(struct http_scan *s)
{
	if (s->p == s->end)
		return http_more(s);
	if (*s->p != '\r')
		return http_fail(s, 400);
	if (s->end - s->p < 2)
		return http_more(s);
	if (s->p[1] != '\n')
		return http_fail(s, 400);
	s->p += 2;
	return 0;
}

/* RFC 9112 §2.2: ignore empty lines before the request line. */
static int
http_scan_empty_lines(struct http_scan *s)
{
	int	rc;

	while (s->p < s->end && *s->p == '\r')
		if ((rc = http_scan_crlf(s)) != 0)
			return rc;
	return s->p == s->end ? http_more(s) : 0;
}

static int
http_scan_method(struct http_scan *s)
{
	const char	*start = s->p;

	while (s->p < s->end && http_is_tchar(*s->p))
		s->p++;
	if (s->p == s->end)
		return http_more(s);
	if (*s->p != ' ' || s->p == start)
		return http_fail(s, 400);
	s->req->method = start;
	s->req->method_len = (size_t)(s->p - start);
	s->p++;
	return 0;
}

static int
http_scan_target(struct http_scan *s)
{
	struct http_request	*req = s->req;
	const char		*start = s->p, *q;

	while (s->p < s->end && *s->p >= 0x21 && *s->p <= 0x7e &&
	    (size_t)(s->p - start) <= HTTP_MAX_TARGET)
		s->p++;
	if ((size_t)(s->p - start) > HTTP_MAX_TARGET)
		return http_fail(s, 414);
	if (s->p == s->end)
		return http_more(s);
	if (*s->p != ' ' || s->p == start)
		return http_fail(s, 400);
	req->target = req->path = start;
	req->target_len = req->path_len = (size_t)(s->p - start);
	if ((q = memchr(start, '?', req->target_len)) != NULL) {
		req->path_len = (size_t)(q - start);
		req->query = q + 1;
		req->query_len = req->target_len - req->path_len - 1;
	}
	s->p++;
	return 0;
}

/* "HTTP/" DIGIT "." DIGIT CRLF, RFC 9112 §2.3; '#' stands for a digit. */
static int
http_scan_version(struct http_scan *s)
{
	static const char	 pattern[] = "HTTP/#.#\r\n";
	size_t			 i;
	unsigned char		 c;

	for (i = 0; i < sizeof(pattern) - 1; i++) {
		if (s->p + i == s->end)
			return http_more(s);
		c = s->p[i];
		if (pattern[i] == '#' ? c < '0' || c > '9' : c != pattern[i])
			return http_fail(s, 400);
	}
	if (s->p[5] != '1' || (s->p[7] != '0' && s->p[7] != '1'))
		return http_fail(s, 505);
	s->req->minor = s->p[7] - '0';
	s->p += i;
	return 0;
}

static bool
http_method_known(const char *m, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (strlen(http_methods[i]) == len &&
		    memcmp(http_methods[i], m, len) == 0)
			return true;
	return false;
}

/*
 * field-name ":" OWS field-value OWS CRLF (RFC 9112 §5). A line starting
 * with whitespace (obs-fold, or whitespace before the first header) and
 * whitespace before the colon both fail the token scan: 400, §5.1-§5.2.
 */
static int
http_scan_header(struct http_scan *s, struct http_header *h)
{
	const char	*name = s->p, *value, *last;

	while (s->p < s->end && http_is_tchar(*s->p))
		s->p++;
	if (s->p == s->end)
		return http_more(s);
	if (*s->p != ':' || s->p == name)
		return http_fail(s, 400);
	h->name = name;
	h->name_len = (size_t)(s->p - name);
	s->p++;
	while (s->p < s->end && http_is_ows(*s->p))
		s->p++;
	value = last = s->p;
	for (; s->p < s->end && http_is_field_char(*s->p); s->p++)
		if (!http_is_ows(*s->p))
			last = s->p + 1;
	h->value = value;
	h->value_len = (size_t)(last - value);
	return http_scan_crlf(s);
}

static int
http_scan_headers(struct http_scan *s)
{
	struct http_request	*req = s->req;
	int			 rc;

	for (;;) {
		if (s->p == s->end)
			return http_more(s);
		if (*s->p == '\r')
			return http_scan_crlf(s);
		if (req->nheaders == HTTP_MAX_HEADERS)
			return http_fail(s, 431);
		rc = http_scan_header(s, &req->headers[req->nheaders]);
		if (rc != 0)
			return rc;
		req->nheaders++;
	}
}

/* RFC 9112 §3.2: exactly one Host on 1.1, at most one on 1.0, valid. */
static int
http_check_host(struct http_scan *s)
{
	const struct http_request	*req = s->req;
	const struct http_header	*h, *host = NULL;
	size_t				 i;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (!http_ci_equal(h->name, h->name_len, "host", 4))
			continue;
		if (host != NULL)
			return http_fail(s, 400);
		host = h;
	}
	if (host == NULL)
		return req->minor == 1 ? http_fail(s, 400) : 0;
	for (i = 0; i < host->value_len; i++)
		if (!http_is_host_char(host->value[i]))
			return http_fail(s, 400);
	return 0;
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6); no lists, no repeats. */
static int
http_check_content_length(struct http_scan *s, const struct http_header *h)
{
	struct http_request	*req = s->req;
	uint64_t		 v = 0;
	unsigned		 d;
	size_t			 i;

	if (req->has_content_length || h->value_len == 0)
		return http_fail(s, 400);
	for (i = 0; i < h->value_len; i++) {
		if (h->value[i] < '0' || h->value[i] > '9')
			return http_fail(s, 400);
		d = (unsigned)(h->value[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return http_fail(s, 400);
		v = v * 10 + d;
	}
	req->content_length = v;
	req->has_content_length = true;
	return 0;
}

/*
 * Body framing, RFC 9112 §6.1 and §6.3: only a single "chunked" coding,
 * not on HTTP/1.0, never with Content-Length (the smuggling shape).
 */
static int
http_check_framing(struct http_scan *s)
{
	struct http_request		*req = s->req;
	const struct http_header	*h;
	size_t				 i;
	int				 rc;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (http_ci_equal(h->name, h->name_len, "content-length", 14)) {
			if ((rc = http_check_content_length(s, h)) != 0)
				return rc;
		} else if (http_ci_equal(h->name, h->name_len,
		    "transfer-encoding", 17)) {
			if (req->chunked || req->minor == 0 ||
			    !http_header_equals(h, "chunked"))
				return http_fail(s, 400);
			req->chunked = true;
		}
	}
	if (req->chunked && req->has_content_length)
		return http_fail(s, 400);
	return 0;
}

/* RFC 9112 §9.3: persistence, over every Connection header. */
static void
http_check_connection(struct http_request *req)
{
	const struct http_header	*h;
	bool				 want_close = false, keep = false;
	size_t				 i;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		if (!http_ci_equal(h->name, h->name_len, "connection", 10))
			continue;
		want_close |= http_header_has_token(h, "close");
		keep |= http_header_has_token(h, "keep-alive");
	}
	req->keep_alive = !want_close && (req->minor == 1 || keep);
}

static int
http_scan_request(struct http_scan *s)
{
	int	rc;

	if ((rc = http_scan_empty_lines(s)) != 0 ||
	    (rc = http_scan_method(s)) != 0 ||
	    (rc = http_scan_target(s)) != 0 ||
	    (rc = http_scan_version(s)) != 0)
		return rc;
	if (!http_method_known(s->req->method, s->req->method_len))
		return http_fail(s, 501);
	if ((rc = http_scan_headers(s)) != 0 ||
	    (rc = http_check_host(s)) != 0 ||
	    (rc = http_check_framing(s)) != 0)
		return rc;
	http_check_connection(s->req);
	return 0;
}

ssize_t
http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	struct http_scan	s;
	int			rc;

	memset(req, 0, sizeof(*req));
	s.buf = s.p = buf;
	s.capped = len >= HTTP_MAX_HEAD;
	s.end = buf + (s.capped ? HTTP_MAX_HEAD : len);
	s.req = req;
	if ((rc = http_scan_request(&s)) != 0)
		return rc;
	return s.p - s.buf;
}

/* Lookups. */

const struct http_header *
http_find_header(const struct http_request *req, const char *name)
{
	size_t	i, n = strlen(name);

	for (i = 0; i < req->nheaders; i++)
		if (http_ci_equal(req->headers[i].name,
		    req->headers[i].name_len, name, n))
			return &req->headers[i];
	return NULL;
}

bool
http_header_has_token(const struct http_header *h, const char *token)
{
	const char	*p, *end, *comma;
	size_t		 n, tlen = strlen(token);

	if (h == NULL)
		return false;
	p = h->value;
	end = h->value + h->value_len;
	while (p < end) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		n = (size_t)(comma - p);
		http_trim(&p, &n);
		if (n > 0 && http_ci_equal(p, n, token, tlen))
			return true;
		p = comma + 1;
	}
	return false;
}

bool
http_header_equals(const struct http_header *h, const char *value)
{
	const char	*v;
	size_t		 n;

	if (h == NULL)
		return false;
	v = h->value;
	n = h->value_len;
	http_trim(&v, &n);
	return http_ci_equal(v, n, value, strlen(value));
}

static int
http_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The next decoded byte of [*pp, end), advancing *pp; -1 on a bad escape.
 * *escaped tells a %xx from a literal byte; plus maps '+' to ' '.
 */
static int
http_pct_next(const char **pp, const char *end, bool plus, bool *escaped)
{
	const char	*p = *pp;
	int		 hi, lo;

	*escaped = *p == '%';
	if (!*escaped) {
		*pp = p + 1;
		return plus && *p == '+' ? ' ' : (unsigned char)*p;
	}
	if (end - p < 3 || (hi = http_hex(p[1])) == -1 ||
	    (lo = http_hex(p[2])) == -1)
		return -1;
	*pp = p + 3;
	return hi << 4 | lo;
}

/* Whether the form-encoded key [p, end) decodes to name. */
static bool
http_query_key_is(const char *p, const char *end, const char *name)
{
	bool	esc;
	int	c;

	while (p < end) {
		if ((c = http_pct_next(&p, end, true, &esc)) == -1 ||
		    *name == '\0' || c != (unsigned char)*name)
			return false;
		name++;
	}
	return *name == '\0';
}

static ssize_t
http_query_decode(const char *p, const char *end, char *out, size_t cap)
{
	size_t	n = 0;
	bool	esc;
	int	c;

	if (cap == 0)
		return -1;
	while (p < end) {
		if ((c = http_pct_next(&p, end, true, &esc)) <= 0 ||
		    n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (ssize_t)n;
}

ssize_t
http_query_param(const struct http_request *req, const char *name,
    char *out, size_t cap)
{
	const char	*p = req->query, *end, *amp, *eq;

	if (p == NULL)
		return -1;
	end = p + req->query_len;
	for (;;) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (http_query_key_is(p, eq, name))
			return http_query_decode(eq == amp ? amp : eq + 1, amp,
			    out, cap);
		if (amp == end)
			return -1;
		p = amp + 1;
	}
}

ssize_t
http_decode_path(const char *path, size_t len, char *out, size_t cap)
{
	const char	*p = path, *end = path + len;
	size_t		 n = 0;
	bool		 esc;
	int		 c;

	if (cap == 0)
		return -1;
	while (p < end) {
		if ((c = http_pct_next(&p, end, false, &esc)) <= 0 ||
		    (esc && c == '/') || n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (ssize_t)n;
}

const char *
http_status_text(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(http_statuses) / sizeof(http_statuses[0]); i++)
		if (http_statuses[i].code == status)
			return http_statuses[i].text;
	return "";
}

/* The builders. */

static void
http_out_init(struct http_out *o, char *buf, size_t cap, size_t len)
{
	o->buf = buf;
	o->cap = cap;
	o->len = len;
	o->fail = false;
}

/* Append n bytes, always leaving room for the terminating NUL. */
static void
http_out_mem(struct http_out *o, const char *s, size_t n)
{
	if (o->fail || o->len >= o->cap || n >= o->cap - o->len) {
		o->fail = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
http_out_str(struct http_out *o, const char *s)
{
	http_out_mem(o, s, strlen(s));
}

/* v in decimal, zero-padded to at least width digits. */
static void
http_out_uint(struct http_out *o, uint64_t v, size_t width)
{
	char	digits[20];
	size_t	i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 || sizeof(digits) - i < width);
	http_out_mem(o, digits + i, sizeof(digits) - i);
}

/* A Content-Type the head can carry: non-empty field characters. */
static bool
http_value_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!http_is_field_char(*s))
			return false;
	return true;
}

/* extra: zero or more "name:value CRLF" lines and nothing else. */
static bool
http_extra_ok(const char *s)
{
	const char	*name;

	while (*s != '\0') {
		for (name = s; http_is_tchar(*s); s++)
			;
		if (s == name || *s++ != ':')
			return false;
		while (http_is_field_char(*s))
			s++;
		if (s[0] != '\r' || s[1] != '\n')
			return false;
		s += 2;
	}
	return true;
}

ssize_t
http_build_response_head(char *out, size_t cap, int status,
    const char *content_type, ssize_t body_len, bool keep_alive,
    const char *extra)
{
	struct http_out	o;

	if (status < 100 || status > 599 ||
	    (content_type != NULL && !http_value_ok(content_type)) ||
	    (extra != NULL && !http_extra_ok(extra)))
		return -1;
	http_out_init(&o, out, cap, 0);
	http_out_str(&o, "HTTP/1.1 ");
	http_out_uint(&o, (uint64_t)status, 3);
	http_out_str(&o, " ");
	http_out_str(&o, http_status_text(status));
	http_out_str(&o, "\r\n");
	if (content_type != NULL) {
		http_out_str(&o, "Content-Type: ");
		http_out_str(&o, content_type);
		http_out_str(&o, "\r\n");
	}
	if (body_len >= 0 && status >= 200 && status != 204) {
		http_out_str(&o, "Content-Length: ");
		http_out_uint(&o, (uint64_t)body_len, 1);
		http_out_str(&o, "\r\n");
	}
	if (status >= 200)
		http_out_str(&o, keep_alive ? "Connection: keep-alive\r\n" :
		    "Connection: close\r\n");
	if (extra != NULL)
		http_out_str(&o, extra);
	http_out_str(&o, "\r\n");
	return o.fail ? -1 : (ssize_t)o.len;
}

ssize_t
http_build_error(char *out, size_t cap, int status, bool keep_alive,
    const char *extra)
{
	struct http_out	o;
	char		body[64];
	ssize_t		n;

	if (status < 400 || status > 599)
		return -1;
	http_out_init(&o, body, sizeof(body), 0);
	http_out_uint(&o, (uint64_t)status, 3);
	http_out_str(&o, " ");
	http_out_str(&o, http_status_text(status));
	http_out_str(&o, "\n");
	if (o.fail)
		return -1;
	n = http_build_response_head(out, cap, status,
	    "text/plain; charset=utf-8", (ssize_t)o.len, keep_alive, extra);
	if (n == -1)
		return -1;
	http_out_init(&o, out, cap, (size_t)n);
	http_out_str(&o, body);
	return o.fail ? -1 : (ssize_t)o.len;
}

/* The proleptic Gregorian date of a day count since 1970-01-01. */
static void
http_civil(int64_t days, int *year, int *month, int *mday)
{
	int64_t	era, doe, yoe, doy, mp;

	days += 719468;			/* from 0000-03-01 */
	era = days / 146097;		/* 400-year cycles; days >= 0 */
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;	/* months from March */
	*mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(yoe + era * 400 + (*month <= 2));
}

ssize_t
http_build_date(char *out, size_t cap, time_t t)
{
	static const char	 wdays[] = "SunMonTueWedThuFriSat";
	static const char	 months[] =
	    "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct http_out		 o;
	int64_t			 days, secs;
	int			 year, month, mday;

	if (t < 0 || (int64_t)t > INT64_C(253402300799))  /* 9999-12-31 */
		return -1;
	days = (int64_t)t / 86400;
	secs = (int64_t)t % 86400;
	http_civil(days, &year, &month, &mday);
	http_out_init(&o, out, cap, 0);
	http_out_str(&o, "Date: ");
	http_out_mem(&o, wdays + (days + 4) % 7 * 3, 3);  /* 1970: Thu */
	http_out_str(&o, ", ");
	http_out_uint(&o, (uint64_t)mday, 2);
	http_out_str(&o, " ");
	http_out_mem(&o, months + (month - 1) * 3, 3);
	http_out_str(&o, " ");
	http_out_uint(&o, (uint64_t)year, 4);
	http_out_str(&o, " ");
	http_out_uint(&o, (uint64_t)(secs / 3600), 2);
	http_out_str(&o, ":");
	http_out_uint(&o, (uint64_t)(secs / 60 % 60), 2);
	http_out_str(&o, ":");
	http_out_uint(&o, (uint64_t)(secs % 60), 2);
	http_out_str(&o, " GMT\r\n");
	return o.fail ? -1 : (ssize_t)o.len;
}
