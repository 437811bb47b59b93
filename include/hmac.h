/*
 * turnpike — HMAC-SHA1 and HMAC-SHA256 for the hot paths (STUN integrity,
 * nonces, REST passwords), on OpenSSL contexts kept per thread.
 */
#ifndef HMAC_H
#define HMAC_H

#include <stddef.h>
#include <stdint.h>

enum hmac_alg {
	HMAC_SHA1,		/* 20-byte output */
	HMAC_SHA256,		/* 32-byte output */
};

/*
 * out = HMAC(key, a || b) (b may be NULL with blen 0); outlen must be the
 * algorithm's output size. Returns 0, or -1 if OpenSSL fails.
 */
int	hmac_compute(enum hmac_alg, const void *key, size_t keylen,
	    const void *a, size_t alen, const void *b, size_t blen,
	    uint8_t *out, size_t outlen);

#endif
