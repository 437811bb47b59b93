/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * Unit tests for the user table (src/auth/): stateless nonces, candidate
 * keys of static users and TURN REST secrets, TURN REST passwords (known
 * answers computed outside the code under test), and the 401 limiter.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "stun_msg.h"
#include "tap.h"

#define REALM	"example.org"
#define NOW	1700000000ULL

static struct sockaddr_storage
sa(const char *ip, uint16_t port)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof(ss));
	if (addr_parse_ip(ip, &ss) == 0)
		addr_set_port((struct sockaddr *)&ss, port);
	return ss;
}

#define SA(ss)	((const struct sockaddr *)&(ss))

static struct config *
conf(const char *text)
{
	struct config	*cfg = config_new();
	char		 err[256];

	if (config_parse_text(cfg, text, strlen(text), "test", err,
	    sizeof(err)) != CONFIG_OK ||
	    config_validate(cfg, err, sizeof(err)) != CONFIG_OK) {
		printf("# config: %s\n", err);
		abort();
	}
	return cfg;
}

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t		n = 0;
	unsigned int	v;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		if (sscanf(s, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
	}
	return n;
}

static void
test_nonce(void)
{
	struct config		*cfg = conf("realm=" REALM "\n");
	struct auth		*a = auth_new(cfg), *b = auth_new(cfg);
	struct sockaddr_storage	 c4 = sa("198.51.100.7", 40000);
	struct sockaddr_storage	 c4port = sa("198.51.100.7", 1);
	struct sockaddr_storage	 other = sa("198.51.100.8", 40000);
	struct sockaddr_storage	 c6 = sa("2001:db8::7", 40000);
	struct sockaddr_storage	 c6b = sa("2001:db8::8", 40000);
	char			 n[AUTH_NONCE_MAX], n2[AUTH_NONCE_MAX];
	char			 t[AUTH_NONCE_MAX + 2];
	size_t			 len, len2, i;
	bool			 hex = true;

	is_str(auth_realm(a), REALM, "realm from the configuration");
	len = auth_nonce_mint(a, SA(c4), NOW, n, sizeof(n));
	ok(len > 13 && len < AUTH_NONCE_MAX && strlen(n) == len,
	    "nonce minted, NUL-terminated");
	ok(strncmp(n, "obMatJos2", 9) == 0, "starts with the RFC 8489 cookie");
	for (i = 13; i < len; i++)
		if (!((n[i] >= '0' && n[i] <= '9') ||
		    (n[i] >= 'a' && n[i] <= 'f')))
			hex = false;
	ok(hex, "after cookie and features: lowercase hex");
	/* The nonce is text that fits a STUN attribute comfortably. */
	ok(len <= 128, "short enough for NONCE (RFC 8489: < 128 chars)");

	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW, 600),
	    AUTH_NONCE_OK, "fresh nonce: ok");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4port), NOW,
	    600), AUTH_NONCE_OK, "same IP, other port: ok");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW + 600,
	    600), AUTH_NONCE_OK, "max_age seconds old: ok");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW + 601,
	    600), AUTH_NONCE_STALE, "older: stale");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW + 5000,
	    30), AUTH_NONCE_STALE, "much older: stale");
	/* A nonce minted by a worker or node whose clock is a bit ahead. */
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW - 1,
	    600), AUTH_NONCE_OK, "1 s clock skew: ok");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW - 5,
	    600), AUTH_NONCE_OK, "5 s clock skew: ok");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c4), NOW - 100,
	    600), AUTH_NONCE_STALE, "from the future: stale");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(other), NOW,
	    600), AUTH_NONCE_BAD, "other client IP: bad");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c6), NOW, 600),
	    AUTH_NONCE_BAD, "other family: bad");
	is_int(auth_nonce_check(b, (const uint8_t *)n, len, SA(c4), NOW, 600),
	    AUTH_NONCE_BAD, "another server's key: bad");

	/* Tampering with any byte breaks it. */
	for (i = 0; i < len; i++) {
		memcpy(t, n, len);
		t[i] = t[i] == '0' ? '1' : '0';
		if (auth_nonce_check(a, (const uint8_t *)t, len, SA(c4), NOW,
		    600) != AUTH_NONCE_BAD)
			break;
	}
	is_int(i, len, "every single-byte change: bad");
	memcpy(t, n, len);
	for (i = 13; i < len; i++)
		if (t[i] >= 'a' && t[i] <= 'f')
			t[i] = (char)(t[i] - 'a' + 'A');
	ok(memcmp(t, n, len) == 0 || auth_nonce_check(a, (const uint8_t *)t,
	    len, SA(c4), NOW, 600) == AUTH_NONCE_BAD, "uppercase hex: bad");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len - 1, SA(c4), NOW,
	    600), AUTH_NONCE_BAD, "one byte short: bad");
	memcpy(t, n, len);
	t[len] = '0';
	is_int(auth_nonce_check(a, (const uint8_t *)t, len + 1, SA(c4), NOW,
	    600), AUTH_NONCE_BAD, "one byte long: bad");
	is_int(auth_nonce_check(a, (const uint8_t *)"", 0, SA(c4), NOW, 600),
	    AUTH_NONCE_BAD, "empty: bad");
	is_int(auth_nonce_check(a, (const uint8_t *)"obMatJos2AAAB", 13,
	    SA(c4), NOW, 600), AUTH_NONCE_BAD, "prefix only: bad");
	is_int(auth_nonce_mint(a, SA(c4), NOW, t, len), 0,
	    "mint into a buffer without room for the NUL: 0");

	/* Two nonces at different times differ; IPv6 works the same. */
	len2 = auth_nonce_mint(a, SA(c4), NOW + 1, n2, sizeof(n2));
	ok(len2 == len && memcmp(n, n2, len) != 0, "time changes the nonce");
	len = auth_nonce_mint(a, SA(c6), NOW, n, sizeof(n));
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c6), NOW, 600),
	    AUTH_NONCE_OK, "IPv6 client: ok");
	is_int(auth_nonce_check(a, (const uint8_t *)n, len, SA(c6b), NOW,
	    600), AUTH_NONCE_BAD, "other IPv6 client: bad");
	auth_free(a);
	auth_free(b);
	auth_free(NULL);
	config_free(cfg);

	cfg = conf("lt-cred-mech\n");
	a = auth_new(cfg);
	is_str(auth_realm(a), "turnpike", "default realm");
	auth_free(a);
	config_free(cfg);
	cfg = conf("server-name=turn.example.net\n");
	a = auth_new(cfg);
	is_str(auth_realm(a), "turn.example.net", "realm from server-name");
	auth_free(a);
	config_free(cfg);
}

/* base64(HMAC-SHA1(secret, user)), computed here with OpenSSL. */
static void
rest_by_hand(const char *secret, const char *user, char out[64])
{
	uint8_t		mac[EVP_MAX_MD_SIZE];
	unsigned int	len = 0;

	HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t *)user,
	    strlen(user), mac, &len);
	EVP_EncodeBlock((uint8_t *)out, mac, (int)len);
}

static void
test_rest_password(void)
{
	char	got[64], want[64];
	int	n;

	/* Known answers (Python hmac + base64, outside this code base). */
	n = auth_rest_password("north-wind", "1700003600:bob", 14, got,
	    sizeof(got));
	is_str(got, "u+wrjnL291nyRdV2iYlb7XM2OoE=", "REST password, vector 1");
	is_int(n, 28, "28 characters");
	auth_rest_password("south-wind", "1700003600:bob", 14, got,
	    sizeof(got));
	is_str(got, "8CEq7dinkqyC1P2joCsw4tcgHwI=", "REST password, vector 2");
	/* And against OpenSSL directly. */
	rest_by_hand("s3cr3t", "1893456000:alice", want);
	auth_rest_password("s3cr3t", "1893456000:alice", 16, got, sizeof(got));
	is_str(got, want, "REST password == HMAC-SHA1 + EVP_EncodeBlock");
	/* ulen counts: the rest of the buffer is not read. */
	auth_rest_password("s3cr3t", "1893456000:aliceXYZ", 16, got,
	    sizeof(got));
	is_str(got, want, "only ulen bytes of the name are used");
	is_int(auth_rest_password("s3cr3t", "x", 1, got, 28), -1,
	    "buffer without room for 28 + NUL: -1");
	ok(auth_rest_password("s3cr3t", "x", 1, got, 29) == 28,
	    "28 + NUL fits");
}

static void
test_user_key(void)
{
	struct config	*cfg;
	struct auth	*a;
	uint8_t		 key[AUTH_KEY_MAX], want[32], hexkey[16];
	static char	 longname[STUN_MAX_REASON + 1];
	char		 text[512], name[64], pass[64];
	size_t		 keylen;
	int		 i, n;

	n = snprintf(text, sizeof(text), "lt-cred-mech\nrealm=" REALM "\n"
	    "user=alice:secret\nuser=bob:hunter2\nuser=2000000000:pw\n"
	    "use-auth-secret\nstatic-auth-secret=north-wind\n"
	    "static-auth-secret=south-wind\nuser=carol:0x");
	stun_longterm_key("carol", REALM, "pw", hexkey);
	for (i = 0; i < 16; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%02X",
		    hexkey[i]);
	snprintf(text + n, sizeof(text) - (size_t)n, "\n");
	cfg = conf(text);
	a = auth_new(cfg);

	/* Static users: known answers for alice, then the others. */
	unhex("543e1aec5d3614f03141652d6ada51b2", want);
	ok(auth_user_key(a, "alice", 5, AUTH_ALG_MD5, NOW, 0, key, &keylen) ==
	    0 && keylen == 16 && memcmp(key, want, 16) == 0,
	    "alice MD5 key: MD5(alice:example.org:secret)");
	unhex("d1659fff7a501be15962adc35514ca6a"
	    "5868905695f2dd1093741f931e000a1f", want);
	ok(auth_user_key(a, "alice", 5, AUTH_ALG_SHA256, NOW, 0, key,
	    &keylen) == 0 && keylen == 32 && memcmp(key, want, 32) == 0,
	    "alice SHA-256 key: SHA-256(alice:example.org:secret)");
	is_int(auth_user_key(a, "alice", 5, AUTH_ALG_MD5, NOW, 1, key,
	    &keylen), -1, "alice has one candidate");
	stun_longterm_key("bob", REALM, "hunter2", want);
	ok(auth_user_key(a, "bobby", 3, AUTH_ALG_MD5, NOW, 0, key, &keylen) ==
	    0 && memcmp(key, want, 16) == 0,
	    "name not NUL-terminated: ulen bytes used");
	ok(auth_user_key(a, "carol", 5, AUTH_ALG_MD5, NOW, 0, key, &keylen) ==
	    0 && keylen == 16 && memcmp(key, hexkey, 16) == 0,
	    "user=carol:0x<key>: that key");
	is_int(auth_user_key(a, "carol", 5, AUTH_ALG_SHA256, NOW, 0, key,
	    &keylen), -1, "0x key: no SHA-256 candidate");
	is_int(auth_user_key(a, "mallory", 7, AUTH_ALG_MD5, NOW, 0, key,
	    &keylen), -1, "unknown user: none");
	is_int(auth_user_key(a, "", 0, AUTH_ALG_MD5, NOW, 0, key, &keylen),
	    -1, "empty name: none");
	is_int(auth_user_key(a, "ali\0ce", 6, AUTH_ALG_MD5, NOW, 0, key,
	    &keylen), -1, "NUL inside the name: none");
	is_int(auth_user_key(a, "Alice", 5, AUTH_ALG_MD5, NOW, 0, key,
	    &keylen), -1, "case matters");
	memset(longname, 'a', sizeof(longname));
	is_int(auth_user_key(a, longname, sizeof(longname), AUTH_ALG_MD5, NOW,
	    0, key, &keylen), -1, "name longer than 763 bytes: none");

	/* REST names: one candidate per secret, in order. */
	snprintf(name, sizeof(name), "%llu:bob", NOW + 3600);
	rest_by_hand("north-wind", name, pass);
	stun_longterm_key(name, REALM, pass, want);
	ok(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 0, key,
	    &keylen) == 0 && keylen == 16 && memcmp(key, want, 16) == 0,
	    "REST candidate 0: first secret");
	rest_by_hand("south-wind", name, pass);
	stun_longterm_key(name, REALM, pass, want);
	ok(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 1, key,
	    &keylen) == 0 && memcmp(key, want, 16) == 0,
	    "REST candidate 1: second secret");
	is_int(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 2, key,
	    &keylen), -1, "no third candidate");
	stun_longterm_key_sha256(name, REALM, pass, want);
	ok(auth_user_key(a, name, strlen(name), AUTH_ALG_SHA256, NOW, 1, key,
	    &keylen) == 0 && keylen == 32 && memcmp(key, want, 32) == 0,
	    "REST SHA-256 candidate");
	ok(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW + 3600, 0,
	    key, &keylen) == 0, "valid up to its expiry second");
	is_int(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW + 3601,
	    0, key, &keylen), -1, "expired: none");
	snprintf(name, sizeof(name), "%llu", NOW + 60);
	ok(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 0, key,
	    &keylen) == 0, "bare expiry as name");
	is_int(auth_user_key(a, "abc:bob", 7, AUTH_ALG_MD5, NOW, 0, key,
	    &keylen), -1, "no leading digits: not REST");
	is_int(auth_user_key(a, "1800000000-bob", 14, AUTH_ALG_MD5, NOW, 0,
	    key, &keylen), -1, "other separator: not REST");
	is_int(auth_user_key(a, "99999999999999999999999:bob", 27,
	    AUTH_ALG_MD5, NOW, 0, key, &keylen), -1, "overflowing expiry");
	/* A static user named like a REST name: static first, then REST. */
	stun_longterm_key("2000000000", REALM, "pw", want);
	ok(auth_user_key(a, "2000000000", 10, AUTH_ALG_MD5, NOW, 0, key,
	    &keylen) == 0 && memcmp(key, want, 16) == 0,
	    "static user first");
	rest_by_hand("north-wind", "2000000000", pass);
	stun_longterm_key("2000000000", REALM, pass, want);
	ok(auth_user_key(a, "2000000000", 10, AUTH_ALG_MD5, NOW, 1, key,
	    &keylen) == 0 && memcmp(key, want, 16) == 0,
	    "then the REST candidates");
	auth_free(a);
	config_free(cfg);

	/* Without use-auth-secret, REST names are unknown users. */
	cfg = conf("lt-cred-mech\nrealm=" REALM "\nstatic-auth-secret=x\n");
	a = auth_new(cfg);
	snprintf(name, sizeof(name), "%llu:bob", NOW + 3600);
	is_int(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 0, key,
	    &keylen), -1, "secret without use-auth-secret: ignored");
	auth_free(a);
	config_free(cfg);

	/* rest-api-separator. */
	cfg = conf("use-auth-secret\nstatic-auth-secret=k\nrealm=" REALM "\n"
	    "rest-api-separator=-\n");
	a = auth_new(cfg);
	snprintf(name, sizeof(name), "%llu-bob", NOW + 3600);
	ok(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 0, key,
	    &keylen) == 0, "rest-api-separator=-: accepted");
	snprintf(name, sizeof(name), "%llu:bob", NOW + 3600);
	is_int(auth_user_key(a, name, strlen(name), AUTH_ALG_MD5, NOW, 0, key,
	    &keylen), -1, "':' no longer separates");
	auth_free(a);
	config_free(cfg);
}

static void
test_limiter(void)
{
	struct auth_limiter	*l = auth_limiter_new();
	struct sockaddr_storage	 a = sa("198.51.100.7", 1);
	struct sockaddr_storage	 a2 = sa("198.51.100.7", 2);
	struct sockaddr_storage	 v6a = sa("2001:db8:1:2::1", 1);
	struct sockaddr_storage	 v6b = sa("2001:db8:1:2:ffff::9", 1);
	struct sockaddr_storage	 o;
	uint64_t		 now = 5000000;
	int			 burst = 0, again = 0, i, others = 0;
	char			 ip[32];

	while (burst < 1000 && auth_limiter_allow(l, SA(a), now))
		burst++;
	ok(burst >= 1 && burst < 1000, "a burst, then refused");
	ok(!auth_limiter_allow(l, SA(a), now), "still refused at that ms");
	ok(!auth_limiter_allow(l, SA(a2), now), "the port does not matter");
	for (i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", 20 + i);
		o = sa(ip, 1);
		if (auth_limiter_allow(l, SA(o), now))
			others++;
	}
	ok(others >= 7, "other IPs have their own budget");
	now += 1000;
	while (again < 1000 && auth_limiter_allow(l, SA(a), now))
		again++;
	ok(again >= 1 && again <= burst, "a second later: some budget back");
	now += 3600 * 1000;
	again = 0;
	while (again < 1000 && auth_limiter_allow(l, SA(a), now))
		again++;
	is_int(again, burst, "an hour later: the burst, not more");
	auth_limiter_free(l);

	/* A fresh limiter: IPv6 sources are limited by /64. */
	l = auth_limiter_new();
	burst = 0;
	while (burst < 1000 && auth_limiter_allow(l, SA(v6a), now))
		burst++;
	ok(burst >= 1 && burst < 1000, "IPv6 burst");
	ok(!auth_limiter_allow(l, SA(v6b), now), "same /64 shares the budget");
	auth_limiter_free(l);
	auth_limiter_free(NULL);
}

int
main(void)
{
	test_nonce();
	test_rest_password();
	test_user_key();
	test_limiter();
	return tap_done();
}
