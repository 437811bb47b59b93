/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The WebSocket message reader (RFC 6455 §5.4, §5.5, §7.4, §8.1): takes
 * one whole frame at a time from a contiguous buffer, unmasks it in place,
 * reassembles fragmented messages into one buffer bounded by max_message,
 * validates text as it arrives and turns control frames into events. Every
 * protocol violation becomes the close code to answer with. No I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "ws.h"
#include "xmalloc.h"

/* First size of the reassembly buffer; it doubles up to max_message. */
#define WS_READER_MIN_CAP	256

void
ws_reader_init(struct ws_reader *r, size_t max_message)
{
	memset(r, 0, sizeof(*r));
	r->max_message = max_message;
	ws_utf8_init(&r->utf8);
}

void
ws_reader_clear(struct ws_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
	r->op = 0;
	r->fragmented = false;
	ws_utf8_init(&r->utf8);
}

/*
 * May a peer send this close code? RFC 6455 §7.4.1 and §7.4.2, with
 * 1012-1014 as registered since (IANA WebSocket Close Code Number
 * Registry): 1000-1003, 1007-1014 and 3000-4999.
 */
static bool
ws_reader_close_code_ok(uint16_t code)
{
	if (code >= 1000 && code <= 1003)
		return true;
	if (code >= 1007 && code <= 1014)
		return true;
	return code >= 3000 && code <= 4999;
}

/*
 * The checks that need only the head and the reader's state, made before
 * the payload is waited for: a 1 GB frame is refused from its first bytes.
 * Returns the close code, or 0.
 */
static uint16_t
ws_reader_check_head(const struct ws_reader *r, const struct ws_frame *f)
{
	switch (f->opcode) {
	case WS_OP_CONT:
		if (!r->fragmented)
			return WS_CLOSE_PROTOCOL;
		if (f->len > r->max_message - r->len)
			return WS_CLOSE_TOO_BIG;
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		/* §5.4: fragments of one message are not interleaved. */
		if (r->fragmented)
			return WS_CLOSE_PROTOCOL;
		if (f->len > r->max_message)
			return WS_CLOSE_TOO_BIG;
		break;
	case WS_OP_CLOSE:
		/* §5.5.1: a body, if any, starts with a 2-byte code. */
		if (f->len == 1)
			return WS_CLOSE_PROTOCOL;
		break;
	}
	return 0;
}

/* Make room for need bytes; need <= max_message (checked from the head). */
static void
ws_reader_grow(struct ws_reader *r, size_t need)
{
	size_t	cap;

	if (need <= r->cap)
		return;
	cap = r->cap != 0 ? r->cap : WS_READER_MIN_CAP;
	while (cap < need && cap <= r->max_message / 2)
		cap *= 2;
	if (cap > r->max_message)
		cap = r->max_message;
	if (cap < need)
		cap = need;
	r->buf = xreallocarray(r->buf, cap, 1);
	r->cap = cap;
}

static uint16_t
ws_reader_control(const struct ws_frame *f, const uint8_t *p,
    struct ws_event *ev)
{
	struct ws_utf8	u;
	size_t		n = (size_t)f->len;

	ev->data = p;
	ev->len = n;
	switch (f->opcode) {
	case WS_OP_PING:
		ev->type = WS_EV_PING;
		return 0;
	case WS_OP_PONG:
		ev->type = WS_EV_PONG;
		return 0;
	}
	ev->type = WS_EV_CLOSE;
	if (n == 0) {
		ev->close_code = WS_CLOSE_NO_STATUS;	/* §7.1.5 */
		return 0;
	}
	ev->close_code = (uint16_t)(p[0] << 8 | p[1]);
	if (!ws_reader_close_code_ok(ev->close_code))
		return WS_CLOSE_PROTOCOL;
	/* §5.5.1: the reason is UTF-8; §8.1: anything else fails. */
	ws_utf8_init(&u);
	if (!ws_utf8_feed(&u, p + 2, n - 2) || !ws_utf8_complete(&u))
		return WS_CLOSE_INVALID_DATA;
	ev->data = p + 2;
	ev->len = n - 2;
	return 0;
}

static enum ws_event_type
ws_reader_type(uint8_t op)
{
	return op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
}

static uint16_t
ws_reader_data(struct ws_reader *r, const struct ws_frame *f,
    const uint8_t *p, struct ws_event *ev)
{
	size_t	n = (size_t)f->len;
	bool	text;

	if (f->opcode != WS_OP_CONT) {
		r->op = f->opcode;
		r->len = 0;
		ws_utf8_init(&r->utf8);
	}
	text = r->op == WS_OP_TEXT;
	/* §8.1: fail fast, fragment by fragment. */
	if (text && !ws_utf8_feed(&r->utf8, p, n))
		return WS_CLOSE_INVALID_DATA;
	if (f->fin && text && !ws_utf8_complete(&r->utf8))
		return WS_CLOSE_INVALID_DATA;

	if (f->fin && f->opcode != WS_OP_CONT) {
		/* A whole message in one frame: no copy. */
		ev->type = ws_reader_type(r->op);
		ev->data = p;
		ev->len = n;
		return 0;
	}
	ws_reader_grow(r, r->len + n);
	if (n > 0)
		memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->fragmented = !f->fin;
	if (f->fin) {
		ev->type = ws_reader_type(r->op);
		ev->data = r->buf;
		ev->len = r->len;
	}
	return 0;
}

ssize_t
ws_read(struct ws_reader *r, uint8_t *buf, size_t len, struct ws_event *ev)
{
	struct ws_frame	 f;
	uint8_t		*p;
	ssize_t		 hn;
	uint16_t	 code;

	memset(ev, 0, sizeof(*ev));
	if ((hn = ws_frame_parse(buf, len, &f, &code)) == 0)
		return 0;
	if (hn == -1)
		goto fail;
	if ((code = ws_reader_check_head(r, &f)) != 0)
		goto fail;
	if (len - (size_t)hn < f.len)
		return 0;

	/* The whole frame is here: from now on buf is changed. */
	p = buf + hn;
	ws_unmask(p, (size_t)f.len, f.mask, 0);
	if (f.opcode & 0x8)
		code = ws_reader_control(&f, p, ev);
	else
		code = ws_reader_data(r, &f, p, ev);
	if (code != 0)
		goto fail;
	return hn + (ssize_t)f.len;
fail:
	memset(ev, 0, sizeof(*ev));
	ev->close_code = code;
	return -1;
}
