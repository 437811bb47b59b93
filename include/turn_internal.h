/*
 * turnpike — shared by the files of src/turn/ only.
 */
#ifndef TURN_INTERNAL_H
#define TURN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun_msg.h"
#include "turn_server.h"

#define TURN_DEFAULT_LIFETIME	600	/* RFC 8656 §3.2 */
/* ADDITIONAL-ADDRESS-FAMILY as numbered by a draft coturn 4.6 still sends. */
#define TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY_OLD	0x8032

/* Who a request was authenticated as, and how to sign the answer. */
struct turn_auth_result {
	const char	*user;		/* points into the request */
	size_t		 ulen;
	uint8_t		 key[32];
	size_t		 keylen;
	uint16_t	 alg;		/* PASSWORD-ALGORITHM */
	bool		 sha256;	/* sign with MESSAGE-INTEGRITY-SHA256 */
	bool		 anonymous;	/* no-auth: nothing to sign with */
};

/*
 * Authenticate a request (RFC 8489 §9.2.4). Returns 0 when it is (res
 * filled); otherwise the request was answered: the return value is the
 * length of the 400/401/438 built in out, or -2 when nothing must be sent
 * (a 401 over the rate limit).
 */
ssize_t	turn_auth_request(struct turn_ctx *, const struct turn_req *,
	    const struct stun_msg *, struct turn_auth_result *, uint8_t *out,
	    size_t cap);

/* End a response: SOFTWARE, the integrity of au (if any), FINGERPRINT. */
ssize_t	turn_finish(struct turn_ctx *, struct stun_builder *,
	    const struct stun_msg *req, const struct turn_auth_result *au);
/* An error response to req, signed when au is not NULL. */
ssize_t	turn_error(struct turn_ctx *, const struct stun_msg *req,
	    const struct turn_auth_result *au, int code, uint8_t *out,
	    size_t cap);

ssize_t	turn_allocate(struct turn_ctx *, const struct turn_req *,
	    const struct stun_msg *, const struct turn_auth_result *,
	    uint8_t *out, size_t cap);
/*
 * The allocation of the request's 5-tuple, or NULL; one past its lifetime
 * but not yet swept by turn_server_expire() is released now.
 */
struct turn_alloc *turn_live_alloc(struct turn_ctx *, const struct turn_req *);
/* Close an allocation's relays, return its ports and quota, free it. */
void	turn_release(struct turn_ctx *, struct turn_alloc *);

#endif
