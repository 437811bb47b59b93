/* turnpike — shared by the files of src/auth/ only. */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct auth;

const uint8_t	*auth_nonce_key(const struct auth *);	/* 32 bytes */

/* Revoked REST usernames (auth_revoke.c), thread-safe. */
struct auth_revoked;
struct auth_revoked *auth_revoked_new(void);
void	auth_revoked_free(struct auth_revoked *);
void	auth_revoked_add(struct auth_revoked *, const char *name,
	    uint64_t until, uint64_t now);
bool	auth_revoked_has(struct auth_revoked *, const char *name, size_t len,
	    uint64_t now);

/*
 * The SQLite user database, read side (auth_sqlite.c): long-term users and
 * REST secrets of one realm, queried afresh on every call. Safe to call
 * from any number of threads at once; auth_sqlite_free() only once none
 * is inside a call. The file need not exist yet: a missing file or table
 * reads as empty (logged once).
 */
struct auth_sqlite;

/* secrets: turn_secret will be read (use-auth-secret); for the start log. */
struct auth_sqlite	*auth_sqlite_new(const char *path, const char *realm,
			    bool secrets);
void			 auth_sqlite_free(struct auth_sqlite *);
/*
 * The MD5 long-term key of user name (NUL-terminated). Returns 1 with key
 * filled, 0 for no such user (or an unusable key), -1 when the database
 * could not be read.
 */
int	auth_sqlite_user_key(struct auth_sqlite *, const char *name,
	    uint8_t key[16]);
/*
 * REST secret number idx (0, 1, ...) of the realm, in a stable order.
 * Returns 1 with *secret a copy the caller wipes and frees, 0 past the
 * last, -1 when the database could not be read.
 */
int	auth_sqlite_secret(struct auth_sqlite *, unsigned int idx,
	    char **secret);

#endif
