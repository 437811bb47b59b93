/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Token buckets (include/bucket.h).
 */
#include "bucket.h"

void
bucket_fill(struct bucket *b, uint32_t burst, uint64_t now_ms)
{
	b->milli = (uint64_t)burst * 1000;
	b->last_ms = now_ms;
}

bool
bucket_take(struct bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	uint64_t	full = (uint64_t)burst * 1000, elapsed = 0;

	if (now_ms > b->last_ms)
		elapsed = now_ms - b->last_ms;
	/* Past the time it takes to fill up, more time adds nothing. */
	if (rate > 0 && elapsed > full / rate + 1)
		elapsed = full / rate + 1;
	b->milli += elapsed * rate;
	if (b->milli > full)
		b->milli = full;
	b->last_ms = now_ms;
	if (b->milli < 1000)
		return false;
	b->milli -= 1000;
	return true;
}
