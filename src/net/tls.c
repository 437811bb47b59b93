/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * The server's TLS context, built once from cert, pkey, pkey-pwd,
 * cipher-list, CA-file, ec-curve-name, dh-file and the protocol options,
 * and shared by every worker (SSL_CTX is safe to share for SSL_new()).
 * TLS 1.2 is the minimum and TLS 1.3 is on; no-tlsv1_2 leaves TLS 1.3
 * only. no-tlsv1 and no-tlsv1_1 are accepted for coturn configurations:
 * those versions are never offered.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "net_internal.h"

/* Log OpenSSL's error queue under what. */
static void
tls_log_errors(const char *what)
{
	unsigned long	e;
	char		buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_warnx("tls %s: %s", what, buf);
	}
}

static int
tls_password_cb(char *buf, int size, int rwflag, void *arg)
{
	const char	*pwd = arg;
	size_t		 n = pwd != NULL ? strlen(pwd) : 0;

	if (n == 0 || n >= (size_t)size)
		return 0;
	memcpy(buf, pwd, n);
	return (int)n;
}

static int
tls_load_dh(SSL_CTX *ctx, const char *path)
{
	EVP_PKEY	*dh;
	BIO		*bio;

	if ((bio = BIO_new_file(path, "r")) == NULL)
		return -1;
	dh = PEM_read_bio_Parameters(bio, NULL);
	BIO_free(bio);
	if (dh == NULL)
		return -1;
	if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
		EVP_PKEY_free(dh);
		return -1;
	}
	return 0;
}

/* Protocol versions, ciphers, groups, DH and client verification. */
static int
tls_ctx_options(SSL_CTX *ctx, const struct config *cfg)
{
	SSL_CTX_set_min_proto_version(ctx, cfg->no_tlsv1_2 ? TLS1_3_VERSION :
	    TLS1_2_VERSION);
	/* A client closing without close_notify is an ordinary EOF. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (cfg->cipher_list != NULL &&
	    SSL_CTX_set_cipher_list(ctx, cfg->cipher_list) != 1) {
		log_warnx("tls cipher-list '%s' selects no cipher",
		    cfg->cipher_list);
		return -1;
	}
	if (cfg->ec_curve_name != NULL &&
	    SSL_CTX_set1_groups_list(ctx, cfg->ec_curve_name) != 1) {
		log_warnx("tls ec-curve-name '%s' is not a known group",
		    cfg->ec_curve_name);
		return -1;
	}
	if (cfg->dh_file != NULL && tls_load_dh(ctx, cfg->dh_file) == -1) {
		log_warnx("tls dh-file %s: cannot load DH parameters",
		    cfg->dh_file);
		return -1;
	}
	if (cfg->ca_file != NULL) {
		/* coturn: CA-file makes the server verify client certs. */
		if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) !=
		    1) {
			log_warnx("tls CA-file %s: cannot load", cfg->ca_file);
			return -1;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
		    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return 0;
}

SSL_CTX *
tls_ctx_new(const struct config *cfg)
{
	const char	*pkey = cfg->pkey != NULL ? cfg->pkey : cfg->cert;
	SSL_CTX		*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_log_errors("context");
		return NULL;
	}
	/* Never prompt on a terminal: no pkey-pwd means no password. */
	SSL_CTX_set_default_passwd_cb(ctx, tls_password_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, cfg->pkey_pwd != NULL ?
	    cfg->pkey_pwd : (char *)"");
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1) {
		log_warnx("tls cert %s: cannot load the certificate chain",
		    cfg->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, pkey, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_warnx("tls pkey %s: cannot load the key, or it does not "
		    "match cert %s", pkey, cfg->cert);
		goto fail;
	}
	if (tls_ctx_options(ctx, cfg) == -1)
		goto fail;
	/* The password is not needed once the key is loaded. */
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	return ctx;
fail:
	tls_log_errors("setup");
	SSL_CTX_free(ctx);
	return NULL;
}
