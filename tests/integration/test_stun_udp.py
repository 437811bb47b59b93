#!/usr/bin/python3
"""STUN Binding over UDP (RFC 8489, RFC 3489 compatibility) on 127.0.0.1 and
::1, checked with coturn's turnutils_stunclient, Vovida's `stun` client and a
raw client for what those cannot see."""

import os
import socket
import struct
import time

from lib import *

V6 = ipv6_loopback_ok()
HOSTS = ('127.0.0.1', '::1') if V6 else ('127.0.0.1',)


def server(*extra, hosts=HOSTS):
    port = free_port('both', hosts)
    args = []
    for h in hosts:
        args += ['-L', h]
    return Server(args + ['-p', str(port)] + list(extra),
                  ready=('stun', hosts[0], port)), port


def is_success(m, txid=None):
    return (m is not None and m.type == BINDING_SUCCESS and
            (txid is None or m.txid == txid))


@test
def turnutils_stunclient_finds_reflexive_address():
    srv, port = server()
    with srv:
        for host in HOSTS:
            rc, out, addrs = stunclient(host, port)
            check('turnutils_stunclient %s: exit 0' % host, rc == 0, out)
            check('turnutils_stunclient %s: prints a reflexive address' % host,
                  len(addrs) >= 1, out)
            check('turnutils_stunclient %s: reflexive IP is %s' % (host, host),
                  addrs and all(a[0] == host for a in addrs), out)
            check('turnutils_stunclient %s: reflexive port is a real port' % host,
                  addrs and all(1024 <= a[1] <= 65535 for a in addrs), out)


@test
def raw_binding_reflects_exact_source():
    srv, port = server()
    with srv:
        for host in HOSTS:
            m, src = binding_ok(host, port)
            check('%s: Binding success response' % host, is_success(m), repr(m))
            if not m:
                continue
            check('%s: response well formed (length, padding, type bits)' % host,
                  m.well_formed(), repr(m))
            check('%s: magic cookie in response' % host,
                  m.cookie == MAGIC_COOKIE, hex(m.cookie))
            check('%s: XOR-MAPPED-ADDRESS is the source %s:%d' % ((host,) + src),
                  m.xor_mapped() == src, 'got %r' % (m.xor_mapped(),))
        # two sockets, two different answers: the address is per client
        a, src_a = binding_ok('127.0.0.1', port)
        b, src_b = binding_ok('127.0.0.1', port)
        check('two clients get their own ports',
              a and b and a.xor_mapped() == src_a and b.xor_mapped() == src_b
              and src_a != src_b)


@test
def response_comes_from_the_port_asked():
    srv, port = server(hosts=('127.0.0.1',))
    with srv, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        req, txid = build_request()
        s.settimeout(2)
        s.sendto(req, ('127.0.0.1', port))
        try:
            data, frm = s.recvfrom(2048)
        except socket.timeout:
            data, frm = None, None
        check('answered', data is not None)
        check('response source is 127.0.0.1:%d' % port,
              frm == ('127.0.0.1', port), repr(frm))


@test
def vovida_stun_client_gets_mapped_address():
    srv, port = server(hosts=('127.0.0.1',))
    with srv:
        # The client binds its source port and the next one: both free.
        src, _ = free_port_range(2)
        rc, out, err = stun3489('127.0.0.1', port, ['1', '-v', '-p', str(src)],
                                timeout=20)
        check('stun test 1: finished', rc is not None, out + err)
        check('stun test 1: got a response', 'Got a response' in err, err)
        check('stun test 1: mappedAddr=127.0.0.1:%d' % src,
              'mappedAddr=127.0.0.1:%d' % src in err, err)
        # The full RFC 3489 NAT-type run also sends CHANGE-REQUEST tests the
        # server cannot honour (no alternate address): it must still finish
        # and not conclude the server is unreachable.
        t0 = time.monotonic()
        # Left to itself it picks a random source port that may be taken.
        src, _ = free_port_range(2)
        rc, out, err = stun3489('127.0.0.1', port, ['-v', '-p', str(src)],
                                timeout=30)
        check('stun full run: finished within 30 s', rc is not None,
              out + err)
        check('stun full run: prints a NAT type', 'Primary:' in out, out)
        check('stun full run: server reachable (not "Blocked")',
              'Primary:' in out and 'Blocked' not in out, out)
        check('stun full run: MappedAddress = 127.0.0.1:...',
              'MappedAddress = 127.0.0.1:' in err, err[-2000:])
        diag('stun full run: %s (rc=%s, %.1fs)' % (
            ' '.join(out.split()), rc, time.monotonic() - t0))


@test
def fingerprint_mirrors_request():
    srv, port = server(hosts=('127.0.0.1',))
    with srv:
        m, _ = binding_ok('127.0.0.1', port)
        check('request without FINGERPRINT: response without it',
              m is not None and m.fingerprint_valid() is None, repr(m))
        m, src = binding_ok('127.0.0.1', port, fingerprint=True)
        check('request with FINGERPRINT: success', is_success(m), repr(m))
        check('request with FINGERPRINT: response has a valid one, last',
              m is not None and m.fingerprint_valid() is True, repr(m))
        check('request with FINGERPRINT: mapped address still right',
              m is not None and m.xor_mapped() == src)
        # a request whose FINGERPRINT is wrong is not a valid STUN message
        req, txid = build_request(fingerprint=True)
        bad = req[:-1] + bytes([req[-1] ^ 0xFF])
        r = parse_message(udp_request('127.0.0.1', port, bad, timeout=0.6))
        check('request with a wrong FINGERPRINT: no success response',
              not is_success(r), repr(r))


@test
def fingerprint_forced_by_option():
    for opt in ('-f', '--fingerprint'):
        srv, port = server(opt, hosts=('127.0.0.1',))
        with srv:
            m, src = binding_ok('127.0.0.1', port)
            check('%s: success' % opt, is_success(m), repr(m))
            check('%s: FINGERPRINT present, valid and last' % opt,
                  m is not None and m.fingerprint_valid() is True, repr(m))
    port = free_port('both')
    cfg = 'listening-ip=127.0.0.1\nlistening-port=%d\nfingerprint\n' % port
    with Server([], cfg, ready=('stun', '127.0.0.1', port)):
        m, _ = binding_ok('127.0.0.1', port)
        check('fingerprint in the config file: FINGERPRINT valid',
              m is not None and m.fingerprint_valid() is True, repr(m))


@test
def software_attribute_only_when_asked():
    srv, port = server(hosts=('127.0.0.1',))
    with srv:
        m, _ = binding_ok('127.0.0.1', port)
        check('default: no SOFTWARE attribute',
              m is not None and not m.has(ATTR_SOFTWARE), repr(m))
    srv, port = server('--software-attribute', hosts=('127.0.0.1',))
    with srv:
        m, _ = binding_ok('127.0.0.1', port)
        sw = m.attr(ATTR_SOFTWARE) if m else None
        check('--software-attribute: SOFTWARE present', bool(sw), repr(m))
        check('--software-attribute: SOFTWARE names turnpike',
              sw is not None and b'turnpike' in sw.lower(), repr(sw))


@test
def unknown_comprehension_required_attribute_gets_420():
    srv, port = server(hosts=('127.0.0.1',))
    with srv:
        req, txid = build_request([(0x0777, b'\x01\x02\x03\x04')])
        m = parse_message(udp_request('127.0.0.1', port, req))
        check('0x0777: error response', m is not None and m.type == BINDING_ERROR,
              repr(m))
        check('0x0777: same transaction ID', m is not None and m.txid == txid)
        check('0x0777: ERROR-CODE 420', m is not None and m.error() and
              m.error()[0] == 420, repr(m))
        check('0x0777: UNKNOWN-ATTRIBUTES lists 0x0777',
              m is not None and m.unknown_attributes() == [0x0777],
              repr(m and m.unknown_attributes()))
        check('0x0777: no XOR-MAPPED-ADDRESS in the error',
              m is not None and not m.has(ATTR_XOR_MAPPED_ADDRESS), repr(m))
        req, txid = build_request([(0x0777, b'ab'), (0x0666, b'')])
        m = parse_message(udp_request('127.0.0.1', port, req))
        check('two unknown attributes: both listed',
              m is not None and m.error() and m.error()[0] == 420 and
              sorted(m.unknown_attributes()) == [0x0666, 0x0777],
              repr(m))
        # comprehension-optional (>= 0x8000) unknown attributes are ignored
        req, txid = build_request([(0x8777, b'xyz')])
        m = parse_message(udp_request('127.0.0.1', port, req))
        check('unknown optional 0x8777: ignored, success', is_success(m, txid),
              repr(m))


@test
def malformed_datagrams_are_dropped():
    srv, port = server(hosts=('127.0.0.1',))
    good_req, good_txid = build_request()
    hdr = struct.pack('!HHI', BINDING_REQUEST, 0, MAGIC_COOKIE) + os.urandom(12)
    attr_overrun = (struct.pack('!HHI', BINDING_REQUEST, 8, MAGIC_COOKIE) +
                    os.urandom(12) + struct.pack('!HH', 0x8022, 200) + b'abcd')
    bad = [
        ('empty datagram', b''),
        ('one byte', b'\x00'),
        ('truncated header (10 bytes)', hdr[:10]),
        ('truncated header (19 bytes)', hdr[:19]),
        ('length says 100, has 0', hdr[:2] + struct.pack('!H', 100) + hdr[4:]),
        ('length says 8, has 12', hdr[:2] + struct.pack('!H', 8) + hdr[4:] +
         b'\0' * 12),
        ('length not a multiple of 4', hdr[:2] + struct.pack('!H', 3) + hdr[4:] +
         b'abc'),
        ('attribute overruns the message', attr_overrun),
        ('top bits set (not STUN)', b'\xc0' + hdr[1:]),
        ('ChannelData without allocation', b'\x40\x00\x00\x04abcd'),
        ('random 64 bytes', os.urandom(64)),
        ('random 1400 bytes', os.urandom(1400)),
        ('random 8000 bytes', os.urandom(8000)),
    ]
    with srv, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as evil:
        evil.bind(('127.0.0.1', 0))
        for label, data in bad:
            evil.sendto(data, ('127.0.0.1', port))
            m, src = binding_ok('127.0.0.1', port)
            check('after %s: another client still answered' % label,
                  is_success(m) and m.xor_mapped() == src, repr(m))
        # nothing that looks like a success came back to the sender of junk
        evil.settimeout(0.5)
        got = []
        try:
            while True:
                got.append(parse_message(evil.recv(65536)))
        except socket.timeout:
            pass
        check('no Binding success sent for any malformed datagram',
              not any(is_success(g) for g in got), repr(got))
        # a flood of junk interleaved with good requests
        for i in range(200):
            evil.sendto(os.urandom(20 + (i % 50) * 4), ('127.0.0.1', port))
        evil.sendto(good_req, ('127.0.0.1', port))
        evil.settimeout(2)
        seen = False
        try:
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not seen:
                g = parse_message(evil.recv(65536))
                seen = is_success(g, good_txid)
        except socket.timeout:
            pass
        check('after 200 junk datagrams the same socket is answered', seen)
        check('server still running', srv.alive())


@test
def classic_rfc3489_request():
    srv, port = server(hosts=('127.0.0.1',))
    with srv:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(('127.0.0.1', 0))
            src = s.getsockname()
            req, txid16 = build_request(classic=True)
            m = parse_message(udp_request('127.0.0.1', port, req, sock=s))
            check('classic: Binding success', m is not None and
                  m.type == BINDING_SUCCESS, repr(m))
            check('classic: all 16 transaction-ID bytes echoed',
                  m is not None and m.txid16 == txid16)
            check('classic: MAPPED-ADDRESS is the source',
                  m is not None and m.mapped() == src,
                  'got %r' % (m and m.mapped(),))
            # what Vovida's client sends: CHANGE-REQUEST with no flags
            req, txid16 = build_request([(ATTR_CHANGE_REQUEST, b'\0\0\0\0')],
                                        classic=True)
            m = parse_message(udp_request('127.0.0.1', port, req, sock=s))
            check('classic with CHANGE-REQUEST 0: success with MAPPED-ADDRESS',
                  m is not None and m.type == BINDING_SUCCESS and
                  m.txid16 == txid16 and m.mapped() == src, repr(m))


@test
def no_stun_drops_binding():
    port = free_port('both')
    with Server(['-L', '127.0.0.1', '-p', str(port), '--no-stun'],
                ready=('log', 'ready')) as srv:
        check('--no-stun: server started', srv.started_ok and srv.alive())
        check('--no-stun: UDP listener is up (silence is no-stun)',
              'listening udp 127.0.0.1:%d' % port in srv.output(),
              srv.output()[-1500:])
        t0 = time.monotonic()
        r = udp_request('127.0.0.1', port, build_request()[0], timeout=1.0)
        check('--no-stun: Binding gets no answer within 1 s', r is None,
              repr(parse_message(r)))
        check('--no-stun: the wait was bounded', time.monotonic() - t0 < 3)
        check('--no-stun: server still running', srv.alive())


@test
def log_binding_logs_each_request():
    srv, port = server('--log-binding', hosts=('127.0.0.1',))
    with srv:
        req, txid = build_request()
        check('binding answered', is_success(parse_message(
            udp_request('127.0.0.1', port, req)), txid))
        check('log-binding: a "stun binding" line with the client',
              wait_for(lambda: 'client=127.0.0.1:' in srv.output() and
                       'stun binding' in srv.output(), 5), srv.output()[-800:])
    srv, port = server(hosts=('127.0.0.1',))
    with srv:
        udp_request('127.0.0.1', port, build_request()[0])
        check('without log-binding no such line',
              'stun binding' not in srv.output())


done()
