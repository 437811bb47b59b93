/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * WebSocket frame heads (RFC 6455 §5.2): parsing a client's head with the
 * checks a server owes it, unmasking (§5.3), and building the unmasked
 * heads and close bodies a server sends. Pure: bytes in, struct out.
 */
#include <string.h>

#include "ws.h"

/* True for the opcodes RFC 6455 §11.8 defines. */
static bool
ws_frame_opcode_known(uint8_t op)
{
	switch (op) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		return true;
	default:
		return false;
	}
}

/* The checks that need only the first two bytes. */
static int
ws_frame_check_start(const struct ws_frame *f)
{
	if (f->rsv != 0)		/* §5.2: no extension negotiated */
		return -1;
	if (!ws_frame_opcode_known(f->opcode))
		return -1;
	if (!f->masked)			/* §5.1: clients always mask */
		return -1;
	if ((f->opcode & 0x8) && !f->fin)	/* §5.5 */
		return -1;
	return 0;
}

ssize_t
ws_frame_parse(const uint8_t *buf, size_t len, struct ws_frame *f,
    uint16_t *close_code)
{
	size_t		need, i;
	uint8_t		len7;

	memset(f, 0, sizeof(*f));
	*close_code = 0;
	if (len < 2)
		return 0;
	f->fin = (buf[0] & 0x80) != 0;
	f->rsv = (buf[0] >> 4) & 0x7;
	f->opcode = buf[0] & 0x0f;
	f->masked = (buf[1] & 0x80) != 0;
	len7 = buf[1] & 0x7f;
	if (ws_frame_check_start(f) == -1)
		goto fail;

	/* The length first: its errors need not wait for the mask. */
	need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
	if (len < need)
		return 0;
	if (len7 == 126)
		f->len = (uint64_t)buf[2] << 8 | buf[3];
	else if (len7 == 127) {
		/* §5.2: the most significant bit MUST be 0. */
		if (buf[2] & 0x80)
			goto fail;
		for (i = 2; i < 10; i++)
			f->len = f->len << 8 | buf[i];
	} else
		f->len = len7;
	/* §5.5: a control payload of 125 bytes or less, however encoded. */
	if ((f->opcode & 0x8) && f->len > WS_MAX_CONTROL)
		goto fail;
	if (len < need + 4)
		return 0;
	memcpy(f->mask, buf + need, 4);
	f->head_len = need + 4;
	return (ssize_t)f->head_len;
fail:
	*close_code = WS_CLOSE_PROTOCOL;
	return -1;
}

void
ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
	uint8_t		m[8];
	uint64_t	w, mw;
	size_t		i, j;

	/* Rotate the key so m[0] applies to data[0]. */
	for (j = 0; j < 8; j++)
		m[j] = mask[(offset + j) & 3];
	memcpy(&mw, m, 8);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, data + i, 8);
		w ^= mw;
		memcpy(data + i, &w, 8);
	}
	for (j = 0; i < len; i++, j++)
		data[i] ^= m[j];
}

size_t
ws_frame_head_build(uint8_t out[10], uint8_t opcode, bool fin, uint64_t len)
{
	int	i;

	out[0] = (fin ? 0x80 : 0) | (opcode & 0x0f);
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (i = 9; i >= 2; i--) {
		out[i] = (uint8_t)len;
		len >>= 8;
	}
	return 10;
}

size_t
ws_close_body(uint8_t out[WS_MAX_CONTROL], uint16_t code, const char *reason)
{
	size_t	n = 0;

	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (reason != NULL) {
		n = strnlen(reason, WS_MAX_CONTROL - 2 + 1);
		if (n > WS_MAX_CONTROL - 2) {
			/* Cut before a character, not inside one. */
			n = WS_MAX_CONTROL - 2;
			while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(out + 2, reason, n);
	}
	return 2 + n;
}
