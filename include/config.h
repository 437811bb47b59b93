/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2025 turnpike authors
 *
 * turnpike — configuration: the option table, struct config and the parser
 * that fills it from configuration files (coturn syntax) and the command line.
 *
 * The parser is pure in the STYLE.md sense: it does not log and never exits.
 * Problems come back as one line of text in the caller's buffer; warnings
 * about options that are recognized but not supported are collected in
 * cfg->warnings for main.c to log.
 */
#ifndef TURNPIKE_CONFIG_H
#define TURNPIKE_CONFIG_H

#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"

#define CONFIG_OK	0
#define CONFIG_ERROR	-1
#define CONFIG_HELP	1	/* -h/--help seen: print config_usage, exit 0 */
#define CONFIG_VERSION	2	/* --version seen */

/* Largest configuration file read, in bytes. */
#define CONFIG_MAX_FILE	(1024 * 1024)

enum config_signal_auth {
	CONFIG_SIGNAL_AUTH_NONE,
	CONFIG_SIGNAL_AUTH_SECRET,
	CONFIG_SIGNAL_AUTH_USER
};

struct config_user {
	char		*name;
	char		*password;	/* NULL when given as key */
	uint8_t		 key[16];	/* MD5(name:realm:password) */
	bool		 has_key;
};

struct config_extip {
	struct sockaddr_storage	 pub, priv;
	bool			 has_priv;
};

struct config_strlist {
	char		**v;
	size_t		  n;
};

struct config {
	char		*config_file;	/* file read, NULL if none */
	struct config_strlist warnings;	/* for main.c to log */
	char		**origins;	/* per table row: where it was last set
					   ("FILE:LINE", "argument N"), or NULL */

	/* listening */
	int		 listening_port;	/* 3478 */
	int		 tls_listening_port;	/* 5349 */
	int		 alt_listening_port;	/* 0 = unset */
	int		 alt_tls_listening_port; /* 0 = unset */
	struct sockaddr_storage *listening_ips;
	size_t		 n_listening_ips;
	char		*listening_device;
	bool		 no_udp, no_tcp, no_tls, no_dtls;
	int		 relay_threads;	/* -1: one per CPU; 0 means 1 */

	/* relay */
	struct sockaddr_storage *relay_ips;
	size_t		 n_relay_ips;
	char		*relay_device;
	struct config_extip *external_ips;
	size_t		 n_external_ips;
	int		 min_port, max_port;	/* 49152, 65535 */
	bool		 no_udp_relay, no_tcp_relay;
	int		 max_allocate_lifetime;	/* 3600 */
	int		 channel_lifetime;	/* 600 */
	int		 permission_lifetime;	/* 300 */
	int		 user_quota, total_quota; /* 0 = unlimited */
	bool		 allow_loopback_peers, no_multicast_peers;
	bool		 no_relay_hairpin;
	bool		 mobility;
	struct addr_range *allowed_peer_ips;
	size_t		 n_allowed_peer_ips;
	struct addr_range *denied_peer_ips;
	size_t		 n_denied_peer_ips;

	/* STUN */
	bool		 fingerprint, no_stun, stun_only;
	bool		 software_attribute, secure_stun;
	bool		 no_stun_backward_compatibility, log_binding;

	/* auth */
	bool		 lt_cred_mech, no_auth, use_auth_secret;
	bool		 no_auth_pings;
	struct config_user *users;
	size_t		 n_users;
	char		*realm;		/* NULL = unset */
	char		*server_name;
	struct config_strlist static_auth_secrets;
	char		 rest_api_separator;	/* ':' */
	char		*userdb;		/* SQLite path */
	int		 stale_nonce;		/* seconds, 600 */

	/* TLS */
	char		*cert, *pkey, *pkey_pwd, *cipher_list, *ca_file;
	char		*ec_curve_name, *dh_file;
	bool		 no_tlsv1, no_tlsv1_1, no_tlsv1_2;

	/* logging and process */
	int		 verbosity;	/* 0 normal, 1 -v, 2 -V */
	char		*log_file;
	bool		 no_stdout_log, syslog, simple_log;
	char		*syslog_facility;
	bool		 daemon;
	char		*pidfile;
	char		*proc_user, *proc_group;

	/* signaling and web */
	int		 signal_port, signal_tls_port;	/* 0 = off */
	int		 signal_room_max;	/* 2; 0 = unlimited */
	int		 signal_ping_interval;	/* 25 */
	int		 signal_idle_timeout;	/* 60 */
	int		 signal_rate;		/* 50 a second; 0: no limit */
	int		 signal_rate_burst;	/* 200 */
	int		 signal_max_message;	/* 65536 */
	int		 signal_ice_ttl;	/* 86400 */
	enum config_signal_auth signal_auth;
	struct config_strlist signal_origins, signal_ice_urls;
	char		*web_root;
};

/* A new configuration holding every default from the option table. */
struct config	*config_new(void);
/* NULL is fine. Passwords, keys and secrets are wiped before being freed. */
void		 config_free(struct config *);

/*
 * Fill cfg from the command line: argv[1..argc-1] in coturn syntax, plus the
 * configuration file named by -c, or the first of the default files that
 * exists (none is not an error), or no file with -n. Options on the command
 * line override the file's; repeatable ones add to it. Calls
 * config_validate(). Returns CONFIG_OK, CONFIG_HELP, CONFIG_VERSION, or
 * CONFIG_ERROR with a one-line message in err.
 */
int		 config_load(struct config *, int argc, char **argv,
		    char *err, size_t errlen);
/*
 * Parse one file's text (len bytes, need not be NUL-terminated). name is
 * used in messages: "name:LINE: ...". Stops at the first error: returns
 * CONFIG_ERROR and a one-line message in err. Does not validate.
 */
int		 config_parse_text(struct config *, const char *text,
		    size_t len, const char *name, char *err, size_t errlen);
/* Read path (at most CONFIG_MAX_FILE bytes) and parse it as above. */
int		 config_parse_file(struct config *, const char *path,
		    char *err, size_t errlen);
/* Checks between options (min-port <= max-port, no-auth conflicts...). */
int		 config_validate(struct config *, char *err, size_t errlen);
/* --help, grouped by section, generated from the table. */
void		 config_usage(FILE *);

/*
 * The option table (config_table.c). One row per option; the file parser,
 * the command line, --help and config_new()'s defaults all read it.
 */
enum config_type {
	CONFIG_FLAG,		/* bool: bare, or true/false, yes/no... */
	CONFIG_INT,		/* int in [min, max] */
	CONFIG_PORT,		/* int port in [min, max] */
	CONFIG_CHAR,		/* one printable character */
	CONFIG_STRING,		/* char * */
	CONFIG_PATH,		/* char *, a file or directory */
	CONFIG_ENUM,		/* int index into choices */
	CONFIG_ADDR_LIST,	/* repeatable IP: sockaddr_storage[] */
	CONFIG_RANGE_LIST,	/* repeatable range: addr_range[] */
	CONFIG_USER_LIST,	/* repeatable name:password */
	CONFIG_EXTIP_LIST,	/* repeatable PUBLIC[/PRIVATE] */
	CONFIG_STR_LIST,	/* repeatable string: config_strlist */
	CONFIG_SPECIAL,		/* parse() does the work */
	CONFIG_META		/* -c, -n, -h, --version */
};

enum config_status {
	CONFIG_IMPLEMENTED,	/* parsed into struct config */
	CONFIG_LATER,		/* stored and warned: not implemented yet */
	CONFIG_IGNORED,		/* harmless: warned and ignored */
	CONFIG_REFUSED		/* an error; help says why */
};

enum config_section {
	CONFIG_SECTION_GENERAL,
	CONFIG_SECTION_LISTENING,
	CONFIG_SECTION_RELAY,
	CONFIG_SECTION_AUTH,
	CONFIG_SECTION_TLS,
	CONFIG_SECTION_LOGGING,
	CONFIG_SECTION_STUN,
	CONFIG_SECTION_PEERS,
	CONFIG_SECTION_SIGNAL,
	CONFIG_SECTION_UNSUPPORTED,
	CONFIG_NSECTIONS
};

enum config_meta {
	CONFIG_META_FILE,	/* -c FILE */
	CONFIG_META_NO_FILE,	/* -n */
	CONFIG_META_HELP,	/* -h, --help */
	CONFIG_META_VERSION	/* --version */
};

#define CONFIG_F_SECRET	0x1	/* never echoed; wiped before free */
#define CONFIG_F_NEGATE	0x2	/* FLAG: "true" stores false */
#define CONFIG_F_OPTARG	0x4	/* value may be left out: then def */
#define CONFIG_F_NOARG	0x8	/* SPECIAL or META without a value */

struct config_option;
/*
 * Parse value (NULL when the option stood alone) into cfg. On error return
 * -1 and describe the problem with the value in err, without the option
 * name or the position: the caller adds those.
 */
typedef int (*config_parse_cb)(struct config *,
    const struct config_option *, const char *value, char *err,
    size_t errlen);

struct config_option {
	const char		*name;	/* long name; NULL: short only */
	const char		*alias;	/* second long name, or NULL */
	int			 short_name;	/* letter, or 0 */
	enum config_type	 type;
	enum config_status	 status;
	enum config_section	 section;
	int			 flags;	/* CONFIG_F_* */
	int			 def;	/* default (ENUM: index) */
	int			 min, max;	/* INT and PORT */
	size_t			 off;	/* field; 0: none */
	size_t			 off_n;	/* count field of a list */
	const char *const	*choices;	/* ENUM, NULL-terminated */
	config_parse_cb		 parse;	/* SPECIAL */
	const char		*arg;	/* value's name in --help */
	const char		*help;	/* REFUSED: the reason */
};

extern const struct config_option config_options[];
extern const size_t config_noptions;
extern const char *const config_section_names[CONFIG_NSECTIONS];

/* The row whose name or alias is name (case matters: -v is not -V). */
const struct config_option *config_table_find(const char *name);
/* The row whose short letter is c. */
const struct config_option *config_table_find_short(int c);

/* Longest piece of untrusted text quoted back in a message. */
#define CONFIG_VALUE_QUOTE	64

/* Value parsers (config_value.c), shared by the table and the parser. */
int	config_value_bool(const char *, bool *);
/*
 * The first n bytes of s, non-printable bytes as '?', cut at
 * CONFIG_VALUE_QUOTE with "...", into buf (len >= 8). Returns buf.
 */
const char *config_value_quote(const char *s, size_t n, char *buf,
	    size_t len);
int	config_value_int(const char *, int min, int max, int *);
/* Store value (NULL when bare) into cfg as the row's type says. */
int	config_value_set(struct config *, const struct config_option *,
	    const char *value, char *err, size_t errlen);
/* Free and wipe what the row's field holds (config_free). */
void	config_value_clear(struct config *, const struct config_option *);
/* Append a copy of s to a string list. */
void	config_strlist_add(struct config_strlist *, const char *s);
/* SPECIAL parsers named by the table. */
int	config_value_verbosity(struct config *, const struct config_option *,
	    const char *, char *, size_t);
int	config_value_ice_url(struct config *, const struct config_option *,
	    const char *, char *, size_t);

#endif
