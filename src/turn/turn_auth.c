/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The long-term credential mechanism on the server side (RFC 8489 §9.2.4):
 * challenge with REALM, NONCE and PASSWORD-ALGORITHMS, check the nonce,
 * the algorithm negotiation and MESSAGE-INTEGRITY(-SHA256) against every
 * candidate key the user table offers.
 */
#include <string.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "turn_internal.h"

/* PASSWORD-ALGORITHMS we offer: MD5 and SHA-256, no parameters. */
static const uint8_t turn_auth_algorithms[8] = {
	0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00
};

/*
 * 401 or 438 with a fresh nonce; -2 when the source's budget is spent
 * (DESIGN.md: a spoofed source must not get a stream of answers). Only
 * UDP sources can be spoofed: over TCP and TLS the handshake proved the
 * address, and a dropped answer would only leave a real client waiting.
 */
static ssize_t
turn_auth_challenge(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, int code, uint8_t *out, size_t cap)
{
	struct stun_builder	b;
	char			nonce[AUTH_NONCE_MAX];
	size_t			n;

	/* Both are answers to unauthenticated input: limit both. */
	if (r->transport == TURN_TRANSPORT_UDP &&
	    !auth_limiter_allow(c->limiter, r->client, c->now_ms))
		return -2;
	n = auth_nonce_mint(c->sh->auth, r->client, c->now_unix, nonce,
	    sizeof(nonce));
	if (n == 0) {
		log_warnx("turn cannot make a nonce (OpenSSL)");
		return -2;
	}
	stun_build_init(&b, out, cap, m->method, STUN_CLASS_ERROR, m);
	stun_build_error_code(&b, code, NULL);
	stun_build_string(&b, STUN_ATTR_REALM, auth_realm(c->sh->auth));
	stun_build_attr(&b, STUN_ATTR_NONCE, nonce, n);
	stun_build_attr(&b, STUN_ATTR_PASSWORD_ALGORITHMS,
	    turn_auth_algorithms, sizeof(turn_auth_algorithms));
	return turn_finish(c, &b, m, NULL);
}

/* RFC 8489 §9.2.4 steps on PASSWORD-ALGORITHM(S). 0, or 400. */
static int
turn_auth_algorithm(const struct stun_msg *m, uint16_t *alg)
{
	const struct stun_attr	*pa, *pas;

	pa = stun_msg_get(m, STUN_ATTR_PASSWORD_ALGORITHM);
	pas = stun_msg_get(m, STUN_ATTR_PASSWORD_ALGORITHMS);
	*alg = AUTH_ALG_MD5;
	if (pa == NULL && pas == NULL)
		return 0;
	if (pa == NULL || pas == NULL || pa->len < 4 ||
	    pas->len != sizeof(turn_auth_algorithms) ||
	    memcmp(pas->val, turn_auth_algorithms, pas->len) != 0)
		return 400;
	*alg = (uint16_t)(pa->val[0] << 8 | pa->val[1]);
	if (*alg != AUTH_ALG_MD5 && *alg != AUTH_ALG_SHA256)
		return 400;
	return 0;
}

/* Try every candidate key of the user; true when one signs m. */
static bool
turn_auth_match(struct turn_ctx *c, const struct stun_msg *m,
    struct turn_auth_result *res)
{
	unsigned int	idx;

	for (idx = 0; auth_user_key(c->sh->auth, res->user, res->ulen,
	    res->alg, c->now_unix, idx, res->key, &res->keylen) == 0; idx++) {
		if (res->sha256 ? stun_msg_check_integrity_sha256(m, res->key,
		    res->keylen) : stun_msg_check_integrity(m, res->key,
		    res->keylen))
			return true;
	}
	memset(res->key, 0, sizeof(res->key));
	return false;
}

ssize_t
turn_auth_request(struct turn_ctx *c, const struct turn_req *r,
    const struct stun_msg *m, struct turn_auth_result *res, uint8_t *out,
    size_t cap)
{
	const struct stun_attr	*user, *realm, *nonce;
	int			 code;

	memset(res, 0, sizeof(*res));
	if (c->sh->cfg->no_auth) {
		res->anonymous = true;
		res->user = "";
		return 0;
	}
	if (m->integrity_idx == -1 && m->integrity256_idx == -1)
		return turn_auth_challenge(c, r, m, 401, out, cap);
	user = stun_msg_get(m, STUN_ATTR_USERNAME);
	realm = stun_msg_get(m, STUN_ATTR_REALM);
	nonce = stun_msg_get(m, STUN_ATTR_NONCE);
	if (user == NULL || realm == NULL || nonce == NULL)
		return turn_error(c, m, NULL, 400, out, cap);
	if (auth_nonce_check(c->sh->auth, nonce->val, nonce->len, r->client,
	    c->now_unix, (uint64_t)c->sh->cfg->stale_nonce) != AUTH_NONCE_OK)
		return turn_auth_challenge(c, r, m, 438, out, cap);
	if ((code = turn_auth_algorithm(m, &res->alg)) != 0)
		return turn_error(c, m, NULL, code, out, cap);
	res->user = (const char *)user->val;
	res->ulen = user->len;
	res->sha256 = m->integrity256_idx != -1;
	if (!turn_auth_match(c, m, res))
		return turn_auth_challenge(c, r, m, 401, out, cap);
	return 0;
}
