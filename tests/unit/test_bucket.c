/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The token bucket (src/common/bucket.c): exact refill at any rate, the
 * burst as a ceiling, a clock that goes back.
 */
#include "bucket.h"
#include "tap.h"

/* Served out of `calls` spread evenly over `ms` milliseconds. */
static unsigned
served(uint32_t rate, uint32_t burst, unsigned ms, unsigned per_ms)
{
	struct bucket	b;
	unsigned	t, k, n = 0;

	bucket_fill(&b, burst, 1000);
	for (t = 0; t < ms; t++)
		for (k = 0; k < per_ms; k++)
			n += bucket_take(&b, rate, burst, 1000 + t);
	return n;
}

int
main(void)
{
	struct bucket	b;
	unsigned	n;

	n = served(1500, 10, 10000, 10);
	ok(n >= 10 + 14985 && n <= 10 + 15000,
	    "1500/s for 10 s, 10 tries a ms: the burst and 15000 more");
	n = served(30, 10, 10000, 10);
	ok(n >= 10 + 299 && n <= 10 + 300,
	    "30/s for 10 s: the burst and 300 more");
	n = served(1000000, 2000, 1000, 2000);
	ok(n >= 2000 + 999000 && n <= 2000 + 1000000,
	    "1000000/s for 1 s: the burst and a million more");
	bucket_fill(&b, 3, 5000);
	ok(bucket_take(&b, 1, 3, 5000) && bucket_take(&b, 1, 3, 5000) &&
	    bucket_take(&b, 1, 3, 5000) && !bucket_take(&b, 1, 3, 5000),
	    "a full bucket gives its burst, then nothing");
	ok(!bucket_take(&b, 1, 3, 4000), "a clock that goes back adds nothing");
	ok(bucket_take(&b, 1, 3, 6000), "one second later: one token");
	n = 0;
	bucket_fill(&b, 3, 0);
	while (bucket_take(&b, 1, 3, 1000000000))
		n++;
	is_int(n, 3, "a long pause refills to the burst, not past it");
	return tap_done();
}
