"""A tiny raw WebSocket client (RFC 6455) for the edge cases no library
client will produce: frames are built byte by byte (masked or not, any RSV
bits, opcode, FIN and declared length), the opening handshake is written by
hand, and every read is bounded by a timeout.

    ws = RawWs('127.0.0.1', port)            # handshake; ws.status == 101
    ws.send(frame(OP_TEXT, b'{"cmd":"keepalive"}'))
    f = ws.recv_frame(timeout=3)             # Frame or None (timeout/EOF)
    ws.closed(timeout=3)                     # True once the server closed

http_exchange() sends raw bytes and parses one or more HTTP responses.
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import time

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


def accept_for(key):
    """The Sec-WebSocket-Accept a server must answer to key (§4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()
                            ).decode()


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def frame(opcode, payload=b'', fin=True, mask=True, rsv=0, length=None,
          mask_key=None):
    """One frame. length: the declared payload length (default: the real
    one), so a header can promise more than is sent."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack('!BB', b0, mbit | n)
    elif n < 65536:
        head = struct.pack('!BBH', b0, mbit | 126, n)
    else:
        head = struct.pack('!BBQ', b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = mask_key or os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + body


def close_payload(code, reason=b''):
    return struct.pack('!H', code) + reason


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode = fin, rsv, opcode
        self.masked, self.payload = masked, payload

    @property
    def close_code(self):
        if self.opcode != OP_CLOSE or len(self.payload) < 2:
            return None
        return struct.unpack('!H', self.payload[:2])[0]

    @property
    def text(self):
        return self.payload.decode('utf-8', 'replace')

    def __repr__(self):
        return 'Frame(fin=%d op=%d masked=%d len=%d %r)' % (
            self.fin, self.opcode, self.masked, len(self.payload),
            self.payload[:80])


def handshake_request(path='/ws', key=None, version='13', host='127.0.0.1',
                      headers=(), omit=()):
    """The bytes of an upgrade request; omit: header names to leave out."""
    hdrs = [('Host', host), ('Upgrade', 'websocket'),
            ('Connection', 'Upgrade'),
            ('Sec-WebSocket-Key', key if key is not None else new_key()),
            ('Sec-WebSocket-Version', version)]
    hdrs = [(k, v) for k, v in hdrs if k.lower() not in
            [o.lower() for o in omit]] + list(headers)
    return ('GET %s HTTP/1.1\r\n' % path +
            ''.join('%s: %s\r\n' % kv for kv in hdrs) + '\r\n').encode()


class HttpResponse:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason = status, reason
        self.headers = headers          # {lower-case name: value}
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return 'HTTP %s %s %r %r' % (self.status, self.reason, self.headers,
                                     self.body[:200])


class Conn:
    """A TCP (or TLS) connection with a read buffer and bounded reads."""

    def __init__(self, host, port, tls=False, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)
        self.buf = b''
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def sendall(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Read more into buf; False on timeout or EOF."""
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            chunk = b''
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_exact(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_http(self, timeout=5.0, head_only=False):
        """One HTTP response (body by Content-Length), or None."""
        deadline = time.monotonic() + timeout
        while b'\r\n\r\n' not in self.buf:
            if not self._fill(deadline):
                return None
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        parts = lines[0].split(' ', 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            return HttpResponse(None, lines[0], {}, b'')
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            headers[k.strip().lower()] = v.strip()
        n = 0 if head_only or status == 101 else \
            int(headers.get('content-length', '0') or 0)
        body = self.read_exact(n, deadline) if n else b''
        return HttpResponse(status, parts[2] if len(parts) > 2 else '',
                            headers, body if body is not None else b'')

    def closed(self, timeout=3.0):
        """True if the peer closes within timeout (data is discarded)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if not self._fill(deadline):
                if self.eof:
                    break
                return False
            self.buf = b''
        return True


def http_exchange(host, port, data, count=1, timeout=5.0, tls=False):
    """Send raw request bytes; the list of the first `count` responses
    (None where nothing came)."""
    c = Conn(host, port, tls=tls, timeout=timeout)
    try:
        c.sendall(data)
        return [c.read_http(timeout) for _ in range(count)]
    finally:
        c.close()


class RawWs(Conn):
    """A WebSocket connection after a hand-written handshake: .response is
    the HTTP answer (status 101 when upgraded). `then`: bytes (frames) sent
    in the same write as the request, before the answer."""

    def __init__(self, host, port, path='/ws', key=None, version='13',
                 headers=(), omit=(), tls=False, timeout=5.0, then=b''):
        Conn.__init__(self, host, port, tls=tls, timeout=timeout)
        self.key = key or new_key()
        self.sendall(handshake_request(path, self.key, version,
                                       '%s:%d' % (host, port), headers, omit)
                     + then)
        self.response = self.read_http(timeout)
        self.status = self.response.status if self.response else None

    def send(self, data):
        self.sendall(data)

    def send_text(self, text):
        self.sendall(frame(OP_TEXT, text))

    def recv_frame(self, timeout=3.0):
        """The next frame, or None on timeout or EOF."""
        deadline = time.monotonic() + timeout
        h = self.read_exact(2, deadline)
        if h is None:
            return None
        fin, rsv, op = h[0] >> 7, (h[0] >> 4) & 7, h[0] & 0xF
        masked, n = h[1] >> 7, h[1] & 0x7F
        if n == 126:
            ext = self.read_exact(2, deadline)
            if ext is None:
                return None
            n = struct.unpack('!H', ext)[0]
        elif n == 127:
            ext = self.read_exact(8, deadline)
            if ext is None:
                return None
            n = struct.unpack('!Q', ext)[0]
        key = self.read_exact(4, deadline) if masked else b''
        if key is None:
            return None
        payload = self.read_exact(n, deadline) if n else b''
        if payload is None:
            return None
        if masked:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return Frame(fin, rsv, op, masked, payload)

    def recv_data(self, timeout=3.0):
        """The next text/binary/close frame, skipping pings and pongs."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(deadline - time.monotonic(), 0.01))
            if f is None or f.opcode not in (OP_PING, OP_PONG):
                return f

    def close_code(self, timeout=3.0):
        """The code of the server's close frame (skipping other frames), or
        None if the connection ends or times out without one."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(deadline - time.monotonic(), 0.01))
            if f is None:
                return None
            if f.opcode == OP_CLOSE:
                return f.close_code
