/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * STUN message parser and builder (RFC 8489, RFC 5389, RFC 3489 classic)
 * and the attribute decoders. Pure: bytes in, struct out; the builder
 * writes into the caller's buffer. HMAC and CRC live in stun_integrity.c.
 */
#include <string.h>

#include "stun_msg.h"

static uint16_t
stun_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
stun_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
stun_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
stun_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0. */
uint16_t
stun_msg_type(uint16_t method, uint8_t cls)
{
	return (method & 0x000f) | (method & 0x0070) << 1 |
	    (method & 0x0f80) << 2 | (cls & 1) << 4 | (cls & 2) << 7;
}

uint16_t
stun_type_method(uint16_t type)
{
	return (type & 0x000f) | (type & 0x00e0) >> 1 | (type & 0x3e00) >> 2;
}

uint8_t
stun_type_class(uint16_t type)
{
	return (type >> 4 & 1) | (type >> 7 & 2);
}

/*
 * The comprehension-required attributes we understand. RFC 3489's
 * RESPONSE-ADDRESS, PASSWORD and REFLECTED-FROM, RFC 5780's PADDING and
 * RESPONSE-PORT and RFC 7635's ACCESS-TOKEN are not: a request carrying
 * them gets 420 (RFC 5389 §12.2).
 */
bool
stun_attr_known(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_CHANGE_REQUEST:
	case STUN_ATTR_SOURCE_ADDRESS:
	case STUN_ATTR_CHANGED_ADDRESS:
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_MESSAGE_INTEGRITY:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case STUN_ATTR_CHANNEL_NUMBER:
	case STUN_ATTR_LIFETIME:
	case STUN_ATTR_XOR_PEER_ADDRESS:
	case STUN_ATTR_DATA:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case STUN_ATTR_XOR_RELAYED_ADDRESS:
	case STUN_ATTR_REQUESTED_ADDRESS_FAMILY:
	case STUN_ATTR_EVEN_PORT:
	case STUN_ATTR_REQUESTED_TRANSPORT:
	case STUN_ATTR_DONT_FRAGMENT:
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
	case STUN_ATTR_PASSWORD_ALGORITHM:
	case STUN_ATTR_USERHASH:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case STUN_ATTR_RESERVATION_TOKEN:
	case STUN_ATTR_PRIORITY:
	case STUN_ATTR_USE_CANDIDATE:
	case STUN_ATTR_CONNECTION_ID:
		return true;
	default:
		return type >= 0x8000;
	}
}

static void
stun_msg_add_unknown(struct stun_msg *msg, uint16_t type)
{
	size_t	i;

	for (i = 0; i < msg->nunknown; i++)
		if (msg->unknown[i] == type)
			return;
	if (msg->nunknown < STUN_MAX_UNKNOWN)
		msg->unknown[msg->nunknown++] = type;
}

/* Size rules for the attributes the parser itself relies on. */
static int
stun_msg_check_size(uint16_t type, uint16_t len)
{
	switch (type) {
	case STUN_ATTR_MESSAGE_INTEGRITY:
		return len == STUN_HMAC_SHA1_LEN ? 0 : -1;
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
		/* RFC 8489 §14.6: 16 to 32 bytes, a multiple of 4. */
		return len >= 16 && len <= 32 && len % 4 == 0 ? 0 : -1;
	case STUN_ATTR_FINGERPRINT:
		return len == 4 ? 0 : -1;
	default:
		return 0;
	}
}

/* Header checks; fills the header fields of msg. */
static ssize_t
stun_msg_parse_header(const uint8_t *buf, size_t len, struct stun_msg *msg)
{
	size_t	mlen;

	if (len < STUN_HEADER_LEN || (buf[0] & 0xc0) != 0)
		return -1;
	mlen = stun_get16(buf + 2);
	if (mlen % 4 != 0 || STUN_HEADER_LEN + mlen > len)
		return -1;
	msg->type = stun_get16(buf);
	msg->method = stun_type_method(msg->type);
	msg->cls = stun_type_class(msg->type);
	msg->classic = stun_get32(buf + 4) != STUN_MAGIC_COOKIE;
	msg->tid_len = msg->classic ? STUN_CLASSIC_TID_LEN : STUN_TID_LEN;
	memcpy(msg->tid, buf + STUN_HEADER_LEN - msg->tid_len, msg->tid_len);
	msg->raw = buf;
	msg->len = STUN_HEADER_LEN + mlen;
	return (ssize_t)msg->len;
}

ssize_t
stun_msg_parse(const uint8_t *buf, size_t len, struct stun_msg *msg)
{
	const uint8_t	*p;
	size_t		 off, alen, padded, end;
	uint16_t	 type;
	bool		 mi = false, mi256 = false;

	memset(msg, 0, sizeof(*msg));
	msg->integrity_idx = msg->integrity256_idx = msg->fingerprint_idx = -1;
	if (stun_msg_parse_header(buf, len, msg) == -1)
		return -1;
	msg->err = 400;
	end = msg->len;
	for (off = STUN_HEADER_LEN; off < end; off += 4 + padded) {
		p = buf + off;
		type = stun_get16(p);
		alen = stun_get16(p + 2);
		padded = (alen + 3) & ~(size_t)3;
		if (off + 4 + padded > end)
			return -1;
		if (msg->fingerprint_idx != -1)
			return -1;	/* FINGERPRINT must be last */
		if (type != STUN_ATTR_FINGERPRINT && (mi256 || (mi &&
		    type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256)))
			continue;	/* RFC 8489 §14.5, §14.6: ignored */
		if (stun_msg_check_size(type, alen) == -1)
			return -1;
		if (type == STUN_ATTR_FINGERPRINT &&
		    (stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR) !=
		    stun_get32(p + 4)) {
			msg->err = 0;	/* RFC 8489 §7.3: discard */
			return -1;
		}
		if (msg->nattrs == STUN_MAX_ATTRS)
			return -1;
		if (type == STUN_ATTR_FINGERPRINT)
			msg->fingerprint_idx = (int)msg->nattrs;
		else if (type == STUN_ATTR_MESSAGE_INTEGRITY) {
			msg->integrity_idx = (int)msg->nattrs;
			mi = true;
		} else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256) {
			msg->integrity256_idx = (int)msg->nattrs;
			mi256 = true;
		} else if (!stun_attr_known(type))
			stun_msg_add_unknown(msg, type);
		msg->attrs[msg->nattrs].type = type;
		msg->attrs[msg->nattrs].len = (uint16_t)alen;
		msg->attrs[msg->nattrs].val = p + 4;
		msg->nattrs++;
	}
	msg->err = 0;
	return (ssize_t)msg->len;
}

int
stun_msg_find(const struct stun_msg *msg, uint16_t type)
{
	size_t	i;

	for (i = 0; i < msg->nattrs; i++)
		if (msg->attrs[i].type == type)
			return (int)i;
	return -1;
}

const struct stun_attr *
stun_msg_get(const struct stun_msg *msg, uint16_t type)
{
	int	i;

	if ((i = stun_msg_find(msg, type)) == -1)
		return NULL;
	return &msg->attrs[i];
}

static bool
stun_attr_is_xor(uint16_t type)
{
	return type == STUN_ATTR_XOR_MAPPED_ADDRESS ||
	    type == STUN_ATTR_XOR_PEER_ADDRESS ||
	    type == STUN_ATTR_XOR_RELAYED_ADDRESS;
}

/*
 * The XOR key is the 16 header bytes after the length field: magic cookie
 * plus transaction id (RFC 8489 §14.2). For an RFC 3489 message that is
 * its 16-byte id, which keeps parser and builder symmetric.
 */
int
stun_attr_get_addr(const struct stun_msg *msg, const struct stun_attr *a,
    struct sockaddr_storage *out)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)out;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)out;
	const uint8_t		*key = msg->raw + 4;
	uint8_t			 ip[16];
	uint16_t		 port;
	size_t			 i, n;
	bool			 x = stun_attr_is_xor(a->type);

	memset(out, 0, sizeof(*out));
	if (a->len < 4)
		return -1;
	if (a->val[1] == STUN_FAMILY_IPV4)
		n = 4;
	else if (a->val[1] == STUN_FAMILY_IPV6)
		n = 16;
	else
		return -1;
	if (a->len != 4 + n)
		return -1;
	port = stun_get16(a->val + 2);
	if (x)
		port ^= stun_get16(key);
	for (i = 0; i < n; i++)
		ip[i] = a->val[4 + i] ^ (x ? key[i] : 0);
	if (n == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip, 4);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip, 16);
	}
	return 0;
}

int
stun_attr_get_u32(const struct stun_attr *a, uint32_t *out)
{
	if (a->len != 4)
		return -1;
	*out = stun_get32(a->val);
	return 0;
}

int
stun_attr_get_u64(const struct stun_attr *a, uint64_t *out)
{
	if (a->len != 8)
		return -1;
	*out = (uint64_t)stun_get32(a->val) << 32 | stun_get32(a->val + 4);
	return 0;
}

int
stun_attr_get_error_code(const struct stun_attr *a, int *code,
    const char **reason, size_t *reason_len)
{
	int	cls, num;

	if (a->len < 4)
		return -1;
	cls = a->val[2] & 0x07;
	num = a->val[3];
	if (cls < 3 || cls > 6 || num > 99)
		return -1;
	*code = cls * 100 + num;
	*reason = (const char *)a->val + 4;
	*reason_len = a->len - 4;
	return 0;
}

int
stun_attr_get_unknown(const struct stun_attr *a, uint16_t *types, size_t max)
{
	size_t	i, n;

	if (a->len % 2 != 0)
		return -1;
	n = a->len / 2;
	for (i = 0; i < n && i < max; i++)
		types[i] = stun_get16(a->val + 2 * i);
	return (int)i;
}

const char *
stun_error_reason(int code)
{
	switch (code) {
	case 300: return "Try Alternate";
	case 400: return "Bad Request";
	case 401: return "Unauthenticated";
	case 403: return "Forbidden";
	case 420: return "Unknown Attribute";
	case 437: return "Allocation Mismatch";
	case 438: return "Stale Nonce";
	case 440: return "Address Family not Supported";
	case 441: return "Wrong Credentials";
	case 442: return "Unsupported Transport Protocol";
	case 443: return "Peer Address Family Mismatch";
	case 446: return "Connection Already Exists";
	case 447: return "Connection Timeout or Failure";
	case 486: return "Allocation Quota Reached";
	case 500: return "Server Error";
	case 508: return "Insufficient Capacity";
	default: return "";
	}
}

static void
stun_build_header(struct stun_builder *b, uint8_t *buf, size_t cap,
    uint16_t method, uint8_t cls)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	if (cap < STUN_HEADER_LEN) {
		b->overflow = true;
		return;
	}
	stun_put16(buf, stun_msg_type(method, cls));
	stun_put16(buf + 2, 0);
	stun_put32(buf + 4, STUN_MAGIC_COOKIE);
	memset(buf + 8, 0, STUN_TID_LEN);
	b->tid = buf + 8;
	b->len = STUN_HEADER_LEN;
}

void
stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap,
    uint16_t method, uint8_t cls, const struct stun_msg *req)
{
	stun_build_header(b, buf, cap, method, cls);
	if (b->overflow || req == NULL)
		return;
	/* RFC 5389 §12.2: an RFC 3489 id is echoed whole, cookie field too. */
	b->classic = req->classic;
	memcpy(buf + STUN_HEADER_LEN - req->tid_len, req->tid, req->tid_len);
	b->tid = buf + STUN_HEADER_LEN - req->tid_len;
}

void
stun_build_init_tid(struct stun_builder *b, uint8_t *buf, size_t cap,
    uint16_t method, uint8_t cls, const uint8_t tid[STUN_TID_LEN])
{
	stun_build_header(b, buf, cap, method, cls);
	if (!b->overflow)
		memcpy(buf + 8, tid, STUN_TID_LEN);
}

/*
 * Reserve an attribute of len value bytes (padded) and return a pointer
 * to its value, or NULL after marking overflow.
 */
static uint8_t *
stun_build_reserve(struct stun_builder *b, uint16_t type, size_t len)
{
	size_t	 padded = (len + 3) & ~(size_t)3;
	uint8_t	*p;

	if (b->overflow || len > 0xffff ||
	    b->len + 4 + padded > b->cap ||
	    b->len + 4 + padded > STUN_MAX_MSG_LEN) {
		b->overflow = true;
		return NULL;
	}
	p = b->buf + b->len;
	stun_put16(p, type);
	stun_put16(p + 2, (uint16_t)len);
	memset(p + 4 + len, 0, padded - len);
	b->len += 4 + padded;
	stun_put16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	return p + 4;
}

void
stun_build_attr(struct stun_builder *b, uint16_t type, const void *val,
    size_t len)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, type, len)) != NULL && len > 0)
		memcpy(p, val, len);
}

/* RFC 3489 attribute lengths are multiples of 4: pad text with spaces. */
void
stun_build_string(struct stun_builder *b, uint16_t type, const char *s)
{
	uint8_t	*p;
	size_t	 len = strlen(s), plen;

	plen = b->classic ? (len + 3) & ~(size_t)3 : len;
	if ((p = stun_build_reserve(b, type, plen)) == NULL)
		return;
	memcpy(p, s, len);
	memset(p + len, ' ', plen - len);
}

void
stun_build_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, type, 4)) != NULL)
		stun_put32(p, v);
}

void
stun_build_u64(struct stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t	*p;

	if ((p = stun_build_reserve(b, type, 8)) != NULL) {
		stun_put32(p, (uint32_t)(v >> 32));
		stun_put32(p + 4, (uint32_t)v);
	}
}

void
stun_build_addr(struct stun_builder *b, uint16_t type,
    const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t			*ip, *key;
	uint8_t				*p;
	uint16_t			 port;
	size_t				 i, n;

	if (sa->sa_family == AF_INET) {
		ip = (const uint8_t *)&sin->sin_addr;
		port = ntohs(sin->sin_port);
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		ip = (const uint8_t *)&sin6->sin6_addr;
		port = ntohs(sin6->sin6_port);
		n = 16;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			ip += 12;
			n = 4;
		}
	} else {
		b->overflow = true;
		return;
	}
	if ((p = stun_build_reserve(b, type, 4 + n)) == NULL)
		return;
	key = b->buf + 4;
	if (stun_attr_is_xor(type))
		port ^= stun_get16(key);
	p[0] = 0;
	p[1] = n == 4 ? STUN_FAMILY_IPV4 : STUN_FAMILY_IPV6;
	stun_put16(p + 2, port);
	for (i = 0; i < n; i++)
		p[4 + i] = ip[i] ^ (stun_attr_is_xor(type) ? key[i] : 0);
}

/*
 * RFC 3489 §11.2.9 wants the reason phrase a multiple of 4 bytes, padded
 * with spaces: a classic client does not skip attribute padding.
 */
void
stun_build_error_code(struct stun_builder *b, int code, const char *reason)
{
	uint8_t	*p;
	size_t	 rlen, plen;

	if (code < 300 || code > 699) {
		b->overflow = true;
		return;
	}
	if (reason == NULL)
		reason = stun_error_reason(code);
	if ((rlen = strlen(reason)) > STUN_MAX_REASON)
		rlen = STUN_MAX_REASON;
	plen = b->classic ? (rlen + 3) & ~(size_t)3 : rlen;
	if ((p = stun_build_reserve(b, STUN_ATTR_ERROR_CODE, 4 + plen)) == NULL)
		return;
	p[0] = p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	memcpy(p + 4, reason, rlen);
	memset(p + 4 + rlen, ' ', plen - rlen);
}

/*
 * RFC 3489 §11.2.9 wants an attribute length that is a multiple of 4, so a
 * classic response repeats one type when the count is odd; later RFCs pad.
 */
void
stun_build_unknown_attrs(struct stun_builder *b, const uint16_t *types,
    size_t n)
{
	uint8_t	*p;
	size_t	 i, len = 2 * n;

	if (b->classic && n % 2 == 1)
		len += 2;
	if ((p = stun_build_reserve(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, len)) ==
	    NULL)
		return;
	for (i = 0; i < n; i++)
		stun_put16(p + 2 * i, types[i]);
	if (len > 2 * n)
		stun_put16(p + 2 * n, types[n - 1]);
}

ssize_t
stun_build_finish(struct stun_builder *b)
{
	if (b->overflow)
		return -1;
	return (ssize_t)b->len;
}
