/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The user table: static users (keys precomputed at start, sorted by name
 * for lookup), the SQLite user database (auth_sqlite.c) and TURN REST
 * secrets from the configuration and the database, behind auth_user_key().
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth.h"
#include "auth_internal.h"
#include "config.h"
#include "hmac.h"
#include "stun_msg.h"
#include "xmalloc.h"

#define AUTH_DEFAULT_REALM	"turnpike"

struct auth_user {
	char		*name;
	uint8_t		 md5[16];
	uint8_t		 sha256[32];
	bool		 has_sha256;	/* false for user=name:0x<key> */
};

struct auth {
	char		 *realm;
	struct auth_user *users;
	size_t		  nusers;
	char		**secrets;	/* REST secrets, newest first */
	size_t		  nsecrets;
	bool		  rest;		/* use-auth-secret */
	struct auth_sqlite *db;		/* userdb, or NULL */
	char		 *signal_secret;	/* minted by signaling, or NULL */
	struct auth_revoked *revoked;
	char		  separator;
	uint8_t		  nonce_key[32];	/* random at start */
};

/* For auth_nonce.c, declared in auth_internal.h. */
const uint8_t *
auth_nonce_key(const struct auth *a)
{
	return a->nonce_key;
}

static int
auth_user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct auth_user *)a)->name,
	    ((const struct auth_user *)b)->name);
}

static void
auth_add_user(struct auth *a, const struct config_user *u)
{
	struct auth_user	*au = &a->users[a->nusers++];

	au->name = xstrdup(u->name);
	if (u->has_key) {
		memcpy(au->md5, u->key, sizeof(au->md5));
		return;
	}
	stun_longterm_key(u->name, a->realm, u->password, au->md5);
	stun_longterm_key_sha256(u->name, a->realm, u->password, au->sha256);
	au->has_sha256 = true;
}

struct auth *
auth_new(const struct config *cfg)
{
	struct auth	*a;
	size_t		 i;

	a = xcalloc(1, sizeof(*a));
	a->realm = xstrdup(cfg->realm != NULL ? cfg->realm :
	    cfg->server_name != NULL ? cfg->server_name : AUTH_DEFAULT_REALM);
	a->users = xcalloc(cfg->n_users + 1, sizeof(*a->users));
	for (i = 0; i < cfg->n_users; i++)
		auth_add_user(a, &cfg->users[i]);
	qsort(a->users, a->nusers, sizeof(*a->users), auth_user_cmp);
	a->rest = cfg->use_auth_secret;
	a->revoked = auth_revoked_new();
	if (cfg->use_auth_secret) {
		a->secrets = xcalloc(cfg->static_auth_secrets.n + 1,
		    sizeof(*a->secrets));
		for (i = 0; i < cfg->static_auth_secrets.n; i++)
			a->secrets[a->nsecrets++] =
			    xstrdup(cfg->static_auth_secrets.v[i]);
	}
	a->separator = cfg->rest_api_separator ? cfg->rest_api_separator :
	    ':';
	if (RAND_bytes(a->nonce_key, sizeof(a->nonce_key)) != 1)
		abort();
	if (cfg->userdb != NULL)
		a->db = auth_sqlite_new(cfg->userdb, a->realm,
		    cfg->use_auth_secret);
	return a;
}

void
auth_free(struct auth *a)
{
	size_t	i;

	if (a == NULL)
		return;
	auth_sqlite_free(a->db);
	for (i = 0; i < a->nusers; i++) {
		free(a->users[i].name);
		OPENSSL_cleanse(&a->users[i], sizeof(a->users[i]));
	}
	for (i = 0; i < a->nsecrets; i++) {
		OPENSSL_cleanse(a->secrets[i], strlen(a->secrets[i]));
		free(a->secrets[i]);
	}
	if (a->signal_secret != NULL) {
		OPENSSL_cleanse(a->signal_secret, strlen(a->signal_secret));
		free(a->signal_secret);
	}
	auth_revoked_free(a->revoked);
	free(a->secrets);
	free(a->users);
	free(a->realm);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

const char *
auth_realm(const struct auth *a)
{
	return a->realm;
}

static const struct auth_user *
auth_find_user(const struct auth *a, const char *name)
{
	struct auth_user	key = { .name = (char *)name };

	return bsearch(&key, a->users, a->nusers, sizeof(*a->users),
	    auth_user_cmp);
}

int
auth_rest_password(const char *secret, const char *user, size_t ulen,
    char *out, size_t cap)
{
	uint8_t		mac[20];

	if (cap < 4 * ((20 + 2) / 3) + 1)
		return -1;
	if (hmac_compute(HMAC_SHA1, secret, strlen(secret), user, ulen, NULL,
	    0, mac, sizeof(mac)) == -1)
		return -1;
	return EVP_EncodeBlock((uint8_t *)out, mac, (int)sizeof(mac));
}

/*
 * A TURN REST name is "<expiry>" or "<expiry><separator><user>", the expiry
 * in unix seconds. Returns it, or 0 if the name does not have that form.
 */
static uint64_t
auth_rest_expiry(const struct auth *a, const char *name)
{
	uint64_t	 t = 0;
	const char	*p;

	for (p = name; *p >= '0' && *p <= '9'; p++) {
		if (t > UINT64_MAX / 10 - 10)
			return 0;
		t = t * 10 + (uint64_t)(*p - '0');
	}
	if (p == name || (*p != '\0' && *p != a->separator))
		return 0;
	return t;
}

static int
auth_rest_key(const struct auth *a, const char *name, size_t ulen,
    enum auth_alg alg, const char *secret, uint8_t *key, size_t *keylen)
{
	char	pass[64];
	int	rc;

	if (auth_rest_password(secret, name, ulen, pass, sizeof(pass)) == -1)
		return -1;
	if (alg == AUTH_ALG_SHA256) {
		rc = stun_longterm_key_sha256(name, a->realm, pass, key);
		*keylen = 32;
	} else {
		rc = stun_longterm_key(name, a->realm, pass, key);
		*keylen = 16;
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc;
}

/* A key known outright (static or database user) as candidate. */
static int
auth_fixed_key(const uint8_t *md5, const uint8_t *sha256, enum auth_alg alg,
    uint8_t *key, size_t *keylen)
{
	if (alg == AUTH_ALG_SHA256) {
		if (sha256 == NULL)
			return -1;
		memcpy(key, sha256, 32);
		*keylen = 32;
		return 0;
	}
	memcpy(key, md5, 16);
	*keylen = 16;
	return 0;
}

/*
 * REST candidate idx: the signaling secret, then (with use-auth-secret)
 * the static secrets and the database's.
 */
static int
auth_rest_candidate(const struct auth *a, const char *name, size_t ulen,
    enum auth_alg alg, unsigned int idx, uint8_t *key, size_t *keylen)
{
	char	*secret;
	int	 rc;

	if (a->signal_secret != NULL && idx-- == 0)
		return auth_rest_key(a, name, ulen, alg, a->signal_secret, key,
		    keylen);
	if (!a->rest)
		return -1;
	if (idx < a->nsecrets)
		return auth_rest_key(a, name, ulen, alg, a->secrets[idx], key,
		    keylen);
	if (a->db == NULL || auth_sqlite_secret(a->db,
	    idx - (unsigned int)a->nsecrets, &secret) != 1)
		return -1;
	rc = auth_rest_key(a, name, ulen, alg, secret, key, keylen);
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
	return rc;
}

int
auth_user_key(const struct auth *a, const char *user, size_t ulen,
    enum auth_alg alg, uint64_t now, unsigned int idx,
    uint8_t key[AUTH_KEY_MAX], size_t *keylen)
{
	const struct auth_user	*u;
	char			 name[STUN_MAX_REASON + 1];
	uint8_t			 md5[16];
	uint64_t		 expiry;
	int			 rc;

	if (ulen == 0 || ulen >= sizeof(name) || memchr(user, '\0', ulen))
		return -1;
	memcpy(name, user, ulen);
	name[ulen] = '\0';
	/*
	 * The static user, the database user, then one candidate per REST
	 * secret. The database is asked on every call: it may have changed.
	 * A source with no key for alg (only an MD5 key is stored) is no
	 * candidate at all, so the later ones are still tried.
	 */
	if ((u = auth_find_user(a, name)) != NULL &&
	    (alg != AUTH_ALG_SHA256 || u->has_sha256) && idx-- == 0)
		return auth_fixed_key(u->md5, u->has_sha256 ? u->sha256 :
		    NULL, alg, key, keylen);
	if (a->db != NULL && alg != AUTH_ALG_SHA256 &&
	    auth_sqlite_user_key(a->db, name, md5) == 1 && idx-- == 0) {
		rc = auth_fixed_key(md5, NULL, alg, key, keylen);
		OPENSSL_cleanse(md5, sizeof(md5));
		return rc;
	}
	OPENSSL_cleanse(md5, sizeof(md5));
	if ((!a->rest && a->signal_secret == NULL) ||
	    (expiry = auth_rest_expiry(a, name)) == 0 || expiry < now ||
	    auth_revoked_has(a->revoked, name, ulen, now))
		return -1;
	return auth_rest_candidate(a, name, ulen, alg, idx, key, keylen);
}

void
auth_set_signal_secret(struct auth *a, const char *secret)
{
	size_t	i;

	/* A configured static secret is already a candidate: no twin. */
	for (i = 0; i < a->nsecrets; i++)
		if (a->rest && strcmp(a->secrets[i], secret) == 0)
			return;
	free(a->signal_secret);
	a->signal_secret = xstrdup(secret);
}

void
auth_revoke(const struct auth *a, const char *username, uint64_t now)
{
	uint64_t	expiry = auth_rest_expiry(a, username);

	if (expiry >= now)
		auth_revoked_add(a->revoked, username, expiry, now);
}
