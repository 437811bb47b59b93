/*
 * turnpike — the user table and the long-term credential mechanism.
 *
 * One lookup behind one interface (DESIGN.md) for every credential source:
 * static `user=` accounts, TURN REST secrets (`use-auth-secret` +
 * `static-auth-secret`, repeatable so secrets can rotate) and the SQLite
 * user database (`userdb`: long-term users and more REST secrets, read on
 * every lookup so changes count at once). A username may match several
 * candidate keys (one per secret); the caller tries each against
 * MESSAGE-INTEGRITY. Keys of static users are computed once at start. Nonces are stateless: an HMAC over the time and the client's IP,
 * valid on every worker, so a spoofed packet costs no state.
 */
#ifndef AUTH_H
#define AUTH_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct auth;

/* PASSWORD-ALGORITHM values, RFC 8489 §18.5.1. */
enum auth_alg {
	AUTH_ALG_MD5 = 0x0001,
	AUTH_ALG_SHA256 = 0x0002,
};

#define AUTH_KEY_MAX		32	/* SHA-256 */
#define AUTH_NONCE_COOKIE	"obMatJos2"	/* RFC 8489 §9.2 */
#define AUTH_NONCE_MAX		64

enum auth_nonce_result {
	AUTH_NONCE_OK,
	AUTH_NONCE_STALE,	/* ours, but older than stale-nonce */
	AUTH_NONCE_BAD,		/* not ours, or for another client */
};

struct auth	*auth_new(const struct config *);
void		 auth_free(struct auth *);
const char	*auth_realm(const struct auth *);

/*
 * Candidate key number idx (0, 1, ...) for the user name (ulen bytes, not
 * NUL-terminated) under alg, at unix time now. Returns 0 with key/keylen
 * filled, or -1 when there is no such candidate (unknown user, expired REST
 * name, no password for that algorithm, idx past the last secret).
 */
int	auth_user_key(const struct auth *, const char *user, size_t ulen,
	    enum auth_alg alg, uint64_t now, unsigned int idx,
	    uint8_t key[AUTH_KEY_MAX], size_t *keylen);

/*
 * Candidates come in this order: the static user, the database user of
 * the realm, then for a REST name ("<expiry>[<separator><user>]", not
 * expired, use-auth-secret on) one per static-auth-secret and one per
 * turn_secret row of the realm. A key given as 0x<hex> (user=) or stored
 * in the database is MD5 only: under AUTH_ALG_SHA256 that candidate
 * returns -1, which ends the list.
 */

/*
 * The signaling service's REST secret: credentials it mints are accepted
 * even without use-auth-secret (the secret never leaves the process unless
 * it is a configured static-auth-secret). Call before workers start.
 */
void	auth_set_signal_secret(struct auth *, const char *secret);
/*
 * Revoke a REST username until its expiry: allocations can no longer be
 * made with it. Thread-safe.
 */
void	auth_revoke(const struct auth *, const char *username, uint64_t now);

/*
 * TURN REST password for a username: base64(HMAC-SHA1(secret, username)).
 * Returns the length written to out (NUL-terminated), or -1.
 */
int	auth_rest_password(const char *secret, const char *user, size_t ulen,
	    char *out, size_t cap);

/* Mint a nonce for client at unix time now into out (NUL-terminated). */
size_t	auth_nonce_mint(const struct auth *, const struct sockaddr *client,
	    uint64_t now, char *out, size_t cap);
/* Is nonce one we minted for this client less than max_age seconds ago? */
enum auth_nonce_result auth_nonce_check(const struct auth *,
	    const uint8_t *nonce, size_t len, const struct sockaddr *client,
	    uint64_t now, uint64_t max_age);

/*
 * The SQLite user database, write side (turnpike-admin). coturn's tables:
 * turnusers_lt (realm, name, hmackey = hex of the MD5 key) and turn_secret
 * (realm, value). Each call opens path, runs one transaction and closes
 * it; the _put calls create the file, and any writing call the tables,
 * when missing. On failure they return -1 with a one-line message in err.
 */
/* Add or replace user name of realm with the key MD5(name:realm:pass). */
int	auth_sqlite_put_user(const char *path, const char *realm,
	    const char *name, const uint8_t key[16], char *err, size_t errlen);
/* Returns the number of users deleted (0 or 1), or -1. */
int	auth_sqlite_del_user(const char *path, const char *realm,
	    const char *name, char *err, size_t errlen);
/* Add a REST secret to realm (already there: nothing changes). */
int	auth_sqlite_put_secret(const char *path, const char *realm,
	    const char *secret, char *err, size_t errlen);
/* Delete secret from realm, or every secret of realm when secret is NULL.
 * Returns the number deleted, or -1. */
int	auth_sqlite_del_secret(const char *path, const char *realm,
	    const char *secret, char *err, size_t errlen);
/*
 * Call cb for each user name (secrets false) or secret (true) of realm,
 * or of every realm when realm is NULL, sorted by realm then value. Opens
 * read-only; missing tables list nothing. Returns the count, or -1.
 */
typedef void (*auth_sqlite_list_cb)(const char *realm, const char *value,
    void *arg);
int	auth_sqlite_list(const char *path, bool secrets, const char *realm,
	    auth_sqlite_list_cb cb, void *arg, char *err, size_t errlen);

/*
 * Per-worker limiter for 401 answers by source IP: a token bucket per hash
 * slot, fixed memory. Returns true when an answer may be sent now.
 */
struct auth_limiter;
struct auth_limiter *auth_limiter_new(void);
void	auth_limiter_free(struct auth_limiter *);
bool	auth_limiter_allow(struct auth_limiter *, const struct sockaddr *,
	    uint64_t now_ms);

#endif
