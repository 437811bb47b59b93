/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2026 turnpike authors
 *
 * turnpike-admin: manage the SQLite user database the server reads
 * (userdb), in the spirit of coturn's turnadmin and with its letters:
 * print a long-term key, add, delete and list users, add, list and delete
 * TURN REST secrets. The database code is auth_sqlite.c's.
 *
 * The command line follows the server's conventions (-x VALUE, -xVALUE,
 * --name VALUE, --name=VALUE). Options the server has too (-b/--userdb/
 * --db, -r/--realm) are the server's option-table rows and are parsed by
 * them into a struct config; the rest (commands, -u NAME, -p PASSWORD)
 * come from a small table here, because the server's -u is NAME:PASSWORD
 * and its -p is the listening port.
 *
 * Exit status: 0 done, 1 the database could not be read or written (or
 * there was nothing to delete), 2 usage error.
 */
#include <sys/stat.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "config.h"
#include "stun_msg.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "0.1.0"
#endif

#define ADMIN_EXIT_FAIL		1
#define ADMIN_EXIT_USAGE	2

/* Longest user name and realm the server can match (RFC 8489 §14.3, 14.9). */
#define ADMIN_USER_MAX		513
#define ADMIN_REALM_MAX		763

/* --help: column of the help text, and the line width. */
#define ADMIN_HELP_COL		30
#define ADMIN_HELP_WIDTH	80

enum admin_cmd {
	ADMIN_CMD_NONE,
	ADMIN_CMD_KEY,
	ADMIN_CMD_ADD,
	ADMIN_CMD_DELETE,
	ADMIN_CMD_LIST,
	ADMIN_CMD_SET_SECRET,
	ADMIN_CMD_SHOW_SECRET,
	ADMIN_CMD_DELETE_SECRET,
	ADMIN_CMD_DELETE_ALL_SECRETS,
	ADMIN_CMD_HELP,
	ADMIN_CMD_VERSION
};

/* Where an option's value goes. */
enum admin_field {
	ADMIN_FIELD_NONE,
	ADMIN_FIELD_USER,
	ADMIN_FIELD_PASSWORD,
	ADMIN_FIELD_SECRET,
	ADMIN_NFIELDS
};

/* What a command needs. */
#define ADMIN_NEED_DB		0x1
#define ADMIN_NEED_USER		0x2
#define ADMIN_NEED_REALM	0x4
#define ADMIN_NEED_PASSWORD	0x8

struct admin_option {
	const char	*name;		/* long name; NULL: the server row's */
	const char	*alias;
	int		 short_name;
	const char	*server;	/* the server row that parses it */
	enum admin_cmd	 cmd;		/* a command, or NONE: an option */
	enum admin_field field;
	int		 needs;		/* a command's ADMIN_NEED_* */
	const char	*arg;		/* value's name; NULL: takes none */
	const char	*help;
};

static const struct admin_option admin_options[] = {
	{ .name = "key", .short_name = 'k', .cmd = ADMIN_CMD_KEY,
	  .needs = ADMIN_NEED_USER | ADMIN_NEED_REALM | ADMIN_NEED_PASSWORD,
	  .help = "print the long-term key of user -u in realm -r for "
	  "password -p: 0x and 32 hex digits, as turnadmin -k (no database "
	  "needed)" },
	{ .name = "add", .short_name = 'a', .cmd = ADMIN_CMD_ADD,
	  .needs = ADMIN_NEED_DB | ADMIN_NEED_USER | ADMIN_NEED_REALM |
	  ADMIN_NEED_PASSWORD,
	  .help = "add user -u to realm -r with password -p, or change the "
	  "password; creates the file and tables if missing" },
	{ .name = "delete", .short_name = 'd', .cmd = ADMIN_CMD_DELETE,
	  .needs = ADMIN_NEED_DB | ADMIN_NEED_USER | ADMIN_NEED_REALM,
	  .help = "delete user -u from realm -r" },
	{ .name = "list", .short_name = 'l', .cmd = ADMIN_CMD_LIST,
	  .needs = ADMIN_NEED_DB,
	  .help = "list users, one NAME[REALM] per line; with -r only that "
	  "realm's" },
	{ .name = "set-secret", .short_name = 's',
	  .cmd = ADMIN_CMD_SET_SECRET, .field = ADMIN_FIELD_SECRET,
	  .needs = ADMIN_NEED_DB | ADMIN_NEED_REALM, .arg = "secret",
	  .help = "add a TURN REST secret to realm -r" },
	{ .name = "show-secret", .short_name = 'S',
	  .cmd = ADMIN_CMD_SHOW_SECRET, .needs = ADMIN_NEED_DB,
	  .help = "list REST secrets, one SECRET[REALM] per line; with -r "
	  "only that realm's" },
	{ .name = "delete-secret", .short_name = 'X',
	  .cmd = ADMIN_CMD_DELETE_SECRET, .field = ADMIN_FIELD_SECRET,
	  .needs = ADMIN_NEED_DB | ADMIN_NEED_REALM, .arg = "secret",
	  .help = "delete a REST secret of realm -r" },
	{ .name = "delete-all-secrets", .cmd = ADMIN_CMD_DELETE_ALL_SECRETS,
	  .needs = ADMIN_NEED_DB | ADMIN_NEED_REALM,
	  .help = "delete every REST secret of realm -r" },
	{ .name = "help", .short_name = 'h', .cmd = ADMIN_CMD_HELP,
	  .help = "print this help and exit" },
	{ .name = "version", .cmd = ADMIN_CMD_VERSION,
	  .help = "print the version and exit" },

	{ .server = "userdb",
	  .help = "the SQLite user database the server reads (its userdb); "
	  "needed by every command but -k" },
	{ .server = "realm",
	  .help = "the realm; the server's realm, which defaults to its "
	  "server-name, else \"turnpike\"" },
	{ .name = "user", .short_name = 'u', .field = ADMIN_FIELD_USER,
	  .arg = "name", .help = "user name" },
	{ .name = "password", .short_name = 'p',
	  .field = ADMIN_FIELD_PASSWORD, .arg = "password",
	  .help = "password (only its key is stored)" },
};

#define ADMIN_NOPTIONS	(sizeof(admin_options) / sizeof(admin_options[0]))

/* admin_options with the server rows' names filled in. */
static struct admin_option admin_table[ADMIN_NOPTIONS];

struct admin {
	struct config		  *cfg;	/* userdb and realm */
	const struct admin_option *cmd;
	bool			   help, version;
	char			  *field[ADMIN_NFIELDS];	/* in argv */
	char			   err[512];
};

static void admin_err(struct admin *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
admin_err(struct admin *ad, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(ad->err, sizeof(ad->err), fmt, ap);
	va_end(ap);
}

static void
admin_table_init(void)
{
	const struct config_option	*s;
	struct admin_option		*o;
	size_t				 i;

	for (i = 0; i < ADMIN_NOPTIONS; i++) {
		o = &admin_table[i];
		*o = admin_options[i];
		if (o->server == NULL)
			continue;
		if ((s = config_table_find(o->server)) == NULL)
			abort();	/* the server's table lost the row */
		o->name = s->name;
		o->alias = s->alias;
		o->short_name = s->short_name;
		o->arg = s->arg;
	}
}

/* "-a" or "--delete-all-secrets", for messages. */
static const char *
admin_label(const struct admin_option *o, char *buf, size_t len)
{
	if (o->short_name != 0)
		snprintf(buf, len, "-%c", o->short_name);
	else
		snprintf(buf, len, "--%s", o->name);
	return buf;
}

static const struct admin_option *
admin_find_long(const char *name, size_t n)
{
	const struct admin_option	*o;
	size_t				 i;

	for (i = 0; i < ADMIN_NOPTIONS; i++) {
		o = &admin_table[i];
		if ((strlen(o->name) == n && strncmp(o->name, name, n) == 0) ||
		    (o->alias != NULL && strlen(o->alias) == n &&
		    strncmp(o->alias, name, n) == 0))
			return o;
	}
	return NULL;
}

static const struct admin_option *
admin_find_short(int c)
{
	size_t	i;

	for (i = 0; i < ADMIN_NOPTIONS; i++)
		if (admin_table[i].short_name == c)
			return &admin_table[i];
	return NULL;
}

/* Store one option's value (NULL for a flag), seen at argument argn. */
static int
admin_apply(struct admin *ad, const struct admin_option *o, char *value,
    int argn)
{
	char	problem[256], a[32], b[32];

	if (o->cmd == ADMIN_CMD_HELP || o->cmd == ADMIN_CMD_VERSION) {
		ad->help |= o->cmd == ADMIN_CMD_HELP;
		ad->version |= o->cmd == ADMIN_CMD_VERSION;
		return 0;
	}
	if (o->cmd != ADMIN_CMD_NONE) {
		if (ad->cmd != NULL && ad->cmd != o) {
			admin_err(ad, "argument %d: %s and %s: one command at "
			    "a time", argn, admin_label(ad->cmd, a, sizeof(a)),
			    admin_label(o, b, sizeof(b)));
			return -1;
		}
		ad->cmd = o;
	}
	if (o->server != NULL && config_value_set(ad->cfg,
	    config_table_find(o->server), value, problem,
	    sizeof(problem)) != 0) {
		admin_err(ad, "argument %d: %s: %s", argn, o->name, problem);
		return -1;
	}
	if (o->field != ADMIN_FIELD_NONE)
		ad->field[o->field] = value;
	return 0;
}

/* "--name", "--name=value" or "--name value". Returns the next index. */
static int
admin_parse_long(struct admin *ad, int argc, char **argv, int i)
{
	const struct admin_option	*o;
	char				*arg = argv[i] + 2, *eq, q[72];
	size_t				 n;

	eq = strchr(arg, '=');
	n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if ((o = admin_find_long(arg, n)) == NULL) {
		admin_err(ad, "argument %d: unknown option '--%s'", i,
		    config_value_quote(arg, n, q, sizeof(q)));
		return -1;
	}
	if (o->arg == NULL && eq != NULL) {
		admin_err(ad, "argument %d: option '--%s' takes no value", i,
		    o->name);
		return -1;
	}
	if (o->arg == NULL)
		return admin_apply(ad, o, NULL, i) == 0 ? i + 1 : -1;
	if (eq != NULL)
		return admin_apply(ad, o, eq + 1, i) == 0 ? i + 1 : -1;
	if (i + 1 >= argc) {
		admin_err(ad, "argument %d: option '--%s' requires a value", i,
		    o->name);
		return -1;
	}
	return admin_apply(ad, o, argv[i + 1], i) == 0 ? i + 2 : -1;
}

/* "-x", "-xVALUE", "-x VALUE", or flags together ("-kh"). */
static int
admin_parse_short(struct admin *ad, int argc, char **argv, int i)
{
	const struct admin_option	*o;
	char				*p, q[8];

	for (p = argv[i] + 1; *p != '\0'; p++) {
		if ((o = admin_find_short((unsigned char)*p)) == NULL) {
			admin_err(ad, "argument %d: unknown option '-%s'", i,
			    config_value_quote(p, 1, q, sizeof(q)));
			return -1;
		}
		if (o->arg == NULL) {
			if (admin_apply(ad, o, NULL, i) != 0)
				return -1;
			continue;
		}
		if (p[1] != '\0')
			return admin_apply(ad, o, p + 1, i) == 0 ? i + 1 : -1;
		if (i + 1 >= argc) {
			admin_err(ad, "argument %d: option '-%c' requires a "
			    "value", i, *p);
			return -1;
		}
		return admin_apply(ad, o, argv[i + 1], i) == 0 ? i + 2 : -1;
	}
	return i + 1;
}

static int
admin_parse(struct admin *ad, int argc, char **argv)
{
	char	q[72];
	int	i = 1;

	while (i < argc) {
		if (argv[i][0] == '-' && argv[i][1] == '-')
			i = admin_parse_long(ad, argc, argv, i);
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			i = admin_parse_short(ad, argc, argv, i);
		else {
			admin_err(ad, "argument %d: unexpected argument '%s'",
			    i, config_value_quote(argv[i], strlen(argv[i]), q,
			    sizeof(q)));
			return -1;
		}
		if (i < 0)
			return -1;
	}
	return 0;
}

/* One needed value: present, not empty, not longer than max (0: any). */
static int
admin_need(struct admin *ad, const char *value, const char *what,
    const char *how, size_t max)
{
	char	c[32];

	admin_label(ad->cmd, c, sizeof(c));
	if (value == NULL) {
		admin_err(ad, "%s needs %s: %s", c, what, how);
		return -1;
	}
	if (*value == '\0') {
		admin_err(ad, "%s: %s is empty", c, what);
		return -1;
	}
	if (max != 0 && strlen(value) > max) {
		admin_err(ad, "%s: %s is longer than %zu bytes", c, what, max);
		return -1;
	}
	return 0;
}

/* The command has what it needs? */
static int
admin_check(struct admin *ad)
{
	int	needs;

	if (ad->cmd == NULL) {
		admin_err(ad, "no command: give one of -k, -a, -d, -l, -s, "
		    "-S, -X, --delete-all-secrets");
		return -1;
	}
	needs = ad->cmd->needs;
	if ((needs & ADMIN_NEED_DB) && admin_need(ad, ad->cfg->userdb,
	    "the database", "-b FILE", 0) != 0)
		return -1;
	if ((needs & ADMIN_NEED_USER) && admin_need(ad,
	    ad->field[ADMIN_FIELD_USER], "the user name", "-u NAME",
	    ADMIN_USER_MAX) != 0)
		return -1;
	if ((needs & ADMIN_NEED_REALM) && admin_need(ad, ad->cfg->realm,
	    "the realm", "-r REALM", ADMIN_REALM_MAX) != 0)
		return -1;
	if ((needs & ADMIN_NEED_PASSWORD) && admin_need(ad,
	    ad->field[ADMIN_FIELD_PASSWORD], "the password", "-p PASSWORD",
	    0) != 0)
		return -1;
	if (ad->cmd->field == ADMIN_FIELD_SECRET && admin_need(ad,
	    ad->field[ADMIN_FIELD_SECRET], "the secret", "the option's value",
	    0) != 0)
		return -1;
	/* -l and -S take an optional realm: an empty one is a mistake. */
	if (ad->cfg->realm != NULL && admin_need(ad, ad->cfg->realm,
	    "the realm", "-r REALM", ADMIN_REALM_MAX) != 0)
		return -1;
	return 0;
}

/* Print text from column col, wrapped at the width. */
static void
admin_wrap(FILE *f, size_t col, const char *text)
{
	const char	*p = text, *sp;
	size_t		 used = col, n;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (used > col && used + 1 + n > ADMIN_HELP_WIDTH) {
			fprintf(f, "\n%*s", (int)col, "");
			used = col;
		} else if (used > col) {
			fputc(' ', f);
			used++;
		}
		fwrite(p, 1, n, f);
		used += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void
admin_usage_row(FILE *f, const struct admin_option *o)
{
	char	left[96];
	int	n;

	if (o->short_name != 0)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->short_name,
		    o->name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->name);
	if (o->alias != NULL)
		n += snprintf(left + n, sizeof(left) - n, ", --%s", o->alias);
	if (o->arg != NULL)
		snprintf(left + n, sizeof(left) - n, " %s", o->arg);
	if (strlen(left) + 1 >= ADMIN_HELP_COL)
		fprintf(f, "%s\n%*s", left, ADMIN_HELP_COL, "");
	else
		fprintf(f, "%-*s", ADMIN_HELP_COL, left);
	admin_wrap(f, ADMIN_HELP_COL, o->help);
}

static void
admin_usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: turnpike-admin COMMAND [options]\n"
	    "Manage the SQLite user database turnpike reads (userdb); "
	    "coturn's tables,\nso coturn's turnadmin and turnpike-admin "
	    "work on the same file. A value\nfollows its option: -u NAME, "
	    "-uNAME, --user NAME or --user=NAME.\n\nCommands (one):\n");
	for (i = 0; i < ADMIN_NOPTIONS; i++)
		if (admin_table[i].cmd != ADMIN_CMD_NONE)
			admin_usage_row(f, &admin_table[i]);
	fprintf(f, "\nOptions:\n");
	for (i = 0; i < ADMIN_NOPTIONS; i++)
		if (admin_table[i].cmd == ADMIN_CMD_NONE)
			admin_usage_row(f, &admin_table[i]);
	fprintf(f, "\nExit status: 0 done; 1 the database could not be read "
	    "or written, or there\nwas nothing to delete; 2 usage error.\n");
}

static void
admin_print_cb(const char *realm, const char *value, void *arg)
{
	printf("%s[%s]\n", value, realm);
}

/* -k and -a: the key from -u, -r and -p. */
static int
admin_key(struct admin *ad, uint8_t key[16])
{
	if (stun_longterm_key(ad->field[ADMIN_FIELD_USER], ad->cfg->realm,
	    ad->field[ADMIN_FIELD_PASSWORD], key) != 0) {
		admin_err(ad, "cannot compute the key (OpenSSL MD5)");
		return -1;
	}
	return 0;
}

/* Run the checked command: 0, or -1 with the message in ad->err. */
static int
admin_run(struct admin *ad)
{
	const char	*db = ad->cfg->userdb, *realm = ad->cfg->realm;
	const char	*user = ad->field[ADMIN_FIELD_USER];
	const char	*secret = ad->field[ADMIN_FIELD_SECRET];
	uint8_t		 key[16];
	int		 i, rc = -1;

	switch (ad->cmd->cmd) {
	case ADMIN_CMD_KEY:
		if ((rc = admin_key(ad, key)) == 0) {
			printf("0x");
			for (i = 0; i < 16; i++)
				printf("%02x", key[i]);
			printf("\n");
		}
		break;
	case ADMIN_CMD_ADD:
		if ((rc = admin_key(ad, key)) == 0)
			rc = auth_sqlite_put_user(db, realm, user, key, ad->err,
			    sizeof(ad->err));
		break;
	case ADMIN_CMD_DELETE:
		if ((rc = auth_sqlite_del_user(db, realm, user, ad->err,
		    sizeof(ad->err))) == 0) {
			admin_err(ad, "no user '%s' in realm '%s': nothing "
			    "deleted", user, realm);
			rc = -1;
		}
		break;
	case ADMIN_CMD_LIST:
	case ADMIN_CMD_SHOW_SECRET:
		rc = auth_sqlite_list(db, ad->cmd->cmd ==
		    ADMIN_CMD_SHOW_SECRET, realm, admin_print_cb, NULL,
		    ad->err, sizeof(ad->err));
		break;
	case ADMIN_CMD_SET_SECRET:
		rc = auth_sqlite_put_secret(db, realm, secret, ad->err,
		    sizeof(ad->err));
		break;
	case ADMIN_CMD_DELETE_SECRET:
		if ((rc = auth_sqlite_del_secret(db, realm, secret, ad->err,
		    sizeof(ad->err))) == 0) {
			admin_err(ad, "no such secret in realm '%s': nothing "
			    "deleted", realm);
			rc = -1;
		}
		break;
	case ADMIN_CMD_DELETE_ALL_SECRETS:
		rc = auth_sqlite_del_secret(db, realm, NULL, ad->err,
		    sizeof(ad->err));
		break;
	default:
		abort();	/* help and version never get here */
	}
	OPENSSL_cleanse(key, sizeof(key));
	return rc < 0 ? -1 : 0;
}

/* Wipe the password and secret from argv (and so from ps) once used. */
static void
admin_wipe(struct admin *ad)
{
	char	*p;

	if ((p = ad->field[ADMIN_FIELD_PASSWORD]) != NULL)
		OPENSSL_cleanse(p, strlen(p));
	if ((p = ad->field[ADMIN_FIELD_SECRET]) != NULL)
		OPENSSL_cleanse(p, strlen(p));
}

int
main(int argc, char **argv)
{
	struct admin	ad;
	mode_t		mask;
	int		rc = 0;

	memset(&ad, 0, sizeof(ad));
	admin_table_init();
	/* A new database holds keys: not readable by others. */
	mask = umask(0);
	umask(mask | 027);
	ad.cfg = config_new();
	if ((rc = admin_parse(&ad, argc, argv)) == 0 && ad.help) {
		admin_usage(stdout);
		goto out;
	}
	if (rc == 0 && ad.version) {
		printf("turnpike-admin %s\n", TURNPIKE_VERSION);
		goto out;
	}
	if (rc != 0 || admin_check(&ad) != 0) {
		fprintf(stderr, "turnpike-admin: %s\n"
		    "Try 'turnpike-admin --help'.\n", ad.err);
		rc = ADMIN_EXIT_USAGE;
		goto out;
	}
	if (admin_run(&ad) != 0) {
		fprintf(stderr, "turnpike-admin: %s\n", ad.err);
		rc = ADMIN_EXIT_FAIL;
	}
	admin_wipe(&ad);
	if (fflush(stdout) == EOF) {
		perror("turnpike-admin: stdout");
		rc = ADMIN_EXIT_FAIL;
	}
out:
	config_free(ad.cfg);
	return rc;
}
