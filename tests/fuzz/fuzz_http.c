/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * libFuzzer harness for the HTTP/1.1 request parser and response builders:
 * parse the input, check that a prefix of it gives the answer the parser's
 * contract implies, check every pointer of the result lies in the head,
 * then run every accessor on it and the builders on input-derived
 * arguments and output sizes (in exact-size heap buffers, so ASan sees
 * any overrun). Also linked with replay.c.
 */
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_http_check(bool cond)
{
	if (!cond)
		abort();
}

/* A byte of the input chosen by i, to derive sizes and choices from. */
static unsigned
fuzz_http_knob(const uint8_t *data, size_t size, size_t i)
{
	return size == 0 ? 0 : data[(size - 1 - i % size)];
}

static ssize_t
fuzz_http_parse_copy(const uint8_t *data, size_t len,
    struct http_request *req)
{
	char	*copy;
	ssize_t	 n;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, data, len);
	n = http_parse_request(copy, len, req);
	free(copy);
	return n;
}

static bool
fuzz_http_inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p != NULL && p >= buf && n <= len && p - buf <= (ssize_t)(len -
	    n);
}

/* Whatever came back, a prefix must agree with it (http_parse.h). */
static void
fuzz_http_prefix(const uint8_t *data, size_t size, ssize_t n, int status)
{
	struct http_request	req;
	size_t			k;
	ssize_t			m;

	if (size == 0)
		return;
	k = (fuzz_http_knob(data, size, 0) << 8 |
	    fuzz_http_knob(data, size, 1)) % size;
	m = fuzz_http_parse_copy(data, k, &req);
	if (n > 0 && k < (size_t)n)
		fuzz_http_check(m == HTTP_INCOMPLETE);
	else if (n > 0)
		fuzz_http_check(m == n);
	else if (n == HTTP_INCOMPLETE)
		fuzz_http_check(m == HTTP_INCOMPLETE);
	else
		fuzz_http_check(m == HTTP_INCOMPLETE ||
		    (m == HTTP_ERROR && req.status == status));
}

static void
fuzz_http_check_fields(const struct http_request *req, const char *buf,
    size_t n)
{
	const struct http_header	*h;
	size_t				 i;

	fuzz_http_check(n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	fuzz_http_check(fuzz_http_inside(req->method, req->method_len, buf,
	    n) && req->method_len > 0);
	fuzz_http_check(fuzz_http_inside(req->target, req->target_len, buf,
	    n) && req->target_len > 0 && req->target_len <= HTTP_MAX_TARGET);
	fuzz_http_check(req->path == req->target &&
	    req->path_len <= req->target_len);
	if (req->query != NULL)
		fuzz_http_check(req->query == req->path + req->path_len + 1 &&
		    req->path_len + 1 + req->query_len == req->target_len);
	else
		fuzz_http_check(req->path_len == req->target_len &&
		    req->query_len == 0);
	fuzz_http_check(req->minor == 0 || req->minor == 1);
	fuzz_http_check(req->nheaders <= HTTP_MAX_HEADERS);
	fuzz_http_check(!(req->chunked && req->has_content_length));
	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		fuzz_http_check(fuzz_http_inside(h->name, h->name_len, buf, n)
		    && h->name_len > 0);
		fuzz_http_check(fuzz_http_inside(h->value, h->value_len, buf,
		    n));
		fuzz_http_check(memchr(h->value, '\0', h->value_len) == NULL);
	}
}

/* Every header is found by its own name, equals its value, has its token. */
static void
fuzz_http_headers(const struct http_request *req)
{
	static char			 name[HTTP_MAX_HEAD + 1];
	static char			 value[HTTP_MAX_HEAD + 1];
	const struct http_header	*h, *f;
	const char			*comma;
	size_t				 i, len;

	for (i = 0; i < req->nheaders; i++) {
		h = &req->headers[i];
		memcpy(name, h->name, h->name_len);
		name[h->name_len] = '\0';
		f = http_find_header(req, name);
		fuzz_http_check(f != NULL && f <= h &&
		    f->name_len == h->name_len);
		memcpy(value, h->value, h->value_len);
		value[h->value_len] = '\0';
		fuzz_http_check(http_header_equals(h, value));
		if ((comma = strchr(value, ',')) != NULL)
			value[comma - value] = '\0';
		for (len = strlen(value); len > 0 &&
		    (value[len - 1] == ' ' || value[len - 1] == '\t'); len--)
			value[len - 1] = '\0';
		if (len > 0)
			fuzz_http_check(http_header_has_token(h, value));
	}
}

/* out holds a NUL-terminated string of length n < cap, or n is -1. */
static void
fuzz_http_check_out(const char *out, size_t cap, ssize_t n)
{
	if (n == -1)
		return;
	fuzz_http_check(n >= 0 && (size_t)n < cap && out[n] == '\0' &&
	    strlen(out) == (size_t)n);
}

static void
fuzz_http_query(const struct http_request *req, const uint8_t *data,
    size_t size)
{
	static const char *const	 names[] = { "token", "uid", "room", "",
	    "a", "a b" };
	size_t				 i, cap;
	char				*out;
	ssize_t				 n;

	cap = fuzz_http_knob(data, size, 2) % 80;
	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		abort();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = http_query_param(req, names[i], out, cap);
		fuzz_http_check_out(out, cap, n);
		fuzz_http_check(n <= (ssize_t)req->query_len);
	}
	n = http_decode_path(req->path, req->path_len, out, cap);
	fuzz_http_check_out(out, cap, n);
	fuzz_http_check(n <= (ssize_t)req->path_len);
	free(out);
}

/* A NUL-terminated slice of the input, at most max bytes, or NULL. */
static const char *
fuzz_http_slice(char *dst, size_t max, const uint8_t *data, size_t size,
    size_t knob)
{
	size_t	off, len;

	if (fuzz_http_knob(data, size, knob) % 4 == 0)
		return NULL;
	off = size == 0 ? 0 : fuzz_http_knob(data, size, knob + 1) % size;
	len = fuzz_http_knob(data, size, knob + 2) % (max + 1);
	if (len > size - off)
		len = size - off;
	memcpy(dst, data + off, len);
	dst[len] = '\0';
	return dst;
}

static void
fuzz_http_builders(const uint8_t *data, size_t size)
{
	char		 ctype[65], extra[129], *out;
	const char	*ct, *ex;
	size_t		 cap;
	ssize_t		 n, body;
	int		 status;
	bool		 keep;

	status = (int)(fuzz_http_knob(data, size, 3) << 8 |
	    fuzz_http_knob(data, size, 4)) % 700;
	body = (ssize_t)fuzz_http_knob(data, size, 5) - 2;
	keep = fuzz_http_knob(data, size, 6) & 1;
	cap = fuzz_http_knob(data, size, 7) * 2;
	ct = fuzz_http_slice(ctype, sizeof(ctype) - 1, data, size, 8);
	ex = fuzz_http_slice(extra, sizeof(extra) - 1, data, size, 11);
	fuzz_http_check(http_status_text(status) != NULL);
	if ((out = malloc(cap > 0 ? cap : 1)) == NULL)
		abort();
	n = http_build_response_head(out, cap, status, ct, body, keep, ex);
	fuzz_http_check_out(out, cap, n);
	if (n != -1)
		fuzz_http_check(n >= 17 && memcmp(out, "HTTP/1.1 ", 9) == 0 &&
		    memcmp(out + n - 4, "\r\n\r\n", 4) == 0 &&
		    strstr(out, "\r\n\r\n") == out + n - 4);
	n = http_build_error(out, cap, status, keep, ex);
	fuzz_http_check_out(out, cap, n);
	if (n != -1)
		fuzz_http_check(out[n - 1] == '\n' &&
		    strstr(out, "\r\n\r\n") != NULL);
	n = http_build_date(out, cap, (time_t)(status * 86400LL * 3 +
	    body * 3671));
	fuzz_http_check_out(out, cap, n);
	fuzz_http_check(n == -1 || n == HTTP_DATE_LEN);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*buf = (const char *)data;
	struct http_request	 req, again;
	ssize_t			 n;

	n = http_parse_request(buf, size, &req);
	fuzz_http_prefix(data, size, n, req.status);
	if (n == HTTP_ERROR)
		fuzz_http_check(req.status == 400 || req.status == 414 ||
		    req.status == 431 || req.status == 501 ||
		    req.status == 505);
	else if (n == HTTP_INCOMPLETE)
		fuzz_http_check(size < HTTP_MAX_HEAD);
	else {
		fuzz_http_check(n > 0 && (size_t)n <= size &&
		    n <= HTTP_MAX_HEAD);
		fuzz_http_check(fuzz_http_parse_copy(data, (size_t)n,
		    &again) == n);
		fuzz_http_check_fields(&req, buf, (size_t)n);
		fuzz_http_headers(&req);
		fuzz_http_query(&req, data, size);
	}
	fuzz_http_builders(data, size);
	return 0;
}
