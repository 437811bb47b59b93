/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Unit tests for the STUN codec, integrity, framing and Binding server:
 * RFC 5769 known answers first, then round trips, every malformed shape,
 * truncation at every length, and the server's answers. No sockets.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "stun_msg.h"
#include "stun_server.h"
#include "tap.h"

/* RFC 5769 §2.1-§2.4, byte for byte (SOFTWARE/USERNAME padding is 0x20). */
static const char rfc5769_request[] =
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49"
    "c1 b5 71 a2 80 28 00 04 e5 7a 3b cf";
static const char rfc5769_ipv4[] =
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53"
    "f0 6b e7 d7 80 28 00 04 c0 7d 4c 96";
static const char rfc5769_ipv6[] =
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5"
    "be d2 b9 d9 00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c"
    "82 92 c2 75 bf e3 ed 41 80 28 00 04 c8 fb 0b 4c";
static const char rfc5769_longterm[] =
    "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3"
    "82 b9 00 00 00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36"
    "4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41 00 14 00 0b"
    "65 78 61 6d 70 6c 65 2e 6f 72 67 00 00 08 00 14 f6 70 24 65"
    "6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66";
/* What Debian's `stun` (RFC 3489 client) sends: tests I, II, III. */
static const char classic_test1[] =
    "00 01 00 08 01 51 cf 1b 38 65 ea 26 56 70 7d 76 84 d8 20 2e"
    "00 03 00 04 00 00 00 00";
static const char classic_test2[] =
    "00 01 00 08 02 c7 06 73 80 7c 9d 11 1e 6f 6c 3d c6 f3 e5 0f"
    "00 03 00 04 00 00 00 04";
static const char classic_test3[] =
    "00 01 00 08 03 23 62 56 2e fa ab 28 55 3f e8 55 ac 14 19 58"
    "00 03 00 04 00 00 00 02";

static const char short_term_pw[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* "マトリックス" in UTF-8: the RFC 5769 §2.4 user name. */
static const char matrix[] =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const uint8_t tid0[12] = {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae
};

static size_t
hex(const char *s, uint8_t *out)
{
	size_t	n = 0;
	int	hi = -1, v;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			continue;
		if (hi == -1)
			hi = v;
		else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

static struct sockaddr_storage
sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return ss;
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in	*a4 = (const void *)a;
	const struct sockaddr_in	*b4 = (const void *)b;
	const struct sockaddr_in6	*a6 = (const void *)a;
	const struct sockaddr_in6	*b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
}

static bool
attr_is(const struct stun_msg *m, uint16_t type, const char *want)
{
	const struct stun_attr	*a = stun_msg_get(m, type);

	return a != NULL && a->len == strlen(want) &&
	    memcmp(a->val, want, a->len) == 0;
}

static int
error_code(const struct stun_msg *m)
{
	const struct stun_attr	*a = stun_msg_get(m, STUN_ATTR_ERROR_CODE);
	const char		*reason;
	size_t			 rlen;
	int			 code;

	if (a == NULL || stun_attr_get_error_code(a, &code, &reason,
	    &rlen) == -1)
		return -1;
	return code;
}

/*
 * Parse a heap copy of exactly len bytes, so ASan sees any overread. The
 * copy lives until the next call, since m points into it.
 */
static uint8_t	*exact_copy;

static ssize_t
parse_exact(const uint8_t *buf, size_t len, struct stun_msg *m)
{
	free(exact_copy);
	exact_copy = malloc(len ? len : 1);
	memcpy(exact_copy, buf, len);
	return stun_msg_parse(exact_copy, len, m);
}

static void
test_rfc5769(void)
{
	struct stun_msg		 m;
	struct sockaddr_storage	 got, want;
	uint8_t			 buf[256], key[16], key256[32], rebuilt[256];
	struct stun_builder	 b;
	uint32_t		 u32;
	uint64_t		 u64;
	size_t			 n;

	n = hex(rfc5769_request, buf);
	is_int(stun_msg_parse(buf, n, &m), 108, "5769 request: parses");
	ok(!m.classic && m.method == STUN_METHOD_BINDING &&
	    m.cls == STUN_CLASS_REQUEST, "5769 request: binding request");
	ok(m.tid_len == 12 && memcmp(m.tid, tid0, 12) == 0,
	    "5769 request: transaction id");
	is_int(m.nattrs, 6, "5769 request: six attributes");
	ok(attr_is(&m, STUN_ATTR_SOFTWARE, "STUN test client"),
	    "5769 request: SOFTWARE");
	ok(attr_is(&m, STUN_ATTR_USERNAME, "evtj:h6vY"),
	    "5769 request: USERNAME");
	ok(stun_attr_get_u32(stun_msg_get(&m, STUN_ATTR_PRIORITY), &u32) == 0 &&
	    u32 == 0x6e0001ff, "5769 request: PRIORITY");
	ok(stun_attr_get_u64(stun_msg_get(&m, STUN_ATTR_ICE_CONTROLLED),
	    &u64) == 0 && u64 == 0x932ff9b151263b36ULL,
	    "5769 request: ICE-CONTROLLED");
	is_int(m.nunknown, 0, "5769 request: no unknown attributes");
	is_int(m.integrity_idx, 4, "5769 request: MESSAGE-INTEGRITY index");
	is_int(m.fingerprint_idx, 5, "5769 request: FINGERPRINT index");
	ok(stun_msg_check_integrity(&m, (const uint8_t *)short_term_pw,
	    strlen(short_term_pw)), "5769 request: integrity ok");
	ok(!stun_msg_check_integrity(&m,
	    (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22),
	    "5769 request: wrong password fails");
	ok(!stun_msg_check_integrity_sha256(&m, (const uint8_t *)short_term_pw,
	    strlen(short_term_pw)), "5769 request: no MI-SHA256");
	buf[n - 1] ^= 1;
	is_int(stun_msg_parse(buf, n, &m), -1, "5769 request: bad FINGERPRINT");
	is_int(m.err, 0, "5769 request: bad FINGERPRINT is dropped, not 400");

	n = hex(rfc5769_ipv4, buf);
	is_int(stun_msg_parse(buf, n, &m), 80, "5769 ipv4: parses");
	ok(m.cls == STUN_CLASS_SUCCESS && m.method == STUN_METHOD_BINDING,
	    "5769 ipv4: binding success");
	ok(attr_is(&m, STUN_ATTR_SOFTWARE, "test vector"),
	    "5769 ipv4: SOFTWARE");
	want = sa("192.0.2.1", 32853);
	ok(stun_attr_get_addr(&m, stun_msg_get(&m,
	    STUN_ATTR_XOR_MAPPED_ADDRESS), &got) == 0 && same_addr(&got, &want),
	    "5769 ipv4: XOR-MAPPED-ADDRESS 192.0.2.1:32853");
	ok(stun_msg_check_integrity(&m, (const uint8_t *)short_term_pw,
	    strlen(short_term_pw)), "5769 ipv4: integrity ok");
	stun_build_init_tid(&b, rebuilt, sizeof(rebuilt), STUN_METHOD_BINDING,
	    STUN_CLASS_SUCCESS, tid0);
	stun_build_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
	    (struct sockaddr *)&want);
	ok(stun_build_finish(&b) == 32 &&
	    memcmp(rebuilt + 20, buf + 36, 12) == 0,
	    "5769 ipv4: XOR-MAPPED-ADDRESS built byte for byte");

	n = hex(rfc5769_ipv6, buf);
	is_int(stun_msg_parse(buf, n, &m), 92, "5769 ipv6: parses");
	want = sa("2001:db8:1234:5678:11:2233:4455:6677", 32853);
	ok(stun_attr_get_addr(&m, stun_msg_get(&m,
	    STUN_ATTR_XOR_MAPPED_ADDRESS), &got) == 0 && same_addr(&got, &want),
	    "5769 ipv6: XOR-MAPPED-ADDRESS [2001:db8:...:6677]:32853");
	ok(stun_msg_check_integrity(&m, (const uint8_t *)short_term_pw,
	    strlen(short_term_pw)), "5769 ipv6: integrity ok");
	stun_build_init_tid(&b, rebuilt, sizeof(rebuilt), STUN_METHOD_BINDING,
	    STUN_CLASS_SUCCESS, tid0);
	stun_build_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS,
	    (struct sockaddr *)&want);
	ok(stun_build_finish(&b) == 44 &&
	    memcmp(rebuilt + 20, buf + 36, 24) == 0,
	    "5769 ipv6: XOR-MAPPED-ADDRESS built byte for byte");

	n = hex(rfc5769_longterm, buf);
	is_int(stun_msg_parse(buf, n, &m), 116, "5769 long-term: parses");
	ok(attr_is(&m, STUN_ATTR_USERNAME, matrix), "5769 long-term: USERNAME");
	ok(attr_is(&m, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA"),
	    "5769 long-term: NONCE");
	ok(attr_is(&m, STUN_ATTR_REALM, "example.org"),
	    "5769 long-term: REALM");
	is_int(m.fingerprint_idx, -1, "5769 long-term: no FINGERPRINT");
	is_int(stun_longterm_key(matrix, "example.org", "TheMatrIX", key), 0,
	    "5769 long-term: key computed");
	ok(stun_msg_check_integrity(&m, key, 16),
	    "5769 long-term: integrity ok");
	stun_longterm_key(matrix, "example.org", "thematrix", key);
	ok(!stun_msg_check_integrity(&m, key, 16),
	    "5769 long-term: wrong password fails");
	stun_longterm_key(matrix, "example.org", "TheMatrIX", key);
	stun_build_init_tid(&b, rebuilt, sizeof(rebuilt), STUN_METHOD_BINDING,
	    STUN_CLASS_REQUEST, buf + 8);
	stun_build_string(&b, STUN_ATTR_USERNAME, matrix);
	stun_build_string(&b, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA");
	stun_build_string(&b, STUN_ATTR_REALM, "example.org");
	stun_build_integrity(&b, key, 16);
	ok(stun_build_finish(&b) == (ssize_t)n && memcmp(rebuilt, buf, n) == 0,
	    "5769 long-term: rebuilt byte for byte");
	stun_longterm_key_sha256(matrix, "example.org", "TheMatrIX", key256);
	hex("dd295a613b9058c3c23d6dc7165bda072304d989c9d0af3a8c7e184b4f9bb4a1",
	    rebuilt);
	is_mem(key256, rebuilt, 32, "long-term SHA-256 key");
	is_int(stun_crc32((const uint8_t *)"123456789", 9), 0xcbf43926,
	    "CRC-32 check value");
}

static void
test_types(void)
{
	is_int(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_REQUEST), 0x0001,
	    "type: binding request");
	is_int(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_SUCCESS), 0x0101,
	    "type: binding success");
	is_int(stun_msg_type(STUN_METHOD_BINDING, STUN_CLASS_ERROR), 0x0111,
	    "type: binding error");
	is_int(stun_msg_type(STUN_METHOD_ALLOCATE, STUN_CLASS_SUCCESS), 0x0103,
	    "type: allocate success");
	is_int(stun_msg_type(STUN_METHOD_SEND, STUN_CLASS_INDICATION), 0x0016,
	    "type: send indication");
	is_int(stun_msg_type(STUN_METHOD_DATA, STUN_CLASS_INDICATION), 0x0017,
	    "type: data indication");
	is_int(stun_msg_type(STUN_METHOD_CHANNEL_BIND, STUN_CLASS_ERROR),
	    0x0119, "type: channel-bind error");
	is_int(stun_msg_type(0xfff, STUN_CLASS_ERROR), 0x3fff,
	    "type: all bits");
	is_int(stun_type_method(0x3fff), 0xfff, "method from type");
	is_int(stun_type_class(0x0110), STUN_CLASS_ERROR, "class from type");
	is_str(stun_error_reason(438), "Stale Nonce", "reason: 438");
	is_str(stun_error_reason(299), "", "reason: unknown code");
}

/* A request with the given extra attribute bytes, 12-byte tid. */
static size_t
mkreq(uint8_t *buf, uint16_t method, uint8_t cls, const char *attrs_hex)
{
	uint8_t	attrs[512];
	size_t	n = attrs_hex ? hex(attrs_hex, attrs) : 0;

	buf[0] = stun_msg_type(method, cls) >> 8;
	buf[1] = stun_msg_type(method, cls) & 0xff;
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	hex("2112a442", buf + 4);
	memcpy(buf + 8, tid0, 12);
	memcpy(buf + 20, attrs, n);
	return 20 + n;
}

static void
test_roundtrip(void)
{
	static const uint16_t	 unk[] = { 0x0002, 0x7ffe, 0x0027 };
	struct stun_builder	 b;
	struct stun_msg		 m;
	struct sockaddr_storage	 a4 = sa("203.0.113.7", 1), a6, mapped, got;
	uint8_t			 buf[512], key[] = "secret";
	uint16_t		 types[8];
	const char		*reason;
	size_t			 rlen;
	ssize_t			 n;
	uint32_t		 u32;
	int			 code;

	a6 = sa("2001:db8::1", 65535);
	mapped = sa("::ffff:192.0.2.9", 9);
	stun_build_init_tid(&b, buf, sizeof(buf), STUN_METHOD_ALLOCATE,
	    STUN_CLASS_ERROR, tid0);
	stun_build_error_code(&b, 438, NULL);
	stun_build_unknown_attrs(&b, unk, 3);
	stun_build_addr(&b, STUN_ATTR_XOR_PEER_ADDRESS, (struct sockaddr *)&a4);
	stun_build_addr(&b, STUN_ATTR_XOR_RELAYED_ADDRESS,
	    (struct sockaddr *)&a6);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&a6);
	stun_build_addr(&b, STUN_ATTR_ALTERNATE_SERVER,
	    (struct sockaddr *)&mapped);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 600);
	stun_build_attr(&b, STUN_ATTR_DATA, "abcde", 5);
	stun_build_integrity(&b, key, 6);
	stun_build_integrity_sha256(&b, key, 6);
	stun_build_fingerprint(&b);
	n = stun_build_finish(&b);
	ok(n > 0 && n % 4 == 0, "build: length multiple of 4");
	is_int(parse_exact(buf, (size_t)n, &m), n, "build: parses back");
	is_int(m.type, 0x0113, "build: allocate error type");
	ok(memcmp(m.tid, tid0, 12) == 0, "build: tid kept");
	ok(stun_attr_get_error_code(stun_msg_get(&m, STUN_ATTR_ERROR_CODE),
	    &code, &reason, &rlen) == 0 && code == 438 && rlen == 11 &&
	    memcmp(reason, "Stale Nonce", 11) == 0, "build: ERROR-CODE 438");
	ok(stun_attr_get_unknown(stun_msg_get(&m,
	    STUN_ATTR_UNKNOWN_ATTRIBUTES), types, 8) == 3 && types[0] == 2 &&
	    types[1] == 0x7ffe && types[2] == 0x0027,
	    "build: UNKNOWN-ATTRIBUTES");
	ok(stun_attr_get_addr(&m, stun_msg_get(&m, STUN_ATTR_XOR_PEER_ADDRESS),
	    &got) == 0 && same_addr(&got, &a4), "build: XOR-PEER-ADDRESS v4");
	ok(stun_attr_get_addr(&m, stun_msg_get(&m,
	    STUN_ATTR_XOR_RELAYED_ADDRESS), &got) == 0 && same_addr(&got, &a6),
	    "build: XOR-RELAYED-ADDRESS v6");
	ok(stun_attr_get_addr(&m, stun_msg_get(&m, STUN_ATTR_MAPPED_ADDRESS),
	    &got) == 0 && same_addr(&got, &a6), "build: MAPPED-ADDRESS v6");
	mapped = sa("192.0.2.9", 9);
	ok(stun_attr_get_addr(&m, stun_msg_get(&m, STUN_ATTR_ALTERNATE_SERVER),
	    &got) == 0 && same_addr(&got, &mapped),
	    "build: v4-mapped v6 written as v4");
	ok(stun_attr_get_u32(stun_msg_get(&m, STUN_ATTR_LIFETIME), &u32) == 0 &&
	    u32 == 600, "build: LIFETIME");
	ok(attr_is(&m, STUN_ATTR_DATA, "abcde") &&
	    stun_msg_get(&m, STUN_ATTR_DATA)->val[5] == 0,
	    "build: DATA padded with zeros");
	ok(stun_msg_check_integrity(&m, key, 6), "build: MESSAGE-INTEGRITY");
	ok(stun_msg_check_integrity_sha256(&m, key, 6),
	    "build: MESSAGE-INTEGRITY-SHA256");
	ok(!stun_msg_check_integrity_sha256(&m, key, 5),
	    "build: MESSAGE-INTEGRITY-SHA256 wrong key");
	ok(m.fingerprint_idx == (int)m.nattrs - 1, "build: FINGERPRINT last");
	is_int(m.nunknown, 0, "build: all attributes known");

	/* Empty key and a key longer than an HMAC block. */
	stun_build_init_tid(&b, buf, sizeof(buf), 1, 0, tid0);
	stun_build_integrity(&b, (const uint8_t *)"", 0);
	n = stun_build_finish(&b);
	ok(n > 0 && parse_exact(buf, (size_t)n, &m) == n &&
	    stun_msg_check_integrity(&m, (const uint8_t *)"", 0) &&
	    !stun_msg_check_integrity(&m, (const uint8_t *)"x", 1),
	    "build: empty HMAC key");
	memset(key, 'k', sizeof(key));
	stun_build_init_tid(&b, buf, sizeof(buf), 1, 0, tid0);
	stun_build_integrity(&b, (const uint8_t *)short_term_pw, 22);
	stun_build_integrity(&b, buf + 100, 100);	/* ignored on parse */
	n = stun_build_finish(&b);
	ok(n == 68 && parse_exact(buf, (size_t)n, &m) == n && m.nattrs == 1 &&
	    stun_msg_check_integrity(&m, (const uint8_t *)short_term_pw, 22),
	    "build: second MESSAGE-INTEGRITY ignored");

	/* Overflow: everything that does not fit makes finish fail. */
	stun_build_init_tid(&b, buf, 19, 1, 0, tid0);
	is_int(stun_build_finish(&b), -1, "build: cap below header");
	stun_build_init_tid(&b, buf, 27, 1, 0, tid0);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 1);
	is_int(stun_build_finish(&b), -1, "build: attribute does not fit");
	stun_build_init_tid(&b, buf, 28, 1, 0, tid0);
	stun_build_u32(&b, STUN_ATTR_LIFETIME, 1);
	is_int(stun_build_finish(&b), 28, "build: attribute fits exactly");
	stun_build_fingerprint(&b);
	is_int(stun_build_finish(&b), -1, "build: FINGERPRINT does not fit");
	stun_build_init_tid(&b, buf, sizeof(buf), 1, 0, tid0);
	stun_build_error_code(&b, 200, NULL);
	is_int(stun_build_finish(&b), -1, "build: error code 200 refused");
	memset(&got, 0, sizeof(got));
	stun_build_init_tid(&b, buf, sizeof(buf), 1, 0, tid0);
	stun_build_addr(&b, STUN_ATTR_MAPPED_ADDRESS, (struct sockaddr *)&got);
	is_int(stun_build_finish(&b), -1, "build: AF_UNSPEC address refused");
}

/* Truncated SHA-256 integrity (RFC 8489 §14.6), built by hand. */
static void
test_sha256_truncated(void)
{
	struct stun_builder	b;
	struct stun_msg		m;
	uint8_t			buf[128], mac[32];
	unsigned int		maclen = 0;
	size_t			off;

	stun_build_init_tid(&b, buf, sizeof(buf), 1, 0, tid0);
	stun_build_string(&b, STUN_ATTR_USERNAME, "alice");
	off = b.len;
	buf[off] = 0x00;
	buf[off + 1] = 0x1c;
	buf[off + 2] = 0;
	buf[off + 3] = 16;
	buf[2] = 0;
	buf[3] = (uint8_t)(off + 20 - 20);
	HMAC(EVP_sha256(), "pw", 2, buf, off, mac, &maclen);
	memcpy(buf + off + 4, mac, 16);
	ok(parse_exact(buf, off + 20, &m) == (ssize_t)(off + 20) &&
	    m.integrity256_idx == 1 &&
	    stun_msg_check_integrity_sha256(&m, (const uint8_t *)"pw", 2),
	    "MI-SHA256 truncated to 16 bytes verifies");
	buf[off + 4] ^= 1;
	ok(parse_exact(buf, off + 20, &m) > 0 &&
	    !stun_msg_check_integrity_sha256(&m, (const uint8_t *)"pw", 2),
	    "MI-SHA256 truncated, altered, fails");
}

static void
test_malformed(void)
{
	struct stun_msg	m;
	uint8_t		buf[1024], *copy;
	size_t		n, i, len, l;
	int		k;
	ssize_t		r;

	n = mkreq(buf, 1, 0, NULL);
	is_int(parse_exact(buf, 19, &m), -1, "malformed: 19 bytes");
	buf[0] = 0x80;
	is_int(parse_exact(buf, n, &m), -1, "malformed: first bit set");
	buf[0] = 0x40;
	is_int(parse_exact(buf, n, &m), -1, "malformed: second bit set");
	is_int(m.err, 0, "malformed: not STUN, no error code");
	n = mkreq(buf, 1, 0, "8022 0002 6162 0000");
	buf[3] = 6;
	is_int(parse_exact(buf, n, &m), -1, "malformed: length not 4-aligned");
	buf[3] = 12;
	is_int(parse_exact(buf, n, &m), -1, "malformed: length beyond buffer");
	n = mkreq(buf, 1, 0, "8022 0005 6162 0000");
	is_int(parse_exact(buf, n, &m), -1, "malformed: attribute overruns");
	is_int(m.err, 400, "malformed: attribute overrun is a 400");
	ok(m.method == 1 && memcmp(m.tid, tid0, 12) == 0,
	    "malformed: header fields still valid");
	n = mkreq(buf, 1, 0, "0008 0010 00000000 00000000 00000000 00000000");
	is_int(parse_exact(buf, n, &m), -1, "malformed: MI of 16 bytes");
	n = mkreq(buf, 1, 0, "001c 000c 00000000 00000000 00000000");
	is_int(parse_exact(buf, n, &m), -1, "malformed: MI-SHA256 of 12 bytes");
	n = mkreq(buf, 1, 0, "001c 0012 00000000 00000000 00000000 00000000"
	    "0000 0000");
	is_int(parse_exact(buf, n, &m), -1, "malformed: MI-SHA256 of 18 bytes");
	n = mkreq(buf, 1, 0, "8028 0008 00000000 00000000");
	is_int(parse_exact(buf, n, &m), -1,
	    "malformed: FINGERPRINT of 8 bytes");
	n = mkreq(buf, 1, 0, "8028 0000");
	is_int(parse_exact(buf, n, &m), -1,
	    "malformed: FINGERPRINT of 0 bytes");

	/* 40 attributes parse, 41 do not. */
	len = mkreq(buf, 1, 0, NULL);
	for (k = 0; k < 41; k++) {
		hex("8022 0000", buf + len);
		len += 4;
		buf[3] = (uint8_t)(len - 20);
		r = parse_exact(buf, len, &m);
		if (k == 39)
			is_int(r, (ssize_t)len, "40 attributes parse");
	}
	is_int(r, -1, "41 attributes do not");

	/* FINGERPRINT must be last; what follows MESSAGE-INTEGRITY is not. */
	n = hex(rfc5769_request, buf);
	hex("8022 0000", buf + n);
	buf[3] += 4;
	is_int(parse_exact(buf, n + 4, &m), -1,
	    "malformed: FINGERPRINT not last");
	n = hex(rfc5769_request, buf) - 8;	/* without FINGERPRINT */
	hex("0013 0003 616263 00 0003 0004 00000006 0008 0000", buf + n);
	buf[3] = (uint8_t)(n + 20 - 20);
	is_int(parse_exact(buf, n + 20, &m), (ssize_t)n + 20,
	    "after MESSAGE-INTEGRITY: parses");
	ok(m.nattrs == 5 && stun_msg_get(&m, STUN_ATTR_DATA) == NULL &&
	    stun_msg_get(&m, STUN_ATTR_CHANGE_REQUEST) == NULL,
	    "after MESSAGE-INTEGRITY: attributes ignored");
	buf[3] = (uint8_t)(n - 20);
	ok(parse_exact(buf, n, &m) > 0 && stun_msg_check_integrity(&m,
	    (const uint8_t *)short_term_pw, strlen(short_term_pw)),
	    "after MESSAGE-INTEGRITY: integrity still ok");

	/* Unknown comprehension-required attributes are listed once. */
	n = mkreq(buf, 1, 0,
	    "0002 0000 7fff 0000 8abc 0000 0002 0000 0027 0000");
	ok(parse_exact(buf, n, &m) > 0 && m.nunknown == 3 &&
	    m.unknown[0] == 2 && m.unknown[1] == 0x7fff && m.unknown[2] == 0x27,
	    "unknown: comprehension-required listed once");

	/* Every prefix of every vector: -1, never a read past the end. */
	k = 0;
	for (i = 0; i < 4; i++) {
		const char *v[] = { rfc5769_request, rfc5769_ipv4,
		    rfc5769_ipv6, rfc5769_longterm };
		n = hex(v[i], buf);
		for (l = 0; l < n; l++)
			if (parse_exact(buf, l, &m) != -1 ||
			    (l >= 4 && stun_frame_len(buf, l) != (ssize_t)n) ||
			    (l < 4 && stun_frame_len(buf, l) != 0))
				k++;
	}
	is_int(k, 0, "truncated: every prefix of the vectors rejected");

	/* Every length field on a full vector, and every bit flipped. */
	n = hex(rfc5769_request, buf);
	copy = malloc(n);
	for (l = 0; l <= 0xff; l++) {
		memcpy(copy, buf, n);
		copy[3] = (uint8_t)l;
		(void)stun_msg_parse(copy, n, &m);
	}
	k = 0;
	for (i = 0; i < n * 8; i++) {
		memcpy(copy, buf, n);
		copy[i / 8] ^= (uint8_t)(1 << (i % 8));
		/* A flip may hide FINGERPRINT (length, type), never pass it. */
		if (stun_msg_parse(copy, n, &m) != -1 &&
		    m.fingerprint_idx != -1)
			k++;
	}
	free(copy);
	is_int(k, 0, "bit flips: no altered message passes FINGERPRINT");
}

static struct stun_server_opts	opts0 = { false, false, true, NULL };

/* Run the dispatcher and parse its answer into r (which points into out). */
static ssize_t
serve(const struct stun_server_opts *o, const uint8_t *pkt, size_t len,
    const struct sockaddr_storage *src, uint8_t *out, size_t cap,
    struct stun_msg *r)
{
	uint8_t	*copy = malloc(len ? len : 1);
	ssize_t	 n;

	memcpy(copy, pkt, len);
	n = stun_server_handle(o, copy, len, (const struct sockaddr *)src,
	    out, cap);
	free(copy);
	memset(r, 0, sizeof(*r));
	if (n > 0 && stun_msg_parse(out, (size_t)n, r) != n)
		return -2;	/* we built something unparseable */
	return n;
}

static void
test_server_binding(void)
{
	struct stun_server_opts	 o = opts0;
	struct stun_msg		 r;
	struct sockaddr_storage	 src4 = sa("198.51.100.7", 5000), got;
	struct sockaddr_storage	 src6 = sa("2001:db8::7", 61000);
	struct sockaddr_storage	 srcm = sa("::ffff:198.51.100.7", 5000);
	uint8_t			 req[512], out[1500];
	size_t			 n;
	ssize_t			 rn;

	n = mkreq(req, 1, 0, NULL);
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	is_int(rn, 32, "binding v4: 32-byte answer");
	ok(r.type == 0x0101 && !r.classic && memcmp(r.tid, tid0, 12) == 0,
	    "binding v4: success, same tid");
	ok(stun_attr_get_addr(&r, stun_msg_get(&r,
	    STUN_ATTR_XOR_MAPPED_ADDRESS), &got) == 0 && same_addr(&got, &src4),
	    "binding v4: XOR-MAPPED-ADDRESS is the source");
	ok(stun_msg_get(&r, STUN_ATTR_MAPPED_ADDRESS) == NULL &&
	    stun_msg_get(&r, STUN_ATTR_SOFTWARE) == NULL &&
	    r.fingerprint_idx == -1, "binding v4: nothing else by default");
	rn = serve(&o, req, n, &src6, out, sizeof(out), &r);
	ok(rn == 44 && stun_attr_get_addr(&r, stun_msg_get(&r,
	    STUN_ATTR_XOR_MAPPED_ADDRESS), &got) == 0 && same_addr(&got, &src6),
	    "binding v6: XOR-MAPPED-ADDRESS is the source");
	rn = serve(&o, req, n, &srcm, out, sizeof(out), &r);
	ok(rn == 32 && stun_attr_get_addr(&r, stun_msg_get(&r,
	    STUN_ATTR_XOR_MAPPED_ADDRESS), &got) == 0 && same_addr(&got, &src4),
	    "binding v4-mapped source: answered as IPv4");

	o.fingerprint = true;
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn == 40 && r.fingerprint_idx == 1, "binding: fingerprint option");
	o.fingerprint = false;
	o.software = true;
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn > 32 && stun_msg_get(&r, STUN_ATTR_SOFTWARE) != NULL &&
	    memcmp(stun_msg_get(&r, STUN_ATTR_SOFTWARE)->val, "turnpike/", 9) ==
	    0, "binding: software option");
	o.software_name = "example/1";
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn > 0 && attr_is(&r, STUN_ATTR_SOFTWARE, "example/1"),
	    "binding: software name");
	o = opts0;

	n = hex(rfc5769_request, req);
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn == 40 && r.cls == STUN_CLASS_SUCCESS && r.fingerprint_idx == 1 &&
	    memcmp(r.tid, tid0, 12) == 0,
	    "binding: 5769 request answered, FINGERPRINT echoed");
	rn = serve(&o, req, n, &src4, out, 39, &r);
	is_int(rn, -1, "binding: answer does not fit");
	rn = serve(&o, req, n - 1, &src4, out, sizeof(out), &r);
	is_int(rn, -1, "binding: datagram shorter than its length");
	req[n] = 0;
	rn = serve(&o, req, n + 1, &src4, out, sizeof(out), &r);
	is_int(rn, -1, "binding: trailing byte after the message");

	n = mkreq(req, 1, 0,
	    "0002 0008 0001 1234 01020304 7ffe 0000 8abc 0000");
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn > 0 && r.type == 0x0111 && error_code(&r) == 420,
	    "unknown attributes: 420");
	ok(stun_msg_get(&r, STUN_ATTR_UNKNOWN_ATTRIBUTES) != NULL &&
	    stun_msg_get(&r, STUN_ATTR_UNKNOWN_ATTRIBUTES)->len == 4 &&
	    memcmp(stun_msg_get(&r, STUN_ATTR_UNKNOWN_ATTRIBUTES)->val,
	    "\x00\x02\x7f\xfe", 4) == 0, "unknown attributes: listed");
	n = mkreq(req, 1, 0, "8abc 0001 ff000000");
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn == 32 && r.cls == STUN_CLASS_SUCCESS,
	    "comprehension-optional unknown: ignored");

	n = mkreq(req, 1, 0, "0003 0004 00000006");
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn > 0 && error_code(&r) == 420 && stun_msg_get(&r,
	    STUN_ATTR_UNKNOWN_ATTRIBUTES) != NULL && memcmp(stun_msg_get(&r,
	    STUN_ATTR_UNKNOWN_ATTRIBUTES)->val, "\x00\x03", 2) == 0,
	    "CHANGE-REQUEST change ip+port: 420 (RFC 5780 §6.1)");
	/* turnutils_stunclient -f: RESPONSE-PORT and CHANGE-REQUEST. */
	n = mkreq(req, 1, 0, "0027 0004 98410000 0003 0004 00000006");
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn > 0 && error_code(&r) == 420 && stun_msg_get(&r,
	    STUN_ATTR_UNKNOWN_ATTRIBUTES)->len == 4 && memcmp(stun_msg_get(&r,
	    STUN_ATTR_UNKNOWN_ATTRIBUTES)->val, "\x00\x27\x00\x03", 4) == 0,
	    "RESPONSE-PORT + CHANGE-REQUEST: 420 lists both");
	n = mkreq(req, 1, 0, "0003 0004 00000000");
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn == 32 && r.cls == STUN_CLASS_SUCCESS,
	    "CHANGE-REQUEST changing nothing: answered");
	n = mkreq(req, 1, 0, "0003 0008 00000000 00000000");
	rn = serve(&o, req, n, &src4, out, sizeof(out), &r);
	ok(rn > 0 && error_code(&r) == 400, "CHANGE-REQUEST of 8 bytes: 400");
}

static void
test_server_classic(void)
{
	struct stun_server_opts	 o = opts0;
	struct stun_msg		 r;
	struct sockaddr_storage	 src = sa("198.51.100.7", 28591), got;
	uint8_t			 req[256], out[1500];
	size_t			 n;
	ssize_t			 rn;

	o.fingerprint = true;
	n = hex(classic_test1, req);
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn == 32 && r.classic && r.type == 0x0101,
	    "classic test I: success, no FINGERPRINT");
	ok(memcmp(out + 4, req + 4, 16) == 0, "classic: 16-byte id echoed");
	ok(stun_attr_get_addr(&r, stun_msg_get(&r, STUN_ATTR_MAPPED_ADDRESS),
	    &got) == 0 && same_addr(&got, &src), "classic: MAPPED-ADDRESS");
	ok(stun_msg_get(&r, STUN_ATTR_XOR_MAPPED_ADDRESS) == NULL,
	    "classic: no XOR-MAPPED-ADDRESS");
	o.software = true;
	o.software_name = "abcde";
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn == 44 && attr_is(&r, STUN_ATTR_SOFTWARE, "abcde   "),
	    "classic: SOFTWARE padded with spaces");
	o.software = false;
	n = hex(classic_test2, req);
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), 0,
	    "classic test II (change IP): no answer");
	n = hex(classic_test3, req);
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), 0,
	    "classic test III (change port): no answer");
	n = hex("0001 0000 00112233 44556677 8899aabb ccddeeff", req);
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn == 32 && r.classic && memcmp(out + 4, req + 4, 16) == 0,
	    "classic without attributes: answered");
	o.classic = false;
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), 0,
	    "classic disabled: no answer");
	o.classic = true;
	n = hex("0001 0004 00112233 44556677 8899aabb ccddeeff 0002 0000", req);
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn > 0 && r.classic && error_code(&r) == 420 &&
	    stun_msg_get(&r, STUN_ATTR_UNKNOWN_ATTRIBUTES)->len == 4 &&
	    memcmp(stun_msg_get(&r, STUN_ATTR_UNKNOWN_ATTRIBUTES)->val,
	    "\x00\x02\x00\x02", 4) == 0 && r.fingerprint_idx == -1,
	    "classic 420: odd list padded by repeating (RFC 3489)");
	ok(stun_msg_get(&r, STUN_ATTR_ERROR_CODE)->len == 24 &&
	    memcmp(stun_msg_get(&r, STUN_ATTR_ERROR_CODE)->val,
	    "\x00\x00\x04\x14Unknown Attribute   ", 24) == 0,
	    "classic 420: reason padded with spaces");
}

static void
test_server_other(void)
{
	struct stun_server_opts	 o = opts0;
	struct stun_msg		 r;
	struct sockaddr_storage	 src = sa("198.51.100.7", 5000);
	uint8_t			 req[256], out[1500];
	size_t			 n;
	ssize_t			 rn;

	n = mkreq(req, STUN_METHOD_ALLOCATE, 0, "0019 0004 11000000");
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn > 0 && r.type == 0x0113 && error_code(&r) == 400,
	    "allocate: 400 for now");
	n = mkreq(req, STUN_METHOD_ALLOCATE, 0, "7f00 0000");
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn > 0 && error_code(&r) == 420, "allocate, unknown attribute: 420");
	n = mkreq(req, STUN_METHOD_BINDING, STUN_CLASS_INDICATION, NULL);
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), 0,
	    "binding indication: no answer");
	n = mkreq(req, STUN_METHOD_BINDING, STUN_CLASS_SUCCESS, NULL);
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), 0,
	    "binding response: no answer");
	n = mkreq(req, STUN_METHOD_SEND, STUN_CLASS_INDICATION, "7f00 0000");
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), 0,
	    "send indication with unknown attribute: no answer");
	n = mkreq(req, 1, 0, "0008 0004 00000000");
	rn = serve(&o, req, n, &src, out, sizeof(out), &r);
	ok(rn > 0 && error_code(&r) == 400 && memcmp(r.tid, tid0, 12) == 0,
	    "request with malformed MESSAGE-INTEGRITY: 400");
	n = mkreq(req, 1, STUN_CLASS_SUCCESS, "0008 0004 00000000");
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), -1,
	    "malformed response: dropped");
	n = hex("16 03 01 00 a5 01 00 00 a1 03 03 00 00 00 00 00 00 00 00 00",
	    req);
	is_int(serve(&o, req, n, &src, out, sizeof(out), &r), -1,
	    "TLS ClientHello: dropped");
	is_int(serve(&o, req, 0, &src, out, sizeof(out), &r), -1,
	    "empty datagram: dropped");
}

static void
test_frame(void)
{
	uint8_t		 buf[64], out[64];
	const uint8_t	*data;
	uint16_t	 chan, dlen;

	hex("0001 0008 2112a442", buf);
	is_int(stun_frame_len(buf, 0), 0, "frame: 0 bytes");
	is_int(stun_frame_len(buf, 3), 0, "frame: 3 bytes");
	is_int(stun_frame_len(buf, 4), 28, "frame: STUN 20 + 8");
	buf[3] = 6;
	is_int(stun_frame_len(buf, 8), -1, "frame: STUN length not aligned");
	hex("4001 0005", buf);
	is_int(stun_frame_len(buf, 4), 12, "frame: ChannelData 5 -> 12");
	hex("7fff 0000", buf);
	is_int(stun_frame_len(buf, 4), 4, "frame: ChannelData empty");
	hex("4000 0008", buf);
	is_int(stun_frame_len(buf, 4), 12, "frame: ChannelData 8 -> 12");
	hex("8000 0000", buf);
	is_int(stun_frame_len(buf, 4), -1, "frame: 0x80 is garbage");
	hex("4745 5420", buf);	/* "GET " */
	is_int(stun_frame_len(buf, 4), 4 + 0x5420,
	    "frame: \"GET \" looks like ChannelData 0x4745");
	hex("1603 0100", buf);
	is_int(stun_frame_len(buf, 4), 20 + 0x100,
	    "frame: TLS looks like STUN");
	hex("c000 0000", buf);
	is_int(stun_frame_len(buf, 4), -1, "frame: 0xc0 is garbage");

	is_int(stun_channeldata_build(out, sizeof(out), 0x4001,
	    (const uint8_t *)"hello", 5, false), 9, "channeldata: build 9");
	ok(stun_channeldata_parse(out, 9, &chan, &data, &dlen) == 0 &&
	    chan == 0x4001 && dlen == 5 && memcmp(data, "hello", 5) == 0,
	    "channeldata: parse back");
	memset(out, 0xee, sizeof(out));
	is_int(stun_channeldata_build(out, sizeof(out), 0x4fff,
	    (const uint8_t *)"hello", 5, true), 12, "channeldata: padded 12");
	ok(out[9] == 0 && out[10] == 0 && out[11] == 0,
	    "channeldata: zero padding");
	ok(stun_channeldata_parse(out, 12, &chan, &data, &dlen) == 0 &&
	    dlen == 5, "channeldata: padding ignored");
	is_int(stun_channeldata_parse(out, 8, &chan, &data, &dlen), -1,
	    "channeldata: data beyond buffer");
	is_int(stun_channeldata_parse(out, 3, &chan, &data, &dlen), -1,
	    "channeldata: 3 bytes");
	hex("3fff 0000", buf);
	is_int(stun_channeldata_parse(buf, 4, &chan, &data, &dlen), -1,
	    "channeldata: channel 0x3fff");
	hex("8000 0000", buf);
	is_int(stun_channeldata_parse(buf, 4, &chan, &data, &dlen), -1,
	    "channeldata: channel 0x8000");
	is_int(stun_channeldata_build(out, 11, 0x4001,
	    (const uint8_t *)"hello", 5, true), -1, "channeldata: no room");
	is_int(stun_channeldata_build(out, sizeof(out), 0x3fff,
	    (const uint8_t *)"x", 1, false), -1, "channeldata: bad channel");
	is_int(stun_channeldata_build(out, 70000, 0x4000, out + 4, 65536,
	    false), -1, "channeldata: too long");
	memcpy(out + 4, "in place", 8);
	ok(stun_channeldata_build(out, sizeof(out), 0x4002, out + 4, 8,
	    true) == 12 && memcmp(out + 4, "in place", 8) == 0 &&
	    out[0] == 0x40 && out[1] == 0x02 && out[3] == 8,
	    "channeldata: data already in place");
}

int
main(void)
{
	test_rfc5769();
	test_types();
	test_roundtrip();
	test_sha256_truncated();
	test_malformed();
	test_server_binding();
	test_server_classic();
	test_server_other();
	test_frame();
	free(exact_copy);
	return tap_done();
}
