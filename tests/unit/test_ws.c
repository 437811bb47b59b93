/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 turnpike authors */
/*
 * Unit tests for src/ws/: the RFC 6455 known answers (§1.3 handshake, §5.7
 * frames), every handshake and frame-head refusal, UTF-8 vectors (RFC
 * 3629), and the message reader: reassembly, control frames between
 * fragments, close bodies and codes, max_message at and over the limit.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "ws.h"

#define S(s)	(const uint8_t *)(s), sizeof(s) - 1

static const uint8_t	test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A client frame: head with the shortest length encoding, mask, payload. */
static size_t
test_frame(uint8_t *out, uint8_t b0, const uint8_t *p, size_t n)
{
	size_t	h;

	h = ws_frame_head_build(out, b0 & 0x0f, (b0 & 0x80) != 0, n);
	out[0] = b0;
	out[1] |= 0x80;
	memcpy(out + h, test_mask, 4);
	h += 4;
	if (n > 0)
		memcpy(out + h, p, n);
	ws_unmask(out + h, n, test_mask, 0);
	return h + n;
}

/* One ws_read on a buffer of exactly the frame's size. */
static ssize_t
test_read(struct ws_reader *r, const uint8_t *frame, size_t n,
    struct ws_event *ev, uint8_t **keep)
{
	uint8_t	*b;
	ssize_t	 rc;

	b = malloc(n > 0 ? n : 1);
	memcpy(b, frame, n);
	rc = ws_read(r, b, n, ev);
	free(*keep);
	*keep = b;	/* ev->data may point into it */
	return rc;
}

/* Read a whole client frame built from (b0, p, n). */
static ssize_t
test_send(struct ws_reader *r, uint8_t b0, const uint8_t *p, size_t n,
    struct ws_event *ev, uint8_t **keep)
{
	uint8_t	*f;
	size_t	 fl;
	ssize_t	 rc;

	f = malloc(n + WS_MAX_HEAD);
	fl = test_frame(f, b0, p, n);
	rc = test_read(r, f, fl, ev, keep);
	free(f);
	return rc;
}

static void
test_accept(void)
{
	char	out[29];

	/* RFC 6455 §1.3. */
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
	is_str(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "§1.3 accept key");
	ws_accept_key("x3JJHMbDL1EzLkh9GBhXDw==", 24, out);
	is_str(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", "second accept key");
}

static struct ws_upgrade
test_upgrade(void)
{
	struct ws_upgrade	u = {
		.method = "GET", .method_len = 3, .http_minor = 1,
		.upgrade = "websocket", .upgrade_len = 9,
		.connection = "Upgrade", .connection_len = 7,
		.version = "13", .version_len = 2,
		.key = "dGhlIHNhbXBsZSBub25jZQ==", .key_len = 24,
	};

	return u;
}

#define SETS(field, s) do {						\
	u.field = (s);							\
	u.field##_len = (s) != NULL ? strlen(s) : 0;			\
} while (0)

static int
test_check_with(const char *which, const char *val)
{
	struct ws_upgrade	u = test_upgrade();
	char			acc[29];
	int			rc;

	if (strcmp(which, "method") == 0)
		SETS(method, val);
	else if (strcmp(which, "upgrade") == 0)
		SETS(upgrade, val);
	else if (strcmp(which, "connection") == 0)
		SETS(connection, val);
	else if (strcmp(which, "version") == 0)
		SETS(version, val);
	else if (strcmp(which, "key") == 0)
		SETS(key, val);
	rc = ws_handshake_check(&u, acc);
	if (rc != 0 && acc[0] != '\0')
		return -2;
	return rc;
}

static void
test_handshake(void)
{
	struct ws_upgrade	u = test_upgrade();
	char			acc[29];

	is_int(ws_handshake_check(&u, acc), 0, "§1.3 request accepted");
	is_str(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "§1.3 accept value");
	u.http_minor = 0;
	is_int(ws_handshake_check(&u, acc), 400, "HTTP/1.0 refused");
	is_str(acc, "", "no accept on failure");
	u.http_minor = 2;
	is_int(ws_handshake_check(&u, acc), 0, "HTTP/1.2 accepted");

	is_int(test_check_with("method", "POST"), 400, "POST refused");
	is_int(test_check_with("method", "get"), 400, "lower-case get");
	is_int(test_check_with("method", "GETS"), 400, "GETS refused");
	is_int(test_check_with("method", NULL), 400, "no method");
	is_int(test_check_with("upgrade", NULL), 400, "no Upgrade");
	is_int(test_check_with("upgrade", "h2c"), 400, "Upgrade: h2c");
	is_int(test_check_with("upgrade", "websockets"), 400,
	    "Upgrade: websockets");
	is_int(test_check_with("upgrade", "WebSocket"), 0,
	    "Upgrade is case-insensitive");
	is_int(test_check_with("upgrade", "h2c, websocket "), 0,
	    "Upgrade list");
	is_int(test_check_with("connection", NULL), 400, "no Connection");
	is_int(test_check_with("connection", "keep-alive"), 400,
	    "Connection without upgrade");
	is_int(test_check_with("connection", "keep-alive,upgraded"), 400,
	    "Connection: upgraded is not upgrade");
	is_int(test_check_with("connection", "keep-alive, Upgrade"), 0,
	    "Connection: keep-alive, Upgrade (Firefox)");
	is_int(test_check_with("connection", "UPGRADE"), 0,
	    "Connection is case-insensitive");
	is_int(test_check_with("connection", ",,upgrade,"), 0,
	    "empty list items skipped");
	is_int(test_check_with("version", NULL), 426, "no version: 426");
	is_int(test_check_with("version", "8"), 426, "version 8: 426");
	is_int(test_check_with("version", "13, 8"), 426, "version list");
	is_int(test_check_with("version", "130"), 426, "version 130");
	is_int(test_check_with("version", " 13\t"), 0, "version OWS");
	is_int(test_check_with("key", NULL), 400, "no key");
	is_int(test_check_with("key", ""), 400, "empty key");
	is_int(test_check_with("key", "dGhlIHNhbXBsZSBub25jZQ="), 400,
	    "key 23 chars");
	is_int(test_check_with("key", "dGhlIHNhbXBsZSBub25jZQ=="), 0,
	    "key ok");
	is_int(test_check_with("key", "dGhlIHNhbXBsZSBub25jZQAA"), 400,
	    "key without padding (18 bytes)");
	is_int(test_check_with("key", "dGhlIHNhbXBsZSBub25j*Q=="), 400,
	    "key with a non-base64 char");
	is_int(test_check_with("key", "dGhlIHNhbXBsZSBub25jZQ==AAAA"), 400,
	    "key of 19 bytes");
	is_int(test_check_with("key", "  dGhlIHNhbXBsZSBub25jZQ== "), 0,
	    "key OWS trimmed");
	/* The 400s for a request that is no upgrade come before the 426. */
	u = test_upgrade();
	SETS(method, "POST");
	SETS(version, "8");
	is_int(ws_handshake_check(&u, acc), 400, "POST with version 8: 400");
	u = test_upgrade();
	SETS(key, "bad");
	SETS(version, "7");
	is_int(ws_handshake_check(&u, acc), 426, "bad key, version 7: 426");
}

static void
test_head_build(void)
{
	uint8_t	h[10];

	/* RFC 6455 §5.7, as the server sends them (unmasked). */
	is_int(ws_frame_head_build(h, WS_OP_TEXT, true, 5), 2, "Hello head");
	is_mem(h, "\x81\x05", 2, "§5.7 single-frame unmasked text");
	ws_frame_head_build(h, WS_OP_TEXT, false, 3);
	is_mem(h, "\x01\x03", 2, "§5.7 first fragment");
	ws_frame_head_build(h, WS_OP_CONT, true, 2);
	is_mem(h, "\x80\x02", 2, "§5.7 last fragment");
	ws_frame_head_build(h, WS_OP_PING, true, 5);
	is_mem(h, "\x89\x05", 2, "§5.7 unmasked ping");
	is_int(ws_frame_head_build(h, WS_OP_BINARY, true, 256), 4,
	    "256 bytes: 16-bit length");
	is_mem(h, "\x82\x7e\x01\x00", 4, "§5.7 256-byte binary");
	is_int(ws_frame_head_build(h, WS_OP_BINARY, true, 65536), 10,
	    "64 KiB: 64-bit length");
	is_mem(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10,
	    "§5.7 64 KiB binary");
	is_int(ws_frame_head_build(h, WS_OP_BINARY, true, 125), 2, "125: 7");
	is_int(ws_frame_head_build(h, WS_OP_BINARY, true, 126), 4, "126: 16");
	is_int(ws_frame_head_build(h, WS_OP_BINARY, true, 65535), 4,
	    "65535: 16");
	ws_frame_head_build(h, WS_OP_CLOSE, true, 0);
	is_mem(h, "\x88\x00", 2, "empty close");
}

static ssize_t
test_parse(const char *s, size_t n, struct ws_frame *f, uint16_t *code)
{
	uint8_t	*b;
	ssize_t	 rc;

	b = malloc(n > 0 ? n : 1);
	memcpy(b, s, n);
	rc = ws_frame_parse(b, n, f, code);
	free(b);
	return rc;
}

#define PARSE(s)	test_parse((s), sizeof(s) - 1, &f, &code)

static void
test_frame_parse(void)
{
	static const char	 hello[] =
	    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	struct ws_frame		 f;
	uint16_t		 code;
	size_t			 i;

	/* §5.7: a masked "Hello" from a client. */
	is_int(PARSE(hello), 6, "masked Hello head");
	ok(f.fin && f.opcode == WS_OP_TEXT && f.masked && f.rsv == 0 &&
	    f.len == 5 && f.head_len == 6, "masked Hello fields");
	is_mem(f.mask, test_mask, 4, "mask key");
	for (i = 0; i < 6; i++)
		is_int(test_parse(hello, i, &f, &code), 0, "head prefix: 0");
	/* §5.7 unmasked Hello is a server frame: refused from a client. */
	is_int(PARSE("\x81\x05Hello"), -1, "unmasked Hello refused");
	is_int(code, 1002, "unmasked: 1002");
	is_int(PARSE("\x81\x05"), -1, "unmasked decided from 2 bytes");

	is_int(PARSE("\x82\xfe\x01\x00MASK"), 8, "256-byte head");
	is_int(f.len, 256, "256-byte length");
	is_int(test_parse("\x82\xfe\x01\x00MAS", 7, &f, &code), 0,
	    "256-byte head short of its mask");
	is_int(test_parse("\x82\xfe\x01", 3, &f, &code), 0,
	    "16-bit length incomplete");
	is_int(PARSE("\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00MASK"), 14,
	    "64 KiB head");
	is_int(f.len, 65536, "64 KiB length");
	is_int(test_parse("\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00MAS", 13,
	    &f, &code), 0, "64 KiB head short of its mask");
	is_int(PARSE("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xffMASK"), 14,
	    "2^63 - 1 parses");
	ok(f.len == UINT64_MAX >> 1, "2^63 - 1 length");
	is_int(PARSE("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00MASK"), -1,
	    "64-bit length top bit");
	is_int(code, 1002, "top bit: 1002");
	/* Non-minimal encodings are accepted. */
	is_int(PARSE("\x81\xfe\x00\x05MASK"), 8, "5 in 16 bits");
	is_int(f.len, 5, "5 in 16 bits: length");
	is_int(PARSE("\x81\xff\x00\x00\x00\x00\x00\x00\x00\x05MASK"), 14,
	    "5 in 64 bits");
	is_int(f.len, 5, "5 in 64 bits: length");

	is_int(PARSE("\xc1\x80MASK"), -1, "RSV1 refused");
	is_int(code, 1002, "RSV1: 1002");
	is_int(PARSE("\xa1\x80MASK"), -1, "RSV2 refused");
	is_int(PARSE("\x91\x80MASK"), -1, "RSV3 refused");
	for (i = 3; i <= 7; i++) {
		char	b[6] = { (char)(0x80 | i), '\x80', 'M', 'A', 'S', 'K' };

		is_int(test_parse(b, 6, &f, &code), -1,
		    "reserved data opcode refused");
	}
	for (i = 0xb; i <= 0xf; i++) {
		char	b[6] = { (char)(0x80 | i), '\x80', 'M', 'A', 'S', 'K' };

		is_int(test_parse(b, 6, &f, &code), -1,
		    "reserved control opcode refused");
	}
	is_int(code, 1002, "opcode 0xF: 1002");
	is_int(PARSE("\x09\x80MASK"), -1, "fragmented ping refused");
	is_int(PARSE("\x08\x80MASK"), -1, "fragmented close refused");
	is_int(PARSE("\x89\xfdMASK"), 6, "ping of 125");
	is_int(PARSE("\x89\xfe"), 0, "ping, 16-bit length: wait");
	is_int(PARSE("\x89\xfe\x00\x7e"), -1, "ping of 126 refused");
	is_int(code, 1002, "ping 126: 1002");
	is_int(PARSE("\x89\xfe\x00\x7dMASK"), 8,
	    "ping of 125 in 16 bits accepted");
	is_int(PARSE("\x8a\xff\x00\x00\x00\x00\x00\x00\x00\x7e"), -1,
	    "pong of 126 in 64 bits refused");
	is_int(PARSE("\x8a\xff\x00\x00\x00\x00\x00\x00\x00\x00MASK"), 14,
	    "empty pong in 64 bits accepted");
	is_int(PARSE("\x88\xfe\x00\x05MASK"), 8,
	    "close of 5 in 16 bits accepted");
	is_int(f.len, 5, "close of 5: length");
	is_int(PARSE("\x80\x80MASK"), 6, "continuation head parses");
	is_int(PARSE("\x01\x80MASK"), 6, "non-final text parses");
	is_int(test_parse("", 0, &f, &code), 0, "empty: 0");
	is_int(test_parse("\xc1", 1, &f, &code), 0, "1 byte: 0");
}

static void
test_unmask(void)
{
	uint8_t		a[37], b[37];
	const uint8_t	mk[4] = { 1, 2, 3, 4 };
	size_t		i;

	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7);
	ws_unmask(a, sizeof(a), mk, 0);
	for (i = 0; i < sizeof(a); i++)
		if (a[i] != (uint8_t)(b[i] ^ mk[i & 3]))
			break;
	is_int(i, sizeof(a), "unmask = byte-wise XOR");
	/* In pieces of 3, 11 and 23 with offsets: the same result. */
	ws_unmask(b, 3, mk, 0);
	ws_unmask(b + 3, 11, mk, 3);
	ws_unmask(b + 14, 23, mk, 14);
	is_mem(a, b, sizeof(a), "unmask in pieces");
	ws_unmask(a, sizeof(a), mk, 0);
	ws_unmask(a, 0, mk, 5);
	ok(a[36] == (uint8_t)(36 * 7), "unmask twice = identity");
}

static void
test_close_body(void)
{
	uint8_t	out[WS_MAX_CONTROL];
	char	reason[300];
	size_t	i;

	is_int(ws_close_body(out, 1000, NULL), 2, "code only");
	is_mem(out, "\x03\xe8", 2, "1000 in network order");
	is_int(ws_close_body(out, 1009, "too big"), 9, "code and reason");
	is_mem(out, "\x03\xf1too big", 9, "1009 too big");
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	is_int(ws_close_body(out, 1000, reason), 125, "long reason cut");
	reason[123] = '\0';
	is_int(ws_close_body(out, 1000, reason), 125, "123-byte reason fits");
	reason[122] = '\0';
	is_int(ws_close_body(out, 1000, reason), 124, "122-byte reason");
	/* 70 two-byte characters: cut after 61 (122 bytes), not inside. */
	for (i = 0; i < 70; i++)
		memcpy(reason + 2 * i, "\xc3\xa9", 2);
	reason[140] = '\0';
	is_int(ws_close_body(out, 1001, reason), 124,
	    "cut at a character boundary");
	is_mem(out + 122, "\xc3\xa9", 2, "last character whole");
	/* Three-byte characters: 41 * 3 = 123 fit exactly. */
	for (i = 0; i < 50; i++)
		memcpy(reason + 3 * i, "\xe2\x82\xac", 3);
	reason[150] = '\0';
	is_int(ws_close_body(out, 1001, reason), 125, "41 euro signs fit");
	is_int(ws_close_body(out, 1000, ""), 2, "empty reason");
}

struct test_utf8_vec {
	const char	*s;
	size_t		 n;
	int		 want;	/* 1 valid, 0 invalid, 2 incomplete */
	const char	*what;
};

#define V(s, w, what)	{ s, sizeof(s) - 1, w, what }

static const struct test_utf8_vec test_utf8_vecs[] = {
	V("", 1, "empty"),
	V("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1",
	    1, "Latin-1 supplement"),
	V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1, "kosme"),
	V("\x00", 1, "U+0000"),
	V("\x7f", 1, "U+007F"),
	V("\xc2\x80", 1, "U+0080"),
	V("\xdf\xbf", 1, "U+07FF"),
	V("\xe0\xa0\x80", 1, "U+0800"),
	V("\xed\x9f\xbf", 1, "U+D7FF"),
	V("\xee\x80\x80", 1, "U+E000"),
	V("\xef\xbf\xbd", 1, "U+FFFD"),
	V("\xef\xbf\xbf", 1, "U+FFFF (noncharacter, valid)"),
	V("\xf0\x90\x80\x80", 1, "U+10000"),
	V("\xf0\x9f\x98\x80", 1, "U+1F600"),
	V("\xf4\x8f\xbf\xbf", 1, "U+10FFFF"),
	V("\xc0\xaf", 0, "overlong / in 2 bytes"),
	V("\xc1\xbf", 0, "overlong U+007F"),
	V("\xe0\x80\xaf", 0, "overlong / in 3 bytes"),
	V("\xe0\x9f\xbf", 0, "overlong U+07FF"),
	V("\xf0\x80\x80\xaf", 0, "overlong / in 4 bytes"),
	V("\xf0\x8f\xbf\xbf", 0, "overlong U+FFFF"),
	V("\xf8\x88\x80\x80\x80", 0, "5-byte form"),
	V("\xfc\x84\x80\x80\x80\x80", 0, "6-byte form"),
	V("\xed\xa0\x80", 0, "U+D800 (surrogate)"),
	V("\xed\xbf\xbf", 0, "U+DFFF (surrogate)"),
	V("\xed\xa0\x80\xed\xb0\x80", 0, "surrogate pair"),
	V("\xf4\x90\x80\x80", 0, "U+110000"),
	V("\xf5\x80\x80\x80", 0, "F5 lead"),
	V("\xf7\xbf\xbf\xbf", 0, "U+1FFFFF"),
	V("\xfe", 0, "FE"),
	V("\xff", 0, "FF"),
	V("\x80", 0, "lone continuation"),
	V("a\xbf", 0, "continuation after ASCII"),
	V("\xc2\x41", 0, "2-byte lead, ASCII"),
	V("\xe2\x82\x41", 0, "3-byte lead, ASCII third"),
	V("\xe2\x82\xac\xac", 0, "extra continuation"),
	V("\xc2", 2, "truncated 2-byte"),
	V("\xe2\x82", 2, "truncated 3-byte"),
	V("\xf0\x9f\x98", 2, "truncated 4-byte"),
	V("abc\xf4", 2, "F4 alone"),
};

static int
test_utf8_run(const uint8_t *p, size_t n, size_t step)
{
	struct ws_utf8	u;
	size_t		i, k;

	ws_utf8_init(&u);
	for (i = 0; i < n; i += k) {
		k = n - i < step ? n - i : step;
		if (!ws_utf8_feed(&u, p + i, k))
			return 0;
	}
	return ws_utf8_complete(&u) ? 1 : 2;
}

static void
test_utf8(void)
{
	const struct test_utf8_vec	*v;
	struct ws_utf8			 u;
	size_t				 i, step;
	int				 same;

	for (i = 0; i < sizeof(test_utf8_vecs) / sizeof(*test_utf8_vecs);
	    i++) {
		v = &test_utf8_vecs[i];
		is_int(test_utf8_run((const uint8_t *)v->s, v->n, 64),
		    v->want, v->what);
		same = 1;
		for (step = 1; step < 5; step++)
			if (test_utf8_run((const uint8_t *)v->s, v->n, step) !=
			    v->want)
				same = 0;
		ok(same, "same result fed in pieces");
	}

	/* Fail fast: rejected before the rest of the sequence. */
	ws_utf8_init(&u);
	ok(!ws_utf8_feed(&u, S("\xe0\x80")), "E0 80 fails at once");
	ws_utf8_init(&u);
	ok(!ws_utf8_feed(&u, S("\xed\xa0")), "ED A0 fails at once");
	ws_utf8_init(&u);
	ok(!ws_utf8_feed(&u, S("\xf4\x90")), "F4 90 fails at once");
	ws_utf8_init(&u);
	ok(!ws_utf8_feed(&u, S("\xf0\x8f")), "F0 8F fails at once");
	ok(!ws_utf8_feed(&u, S("a")), "rejected stays rejected");
	ok(!ws_utf8_complete(&u), "rejected is not complete");
	ws_utf8_init(&u);
	ok(ws_utf8_feed(&u, S("\xe2\x82")), "euro, first two bytes");
	ok(!ws_utf8_complete(&u), "euro pending");
	ok(ws_utf8_feed(&u, S("\xac")), "euro, last byte");
	ok(ws_utf8_complete(&u), "euro complete");
	is_int(u.codepoint, 0x20ac, "euro code point");
	ok(ws_utf8_feed(&u, S("\xf0\x9f\x98\x80")), "emoji");
	is_int(u.codepoint, 0x1f600, "emoji code point");
	ok(ws_utf8_feed(&u, NULL, 0), "empty feed");
}

static void
test_reader_basic(void)
{
	static const uint8_t	 hello[] =
	    "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	static const uint8_t	 pong[] =
	    "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
	struct ws_reader	 r;
	struct ws_event		 ev;
	uint8_t			*keep = NULL, two[22], copy[22];
	size_t			 i;

	ws_reader_init(&r, 1024);
	is_int(test_read(&r, hello, 11, &ev, &keep), 11, "§5.7 masked Hello");
	ok(ev.type == WS_EV_TEXT && ev.len == 5 &&
	    memcmp(ev.data, "Hello", 5) == 0, "text Hello");
	ok(ev.data == keep + 6, "single frame: data in buf");
	is_int(test_read(&r, pong, 11, &ev, &keep), 11, "§5.7 masked pong");
	ok(ev.type == WS_EV_PONG && ev.len == 5 &&
	    memcmp(ev.data, "Hello", 5) == 0, "pong Hello");
	is_int(test_send(&r, 0x89, S("Hello"), &ev, &keep), 11, "ping");
	ok(ev.type == WS_EV_PING && ev.len == 5 &&
	    memcmp(ev.data, "Hello", 5) == 0, "ping Hello");

	/* Every prefix: 0, and neither buf nor reader touched. */
	for (i = 0; i < 11; i++) {
		memcpy(copy, hello, 11);
		if (ws_read(&r, copy, i, &ev) != 0 ||
		    memcmp(copy, hello, 11) != 0)
			break;
	}
	is_int(i, 11, "prefixes: 0, buf unchanged");

	/* Two frames back to back: one at a time. */
	memcpy(two, hello, 11);
	memcpy(two + 11, pong, 11);
	is_int(ws_read(&r, two, 22, &ev), 11, "first of two");
	is_int(ev.type, WS_EV_TEXT, "first is text");
	is_int(ws_read(&r, two + 11, 11, &ev), 11, "second of two");
	is_int(ev.type, WS_EV_PONG, "second is pong");

	is_int(test_send(&r, 0x81, NULL, 0, &ev, &keep), 6, "empty text");
	ok(ev.type == WS_EV_TEXT && ev.len == 0, "empty text event");
	is_int(test_send(&r, 0x82, S("\xff\x00\xfe"), &ev, &keep), 9,
	    "binary with non-UTF-8");
	ok(ev.type == WS_EV_BINARY && ev.len == 3 &&
	    memcmp(ev.data, "\xff\x00\xfe", 3) == 0, "binary event");
	ws_reader_clear(&r);
	free(keep);
}

static void
test_reader_lengths(void)
{
	struct ws_reader	 r;
	struct ws_event		 ev;
	uint8_t			*keep = NULL, *p, head[WS_MAX_HEAD];
	size_t			 i, hl;

	p = malloc(65537);
	for (i = 0; i < 65537; i++)
		p[i] = (uint8_t)i;
	ws_reader_init(&r, 65536);
	is_int(test_send(&r, 0x82, p, 256, &ev, &keep), 8 + 256,
	    "§5.7 256-byte binary");
	ok(ev.type == WS_EV_BINARY && ev.len == 256 &&
	    memcmp(ev.data, p, 256) == 0, "256 bytes intact");
	is_int(test_send(&r, 0x82, p, 65536, &ev, &keep), 14 + 65536,
	    "§5.7 64 KiB binary, exactly max_message");
	ok(ev.type == WS_EV_BINARY && ev.len == 65536 &&
	    memcmp(ev.data, p, 65536) == 0, "64 KiB intact");
	is_int(test_send(&r, 0x82, p, 65537, &ev, &keep), -1,
	    "max_message + 1");
	is_int(ev.close_code, 1009, "too big: 1009");
	ws_reader_clear(&r);

	/* Refused from the head alone, before the payload arrives. */
	ws_reader_init(&r, 65536);
	ws_frame_head_build(head, WS_OP_BINARY, true, 65537);
	head[1] |= 0x80;
	memcpy(head + 10, test_mask, 4);
	is_int(ws_read(&r, head, 14, &ev), -1, "1009 from the head");
	is_int(ev.close_code, 1009, "head only: 1009");
	ws_frame_head_build(head, WS_OP_BINARY, true, UINT64_MAX >> 1);
	head[1] |= 0x80;
	is_int(ws_read(&r, head, 14, &ev), -1, "2^63 - 1 refused");
	is_int(ev.close_code, 1009, "2^63 - 1: 1009");
	ws_frame_head_build(head, WS_OP_BINARY, true, 65536);
	head[1] |= 0x80;
	is_int(ws_read(&r, head, 14, &ev), 0, "at the limit: wait");
	ws_reader_clear(&r);

	/* Over fragments: exactly at the limit, then one more byte. */
	ws_reader_init(&r, 10);
	is_int(test_send(&r, 0x01, S("01234"), &ev, &keep), 11, "frag 5");
	is_int(test_send(&r, 0x00, S("5678"), &ev, &keep), 10, "frag 4");
	is_int(test_send(&r, 0x80, S("9"), &ev, &keep), 7, "frag 1 = 10");
	ok(ev.type == WS_EV_TEXT && ev.len == 10 &&
	    memcmp(ev.data, "0123456789", 10) == 0, "10 bytes, at limit");
	ok(r.cap <= 10, "buffer bounded by max_message");
	is_int(test_send(&r, 0x02, S("01234"), &ev, &keep), 11, "frag 5");
	is_int(test_send(&r, 0x00, S("56789"), &ev, &keep), 11, "frag 5");
	hl = test_frame(head, 0x80, NULL, 0);
	head[1] = 0x80 | 1;
	is_int(ws_read(&r, head, hl, &ev), -1, "11th byte from its head");
	is_int(ev.close_code, 1009, "fragments over limit: 1009");
	ws_reader_clear(&r);

	/* Control frames do not count against max_message. */
	ws_reader_init(&r, 4);
	is_int(test_send(&r, 0x89, p, 125, &ev, &keep), 131, "ping 125");
	is_int(ev.type, WS_EV_PING, "ping over max_message is fine");
	is_int(test_send(&r, 0x82, p, 4, &ev, &keep), 10, "4 bytes at 4");
	ws_reader_clear(&r);
	ws_reader_init(&r, 0);
	is_int(test_send(&r, 0x81, NULL, 0, &ev, &keep), 6,
	    "max_message 0: empty ok");
	is_int(test_send(&r, 0x81, S("a"), &ev, &keep), -1,
	    "max_message 0: 1 byte");
	ws_reader_clear(&r);
	free(p);
	free(keep);
}

static void
test_reader_fragments(void)
{
	struct ws_reader	 r;
	struct ws_event		 ev;
	uint8_t			*keep = NULL;

	ws_reader_init(&r, 1024);
	/* §5.7 fragmented "Hello", with a ping and a pong in between. */
	is_int(test_send(&r, 0x01, S("Hel"), &ev, &keep), 9, "Hel");
	is_int(ev.type, WS_EV_NONE, "first fragment: no event");
	is_int(test_send(&r, 0x89, S("p"), &ev, &keep), 7, "ping between");
	ok(ev.type == WS_EV_PING && ev.len == 1 && ev.data[0] == 'p',
	    "ping between fragments delivered");
	is_int(test_send(&r, 0x8a, NULL, 0, &ev, &keep), 6, "pong between");
	is_int(ev.type, WS_EV_PONG, "empty pong");
	is_int(test_send(&r, 0x80, S("lo"), &ev, &keep), 8, "lo");
	ok(ev.type == WS_EV_TEXT && ev.len == 5 &&
	    memcmp(ev.data, "Hello", 5) == 0, "reassembled Hello");
	ok(ev.data == r.buf, "reassembled: data in reader buffer");

	/* Three binary fragments, one of them empty. */
	is_int(test_send(&r, 0x02, S("\x00\x01"), &ev, &keep), 8, "b1");
	is_int(test_send(&r, 0x00, NULL, 0, &ev, &keep), 6, "b2 empty");
	is_int(test_send(&r, 0x80, S("\xff"), &ev, &keep), 7, "b3");
	ok(ev.type == WS_EV_BINARY && ev.len == 3 &&
	    memcmp(ev.data, "\x00\x01\xff", 3) == 0, "binary reassembled");

	/* An empty message in two empty fragments. */
	is_int(test_send(&r, 0x01, NULL, 0, &ev, &keep), 6, "empty start");
	is_int(test_send(&r, 0x80, NULL, 0, &ev, &keep), 6, "empty end");
	ok(ev.type == WS_EV_TEXT && ev.len == 0, "empty reassembled text");

	/* A character split across fragments. */
	is_int(test_send(&r, 0x01, S("\xe2"), &ev, &keep), 7, "E2");
	is_int(test_send(&r, 0x00, S("\x82"), &ev, &keep), 7, "82");
	is_int(test_send(&r, 0x80, S("\xac!"), &ev, &keep), 8, "AC !");
	ok(ev.type == WS_EV_TEXT && ev.len == 4 &&
	    memcmp(ev.data, "\xe2\x82\xac!", 4) == 0, "euro across 3 frames");
	/* A close between fragments ends it all. */
	is_int(test_send(&r, 0x01, S("a"), &ev, &keep), 7, "start");
	is_int(test_send(&r, 0x88, S("\x03\xe8"), &ev, &keep), 8,
	    "close between fragments");
	ok(ev.type == WS_EV_CLOSE && ev.close_code == 1000,
	    "close 1000 between fragments");
	ws_reader_clear(&r);
	ws_reader_clear(&r);
	ok(r.buf == NULL && r.cap == 0, "clear twice");
	free(keep);
}

static void
test_reader_errors(void)
{
	static const uint8_t	 zeros[126];
	struct ws_reader	 r;
	struct ws_event		 ev;
	uint8_t			*keep = NULL, head[WS_MAX_HEAD];
	size_t			 hl;

	ws_reader_init(&r, 1024);
	is_int(test_send(&r, 0x80, S("x"), &ev, &keep), -1,
	    "continuation without a start");
	is_int(ev.close_code, 1002, "lone continuation: 1002");
	is_int(test_send(&r, 0x00, S("x"), &ev, &keep), -1,
	    "non-final continuation without a start");
	ws_reader_clear(&r);

	ws_reader_init(&r, 1024);
	test_send(&r, 0x01, S("a"), &ev, &keep);
	is_int(test_send(&r, 0x81, S("b"), &ev, &keep), -1,
	    "text inside a fragmented message");
	is_int(ev.close_code, 1002, "new text: 1002");
	ws_reader_clear(&r);
	ws_reader_init(&r, 1024);
	test_send(&r, 0x02, S("a"), &ev, &keep);
	hl = test_frame(head, 0x02, NULL, 0);
	head[1] |= 100;
	is_int(ws_read(&r, head, hl, &ev), -1,
	    "binary inside a fragmented message, from the head");
	is_int(ev.close_code, 1002, "new binary: 1002");
	ws_reader_clear(&r);

	ws_reader_init(&r, 1024);
	is_int(test_send(&r, 0xc1, S("a"), &ev, &keep), -1, "RSV1 frame");
	is_int(ev.close_code, 1002, "RSV1: 1002");
	is_int(test_read(&r, S("\x81\x01" "a"), &ev, &keep), -1,
	    "unmasked frame");
	is_int(ev.close_code, 1002, "unmasked: 1002");
	is_int(test_send(&r, 0x83, S("a"), &ev, &keep), -1, "opcode 3");
	is_int(test_send(&r, 0x09, S("a"), &ev, &keep), -1,
	    "fragmented ping");
	is_int(test_send(&r, 0x89, zeros, 126, &ev, &keep), -1,
	    "ping of 126");
	is_int(ev.close_code, 1002, "ping 126: 1002");
	is_int(ev.type, WS_EV_NONE, "error: no event");

	/* UTF-8 in text messages: 1007, failing fast. */
	is_int(test_send(&r, 0x81, S("\xc0\xaf"), &ev, &keep), -1,
	    "overlong in one frame");
	is_int(ev.close_code, 1007, "overlong: 1007");
	is_int(test_send(&r, 0x81, S("ok\xe2\x82"), &ev, &keep), -1,
	    "truncated at the end of a single frame");
	is_int(ev.close_code, 1007, "truncated: 1007");
	is_int(test_send(&r, 0x01, S("ok\xed\xa0"), &ev, &keep), -1,
	    "surrogate in a first fragment fails at once");
	is_int(ev.close_code, 1007, "surrogate fragment: 1007");
	ws_reader_clear(&r);
	ws_reader_init(&r, 1024);
	is_int(test_send(&r, 0x01, S("\xf4"), &ev, &keep), 7, "F4 pending");
	is_int(test_send(&r, 0x00, S("\x90"), &ev, &keep), -1,
	    "> U+10FFFF across fragments");
	is_int(ev.close_code, 1007, "above U+10FFFF: 1007");
	ws_reader_clear(&r);
	ws_reader_init(&r, 1024);
	is_int(test_send(&r, 0x01, S("\xf0\x9f"), &ev, &keep), 8, "emoji 1/2");
	is_int(test_send(&r, 0x80, S("\x98"), &ev, &keep), -1,
	    "emoji cut at the final fragment");
	is_int(ev.close_code, 1007, "cut at end: 1007");
	ws_reader_clear(&r);
	free(keep);
}

static void
test_reader_close(void)
{
	static const struct {
		uint16_t	code;
		bool		ok;
	} codes[] = {
		{ 0, false }, { 999, false }, { 1000, true }, { 1001, true },
		{ 1002, true }, { 1003, true }, { 1004, false },
		{ 1005, false }, { 1006, false }, { 1007, true },
		{ 1008, true }, { 1009, true }, { 1010, true },
		{ 1011, true }, { 1012, true }, { 1013, true },
		{ 1014, true }, { 1015, false }, { 1016, false },
		{ 2000, false }, { 2999, false }, { 3000, true },
		{ 3999, true }, { 4000, true }, { 4999, true },
		{ 5000, false }, { 65535, false },
	};
	struct ws_reader	 r;
	struct ws_event		 ev;
	uint8_t			*keep = NULL, body[WS_MAX_CONTROL];
	uint8_t			 head[WS_MAX_HEAD];
	size_t			 i, n;
	ssize_t			 rc;
	char			 what[64];

	ws_reader_init(&r, 16);
	is_int(test_send(&r, 0x88, NULL, 0, &ev, &keep), 6, "empty close");
	ok(ev.type == WS_EV_CLOSE && ev.close_code == 1005 && ev.len == 0,
	    "no body: 1005");
	n = ws_close_body(body, 1000, "bye");
	is_int(test_send(&r, 0x88, body, n, &ev, &keep), 11, "close bye");
	ok(ev.type == WS_EV_CLOSE && ev.close_code == 1000 && ev.len == 3 &&
	    memcmp(ev.data, "bye", 3) == 0, "1000 bye");
	n = ws_close_body(body, 1001, NULL);
	is_int(test_send(&r, 0x88, body, n, &ev, &keep), 8, "close 1001");
	ok(ev.type == WS_EV_CLOSE && ev.close_code == 1001 && ev.len == 0,
	    "1001, no reason");
	/* A reason longer than max_message: control frames are exempt. */
	memset(body + 2, 'r', 123);
	is_int(test_send(&r, 0x88, body, 125, &ev, &keep), 131, "close 125");
	is_int(ev.len, 123, "123-byte reason");

	is_int(test_send(&r, 0x88, S("\x03"), &ev, &keep), -1, "body of 1");
	is_int(ev.close_code, 1002, "body of 1: 1002");
	test_frame(head, 0x88, NULL, 0);
	head[1] |= 1;
	is_int(ws_read(&r, head, 6, &ev), -1, "body of 1 from the head");
	is_int(ev.close_code, 1002, "head: 1002");
	for (i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
		n = ws_close_body(body, codes[i].code, "x");
		rc = test_send(&r, 0x88, body, n, &ev, &keep);
		snprintf(what, sizeof(what), "close code %u %s",
		    codes[i].code, codes[i].ok ? "accepted" : "refused 1002");
		if (codes[i].ok)
			ok(rc == 9 && ev.type == WS_EV_CLOSE &&
			    ev.close_code == codes[i].code, what);
		else
			ok(rc == -1 && ev.close_code == 1002, what);
	}
	n = ws_close_body(body, 1000,
	    "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5");
	is_int(test_send(&r, 0x88, body, n, &ev, &keep), (ssize_t)n + 6,
	    "UTF-8 reason");
	is_int(test_send(&r, 0x88, S("\x03\xe8\xff"), &ev, &keep), -1,
	    "invalid UTF-8 reason");
	is_int(ev.close_code, 1007, "bad reason: 1007");
	is_int(test_send(&r, 0x88, S("\x03\xe8ok\xe2\x82"), &ev, &keep), -1,
	    "truncated UTF-8 reason");
	is_int(ev.close_code, 1007, "truncated reason: 1007");
	is_int(test_send(&r, 0x88, S("\x03\xed\xff"), &ev, &keep), -1,
	    "bad code and bad reason");
	is_int(ev.close_code, 1002, "the code is checked first");
	ws_reader_clear(&r);
	free(keep);
}

int
main(void)
{
	test_accept();
	test_handshake();
	test_head_build();
	test_frame_parse();
	test_unmask();
	test_close_body();
	test_utf8();
	test_reader_basic();
	test_reader_lengths();
	test_reader_fragments();
	test_reader_errors();
	test_reader_close();
	return tap_done();
}
