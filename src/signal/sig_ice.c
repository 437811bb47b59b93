/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * ICE servers handed to signaling clients (PROTOCOL.md "ICE servers and
 * credentials"): this server's STUN and TURN URLs, and a TURN REST
 * credential minted per client: username "<expiry>:<uid>", credential
 * base64(HMAC-SHA1(secret, username)).
 *
 * URLs come from signal-ice-url lines when set; otherwise they are built
 * from the host (external-ip, else server-name, else the host the client
 * used to reach us, "{host}" until then) and the listening ports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "config.h"
#include "sig.h"
#include "xmalloc.h"

#define SIG_ICE_HOST	"{host}"

static void
sig_ice_add(struct sig_ice *ice, const char *url)
{
	ice->urls = xreallocarray(ice->urls, ice->nurls + 1,
	    sizeof(*ice->urls));
	ice->urls[ice->nurls++] = xstrdup(url);
}

/* The host part of our URLs, when the configuration names one. */
static void
sig_ice_host(const struct config *cfg, char *out, size_t cap)
{
	char	ip[ADDR_STRLEN];

	if (cfg->n_external_ips > 0) {
		addr_format((const struct sockaddr *)&cfg->external_ips[0].pub,
		    false, ip, sizeof(ip));
		snprintf(out, cap, cfg->external_ips[0].pub.ss_family ==
		    AF_INET6 ? "[%s]" : "%s", ip);
	} else if (cfg->server_name != NULL)
		snprintf(out, cap, "%s", cfg->server_name);
	else
		snprintf(out, cap, "%s", SIG_ICE_HOST);
}

void
sig_ice_init(struct sig_ice *ice, const struct config *cfg, bool tls,
    const char *secret)
{
	char	host[300], url[400];
	size_t	i;

	memset(ice, 0, sizeof(*ice));
	ice->secret = xstrdup(secret);
	ice->ttl = cfg->signal_ice_ttl;
	ice->separator = cfg->rest_api_separator ? cfg->rest_api_separator :
	    ':';
	for (i = 0; i < cfg->signal_ice_urls.n; i++)
		sig_ice_add(ice, cfg->signal_ice_urls.v[i]);
	if (ice->nurls > 0)
		return;
	sig_ice_host(cfg, host, sizeof(host));
	if (!cfg->no_stun && !cfg->no_udp) {
		snprintf(url, sizeof(url), "stun:%s:%d", host,
		    cfg->listening_port);
		sig_ice_add(ice, url);
	}
	if (cfg->stun_only)
		return;
	if (!cfg->no_udp) {
		snprintf(url, sizeof(url), "turn:%s:%d?transport=udp", host,
		    cfg->listening_port);
		sig_ice_add(ice, url);
	}
	if (!cfg->no_tcp) {
		snprintf(url, sizeof(url), "turn:%s:%d?transport=tcp", host,
		    cfg->listening_port);
		sig_ice_add(ice, url);
	}
	if (tls) {
		/* A certificate names a host, not an address: prefer the name. */
		snprintf(url, sizeof(url), "turns:%s:%d?transport=tcp",
		    cfg->server_name != NULL ? cfg->server_name : host,
		    cfg->tls_listening_port);
		sig_ice_add(ice, url);
	}
}

void
sig_ice_clear(struct sig_ice *ice)
{
	size_t	i;

	for (i = 0; i < ice->nurls; i++)
		free(ice->urls[i]);
	free(ice->urls);
	if (ice->secret != NULL) {
		memset(ice->secret, 0, strlen(ice->secret));
		free(ice->secret);
	}
	memset(ice, 0, sizeof(*ice));
}

/* Append url to out as a JSON string, "{host}" replaced by host. */
static int
sig_ice_url(const char *url, const char *host, char *out, size_t cap)
{
	char		 full[600];
	const char	*at = strstr(url, SIG_ICE_HOST);

	if (at == NULL)
		snprintf(full, sizeof(full), "%s", url);
	else
		snprintf(full, sizeof(full), "%.*s%s%s", (int)(at - url), url,
		    host, at + strlen(SIG_ICE_HOST));
	return sig_json_string(full, out, cap);
}

/* The URLs of one kind (stun: or not) as a JSON array. -1 if none fit. */
static int
sig_ice_urls(const struct sig_ice *ice, bool stun, const char *host,
    char *out, size_t cap)
{
	size_t	i, n = 1;
	int	w;

	if (cap < 3)
		return -1;
	out[0] = '[';
	for (i = 0; i < ice->nurls; i++) {
		if ((strncmp(ice->urls[i], "stun", 4) == 0) != stun)
			continue;
		if (n > 1)
			out[n++] = ',';
		if ((w = sig_ice_url(ice->urls[i], host, out + n, cap - n - 1))
		    == -1)
			return -1;
		n += (size_t)w;
		if (n + 2 >= cap)
			return -1;
	}
	out[n++] = ']';
	out[n] = '\0';
	return n > 2 ? (int)n : 0;
}

int
sig_ice_json(const struct sig_ice *ice, const char *uid_text,
    const char *host, uint64_t now, char *out, size_t cap, char *username,
    size_t ucap)
{
	char	stun[1024], turn[2048], name[SIG_ID_MAX + 32];
	char	uname[SIG_ID_MAX + 64], pass[64], jname[SIG_ID_MAX + 80];
	int	ns, nt, n;

	username[0] = '\0';
	if (host == NULL || *host == '\0')
		host = "127.0.0.1";
	if ((ns = sig_ice_urls(ice, true, host, stun, sizeof(stun))) < 0 ||
	    (nt = sig_ice_urls(ice, false, host, turn, sizeof(turn))) < 0)
		return -1;
	if (uid_text != NULL && uid_text[0] == '"')
		snprintf(name, sizeof(name), "%.*s",
		    (int)strlen(uid_text) - 2, uid_text + 1);
	else
		snprintf(name, sizeof(name), "%s", uid_text ? uid_text : "");
	snprintf(uname, sizeof(uname), "%llu%.*s%s",
	    (unsigned long long)(now + (uint64_t)ice->ttl), name[0] ? 1 : 0,
	    &ice->separator, name);
	if (auth_rest_password(ice->secret, uname, strlen(uname), pass,
	    sizeof(pass)) < 0 || sig_json_string(uname, jname,
	    sizeof(jname)) == -1)
		return -1;
	if (ns > 0 && nt > 0)
		n = snprintf(out, cap, "[{\"urls\":%s},{\"urls\":%s,"
		    "\"username\":%s,\"credential\":\"%s\"}]", stun, turn,
		    jname, pass);
	else if (nt > 0)
		n = snprintf(out, cap, "[{\"urls\":%s,\"username\":%s,"
		    "\"credential\":\"%s\"}]", turn, jname, pass);
	else
		n = snprintf(out, cap, ns > 0 ? "[{\"urls\":%s}]" : "[]",
		    stun);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	if (nt > 0)
		snprintf(username, ucap, "%s", uname);
	return n;
}
