/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * STUN Binding server: what to answer to one message, for RFC 8489/5389
 * clients and RFC 3489 "classic" ones (no magic cookie). The answer is
 * built into the caller's buffer; nothing here sends, logs or allocates.
 * Responses stay small on purpose (DESIGN.md "Safe by default"): no
 * SOFTWARE unless configured, no RFC 5780 attributes.
 */
#include <string.h>

#include "stun_msg.h"
#include "stun_server.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "0.1.0"
#endif

/* SOFTWARE and FINGERPRINT, the attributes every response may end with. */
static void
stun_server_trailer(const struct stun_server_opts *opts,
    const struct stun_msg *req, struct stun_builder *b)
{
	const char	*name = opts->software_name;

	if (opts->software)
		stun_build_string(b, STUN_ATTR_SOFTWARE,
		    name != NULL ? name : "turnpike/" TURNPIKE_VERSION);
	/* RFC 3489 has no FINGERPRINT: its clients would not check it. */
	if (!req->classic && (opts->fingerprint || req->fingerprint_idx != -1))
		stun_build_fingerprint(b);
}

static ssize_t
stun_server_error(const struct stun_server_opts *opts,
    const struct stun_msg *req, int code, const char *reason,
    const uint16_t *unknown, size_t nunknown, uint8_t *out, size_t cap)
{
	struct stun_builder	b;

	stun_build_init(&b, out, cap, req->method, STUN_CLASS_ERROR, req);
	stun_build_error_code(&b, code, reason);
	if (code == 420 && nunknown > 0)
		stun_build_unknown_attrs(&b, unknown, nunknown);
	stun_server_trailer(opts, req, &b);
	return stun_build_finish(&b);
}

ssize_t
stun_error_answer(const struct stun_server_opts *opts,
    const struct stun_msg *req, int code, const char *reason, uint8_t *out,
    size_t cap)
{
	return stun_server_error(opts, req, code, reason, req->unknown,
	    req->nunknown, out, cap);
}

/*
 * CHANGE-REQUEST asks for the response from our other address or port; we
 * have none. Returns 1 to answer normally, 0 to stay silent, or the error
 * code to answer with.
 */
static int
stun_server_change_request(const struct stun_msg *req)
{
	const struct stun_attr	*a;
	uint32_t		 flags;

	if ((a = stun_msg_get(req, STUN_ATTR_CHANGE_REQUEST)) == NULL)
		return 1;
	if (stun_attr_get_u32(a, &flags) == -1)
		return 400;
	if ((flags & (STUN_CHANGE_IP | STUN_CHANGE_PORT)) == 0)
		return 1;	/* nothing to change: no other address needed */
	/*
	 * RFC 5780 §6.1: without an alternate address, 420. An RFC 3489
	 * client counts any answer to its change tests, errors included, as
	 * having come from the other address and would misjudge its NAT; the
	 * answer it cannot get from a one-address server is none at all.
	 */
	return req->classic ? 0 : 420;
}

ssize_t
stun_binding_answer(const struct stun_server_opts *opts,
    const struct stun_msg *req, const struct sockaddr *src, uint8_t *out,
    size_t cap)
{
	struct stun_builder	b;
	uint16_t		unknown[STUN_MAX_UNKNOWN + 1];
	size_t			n = req->nunknown;
	int			rc;

	if (req->classic && !opts->classic)
		return 0;
	memcpy(unknown, req->unknown, n * sizeof(unknown[0]));
	if ((rc = stun_server_change_request(req)) == 420)
		unknown[n++] = STUN_ATTR_CHANGE_REQUEST;
	if (n > 0)
		return stun_server_error(opts, req, 420, NULL, unknown, n,
		    out, cap);
	if (rc == 0)
		return 0;
	if (rc != 1)
		return stun_error_answer(opts, req, rc, NULL, out, cap);
	stun_build_init(&b, out, cap, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS,
	    req);
	/* RFC 5389 §12.2: MAPPED-ADDRESS instead of XOR-MAPPED-ADDRESS. */
	stun_build_addr(&b, req->classic ? STUN_ATTR_MAPPED_ADDRESS :
	    STUN_ATTR_XOR_MAPPED_ADDRESS, src);
	stun_server_trailer(opts, req, &b);
	return stun_build_finish(&b);
}

ssize_t
stun_server_handle(const struct stun_server_opts *opts, const uint8_t *pkt,
    size_t len, const struct sockaddr *src, uint8_t *out, size_t cap)
{
	struct stun_msg	msg;
	ssize_t		n;

	n = stun_msg_parse(pkt, len, &msg);
	if (n == -1) {
		/* A sound header with bad attributes: answer requests. */
		if (msg.err == 0 || msg.cls != STUN_CLASS_REQUEST ||
		    msg.len != len || (msg.classic && !opts->classic))
			return -1;
		return stun_error_answer(opts, &msg, msg.err, NULL, out, cap);
	}
	if ((size_t)n != len)
		return -1;
	if (msg.cls != STUN_CLASS_REQUEST || (msg.classic && !opts->classic))
		return 0;
	if (msg.method == STUN_METHOD_BINDING)
		return stun_binding_answer(opts, &msg, src, out, cap);
	if (msg.nunknown > 0)
		return stun_error_answer(opts, &msg, 420, NULL, out, cap);
	return stun_error_answer(opts, &msg, 400, NULL, out, cap);
}
