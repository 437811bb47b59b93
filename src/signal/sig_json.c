/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * A JSON scanner for the signaling hot path. Forwarding an offer or a
 * candidate needs four top-level fields, yet building a jansson tree of
 * the whole message (a 4 KB SDP in "msg") cost more than everything else
 * the server does for it. This validates the text in one pass (RFC 8259;
 * no allocation but for numbers of 64 characters or more) and reports
 * where each top-level member's key and value lie, so sig_msg.c can read
 * those few fields in place and the message can leave as the text that
 * arrived.
 *
 * It accepts exactly what jansson accepts (tests/fuzz/fuzz_sig.c checks
 * both ways), so a message is never forwarded that a stricter reader of
 * the same text would refuse: no "\u0000", no lone surrogate, no integer
 * past 64 bits, no real past a double.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sig.h"
#include "ws.h"

#define SIG_JSON_DEPTH	2048	/* jansson's limit (JSON_PARSER_MAX_DEPTH) */

struct sig_json_cursor {
	const char	*p, *end;
	bool		 escaped;	/* the last string had a backslash */
};

/* Bytes that end a run of plain string content: '"', '\\', controls. */
static const bool sig_json_stop[256] = {
	[0x00] = true, [0x01] = true, [0x02] = true, [0x03] = true,
	[0x04] = true, [0x05] = true, [0x06] = true, [0x07] = true,
	[0x08] = true, [0x09] = true, [0x0a] = true, [0x0b] = true,
	[0x0c] = true, [0x0d] = true, [0x0e] = true, [0x0f] = true,
	[0x10] = true, [0x11] = true, [0x12] = true, [0x13] = true,
	[0x14] = true, [0x15] = true, [0x16] = true, [0x17] = true,
	[0x18] = true, [0x19] = true, [0x1a] = true, [0x1b] = true,
	[0x1c] = true, [0x1d] = true, [0x1e] = true, [0x1f] = true,
	['"'] = true, ['\\'] = true,
};

static void
sig_json_ws(struct sig_json_cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool
sig_json_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
	    (ch >= 'A' && ch <= 'F');
}

/* The 4 hex digits after "\\u" at p, or -1. */
static long
sig_json_u16(const char *p, const char *end)
{
	long	v = 0;
	int	i;

	if (end - p < 6)
		return -1;
	for (i = 2; i < 6; i++) {
		if (!sig_json_hex(p[i]))
			return -1;
		v = v * 16 + (p[i] <= '9' ? p[i] - '0' :
		    (p[i] | 0x20) - 'a' + 10);
	}
	return v;
}

/* A \u escape at p (a surrogate pair takes two); what follows, or NULL. */
static const char *
sig_json_unicode(const char *p, const char *end)
{
	long	hi = sig_json_u16(p, end), lo;

	if (hi <= 0 || (hi >= 0xdc00 && hi <= 0xdfff))
		return NULL;
	if (hi < 0xd800 || hi > 0xdbff)
		return p + 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
		return NULL;
	lo = sig_json_u16(p + 6, end);
	return lo >= 0xdc00 && lo <= 0xdfff ? p + 12 : NULL;
}

/* A string, the cursor on its opening quote. */
static int
sig_json_skip_string(struct sig_json_cursor *c)
{
	const char	*p = c->p + 1;

	c->escaped = false;
	for (;;) {
		const char *q = p;

		/* Plain bytes in bulk: most of a message is inside strings. */
		while (q < c->end && !sig_json_stop[(unsigned char)*q])
			q++;
		if (q >= c->end || (unsigned char)*q < 0x20)
			return -1;
		if (*q == '"') {
			c->p = q + 1;
			return 0;
		}
		c->escaped = true;
		if (q + 1 >= c->end)
			return -1;
		switch (q[1]) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			p = q + 2;
			break;
		case 'u':
			if ((p = sig_json_unicode(q, c->end)) == NULL)
				return -1;
			break;
		default:
			return -1;
		}
	}
}

/* Does the number fit an int64_t, or a double without overflowing? */
static bool
sig_json_number_fits(const char *p, size_t len, int type)
{
	char	 small[64], *buf = small, *end;
	bool	 fits;
	double	 d;

	if (type == SIG_JSON_INT && len < 19)
		return true;		/* the common case, no copy */
	if (len >= sizeof(small) && (buf = malloc(len + 1)) == NULL)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	if (type == SIG_JSON_INT) {
		(void)strtoll(buf, &end, 10);
		fits = errno != ERANGE;
	} else {
		d = strtod(buf, &end);
		fits = !(errno == ERANGE && isinf(d));
	}
	if (buf != small)
		free(buf);
	return fits;
}

/* A number; returns SIG_JSON_INT or SIG_JSON_REAL, or -1. */
static int
sig_json_number(struct sig_json_cursor *c)
{
	const char	*p = c->p;
	int		 type = SIG_JSON_INT;

	if (p < c->end && *p == '-')
		p++;
	if (p >= c->end || *p < '0' || *p > '9')
		return -1;
	if (*p == '0')
		p++;
	else
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	if (p < c->end && *p == '.') {
		type = SIG_JSON_REAL;
		if (++p >= c->end || *p < '0' || *p > '9')
			return -1;
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < c->end && (*p == 'e' || *p == 'E')) {
		type = SIG_JSON_REAL;
		if (++p < c->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= c->end || *p < '0' || *p > '9')
			return -1;
		while (p < c->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (!sig_json_number_fits(c->p, (size_t)(p - c->p), type))
		return -1;
	c->p = p;
	return type;
}

static int	sig_json_value(struct sig_json_cursor *, int depth);

/* An array or an object below the top level: checked, not recorded. */
static int
sig_json_nested(struct sig_json_cursor *c, int depth, bool object)
{
	char	close = object ? '}' : ']';

	if (depth >= SIG_JSON_DEPTH)	/* the outer object is level 1 */
		return -1;
	c->p++;
	sig_json_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (c->p >= c->end || *c->p != '"' ||
			    sig_json_skip_string(c) == -1)
				return -1;
			sig_json_ws(c);
			if (c->p >= c->end || *c->p++ != ':')
				return -1;
			sig_json_ws(c);
		}
		if (sig_json_value(c, depth + 1) == -1)
			return -1;
		sig_json_ws(c);
		if (c->p >= c->end)
			return -1;
		if (*c->p == close) {
			c->p++;
			return 0;
		}
		if (*c->p++ != ',')
			return -1;
		sig_json_ws(c);
	}
}

static bool
sig_json_word(struct sig_json_cursor *c, const char *word, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* Any value; returns its type, or -1. */
static int
sig_json_value(struct sig_json_cursor *c, int depth)
{
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '"':
		return sig_json_skip_string(c) == -1 ? -1 : SIG_JSON_STRING;
	case '{':
		return sig_json_nested(c, depth, true) == -1 ? -1 :
		    SIG_JSON_OBJECT;
	case '[':
		return sig_json_nested(c, depth, false) == -1 ? -1 :
		    SIG_JSON_ARRAY;
	case 't':
		return sig_json_word(c, "true", 4) ? SIG_JSON_BOOL : -1;
	case 'f':
		return sig_json_word(c, "false", 5) ? SIG_JSON_BOOL : -1;
	case 'n':
		return sig_json_word(c, "null", 4) ? SIG_JSON_NULL : -1;
	default:
		return sig_json_number(c);
	}
}

/* Bytes from 0x80 up must be UTF-8, as jansson made sure before. */
static bool
sig_json_utf8(const char *text, size_t len)
{
	struct ws_utf8	u;

	ws_utf8_init(&u);
	return ws_utf8_feed(&u, (const uint8_t *)text, len) &&
	    ws_utf8_complete(&u);
}

int
sig_json_scan(const char *text, size_t len, struct sig_json_member *out,
    size_t max, size_t *n)
{
	struct sig_json_cursor	 c = { text, text + len, false };
	struct sig_json_member	 m;
	int			 rc = 0;

	*n = 0;
	if (!sig_json_utf8(text, len))
		return -1;
	sig_json_ws(&c);
	if (c.p >= c.end || *c.p != '{')
		return -1;
	c.p++;
	sig_json_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto tail;
	}
	for (;;) {
		if (c.p >= c.end || *c.p != '"')
			return -1;
		m.key = c.p + 1;
		if (sig_json_skip_string(&c) == -1)
			return -1;
		m.key_len = (size_t)(c.p - 1 - m.key);
		m.key_escaped = c.escaped;
		sig_json_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			return -1;
		sig_json_ws(&c);
		m.val = c.p;
		c.escaped = false;
		if ((m.type = sig_json_value(&c, 1)) == -1)
			return -1;
		m.val_len = (size_t)(c.p - m.val);
		m.val_escaped = m.type == SIG_JSON_STRING && c.escaped;
		if (*n < max)
			out[*n] = m;
		else
			rc = 1;
		(*n)++;
		sig_json_ws(&c);
		if (c.p >= c.end)
			return -1;
		if (*c.p == '}') {
			c.p++;
			break;
		}
		if (*c.p++ != ',')
			return -1;
		sig_json_ws(&c);
	}
tail:
	sig_json_ws(&c);
	return c.p == c.end ? rc : -1;
}
