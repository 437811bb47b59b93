/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * STUN Binding server logic (RFC 8489 §6.3, RFC 5389 §12.2 for RFC 3489
 * clients): decides the answer to one message and writes it into the
 * caller's buffer. Pure: the net layer receives and sends. The TURN
 * dispatcher calls stun_binding_answer() and stun_error_answer() with a
 * message it has already parsed.
 */
#ifndef STUN_SERVER_H
#define STUN_SERVER_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun_msg.h"

struct stun_server_opts {
	bool		 fingerprint;	/* `fingerprint`: always FINGERPRINT */
	bool		 software;	/* `software-attribute`: add SOFTWARE */
	bool		 classic;	/* answer RFC 3489 requests */
	const char	*software_name;	/* NULL: "turnpike/<version>" */
};

/*
 * Answer one parsed Binding request from src. RFC 5389+ requests get
 * XOR-MAPPED-ADDRESS; RFC 3489 requests get MAPPED-ADDRESS only, their
 * 16-byte id echoed (RFC 5389 §12.2). Requests with unknown comprehension-
 * required attributes get 420. CHANGE-REQUEST (we have no alternate
 * address): an RFC 5389+ request asking to change IP or port gets 420
 * listing CHANGE-REQUEST with any unknown ones (RFC 5780 §6.1); an RFC 3489
 * request asking to change nothing is answered normally, one asking to
 * change IP or port gets no answer (0), which is what such a client must
 * see from a server that cannot send from elsewhere. FINGERPRINT when the
 * request had one or opts->fingerprint (never to RFC 3489 clients);
 * SOFTWARE only with opts->software. Returns the response length, 0 when
 * nothing is to be sent, -1 if it does not fit in cap.
 */
ssize_t	stun_binding_answer(const struct stun_server_opts *,
	    const struct stun_msg *req, const struct sockaddr *src,
	    uint8_t *out, size_t cap);

/*
 * Error response to req: ERROR-CODE code (reason NULL: the default
 * phrase), plus UNKNOWN-ATTRIBUTES from req->unknown for 420; SOFTWARE and
 * FINGERPRINT as above. Returns the length, or -1 if it does not fit.
 */
ssize_t	stun_error_answer(const struct stun_server_opts *,
	    const struct stun_msg *req, int code, const char *reason,
	    uint8_t *out, size_t cap);

/*
 * Foundation dispatcher: parse the message pkt (exactly len bytes: one
 * datagram or one frame) received from src and decide the answer. Returns
 * the response length (> 0); 0 when nothing is to be sent (indications,
 * responses, RFC 3489 requests when !opts->classic); -1 when the bytes are
 * not a STUN message, fail FINGERPRINT, do not fill len exactly, or are a
 * malformed non-request (UDP: drop it; TCP: close). A request with a sound
 * header but malformed attributes gets 400. Requests with unknown
 * comprehension-required attributes get 420 with UNKNOWN-ATTRIBUTES,
 * Binding requests stun_binding_answer(), other methods 400.
 */
ssize_t	stun_server_handle(const struct stun_server_opts *,
	    const uint8_t *pkt, size_t len, const struct sockaddr *src,
	    uint8_t *out, size_t cap);

#endif
