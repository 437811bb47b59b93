/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * libFuzzer harness for stream framing and ChannelData: cut the input into
 * frames the way a TCP connection would, parse each frame, and round-trip
 * ChannelData through the builder. Also linked with replay.c.
 */
#include <stdlib.h>
#include <string.h>

#include "stun_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_frame_check(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzz_frame_channeldata(const uint8_t *buf, size_t len)
{
	static uint8_t	 out[4 + 65536];
	const uint8_t	*data, *data2;
	uint16_t	 chan, chan2, dlen, dlen2;
	ssize_t		 n;

	if (stun_channeldata_parse(buf, len, &chan, &data, &dlen) == -1)
		return;
	fuzz_frame_check(chan >= 0x4000 && chan <= 0x7fff &&
	    data == buf + 4 && data + dlen <= buf + len);
	n = stun_channeldata_build(out, sizeof(out), chan, data, dlen, true);
	fuzz_frame_check(n == (ssize_t)(4 + ((dlen + 3) & ~3)));
	fuzz_frame_check(stun_frame_len(out, (size_t)n) == n);
	fuzz_frame_check(stun_channeldata_parse(out, (size_t)n, &chan2, &data2,
	    &dlen2) == 0 && chan2 == chan && dlen2 == dlen &&
	    memcmp(data2, data, dlen) == 0);
	n = stun_channeldata_build(out, sizeof(out), chan, data, dlen, false);
	fuzz_frame_check(n == 4 + dlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg	 msg;
	const uint8_t	*cd;
	uint16_t	 chan, dlen;
	size_t		 off = 0;
	ssize_t		 fl;

	fuzz_frame_channeldata(data, size);
	while (off < size) {
		fl = stun_frame_len(data + off, size - off);
		if (size - off < 4) {
			fuzz_frame_check(fl == 0);
			break;
		}
		if (fl == -1)
			break;
		fuzz_frame_check(fl >= 4);
		if ((size_t)fl > size - off)
			break;		/* a stream would wait for more */
		if ((data[off] & 0xc0) == 0)
			(void)stun_msg_parse(data + off, (size_t)fl, &msg);
		else {
			fuzz_frame_check((data[off] & 0xc0) == 0x40);
			fuzz_frame_check(stun_channeldata_parse(data + off,
			    (size_t)fl, &chan, &cd, &dlen) == 0);
			fuzz_frame_channeldata(data + off, (size_t)fl);
		}
		off += (size_t)fl;
	}
	return 0;
}
