"""TURN over TCP and TLS (RFC 8656 §3.1) with coturn's turnutils_uclient,
one port for plain and TLS (the first bytes decide), and TURN REST
credentials over every transport."""

import base64
import hashlib
import hmac
import socket
import ssl
import subprocess
import time

from lib import *
from turn_client import (A_TRANSPORT, ALLOCATE, EchoPeer, Msg, TurnClient,
                         build, read_frame, uclient)

USER, PASSWORD, REALM = 'alice', 'wonderland', 'turnpike.test'


def make_cert(d):
    cert, key = d + '/cert.pem', d + '/key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-days', '2', '-subj', '/CN=localhost',
                    '-keyout', key, '-out', cert], check=True,
                   capture_output=True, timeout=60)
    return cert, key


def start(extra=(), tls=True):
    port = free_port()
    tport = free_port()
    lo, hi = free_port_range(32)
    args = ['-L', '127.0.0.1', '-p', str(port), '--tls-listening-port',
            str(tport), '-a', '-u', '%s:%s' % (USER, PASSWORD), '-r', REALM,
            '--min-port', str(lo), '--max-port', str(hi),
            '--allow-loopback-peers', '-v']
    if tls:
        cert, key = make_cert(tmpdir('cert'))
        args += ['--cert', cert, '--pkey', key]
    return Server(args + list(extra)), port, tport


def relayed(name, port, args, user=USER, password=PASSWORD):
    rc, out, st = uclient(port, user, password, args)
    check('%s: exit 0, every message back, zero loss' % name,
          rc == 0 and st.get('sent', 0) >= 20 and
          st.get('sent') == st.get('recv') and st.get('lost') == 0,
          lambda: 'rc=%r stats=%r\n%s' % (rc, st, out[-1500:]))
    return rc == 0


def echo_peer():
    return EchoPeer(free_port('udp'))


def tls_binding(port):
    """A STUN Binding over TLS: the parsed response or None."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req, txid = build_request()
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(req)
            return tcp_read_message(s, timeout=5)


@test
def tcp_and_tls_relaying():
    srv, port, tport = start()
    with srv, echo_peer() as peer:
        to_peer = ['-e', '127.0.0.1', '-r', str(peer.port), '-n', '30']
        relayed('TCP to an echo peer', port, ['-t'] + to_peer)
        relayed('TCP client to client', port, ['-t', '-y', '-n', '30'])
        relayed('TLS to an echo peer', tport, ['-t', '-S'] + to_peer)
        relayed('TLS client to client', tport, ['-t', '-S', '-y', '-n', '30'])
        relayed('TLS with indications, 4 sessions', tport,
                ['-t', '-S', '-s', '-m', '4'] + to_peer)
        relayed('TLS on the plain port', port, ['-t', '-S'] + to_peer)
        relayed('plain TCP on the TLS port', tport, ['-t'] + to_peer)
        check('start-up log says both ports take plain and tls',
              '(plain and tls)' in srv.output())


@test
def stun_over_tls_and_plain_on_one_port():
    srv, port, tport = start()
    with srv:
        for p, name in ((port, 'plain port'), (tport, 'TLS port')):
            m = tls_binding(p)
            check('STUN Binding over TLS on the %s' % name,
                  m is not None and m.type == BINDING_SUCCESS)
            s = tcp_connect('127.0.0.1', p)
            req, _ = build_request()
            s.sendall(req)
            m = tcp_read_message(s, timeout=5)
            s.close()
            check('STUN Binding over plain TCP on the %s' % name,
                  m is not None and m.type == BINDING_SUCCESS)


@test
def bad_tls_harms_no_one():
    srv, port, tport = start()
    with srv:
        s = tcp_connect('127.0.0.1', tport)
        s.sendall(b'\x16\x03\x01\x00\x05hello-not-tls' * 4)
        check('a broken ClientHello gets the connection closed',
              tcp_closed(s, timeout=5))
        s.close()
        m = tls_binding(tport)
        check('a real TLS client is still served',
              m is not None and m.type == BINDING_SUCCESS)


@test
def tls_refused_without_certificate():
    srv, port, tport = start(tls=False)
    with srv:
        check('start-up log says TLS is off', 'tls off' in srv.output())
        try:
            tls_binding(port)
            refused = False
        except (ssl.SSLError, OSError):
            refused = True
        check('a TLS client on a server without cert is closed', refused)
        s = tcp_connect('127.0.0.1', port)
        req, _ = build_request()
        s.sendall(req)
        m = tcp_read_message(s, timeout=5)
        s.close()
        check('plain TCP still works', m is not None)


@test
def challenge_limit_udp_only():
    """300 unauthenticated Allocates at once: over UDP a spoofable source
    gets its burst (200) of 401s and no more; over TCP every one is
    answered."""
    srv, port, _ = start(tls=False)
    with srv:
        reqs = [build(ALLOCATE, [(A_TRANSPORT, b'\x11\0\0\0')])
                for _ in range(300)]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(1.0)
        u.bind(('127.0.0.1', 0))
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for r in reqs:
            u.sendto(r, ('127.0.0.1', port))
        got_udp = 0
        try:
            while True:
                if Msg(u.recv(2048)).code == 401:
                    got_udp += 1
        except socket.timeout:
            pass
        u.close()
        check('UDP: 200 to 230 of 300 challenges answered, the rest '
              'dropped (%d)' % got_udp, 200 <= got_udp <= 230)
        t = socket.create_connection(('127.0.0.1', port), timeout=5)
        t.sendall(b''.join(reqs))
        got_tcp = 0
        try:
            while got_tcp < 300 and Msg(read_frame(t)).code == 401:
                got_tcp += 1
        except (socket.timeout, ConnectionError):
            pass
        t.close()
        check('TCP: all 300 challenges answered (%d)' % got_tcp,
              got_tcp == 300)


def rest_credentials(secret, user='bob', ttl=3600):
    name = '%d:%s' % (int(time.time()) + ttl, user)
    mac = hmac.new(secret.encode(), name.encode(), hashlib.sha1).digest()
    return name, base64.b64encode(mac).decode()


@test
def rest_credentials_everywhere():
    srv, port, tport = start(['--use-auth-secret', '--static-auth-secret',
                              'new-secret', '--static-auth-secret',
                              'old-secret'])
    with srv, echo_peer() as peer:
        to_peer = ['-e', '127.0.0.1', '-r', str(peer.port), '-n', '20']
        name, pw = rest_credentials('new-secret')
        relayed('REST credential over UDP', port, to_peer, user=name,
                password=pw)
        relayed('REST credential over TCP', port, ['-t'] + to_peer,
                user=name, password=pw)
        relayed('REST credential over TLS', tport, ['-t', '-S'] + to_peer,
                user=name, password=pw)
        name, pw = rest_credentials('old-secret')
        relayed('a credential from the older secret still works', port,
                to_peer, user=name, password=pw)
        relayed('a static user works beside REST secrets', port, to_peer)
        name, pw = rest_credentials('new-secret', ttl=-60)
        c = TurnClient(('127.0.0.1', port), name, pw)
        m = c.allocate()
        c.close()
        check('an expired REST credential gets 401',
              m is not None and m.code == 401, m and m.code)
        name, pw = rest_credentials('unknown-secret')
        c = TurnClient(('127.0.0.1', port), name, pw)
        m = c.allocate()
        c.close()
        check('a credential from an unknown secret gets 401',
              m is not None and m.code == 401, m and m.code)


def rss_kib(pid):
    for line in read_text('/proc/%d/status' % pid).splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    return 0


@test
def client_that_does_not_read():
    """A TCP client whose peer floods it but who never reads: the server
    drops what it cannot queue and its memory stays bounded."""
    srv, port, tport = start(tls=False)
    with srv:
        c = TurnClient(('127.0.0.1', port), USER, PASSWORD, tcp=True)
        m = c.allocate()
        ok = m is not None and not m.is_error
        check('TCP allocation', ok, m and m.code)
        if not ok:
            return
        relay = m.addr(0x16)
        blaster = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        blaster.bind(('127.0.0.1', 0))
        m = c.permission('127.0.0.1', blaster.getsockname()[1])
        check('permission for the flooding peer', m and not m.is_error)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = rss_kib(srv.pid)
        payload = b'x' * 1200
        deadline = time.monotonic() + 20
        for i in range(40000):          # ~48 MB offered, bounded in time
            try:
                blaster.sendto(payload, relay)
            except OSError:
                pass
            if i % 1000 == 0 and time.monotonic() > deadline:
                break
        time.sleep(0.5)
        after = rss_kib(srv.pid)
        check('server memory grew by less than 16 MiB while 48 MB were '
              'offered to a client that does not read',
              after - before < 16 * 1024, 'RSS %d -> %d KiB' % (before, after))
        other = TurnClient(('127.0.0.1', port), USER, PASSWORD)
        m = other.allocate()
        check('other clients are still served', m and not m.is_error)
        other.close()
        blaster.close()
        c.close()


done()
