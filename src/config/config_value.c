/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2025 turnpike authors
 *
 * Option values: turn one option's text into its struct config field as the
 * table row's type says (numbers, ports, addresses, peer ranges, user
 * accounts, external-ip mappings, lists), and free those fields again.
 * Errors describe only the value; config.c adds the position and the name.
 * No logging, no exit.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config.h"
#include "xmalloc.h"

static void config_value_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
config_value_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
config_value_quote(const char *s, size_t n, char *buf, size_t len)
{
	size_t	i, max = len - 4;

	if (max > CONFIG_VALUE_QUOTE)
		max = CONFIG_VALUE_QUOTE;
	for (i = 0; i < n && i < max; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (i < n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return (buf);
}

/* A whole value, quoted for a message. */
static const char *
config_value_show(const char *s, char *buf, size_t len)
{
	return (config_value_quote(s, strlen(s), buf, len));
}

static void *
config_value_field(struct config *cfg, const struct config_option *o)
{
	return ((char *)cfg + o->off);
}

int
config_value_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t	i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return (0);
		}
	}
	return (-1);
}

int
config_value_int(const char *s, int min, int max, int *out)
{
	char		*end;
	long long	 v;

	if (*s != '-' && !isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return (-1);
	*out = (int)v;
	return (0);
}

static int
config_value_flag(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	char	q[CONFIG_VALUE_QUOTE + 4];
	bool	b = true;

	if (value != NULL && config_value_bool(value, &b) != 0) {
		config_value_err(err, errlen, "is a flag and takes no value "
		    "(got '%s'; true/false, yes/no, on/off, 1/0 are accepted)",
		    config_value_show(value, q, sizeof q));
		return (-1);
	}
	if (o->flags & CONFIG_F_NEGATE)
		b = !b;
	*(bool *)config_value_field(cfg, o) = b;
	return (0);
}

/* INT and PORT; an OPTARG number left out, or given as true/false, is def. */
static int
config_value_number(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	char	q[CONFIG_VALUE_QUOTE + 4];
	bool	b, optional = o->flags & CONFIG_F_OPTARG;
	int	v = o->def;

	if (value == NULL && !optional) {
		config_value_err(err, errlen, "missing value");
		return (-1);
	}
	if (value != NULL && !(optional && config_value_bool(value, &b) == 0) &&
	    config_value_int(value, o->min, o->max, &v) != 0) {
		config_value_show(value, q, sizeof q);
		if (o->type == CONFIG_PORT)
			config_value_err(err, errlen, "'%s' is not a port "
			    "(%d-%d)", q, o->min, o->max);
		else
			config_value_err(err, errlen, "'%s' is not a number "
			    "from %d to %d", q, o->min, o->max);
		return (-1);
	}
	*(int *)config_value_field(cfg, o) = v;
	return (0);
}

static int
config_value_char(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	char	q[CONFIG_VALUE_QUOTE + 4];

	if (value[1] != '\0' || !isgraph((unsigned char)value[0])) {
		config_value_err(err, errlen, "'%s' is not one printable "
		    "character", config_value_show(value, q, sizeof q));
		return (-1);
	}
	*(char *)config_value_field(cfg, o) = value[0];
	return (0);
}

static void
config_value_free_string(char *s, bool secret)
{
	if (s != NULL && secret)
		OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static int
config_value_string(struct config *cfg, const struct config_option *o,
    const char *value)
{
	char	**p = config_value_field(cfg, o);

	config_value_free_string(*p, o->flags & CONFIG_F_SECRET);
	*p = xstrdup(value);
	return (0);
}

static int
config_value_enum(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	char	q[CONFIG_VALUE_QUOTE + 4], list[128];
	size_t	used = 0;
	int	i;

	list[0] = '\0';
	for (i = 0; o->choices[i] != NULL; i++) {
		if (strcmp(value, o->choices[i]) == 0) {
			*(int *)config_value_field(cfg, o) = i;
			return (0);
		}
		if (used < sizeof list)
			used += snprintf(list + used, sizeof list - used,
			    "%s%s", i > 0 ? ", " : "", o->choices[i]);
	}
	config_value_err(err, errlen, "'%s' is not one of %s",
	    config_value_show(value, q, sizeof q), list);
	return (-1);
}

/* A new zeroed element at the end of the row's array. */
static void *
config_value_grow(struct config *cfg, const struct config_option *o,
    size_t size)
{
	void	**v = config_value_field(cfg, o);
	size_t	 *n = (size_t *)((char *)cfg + o->off_n);
	char	 *elem;

	*v = xreallocarray(*v, *n + 1, size);
	elem = (char *)*v + *n * size;
	memset(elem, 0, size);
	(*n)++;
	return (elem);
}

static int
config_value_addr(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	char			q[CONFIG_VALUE_QUOTE + 4];

	if (addr_parse_ip(value, &ss) != 0) {
		config_value_err(err, errlen, "'%s' is not an IP address",
		    config_value_show(value, q, sizeof q));
		return (-1);
	}
	memcpy(config_value_grow(cfg, o, sizeof ss), &ss, sizeof ss);
	return (0);
}

static int
config_value_range(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	struct addr_range	r;
	char			q[CONFIG_VALUE_QUOTE + 4];

	if (addr_range_parse(value, &r) != 0) {
		config_value_err(err, errlen, "'%s' is not an address range "
		    "(IP, IP-IP or IP/prefix)",
		    config_value_show(value, q, sizeof q));
		return (-1);
	}
	memcpy(config_value_grow(cfg, o, sizeof r), &r, sizeof r);
	return (0);
}

static int
config_value_extip(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	struct config_extip	 e;
	char			 q[CONFIG_VALUE_QUOTE + 4], *pub, *priv;
	int			 rc = -1;

	memset(&e, 0, sizeof e);
	pub = xstrdup(value);
	if ((priv = strchr(pub, '/')) != NULL)
		*priv++ = '\0';
	if (addr_parse_ip(pub, &e.pub) != 0 || (priv != NULL &&
	    addr_parse_ip(priv, &e.priv) != 0)) {
		config_value_err(err, errlen, "'%s' is not PUBLIC-IP or "
		    "PUBLIC-IP/PRIVATE-IP (host names are not accepted)",
		    config_value_show(value, q, sizeof q));
		goto out;
	}
	e.has_priv = priv != NULL;
	if (e.has_priv && e.pub.ss_family != e.priv.ss_family) {
		config_value_err(err, errlen, "'%s' maps between IPv4 and "
		    "IPv6", config_value_show(value, q, sizeof q));
		goto out;
	}
	memcpy(config_value_grow(cfg, o, sizeof e), &e, sizeof e);
	rc = 0;
out:
	free(pub);
	return (rc);
}

/* "0x" and 32 hex digits: the key turnadmin -k prints. */
static int
config_value_hexkey(const char *s, uint8_t key[16])
{
	static const char	hex[] = "0123456789abcdef";
	const char		*hi, *lo;
	size_t			 i;

	if (strlen(s) != 34)
		return (-1);
	for (i = 0; i < 16; i++) {
		hi = strchr(hex, tolower((unsigned char)s[2 + 2 * i]));
		lo = strchr(hex, tolower((unsigned char)s[3 + 2 * i]));
		if (hi == NULL || lo == NULL || *hi == '\0' || *lo == '\0')
			return (-1);
		key[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	return (0);
}

static void
config_value_user_clear(struct config_user *u)
{
	config_value_free_string(u->name, true);
	config_value_free_string(u->password, true);
	OPENSSL_cleanse(u, sizeof *u);
}

/* The entry for name, or a new one: a later user= line replaces an earlier. */
static struct config_user *
config_value_user_slot(struct config *cfg, const struct config_option *o,
    const char *name)
{
	struct config_user	*users;
	size_t			 i, n;

	users = *(struct config_user **)config_value_field(cfg, o);
	n = *(size_t *)((char *)cfg + o->off_n);
	for (i = 0; i < n; i++) {
		if (strcmp(users[i].name, name) == 0) {
			config_value_user_clear(&users[i]);
			return (&users[i]);
		}
	}
	return (config_value_grow(cfg, o, sizeof(struct config_user)));
}

static int
config_value_user(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	struct config_user	 u, *slot;
	const char		*colon = strchr(value, ':');

	memset(&u, 0, sizeof u);
	if (colon == NULL || colon == value || colon[1] == '\0') {
		config_value_err(err, errlen, "expected NAME:PASSWORD or "
		    "NAME:0x<32 hex digits>");
		return (-1);
	}
	if (strncasecmp(colon + 1, "0x", 2) == 0) {
		if (config_value_hexkey(colon + 1, u.key) != 0) {
			OPENSSL_cleanse(u.key, sizeof u.key);
			config_value_err(err, errlen, "a key must be 0x "
			    "followed by 32 hex digits");
			return (-1);
		}
		u.has_key = true;
	} else
		u.password = xstrdup(colon + 1);
	u.name = xstrndup(value, colon - value);
	slot = config_value_user_slot(cfg, o, u.name);
	*slot = u;
	OPENSSL_cleanse(&u, sizeof u);
	return (0);
}

void
config_strlist_add(struct config_strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = xstrdup(s);
}

int
config_value_verbosity(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	char	q[CONFIG_VALUE_QUOTE + 4];
	bool	b = true;

	if (value != NULL && config_value_bool(value, &b) != 0) {
		config_value_err(err, errlen, "is a flag and takes no value "
		    "(got '%s')", config_value_show(value, q, sizeof q));
		return (-1);
	}
	if (!b)
		cfg->verbosity = 0;
	else if (cfg->verbosity < o->def)
		cfg->verbosity = o->def;
	return (0);
}

int
config_value_ice_url(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	static const char *const schemes[] = { "stun:", "stuns:", "turn:",
	    "turns:" };
	char	q[CONFIG_VALUE_QUOTE + 4];
	size_t	i;

	if (value == NULL) {
		config_value_err(err, errlen, "missing value");
		return (-1);
	}
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		if (strncmp(value, schemes[i], strlen(schemes[i])) == 0 &&
		    value[strlen(schemes[i])] != '\0') {
			config_strlist_add(config_value_field(cfg, o), value);
			return (0);
		}
	}
	config_value_err(err, errlen, "'%s' is not a stun:, stuns:, turn: "
	    "or turns: URL", config_value_show(value, q, sizeof q));
	return (-1);
}

int
config_value_set(struct config *cfg, const struct config_option *o,
    const char *value, char *err, size_t errlen)
{
	if (o->type == CONFIG_SPECIAL)
		return (o->parse(cfg, o, value, err, errlen));
	if (o->type == CONFIG_FLAG)
		return (config_value_flag(cfg, o, value, err, errlen));
	if (o->type == CONFIG_INT || o->type == CONFIG_PORT)
		return (config_value_number(cfg, o, value, err, errlen));
	if (value == NULL) {
		config_value_err(err, errlen, "missing value");
		return (-1);
	}
	switch (o->type) {
	case CONFIG_CHAR:
		return (config_value_char(cfg, o, value, err, errlen));
	case CONFIG_STRING:
	case CONFIG_PATH:
		return (config_value_string(cfg, o, value));
	case CONFIG_ENUM:
		return (config_value_enum(cfg, o, value, err, errlen));
	case CONFIG_ADDR_LIST:
		return (config_value_addr(cfg, o, value, err, errlen));
	case CONFIG_RANGE_LIST:
		return (config_value_range(cfg, o, value, err, errlen));
	case CONFIG_USER_LIST:
		return (config_value_user(cfg, o, value, err, errlen));
	case CONFIG_EXTIP_LIST:
		return (config_value_extip(cfg, o, value, err, errlen));
	case CONFIG_STR_LIST:
		config_strlist_add(config_value_field(cfg, o), value);
		return (0);
	default:
		config_value_err(err, errlen, "cannot be set here");
		return (-1);
	}
}

static void
config_value_clear_strlist(struct config_strlist *l, bool secret)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		config_value_free_string(l->v[i], secret);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
config_value_clear(struct config *cfg, const struct config_option *o)
{
	void	**p = config_value_field(cfg, o);
	size_t	  i, *n = (size_t *)((char *)cfg + o->off_n);

	switch (o->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
		config_value_free_string(*p, o->flags & CONFIG_F_SECRET);
		*p = NULL;
		break;
	case CONFIG_STR_LIST:
		config_value_clear_strlist(config_value_field(cfg, o),
		    o->flags & CONFIG_F_SECRET);
		break;
	case CONFIG_SPECIAL:
		if (o->parse == config_value_ice_url)
			config_value_clear_strlist(config_value_field(cfg, o),
			    false);
		break;
	case CONFIG_USER_LIST:
		for (i = 0; i < *n; i++)
			config_value_user_clear((struct config_user *)*p + i);
		/* FALLTHROUGH */
	case CONFIG_ADDR_LIST:
	case CONFIG_RANGE_LIST:
	case CONFIG_EXTIP_LIST:
		free(*p);
		*p = NULL;
		*n = 0;
		break;
	default:
		break;
	}
}
