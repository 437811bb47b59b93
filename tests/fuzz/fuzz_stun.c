/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * libFuzzer harness for the STUN codec and Binding server: parse, decode
 * every attribute, check integrity, rebuild the message with the builder
 * and parse that again, and answer it from an IPv4 and an IPv6 source;
 * every answer must parse. Also linked with replay.c for `make check`.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "stun_msg.h"
#include "stun_server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const uint8_t	fuzz_key[] = "fuzz-key";

static void
fuzz_stun_check(bool cond)
{
	if (!cond)
		abort();
}

static void
fuzz_stun_attrs(const struct stun_msg *msg, const uint8_t *data, size_t n)
{
	const struct stun_attr	*a;
	struct sockaddr_storage	 ss;
	const char		*reason;
	uint16_t		 types[8];
	uint64_t		 u64;
	uint32_t		 u32;
	size_t			 i, rlen;
	int			 code;

	fuzz_stun_check(msg->nattrs <= STUN_MAX_ATTRS);
	fuzz_stun_check(msg->nunknown <= STUN_MAX_UNKNOWN);
	for (i = 0; i < msg->nattrs; i++) {
		a = &msg->attrs[i];
		fuzz_stun_check(a->val >= data + STUN_HEADER_LEN + 4 &&
		    a->val + a->len <= data + n);
		(void)stun_attr_get_addr(msg, a, &ss);
		(void)stun_attr_get_u32(a, &u32);
		(void)stun_attr_get_u64(a, &u64);
		if (stun_attr_get_error_code(a, &code, &reason, &rlen) == 0)
			fuzz_stun_check(code >= 300 && code <= 699 &&
			    (const uint8_t *)reason + rlen <= data + n);
		(void)stun_attr_get_unknown(a, types, 8);
	}
	(void)stun_msg_check_integrity(msg, fuzz_key, sizeof(fuzz_key) - 1);
	(void)stun_msg_check_integrity_sha256(msg, fuzz_key,
	    sizeof(fuzz_key) - 1);
}

/* Rebuild msg attribute by attribute, sign it, and parse it back. */
static void
fuzz_stun_rebuild(const struct stun_msg *msg)
{
	static uint8_t		 buf[STUN_MAX_MSG_LEN];
	struct stun_builder	 b;
	struct stun_msg		 again;
	const struct stun_attr	*a;
	size_t			 i, kept = 0;
	ssize_t			 n;

	stun_build_init(&b, buf, sizeof(buf), msg->method, msg->cls, msg);
	for (i = 0; i < msg->nattrs; i++) {
		a = &msg->attrs[i];
		if (a->type == STUN_ATTR_MESSAGE_INTEGRITY ||
		    a->type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
		    a->type == STUN_ATTR_FINGERPRINT)
			continue;
		stun_build_attr(&b, a->type, a->val, a->len);
		kept++;
	}
	if (kept + 3 > STUN_MAX_ATTRS)
		return;
	stun_build_integrity(&b, fuzz_key, sizeof(fuzz_key) - 1);
	stun_build_integrity_sha256(&b, fuzz_key, sizeof(fuzz_key) - 1);
	stun_build_fingerprint(&b);
	if ((n = stun_build_finish(&b)) == -1)
		return;
	fuzz_stun_check(stun_msg_parse(buf, (size_t)n, &again) == n);
	fuzz_stun_check(again.type == msg->type &&
	    again.classic == msg->classic && again.nattrs == kept + 3 &&
	    memcmp(again.tid, msg->tid, msg->tid_len) == 0);
	fuzz_stun_check(stun_msg_check_integrity(&again, fuzz_key,
	    sizeof(fuzz_key) - 1));
	fuzz_stun_check(stun_msg_check_integrity_sha256(&again, fuzz_key,
	    sizeof(fuzz_key) - 1));
	fuzz_stun_check(again.nunknown == msg->nunknown);
}

static void
fuzz_stun_serve(const struct stun_server_opts *opts, const uint8_t *data,
    size_t size, const struct sockaddr_storage *src)
{
	uint8_t		out[1500];
	struct stun_msg	resp;
	ssize_t		n;

	n = stun_server_handle(opts, data, size, (const struct sockaddr *)src,
	    out, sizeof(out));
	fuzz_stun_check(n >= -1 && n <= (ssize_t)sizeof(out));
	if (n <= 0)
		return;
	fuzz_stun_check(stun_msg_parse(out, (size_t)n, &resp) == n);
	fuzz_stun_check(resp.cls == STUN_CLASS_SUCCESS ||
	    resp.cls == STUN_CLASS_ERROR);
	fuzz_stun_check(memcmp(out + 4, data + 4, 16) == 0 || !resp.classic);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_server_opts	 opts = { false, false, true, NULL };
	struct sockaddr_storage	 src4, src6;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&src4;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&src6;
	struct stun_msg		 msg;
	ssize_t			 n;

	n = stun_msg_parse(data, size, &msg);
	fuzz_stun_check(n == -1 || (n >= STUN_HEADER_LEN &&
	    (size_t)n <= size && n % 4 == 0));
	if (n > 0) {
		fuzz_stun_attrs(&msg, data, (size_t)n);
		fuzz_stun_rebuild(&msg);
	} else
		fuzz_stun_check(msg.err == 0 || msg.err == 400);

	memset(&src4, 0, sizeof(src4));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(54321);
	sin->sin_addr.s_addr = htonl(0xc6336407);	/* 198.51.100.7 */
	memset(&src6, 0, sizeof(src6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(3478);
	inet_pton(AF_INET6, "2001:db8::7", &sin6->sin6_addr);
	fuzz_stun_serve(&opts, data, size, &src4);
	opts.fingerprint = opts.software = true;
	fuzz_stun_serve(&opts, data, size, &src6);
	return 0;
}
