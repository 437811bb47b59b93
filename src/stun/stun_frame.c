/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Stream framing for STUN over TCP/TLS and the ChannelData message (RFC
 * 8656 §12.4, §12.5). On a stream, STUN messages and ChannelData follow
 * each other without any other delimiter: the first byte tells which
 * (top bits 00: STUN, 01: ChannelData) and the length field how long.
 * Pure: bytes in, length out.
 */
#include <string.h>

#include "stun_msg.h"

ssize_t
stun_frame_len(const uint8_t *buf, size_t len)
{
	size_t	n;

	if (len < 4)
		return 0;
	n = (size_t)buf[2] << 8 | buf[3];
	if ((buf[0] & 0xc0) == 0x00) {
		if (n % 4 != 0)
			return -1;
		return (ssize_t)(STUN_HEADER_LEN + n);
	}
	if ((buf[0] & 0xc0) == 0x40) {
		/* RFC 8656 §12.5: padded to 4 bytes on streams. */
		n = (n + 3) & ~(size_t)3;
		return (ssize_t)(STUN_CHANNEL_HEADER_LEN + n);
	}
	return -1;
}

int
stun_channeldata_parse(const uint8_t *buf, size_t len, uint16_t *chan,
    const uint8_t **data, uint16_t *dlen)
{
	uint16_t	c, n;

	if (len < STUN_CHANNEL_HEADER_LEN)
		return -1;
	c = (uint16_t)(buf[0] << 8 | buf[1]);
	n = (uint16_t)(buf[2] << 8 | buf[3]);
	if (c < 0x4000 || c > 0x7fff)
		return -1;
	if (n > len - STUN_CHANNEL_HEADER_LEN)
		return -1;
	*chan = c;
	*data = buf + STUN_CHANNEL_HEADER_LEN;
	*dlen = n;
	return 0;
}

ssize_t
stun_channeldata_build(uint8_t *out, size_t cap, uint16_t chan,
    const uint8_t *data, size_t len, bool pad)
{
	size_t	total, padded;

	if (chan < 0x4000 || chan > 0x7fff || len > 0xffff)
		return -1;
	padded = pad ? (len + 3) & ~(size_t)3 : len;
	total = STUN_CHANNEL_HEADER_LEN + padded;
	if (total > cap)
		return -1;
	/* data may already sit at out + 4 (received in place): memmove. */
	if (len > 0 && data != out + STUN_CHANNEL_HEADER_LEN)
		memmove(out + STUN_CHANNEL_HEADER_LEN, data, len);
	out[0] = chan >> 8;
	out[1] = chan & 0xff;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memset(out + STUN_CHANNEL_HEADER_LEN + len, 0, padded - len);
	return (ssize_t)total;
}
