/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * libFuzzer harness for the WebSocket codec (src/ws/). The first byte picks
 * a mode and max_message:
 *
 *  raw     the rest is a stream of client bytes, fed to ws_read frame by
 *          frame as the glue would; each whole frame is first offered
 *          short of its last byte (must wait, or fail the same way).
 *  frames  the rest is a list of (flags, length, payload) tuples that the
 *          harness encodes as masked client frames, so fuzzing reaches
 *          reassembly, UTF-8 across fragments and close bodies; every
 *          result is compared with a model written from RFC 6455 here.
 *  misc    the handshake check, ws_close_body and the UTF-8 validator
 *          against a reference decoder.
 *
 * Also linked with replay.c for `make check`.
 */
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_WS_MAX_PAYLOAD	65535

static void
fuzz_ws_check(bool cond)
{
	if (!cond)
		abort();
}

/*
 * Reference UTF-8 check, written independently of ws_utf8.c: decode each
 * sequence by its lead byte; a sequence cut short by the end is "prefix"
 * when some continuation makes it a valid scalar value of that length.
 */
enum fuzz_utf8 { FUZZ_UTF8_VALID, FUZZ_UTF8_PREFIX, FUZZ_UTF8_INVALID };

static bool
fuzz_ws_scalar_ok(uint32_t lo, uint32_t hi, int n)
{
	static const uint32_t	least[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (lo < least[n])
		lo = least[n];
	if (hi > 0x10ffff)
		hi = 0x10ffff;
	if (lo > hi)
		return false;
	/* Some value in [lo, hi] outside the surrogates? */
	return !(lo >= 0xd800 && hi <= 0xdfff);
}

static enum fuzz_utf8
fuzz_ws_utf8_ref(const uint8_t *p, size_t len)
{
	uint32_t	lo, hi;
	size_t		i = 0, k;
	int		n, sh;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0)
			n = 2;
		else if ((p[i] & 0xf0) == 0xe0)
			n = 3;
		else if ((p[i] & 0xf8) == 0xf0)
			n = 4;
		else
			return FUZZ_UTF8_INVALID;
		lo = hi = p[i] & (0x7f >> n);
		for (k = 1; k < (size_t)n; k++) {
			if (i + k < len) {
				if ((p[i + k] & 0xc0) != 0x80)
					return FUZZ_UTF8_INVALID;
				lo = lo << 6 | (p[i + k] & 0x3f);
				hi = hi << 6 | (p[i + k] & 0x3f);
			} else {
				lo = lo << 6;
				hi = hi << 6 | 0x3f;
			}
			/* A prefix no continuation can rescue fails here. */
			sh = 6 * (n - 1 - (int)k);
			if (!fuzz_ws_scalar_ok(lo << sh,
			    hi << sh | ((1U << sh) - 1), n))
				return FUZZ_UTF8_INVALID;
		}
		if (i + (size_t)n > len)
			return FUZZ_UTF8_PREFIX;
		i += (size_t)n;
	}
	return FUZZ_UTF8_VALID;
}

/* The validator must agree with the reference, fed whole and in pieces. */
static void
fuzz_ws_utf8(const uint8_t *p, size_t len, size_t step)
{
	struct ws_utf8	u;
	enum fuzz_utf8	want = fuzz_ws_utf8_ref(p, len);
	bool		good = true;
	size_t		i, k;

	ws_utf8_init(&u);
	for (i = 0; i < len && good; i += k) {
		k = len - i < step ? len - i : step;
		good = ws_utf8_feed(&u, p + i, k);
	}
	if (want == FUZZ_UTF8_INVALID)
		fuzz_ws_check(!good);
	else
		fuzz_ws_check(good && ws_utf8_complete(&u) ==
		    (want == FUZZ_UTF8_VALID));
}

static bool
fuzz_ws_code_ok(uint16_t c)
{
	/* RFC 6455 §7.4.1, §7.4.2 and the IANA registry (1012-1014). */
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
	    (c >= 3000 && c <= 4999);
}

/* ev->data lies in the frame just consumed or in the reader's buffer. */
static void
fuzz_ws_event(const struct ws_reader *r, const struct ws_event *ev,
    const uint8_t *frame, size_t n)
{
	if (ev->len > 0)
		fuzz_ws_check((ev->data >= frame &&
		    ev->data + ev->len <= frame + n) ||
		    (r->buf != NULL && ev->data >= r->buf &&
		    ev->data + ev->len <= r->buf + r->len));
	fuzz_ws_check(r->len <= r->max_message && r->cap <= r->max_message);
	switch (ev->type) {
	case WS_EV_TEXT:
		fuzz_ws_check(fuzz_ws_utf8_ref(ev->data, ev->len) ==
		    FUZZ_UTF8_VALID);
		/* FALLTHROUGH */
	case WS_EV_BINARY:
		fuzz_ws_check(ev->len <= r->max_message);
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		fuzz_ws_check(ev->len <= WS_MAX_CONTROL);
		break;
	case WS_EV_CLOSE:
		fuzz_ws_check(ev->close_code == WS_CLOSE_NO_STATUS ?
		    ev->len == 0 : fuzz_ws_code_ok(ev->close_code));
		fuzz_ws_check(ev->len <= WS_MAX_CONTROL - 2);
		fuzz_ws_check(fuzz_ws_utf8_ref(ev->data, ev->len) ==
		    FUZZ_UTF8_VALID);
		break;
	case WS_EV_NONE:
		fuzz_ws_check(r->fragmented);
		break;
	}
}

/*
 * Offer buf[0..len) short of the frame's last byte: the reader must wait
 * (touching nothing) or fail. Returns that result.
 */
static ssize_t
fuzz_ws_short(struct ws_reader *r, uint8_t *buf, size_t len,
    uint16_t *code)
{
	struct ws_reader	 before = *r;
	struct ws_frame		 f;
	struct ws_event		 ev;
	uint8_t			*copy;
	size_t			 total;
	ssize_t			 rc;

	if (ws_frame_parse(buf, len, &f, code) <= 0 ||
	    f.len > len - f.head_len)
		return 0;
	total = f.head_len + (size_t)f.len;
	copy = malloc(total);
	memcpy(copy, buf, total);
	rc = ws_read(r, buf, total - 1, &ev);
	fuzz_ws_check(rc == 0 || rc == -1);
	if (rc == 0)
		fuzz_ws_check(memcmp(copy, buf, total) == 0 &&
		    before.buf == r->buf && before.len == r->len &&
		    before.cap == r->cap && before.op == r->op &&
		    before.fragmented == r->fragmented &&
		    before.utf8.state == r->utf8.state &&
		    ev.type == WS_EV_NONE);
	*code = ev.close_code;
	free(copy);
	return rc;
}

static void
fuzz_ws_raw(const uint8_t *data, size_t size, size_t max_message)
{
	struct ws_reader	 r;
	struct ws_event		 ev;
	uint8_t			*buf;
	size_t			 off = 0;
	ssize_t			 rc, early;
	uint16_t		 code = 0;

	buf = malloc(size > 0 ? size : 1);
	memcpy(buf, data, size);
	ws_reader_init(&r, max_message);
	while (off < size) {
		early = fuzz_ws_short(&r, buf + off, size - off, &code);
		rc = ws_read(&r, buf + off, size - off, &ev);
		fuzz_ws_check(rc >= -1 && rc <= (ssize_t)(size - off));
		if (early == -1)
			fuzz_ws_check(rc == -1 && ev.close_code == code);
		if (rc == -1) {
			fuzz_ws_check(ev.type == WS_EV_NONE &&
			    (ev.close_code == WS_CLOSE_PROTOCOL ||
			    ev.close_code == WS_CLOSE_INVALID_DATA ||
			    ev.close_code == WS_CLOSE_TOO_BIG));
			break;
		}
		if (rc == 0)
			break;
		fuzz_ws_event(&r, &ev, buf + off, (size_t)rc);
		off += (size_t)rc;
	}
	ws_reader_clear(&r);
	free(buf);
}

/* What the model expects of one frame. */
struct fuzz_ws_model {
	bool		 fragmented;
	uint8_t		 op;
	uint8_t		*msg;		/* the message so far */
	size_t		 len;
	size_t		 max_message;
};

/*
 * The close code RFC 6455 asks for, or 0 and the event in *ev; *head tells
 * whether the head alone decides it.
 */
static uint16_t
fuzz_ws_expect(struct fuzz_ws_model *m, uint8_t b0, const uint8_t *p,
    size_t n, struct ws_event *ev, bool *head)
{
	uint8_t		op = b0 & 0x0f;
	bool		fin = (b0 & 0x80) != 0, ctl = (op & 0x08) != 0;
	enum fuzz_utf8	u;

	memset(ev, 0, sizeof(*ev));
	*head = true;
	if ((b0 & 0x70) != 0 || (op > 2 && op < 8) || op > 10 ||
	    (ctl && (!fin || n > 125)))
		return WS_CLOSE_PROTOCOL;
	if (op == WS_OP_CONT && !m->fragmented)
		return WS_CLOSE_PROTOCOL;
	if ((op == WS_OP_TEXT || op == WS_OP_BINARY) && m->fragmented)
		return WS_CLOSE_PROTOCOL;
	if (!ctl && (op == WS_OP_CONT ? m->len : 0) + n > m->max_message)
		return WS_CLOSE_TOO_BIG;
	if (op == WS_OP_CLOSE && n == 1)
		return WS_CLOSE_PROTOCOL;
	*head = false;
	if (ctl) {
		ev->data = p;
		ev->len = n;
		ev->type = op == WS_OP_PING ? WS_EV_PING :
		    op == WS_OP_PONG ? WS_EV_PONG : WS_EV_CLOSE;
		if (op != WS_OP_CLOSE)
			return 0;
		if (n == 0) {
			ev->close_code = WS_CLOSE_NO_STATUS;
			return 0;
		}
		ev->close_code = (uint16_t)(p[0] << 8 | p[1]);
		if (!fuzz_ws_code_ok(ev->close_code))
			return WS_CLOSE_PROTOCOL;
		if (fuzz_ws_utf8_ref(p + 2, n - 2) != FUZZ_UTF8_VALID)
			return WS_CLOSE_INVALID_DATA;
		ev->data = p + 2;
		ev->len = n - 2;
		return 0;
	}
	if (op != WS_OP_CONT) {
		m->op = op;
		m->len = 0;
	}
	memcpy(m->msg + m->len, p, n);
	m->len += n;
	m->fragmented = !fin;
	if (m->op == WS_OP_TEXT) {
		u = fuzz_ws_utf8_ref(m->msg, m->len);
		if (u == FUZZ_UTF8_INVALID || (fin && u != FUZZ_UTF8_VALID))
			return WS_CLOSE_INVALID_DATA;
	}
	if (fin) {
		ev->type = m->op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
		ev->data = m->msg;
		ev->len = m->len;
	}
	return 0;
}

/* A masked client frame; enc 1 and 2 force 16- and 64-bit lengths. */
static size_t
fuzz_ws_encode(uint8_t *out, uint8_t b0, int enc, const uint8_t *p,
    size_t n, const uint8_t mask[4])
{
	size_t	h, i;

	if (enc == 1 && n <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
		h = 4;
	} else if (enc == 2) {
		out[1] = 127;
		for (i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		h = 10;
	} else
		h = ws_frame_head_build(out, 0, false, n);
	out[0] = b0;
	out[1] |= 0x80;
	memcpy(out + h, mask, 4);
	memcpy(out + h + 4, p, n);
	ws_unmask(out + h + 4, n, mask, 0);
	return h + 4 + n;
}

static const uint8_t	fuzz_ws_ops[8] = {
	WS_OP_CONT, WS_OP_TEXT, WS_OP_BINARY, WS_OP_CLOSE,
	WS_OP_PING, WS_OP_PONG, WS_OP_CONT, WS_OP_TEXT
};

/*
 * Tuple: flags (bits 0-2 opcode from fuzz_ws_ops, 3 raw first byte
 * follows, 4 FIN, 5-6 length encoding, 7 two length bytes), length, then
 * the payload, padded by repeating it when the input runs out.
 */
static void
fuzz_ws_frames(const uint8_t *data, size_t size, size_t max_message)
{
	struct fuzz_ws_model	 m;
	struct ws_reader	 r;
	struct ws_event		 ev, want;
	uint8_t			*pay, *frame, b0, mask[4];
	size_t			 i = 0, n, avail, k, fl, nframe = 0;
	ssize_t			 rc;
	uint16_t		 wcode;
	bool			 head;

	pay = malloc(FUZZ_WS_MAX_PAYLOAD);
	frame = malloc(FUZZ_WS_MAX_PAYLOAD + WS_MAX_HEAD);
	memset(&m, 0, sizeof(m));
	m.max_message = max_message;
	m.msg = malloc(max_message + FUZZ_WS_MAX_PAYLOAD);
	ws_reader_init(&r, max_message);
	while (i + 2 <= size) {
		uint8_t	fl0 = data[i++];

		b0 = (fl0 & 0x10 ? 0x80 : 0) | fuzz_ws_ops[fl0 & 7];
		if ((fl0 & 0x08) && i < size)
			b0 = data[i++];
		n = i < size ? data[i++] : 0;
		if ((fl0 & 0x80) && i < size)
			n = n << 8 | data[i++];
		avail = size - i < n ? size - i : n;
		memcpy(pay, data + i, avail);
		i += avail;
		for (k = avail; k < n; k++)
			pay[k] = avail > 0 ? pay[k % avail] : 'a';
		for (k = 0; k < 4; k++)
			mask[k] = (uint8_t)(nframe * 0x9d + k * 0x35);
		nframe++;
		fl = fuzz_ws_encode(frame, b0, (fl0 >> 5) & 3, pay, n, mask);

		/* The model first, on its own copy of the payload. */
		wcode = fuzz_ws_expect(&m, b0, pay, n, &want, &head);

		/*
		 * The head alone (short of a byte when there is no payload):
		 * wait, or fail as the head decides; a whole head must.
		 */
		rc = ws_read(&r, frame, fl - n - (n == 0), &ev);
		fuzz_ws_check(rc == 0 || (rc == -1 && ev.close_code == wcode &&
		    head));
		if (n > 0 && wcode != 0 && head)
			fuzz_ws_check(rc == -1);
		if (rc == -1)
			break;
		rc = ws_read(&r, frame, fl, &ev);
		if (wcode != 0) {
			fuzz_ws_check(rc == -1 && ev.close_code == wcode &&
			    ev.type == WS_EV_NONE);
			break;
		}
		fuzz_ws_check(rc == (ssize_t)fl && ev.type == want.type &&
		    ev.len == want.len && ev.close_code == want.close_code);
		if (ev.len > 0)
			fuzz_ws_check(memcmp(ev.data, want.data, ev.len) == 0);
		fuzz_ws_event(&r, &ev, frame, fl);
	}
	ws_reader_clear(&r);
	free(m.msg);
	free(frame);
	free(pay);
}

/* Split data at '\n' into up to n fields. */
static size_t
fuzz_ws_fields(const uint8_t *data, size_t size, const char **f,
    size_t *fl, size_t n)
{
	const uint8_t	*nl;
	size_t		 i;

	for (i = 0; i < n && size > 0; i++) {
		f[i] = (const char *)data;
		nl = memchr(data, '\n', size);
		fl[i] = nl != NULL ? (size_t)(nl - data) : size;
		size -= fl[i] + (nl != NULL);
		data += fl[i] + (nl != NULL);
	}
	return i;
}

static void
fuzz_ws_misc(const uint8_t *data, size_t size, uint8_t sel)
{
	struct ws_upgrade	 u;
	const char		*f[5] = { NULL };
	size_t			 fl[5] = { 0 }, n;
	uint8_t			 body[WS_MAX_CONTROL];
	char			 acc[29], again[29], *reason;
	int			 rc;

	memset(&u, 0, sizeof(u));
	fuzz_ws_fields(data, size, f, fl, 5);
	u.method = f[0], u.method_len = fl[0];
	u.upgrade = f[1], u.upgrade_len = fl[1];
	u.connection = f[2], u.connection_len = fl[2];
	u.version = f[3], u.version_len = fl[3];
	u.key = f[4], u.key_len = fl[4];
	u.http_minor = sel & 1;
	rc = ws_handshake_check(&u, acc);
	fuzz_ws_check(rc == 0 || rc == 400 || rc == 426);
	if (rc == 0) {
		fuzz_ws_check(strlen(acc) == WS_ACCEPT_LEN);
		while (*u.key == ' ' || *u.key == '\t')
			u.key++, u.key_len--;
		ws_accept_key(u.key, 24, again);
		fuzz_ws_check(strcmp(acc, again) == 0);
	} else
		fuzz_ws_check(acc[0] == '\0');

	/* The whole input as UTF-8, whole and in pieces. */
	fuzz_ws_utf8(data, size, size > 0 ? size : 1);
	fuzz_ws_utf8(data, size, 1 + sel % 5);

	/* Close bodies keep a valid reason valid when they cut it. */
	reason = malloc(size + 1);
	memcpy(reason, data, size);
	reason[size] = '\0';
	n = ws_close_body(body, (uint16_t)(sel * 1009), reason);
	fuzz_ws_check(n >= 2 && n <= WS_MAX_CONTROL &&
	    memcmp(body + 2, reason, n - 2) == 0);
	if (fuzz_ws_utf8_ref((uint8_t *)reason, strlen(reason)) ==
	    FUZZ_UTF8_VALID)
		fuzz_ws_check(fuzz_ws_utf8_ref(body + 2, n - 2) ==
		    FUZZ_UTF8_VALID);
	free(reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	sel;
	size_t	max_message;

	if (size < 1)
		return 0;
	sel = data[0];
	/* 0 to 1071 bytes: small enough that 1009 is reached. */
	max_message = (size_t)(sel >> 2) * 17;
	switch (sel & 3) {
	case 0:
	case 1:
		fuzz_ws_raw(data + 1, size - 1, max_message);
		break;
	case 2:
		fuzz_ws_frames(data + 1, size - 1, max_message);
		break;
	case 3:
		fuzz_ws_misc(data + 1, size - 1, sel >> 2);
		break;
	}
	return 0;
}
