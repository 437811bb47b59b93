#!/usr/bin/python3
"""STUN Binding over TCP (RFC 8489 §6.2.2 framing by the STUN length field):
single, pipelined and split messages; garbage closes only its own connection.

coturn's turnutils_stunclient has no TCP mode (its only flags are -p, -L and
-f), so TCP is checked with the raw client only."""

import os
import socket
import struct
import time

from lib import *

V6 = ipv6_loopback_ok()
HOSTS = ('127.0.0.1', '::1') if V6 else ('127.0.0.1',)


def start(*extra):
    port = free_port('both', HOSTS)
    args = []
    for h in HOSTS:
        args += ['-L', h]
    return Server(args + ['-p', str(port)] + list(extra),
                  ready=('stun', '127.0.0.1', port)), port


def tcp_binding(sock, **kw):
    req, txid = build_request(**kw)
    sock.sendall(req)
    return tcp_read_message(sock), txid


@test
def single_binding_over_tcp():
    srv, port = start()
    with srv:
        for host in HOSTS:
            with tcp_connect(host, port) as s:
                src = s.getsockname()[:2]
                m, txid = tcp_binding(s)
                check('%s tcp: Binding success' % host,
                      m is not None and m.type == BINDING_SUCCESS and
                      m.txid == txid, repr(m))
                check('%s tcp: XOR-MAPPED-ADDRESS is the source %s:%d' %
                      ((host,) + src), m is not None and m.xor_mapped() == src,
                      repr(m and m.xor_mapped()))
                # the connection stays open for more requests
                m2, txid2 = tcp_binding(s, fingerprint=True)
                check('%s tcp: second request on the same connection' % host,
                      m2 is not None and m2.txid == txid2 and
                      m2.fingerprint_valid() is True, repr(m2))


@test
def pipelined_requests_in_one_write():
    srv, port = start()
    with srv, tcp_connect('127.0.0.1', port) as s:
        src = s.getsockname()[:2]
        r1, t1 = build_request()
        r2, t2 = build_request(fingerprint=True)
        s.sendall(r1 + r2)
        m1 = tcp_read_message(s)
        m2 = tcp_read_message(s)
        check('two in one write: first answered in order',
              m1 is not None and m1.txid == t1 and m1.xor_mapped() == src,
              repr(m1))
        check('two in one write: second answered in order',
              m2 is not None and m2.txid == t2 and m2.xor_mapped() == src,
              repr(m2))
        reqs = [build_request() for _ in range(50)]
        s.sendall(b''.join(r for r, _ in reqs))
        got = [tcp_read_message(s) for _ in reqs]
        check('fifty in one write: fifty answers, in order',
              all(g is not None and g.txid == t for g, (_, t) in zip(got, reqs)),
              '%d answered' % sum(g is not None for g in got))


@test
def message_split_across_writes():
    srv, port = start()
    with srv, tcp_connect('127.0.0.1', port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        src = s.getsockname()[:2]
        req, txid = build_request([(0x8777, b'padding!' * 4)], fingerprint=True)
        for a, b in ((0, 1), (1, 7), (7, 20), (20, 23), (23, len(req))):
            s.sendall(req[a:b])
            time.sleep(0.05)
        m = tcp_read_message(s)
        check('split in five writes (inside header and attribute): answered',
              m is not None and m.txid == txid and m.xor_mapped() == src,
              repr(m))
        # the tail of one message and the head of the next in one write
        r1, t1 = build_request()
        r2, t2 = build_request()
        s.sendall(r1[:12])
        time.sleep(0.05)
        s.sendall(r1[12:] + r2[:5])
        time.sleep(0.05)
        s.sendall(r2[5:])
        m1, m2 = tcp_read_message(s), tcp_read_message(s)
        check('message boundary inside a write: both answered',
              m1 is not None and m2 is not None and m1.txid == t1 and
              m2.txid == t2, repr((m1, m2)))


@test
def partial_message_does_not_block_others():
    srv, port = start()
    with srv, tcp_connect('127.0.0.1', port) as slow:
        req, _ = build_request()
        slow.sendall(req[:9])        # and then nothing
        time.sleep(0.1)
        with tcp_connect('127.0.0.1', port) as other:
            m, txid = tcp_binding(other)
            check('a stalled half message does not block another connection',
                  m is not None and m.txid == txid, repr(m))
        m, src = binding_ok('127.0.0.1', port)
        check('nor UDP', m is not None and m.xor_mapped() == src)


@test
def unknown_attribute_over_tcp():
    srv, port = start()
    with srv, tcp_connect('127.0.0.1', port) as s:
        m, txid = tcp_binding(s, attrs=[(0x0777, b'\0\0\0\0')])
        check('tcp 0x0777: 420 with UNKNOWN-ATTRIBUTES',
              m is not None and m.type == BINDING_ERROR and m.txid == txid and
              m.error() and m.error()[0] == 420 and
              m.unknown_attributes() == [0x0777], repr(m))
        m, txid = tcp_binding(s)
        check('tcp: connection usable after the 420',
              m is not None and m.type == BINDING_SUCCESS and m.txid == txid,
              repr(m))


@test
def garbage_closes_only_that_connection():
    srv, port = start()
    junk = [
        ('non-STUN bytes', b'\xc0\xff' * 40),
        ('STUN header with length not a multiple of 4',
         struct.pack('!HHI', BINDING_REQUEST, 3, MAGIC_COOKIE) +
         os.urandom(12) + b'abc'),
    ]
    with srv:
        for label, data in junk:
            with tcp_connect('127.0.0.1', port) as good, \
                    tcp_connect('127.0.0.1', port) as bad:
                m, txid = tcp_binding(good)
                check('%s: good connection answered before' % label,
                      m is not None and m.txid == txid)
                bad.sendall(data)
                check('%s: that connection is closed' % label,
                      tcp_closed(bad, 3))
                m, txid = tcp_binding(good)
                check('%s: the other connection still answered' % label,
                      m is not None and m.type == BINDING_SUCCESS and
                      m.txid == txid, repr(m))
            with tcp_connect('127.0.0.1', port) as fresh:
                m, txid = tcp_binding(fresh)
                check('%s: a new connection is answered' % label,
                      m is not None and m.txid == txid, repr(m))
        m, src = binding_ok('127.0.0.1', port)
        check('UDP still answered', m is not None and m.xor_mapped() == src)
        check('server still running', srv.alive())


@test
def many_connections_opened_and_dropped():
    srv, port = start()
    with srv:
        socks = []
        try:
            for _ in range(40):
                socks.append(tcp_connect('127.0.0.1', port))
            # half send half a request and vanish, half just vanish
            for i, s in enumerate(socks):
                if i % 2:
                    s.sendall(build_request()[0][:11])
        finally:
            for s in socks:
                s.close()
        with tcp_connect('127.0.0.1', port) as s:
            m, txid = tcp_binding(s)
            check('answered after 40 abandoned connections',
                  m is not None and m.txid == txid, repr(m))


done()
