/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * HMAC on contexts made once per thread. OpenSSL 3 looks an algorithm up
 * by name on every EVP_MAC_fetch() or HMAC() call (locks, a property
 * query, a digest fetch for the parameters), which cost more than hashing
 * a STUN message; an Allocate computes four HMACs. A context set up once
 * with its digest only needs EVP_MAC_init() with the key per use.
 */
#include <pthread.h>
#include <stdbool.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "hmac.h"

static const char *const hmac_digest[] = { "SHA1", "SHA256" };
static const size_t hmac_len[] = { 20, 32 };

static pthread_once_t	 hmac_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 hmac_key;
static bool		 hmac_key_ok;
static EVP_MAC		*hmac_mac;

struct hmac_ctxs {
	EVP_MAC_CTX	*ctx[2];
};

static void
hmac_ctxs_free(void *arg)
{
	struct hmac_ctxs	*t = arg;

	EVP_MAC_CTX_free(t->ctx[0]);
	EVP_MAC_CTX_free(t->ctx[1]);
	OPENSSL_free(t);
}

static void
hmac_init(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	hmac_key_ok = pthread_key_create(&hmac_key, hmac_ctxs_free) == 0;
}

/* This thread's context for alg, made on first use. */
static EVP_MAC_CTX *
hmac_ctx(enum hmac_alg alg)
{
	struct hmac_ctxs	*t;
	OSSL_PARAM		 params[2];

	pthread_once(&hmac_once, hmac_init);
	if (hmac_mac == NULL || !hmac_key_ok)
		return NULL;
	if ((t = pthread_getspecific(hmac_key)) == NULL) {
		if ((t = OPENSSL_zalloc(sizeof(*t))) == NULL)
			return NULL;
		if (pthread_setspecific(hmac_key, t) != 0) {
			OPENSSL_free(t);
			return NULL;
		}
	}
	if (t->ctx[alg] == NULL) {
		if ((t->ctx[alg] = EVP_MAC_CTX_new(hmac_mac)) == NULL)
			return NULL;
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_MAC_PARAM_DIGEST, (char *)hmac_digest[alg], 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_MAC_CTX_set_params(t->ctx[alg], params) != 1) {
			EVP_MAC_CTX_free(t->ctx[alg]);
			t->ctx[alg] = NULL;
			return NULL;
		}
	}
	return t->ctx[alg];
}

int
hmac_compute(enum hmac_alg alg, const void *key, size_t keylen,
    const void *a, size_t alen, const void *b, size_t blen, uint8_t *out,
    size_t outlen)
{
	static const uint8_t	 zero = 0;
	EVP_MAC_CTX		*ctx;
	size_t			 got = 0;

	if (outlen != hmac_len[alg] || (ctx = hmac_ctx(alg)) == NULL)
		return -1;
	/* HMAC pads the key with zeros: an empty key equals one zero byte. */
	if (keylen == 0) {
		key = &zero;
		keylen = 1;
	}
	if (EVP_MAC_init(ctx, key, keylen, NULL) != 1 ||
	    EVP_MAC_update(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_MAC_update(ctx, b, blen) != 1) ||
	    EVP_MAC_final(ctx, out, &got, outlen) != 1)
		return -1;
	return got == outlen ? 0 : -1;
}
