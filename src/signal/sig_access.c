/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * signal-auth=secret tokens (PROTOCOL.md "Access"): "EXPIRY:MAC" where
 * MAC = base64(HMAC-SHA1(secret, "EXPIRY:UID")), the TURN REST form bound
 * to the uid, minted by the application's backend from a shared
 * static-auth-secret.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "config.h"
#include "sig.h"

bool
sig_token_valid(const struct config *cfg, const char *token,
    const char *uid, uint64_t now)
{
	char			 name[SIG_ID_MAX + 32], want[64];
	const char		*colon;
	unsigned long long	 expiry;
	size_t			 i;

	if (token == NULL || (colon = strrchr(token, ':')) == NULL ||
	    sscanf(token, "%llu:", &expiry) != 1 || expiry < now)
		return false;
	snprintf(name, sizeof(name), "%llu:%s", expiry, uid);
	for (i = 0; i < cfg->static_auth_secrets.n; i++) {
		if (auth_rest_password(cfg->static_auth_secrets.v[i], name,
		    strlen(name), want, sizeof(want)) > 0 &&
		    strlen(want) == strlen(colon + 1) &&
		    CRYPTO_memcmp(want, colon + 1, strlen(want)) == 0)
			return true;
	}
	return false;
}
