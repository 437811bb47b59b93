/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * STUN message authentication and checksums: MESSAGE-INTEGRITY (HMAC-SHA1,
 * RFC 8489 §14.5), MESSAGE-INTEGRITY-SHA256 (§14.6), long-term keys
 * (§9.2.2) and FINGERPRINT (CRC-32, §14.7), checking and building. OpenSSL
 * does the hashing; the CRC table is ours. Pure: no globals but constants.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hmac.h"
#include "stun_msg.h"

/* CRC-32, reflected polynomial 0xEDB88320, one entry per byte value. */
static const uint32_t stun_crc32_table[256] = {
	0x00000000, 0x77073096, 0xee0e612c, 0x990951ba,
	0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
	0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
	0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
	0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de,
	0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
	0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec,
	0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
	0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
	0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
	0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940,
	0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
	0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116,
	0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
	0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
	0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
	0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a,
	0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
	0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818,
	0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
	0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
	0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
	0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c,
	0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
	0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2,
	0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
	0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
	0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
	0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086,
	0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
	0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4,
	0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
	0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
	0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
	0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8,
	0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
	0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe,
	0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
	0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
	0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
	0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252,
	0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
	0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60,
	0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
	0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
	0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
	0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04,
	0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
	0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a,
	0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
	0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
	0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
	0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e,
	0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
	0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c,
	0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
	0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
	0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
	0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0,
	0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
	0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6,
	0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
	0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
	0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

uint32_t
stun_crc32(const uint8_t *p, size_t n)
{
	uint32_t	c = 0xffffffffU;

	while (n-- > 0)
		c = stun_crc32_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffU;
}

/*
 * HMAC over a 20-byte header copy followed by the body, so a check can
 * adjust the length field without touching the received bytes.
 */
static int
stun_hmac(const char *digest, const uint8_t *key, size_t keylen,
    const uint8_t *hdr, const uint8_t *body, size_t bodylen, uint8_t *out,
    size_t outlen)
{
	return hmac_compute(strcmp(digest, "SHA256") == 0 ? HMAC_SHA256 :
	    HMAC_SHA1, key, keylen, hdr, STUN_HEADER_LEN, body, bodylen, out,
	    outlen);
}

/*
 * RFC 8489 §14.5: the HMAC covers the message up to the attribute, with
 * the length field set as if the attribute were the last one.
 */
static bool
stun_msg_check_mac(const struct stun_msg *msg, int idx, const char *digest,
    size_t maclen, const uint8_t *key, size_t keylen)
{
	const struct stun_attr	*a;
	uint8_t			 hdr[STUN_HEADER_LEN];
	uint8_t			 mac[STUN_HMAC_SHA256_LEN];
	size_t			 off, mlen;
	bool			 ok;

	if (idx < 0 || (size_t)idx >= msg->nattrs)
		return false;
	a = &msg->attrs[idx];
	if (a->len > maclen)
		return false;
	off = (size_t)(a->val - msg->raw) - 4;
	mlen = off + 4 + a->len - STUN_HEADER_LEN;
	memcpy(hdr, msg->raw, STUN_HEADER_LEN);
	hdr[2] = (uint8_t)(mlen >> 8);
	hdr[3] = (uint8_t)mlen;
	if (stun_hmac(digest, key, keylen, hdr, msg->raw + STUN_HEADER_LEN,
	    off - STUN_HEADER_LEN, mac, maclen) == -1)
		return false;
	/* A truncated MESSAGE-INTEGRITY-SHA256 is the leading bytes. */
	ok = CRYPTO_memcmp(mac, a->val, a->len) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

bool
stun_msg_check_integrity(const struct stun_msg *msg, const uint8_t *key,
    size_t keylen)
{
	return stun_msg_check_mac(msg, msg->integrity_idx, "SHA1",
	    STUN_HMAC_SHA1_LEN, key, keylen);
}

bool
stun_msg_check_integrity_sha256(const struct stun_msg *msg,
    const uint8_t *key, size_t keylen)
{
	return stun_msg_check_mac(msg, msg->integrity256_idx, "SHA256",
	    STUN_HMAC_SHA256_LEN, key, keylen);
}

/* Append a zeroed MAC attribute, then fill it in over what precedes it. */
static void
stun_build_mac(struct stun_builder *b, uint16_t type, const char *digest,
    size_t maclen, const uint8_t *key, size_t keylen)
{
	uint8_t	zero[STUN_HMAC_SHA256_LEN] = { 0 };
	size_t	off = b->len;

	stun_build_attr(b, type, zero, maclen);
	if (b->overflow)
		return;
	if (stun_hmac(digest, key, keylen, b->buf, b->buf + STUN_HEADER_LEN,
	    off - STUN_HEADER_LEN, b->buf + off + 4, maclen) == -1)
		b->overflow = true;
}

void
stun_build_integrity(struct stun_builder *b, const uint8_t *key,
    size_t keylen)
{
	stun_build_mac(b, STUN_ATTR_MESSAGE_INTEGRITY, "SHA1",
	    STUN_HMAC_SHA1_LEN, key, keylen);
}

void
stun_build_integrity_sha256(struct stun_builder *b, const uint8_t *key,
    size_t keylen)
{
	stun_build_mac(b, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "SHA256",
	    STUN_HMAC_SHA256_LEN, key, keylen);
}

void
stun_build_fingerprint(struct stun_builder *b)
{
	uint32_t	crc;
	uint8_t		*p;

	stun_build_u32(b, STUN_ATTR_FINGERPRINT, 0);
	if (b->overflow)
		return;
	p = b->buf + b->len - 4;
	crc = stun_crc32(b->buf, b->len - 8) ^ STUN_FINGERPRINT_XOR;
	p[0] = crc >> 24;
	p[1] = (crc >> 16) & 0xff;
	p[2] = (crc >> 8) & 0xff;
	p[3] = crc & 0xff;
}

/* H(user ":" realm ":" pass) into key; zeros if OpenSSL fails. */
static int
stun_longterm_hash(const EVP_MD *md, const char *user, const char *realm,
    const char *pass, uint8_t *key, size_t keylen)
{
	EVP_MD_CTX	*ctx;
	unsigned int	 got = 0;
	int		 rv = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, user, strlen(user)) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, realm, strlen(realm)) != 1 ||
	    EVP_DigestUpdate(ctx, ":", 1) != 1 ||
	    EVP_DigestUpdate(ctx, pass, strlen(pass)) != 1 ||
	    EVP_DigestFinal_ex(ctx, key, &got) != 1)
		goto out;
	rv = got == keylen ? 0 : -1;
out:
	EVP_MD_CTX_free(ctx);
	if (rv == -1)
		memset(key, 0, keylen);
	return rv;
}

int
stun_longterm_key(const char *user, const char *realm, const char *pass,
    uint8_t key[16])
{
	return stun_longterm_hash(EVP_md5(), user, realm, pass, key, 16);
}

int
stun_longterm_key_sha256(const char *user, const char *realm,
    const char *pass, uint8_t key[32])
{
	return stun_longterm_hash(EVP_sha256(), user, realm, pass, key, 32);
}
