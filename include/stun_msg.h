/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * STUN message codec (RFC 8489, RFC 5389, RFC 3489 "classic"), TURN
 * attributes (RFC 8656), MESSAGE-INTEGRITY(-SHA256), FINGERPRINT, stream
 * framing and ChannelData. Pure: no sockets, no clock, no globals, no
 * allocation, no logging. Bytes in, result out.
 */
#ifndef STUN_MSG_H
#define STUN_MSG_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_HEADER_LEN		20
#define STUN_MAGIC_COOKIE	0x2112A442U
#define STUN_FINGERPRINT_XOR	0x5354554EU	/* RFC 8489 §14.7 */
#define STUN_TID_LEN		12		/* RFC 5389 and later */
#define STUN_CLASSIC_TID_LEN	16		/* RFC 3489 */
#define STUN_MAX_ATTRS		40
#define STUN_MAX_UNKNOWN	16
#define STUN_MAX_MSG_LEN	(STUN_HEADER_LEN + 65532)
#define STUN_MAX_REASON		763		/* RFC 8489 §14.8 */
#define STUN_HMAC_SHA1_LEN	20
#define STUN_HMAC_SHA256_LEN	32
#define STUN_CHANNEL_HEADER_LEN	4
#define STUN_CHANNEL_MIN	0x4000	/* RFC 8656 §12: valid channels */
#define STUN_CHANNEL_MAX	0x4FFF
/* CHANGE-REQUEST flags (RFC 5780 §7.2). */
#define STUN_CHANGE_IP		0x04
#define STUN_CHANGE_PORT	0x02

/* Methods (RFC 8489, RFC 8656, RFC 6062). */
#define STUN_METHOD_BINDING		0x001
#define STUN_METHOD_SHARED_SECRET	0x002	/* RFC 3489, reserved */
#define STUN_METHOD_ALLOCATE		0x003
#define STUN_METHOD_REFRESH		0x004
#define STUN_METHOD_SEND		0x006
#define STUN_METHOD_DATA		0x007
#define STUN_METHOD_CREATE_PERMISSION	0x008
#define STUN_METHOD_CHANNEL_BIND	0x009
#define STUN_METHOD_CONNECT		0x00A
#define STUN_METHOD_CONNECTION_BIND	0x00B
#define STUN_METHOD_CONNECTION_ATTEMPT	0x00C

/* Classes. */
#define STUN_CLASS_REQUEST	0
#define STUN_CLASS_INDICATION	1
#define STUN_CLASS_SUCCESS	2
#define STUN_CLASS_ERROR	3

/* Comprehension-required attributes (type < 0x8000). */
#define STUN_ATTR_MAPPED_ADDRESS		0x0001
#define STUN_ATTR_RESPONSE_ADDRESS		0x0002	/* RFC 3489 */
#define STUN_ATTR_CHANGE_REQUEST		0x0003	/* RFC 3489/5780 */
#define STUN_ATTR_SOURCE_ADDRESS		0x0004	/* RFC 3489 */
#define STUN_ATTR_CHANGED_ADDRESS		0x0005	/* RFC 3489 */
#define STUN_ATTR_USERNAME			0x0006
#define STUN_ATTR_PASSWORD			0x0007	/* RFC 3489 */
#define STUN_ATTR_MESSAGE_INTEGRITY		0x0008
#define STUN_ATTR_ERROR_CODE			0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES		0x000A
#define STUN_ATTR_REFLECTED_FROM		0x000B	/* RFC 3489 */
#define STUN_ATTR_CHANNEL_NUMBER		0x000C
#define STUN_ATTR_LIFETIME			0x000D
#define STUN_ATTR_BANDWIDTH			0x0010	/* reserved */
#define STUN_ATTR_XOR_PEER_ADDRESS		0x0012
#define STUN_ATTR_DATA				0x0013
#define STUN_ATTR_REALM				0x0014
#define STUN_ATTR_NONCE				0x0015
#define STUN_ATTR_XOR_RELAYED_ADDRESS		0x0016
#define STUN_ATTR_REQUESTED_ADDRESS_FAMILY	0x0017
#define STUN_ATTR_EVEN_PORT			0x0018
#define STUN_ATTR_REQUESTED_TRANSPORT		0x0019
#define STUN_ATTR_DONT_FRAGMENT			0x001A
#define STUN_ATTR_ACCESS_TOKEN			0x001B	/* RFC 7635 */
#define STUN_ATTR_MESSAGE_INTEGRITY_SHA256	0x001C
#define STUN_ATTR_PASSWORD_ALGORITHM		0x001D
#define STUN_ATTR_USERHASH			0x001E
#define STUN_ATTR_XOR_MAPPED_ADDRESS		0x0020
#define STUN_ATTR_RESERVATION_TOKEN		0x0022
#define STUN_ATTR_PRIORITY			0x0024	/* RFC 8445 */
#define STUN_ATTR_USE_CANDIDATE			0x0025	/* RFC 8445 */
#define STUN_ATTR_PADDING			0x0026	/* RFC 5780 */
#define STUN_ATTR_RESPONSE_PORT			0x0027	/* RFC 5780 */
#define STUN_ATTR_CONNECTION_ID			0x002A	/* RFC 6062 */

/* Comprehension-optional attributes (type >= 0x8000). */
#define STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY	0x8000
#define STUN_ATTR_ADDRESS_ERROR_CODE		0x8001
#define STUN_ATTR_PASSWORD_ALGORITHMS		0x8002
#define STUN_ATTR_ALTERNATE_DOMAIN		0x8003
#define STUN_ATTR_ICMP				0x8004
#define STUN_ATTR_SOFTWARE			0x8022
#define STUN_ATTR_ALTERNATE_SERVER		0x8023
#define STUN_ATTR_TRANSACTION_TRANSMIT_COUNTER	0x8025	/* RFC 7982 */
#define STUN_ATTR_CACHE_TIMEOUT			0x8027	/* RFC 5780 */
#define STUN_ATTR_FINGERPRINT			0x8028
#define STUN_ATTR_ICE_CONTROLLED		0x8029
#define STUN_ATTR_ICE_CONTROLLING		0x802A
#define STUN_ATTR_RESPONSE_ORIGIN		0x802B	/* RFC 5780 */
#define STUN_ATTR_OTHER_ADDRESS			0x802C	/* RFC 5780 */
#define STUN_ATTR_ECN_CHECK			0x802D
#define STUN_ATTR_THIRD_PARTY_AUTHORIZATION	0x802E	/* RFC 7635 */
#define STUN_ATTR_ORIGIN			0x802F
#define STUN_ATTR_MOBILITY_TICKET		0x8030	/* RFC 8016 */

/* PASSWORD-ALGORITHM values (RFC 8489 §18.5). */
#define STUN_PASSWORD_ALGORITHM_MD5		0x0001
#define STUN_PASSWORD_ALGORITHM_SHA256		0x0002

/* Address families inside address attributes. */
#define STUN_FAMILY_IPV4	0x01
#define STUN_FAMILY_IPV6	0x02

/* REQUESTED-TRANSPORT protocol numbers. */
#define STUN_TRANSPORT_UDP	17
#define STUN_TRANSPORT_TCP	6

struct stun_attr {
	uint16_t	 type;
	uint16_t	 len;		/* value length, without padding */
	const uint8_t	*val;		/* points into the parsed buffer */
};

struct stun_msg {
	uint16_t	 type;		/* raw message type field */
	uint16_t	 method;
	uint8_t		 cls;
	bool		 classic;	/* RFC 3489: no magic cookie */
	uint8_t		 tid[STUN_CLASSIC_TID_LEN];
	size_t		 tid_len;	/* 12, or 16 when classic */
	const uint8_t	*raw;		/* whole message */
	size_t		 len;		/* STUN_HEADER_LEN + length field */
	size_t		 nattrs;
	struct stun_attr attrs[STUN_MAX_ATTRS];
	int		 integrity_idx;		/* -1 when absent */
	int		 integrity256_idx;	/* -1 when absent */
	int		 fingerprint_idx;	/* -1 when absent */
	uint16_t	 unknown[STUN_MAX_UNKNOWN];
	size_t		 nunknown;
	int		 err;		/* STUN error code when parse fails */
};

/*
 * Parse one STUN message from buf (a whole datagram, or one frame cut by
 * stun_frame_len()). Returns the bytes consumed (STUN_HEADER_LEN + the
 * length field, > 0; bytes after that are not looked at), or -1 when the
 * message is malformed: first two bits not 0, shorter than a header,
 * length field not a multiple of 4 or beyond len, an attribute overrunning
 * the message, more than STUN_MAX_ATTRS attributes, MESSAGE-INTEGRITY(-
 * SHA256) or FINGERPRINT of the wrong size, an attribute after FINGERPRINT,
 * or a FINGERPRINT whose CRC does not match (RFC 8489 §7.3).
 *
 * On -1, msg->err is 0 when the bytes are not a STUN message (drop them),
 * or 400 when the header was sound but the attributes are not: then type,
 * method, cls, classic and tid are valid and a request may be answered
 * with that error code.
 *
 * A message without the magic cookie is RFC 3489 (msg->classic): its
 * transaction id is the 16 bytes after the length field. Attributes after
 * MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT,
 * and after MESSAGE-INTEGRITY-SHA256 other than FINGERPRINT, are ignored
 * (RFC 8489 §14.5, §14.6): they are not in msg->attrs. Comprehension-
 * required attributes this codec does not know are listed in msg->unknown
 * (each once, at most STUN_MAX_UNKNOWN) and also kept in msg->attrs.
 * Attribute values point into buf, which must outlive msg.
 */
ssize_t	stun_msg_parse(const uint8_t *buf, size_t len, struct stun_msg *msg);

/* Message type field from method and class, and back (RFC 8489 §5). */
uint16_t stun_msg_type(uint16_t method, uint8_t cls);
uint16_t stun_type_method(uint16_t type);
uint8_t	stun_type_class(uint16_t type);
/* True for comprehension-required attribute types this codec knows. */
bool	stun_attr_known(uint16_t type);

/* Index of the first attribute of that type, or -1. */
int	stun_msg_find(const struct stun_msg *, uint16_t type);
/* First attribute of that type, or NULL. */
const struct stun_attr *stun_msg_get(const struct stun_msg *, uint16_t type);

/*
 * Decode an address attribute of msg into out (port included). XOR-MAPPED-
 * ADDRESS, XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS are un-XORed with the
 * magic cookie and transaction id; other types are read plain. Returns 0,
 * or -1 when the family is not IPv4/IPv6 or the length does not match it.
 */
int	stun_attr_get_addr(const struct stun_msg *, const struct stun_attr *,
	    struct sockaddr_storage *out);
/* 4- and 8-byte values; -1 when the length is not exactly that. */
int	stun_attr_get_u32(const struct stun_attr *, uint32_t *out);
int	stun_attr_get_u64(const struct stun_attr *, uint64_t *out);
/*
 * ERROR-CODE: *code is 300..699; *reason points into the message (not
 * NUL-terminated) with *reason_len bytes. Returns 0 or -1 when malformed.
 */
int	stun_attr_get_error_code(const struct stun_attr *, int *code,
	    const char **reason, size_t *reason_len);
/* UNKNOWN-ATTRIBUTES: stores up to max types, returns how many, or -1. */
int	stun_attr_get_unknown(const struct stun_attr *, uint16_t *types,
	    size_t max);
/* Default reason phrase for a STUN error code ("" when unknown). */
const char *stun_error_reason(int code);

/*
 * Builder: writes one message into a caller's buffer. Every stun_build_*
 * call keeps the header length field right; anything that does not fit (or
 * is invalid, e.g. an unsupported address family) sets overflow, makes
 * later calls no-ops, and stun_build_finish() returns -1. Order: attributes,
 * then stun_build_integrity(), stun_build_integrity_sha256(),
 * stun_build_fingerprint(), then stun_build_finish().
 */
struct stun_builder {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	bool		 overflow;
	bool		 classic;	/* answering an RFC 3489 request */
	const uint8_t	*tid;		/* transaction id inside buf */
};

/*
 * Start a message. With req, the response copies its transaction id and,
 * for an RFC 3489 request, its 16-byte id including the cookie field (RFC
 * 5389 §12.2); with req NULL the transaction id is all zero.
 */
void	stun_build_init(struct stun_builder *, uint8_t *buf, size_t cap,
	    uint16_t method, uint8_t cls, const struct stun_msg *req);
/* Start an RFC 5389+ message with an explicit 12-byte transaction id. */
void	stun_build_init_tid(struct stun_builder *, uint8_t *buf, size_t cap,
	    uint16_t method, uint8_t cls, const uint8_t tid[STUN_TID_LEN]);
/* Append an attribute, padded to 4 bytes with zeros. */
void	stun_build_attr(struct stun_builder *, uint16_t type, const void *val,
	    size_t len);
/* Text attribute; in an RFC 3489 response padded with spaces to 4 bytes. */
void	stun_build_string(struct stun_builder *, uint16_t type,
	    const char *s);
void	stun_build_u32(struct stun_builder *, uint16_t type, uint32_t v);
void	stun_build_u64(struct stun_builder *, uint16_t type, uint64_t v);
/*
 * Append an address attribute: XORed for the XOR-* types, plain otherwise.
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is written as IPv4.
 */
void	stun_build_addr(struct stun_builder *, uint16_t type,
	    const struct sockaddr *);
/*
 * ERROR-CODE 300..699; reason NULL means stun_error_reason(code). In an
 * RFC 3489 response the phrase is padded with spaces to 4 bytes.
 */
void	stun_build_error_code(struct stun_builder *, int code,
	    const char *reason);
void	stun_build_unknown_attrs(struct stun_builder *, const uint16_t *types,
	    size_t n);
/* MESSAGE-INTEGRITY (HMAC-SHA1) and -SHA256 (full 32 bytes) over b. */
void	stun_build_integrity(struct stun_builder *, const uint8_t *key,
	    size_t keylen);
void	stun_build_integrity_sha256(struct stun_builder *, const uint8_t *key,
	    size_t keylen);
void	stun_build_fingerprint(struct stun_builder *);
/* Total message length, or -1 if anything overflowed. */
ssize_t	stun_build_finish(struct stun_builder *);

/*
 * MESSAGE-INTEGRITY check (RFC 8489 §14.5): HMAC-SHA1 with key over the
 * message up to the attribute, the length field counting up to its end.
 * False when the attribute is absent. Comparison is constant-time.
 */
bool	stun_msg_check_integrity(const struct stun_msg *, const uint8_t *key,
	    size_t keylen);
/* MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6), possibly truncated. */
bool	stun_msg_check_integrity_sha256(const struct stun_msg *,
	    const uint8_t *key, size_t keylen);
/*
 * Long-term key: MD5(user ":" realm ":" pass) (RFC 8489 §9.2.2); the
 * strings are used as given (no SASLprep/OpaqueString). Returns 0, or -1
 * (key zeroed) if OpenSSL fails.
 */
int	stun_longterm_key(const char *user, const char *realm,
	    const char *pass, uint8_t key[16]);
/* Long-term key for PASSWORD-ALGORITHM SHA-256: SHA-256 of the same. */
int	stun_longterm_key_sha256(const char *user, const char *realm,
	    const char *pass, uint8_t key[32]);
/* CRC-32 (ISO HDLC, as in FINGERPRINT before the XOR). */
uint32_t stun_crc32(const uint8_t *, size_t);

/*
 * Stream framing for TCP/TLS. Returns the total length of the first frame
 * once 4 bytes are there: STUN is 20 + length field; ChannelData (first
 * byte 0x40-0x7F) is 4 + length rounded up to 4 (RFC 8656 §12.5). The
 * value may exceed len: wait for more. Returns 0 with fewer than 4 bytes,
 * -1 when the bytes are neither, or the STUN length is not a multiple of 4.
 */
ssize_t	stun_frame_len(const uint8_t *buf, size_t len);

/*
 * ChannelData (RFC 8656 §12.4): *chan 0x4000-0x7FFF, *data points into buf
 * with *dlen bytes; padding after it is ignored. Returns 0, or -1 when buf
 * is shorter than 4 bytes, the channel is out of range, or the length
 * exceeds len - 4. Whether the channel is bound is the caller's business.
 */
int	stun_channeldata_parse(const uint8_t *buf, size_t len, uint16_t *chan,
	    const uint8_t **data, uint16_t *dlen);
/*
 * Write ChannelData into out; with pad, zero-pad to a multiple of 4 (needed
 * on streams). data may already be at out + 4 (no copy is then needed).
 * Returns the total length, or -1 when it does not fit, len > 65535 or the
 * channel is outside 0x4000-0x7FFF.
 */
ssize_t	stun_channeldata_build(uint8_t *out, size_t cap, uint16_t chan,
	    const uint8_t *data, size_t len, bool pad);

#endif
