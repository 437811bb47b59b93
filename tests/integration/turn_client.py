"""A small raw TURN client (RFC 8656 over UDP) for assertions that coturn's
turnutils_uclient cannot make: exact error codes (403, 437, 442, 508...),
relayed addresses, lifetimes.  Long-term credentials as RFC 8489 §9.2:
the first request draws a 401 with REALM and NONCE, the retry carries
USERNAME, REALM, NONCE and MESSAGE-INTEGRITY keyed by MD5(user:realm:pass).
"""

import hashlib
import re
import subprocess
import hmac
import os
import socket
import struct
import zlib

COOKIE = 0x2112A442
ALLOCATE, REFRESH, SEND, DATA, CREATE_PERMISSION, CHANNEL_BIND = \
    0x003, 0x004, 0x006, 0x007, 0x008, 0x009
A_USERNAME, A_MI, A_ERROR, A_CHANNEL, A_LIFETIME = 0x06, 0x08, 0x09, 0x0C, 0x0D
A_PEER, A_DATA, A_REALM, A_NONCE, A_RELAYED = 0x12, 0x13, 0x14, 0x15, 0x16
A_TRANSPORT, A_XOR_MAPPED, A_FINGERPRINT = 0x19, 0x20, 0x8028


def _pad(b):
    return b + b'\0' * (-len(b) % 4)


def xor_addr(host, port, txid):
    """XOR-*-ADDRESS value for (host, port)."""
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    raw = socket.inet_pton(fam, host)
    key = struct.pack('!I', COOKIE) + txid
    x = bytes(a ^ b for a, b in zip(raw, key))
    return struct.pack('!BBH', 0, 1 if fam == socket.AF_INET else 2,
                       port ^ (COOKIE >> 16)) + x


def parse_xor_addr(v, txid):
    fam, port = v[1], struct.unpack('!H', v[2:4])[0] ^ (COOKIE >> 16)
    key = struct.pack('!I', COOKIE) + txid
    raw = bytes(a ^ b for a, b in zip(v[4:], key))
    return socket.inet_ntop(socket.AF_INET if fam == 1 else socket.AF_INET6,
                            raw), port


class Msg:
    def __init__(self, raw):
        self.raw = raw
        self.type, length = struct.unpack('!HH', raw[:4])
        self.txid = raw[8:20]
        self.attrs = {}
        self.list = []
        off = 20
        while off + 4 <= 20 + length:
            t, n = struct.unpack('!HH', raw[off:off + 4])
            self.attrs.setdefault(t, raw[off + 4:off + 4 + n])
            self.list.append((t, raw[off + 4:off + 4 + n]))
            off += 4 + n + (-n % 4)

    def all(self, t):
        return [v for at, v in self.list if at == t]

    @property
    def is_error(self):
        return self.type & 0x0110 == 0x0110

    @property
    def code(self):
        v = self.attrs.get(A_ERROR)
        return None if v is None else v[2] * 100 + v[3]

    def addr(self, t):
        v = self.attrs.get(t)
        return None if v is None else parse_xor_addr(v, self.txid)


def build(method, attrs, key=None, cls=0, txid=None):
    """A message; with key, MESSAGE-INTEGRITY and FINGERPRINT are added."""
    txid = txid or os.urandom(12)
    mtype = (method & 0x0F) | ((method & 0x70) << 1) | \
        ((method & 0xF80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)
    body = b''.join(struct.pack('!HH', t, len(v)) + _pad(v) for t, v in attrs)
    if key is not None:
        head = struct.pack('!HHI', mtype, len(body) + 24, COOKIE) + txid
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        body += struct.pack('!HH', A_MI, 20) + mac
    head = struct.pack('!HHI', mtype, len(body) + 8, COOKIE) + txid
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    body += struct.pack('!HHI', A_FINGERPRINT, 4, crc)
    return struct.pack('!HHI', mtype, len(body), COOKIE) + txid + body


def read_frame(sock):
    """One STUN message or ChannelData frame (padded) from a stream."""
    def exactly(n):
        b = b''
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            if not chunk:
                raise ConnectionError('closed')
            b += chunk
        return b
    head = exactly(4)
    n = struct.unpack('!H', head[2:4])[0]
    if head[0] >= 0x40:
        return head + exactly(n + (-n % 4))
    return head + exactly(16 + n)


class TurnClient:
    def __init__(self, server, user, password, timeout=2.0, tcp=False):
        self.server = server
        self.tcp = tcp
        fam = socket.AF_INET6 if ':' in server[0] else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM if tcp else
                                  socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        if tcp:
            self.sock.connect(server)
        else:
            self.sock.bind((server[0], 0))
        self.user, self.password = user, password
        self.realm = self.nonce = self.key = None

    def close(self):
        self.sock.close()

    def _exchange(self, data, txid):
        if self.tcp:
            self.sock.sendall(data)
            while True:
                raw = read_frame(self.sock)
                if raw[8:20] == txid:
                    return Msg(raw)
        for _ in range(3):
            self.sock.sendto(data, self.server)
            try:
                while True:
                    raw, _ = self.sock.recvfrom(65536)
                    if raw[8:20] == txid:
                        return Msg(raw)
            except socket.timeout:
                continue
        return None

    def request(self, method, attrs):
        """Send a request, answering 401/438 challenges: the final Msg."""
        for _ in range(3):
            txid = os.urandom(12)
            # A value may depend on the transaction id (XOR-PEER-ADDRESS).
            a = [(t, v(txid) if callable(v) else v) for t, v in attrs]
            if self.nonce is not None:
                a += [(A_USERNAME, self.user.encode()),
                      (A_REALM, self.realm), (A_NONCE, self.nonce)]
            m = self._exchange(build(method, a, self.key, txid=txid), txid)
            if m is None or not m.is_error or m.code not in (401, 438) or \
                    A_NONCE not in m.attrs:
                return m
            if m.code == 401 and self.nonce is not None and \
                    m.attrs[A_NONCE] == self.nonce:
                return m            # our credentials were refused
            self.realm, self.nonce = m.attrs[A_REALM], m.attrs[A_NONCE]
            self.key = hashlib.md5(b'%s:%s:%s' % (
                self.user.encode(), self.realm, self.password.encode())
            ).digest()
        return m

    def allocate(self, extra=()):
        return self.request(ALLOCATE, [(A_TRANSPORT, b'\x11\0\0\0')] +
                            list(extra))

    def refresh(self, lifetime):
        return self.request(REFRESH, [(A_LIFETIME,
                                       struct.pack('!I', lifetime))])

    def permission(self, host, port=0):
        return self.request(CREATE_PERMISSION, [
            (A_PEER, lambda txid: xor_addr(host, port, txid))])

    def channel_bind(self, chan, host, port):
        return self.request(CHANNEL_BIND, [
            (A_CHANNEL, struct.pack('!HH', chan, 0)),
            (A_PEER, lambda txid: xor_addr(host, port, txid))])


def uclient(port, user, password, args, timeout=60, netns=None):
    """coturn's turnutils_uclient against 127.0.0.1:port: (rc, output,
    stats) with stats 'sent', 'recv' and 'lost' when it printed them; rc
    is None when it did not finish in time.  netns: run it in the network
    namespace of that PID."""
    cmd = ['turnutils_uclient', '-p', str(port), '-u', user, '-w',
           password] + list(args) + ['127.0.0.1']
    if netns is not None:
        cmd = ['nsenter', '--net=/proc/%d/ns/net' % netns, '--'] + cmd
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, start_new_session=True)
        rc, out = p.returncode, (p.stdout + p.stderr).decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as e:
        rc, out = None, ((e.stdout or b'') + (e.stderr or b'')).decode(
            'utf-8', 'replace')
    stats = {}
    m = re.findall(r'tot_send_msgs=(\d+), tot_recv_msgs=(\d+)', out)
    if m:
        stats['sent'], stats['recv'] = int(m[-1][0]), int(m[-1][1])
    m = re.search(r'Total lost packets (\d+)', out)
    if m:
        stats['lost'] = int(m.group(1))
    return rc, out, stats


class EchoPeer:
    """turnutils_peer: a UDP echo peer on 127.0.0.1:port, stopped by PID."""

    def __init__(self, port):
        self.port = port
        self.proc = subprocess.Popen(
            ['turnutils_peer', '-L', '127.0.0.1', '-p', str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait(5)
