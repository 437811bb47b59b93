/*
 * turnpike — a token bucket (rate limits: 401 answers per source, messages
 * per signaling connection).
 */
#ifndef BUCKET_H
#define BUCKET_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Counted in thousandths of a token, so any rate from 1 to 1000000 a second
 * refills exactly, keeping the fraction earned between two calls. A zeroed
 * bucket is empty; bucket_fill() makes it full.
 */
struct bucket {
	uint64_t	milli;		/* tokens x 1000 */
	uint64_t	last_ms;
};

void	bucket_fill(struct bucket *, uint32_t burst, uint64_t now_ms);
/* Take one token if there is one, after refilling at rate per second. */
bool	bucket_take(struct bucket *, uint32_t rate, uint32_t burst,
	    uint64_t now_ms);

#endif
