/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Incremental UTF-8 validator for WebSocket text messages and close
 * reasons (RFC 6455 §8.1, RFC 3629 §4). The state names the bytes still
 * expected and, for the first continuation byte, the narrower range that
 * keeps out overlong forms, surrogates and code points above U+10FFFF, so
 * a bad byte is rejected the moment it arrives, whatever fragment it is in.
 */
#include <string.h>

#include "ws.h"

enum ws_utf8_state {
	WS_UTF8_ACCEPT = 0,	/* between characters */
	WS_UTF8_CONT1,		/* 80..BF, then done */
	WS_UTF8_CONT2,		/* 80..BF, then CONT1 */
	WS_UTF8_CONT3,		/* 80..BF, then CONT2 */
	WS_UTF8_E0,		/* A0..BF (not overlong), then CONT1 */
	WS_UTF8_ED,		/* 80..9F (not a surrogate), then CONT1 */
	WS_UTF8_F0,		/* 90..BF (not overlong), then CONT2 */
	WS_UTF8_F4,		/* 80..8F (<= U+10FFFF), then CONT2 */
	WS_UTF8_REJECT
};

void
ws_utf8_init(struct ws_utf8 *u)
{
	u->state = WS_UTF8_ACCEPT;
	u->codepoint = 0;
}

/*
 * The state after a non-ASCII lead byte (RFC 3629 §4, the table of
 * well-formed byte sequences).
 */
static uint32_t
ws_utf8_lead(struct ws_utf8 *u, uint8_t c)
{
	if (c < 0xc2)		/* continuation, or C0/C1 (overlong) */
		return WS_UTF8_REJECT;
	if (c < 0xe0) {
		u->codepoint = c & 0x1f;
		return WS_UTF8_CONT1;
	}
	if (c < 0xf0) {
		u->codepoint = c & 0x0f;
		if (c == 0xe0)
			return WS_UTF8_E0;
		if (c == 0xed)
			return WS_UTF8_ED;
		return WS_UTF8_CONT2;
	}
	if (c < 0xf5) {
		u->codepoint = c & 0x07;
		if (c == 0xf0)
			return WS_UTF8_F0;
		if (c == 0xf4)
			return WS_UTF8_F4;
		return WS_UTF8_CONT3;
	}
	return WS_UTF8_REJECT;	/* F5..FF */
}

/* The state after continuation byte c, or WS_UTF8_REJECT. */
static uint32_t
ws_utf8_cont(struct ws_utf8 *u, uint8_t c)
{
	uint8_t		lo = 0x80, hi = 0xbf;
	uint32_t	next;

	switch (u->state) {
	case WS_UTF8_CONT1:
		next = WS_UTF8_ACCEPT;
		break;
	case WS_UTF8_CONT2:
		next = WS_UTF8_CONT1;
		break;
	case WS_UTF8_CONT3:
		next = WS_UTF8_CONT2;
		break;
	case WS_UTF8_E0:
		lo = 0xa0;
		next = WS_UTF8_CONT1;
		break;
	case WS_UTF8_ED:
		hi = 0x9f;
		next = WS_UTF8_CONT1;
		break;
	case WS_UTF8_F0:
		lo = 0x90;
		next = WS_UTF8_CONT2;
		break;
	case WS_UTF8_F4:
		hi = 0x8f;
		next = WS_UTF8_CONT2;
		break;
	default:
		return WS_UTF8_REJECT;
	}
	if (c < lo || c > hi)
		return WS_UTF8_REJECT;
	u->codepoint = u->codepoint << 6 | (c & 0x3f);
	return next;
}

bool
ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t n)
{
	size_t	i = 0;

	while (i < n && u->state != WS_UTF8_REJECT) {
		if (u->state == WS_UTF8_ACCEPT) {
			/* Fast path: runs of ASCII, eight bytes at a time. */
			while (n - i >= 8) {
				uint64_t	w;

				memcpy(&w, p + i, 8);
				if (w & 0x8080808080808080ULL)
					break;
				i += 8;
			}
			while (i < n && p[i] < 0x80)
				i++;
			if (i == n) {
				if (n > 0)
					u->codepoint = p[n - 1];
				break;
			}
			u->state = ws_utf8_lead(u, p[i++]);
		} else
			u->state = ws_utf8_cont(u, p[i++]);
	}
	return u->state != WS_UTF8_REJECT;
}

bool
ws_utf8_complete(const struct ws_utf8 *u)
{
	return u->state == WS_UTF8_ACCEPT;
}
