"""TURN over UDP (RFC 8656) against coturn's turnutils_uclient and
turnutils_peer, plus a raw client for the exact error codes."""

import re
import socket
import struct
import time

from lib import *
from turn_client import (TurnClient, EchoPeer, A_RELAYED, A_XOR_MAPPED,
                         A_LIFETIME, parse_xor_addr as parse, read_frame,
                         uclient as turn_uclient)

USER, PASSWORD, REALM = 'alice', 'wonderland', 'turnpike.test'


def start(extra=(), nports=32, netns=False):
    port = free_port()
    lo, hi = free_port_range(nports)
    args = ['-L', '127.0.0.1', '-p', str(port), '-a', '-u',
            '%s:%s' % (USER, PASSWORD), '-r', REALM, '--min-port', str(lo),
            '--max-port', str(hi), '-v'] + list(extra)
    return Server(args, netns=netns), port, (lo, hi)


def uclient(port, args, password=PASSWORD, timeout=60, netns=None):
    return turn_uclient(port, USER, password, args, timeout, netns)


def echo_peer():
    return EchoPeer(free_port('udp'))


def relayed_ok(name, rc, out, stats, want):
    """uclient's totals count its RTCP streams and -y pairs too: at least
    `want` messages, every one received."""
    check('%s: exit 0' % name, rc == 0, out[-1500:])
    check('%s: at least %d messages, all received' % (name, want),
          stats.get('sent', 0) >= want and
          stats.get('recv') == stats.get('sent'), 'stats %r' % stats)
    check('%s: zero loss' % name, stats.get('lost') == 0, 'stats %r' % stats)


@test
def uclient_modes():
    srv, port, _ = start(['--allow-loopback-peers'])
    with srv, echo_peer() as peer:
        to_peer = ['-e', '127.0.0.1', '-r', str(peer.port)]
        rc, out, st = uclient(port, to_peer + ['-n', '40', '-m', '3'])
        relayed_ok('channels to an echo peer, 3 sessions', rc, out, st, 120)
        rc, out, st = uclient(port, to_peer + ['-s', '-n', '40'])
        relayed_ok('send/data indications to an echo peer', rc, out, st, 40)
        rc, out, st = uclient(port, ['-y', '-n', '40', '-m', '2'])
        relayed_ok('client to client over channels', rc, out, st, 160)
        rc, out, st = uclient(port, ['-y', '-s', '-n', '40'])
        relayed_ok('client to client over indications', rc, out, st, 80)
        rc, out, st = uclient(port, to_peer + ['-n', '20', '-l', '1200'])
        relayed_ok('1200-byte payloads', rc, out, st, 20)
        check('allocations logged', 'turn allocate ok' in srv.output())


@test
def wrong_password():
    srv, port, _ = start(['--allow-loopback-peers'])
    with srv, echo_peer() as peer:
        rc, out, _ = uclient(port, ['-e', '127.0.0.1', '-r', str(peer.port),
                                    '-n', '5'], password='wrong')
        check('uclient with a wrong password fails', rc not in (0, None), out)
        check('it cannot complete the allocation',
              'Cannot complete Allocation' in out, out[-800:])
        c = TurnClient(('127.0.0.1', port), USER, 'wrong')
        m = c.allocate()
        c.close()
        check('a raw Allocate with a wrong password gets 401',
              m is not None and m.code == 401, m and m.code)


@test
def allocate_answers():
    srv, port, (lo, hi) = start()
    with srv:
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        m = c.allocate()
        ok = m is not None and not m.is_error
        check('allocate succeeds', ok, m and m.code)
        if ok:
            host, rport = m.addr(A_RELAYED)
            check('relayed address on 127.0.0.1 in min-port..max-port',
                  host == '127.0.0.1' and lo <= rport <= hi, (host, rport))
            check('xor-mapped address is the client socket',
                  m.addr(A_XOR_MAPPED) == c.sock.getsockname()[:2])
            check('default lifetime 600 s',
                  m.attrs.get(A_LIFETIME) == b'\0\0\x02\x58')
        m = c.allocate()
        check('a second Allocate on the 5-tuple gets 437',
              m is not None and m.code == 437, m and m.code)
        m = c.permission('127.0.0.1', 9)
        check('a loopback peer is refused with 403',
              m is not None and m.code == 403, m and m.code)
        m = c.permission('10.1.2.3')
        check('a private peer is refused with 403',
              m is not None and m.code == 403, m and m.code)
        m = c.permission('169.254.169.254')
        check('the metadata address is refused with 403',
              m is not None and m.code == 403, m and m.code)
        m = c.permission('203.0.113.7')
        check('a public peer is permitted', m is not None and not m.is_error,
              m and m.code)
        m = c.channel_bind(0x3FFF, '203.0.113.7', 5000)
        check('channel 0x3FFF is refused with 400',
              m is not None and m.code == 400, m and m.code)
        m = c.channel_bind(0x7FFF, '203.0.113.7', 5000)
        check('channel 0x7FFF (RFC 5766 range) is accepted',
              m is not None and not m.is_error, m and m.code)
        m = c.refresh(0)
        check('refresh with lifetime 0 succeeds',
              m is not None and not m.is_error, m and m.code)
        m = c.permission('203.0.113.7')
        check('after it the allocation is gone: 437',
              m is not None and m.code == 437, m and m.code)
        c.close()


@test
def loopback_peer_allowed_when_asked():
    srv, port, _ = start(['--allow-loopback-peers'])
    with srv:
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        c.allocate()
        m = c.permission('127.0.0.1', 9)
        check('allow-loopback-peers permits 127.0.0.1',
              m is not None and not m.is_error, m and m.code)
        c.close()


@test
def external_ip_mapping():
    srv, port, (lo, hi) = start(['-X', '203.0.113.5/127.0.0.1'])
    with srv:
        check('start-up log names the advertised address',
              'advertised=203.0.113.5' in srv.output())
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        m = c.allocate()
        ok = m is not None and not m.is_error
        check('allocate with external-ip succeeds', ok, m and m.code)
        if ok:
            host, rport = m.addr(A_RELAYED)
            check('XOR-RELAYED-ADDRESS is the public address',
                  host == '203.0.113.5' and lo <= rport <= hi, (host, rport))
            check('XOR-MAPPED-ADDRESS is still the real source',
                  m.addr(A_XOR_MAPPED) == c.sock.getsockname()[:2])
        c.close()


def bind_pair(a, b, ra, rb):
    """A binds channel 0x4000 to B's relayed address, B 0x4001 to A's."""
    ca, cb = a.channel_bind(0x4000, *rb), b.channel_bind(0x4001, *ra)
    ok = ca is not None and not ca.is_error and cb is not None and \
        not cb.is_error
    check('each binds a channel to the other relay', ok,
          (ca and ca.code, cb and cb.code))
    return ok


def relay_pair(port, tcp_b=False):
    """Two raw clients, A over UDP and B over UDP or TCP, bound to each
    other (bind_pair): (a, b, a's relay), or None when a step failed."""
    a = TurnClient(('127.0.0.1', port), USER, PASSWORD, timeout=1.0)
    b = TurnClient(('127.0.0.1', port), USER, PASSWORD, timeout=1.0,
                   tcp=tcp_b)
    ma, mb = a.allocate(), b.allocate()
    ok = ma is not None and not ma.is_error and mb is not None and \
        not mb.is_error
    check('two allocations', ok, (ma and ma.code, mb and mb.code))
    ra = ok and ma.addr(A_RELAYED)
    if not ok or not bind_pair(a, b, ra, mb.addr(A_RELAYED)):
        return None
    return a, b, ra


def relayed(src, dst, chan_out, chan_in, payload):
    """src sends payload on channel chan_out; True when dst gets it as
    ChannelData on chan_in within a second (a late STUN answer on the way
    is skipped)."""
    src.sock.sendto(struct.pack('!HH', chan_out, len(payload)) + payload,
                    src.server)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        dst.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            raw = read_frame(dst.sock) if dst.tcp else \
                dst.sock.recvfrom(65536)[0]
        except (socket.timeout, ConnectionError):
            return False
        if len(raw) >= 4 and raw[0] >= 0x40:
            n = struct.unpack('!H', raw[2:4])[0]
            return raw[:2] == struct.pack('!H', chan_in) and \
                raw[4:4 + n] == payload
    return False


def udp_in_datagrams(pid):
    """UDP datagrams received in the network namespace of pid so far."""
    with open('/proc/%d/net/snmp' % pid) as f:
        rows = [line.split() for line in f if line.startswith('Udp:')]
    return int(rows[1][rows[0].index('InDatagrams')])


NAT = ['-X', '203.0.113.5/127.0.0.1']


@test
def relay_to_relay_hairpin():
    """Two relayed clients of one server reach each other inside it, even
    when their advertised address leads nowhere: here external-ip names
    203.0.113.5, unreachable in the test's own network namespace, as behind
    a cloud NAT that does not hairpin. uclient -y makes each client's peer
    the other client's relayed address. With no-relay-hairpin the same
    datagrams go to the network and are lost, which shows the test can
    fail."""
    srv, port, _ = start(NAT + ['-m', '1'], netns=True)
    with srv:
        rc, out, st = uclient(port, ['-y', '-n', '40', '-m', '2'],
                              netns=srv.pid)
        relayed_ok('hairpin: client to client over channels', rc, out, st,
                   160)
        rc, out, st = uclient(port, ['-y', '-s', '-n', '20'], netns=srv.pid)
        relayed_ok('hairpin: client to client over indications', rc, out,
                   st, 40)
        with in_netns(srv.pid):
            for tcp_b in (False, True):
                pair = relay_pair(port, tcp_b)
                if pair is None:
                    continue
                a, b, ra = pair
                check('advertised relayed address is 203.0.113.5',
                      ra[0] == '203.0.113.5', ra)
                before = udp_in_datagrams(srv.pid)
                got = [relayed(a, b, 0x4000, 0x4001, b'hairpin %d' % i)
                       for i in range(20)]
                check('raw pair, B over %s: 20 ChannelData arrive'
                      % ('TCP' if tcp_b else 'UDP'), all(got), got)
                if not tcp_b:
                    # Server and B read one datagram each per packet; the
                    # kernel path would add a read on B's relay socket.
                    # (A late STUN answer may add one or two.)
                    n = udp_in_datagrams(srv.pid) - before
                    check('handed over inside: 2 UDP reads per packet, '
                          'none on a relay socket', 40 <= n < 50, n)
                a.close()
                b.close()
    srv, port, _ = start(NAT + ['-m', '1', '--no-relay-hairpin'],
                         netns=True)
    with srv:
        with in_netns(srv.pid):
            pair = relay_pair(port)
            if pair is not None:
                a, b, _ = pair
                check('no-relay-hairpin: to 203.0.113.5 through the '
                      'network, nothing arrives',
                      not relayed(a, b, 0x4000, 0x4001, b'lost'))
                a.close()
                b.close()


def worker_of(srv, client_port):
    """The worker that logged the allocation of 127.0.0.1:client_port
    (allocation ids start with the worker's number), or None."""
    pat = re.compile(r'alloc=([0-9a-f]+) client=127\.0\.0\.1:%d .*'
                     r'turn allocate ok' % client_port)
    found = wait_for(lambda: pat.findall(srv.output()), timeout=2)
    return int(found[0], 16) >> 56 if found else None


@test
def relay_to_relay_between_workers():
    """Allocations on two different workers: the datagram cannot be handed
    over inside one worker, so it goes to the other relay's bound address
    and arrives as from the advertised one, still without the NAT."""
    srv, port, _ = start(NAT + ['-m', '2'], netns=True)
    with srv:
        rc, out, st = uclient(port, ['-y', '-n', '20', '-m', '4'],
                              netns=srv.pid)
        relayed_ok('two workers: client to client over channels', rc, out,
                   st, 80)
        with in_netns(srv.pid):
            held, by_worker = [], {}
            for _ in range(32):
                c = TurnClient(('127.0.0.1', port), USER, PASSWORD,
                               timeout=1.0)
                held.append(c)
                m = c.allocate()
                if m is None or m.is_error:
                    break
                w = worker_of(srv, c.sock.getsockname()[1])
                by_worker.setdefault(w, (c, m.addr(A_RELAYED)))
                if len(by_worker.keys() & {0, 1}) == 2:
                    break
            check('allocations on both workers', {0, 1} <= by_worker.keys(),
                  sorted(k for k in by_worker if k is not None))
            if {0, 1} <= by_worker.keys():
                (a, ra), (b, rb) = by_worker[0], by_worker[1]
                if bind_pair(a, b, ra, rb):
                    check('worker 0 -> worker 1: ChannelData arrives',
                          relayed(a, b, 0x4000, 0x4001, b'across'))
                    check('worker 1 -> worker 0: ChannelData arrives',
                          relayed(b, a, 0x4001, 0x4000, b'and back'))
            for c in held:
                c.close()


@test
def ipv6_relays():
    if not ipv6_loopback_ok():
        check('::1 is available for the IPv6 relay test', False)
        return
    port = free_port(hosts=('127.0.0.1', '::1'))
    lo, hi = free_port_range(16, hosts=('127.0.0.1', '::1'))
    srv = Server(['-L', '127.0.0.1', '-L', '::1', '-p', str(port), '-a',
                  '-u', '%s:%s' % (USER, PASSWORD), '-r', REALM,
                  '--min-port', str(lo), '--max-port', str(hi)])
    with srv:
        c = TurnClient(('::1', port), USER, PASSWORD)
        m = c.allocate([(0x0017, b'\x02\0\0\0')])
        ok = m is not None and not m.is_error
        check('REQUESTED-ADDRESS-FAMILY IPv6 gets a relay', ok, m and m.code)
        if ok:
            check('the relay is on ::1', m.addr(A_RELAYED)[0] == '::1',
                  m.addr(A_RELAYED))
        c.close()
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        m = c.allocate([(0x8000, b'\x02\0\0\0')])
        ok = m is not None and not m.is_error
        check('ADDITIONAL-ADDRESS-FAMILY gets two relays', ok, m and m.code)
        if ok:
            fams = sorted(':' in h for h, _ in
                          [parse(v, m.txid) for v in m.all(A_RELAYED)])
            check('one IPv4 and one IPv6 relay', fams == [False, True], fams)
        c.close()
    srv = Server(['-L', '127.0.0.1', '-p', str(port), '-a', '-u',
                  '%s:%s' % (USER, PASSWORD), '-r', REALM])
    with srv:
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        m = c.allocate([(0x0017, b'\x02\0\0\0')])
        check('IPv6 relay on an IPv4-only server: 440',
              m is not None and m.code == 440, m and m.code)
        c.close()


@test
def no_udp_relay_refuses_allocations():
    srv, port, _ = start(['--no-udp-relay'])
    with srv:
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        m = c.allocate()
        c.close()
        check('no-udp-relay: an Allocate for UDP gets 442',
              m is not None and m.code == 442, m and m.code)


@test
def port_exhaustion():
    srv, port, (lo, hi) = start(nports=3)
    with srv:
        clients = [TurnClient(('127.0.0.1', port), USER, PASSWORD)
                   for _ in range(4)]
        got = [clients[i].allocate() for i in range(3)]
        check('three allocations fill a three-port range',
              all(m is not None and not m.is_error for m in got),
              [m and m.code for m in got])
        m = clients[3].allocate()
        check('the fourth gets 508', m is not None and m.code == 508,
              m and m.code)
        m = clients[0].refresh(0)
        check('one is released', m is not None and not m.is_error)
        m = clients[3].allocate()
        check('then the fourth succeeds on the freed port',
              m is not None and not m.is_error and
              lo <= m.addr(A_RELAYED)[1] <= hi, m and m.code)
        for c in clients:
            c.close()


done()
