/* turnpike — shared by the files of src/auth/ only. */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include <stdint.h>

struct auth;

const uint8_t	*auth_nonce_key(const struct auth *);	/* 32 bytes */

#endif
