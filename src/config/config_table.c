/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Copyright (c) 2025 turnpike authors
 *
 * The option table: every option turnpike knows, once. Each row gives the
 * long name (and alias), the short letter, the type, the default and range,
 * the struct config field, whether turnpike implements, ignores or refuses
 * the option, and the help text. The file parser, the command line, --help
 * and config_new()'s defaults all read this table; doc/configuration.md and
 * turnserver.conf.sample are written to match it (tests check the names).
 *
 * For IGNORED and REFUSED rows the help text is the reason; a REFUSED
 * option's reason completes "refusing to start because ...".
 *
 * config_usage() at the end prints --help from the table.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

/* --help: column of the help text, and the line width. */
#define CONFIG_TABLE_COL	34
#define CONFIG_TABLE_WIDTH	80

#define F(f)	offsetof(struct config, f)
#define LIST(f)	.off = F(f), .off_n = F(n_##f)

/* Row field 0 means "no field": config_file comes first and is no option. */
_Static_assert(offsetof(struct config, config_file) == 0,
    "config_file must be the first field of struct config");

static const char *const config_signal_auth_names[] = {
	"none", "secret", "user", NULL
};

const char *const config_section_names[CONFIG_NSECTIONS] = {
	[CONFIG_SECTION_GENERAL] = "General",
	[CONFIG_SECTION_LISTENING] = "Listening",
	[CONFIG_SECTION_RELAY] = "Relay",
	[CONFIG_SECTION_AUTH] = "Authentication",
	[CONFIG_SECTION_TLS] = "TLS",
	[CONFIG_SECTION_LOGGING] = "Logging and process",
	[CONFIG_SECTION_STUN] = "STUN",
	[CONFIG_SECTION_PEERS] = "Peers and limits",
	[CONFIG_SECTION_SIGNAL] = "Signaling and web",
	[CONFIG_SECTION_UNSUPPORTED] = "Not supported",
};

#define IGNORED		.status = CONFIG_IGNORED, \
			.section = CONFIG_SECTION_UNSUPPORTED
#define REFUSED		.status = CONFIG_REFUSED, \
			.section = CONFIG_SECTION_UNSUPPORTED

const struct config_option config_options[] = {
	/* General: command line only. */
	{ .short_name = 'c', .type = CONFIG_META, .def = CONFIG_META_FILE,
	  .section = CONFIG_SECTION_GENERAL, .arg = "file",
	  .help = "read this configuration file instead of searching for one" },
	{ .short_name = 'n', .type = CONFIG_META, .def = CONFIG_META_NO_FILE,
	  .section = CONFIG_SECTION_GENERAL, .flags = CONFIG_F_NOARG,
	  .help = "read no configuration file, only the command line" },
	{ .name = "help", .short_name = 'h', .type = CONFIG_META,
	  .def = CONFIG_META_HELP, .section = CONFIG_SECTION_GENERAL,
	  .flags = CONFIG_F_NOARG, .help = "print this help and exit" },
	{ .name = "version", .type = CONFIG_META, .def = CONFIG_META_VERSION,
	  .section = CONFIG_SECTION_GENERAL, .flags = CONFIG_F_NOARG,
	  .help = "print the version and exit" },

	/* Listening. */
	{ .name = "listening-port", .short_name = 'p', .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_LISTENING, .def = 3478, .min = 1,
	  .max = 65535, .off = F(listening_port), .arg = "port",
	  .help = "STUN/TURN port for UDP and TCP" },
	{ .name = "tls-listening-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_LISTENING, .def = 5349, .min = 1,
	  .max = 65535, .off = F(tls_listening_port), .arg = "port",
	  .help = "STUN/TURN port for TLS" },
	{ .name = "alt-listening-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_LISTENING, .def = 0, .min = 0,
	  .max = 65535, .off = F(alt_listening_port), .arg = "port",
	  .help = "second STUN port for RFC 5780 NAT discovery; "
	  "0 means unset" },
	{ .name = "alt-tls-listening-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_LISTENING, .def = 0, .min = 0,
	  .max = 65535, .off = F(alt_tls_listening_port), .arg = "port",
	  .help = "second TLS port for RFC 5780; 0 means unset" },
	{ .name = "listening-ip", .short_name = 'L', .type = CONFIG_ADDR_LIST,
	  .section = CONFIG_SECTION_LISTENING, LIST(listening_ips),
	  .arg = "ip",
	  .help = "listen on this address (repeatable); default: all" },
	{ .name = "listening-device", .short_name = 'd',
	  .type = CONFIG_STRING, .section = CONFIG_SECTION_LISTENING,
	  .off = F(listening_device), .arg = "device",
	  .help = "bind the listeners to this network device (Linux)" },
	{ .name = "no-udp", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LISTENING, .off = F(no_udp),
	  .help = "open no UDP listener" },
	{ .name = "no-tcp", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LISTENING, .off = F(no_tcp),
	  .help = "open no plain TCP listener" },
	{ .name = "no-tls", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LISTENING, .off = F(no_tls),
	  .help = "open no TLS listener" },
	{ .name = "relay-threads", .short_name = 'm', .type = CONFIG_INT,
	  .section = CONFIG_SECTION_LISTENING, .def = -1, .min = 0,
	  .max = 1024, .off = F(relay_threads), .arg = "number",
	  .help = "worker threads; default one per CPU, 0 means 1" },

	/* Relay. */
	{ .name = "relay-ip", .short_name = 'E', .type = CONFIG_ADDR_LIST,
	  .section = CONFIG_SECTION_RELAY, LIST(relay_ips), .arg = "ip",
	  .help = "local address for relay sockets (repeatable); "
	  "default: the address the client reached" },
	{ .name = "relay-device", .short_name = 'i', .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_RELAY, .off = F(relay_device),
	  .arg = "device",
	  .help = "bind relay sockets to this network device (Linux)" },
	{ .name = "external-ip", .short_name = 'X',
	  .type = CONFIG_EXTIP_LIST, .section = CONFIG_SECTION_RELAY,
	  LIST(external_ips), .arg = "public-ip[/private-ip]",
	  .help = "public address to announce when behind NAT "
	  "(repeatable, IP literals only)" },
	{ .name = "min-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_RELAY, .def = 49152, .min = 1,
	  .max = 65535, .off = F(min_port), .arg = "port",
	  .help = "lowest relay port" },
	{ .name = "max-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_RELAY, .def = 65535, .min = 1,
	  .max = 65535, .off = F(max_port), .arg = "port",
	  .help = "highest relay port" },
	{ .name = "no-udp-relay", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_RELAY, .off = F(no_udp_relay),
	  .help = "refuse UDP relay allocations" },
	{ .name = "no-tcp-relay", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_RELAY, .off = F(no_tcp_relay),
	  .help = "refuse TCP relay allocations (RFC 6062)" },
	{ .name = "max-allocate-lifetime", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_RELAY, .def = 3600, .min = 1,
	  .max = 86400, .off = F(max_allocate_lifetime), .arg = "seconds",
	  .help = "longest allocation lifetime granted" },
	{ .name = "channel-lifetime", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_RELAY, .def = 600, .min = 1,
	  .max = 86400, .off = F(channel_lifetime), .arg = "seconds",
	  .help = "channel binding lifetime" },
	{ .name = "permission-lifetime", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_RELAY, .def = 300, .min = 1,
	  .max = 86400, .off = F(permission_lifetime), .arg = "seconds",
	  .help = "permission lifetime" },
	{ .name = "mobility", .type = CONFIG_FLAG, .status = CONFIG_LATER,
	  .section = CONFIG_SECTION_RELAY, .off = F(mobility),
	  .help = "ICE mobility (RFC 8016): recognized, not implemented yet" },

	/* Authentication. */
	{ .name = "lt-cred-mech", .short_name = 'a', .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_AUTH, .off = F(lt_cred_mech),
	  .help = "use the long-term credential mechanism" },
	{ .name = "no-auth", .short_name = 'z', .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_AUTH, .off = F(no_auth),
	  .help = "allow anonymous TURN (an open relay: be careful)" },
	{ .name = "user", .short_name = 'u', .type = CONFIG_USER_LIST,
	  .section = CONFIG_SECTION_AUTH, .flags = CONFIG_F_SECRET,
	  LIST(users), .arg = "name:password",
	  .help = "static account (repeatable); the password may be "
	  "0x and the 32-hex-digit key turnadmin prints" },
	{ .name = "realm", .short_name = 'r', .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_AUTH, .off = F(realm), .arg = "realm",
	  .help = "realm for long-term credentials" },
	{ .name = "server-name", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_AUTH, .off = F(server_name),
	  .arg = "name", .help = "host name for iceServers URLs (and the "
	  "realm when realm is unset)" },
	{ .name = "use-auth-secret", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_AUTH, .off = F(use_auth_secret),
	  .help = "accept TURN REST API (time-limited HMAC) credentials" },
	{ .name = "static-auth-secret", .type = CONFIG_STR_LIST,
	  .section = CONFIG_SECTION_AUTH, .flags = CONFIG_F_SECRET,
	  .off = F(static_auth_secrets), .arg = "secret",
	  .help = "shared secret for TURN REST credentials (repeatable)" },
	{ .name = "rest-api-separator", .short_name = 'C',
	  .type = CONFIG_CHAR, .section = CONFIG_SECTION_AUTH, .def = ':',
	  .off = F(rest_api_separator), .arg = "char",
	  .help = "separator between expiry time and user in REST names" },
	{ .name = "userdb", .alias = "db", .short_name = 'b',
	  .type = CONFIG_PATH, .section = CONFIG_SECTION_AUTH,
	  .off = F(userdb), .arg = "file",
	  .help = "SQLite user database (coturn's schema); default: none" },
	{ .name = "stale-nonce", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_AUTH, .flags = CONFIG_F_OPTARG,
	  .def = 600, .min = 1, .max = 86400, .off = F(stale_nonce),
	  .arg = "seconds",
	  .help = "nonce lifetime; the bare option means 600" },
	{ .name = "no-auth-pings", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_AUTH, .off = F(no_auth_pings),
	  .help = "do not poll the user database for secret changes" },

	/* TLS. */
	{ .name = "cert", .type = CONFIG_PATH, .section = CONFIG_SECTION_TLS,
	  .off = F(cert), .arg = "file",
	  .help = "certificate chain, PEM" },
	{ .name = "pkey", .type = CONFIG_PATH, .section = CONFIG_SECTION_TLS,
	  .off = F(pkey), .arg = "file",
	  .help = "private key, PEM; default: in the cert file" },
	{ .name = "pkey-pwd", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_TLS, .flags = CONFIG_F_SECRET,
	  .off = F(pkey_pwd), .arg = "password",
	  .help = "password of an encrypted private key" },
	{ .name = "cipher-list", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_TLS, .off = F(cipher_list),
	  .arg = "ciphers",
	  .help = "OpenSSL cipher list for TLS 1.2; default: OpenSSL's" },
	{ .name = "CA-file", .type = CONFIG_PATH,
	  .section = CONFIG_SECTION_TLS, .off = F(ca_file), .arg = "file",
	  .help = "CA certificates; when set, clients must present a "
	  "certificate it signed" },
	{ .name = "ec-curve-name", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_TLS, .off = F(ec_curve_name),
	  .arg = "curve", .help = "ECDHE curve; default: OpenSSL's choice" },
	{ .name = "dh-file", .type = CONFIG_PATH,
	  .section = CONFIG_SECTION_TLS, .off = F(dh_file), .arg = "file",
	  .help = "DH parameters, PEM, for DHE cipher suites" },
	{ .name = "no-tlsv1", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_TLS, .off = F(no_tlsv1),
	  .help = "refuse TLS 1.0" },
	{ .name = "no-tlsv1_1", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_TLS, .off = F(no_tlsv1_1),
	  .help = "refuse TLS 1.1" },
	{ .name = "no-tlsv1_2", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_TLS, .off = F(no_tlsv1_2),
	  .help = "refuse TLS 1.2" },

	/* Logging and process. */
	{ .name = "verbose", .short_name = 'v', .type = CONFIG_SPECIAL,
	  .section = CONFIG_SECTION_LOGGING, .flags = CONFIG_F_NOARG,
	  .def = 1, .parse = config_value_verbosity,
	  .help = "verbose logging" },
	{ .name = "Verbose", .short_name = 'V', .type = CONFIG_SPECIAL,
	  .section = CONFIG_SECTION_LOGGING, .flags = CONFIG_F_NOARG,
	  .def = 2, .parse = config_value_verbosity,
	  .help = "debug logging (per-request lines)" },
	{ .name = "log-file", .short_name = 'l', .type = CONFIG_PATH,
	  .section = CONFIG_SECTION_LOGGING, .off = F(log_file),
	  .arg = "file",
	  .help = "log to this file; \"stdout\" or \"-\": standard output, "
	  "\"syslog\": syslog" },
	{ .name = "no-stdout-log", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LOGGING, .off = F(no_stdout_log),
	  .help = "do not also log to standard output" },
	{ .name = "syslog", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LOGGING, .off = F(syslog),
	  .help = "log to syslog" },
	{ .name = "syslog-facility", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_LOGGING, .off = F(syslog_facility),
	  .arg = "facility",
	  .help = "syslog facility, e.g. LOG_LOCAL1" },
	{ .name = "simple-log", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LOGGING, .off = F(simple_log),
	  .help = "use the log file name as given (no date or PID added)" },
	{ .name = "log-binding", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LOGGING, .off = F(log_binding),
	  .help = "log every STUN Binding request" },
	{ .name = "daemon", .short_name = 'o', .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_LOGGING, .off = F(daemon),
	  .help = "detach and run in the background" },
	{ .name = "pidfile", .type = CONFIG_PATH,
	  .section = CONFIG_SECTION_LOGGING, .off = F(pidfile),
	  .arg = "file", .help = "write the process ID to this file" },
	{ .name = "proc-user", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_LOGGING, .off = F(proc_user),
	  .arg = "user", .help = "switch to this user after start-up" },
	{ .name = "proc-group", .type = CONFIG_STRING,
	  .section = CONFIG_SECTION_LOGGING, .off = F(proc_group),
	  .arg = "group", .help = "switch to this group after start-up" },

	/* STUN. */
	{ .name = "stun-only", .short_name = 'S', .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_STUN, .off = F(stun_only),
	  .help = "answer STUN only, no TURN" },
	{ .name = "no-stun", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_STUN, .off = F(no_stun),
	  .help = "answer TURN only, no plain STUN Binding" },
	{ .name = "fingerprint", .short_name = 'f', .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_STUN, .off = F(fingerprint),
	  .help = "add FINGERPRINT to every response" },
	{ .name = "software-attribute", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_STUN, .off = F(software_attribute),
	  .help = "add SOFTWARE (name and version) to responses; "
	  "default off" },
	{ .name = "no-software-attribute", .alias = "prod",
	  .type = CONFIG_FLAG, .section = CONFIG_SECTION_STUN,
	  .flags = CONFIG_F_NEGATE, .off = F(software_attribute),
	  .help = "send no SOFTWARE attribute (the default)" },
	{ .name = "secure-stun", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_STUN, .off = F(secure_stun),
	  .help = "require authentication for STUN Binding requests" },
	{ .name = "no-stun-backward-compatibility", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_STUN,
	  .off = F(no_stun_backward_compatibility),
	  .help = "answer RFC 3489 requests no more, send no MAPPED-ADDRESS" },

	/* Peers and limits. */
	{ .name = "allow-loopback-peers", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_PEERS, .off = F(allow_loopback_peers),
	  .help = "allow peers on 127.0.0.0/8 and ::1 (testing only)" },
	{ .name = "no-multicast-peers", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_PEERS, .off = F(no_multicast_peers),
	  .help = "refuse multicast and broadcast peers" },
	{ .name = "no-relay-hairpin", .type = CONFIG_FLAG,
	  .section = CONFIG_SECTION_PEERS, .off = F(no_relay_hairpin),
	  .help = "send relay-to-relay traffic through the network, not "
	  "inside turnpike" },
	{ .name = "allowed-peer-ip", .type = CONFIG_RANGE_LIST,
	  .section = CONFIG_SECTION_PEERS, LIST(allowed_peer_ips),
	  .arg = "ip[-ip]|ip/prefix",
	  .help = "allow peers in this range even if denied (repeatable)" },
	{ .name = "denied-peer-ip", .type = CONFIG_RANGE_LIST,
	  .section = CONFIG_SECTION_PEERS, LIST(denied_peer_ips),
	  .arg = "ip[-ip]|ip/prefix",
	  .help = "refuse peers in this range (repeatable)" },
	{ .name = "user-quota", .short_name = 'q', .type = CONFIG_INT,
	  .section = CONFIG_SECTION_PEERS, .def = 0, .min = 0,
	  .max = INT_MAX, .off = F(user_quota), .arg = "number",
	  .help = "allocations one user may hold at once; 0 means unlimited" },
	{ .name = "total-quota", .short_name = 'Q', .type = CONFIG_INT,
	  .section = CONFIG_SECTION_PEERS, .def = 0, .min = 0,
	  .max = INT_MAX, .off = F(total_quota), .arg = "number",
	  .help = "allocations the server holds at once; 0 means unlimited" },

	/* Signaling and web. */
	{ .name = "signal-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 0, .min = 0,
	  .max = 65535, .off = F(signal_port), .arg = "port",
	  .help = "WebSocket signaling and web port (HTTP); 0 means off" },
	{ .name = "signal-tls-port", .type = CONFIG_PORT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 0, .min = 0,
	  .max = 65535, .off = F(signal_tls_port), .arg = "port",
	  .help = "WebSocket signaling and web port (HTTPS); 0 means off" },
	{ .name = "signal-room-max", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 2, .min = 0,
	  .max = 65535, .off = F(signal_room_max), .arg = "number",
	  .help = "members per room; 0 means unlimited" },
	{ .name = "signal-ping-interval", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 25, .min = 0,
	  .max = 3600, .off = F(signal_ping_interval), .arg = "seconds",
	  .help = "WebSocket ping period; 0 means no pings" },
	{ .name = "signal-idle-timeout", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 60, .min = 1,
	  .max = 86400, .off = F(signal_idle_timeout), .arg = "seconds",
	  .help = "close a connection silent for this long" },
	{ .name = "signal-max-message", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 65536, .min = 1024,
	  .max = 16777216, .off = F(signal_max_message), .arg = "bytes",
	  .help = "largest signaling message accepted" },
	{ .name = "signal-rate", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 50, .min = 0,
	  .max = 1000000, .off = F(signal_rate), .arg = "number",
	  .help = "messages per second one connection may send; 0 means "
	  "no limit" },
	{ .name = "signal-rate-burst", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 200, .min = 1,
	  .max = 1000000, .off = F(signal_rate_burst), .arg = "number",
	  .help = "messages a connection may send at once above signal-rate" },
	{ .name = "signal-ice-ttl", .type = CONFIG_INT,
	  .section = CONFIG_SECTION_SIGNAL, .def = 86400, .min = 60,
	  .max = 2592000, .off = F(signal_ice_ttl), .arg = "seconds",
	  .help = "lifetime of the TURN credentials handed to clients" },
	{ .name = "signal-auth", .type = CONFIG_ENUM,
	  .section = CONFIG_SECTION_SIGNAL, .def = CONFIG_SIGNAL_AUTH_NONE,
	  .off = F(signal_auth), .choices = config_signal_auth_names,
	  .arg = "none|secret|user",
	  .help = "who may join: anyone, holders of a token minted from "
	  "static-auth-secret, or users of the user table" },
	{ .name = "signal-origin", .type = CONFIG_STR_LIST,
	  .section = CONFIG_SECTION_SIGNAL, .off = F(signal_origins),
	  .arg = "origin",
	  .help = "allowed browser Origin, e.g. https://example.com "
	  "(repeatable); default: any" },
	{ .name = "signal-ice-url", .type = CONFIG_SPECIAL,
	  .section = CONFIG_SECTION_SIGNAL, .off = F(signal_ice_urls),
	  .parse = config_value_ice_url, .arg = "url",
	  .help = "stun:/turn:/turns: URL handed to clients (repeatable); "
	  "default: built from this configuration" },
	{ .name = "web-root", .type = CONFIG_PATH,
	  .section = CONFIG_SECTION_SIGNAL, .off = F(web_root),
	  .arg = "directory",
	  .help = "serve static files from this directory" },

	/* Not supported, harmless: a warning. */
	{ .name = "no-cli", .type = CONFIG_FLAG, IGNORED,
	  .help = "turnpike has no telnet CLI" },
	{ .name = "no-dtls", .type = CONFIG_FLAG, IGNORED,
	  .help = "turnpike has no DTLS listener to turn off" },
	{ .name = "cli-ip", .type = CONFIG_STRING, IGNORED, .arg = "ip",
	  .help = "turnpike has no telnet CLI" },
	{ .name = "cli-port", .type = CONFIG_STRING, IGNORED, .arg = "port",
	  .help = "turnpike has no telnet CLI" },
	{ .name = "cli-password", .type = CONFIG_STRING, IGNORED,
	  .arg = "password", .help = "turnpike has no telnet CLI" },
	{ .name = "cli-max-output-sessions", .type = CONFIG_STRING, IGNORED,
	  .arg = "number", .help = "turnpike has no telnet CLI" },
	{ .name = "web-admin", .type = CONFIG_FLAG, IGNORED,
	  .help = "turnpike has no web admin interface" },
	{ .name = "web-admin-ip", .type = CONFIG_STRING, IGNORED,
	  .arg = "ip", .help = "turnpike has no web admin interface" },
	{ .name = "web-admin-port", .type = CONFIG_STRING, IGNORED,
	  .arg = "port", .help = "turnpike has no web admin interface" },
	{ .name = "web-admin-listen-on-workers", .type = CONFIG_FLAG, IGNORED,
	  .help = "turnpike has no web admin interface" },
	{ .name = "prometheus", .type = CONFIG_FLAG, IGNORED,
	  .help = "no Prometheus exporter yet" },
	{ .name = "prometheus-port", .type = CONFIG_STRING, IGNORED,
	  .arg = "port", .help = "no Prometheus exporter yet" },
	{ .name = "prometheus-username-labels", .type = CONFIG_FLAG, IGNORED,
	  .help = "no Prometheus exporter yet" },
	{ .name = "new-log-timestamp", .type = CONFIG_FLAG, IGNORED,
	  .help = "the log line format is fixed" },
	{ .name = "new-log-timestamp-format", .type = CONFIG_STRING, IGNORED,
	  .arg = "format", .help = "the log line format is fixed" },
	{ .name = "ne", .type = CONFIG_STRING, IGNORED, .arg = "1|2|3",
	  .help = "coturn's network engine choice; turnpike has one engine" },
	{ .name = "udp-self-balance", .type = CONFIG_FLAG, IGNORED,
	  .help = "ALTERNATE-SERVER load balancing is not implemented" },
	{ .name = "aux-server", .type = CONFIG_STRING, IGNORED,
	  .arg = "ip:port",
	  .help = "auxiliary listeners are not implemented; use "
	  "listening-ip" },
	{ .name = "alternate-server", .type = CONFIG_STRING, IGNORED,
	  .arg = "ip:port",
	  .help = "ALTERNATE-SERVER redirection is not implemented; "
	  "allocations are served here" },
	{ .name = "tls-alternate-server", .type = CONFIG_STRING, IGNORED,
	  .arg = "ip:port",
	  .help = "ALTERNATE-SERVER redirection is not implemented; "
	  "allocations are served here" },
	{ .name = "tcp-proxy-port", .type = CONFIG_STRING, IGNORED,
	  .arg = "port",
	  .help = "PROXY protocol listeners are not implemented" },
	{ .name = "max-allocate-timeout", .type = CONFIG_STRING, IGNORED,
	  .arg = "seconds",
	  .help = "the allocation set-up time limit is not configurable" },
	{ .name = "no-dynamic-ip-list", .type = CONFIG_FLAG, IGNORED,
	  .help = "peer lists come from the configuration only" },
	{ .name = "no-dynamic-realms", .type = CONFIG_FLAG, IGNORED,
	  .help = "realm options come from the configuration only" },
	{ .name = "keep-address-family", .short_name = 'K',
	  .type = CONFIG_FLAG, IGNORED,
	  .help = "relays are IPv4 unless the client asks for IPv6 "
	  "(RFC 8656)" },
	{ .name = "allocation-default-address-family", .short_name = 'A',
	  .type = CONFIG_STRING, IGNORED, .arg = "ipv4|ipv6|keep",
	  .help = "relays are IPv4 unless the client asks for IPv6 "
	  "(RFC 8656)" },
	{ .name = "dh566", .type = CONFIG_FLAG, IGNORED,
	  .help = "weak built-in DH groups are never used; see dh-file" },
	{ .name = "dh1066", .type = CONFIG_FLAG, IGNORED,
	  .help = "weak built-in DH groups are never used; see dh-file" },
	{ .name = "no-sslv2", .type = CONFIG_FLAG, IGNORED,
	  .help = "SSL 2 is never offered" },
	{ .name = "no-sslv3", .type = CONFIG_FLAG, IGNORED,
	  .help = "SSL 3 is never offered" },
	{ .name = "no-rfc5780", .type = CONFIG_FLAG, IGNORED,
	  .help = "RFC 5780 NAT discovery is off by default already" },
	{ .name = "response-origin-only-with-rfc5780", .type = CONFIG_FLAG,
	  IGNORED, .help = "turnpike sends RESPONSE-ORIGIN only with "
	  "RFC 5780" },
	{ .name = "no-loopback-peers", .type = CONFIG_FLAG, IGNORED,
	  .help = "loopback peers are refused by default" },
	{ .name = "server-relay", .type = CONFIG_FLAG, IGNORED,
	  .help = "relay permission checks are always enforced" },
	{ .name = "acme-redirect", .type = CONFIG_STRING, IGNORED,
	  .arg = "url", .help = "ACME redirection is not implemented" },

	/* Not supported, and running without them would be unsafe: an error. */
	{ .name = "psql-userdb", .alias = "sql-userdb", .short_name = 'e',
	  .type = CONFIG_STRING, REFUSED, .arg = "connection-string",
	  .help = "the PostgreSQL database's accounts and secrets would be "
	  "missing (turnpike reads SQLite: userdb)" },
	{ .name = "mysql-userdb", .short_name = 'M', .type = CONFIG_STRING,
	  REFUSED, .arg = "connection-string",
	  .help = "the MySQL database's accounts and secrets would be "
	  "missing (turnpike reads SQLite: userdb)" },
	{ .name = "mongo-userdb", .type = CONFIG_STRING, REFUSED,
	  .arg = "connection-string",
	  .help = "the MongoDB database's accounts and secrets would be "
	  "missing (turnpike reads SQLite: userdb)" },
	{ .name = "redis-userdb", .short_name = 'N', .type = CONFIG_STRING,
	  REFUSED, .arg = "connection-string",
	  .help = "the Redis database's accounts and secrets would be "
	  "missing (turnpike reads SQLite: userdb)" },
	{ .name = "redis-statsdb", .short_name = 'O', .type = CONFIG_STRING,
	  REFUSED, .arg = "connection-string",
	  .help = "the allocation status and traffic records kept there "
	  "would silently stop" },
	{ .name = "secret-key-file", .type = CONFIG_STRING, REFUSED,
	  .arg = "file",
	  .help = "it decrypts a mysql-userdb password and MySQL is not "
	  "supported" },
	{ .name = "oauth", .type = CONFIG_FLAG, REFUSED,
	  .help = "OAuth access tokens would not be accepted" },
	{ .name = "check-origin-consistency", .type = CONFIG_FLAG, REFUSED,
	  .help = "requests whose ORIGIN changes within a session would no "
	  "longer be rejected" },
	{ .name = "max-bps", .short_name = 's', .type = CONFIG_INT, REFUSED,
	  .min = 0, .max = INT_MAX, .arg = "bytes-per-second",
	  .help = "sessions would not be held to the bandwidth limit" },
	{ .name = "bps-capacity", .short_name = 'B', .type = CONFIG_INT,
	  REFUSED, .min = 0, .max = INT_MAX, .arg = "bytes-per-second",
	  .help = "the server's total bandwidth would not be capped" },
};

const size_t config_noptions = sizeof config_options /
    sizeof config_options[0];

const struct config_option *
config_table_find(const char *name)
{
	const struct config_option	*o;
	size_t				 i;

	for (i = 0; i < config_noptions; i++) {
		o = &config_options[i];
		if (o->name != NULL && strcmp(o->name, name) == 0)
			return (o);
		if (o->alias != NULL && strcmp(o->alias, name) == 0)
			return (o);
	}
	return (NULL);
}

const struct config_option *
config_table_find_short(int c)
{
	size_t	i;

	if (c == 0)
		return (NULL);
	for (i = 0; i < config_noptions; i++) {
		if (config_options[i].short_name == c)
			return (&config_options[i]);
	}
	return (NULL);
}

/* Print text from column col, wrapped at CONFIG_TABLE_WIDTH. */
static void
config_table_wrap(FILE *f, size_t col, const char *text)
{
	const char	*p = text;
	size_t		 n;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (col > CONFIG_TABLE_COL &&
		    col + 1 + n > CONFIG_TABLE_WIDTH) {
			fprintf(f, "\n%*s", CONFIG_TABLE_COL, "");
			col = CONFIG_TABLE_COL;
		} else if (col > CONFIG_TABLE_COL) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)n, p);
		col += n;
		p += n;
		p += strspn(p, " ");
	}
	fputc('\n', f);
}

/* "  -p, --listening-port <port>" */
static int
config_table_left(const struct config_option *o, char *buf, size_t len)
{
	int	n;

	if (o->short_name != 0)
		n = snprintf(buf, len, "  -%c%s", o->short_name,
		    o->name != NULL ? ", " : "");
	else
		n = snprintf(buf, len, "      ");
	if (o->name != NULL)
		n += snprintf(buf + n, len - n, "--%s", o->name);
	if (o->alias != NULL)
		n += snprintf(buf + n, len - n, ", --%s", o->alias);
	if (o->arg != NULL)
		n += snprintf(buf + n, len - n, (o->flags & CONFIG_F_OPTARG) ?
		    "[=<%s>]" : " <%s>", o->arg);
	return (n);
}

/* The help text, with the default. */
static void
config_table_help(const struct config_option *o, char *buf, size_t len)
{
	if ((o->type == CONFIG_INT || o->type == CONFIG_PORT) &&
	    o->def > 0)
		snprintf(buf, len, "%s (default %d)", o->help, o->def);
	else if (o->type == CONFIG_CHAR)
		snprintf(buf, len, "%s (default '%c')", o->help, o->def);
	else if (o->type == CONFIG_ENUM)
		snprintf(buf, len, "%s (default %s)", o->help,
		    o->choices[o->def]);
	else
		snprintf(buf, len, "%s", o->help);
}

static void
config_table_row(FILE *f, const struct config_option *o)
{
	char	left[160], help[512];

	config_table_help(o, help, sizeof help);
	if (config_table_left(o, left, sizeof left) + 1 >= CONFIG_TABLE_COL)
		fprintf(f, "%s\n%*s", left, CONFIG_TABLE_COL, "");
	else
		fprintf(f, "%-*s", CONFIG_TABLE_COL, left);
	config_table_wrap(f, CONFIG_TABLE_COL, help);
}

/* "psql-userdb (sql-userdb, -e)" */
static void
config_table_name(const struct config_option *o, char *buf, size_t len)
{
	if (o->alias != NULL && o->short_name != 0)
		snprintf(buf, len, "%s (%s, -%c)", o->name, o->alias,
		    o->short_name);
	else if (o->alias != NULL)
		snprintf(buf, len, "%s (%s)", o->name, o->alias);
	else if (o->short_name != 0)
		snprintf(buf, len, "%s (-%c)", o->name, o->short_name);
	else
		snprintf(buf, len, "%s", o->name);
}

/* The options turnpike does not support, by name only. */
static void
config_table_unsupported(FILE *f, enum config_status status,
    const char *title)
{
	const struct config_option	*o;
	char				 buf[160];
	size_t				 i, col = 4, n;
	bool				 first = true;

	fprintf(f, "  %s:\n    ", title);
	for (i = 0; i < config_noptions; i++) {
		o = &config_options[i];
		if (o->status != status)
			continue;
		config_table_name(o, buf, sizeof buf);
		n = strlen(buf) + (first ? 0 : 2);
		if (!first && col + n > CONFIG_TABLE_WIDTH - 1) {
			fprintf(f, ",\n    ");
			col = 4;
			n -= 2;
		} else if (!first)
			fputs(", ", f);
		fputs(buf, f);
		col += n;
		first = false;
	}
	fputc('\n', f);
}

void
config_usage(FILE *f)
{
	size_t	i;
	int	s;

	fprintf(f, "usage: turnpike [-c file | -n] [options]\n"
	    "Every option can also be a line of the configuration file: "
	    "name=value,\nor the bare name for a flag.\n");
	for (s = 0; s < CONFIG_SECTION_UNSUPPORTED; s++) {
		fprintf(f, "\n%s:\n", config_section_names[s]);
		for (i = 0; i < config_noptions; i++) {
			if (config_options[i].section == (enum config_section)s)
				config_table_row(f, &config_options[i]);
		}
	}
	fprintf(f, "\n%s (coturn options; doc/configuration.md says why):\n",
	    config_section_names[CONFIG_SECTION_UNSUPPORTED]);
	config_table_unsupported(f, CONFIG_IGNORED, "ignored with a warning");
	config_table_unsupported(f, CONFIG_REFUSED, "refused with an error");
}
