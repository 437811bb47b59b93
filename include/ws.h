/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * WebSocket codec, server side (RFC 6455): the opening handshake checks and
 * Sec-WebSocket-Accept, frame heads (parse, build, unmask), the message
 * reader (reassembly, control frames, close bodies) and an incremental
 * UTF-8 validator. Pure: no sockets, no libevent, no logging, no globals.
 * The only allocation is the reader's reassembly buffer.
 */
#ifndef WS_H
#define WS_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_MAX_CONTROL		125	/* RFC 6455 §5.5: control payload */
#define WS_MAX_HEAD		14	/* 2 + 8 (length) + 4 (mask) */
#define WS_ACCEPT_LEN		28	/* base64 of a SHA-1 digest */
#define WS_GUID			"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA
};

/*
 * Close codes used: 1000 normal, 1001 going away, 1002 protocol error, 1003
 * unsupported data, 1007 invalid payload (UTF-8), 1008 policy, 1009 too
 * big, 1011 internal error. 1005 is never sent: ws_read reports it for a
 * close frame without a body (RFC 6455 §7.1.5).
 */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_NO_STATUS	1005
#define WS_CLOSE_INVALID_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_INTERNAL	1011

/*
 * Handshake (RFC 6455 §4.2).
 *
 * ws_accept_key: out = base64(SHA1(key + WS_GUID)), 28 characters and a
 * NUL. key is the Sec-WebSocket-Key value as sent (OWS already trimmed).
 * Aborts if OpenSSL cannot allocate, like xmalloc.
 */
void	ws_accept_key(const char *key, size_t key_len, char out[29]);

/*
 * The upgrade request's parts, extracted by the caller's HTTP parser.
 * Strings are not NUL-terminated; a header that is absent is NULL (its
 * length is then ignored). Leading and trailing spaces and tabs of header
 * values are ignored. http_minor is the y of HTTP/1.y.
 */
struct ws_upgrade {
	const char	*method;
	size_t		 method_len;
	int		 http_minor;
	const char	*upgrade;	/* Upgrade */
	size_t		 upgrade_len;
	const char	*connection;	/* Connection */
	size_t		 connection_len;
	const char	*version;	/* Sec-WebSocket-Version */
	size_t		 version_len;
	const char	*key;		/* Sec-WebSocket-Key */
	size_t		 key_len;
};

/*
 * Check an upgrade request (RFC 6455 §4.2.1). Returns 0 when acceptable,
 * with accept holding the Sec-WebSocket-Accept value (NUL-terminated);
 * 400 when the method is not GET (case-sensitive), the request is
 * HTTP/1.0, Upgrade has no "websocket" token, Connection has no "upgrade"
 * token (both lists, case-insensitive), or the key is not the base64 of 16
 * bytes (24 characters ending in "=="); 426 when Sec-WebSocket-Version is
 * absent or not exactly 13 (§4.4: the caller answers with
 * "Sec-WebSocket-Version: 13"). The 400 checks on method, HTTP version,
 * Upgrade and Connection come first, then the version, then the key. On
 * failure accept is the empty string.
 */
int	ws_handshake_check(const struct ws_upgrade *, char accept[29]);

/*
 * Frames, server side (RFC 6455 §5.2).
 */
struct ws_frame {
	bool		 fin;
	uint8_t		 rsv;		/* RSV1-3, as bits 2..0 */
	uint8_t		 opcode;
	bool		 masked;
	uint8_t		 mask[4];
	uint64_t	 len;		/* payload length */
	size_t		 head_len;	/* 2 to WS_MAX_HEAD */
};

/*
 * Parse a client frame head from buf. Returns head_len (> 0; the payload,
 * f->len bytes, follows), 0 when more bytes are needed (never more than
 * WS_MAX_HEAD in all), or -1 with *close_code = 1002: a reserved bit set
 * (no extension is negotiated), an unknown opcode, an unmasked frame
 * (§5.1), a control frame that is fragmented or longer than 125 bytes
 * (§5.5), or a 64-bit length with the top bit set. Errors visible in the
 * first two bytes are reported as soon as those are there. Non-minimal
 * length encodings are accepted, for control frames too (a ping of 5
 * bytes in a 16-bit length). Only the head is read; on 0 or -1, *f is
 * partly filled and not to be used.
 */
ssize_t	ws_frame_parse(const uint8_t *buf, size_t len, struct ws_frame *f,
	    uint16_t *close_code);

/*
 * XOR data with the mask (§5.3). offset is how many bytes of this payload
 * were unmasked before, so a payload may be unmasked in pieces.
 */
void	ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4],
	    uint64_t offset);

/*
 * Write the head of an unmasked server frame into out with the shortest
 * length encoding; returns its length (2, 4 or 10). len must be below
 * 2^63 and, for control opcodes, at most WS_MAX_CONTROL (not checked).
 */
size_t	ws_frame_head_build(uint8_t out[10], uint8_t opcode, bool fin,
	    uint64_t len);

/*
 * A close frame body: the 2-byte code (network order) and reason, a
 * NUL-terminated UTF-8 string or NULL, cut at a character boundary so the
 * body fits WS_MAX_CONTROL. Returns the body length (2 to 125).
 */
size_t	ws_close_body(uint8_t out[WS_MAX_CONTROL], uint16_t code,
	    const char *reason);

/*
 * UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), incremental across fragments. Fails fast: a byte that no
 * continuation could make valid is rejected at once (e.g. "\xe0\x80",
 * "\xed\xa0", "\xf4\x90"). Once rejected, feed keeps returning false.
 */
struct ws_utf8 {
	uint32_t	 state;		/* private */
	uint32_t	 codepoint;	/* the character being decoded */
};

void	ws_utf8_init(struct ws_utf8 *);
/* False as soon as the bytes fed so far cannot begin valid UTF-8. */
bool	ws_utf8_feed(struct ws_utf8 *, const uint8_t *, size_t);
/* True when no sequence is pending (and nothing was rejected). */
bool	ws_utf8_complete(const struct ws_utf8 *);

/*
 * Message reader.
 */
struct ws_reader {
	size_t		 max_message;	/* bytes, summed over fragments */
	/* private: */
	uint8_t		*buf;		/* reassembly, up to max_message */
	size_t		 len, cap;
	uint8_t		 op;		/* opcode of the fragmented message */
	bool		 fragmented;
	struct ws_utf8	 utf8;
};

enum ws_event_type {
	WS_EV_NONE,
	WS_EV_TEXT,
	WS_EV_BINARY,
	WS_EV_PING,
	WS_EV_PONG,
	WS_EV_CLOSE
};

struct ws_event {
	enum ws_event_type	 type;
	const uint8_t		*data;
	size_t			 len;
	/*
	 * WS_EV_CLOSE: the peer's code (1005 when the body is empty).
	 * On error (ws_read returns -1): the code to close with.
	 */
	uint16_t		 close_code;
};

void	ws_reader_init(struct ws_reader *, size_t max_message);
/* Free the reassembly buffer; the reader can be initialised again. */
void	ws_reader_clear(struct ws_reader *);

/*
 * Consume at most one frame from buf, which must be contiguous (the glue
 * pulls it up); payloads are unmasked in place. Returns:
 *
 *  > 0  the whole frame (head + payload) was consumed and *ev is set:
 *       WS_EV_TEXT / WS_EV_BINARY a complete message (text is valid
 *       UTF-8); WS_EV_PING / WS_EV_PONG with the application data;
 *       WS_EV_CLOSE with ev->close_code and the reason (valid UTF-8,
 *       without the code) as data; WS_EV_NONE for a non-final data
 *       fragment, stored in the reader. Bytes after the frame are not
 *       looked at.
 *    0  buf does not hold a whole frame yet; nothing was changed (neither
 *       buf nor the reader). Call again with more bytes.
 *   -1  close the connection with ev->close_code (ev->type WS_EV_NONE):
 *       1002 a bad frame head (see ws_frame_parse), a continuation
 *       without a message to continue, a new data frame inside a
 *       fragmented message, a close body of 1 byte, a close code not
 *       allowed on the wire (§7.4: below 1000, 1004-1006, 1015-2999 except
 *       1012-1014, 5000 and above); 1007 invalid UTF-8 in a text message
 *       (checked fragment by fragment, failing fast) or in a close reason;
 *       1009 a message longer than max_message bytes in all, decided from
 *       the frame head before its payload arrives. The reader should not
 *       be used again except to clear it.
 *
 * Glue contract: ws_read consumes whole frames only, so the caller hands
 * it the head and the entire payload in one contiguous buffer. Every
 * error but the UTF-8 and close-code checks is decided from the head and
 * the reader's state, before the payload is waited for. A read callback:
 *
 *	h = min(buffered, WS_MAX_HEAD); pull up h bytes;
 *	ws_read(r, p, h, &ev): -1 -> close with ev.close_code (a 1 GB
 *	    frame is refused here); > 0 -> a frame within h: act on ev,
 *	    drain what it returned;
 *	0 -> ws_frame_parse(p, h, ...): 0 -> wait for more bytes;
 *	    else need = head_len + len, which is at most WS_MAX_HEAD +
 *	    max(max_message, WS_MAX_CONTROL) now that ws_read accepted
 *	    the head; wait until need bytes are buffered, pull them up,
 *	    ws_read(r, p, need, &ev) -> act on ev, drain need; loop.
 *
 * ev->data points into buf for a message in one frame and for control
 * frames, into the reader's buffer for a reassembled message; it is valid
 * until the next ws_read or ws_reader_clear on this reader, or until buf
 * is released. Control frames may arrive between the fragments of a
 * message (§5.4).
 */
ssize_t	ws_read(struct ws_reader *, uint8_t *buf, size_t len,
	    struct ws_event *ev);

#endif
