/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2025 turnpike authors
 *
 * Unit tests for the configuration parser: coturn-style files and command
 * lines from real deployments, every error's message, defaults, the option
 * table's own consistency, and that turnserver.conf.sample and
 * doc/configuration.md name every option (run from the repository root).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char	err[512];

/* Parse text as the file "t.conf" into a new config; rc in *rc. */
static struct config *
parse(const char *text, int *rc)
{
	struct config	*cfg = config_new();

	err[0] = '\0';
	*rc = config_parse_text(cfg, text, strlen(text), "t.conf", err,
	    sizeof err);
	return (cfg);
}

/* Parse text and expect exactly the error message want. */
static void
parse_fails(const char *text, const char *want)
{
	struct config	*cfg;
	int		 rc;

	cfg = parse(text, &rc);
	if (rc == CONFIG_OK)
		rc = config_validate(cfg, err, sizeof err);
	is_int(rc, CONFIG_ERROR, want);
	is_str(err, want, "  message");
	config_free(cfg);
}

/* Same, but only the start of the message is checked. */
static void
parse_fails_prefix(const char *text, const char *want)
{
	struct config	*cfg;
	int		 rc;

	cfg = parse(text, &rc);
	is_int(rc, CONFIG_ERROR, want);
	ok(strncmp(err, want, strlen(want)) == 0, "  message prefix");
	if (strncmp(err, want, strlen(want)) != 0)
		printf("#   got \"%s\"\n", err);
	config_free(cfg);
}

/* Write text to a new temporary file; the caller unlinks and frees. */
static char *
write_tmp(const char *text)
{
	char	*path = strdup("/tmp/turnpike-test-config.XXXXXX");
	int	 fd = mkstemp(path);

	if (fd == -1 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text))
		abort();
	close(fd);
	return (path);
}

/* config_load with a NULL-terminated argument list. */
static int
load(struct config *cfg, const char *arg0, ...)
{
	char	*argv[64];
	int	 argc = 0;
	va_list	 ap;

	argv[argc++] = (char *)"turnpike";
	va_start(ap, arg0);
	for (const char *a = arg0; a != NULL; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	err[0] = '\0';
	return (config_load(cfg, argc, argv, err, sizeof err));
}

static bool
ip_is(const struct sockaddr_storage *ss, const char *want)
{
	char	buf[INET6_ADDRSTRLEN];

	return (addr_format((const struct sockaddr *)ss, false, buf,
	    sizeof buf) != NULL && strcmp(buf, want) == 0);
}

static void
test_defaults(void)
{
	struct config	*cfg = config_new();

	is_int(cfg->listening_port, 3478, "default listening-port");
	is_int(cfg->tls_listening_port, 5349, "default tls-listening-port");
	is_int(cfg->alt_listening_port, 0, "default alt-listening-port");
	is_int(cfg->relay_threads, -1, "default relay-threads");
	is_int(cfg->min_port, 49152, "default min-port");
	is_int(cfg->max_port, 65535, "default max-port");
	is_int(cfg->max_allocate_lifetime, 3600, "default max lifetime");
	is_int(cfg->channel_lifetime, 600, "default channel-lifetime");
	is_int(cfg->permission_lifetime, 300, "default permission-lifetime");
	is_int(cfg->stale_nonce, 600, "default stale-nonce");
	is_int(cfg->rest_api_separator, ':', "default rest-api-separator");
	is_int(cfg->software_attribute, false, "no SOFTWARE by default");
	is_int(cfg->signal_port, 0, "signaling off by default");
	is_int(cfg->signal_room_max, 2, "default signal-room-max");
	is_int(cfg->signal_ping_interval, 25, "default ping interval");
	is_int(cfg->signal_idle_timeout, 60, "default idle timeout");
	is_int(cfg->signal_max_message, 65536, "default max message");
	is_int(cfg->signal_ice_ttl, 86400, "default ice ttl");
	is_int(cfg->signal_auth, CONFIG_SIGNAL_AUTH_NONE, "default auth");
	ok(cfg->realm == NULL && cfg->n_users == 0, "no realm, no users");
	is_int(config_validate(cfg, err, sizeof err), CONFIG_OK,
	    "defaults validate");
	config_free(cfg);
	config_free(NULL);
	ok(1, "config_free(NULL)");
}

/* A tutorial's coturn set-up: flags on the command line, the rest in -c. */
static void
test_tutorial_file(void)
{
	static const char text[] =
	    "relay-device=eth0\n"
	    "listening-ip=127.0.0.1\n"
	    "listening-port=3478\n"
	    "relay-ip=127.0.0.1\n"
	    "tls-listening-port=5349\n"
	    "external-ip=203.0.113.5\n"
	    "relay-threads=2\n"
	    "lt-cred-mech\n"
	    "cert=/etc/x.pem\n"
	    "pkey=/etc/x.key\n"
	    "min-port=49152\n"
	    "max-port=65535\n"
	    "user=lqf:123456\n"
	    "realm=nort.gov\n"
	    "server-name=nort.gov\n"
	    "cli-password=qwerty\n";
	struct config	*cfg = config_new();
	char		*path = write_tmp(text), want[256];

	is_int(load(cfg, "-o", "-a", "-f", "-c", path, NULL), CONFIG_OK,
	    "tutorial: -o -a -f -c FILE loads");
	is_str(cfg->config_file, path, "config_file recorded");
	ok(cfg->daemon && cfg->lt_cred_mech && cfg->fingerprint,
	    "-o -a -f set");
	is_str(cfg->relay_device, "eth0", "relay-device");
	ok(cfg->n_listening_ips == 1 &&
	    ip_is(&cfg->listening_ips[0], "127.0.0.1"), "listening-ip");
	ok(cfg->n_relay_ips == 1 && ip_is(&cfg->relay_ips[0], "127.0.0.1"),
	    "relay-ip");
	is_int(cfg->listening_port, 3478, "listening-port");
	is_int(cfg->tls_listening_port, 5349, "tls-listening-port");
	ok(cfg->n_external_ips == 1 && !cfg->external_ips[0].has_priv &&
	    ip_is(&cfg->external_ips[0].pub, "203.0.113.5"), "external-ip");
	is_int(cfg->relay_threads, 2, "relay-threads");
	is_str(cfg->cert, "/etc/x.pem", "cert");
	is_str(cfg->pkey, "/etc/x.key", "pkey");
	ok(cfg->min_port == 49152 && cfg->max_port == 65535, "port range");
	ok(cfg->n_users == 1, "one user");
	is_str(cfg->users[0].name, "lqf", "user name");
	is_str(cfg->users[0].password, "123456", "user password");
	ok(!cfg->users[0].has_key, "password, not key");
	is_str(cfg->realm, "nort.gov", "realm");
	is_str(cfg->server_name, "nort.gov", "server-name");
	is_int(cfg->warnings.n, 1, "one warning");
	snprintf(want, sizeof want, "%s:16: option 'cli-password' is not "
	    "supported, ignored (turnpike has no telnet CLI)", path);
	is_str(cfg->warnings.n ? cfg->warnings.v[0] : "", want,
	    "cli-password warning");
	config_free(cfg);
	unlink(path);
	free(path);
}

static void
test_tutorial_argv(void)
{
	struct config	*cfg = config_new();

	is_int(load(cfg, "-n", "-L", "0.0.0.0", "-a", "-u", "lqf:123456",
	    "-v", "-f", "-r", "nort.gov", NULL), CONFIG_OK,
	    "tutorial command line loads");
	ok(cfg->config_file == NULL, "-n: no file");
	ok(cfg->n_listening_ips == 1 &&
	    ip_is(&cfg->listening_ips[0], "0.0.0.0"), "-L 0.0.0.0");
	ok(cfg->lt_cred_mech && cfg->fingerprint, "-a -f");
	ok(cfg->n_users == 1 && strcmp(cfg->users[0].name, "lqf") == 0 &&
	    strcmp(cfg->users[0].password, "123456") == 0, "-u lqf:123456");
	is_int(cfg->verbosity, 1, "-v");
	is_str(cfg->realm, "nort.gov", "-r");
	is_int(cfg->warnings.n, 0, "no warnings");
	config_free(cfg);
}

static void
test_coturn_conf(void)
{
	static const char text[] =
	    "# coturn.conf from a deployment guide\n"
	    "listening-port=3478\n"
	    "listening-ip=\n"
	    "relay-ip=\n"
	    "alt-listening-port=0\n"
	    "external-ip=1.2.3.4\n"
	    "realm=x\n"
	    "no-tls\n"
	    "no-dtls\n"
	    "mobility\n"
	    "no-cli\n"
	    "verbose\n"
	    "fingerprint\n"
	    "lt-cred-mech\n"
	    "stale-nonce=3600\n"
	    "user=u:p\n";
	struct config	*cfg;
	int		 rc;

	cfg = parse(text, &rc);
	is_int(rc, CONFIG_OK, "coturn.conf parses");
	is_int(config_validate(cfg, err, sizeof err), CONFIG_OK,
	    "coturn.conf validates");
	ok(cfg->n_listening_ips == 0 && cfg->n_relay_ips == 0,
	    "empty listening-ip and relay-ip mean unset");
	is_int(cfg->alt_listening_port, 0, "alt-listening-port=0");
	ok(cfg->n_external_ips == 1 &&
	    ip_is(&cfg->external_ips[0].pub, "1.2.3.4"), "external-ip");
	ok(cfg->no_tls && cfg->mobility, "flags");
	ok(cfg->fingerprint && cfg->lt_cred_mech, "more flags");
	is_int(cfg->verbosity, 1, "verbose");
	is_int(cfg->stale_nonce, 3600, "stale-nonce=3600");
	ok(cfg->n_users == 1 && strcmp(cfg->users[0].password, "p") == 0,
	    "user=u:p");
	is_int(cfg->warnings.n, 3, "three warnings (no-dtls, mobility, "
	    "no-cli)");
	if (cfg->warnings.n == 3) {
		is_str(cfg->warnings.v[0], "t.conf:9: option 'no-dtls' is not "
		    "supported, ignored (turnpike has no DTLS listener to turn "
		    "off)", "no-dtls warning");
		is_str(cfg->warnings.v[1], "t.conf:10: option 'mobility' is "
		    "recognized, not implemented yet", "mobility warning");
		is_str(cfg->warnings.v[2], "t.conf:11: option 'no-cli' is not "
		    "supported, ignored (turnpike has no telnet CLI)",
		    "no-cli warning");
	}
	config_free(cfg);
}

static void
test_stun_file(void)
{
	struct config	*cfg;
	int		 rc;

	cfg = parse("log-file=/var/log/turn.log\nno-stun\nfingerprint\n"
	    "min-port=40000\nmax-port=40100\n", &rc);
	is_int(rc, CONFIG_OK, "log-file/no-stun file parses");
	is_str(cfg->log_file, "/var/log/turn.log", "log-file");
	ok(cfg->no_stun && cfg->fingerprint, "no-stun, fingerprint");
	ok(cfg->min_port == 40000 && cfg->max_port == 40100, "port range");
	is_int(config_validate(cfg, err, sizeof err), CONFIG_OK, "validates");
	config_free(cfg);
}

static void
test_file_errors(void)
{
	parse_fails("verbose\nfoo=1\n", "t.conf:2: unknown option 'foo'");
	parse_fails("listening-port=70000\n",
	    "t.conf:1: listening-port: '70000' is not a port (1-65535)");
	parse_fails("listening-port\n", "t.conf:1: listening-port: "
	    "missing value");
	parse_fails("relay-threads=two\n", "t.conf:1: relay-threads: 'two' "
	    "is not a number from 0 to 1024");
	parse_fails("listening-ip=1.2.3\n",
	    "t.conf:1: listening-ip: '1.2.3' is not an IP address");
	parse_fails("denied-peer-ip=10.0.0.0/99\n", "t.conf:1: "
	    "denied-peer-ip: '10.0.0.0/99' is not an address range "
	    "(IP, IP-IP or IP/prefix)");
	parse_fails("external-ip=turn.example.com\n", "t.conf:1: "
	    "external-ip: 'turn.example.com' is not PUBLIC-IP or "
	    "PUBLIC-IP/PRIVATE-IP (host names are not accepted)");
	parse_fails("external-ip=1.2.3.4/::1\n", "t.conf:1: external-ip: "
	    "'1.2.3.4/::1' maps between IPv4 and IPv6");
	parse_fails("min-port=50000\nmax-port=40000\n",
	    "t.conf:1: min-port (50000) is greater than max-port (40000, "
	    "t.conf:2)");
	parse_fails("user=nocolon\n", "t.conf:1: user: expected "
	    "NAME:PASSWORD or NAME:0x<32 hex digits>");
	parse_fails("user=:pw\n", "t.conf:1: user: expected "
	    "NAME:PASSWORD or NAME:0x<32 hex digits>");
	parse_fails("user=a:\n", "t.conf:1: user: expected "
	    "NAME:PASSWORD or NAME:0x<32 hex digits>");
	parse_fails("user=a:0x1234\n", "t.conf:1: user: a key must be 0x "
	    "followed by 32 hex digits");
	parse_fails_prefix("fingerprint=banana\n", "t.conf:1: fingerprint: "
	    "is a flag and takes no value (got 'banana'");
	parse_fails_prefix("verbose # comment\n", "t.conf:1: verbose: "
	    "is a flag and takes no value (got '# comment')");
	parse_fails_prefix("psql-userdb=\"host=db\"\n", "t.conf:1: option "
	    "'psql-userdb' is not supported by turnpike; refusing to start "
	    "because ");
	parse_fails_prefix("max-bps=100000\n", "t.conf:1: option 'max-bps' "
	    "is not supported by turnpike; refusing to start because ");
	parse_fails("help\n", "t.conf:1: option 'help' is only valid on "
	    "the command line");
	parse_fails("stale-nonce=86401\n", "t.conf:1: stale-nonce: '86401' is "
	    "not a number from 1 to 86400");
	parse_fails("signal-auth=maybe\n", "t.conf:1: signal-auth: 'maybe' "
	    "is not one of none, secret, user");
	parse_fails("rest-api-separator=::\n", "t.conf:1: "
	    "rest-api-separator: '::' is not one printable character");
	parse_fails("signal-ice-url\n", "t.conf:1: signal-ice-url: missing "
	    "value");
	parse_fails("signal-ice-url=http://x\n", "t.conf:1: signal-ice-url: "
	    "'http://x' is not a stun:, stuns:, turn: or turns: URL");
	parse_fails("no-auth\nlt-cred-mech\n", "t.conf:1: no-auth conflicts "
	    "with lt-cred-mech (t.conf:2): choose anonymous access or "
	    "authentication");
	parse_fails("no-auth\nuse-auth-secret\n", "t.conf:1: no-auth conflicts "
	    "with use-auth-secret (t.conf:2): choose anonymous access or "
	    "authentication");
	parse_fails("stun-only\nno-stun\n", "stun-only conflicts with "
	    "no-stun: nothing would be served");
	parse_fails("signal-auth=secret\n", "signal-auth=secret needs a "
	    "static-auth-secret to check tokens against");
	parse_fails("signal-ping-interval=60\n", "signal-idle-timeout (60) "
	    "must be longer than signal-ping-interval (60)");
	parse_fails("no-udp\nno-tcp\nno-tls\n", "no-udp, no-tcp and no-tls "
	    "together leave no listener");
	parse_fails("no-auth\nsecure-stun\n", "t.conf:1: no-auth conflicts "
	    "with secure-stun (t.conf:2): choose anonymous access or "
	    "authentication");
	parse_fails("no-udp-relay\nno-tcp-relay\n", "no-udp-relay and "
	    "no-tcp-relay together leave no relay transport (for a "
	    "STUN-only server use stun-only)");
	parse_fails("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaa=1\n", "t.conf:1: unknown option "
	    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaa...'");
}

static void
test_file_errors_odd(void)
{
	struct config	*cfg = config_new();
	static const char nul[] = "verbose\nrealm=a\0b\n";

	is_int(config_parse_text(cfg, nul, sizeof nul - 1, "t.conf", err,
	    sizeof err), CONFIG_ERROR, "NUL byte refused");
	is_str(err, "t.conf:2: NUL byte in line", "  message");
	config_free(cfg);
	parse_fails("\x01\x7f=1\n", "t.conf:1: unknown option '?" "?'");
	parse_fails("use-auth-secret\nstatic-auth-secret=s\nuser=a:0xZZ\n",
	    "t.conf:3: user: a key must be 0x followed by 32 hex digits");
}

static void
test_command_line_errors(void)
{
	struct config	*cfg;
	char		*path;

	cfg = config_new();
	is_int(load(cfg, "-n", "--foo", NULL), CONFIG_ERROR, "unknown --foo");
	is_str(err, "argument 2: unknown option '--foo'", "  message");
	is_int(load(cfg, "-n", "--foo=bar", NULL), CONFIG_ERROR,
	    "unknown --foo=bar");
	is_str(err, "argument 2: unknown option '--foo'", "  message");
	is_int(load(cfg, "-c", "/tmp", NULL), CONFIG_ERROR, "-c directory");
	is_str(err, "cannot read /tmp: Is a directory", "  message");
	is_int(load(cfg, "-n", "-Y", NULL), CONFIG_ERROR, "unknown -Y");
	is_str(err, "argument 2: unknown option '-Y'", "  message");
	is_int(load(cfg, "-n", "--listening-port", NULL), CONFIG_ERROR,
	    "missing value");
	is_str(err, "argument 2: option '--listening-port' requires a value",
	    "  message");
	is_int(load(cfg, "-n", "-p", NULL), CONFIG_ERROR, "-p missing value");
	is_str(err, "argument 2: option '-p' requires a value", "  message");
	is_int(load(cfg, "-n", "-p", "0", NULL), CONFIG_ERROR, "port 0");
	is_str(err, "argument 2: listening-port: '0' is not a port (1-65535)",
	    "  message");
	is_int(load(cfg, "-n", "stray", NULL), CONFIG_ERROR, "stray argument");
	is_str(err, "argument 2: unexpected argument 'stray'", "  message");
	is_int(load(cfg, "-n", "--", "x", NULL), CONFIG_ERROR, "after --");
	is_str(err, "argument 3: unexpected argument 'x'", "  message");
	is_int(load(cfg, "-n", "--help=1", NULL), CONFIG_ERROR, "--help=1");
	is_str(err, "argument 2: option '--help' takes no value", "  message");
	is_int(load(cfg, "-n", "-c", "x.conf", NULL), CONFIG_ERROR, "-c -n");
	is_str(err, "-c and -n cannot be used together", "  message");
	is_int(load(cfg, "-c", "/nonexistent/x.conf", NULL), CONFIG_ERROR,
	    "unreadable -c file");
	is_str(err, "cannot open /nonexistent/x.conf: No such file or "
	    "directory", "  message");
	is_int(load(cfg, "-n", "--min-port", "5000", "--max-port", "4000",
	    NULL), CONFIG_ERROR, "min-port > max-port on the command line");
	is_str(err, "argument 2: min-port (5000) is greater than max-port "
	    "(4000, argument 4)",
	    "  message");
	is_int(load(cfg, "-n", "-e", "host=db", NULL), CONFIG_ERROR, "-e");
	ok(strncmp(err, "argument 2: option 'psql-userdb' is not supported "
	    "by turnpike; refusing to start because ", 80) == 0, "  message");
	config_free(cfg);

	cfg = config_new();
	path = write_tmp("");
	if (truncate(path, CONFIG_MAX_FILE + 1) != 0)
		abort();
	is_int(load(cfg, "-c", path, NULL), CONFIG_ERROR, "file too large");
	ok(strstr(err, ": larger than 1048576 bytes") != NULL, "  message");
	unlink(path);
	free(path);
	config_free(cfg);

	cfg = config_new();
	path = write_tmp("realm=a\nlisten-port=1\n");
	is_int(load(cfg, "-c", path, NULL), CONFIG_ERROR, "bad -c file");
	ok(strstr(err, ":2: unknown option 'listen-port'") != NULL,
	    "  message names file and line");
	ok(strncmp(err, path, strlen(path)) == 0, "  message starts with it");
	unlink(path);
	free(path);
	config_free(cfg);
}

static void
test_users(void)
{
	static const uint8_t key[16] = { 0xbc, 0x80, 0x7e, 0xe2, 0x9d, 0xf3,
	    0xc9, 0xff, 0xa7, 0x36, 0x52, 0x3f, 0xb2, 0xc4, 0xe8, 0xee };
	struct config	*cfg;
	int		 rc;

	cfg = parse("user=ninefingers:0xbc807ee29df3c9ffa736523fb2c4e8ee\n"
	    "user=alice:pa#ss:w=rd\nuser=bob:one\nuser=bob:two\n", &rc);
	is_int(rc, CONFIG_OK, "users parse");
	is_int(cfg->n_users, 3, "three users (bob replaced)");
	ok(cfg->users[0].has_key && cfg->users[0].password == NULL,
	    "0x form is a key");
	is_mem(cfg->users[0].key, key, 16, "key bytes");
	is_str(cfg->users[1].password, "pa#ss:w=rd", "# and : in password");
	is_str(cfg->users[2].password, "two", "later user line wins");
	config_free(cfg);

	cfg = config_new();
	is_int(load(cfg, "-n", "--user=a:b", "-uc:d", "--user", "e:f", NULL),
	    CONFIG_OK, "--user=a:b, -uc:d, --user e:f");
	ok(cfg->n_users == 3 && strcmp(cfg->users[0].name, "a") == 0 &&
	    strcmp(cfg->users[1].password, "d") == 0 &&
	    strcmp(cfg->users[2].name, "e") == 0, "three users");
	config_free(cfg);
}

static void
test_argv_forms(void)
{
	struct config	*cfg = config_new();

	is_int(load(cfg, "-n", "--listening-port", "5000", NULL), CONFIG_OK,
	    "--listening-port 5000");
	is_int(cfg->listening_port, 5000, "  set");
	is_int(load(cfg, "-n", "--listening-port=5001", NULL), CONFIG_OK,
	    "--listening-port=5001");
	is_int(cfg->listening_port, 5001, "  set");
	is_int(load(cfg, "-n", "-p5002", NULL), CONFIG_OK, "-p5002");
	is_int(cfg->listening_port, 5002, "  set");
	is_int(load(cfg, "-n", "-oaf", "-vV", "--stale-nonce", NULL),
	    CONFIG_OK, "bundled flags, bare --stale-nonce");
	ok(cfg->daemon && cfg->lt_cred_mech && cfg->fingerprint,
	    "  -oaf set");
	is_int(cfg->verbosity, 2, "  -vV is extra verbose");
	is_int(load(cfg, "-n", "--stale-nonce=120", "--fingerprint=no",
	    "--prod", NULL), CONFIG_OK, "--stale-nonce=120 --fingerprint=no");
	is_int(cfg->stale_nonce, 120, "  stale-nonce");
	ok(!cfg->fingerprint && !cfg->software_attribute, "  flags cleared");
	is_int(load(cfg, "-n", "--db", "/var/lib/turn/turndb", "-C", "_",
	    "--signal-auth=user", NULL), CONFIG_OK, "alias, -C, enum");
	is_str(cfg->userdb, "/var/lib/turn/turndb", "  --db is userdb");
	is_int(cfg->rest_api_separator, '_', "  separator");
	is_int(cfg->signal_auth, CONFIG_SIGNAL_AUTH_USER, "  signal-auth");
	is_int(load(cfg, "-n", "--no-cli", NULL), CONFIG_OK, "--no-cli");
	is_str(cfg->warnings.v[cfg->warnings.n - 1], "argument 2: option "
	    "'no-cli' is not supported, ignored (turnpike has no telnet CLI)",
	    "  warning names argument");
	is_int(load(cfg, "-n", "-v", "--verbose=off", NULL), CONFIG_OK,
	    "--verbose=off");
	is_int(cfg->verbosity, 0, "  verbosity back to 0");
	is_int(load(cfg, "-n", "-h", NULL), CONFIG_HELP, "-h");
	is_int(load(cfg, "--help", NULL), CONFIG_HELP, "--help");
	is_int(load(cfg, "--version", NULL), CONFIG_VERSION, "--version");
	config_free(cfg);
}

/* Repeatable options add up across file and command line; others override. */
static void
test_file_and_argv(void)
{
	struct config	*cfg = config_new();
	char		*path;

	path = write_tmp("listening-port=1000\nrealm=file.example\n"
	    "listening-ip=127.0.0.1\nstatic-auth-secret=one\n"
	    "signal-origin=https://a.example\nsignal-ice-url=stun:a:3478\n");
	is_int(load(cfg, "-c", path, "-p", "2000", "-r", "cli.example",
	    "-L", "::1", "--static-auth-secret", "two", "--signal-origin",
	    "https://b.example", "--signal-ice-url=turn:b:3478", NULL),
	    CONFIG_OK, "file plus command line");
	is_int(cfg->listening_port, 2000, "command line overrides port");
	is_str(cfg->realm, "cli.example", "command line overrides realm");
	ok(cfg->n_listening_ips == 2 &&
	    ip_is(&cfg->listening_ips[0], "127.0.0.1") &&
	    ip_is(&cfg->listening_ips[1], "::1"), "listening-ip adds up");
	ok(cfg->static_auth_secrets.n == 2 &&
	    strcmp(cfg->static_auth_secrets.v[1], "two") == 0,
	    "static-auth-secret adds up");
	is_int(cfg->signal_origins.n, 2, "signal-origin adds up");
	ok(cfg->signal_ice_urls.n == 2 &&
	    strcmp(cfg->signal_ice_urls.v[1], "turn:b:3478") == 0,
	    "signal-ice-url adds up");
	unlink(path);
	free(path);
	config_free(cfg);
}

static void
test_syntax(void)
{
	struct config	*cfg;
	int		 rc;

	cfg = parse("\xef\xbb\xbf# comment\r\n  \t\n   # indented\n"
	    "--realm example.org\r\n"
	    "cipher-list=\"DEFAULT\"\n"
	    "pidfile = \"/run/turnpike.pid\"\n"
	    "server-name \t name with spaces  \n"
	    "fingerprint=yes\nsyslog on\nno-tcp=false\n"
	    "software-attribute\n"
	    "stale-nonce=5\nstale-nonce\n"
	    "realm=\nexternal-ip=60.70.80.91/172.17.19.101\n"
	    "allowed-peer-ip=10.0.0.1-10.0.0.9\n"
	    "denied-peer-ip=192.168.0.0/16\n"
	    "max-bps=0\noauth=false\nredis-userdb=\n"
	    "Verbose\nverbose\n", &rc);
	is_int(rc, CONFIG_OK, "syntax variants parse");
	is_str(cfg->realm, "example.org", "leading --, whitespace, CRLF");
	is_str(cfg->cipher_list, "DEFAULT", "quotes stripped");
	is_str(cfg->pidfile, "/run/turnpike.pid", "name = \"value\"");
	is_str(cfg->server_name, "name with spaces", "value with spaces");
	ok(cfg->fingerprint && cfg->syslog && !cfg->no_tcp,
	    "boolean words");
	ok(cfg->software_attribute, "software-attribute");
	is_int(cfg->stale_nonce, 600, "bare stale-nonce is 600");
	ok(cfg->n_external_ips == 1 && cfg->external_ips[0].has_priv &&
	    ip_is(&cfg->external_ips[0].priv, "172.17.19.101"),
	    "external-ip PUBLIC/PRIVATE");
	ok(cfg->n_allowed_peer_ips == 1 && cfg->n_denied_peer_ips == 1,
	    "peer ranges");
	is_int(cfg->verbosity, 2, "Verbose then verbose stays 2");
	is_int(cfg->warnings.n, 0, "max-bps=0, oauth=false, empty: silent");
	config_free(cfg);

	cfg = parse("stale-nonce=5\nstale-nonce=off\n", &rc);
	ok(rc == CONFIG_OK && cfg->stale_nonce == 600,
	    "stale-nonce=off is the default 600");
	config_free(cfg);
}

/* coturn's own sample (Debian's /etc/turnserver.conf) loads unchanged. */
static void
test_coturn_sample(void)
{
	static const char	 path[] = "/etc/turnserver.conf";
	struct config		*cfg = config_new();
	int			 rc;

	if (access(path, R_OK) != 0) {
		ok(1, "# SKIP no /etc/turnserver.conf (package coturn)");
		config_free(cfg);
		return;
	}
	rc = config_parse_file(cfg, path, err, sizeof err);
	if (rc == CONFIG_OK)
		rc = config_validate(cfg, err, sizeof err);
	is_int(rc, CONFIG_OK, "coturn's packaged turnserver.conf loads");
	if (rc != CONFIG_OK)
		printf("#   %s\n", err);
	config_free(cfg);
}

/* Without -c or -n the first default file found is read. */
static void
test_search(void)
{
	struct config	*cfg = config_new();
	char		 dir[] = "/tmp/turnpike-test-search.XXXXXX";
	char		 cwd[PATH_MAX];
	FILE		*f;

	if (getcwd(cwd, sizeof cwd) == NULL || mkdtemp(dir) == NULL ||
	    chdir(dir) != 0)
		abort();
	if ((f = fopen("turnserver.conf", "w")) == NULL)
		abort();
	fputs("realm=found.example\n", f);
	fclose(f);
	is_int(load(cfg, "-p", "4000", NULL), CONFIG_OK, "search finds file");
	is_str(cfg->config_file, "turnserver.conf", "  recorded");
	is_str(cfg->realm, "found.example", "  read");
	unlink("turnserver.conf");
	if (chdir(cwd) != 0 || rmdir(dir) != 0)
		abort();
	config_free(cfg);
}

static bool
table_pointer_type(const struct config_option *o)
{
	return (o->type != CONFIG_FLAG && o->type != CONFIG_INT &&
	    o->type != CONFIG_PORT && o->type != CONFIG_CHAR &&
	    o->type != CONFIG_ENUM && o->parse != config_value_verbosity);
}

static void
test_table(void)
{
	const struct config_option	*o, *p;
	size_t				 i, j;
	int				 bad = 0;

	for (i = 0; i < config_noptions; i++) {
		o = &config_options[i];
		if (o->help == NULL || (o->name == NULL && !o->short_name))
			bad++, printf("# row %zu: no help or name\n", i);
		if ((o->status == CONFIG_IGNORED ||
		    o->status == CONFIG_REFUSED) != (o->off == 0) &&
		    o->type != CONFIG_META &&
		    o->parse != config_value_verbosity)
			bad++, printf("# %s: field and status disagree\n",
			    o->name);
		if ((o->type == CONFIG_INT || o->type == CONFIG_PORT) &&
		    o->off != 0 && o->def != -1 &&
		    (o->def < o->min || o->def > o->max))
			bad++, printf("# %s: default out of range\n", o->name);
		for (j = i + 1; j < config_noptions; j++) {
			p = &config_options[j];
			if (o->short_name && o->short_name == p->short_name)
				bad++, printf("# -%c twice\n", o->short_name);
			if (o->name && p->name && strcmp(o->name, p->name) == 0)
				bad++, printf("# %s twice\n", o->name);
			if (o->off != 0 && o->off == p->off &&
			    table_pointer_type(o))
				bad++, printf("# %s shares a field\n", o->name);
		}
	}
	is_int(bad, 0, "option table is consistent");
	ok(config_table_find("Verbose")->short_name == 'V' &&
	    config_table_find("verbose")->short_name == 'v',
	    "names are case-sensitive");
	ok(config_table_find("sql-userdb") == config_table_find("psql-userdb"),
	    "aliases");
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	size_t	 n;

	if (f == NULL)
		return (NULL);
	buf = calloc(1, CONFIG_MAX_FILE + 1);
	n = fread(buf, 1, CONFIG_MAX_FILE, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

/* name occurs in text as a whole word (not inside no-tlsv1_1 for no-tls). */
static bool
has_word(const char *text, const char *name)
{
	const char	*p = text;
	size_t		 n = strlen(name);

	while ((p = strstr(p, name)) != NULL) {
		if ((p == text || !(isalnum((unsigned char)p[-1]) ||
		    p[-1] == '-' || p[-1] == '_') ||
		    (p - text >= 2 && strncmp(p - 2, "--", 2) == 0)) &&
		    !(isalnum((unsigned char)p[n]) || p[n] == '-' ||
		    p[n] == '_'))
			return (true);
		p += n;
	}
	return (false);
}

static int
check_names(const char *text, const char *what)
{
	const struct config_option	*o;
	size_t				 i;
	int				 missing = 0;

	for (i = 0; text != NULL && i < config_noptions; i++) {
		o = &config_options[i];
		if (o->name != NULL && !has_word(text, o->name))
			missing++, printf("# %s: no %s\n", what, o->name);
		if (o->alias != NULL && !has_word(text, o->alias))
			missing++, printf("# %s: no %s\n", what, o->alias);
	}
	return (text == NULL ? -1 : missing);
}

/* --help shows every supported option and names the unsupported ones. */
static void
test_usage(void)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	config_usage(f);
	fclose(f);
	is_int(check_names(buf, "--help"), 0, "--help names every option");
	ok(strstr(buf, "  -p, --listening-port <port>     STUN/TURN port for "
	    "UDP and TCP (default 3478)\n") != NULL, "--help row layout");
	ok(strstr(buf, "--stale-nonce[=<seconds>]") != NULL,
	    "--help optional value");
	ok(strstr(buf, "  -b, --userdb, --db <file>") != NULL, "--help alias");
	free(buf);
}

/* Each "#name=value" line of the sample, uncommented, must parse. */
static int
check_sample_lines(const char *text)
{
	const struct config_option	*o;
	struct config			*cfg;
	char				 line[512], name[128];
	const char			*p, *nl;
	int				 bad = 0;

	for (p = text; p != NULL && *p != '\0'; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		snprintf(line, sizeof line, "%.*s", (int)(nl ? nl - p :
		    (ptrdiff_t)strlen(p)), p);
		if (line[0] != '#' || !isalpha((unsigned char)line[1]))
			continue;
		snprintf(name, sizeof name, "%.*s",
		    (int)strcspn(line + 1, "= \t"), line + 1);
		o = config_table_find(name);
		if (o == NULL || o->status == CONFIG_IGNORED ||
		    o->status == CONFIG_REFUSED)
			continue;
		cfg = config_new();
		if (config_parse_text(cfg, line + 1, strlen(line + 1),
		    "sample", err, sizeof err) != 0)
			bad++, printf("# sample: %s\n", err);
		config_free(cfg);
	}
	return (bad);
}

static void
test_docs(void)
{
	char	*sample = slurp("turnserver.conf.sample");
	char	*doc = slurp("doc/configuration.md");

	is_int(check_names(sample, "turnserver.conf.sample"), 0,
	    "turnserver.conf.sample names every option");
	is_int(check_names(doc, "doc/configuration.md"), 0,
	    "doc/configuration.md names every option");
	is_int(sample ? check_sample_lines(sample) : -1, 0,
	    "every example line of the sample parses");
	free(sample);
	free(doc);
}

int
main(void)
{
	test_defaults();
	test_tutorial_file();
	test_tutorial_argv();
	test_coturn_conf();
	test_stun_file();
	test_file_errors();
	test_file_errors_odd();
	test_command_line_errors();
	test_users();
	test_argv_forms();
	test_file_and_argv();
	test_syntax();
	test_table();
	test_coturn_sample();
	test_usage();
	test_docs();
	test_search();
	return (tap_done());
}
