"""The TLS options (cert, pkey, pkey-pwd, cipher-list, CA-file,
ec-curve-name, dh-file, no-tlsv1_2, no-tls) with Python's ssl module as the
client: each TLS client does a real STUN Binding over the connection, and a
refusal is asserted to come from the server (its alert or its close), not
from a client that could not offer what it was asked to.

Also: missing files stop start-up, and a server stopped while TLS clients
with queued answers are connected exits cleanly.

Keys and certificates are made with the openssl CLI in a temp directory."""

import os
import socket
import ssl
import subprocess
import time
import warnings

from lib import *

# Setting minimum_version to TLS 1.0/1.1 is deprecated in Python's ssl.
warnings.filterwarnings('ignore', category=DeprecationWarning)

V = ssl.TLSVersion
OLD_CIPHERS = 'DEFAULT:@SECLEVEL=0'     # lets OpenSSL 3 offer TLS 1.0/1.1
AES128 = 'ECDHE-RSA-AES128-GCM-SHA256'
CHACHA = 'ECDHE-RSA-CHACHA20-POLY1305'
DHE = 'DHE-RSA-AES128-GCM-SHA256'

# ------------------------------------------------------------- key material


def openssl(*args):
    p = subprocess.run(['openssl'] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError('openssl %s: %s' % (' '.join(args),
                           p.stderr.decode('utf-8', 'replace')[-500:]))


_certs = {}


def server_cert():
    """(cert, key) of a self-signed RSA server certificate, made once."""
    if 'server' not in _certs:
        d = tmpdir('cert')
        cert, key = d + '/cert.pem', d + '/key.pem'
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                '-subj', '/CN=localhost', '-keyout', key, '-out', cert)
        _certs['server'] = (cert, key)
    return _certs['server']


def make_ca(d, name):
    """A CA (cert, key) and a client (cert, key) it signed."""
    ca, cakey = '%s/%s-ca.pem' % (d, name), '%s/%s-ca.key' % (d, name)
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
            '-subj', '/CN=%s test CA' % name, '-keyout', cakey, '-out', ca)
    csr = '%s/%s-client.csr' % (d, name)
    cert, key = '%s/%s-client.pem' % (d, name), '%s/%s-client.key' % (d, name)
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj',
            '/CN=%s client' % name, '-keyout', key, '-out', csr)
    openssl('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', cakey,
            '-CAcreateserial', '-days', '2', '-out', cert)
    return ca, cakey, cert, key

# ---------------------------------------------------------------- clients


def client_ctx(minv=None, maxv=None, ciphers=None, curve=None, cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minv is not None:
        ctx.minimum_version = minv
    if maxv is not None:
        ctx.maximum_version = maxv
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if curve is not None:
        ctx.set_ecdh_curve(curve)
    if cert is not None:
        ctx.load_cert_chain(*cert)
    return ctx


def only(version, **kw):
    return client_ctx(minv=version, maxv=version, **kw)


class Attempt:
    """One TLS connection: handshake, then a STUN Binding over it."""

    def __init__(self, port, ctx, binding=True):
        self.version = self.cipher = self.msg = None
        self.err = None
        self.handshake = False
        self.secs = None
        t0 = time.monotonic()
        try:
            with socket.create_connection(('127.0.0.1', port),
                                          timeout=5) as raw:
                with ctx.wrap_socket(raw) as s:
                    self.handshake = True
                    self.version = s.version()
                    self.cipher = s.cipher()[0]
                    if binding:
                        req, self.txid = build_request()
                        s.sendall(req)
                        self.msg = tcp_read_message(s, timeout=5)
        except (ssl.SSLError, OSError) as e:
            self.err = '%s: %s' % (type(e).__name__, e)
        self.secs = time.monotonic() - t0

    @property
    def ok(self):
        return (self.msg is not None and self.msg.type == BINDING_SUCCESS and
                self.msg.txid == self.txid)

    def alert(self, name):
        """The server refused with this TLS alert (as the client saw it)."""
        return self.err is not None and name in self.err.upper()

    def __repr__(self):
        return ('handshake=%s version=%s cipher=%s binding=%r err=%s '
                'after %.2fs' % (self.handshake, self.version, self.cipher,
                                 self.msg, self.err, self.secs))


class SServer:
    """openssl s_server as a control: can the client offer what we ask?"""

    def __init__(self, extra):
        cert, key = server_cert()
        self.port = free_port('tcp')
        d = tmpdir('s_server')
        self.out = open(os.path.join(d, 'out'), 'wb')
        self.proc = subprocess.Popen(
            ['openssl', 's_server', '-quiet', '-accept',
             '127.0.0.1:%d' % self.port, '-cert', cert, '-key', key] +
            list(extra), stdin=subprocess.DEVNULL, stdout=self.out,
            stderr=subprocess.STDOUT, start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                return 'gone'
            try:
                socket.create_connection(('127.0.0.1', self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return None
        self.ready = wait_for(up, 10) is True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self.out.close()

# ----------------------------------------------------------------- servers


def start(extra=(), cert=True):
    port = free_port()
    tport = free_port('tcp')
    args = ['-L', '127.0.0.1', '-p', str(port), '--tls-listening-port',
            str(tport), '-v']
    if cert:
        c, k = server_cert()
        args += ['--cert', c, '--pkey', k]
    return Server(args + list(extra)), port, tport


def start_fails(name, extra, words):
    """Start-up with extra options must exit non-zero naming every word."""
    port, tport = free_port(), free_port('tcp')
    r = run_turnpike(['-n', '-L', '127.0.0.1', '-p', str(port),
                      '--tls-listening-port', str(tport)] + list(extra))
    out = r.stdout + r.stderr
    check('%s: start-up fails (non-zero exit, no hang)' % name,
          not r.timed_out and r.rc not in (0, None), repr(r))
    check('%s: the message names %s' % (name, ', '.join(words)),
          all(w in out for w in words), out[-1500:])

# ------------------------------------------------------------------- tests


def offer_old(version):
    """A client limited to TLS 1.0 or 1.1 (SECLEVEL=0 ciphers)."""
    return client_ctx(minv=V.TLSv1, maxv=version, ciphers=OLD_CIPHERS)


@test
def default_protocol_versions():
    srv, port, tport = start()
    with srv:
        check('start-up log: tls on, min-version=1.2',
              'min-version=1.2' in srv.output(), srv.output()[-1500:])
        a = Attempt(tport, only(V.TLSv1_2))
        check('a TLS 1.2 client completes a STUN Binding',
              a.ok and a.version == 'TLSv1.2', repr(a))
        a = Attempt(tport, only(V.TLSv1_3))
        check('a TLS 1.3 client completes a STUN Binding',
              a.ok and a.version == 'TLSv1.3', repr(a))
        a = Attempt(port, client_ctx())
        check('TLS on the plain port negotiates TLS 1.3 by default',
              a.ok and a.version == 'TLSv1.3', repr(a))
        # (version, name, s_server flag, what ssl.SSLSocket.version() says)
        for version, name, flag, pyname in (
                (V.TLSv1_1, 'TLS 1.1', '-tls1_1', 'TLSv1.1'),
                (V.TLSv1, 'TLS 1.0', '-tls1', 'TLSv1')):
            with SServer([flag, '-cipher', OLD_CIPHERS]) as ctl:
                c = Attempt(ctl.port, offer_old(version), binding=False) \
                    if ctl.ready else None
            can_offer = c is not None and c.handshake and c.version == pyname
            if can_offer:
                diag('control: this Python client negotiates %s with '
                     'openssl s_server %s' % (name, flag))
                a = Attempt(tport, offer_old(version))
                check('a client limited to %s is refused with a '
                      'protocol_version alert' % name,
                      not a.handshake and a.alert('PROTOCOL_VERSION'),
                      repr(a))
            else:
                diag('control: this Python client cannot offer %s (%r); '
                     'only checking that it does not get through' % (name, c))
                a = Attempt(tport, offer_old(version))
                check('a client limited to %s is refused' % name,
                      not a.handshake and not a.ok, repr(a))
        a = Attempt(tport, only(V.TLSv1_3))
        check('after the refusals a TLS 1.3 client is still served', a.ok,
              repr(a))


@test
def no_tlsv1_2():
    srv, port, tport = start(['--no-tlsv1_2'])
    with srv:
        check('start-up log: min-version=1.3',
              'min-version=1.3' in srv.output(), srv.output()[-1500:])
        for p, where in ((tport, 'TLS port'), (port, 'plain port')):
            a = Attempt(p, only(V.TLSv1_2))
            check('--no-tlsv1_2: a TLS 1.2-only client is refused on the %s '
                  '(protocol_version alert)' % where,
                  not a.handshake and a.alert('PROTOCOL_VERSION'), repr(a))
            a = Attempt(p, only(V.TLSv1_3))
            check('--no-tlsv1_2: a TLS 1.3 client completes a STUN Binding '
                  'on the %s' % where, a.ok and a.version == 'TLSv1.3',
                  repr(a))


@test
def pkey_pwd():
    d = tmpdir('enc')
    key, cert = d + '/enc.key', d + '/enc.pem'
    password = 'Corr3ct-h0rse'
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt',
            'rsa_keygen_bits:2048', '-aes256', '-pass', 'pass:' + password,
            '-out', key)
    openssl('req', '-x509', '-key', key, '-passin', 'pass:' + password,
            '-days', '2', '-subj', '/CN=localhost', '-out', cert)
    check('the key file is encrypted',
          'BEGIN ENCRYPTED PRIVATE KEY' in read_text(key))
    srv, port, tport = start(['--cert', cert, '--pkey', key, '--pkey-pwd',
                              password], cert=False)
    with srv:
        check('--pkey-pwd with the right password: server starts',
              srv.started_ok and srv.alive(), srv.output()[-1500:])
        a = Attempt(tport, client_ctx())
        check('--pkey-pwd: a TLS client completes a STUN Binding', a.ok,
              repr(a))
        check('the password does not appear in the log',
              password not in srv.output())
    start_fails('--pkey-pwd with a wrong password',
                ['--cert', cert, '--pkey', key, '--pkey-pwd', 'wrong-one'],
                ['pkey', key])


@test
def cipher_list():
    ctl, _, tport = start()
    with ctl:
        a = Attempt(tport, only(V.TLSv1_2, ciphers=CHACHA))
        check('control: a TLS 1.2 client offering only %s works without '
              'cipher-list' % CHACHA, a.ok and a.cipher == CHACHA, repr(a))
    srv, port, tport = start(['--cipher-list', AES128])
    with srv:
        a = Attempt(tport, only(V.TLSv1_2, ciphers=AES128))
        check('--cipher-list %s: a TLS 1.2 client offering only it completes '
              'a STUN Binding' % AES128, a.ok and a.cipher == AES128, repr(a))
        a = Attempt(tport, only(V.TLSv1_2, ciphers=CHACHA))
        check('--cipher-list %s: a TLS 1.2 client offering only %s is '
              'refused (handshake_failure alert)' % (AES128, CHACHA),
              not a.handshake and a.alert('HANDSHAKE_FAILURE'), repr(a))
        a = Attempt(tport, only(V.TLSv1_2, ciphers=AES128 + ':' + CHACHA))
        check('a TLS 1.2 client offering both gets %s' % AES128,
              a.ok and a.cipher == AES128, repr(a))
        a = Attempt(tport, only(V.TLSv1_3))
        check('cipher-list leaves TLS 1.3 alone: a TLS 1.3 client works',
              a.ok and a.version == 'TLSv1.3', repr(a))
    start_fails('a nonsense cipher-list', ['--cipher-list', 'NO-SUCH-CIPHER',
                                           '--cert', server_cert()[0],
                                           '--pkey', server_cert()[1]],
                ['cipher-list', 'NO-SUCH-CIPHER'])


@test
def ec_curve_name():
    ctl, _, tport = start()
    with ctl:
        a = Attempt(tport, only(V.TLSv1_3, curve='secp384r1'))
        check('control: a TLS 1.3 client limited to secp384r1 works without '
              'ec-curve-name', a.ok, repr(a))
    srv, port, tport = start(['--ec-curve-name', 'prime256v1'])
    with srv:
        a = Attempt(tport, only(V.TLSv1_3))
        check('--ec-curve-name prime256v1: a TLS 1.3 client works', a.ok,
              repr(a))
        a = Attempt(tport, only(V.TLSv1_2, ciphers='ECDHE'))
        check('--ec-curve-name prime256v1: a TLS 1.2 ECDHE client works',
              a.ok and a.cipher.startswith('ECDHE'), repr(a))
        a = Attempt(tport, only(V.TLSv1_3, curve='prime256v1'))
        check('--ec-curve-name prime256v1: a TLS 1.3 client limited to '
              'prime256v1 works', a.ok, repr(a))
        a = Attempt(tport, only(V.TLSv1_3, curve='secp384r1'))
        check('--ec-curve-name prime256v1: a TLS 1.3 client limited to '
              'secp384r1 is refused (handshake_failure alert)',
              not a.handshake and a.alert('HANDSHAKE_FAILURE'), repr(a))
    start_fails('a bogus ec-curve-name', ['--ec-curve-name', 'bogus-curve',
                                          '--cert', server_cert()[0],
                                          '--pkey', server_cert()[1]],
                ['ec-curve-name', 'bogus-curve'])


@test
def dh_file():
    d = tmpdir('dh')
    dh = d + '/dh.pem'
    openssl('genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt',
            'group:ffdhe2048', '-out', dh)
    ctl, _, tport = start()
    with ctl:
        a = Attempt(tport, only(V.TLSv1_2, ciphers=DHE))
        check('without dh-file a TLS 1.2 client offering only %s is refused'
              % DHE, not a.handshake and not a.ok, repr(a))
    srv, port, tport = start(['--dh-file', dh])
    with srv:
        a = Attempt(tport, only(V.TLSv1_2, ciphers=DHE))
        check('--dh-file: a TLS 1.2 client offering only %s completes a '
              'STUN Binding' % DHE, a.ok and a.cipher == DHE, repr(a))
    bad = d + '/not-dh.pem'
    with open(bad, 'w') as f:
        f.write('not DH parameters\n')
    start_fails('a dh-file without DH parameters',
                ['--dh-file', bad, '--cert', server_cert()[0],
                 '--pkey', server_cert()[1]], ['dh-file', bad])


@test
def ca_file_client_certificates():
    d = tmpdir('ca')
    ca, _, ccert, ckey = make_ca(d, 'good')
    _, _, ocert, okey = make_ca(d, 'other')
    srv, port, tport = start(['--CA-file', ca])
    with srv:
        for v, name in ((V.TLSv1_3, 'TLS 1.3'), (V.TLSv1_2, 'TLS 1.2')):
            a = Attempt(tport, only(v, cert=(ccert, ckey)))
            check('--CA-file: %s client with a certificate the CA signed '
                  'completes a STUN Binding' % name, a.ok, repr(a))
            a = Attempt(tport, only(v))
            check('--CA-file: %s client without a certificate is refused '
                  '(no Binding answer)' % name, not a.ok, repr(a))
            if v == V.TLSv1_2:
                check('--CA-file: TLS 1.2 without a certificate fails in '
                      'the handshake', not a.handshake, repr(a))
            a = Attempt(tport, only(v, cert=(ocert, okey)))
            check('--CA-file: %s client with a certificate from another CA '
                  'is refused' % name, not a.ok, repr(a))
        a = Attempt(port, only(V.TLSv1_3))
        check('--CA-file applies on the plain port too: no certificate, '
              'refused', not a.ok, repr(a))
        a = Attempt(port, only(V.TLSv1_3, cert=(ccert, ckey)))
        check('--CA-file on the plain port: with the certificate, works',
              a.ok, repr(a))


@test
def no_tls():
    srv, port, tport = start(['--no-tls'])
    with srv:
        out = srv.output()
        check('--no-tls: no "tls on" in the start-up log',
              'tls on' not in out, out[-1500:])
        try:
            socket.create_connection(('127.0.0.1', tport), timeout=3).close()
            opened = True
        except ConnectionRefusedError:
            opened = False
        check('--no-tls: the TLS port is not opened', not opened)
        a = Attempt(port, client_ctx())
        check('--no-tls: a TLS ClientHello on the plain port gets the '
              'connection closed (not left hanging)',
              not a.handshake and a.secs < 4 and
              'timed out' not in (a.err or ''), repr(a))
        s = tcp_connect('127.0.0.1', port)
        req, txid = build_request()
        s.sendall(req)
        m = tcp_read_message(s, timeout=5)
        s.close()
        check('--no-tls: plain TCP still answers a STUN Binding',
              m is not None and m.type == BINDING_SUCCESS and m.txid == txid,
              repr(m))


@test
def shutdown_with_tls_connections_open():
    """SIGTERM while TLS clients that pipelined many requests (and read only
    the first answer) are still connected: a clean exit, status 0 and
    nothing leaked.

    (Found by this file: the asan build reported the connections' SSL and
    bufferevent_openssl objects as leaked and exited 1, for TLS 1.2 and 1.3
    clients alike; plain TCP clients doing the same were clean.)"""
    srv, port, tport = start()
    socks = []
    try:
        with srv:
            for v in (V.TLSv1_2, V.TLSv1_3, V.TLSv1_2, V.TLSv1_3):
                s = only(v).wrap_socket(socket.create_connection(
                    ('127.0.0.1', tport), timeout=5))
                socks.append(s)
                s.sendall(b''.join(build_request()[0] for _ in range(3000)))
            got = [tcp_read_message(s, timeout=5) for s in socks]
            check('four TLS clients (1.2 and 1.3) that pipelined 3000 '
                  'Bindings each get answers', all(got), repr(got))
            srv.check_exit = False      # checked here, by name
            rc = srv.stop()
            san = sanitizer_report(srv.stderr() + ''.join(
                read_text(os.path.join(srv.dir, f))
                for f in os.listdir(srv.dir) if f.startswith('asan')))
            check('SIGTERM with those connections open: exit status 0 and '
                  'no sanitizer report', rc == 0 and not san,
                  'exit status %r; sanitizer: %s' % (
                      rc, ' '.join(san.split('\n')[:3]) if san else 'none'))
    finally:
        for s in socks:
            s.close()


@test
def missing_files():
    d = tmpdir('missing')
    cert, key = server_cert()
    start_fails('a missing cert file',
                ['--cert', d + '/no-such-cert.pem', '--pkey', key],
                ['cert', d + '/no-such-cert.pem'])
    start_fails('a missing pkey file',
                ['--cert', cert, '--pkey', d + '/no-such-key.pem'],
                ['pkey', d + '/no-such-key.pem'])


done()
