/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 turnpike authors */
/* Unit tests for src/common/addr.c: parsing, formatting, ranges. */
#include <arpa/inet.h>

#include "addr.h"
#include "tap.h"

static const char *
fmt(const struct sockaddr_storage *ss, bool port)
{
	static char	buf[ADDR_STRLEN];

	return addr_format((const struct sockaddr *)ss, port, buf,
	    sizeof(buf));
}

static bool
in_range(const char *range, const char *ip)
{
	struct addr_range	r;
	struct sockaddr_storage	ss;

	if (addr_range_parse(range, &r) == -1 || addr_parse_ip(ip, &ss) == -1)
		return false;
	return addr_range_contains(&r, (struct sockaddr *)&ss);
}

static void
test_parse(void)
{
	struct sockaddr_storage	ss;

	is_int(addr_parse_ip("192.0.2.1", &ss), 0, "parse v4");
	is_int(ss.ss_family, AF_INET, "v4 family");
	is_str(fmt(&ss, false), "192.0.2.1", "format v4");
	is_int(addr_parse_ip("2001:db8::1", &ss), 0, "parse v6");
	is_str(fmt(&ss, false), "2001:db8::1", "format v6");
	is_int(addr_parse_ip("[::1]", &ss), 0, "parse bracketed v6");
	ok(addr_is_loopback((struct sockaddr *)&ss), "::1 is loopback");
	is_int(addr_parse_ip("example.com", &ss), -1, "hostname refused");
	is_int(addr_parse_ip("1.2.3.256", &ss), -1, "bad octet refused");
	is_int(addr_parse_ip("", &ss), -1, "empty refused");
	is_int(addr_parse_ip("0.0.0.0", &ss), 0, "parse any");
	ok(addr_is_any((struct sockaddr *)&ss), "0.0.0.0 is any");

	is_int(addr_parse_ip_port("192.0.2.1:3478", 0, &ss), 0, "v4:port");
	is_str(fmt(&ss, true), "192.0.2.1:3478", "format v4:port");
	is_int(addr_parse_ip_port("[2001:db8::2]:5349", 0, &ss), 0,
	    "[v6]:port");
	is_str(fmt(&ss, true), "[2001:db8::2]:5349", "format [v6]:port");
	is_int(addr_parse_ip_port("2001:db8::2", 99, &ss), 0, "bare v6");
	is_int(addr_port((struct sockaddr *)&ss), 99, "default port");
	is_int(addr_parse_ip_port("1.2.3.4:0", 0, &ss), -1, "port 0");
	is_int(addr_parse_ip_port("1.2.3.4:65536", 0, &ss), -1, "port big");
	is_int(addr_parse_ip_port("1.2.3.4:x", 0, &ss), -1, "port text");
	is_int(addr_parse_ip_port("[::1", 0, &ss), -1, "unclosed bracket");
	is_int(addr_parse_ip_port("[::1]x", 0, &ss), -1, "junk after ]");
}

static void
test_ranges(void)
{
	struct addr_range	r;

	ok(in_range("10.0.0.0/8", "10.255.1.2"), "cidr contains");
	ok(!in_range("10.0.0.0/8", "11.0.0.1"), "cidr excludes");
	ok(in_range("10.1.2.3/8", "10.0.0.0"), "cidr host bits cleared");
	ok(in_range("0.0.0.0/0", "203.0.113.9"), "/0 contains all");
	ok(in_range("172.16.0.0-172.31.255.255", "172.20.1.1"), "lo-hi");
	ok(!in_range("172.16.0.0-172.31.255.255", "172.32.0.0"),
	    "lo-hi excludes");
	ok(in_range("fc00::/7", "fd12::1"), "v6 cidr");
	ok(!in_range("fc00::/7", "10.0.0.1"), "family mismatch");
	ok(in_range("169.254.169.254", "169.254.169.254"), "single ip");
	is_int(addr_range_parse("10.0.0.0/33", &r), -1, "prefix too long");
	is_int(addr_range_parse("10.0.0.9-10.0.0.1", &r), -1, "hi < lo");
	is_int(addr_range_parse("10.0.0.1-::1", &r), -1, "mixed families");
	is_int(addr_range_parse("10.0.0.0/", &r), -1, "empty prefix");
}

static void
test_compare(void)
{
	struct sockaddr_storage	a, b;

	addr_parse_ip_port("192.0.2.1:1", 0, &a);
	addr_parse_ip_port("192.0.2.1:2", 0, &b);
	ok(addr_equal_ip((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "same ip");
	ok(!addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b),
	    "different port");
	addr_parse_ip_port("[::ffff:192.0.2.1]:7", 0, &a);
	addr_unmap_v4(&a);
	is_int(a.ss_family, AF_INET, "v4-mapped unmapped");
	is_str(fmt(&a, true), "192.0.2.1:7", "unmapped keeps port");
}

int
main(void)
{
	test_parse();
	test_ranges();
	test_compare();
	return tap_done();
}
