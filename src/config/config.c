/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2025 turnpike authors
 *
 * The configuration parser: configuration files (coturn syntax, one option
 * per line) and the command line, both driven by the option table, into a
 * struct config; and the checks between options.
 *
 * Nothing here logs or exits. Errors come back as one line of text naming
 * the file and line (or the argument) and the option; warnings about
 * ignored options are collected in cfg->warnings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config.h"
#include "xmalloc.h"

/* coturn's default configuration files, searched in this order. */
static const char *const config_search_path[] = {
	"turnserver.conf",
	"etc/turnserver.conf",
	"/etc/turnserver.conf",
	"/etc/coturn/turnserver.conf",
	"/usr/local/etc/turnserver.conf",
	"/usr/local/etc/coturn/turnserver.conf",
};

/* Where a value came from: "FILE:LINE" or "argument N". */
#define CONFIG_WHERE_LEN	512

enum config_arg_kind {
	CONFIG_ARG_NONE,
	CONFIG_ARG_REQUIRED,
	CONFIG_ARG_OPTIONAL
};

/* One option from the command line, applied after the file. */
struct config_arg {
	const struct config_option	*o;
	const char			*value;
	int				 argn;
};

/* The command line, scanned. */
struct config_argv {
	struct config_arg	*args;
	size_t			 n;
	const char		*file;		/* -c */
	bool			 no_file;	/* -n */
	bool			 help, version;
};

static void config_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void config_warn(struct config *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
config_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
config_warn(struct config *cfg, const char *fmt, ...)
{
	struct config_strlist	*l = &cfg->warnings;
	va_list			 ap;
	char			*s;
	int			 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(s, n + 1, fmt, ap);
	va_end(ap);
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = s;
}

struct config *
config_new(void)
{
	const struct config_option	*o;
	struct config			*cfg;
	size_t				 i;
	char				*field;

	cfg = xcalloc(1, sizeof *cfg);
	cfg->origins = xcalloc(config_noptions, sizeof *cfg->origins);
	for (i = 0; i < config_noptions; i++) {
		o = &config_options[i];
		field = (char *)cfg + o->off;
		if (o->off == 0 || (o->flags & CONFIG_F_NEGATE))
			continue;
		if (o->type == CONFIG_FLAG)
			*(bool *)field = o->def != 0;
		else if (o->type == CONFIG_INT || o->type == CONFIG_PORT ||
		    o->type == CONFIG_ENUM)
			*(int *)field = o->def;
		else if (o->type == CONFIG_CHAR)
			*field = (char)o->def;
	}
	return (cfg);
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	for (i = 0; i < config_noptions; i++) {
		if (config_options[i].off != 0)
			config_value_clear(cfg, &config_options[i]);
		free(cfg->origins[i]);
	}
	free(cfg->origins);
	for (i = 0; i < cfg->warnings.n; i++)
		free(cfg->warnings.v[i]);
	free(cfg->warnings.v);
	free(cfg->config_file);
	free(cfg);
}

/* Whether value asks for nothing: flag false, number 0 (max-bps=0). */
static bool
config_is_off(const struct config_option *o, const char *value)
{
	bool	b;
	int	v;

	if (value == NULL)
		return (false);
	if (o->type == CONFIG_FLAG || o->type == CONFIG_SPECIAL)
		return (config_value_bool(value, &b) == 0 && !b);
	if (o->type == CONFIG_INT)
		return (config_value_int(value, 0, 0, &v) == 0);
	return (false);
}

/* Store one option's value (NULL when it stood alone) from where. */
static int
config_apply(struct config *cfg, const struct config_option *o,
    const char *value, const char *where, char *err, size_t errlen)
{
	char	problem[256];

	if (o->type == CONFIG_META) {	/* -h and --version in a file */
		config_err(err, errlen, "%s: option '%s' is only valid on the "
		    "command line", where, o->name);
		return (-1);
	}
	if (value != NULL && *value == '\0')
		return (0);	/* "name=": not set */
	if (o->status == CONFIG_IGNORED || o->status == CONFIG_REFUSED) {
		if (config_is_off(o, value))
			return (0);
		if (o->status == CONFIG_IGNORED) {
			config_warn(cfg, "%s: option '%s' is not supported, "
			    "ignored (%s)", where, o->name, o->help);
			return (0);
		}
		config_err(err, errlen, "%s: option '%s' is not supported by "
		    "turnpike; refusing to start because %s", where, o->name,
		    o->help);
		return (-1);
	}
	if (config_value_set(cfg, o, value, problem, sizeof problem) != 0) {
		config_err(err, errlen, "%s: %s: %s", where, o->name, problem);
		return (-1);
	}
	if (o->status == CONFIG_LATER && !config_is_off(o, value))
		config_warn(cfg, "%s: option '%s' is recognized, not "
		    "implemented yet", where, o->name);
	free(cfg->origins[o - config_options]);
	cfg->origins[o - config_options] = xstrdup(where);
	return (0);
}

/* Where the option name was last set, for cross-check messages. */
static const char *
config_origin(const struct config *cfg, const char *name)
{
	const struct config_option	*o = config_table_find(name);

	if (o == NULL || cfg->origins[o - config_options] == NULL)
		return ("default");
	return (cfg->origins[o - config_options]);
}

static char *
config_trim(char *s)
{
	size_t	n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return (s);
}

/*
 * One line, trimmed, not a comment: "name", "name=value", "name value",
 * each optionally with a leading "--"; a value in double quotes loses them.
 */
static int
config_parse_line(struct config *cfg, char *line, const char *where,
    char *err, size_t errlen)
{
	const struct config_option	*o;
	char				*sep, *value = NULL;
	char				 q[CONFIG_VALUE_QUOTE + 4];
	size_t				 n;

	if (strncmp(line, "--", 2) == 0)
		line += 2;
	sep = line + strcspn(line, " \t\v\f=");
	if (*sep != '\0') {
		value = sep + strspn(sep, " \t\v\f");
		if (*value == '=')
			value = config_trim(value + 1);
		*sep = '\0';
	}
	n = value != NULL ? strlen(value) : 0;
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value[n - 1] = '\0';
		value++;
	}
	if ((o = config_table_find(line)) == NULL) {
		config_err(err, errlen, "%s: unknown option '%s'", where,
		    config_value_quote(line, strlen(line), q, sizeof q));
		return (-1);
	}
	return (config_apply(cfg, o, value, where, err, errlen));
}

static int
config_parse_raw_line(struct config *cfg, const char *p, size_t len,
    const char *where, char *err, size_t errlen)
{
	char	*copy, *line;
	int	 rc = 0;

	if (memchr(p, '\0', len) != NULL) {
		config_err(err, errlen, "%s: NUL byte in line", where);
		return (-1);
	}
	copy = xstrndup(p, len);
	line = config_trim(copy);
	if (*line != '\0' && *line != '#')
		rc = config_parse_line(cfg, line, where, err, errlen);
	OPENSSL_cleanse(copy, len);	/* may hold a password */
	free(copy);
	return (rc);
}

int
config_parse_text(struct config *cfg, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	const char	*p = text, *end = text + len, *nl;
	char		 where[CONFIG_WHERE_LEN];
	size_t		 n;
	unsigned int	 line;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* UTF-8 byte order mark */
	for (line = 1; p < end; line++) {
		nl = memchr(p, '\n', end - p);
		n = (nl != NULL ? nl : end) - p;
		snprintf(where, sizeof where, "%s:%u", name, line);
		if (config_parse_raw_line(cfg, p, n, where, err, errlen) != 0)
			return (CONFIG_ERROR);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return (CONFIG_OK);
}

int
config_parse_file(struct config *cfg, const char *path, char *err,
    size_t errlen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 rc = CONFIG_ERROR;

	if ((f = fopen(path, "r")) == NULL) {
		config_err(err, errlen, "cannot open %s: %s", path,
		    strerror(errno));
		return (CONFIG_ERROR);
	}
	buf = xmalloc(CONFIG_MAX_FILE + 1);
	n = fread(buf, 1, CONFIG_MAX_FILE + 1, f);
	if (ferror(f))
		config_err(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
	else if (n > CONFIG_MAX_FILE)
		config_err(err, errlen, "%s: larger than %d bytes", path,
		    CONFIG_MAX_FILE);
	else
		rc = config_parse_text(cfg, buf, n, path, err, errlen);
	OPENSSL_cleanse(buf, n < CONFIG_MAX_FILE ? n : CONFIG_MAX_FILE);
	free(buf);
	fclose(f);
	return (rc);
}

static enum config_arg_kind
config_arg_kind(const struct config_option *o)
{
	if (o->type == CONFIG_FLAG || (o->flags & CONFIG_F_NOARG))
		return (CONFIG_ARG_NONE);
	if (o->flags & CONFIG_F_OPTARG)
		return (CONFIG_ARG_OPTIONAL);
	return (CONFIG_ARG_REQUIRED);
}

/* Note one option seen on the command line: -c/-n/-h/--version at once. */
static void
config_argv_add(struct config_argv *a, const struct config_option *o,
    const char *value, int argn)
{
	if (o->type == CONFIG_META) {
		if (o->def == CONFIG_META_FILE)
			a->file = value;
		a->no_file |= o->def == CONFIG_META_NO_FILE;
		a->help |= o->def == CONFIG_META_HELP;
		a->version |= o->def == CONFIG_META_VERSION;
		return;
	}
	a->args = xreallocarray(a->args, a->n + 1, sizeof *a->args);
	a->args[a->n].o = o;
	a->args[a->n].value = value;
	a->args[a->n].argn = argn;
	a->n++;
}

/* "--name", "--name=value" or "--name value". Returns the next index. */
static int
config_argv_long(struct config_argv *a, int argc, char **argv, int i,
    char *err, size_t errlen)
{
	const struct config_option	*o;
	const char			*arg = argv[i] + 2, *eq;
	const char			*value = NULL;
	char				*name, q[CONFIG_VALUE_QUOTE + 4];
	enum config_arg_kind		 kind;

	eq = strchr(arg, '=');
	name = xstrndup(arg, eq != NULL ? (size_t)(eq - arg) : strlen(arg));
	o = config_table_find(name);
	free(name);
	if (o == NULL) {
		config_err(err, errlen, "argument %d: unknown option '--%s'", i,
		    config_value_quote(arg, eq != NULL ? (size_t)(eq - arg) :
		    strlen(arg), q, sizeof q));
		return (-1);
	}
	kind = config_arg_kind(o);
	if (eq != NULL && kind == CONFIG_ARG_NONE && o->type == CONFIG_META) {
		config_err(err, errlen, "argument %d: option '--%s' takes no "
		    "value", i, o->name);
		return (-1);
	}
	if (eq != NULL)
		value = eq + 1;
	else if (kind == CONFIG_ARG_REQUIRED) {
		if (i + 1 >= argc) {
			config_err(err, errlen, "argument %d: option '--%s' "
			    "requires a value", i, o->name);
			return (-1);
		}
		config_argv_add(a, o, argv[i + 1], i);
		return (i + 2);
	}
	config_argv_add(a, o, value, i);
	return (i + 1);
}

/* "-x", "-xVALUE", "-x VALUE", or bundled flags "-oaf". */
static int
config_argv_short(struct config_argv *a, int argc, char **argv, int i,
    char *err, size_t errlen)
{
	const struct config_option	*o;
	const char			*p;
	char				 q[8];

	for (p = argv[i] + 1; *p != '\0'; p++) {
		if ((o = config_table_find_short((unsigned char)*p)) == NULL) {
			config_err(err, errlen, "argument %d: unknown option "
			    "'-%s'", i, config_value_quote(p, 1, q, sizeof q));
			return (-1);
		}
		if (config_arg_kind(o) != CONFIG_ARG_REQUIRED) {
			config_argv_add(a, o, NULL, i);
			continue;
		}
		if (p[1] != '\0') {
			config_argv_add(a, o, p + 1, i);
			return (i + 1);
		}
		if (i + 1 >= argc) {
			config_err(err, errlen, "argument %d: option '-%c' "
			    "requires a value", i, *p);
			return (-1);
		}
		config_argv_add(a, o, argv[i + 1], i);
		return (i + 2);
	}
	return (i + 1);
}

static int
config_argv_scan(struct config_argv *a, int argc, char **argv, char *err,
    size_t errlen)
{
	const char	*arg;
	char		 q[CONFIG_VALUE_QUOTE + 4];
	int		 i = 1;

	while (i > 0 && i < argc) {
		arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			if (++i == argc)
				break;
			arg = "";	/* after "--" nothing may follow */
		}
		if (arg[0] == '-' && arg[1] == '-')
			i = config_argv_long(a, argc, argv, i, err, errlen);
		else if (arg[0] == '-' && arg[1] != '\0')
			i = config_argv_short(a, argc, argv, i, err, errlen);
		else {
			config_err(err, errlen, "argument %d: unexpected "
			    "argument '%s'", i, config_value_quote(argv[i],
			    strlen(argv[i]), q, sizeof q));
			return (-1);
		}
	}
	return (i > 0 ? 0 : -1);
}

/* The first default file that exists, or NULL. */
static const char *
config_search(void)
{
	size_t	i;

	for (i = 0; i < sizeof config_search_path /
	    sizeof config_search_path[0]; i++) {
		if (access(config_search_path[i], F_OK) == 0)
			return (config_search_path[i]);
	}
	return (NULL);
}

static int
config_load_file(struct config *cfg, const struct config_argv *a,
    char *err, size_t errlen)
{
	const char	*path = a->file;

	if (a->file != NULL && a->no_file) {
		config_err(err, errlen, "-c and -n cannot be used together");
		return (-1);
	}
	if (a->no_file)
		return (0);
	if (path == NULL && (path = config_search()) == NULL)
		return (0);
	if (config_parse_file(cfg, path, err, errlen) != 0)
		return (-1);
	free(cfg->config_file);
	cfg->config_file = xstrdup(path);
	return (0);
}

int
config_load(struct config *cfg, int argc, char **argv, char *err,
    size_t errlen)
{
	struct config_argv	a;
	char			where[CONFIG_WHERE_LEN];
	size_t			i;
	int			rc = CONFIG_ERROR;

	memset(&a, 0, sizeof a);
	if (config_argv_scan(&a, argc, argv, err, errlen) != 0)
		goto out;
	if (a.help || a.version) {
		rc = a.help ? CONFIG_HELP : CONFIG_VERSION;
		goto out;
	}
	if (config_load_file(cfg, &a, err, errlen) != 0)
		goto out;
	for (i = 0; i < a.n; i++) {
		snprintf(where, sizeof where, "argument %d", a.args[i].argn);
		if (config_apply(cfg, a.args[i].o, a.args[i].value, where,
		    err, errlen) != 0)
			goto out;
	}
	if (config_validate(cfg, err, errlen) == 0)
		rc = CONFIG_OK;
out:
	free(a.args);
	return (rc);
}

static int
config_validate_relay(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->min_port > cfg->max_port) {
		config_err(err, errlen, "%s: min-port (%d) is greater than "
		    "max-port (%d, %s)", config_origin(cfg, "min-port"),
		    cfg->min_port, cfg->max_port, config_origin(cfg, "max-port"));
		return (-1);
	}
	if (cfg->no_udp_relay && cfg->no_tcp_relay && !cfg->stun_only) {
		config_err(err, errlen, "no-udp-relay and no-tcp-relay "
		    "together leave no relay transport (for a STUN-only "
		    "server use stun-only)");
		return (-1);
	}
	return (0);
}

static int
config_validate_auth(const struct config *cfg, char *err, size_t errlen)
{
	const char	*other = NULL;

	if (cfg->no_auth && cfg->lt_cred_mech)
		other = "lt-cred-mech";
	else if (cfg->no_auth && cfg->use_auth_secret)
		other = "use-auth-secret";
	else if (cfg->no_auth && cfg->secure_stun)
		other = "secure-stun";
	if (other != NULL) {
		config_err(err, errlen, "%s: no-auth conflicts with %s (%s): "
		    "choose anonymous access or authentication",
		    config_origin(cfg, "no-auth"), other,
		    config_origin(cfg, other));
		return (-1);
	}
	if (cfg->signal_auth == CONFIG_SIGNAL_AUTH_SECRET &&
	    cfg->static_auth_secrets.n == 0) {
		config_err(err, errlen, "signal-auth=secret needs a "
		    "static-auth-secret to check tokens against");
		return (-1);
	}
	return (0);
}

static int
config_validate_services(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->stun_only && cfg->no_stun) {
		config_err(err, errlen, "stun-only conflicts with no-stun: "
		    "nothing would be served");
		return (-1);
	}
	if (cfg->no_udp && cfg->no_tcp && cfg->no_tls &&
	    cfg->signal_port == 0 && cfg->signal_tls_port == 0) {
		config_err(err, errlen, "no-udp, no-tcp and no-tls together "
		    "leave no listener");
		return (-1);
	}
	if (cfg->signal_ping_interval != 0 &&
	    cfg->signal_idle_timeout <= cfg->signal_ping_interval) {
		config_err(err, errlen, "signal-idle-timeout (%d) must be "
		    "longer than signal-ping-interval (%d)",
		    cfg->signal_idle_timeout, cfg->signal_ping_interval);
		return (-1);
	}
	return (0);
}

int
config_validate(struct config *cfg, char *err, size_t errlen)
{
	if (config_validate_relay(cfg, err, errlen) != 0 ||
	    config_validate_auth(cfg, err, errlen) != 0 ||
	    config_validate_services(cfg, err, errlen) != 0)
		return (CONFIG_ERROR);
	return (CONFIG_OK);
}
