#!/usr/bin/python3
"""The web front (examples/web) served by turnpike, checked from outside and
from a real browser.

One server with TLS (a self-signed certificate made here with openssl),
--allow-loopback-peers (two local browser tabs can relay to each other):

- static files: /, /call, /check (text/html), /turnpike.js and the pages'
  scripts (JavaScript), /style.css (text/css) are served with the right
  Content-Type and the bytes of the files in examples/web; /ice-servers is
  JSON naming stun:, turn: udp/tcp and turns:; /nope is 404; path traversal
  attempts (/%2e%2e/Makefile, /..%2fMakefile, ... sent raw, as written) are
  404 and never the file;
- the ICE self-check in headless Chromium (tests/browser/check_page.js):
  /check?auto=1 gathers a relay over udp, tcp and tls and says
  data-ok="true"; /check with every credential in #servers replaced by a
  wrong one says data-ok="false" and names the 401;
- the call page: two tabs of /call over https (so the signaling is wss://)
  with ?relay=1 connect through the relay (#pair "relay (udp)", or tcp or tls:
  which of the relay pairs ICE picks first varies), decode video,
  pass a DataChannel message each way, and one tab's Leave shows peer-left
  in the other.

Chromium refuses a self-signed certificate (701 on turns:, and an https page),
so check_page.js launches it with --ignore-certificate-errors.

Needs /usr/bin/chromium, node and tests/browser/node_modules (`make check`
installs them through scripts/deps.sh test); without them the browser
checks fail with the reason, they never skip."""

import http.client
import json
import os
import re
import socket
import ssl
import subprocess

from lib import *

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WEB = os.path.join(REPO, 'examples', 'web')
BROWSER_DIR = os.path.join(REPO, 'tests', 'browser')
CHECK_JS = os.path.join(BROWSER_DIR, 'check_page.js')
CHROMIUM = '/usr/bin/chromium'
PAGE_TIMEOUT_MS = 20000
NODE_TIMEOUT = 2 * PAGE_TIMEOUT_MS / 1000 + 35      # above check_page.js's own bound


# --------------------------------------------------------------- helpers


def browser_ready():
    """True, or a failed check per missing prerequisite."""
    pw = os.path.join(BROWSER_DIR, 'node_modules', 'playwright-core',
                      'package.json')
    ok = True
    for what, cond, fix in (
            ('node is installed', node_bin() is not None,
             'install the Debian package nodejs (scripts/deps.sh test)'),
            ('%s is installed' % CHROMIUM, os.access(CHROMIUM, os.X_OK),
             'install the Debian package chromium (scripts/deps.sh test)'),
            ('tests/browser/node_modules has playwright-core',
             os.path.isfile(pw),
             'run `npm ci` in tests/browser (scripts/deps.sh test does)')):
        if not cond:
            check(what, False, fix)
            ok = False
    return ok


def make_cert(d):
    cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec',
                        '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                        '-keyout', key, '-out', cert, '-days', '2',
                        '-subj', '/CN=localhost',
                        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError('openssl req failed: %s' % p.stderr.decode()[-400:])
    return cert, key


def start_server():
    d = tmpdir('cert')
    cert, key = make_cert(d)
    port = free_port()
    tport = free_port()
    while tport == port:
        tport = free_port()
    lo, hi = free_port_range(32)
    srv = Server(['-L', '127.0.0.1', '-p', str(port),
                  '--tls-listening-port', str(tport),
                  '--cert', cert, '--pkey', key,
                  '--min-port', str(lo), '--max-port', str(hi),
                  '--allow-loopback-peers', '-v'], name='web')
    return srv, port, tport


def http_get(port, path, tls=False, timeout=5):
    """(status, headers dict lower-cased, body bytes); path sent as is."""
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection('127.0.0.1', port, timeout=timeout,
                                           context=ctx)
    else:
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path, headers={'Connection': 'close'})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def raw_get(port, target, timeout=5):
    """GET with the request target byte for byte as given (no client-side
    normalisation); returns (status or None, whole response bytes)."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(b'GET ' + target.encode('latin-1') +
                  b' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')
        data = b''
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    m = re.match(rb'HTTP/1\.[01] (\d{3}) ', data)
    return (int(m.group(1)) if m else None), data


def run_page(label, args, timeout=NODE_TIMEOUT):
    """Run check_page.js; its TAP assertions become ours (prefixed with
    label).  Returns the parsed `# result` JSON or None."""
    return run_node_tap(CHECK_JS,
                        list(args) + ['--timeout-ms', str(PAGE_TIMEOUT_MS)],
                        timeout, label,
                        env={'TMPDIR': tmpdir('browser')},  # chromium profile
                        summary='combined').result


# ----------------------------------------------------------------- tests

_srv = None


def server():
    global _srv
    if _srv is None or not _srv[0].alive():
        _srv = start_server()
    return _srv


TYPES = {
    '/': ('text/html', 'index.html'),
    '/call': ('text/html', 'call.html'),
    '/check': ('text/html', 'check.html'),
    '/turnpike.js': ('javascript', 'turnpike.js'),
    '/call.js': ('javascript', 'call.js'),
    '/check.js': ('javascript', 'check.js'),
    '/index.js': ('javascript', 'index.js'),
    '/style.css': ('text/css', 'style.css'),
}

TRAVERSAL = [
    # (request target, file it would reach if the server walked out)
    ('/%2e%2e/Makefile', None),
    ('/..%2fMakefile', None),
    ('/%2e%2e/%2e%2e/Makefile', 'Makefile'),
    ('/..%2f..%2fMakefile', 'Makefile'),
    ('/../../Makefile', 'Makefile'),
    ('/%2e%2e/local.conf', 'examples/local.conf'),
    ('/..%2flocal.conf', 'examples/local.conf'),
    ('/.%2e/local.conf', 'examples/local.conf'),
    ('/%2E%2E/local.conf', 'examples/local.conf'),
    ('/..%5clocal.conf', 'examples/local.conf'),
    ('/%2e%2e%2f%2e%2e%2fMakefile', 'Makefile'),
    ('//etc/passwd', '/etc/passwd'),
    ('/%2fetc%2fpasswd', '/etc/passwd'),
]


@test
def static_files():
    srv, port, tport = server()
    if not check('server with TLS started', srv.started_ok):
        return
    for path, (ctype, fname) in TYPES.items():
        st, hdr, body = http_get(port, path)
        with open(os.path.join(WEB, fname), 'rb') as f:
            want = f.read()
        check('GET %s: 200' % path, st == 200, 'status %s' % st)
        check('GET %s: Content-Type %s (%s)' % (path, ctype,
              hdr.get('content-type')),
              ctype in (hdr.get('content-type') or ''))
        check('GET %s: the bytes of examples/web/%s' % (path, fname),
              body == want, lambda: 'got %d bytes, file has %d' %
              (len(body), len(want)))
    # the same over the TLS port (https pages, for wss:// signaling)
    st, hdr, body = http_get(tport, '/check', tls=True)
    check('GET https /check: 200 text/html', st == 200 and
          'text/html' in hdr.get('content-type', ''), 'status %s %r' %
          (st, hdr.get('content-type')))
    st, hdr, body = http_get(port, '/ice-servers')
    check('GET /ice-servers: 200 application/json', st == 200 and
          'application/json' in hdr.get('content-type', ''),
          'status %s %r' % (st, hdr.get('content-type')))
    try:
        servers = json.loads(body)
    except ValueError:
        servers = None
    urls = [u for s in (servers or []) for u in
            ([s['urls']] if isinstance(s.get('urls'), str) else s.get('urls', []))]
    for want in ('stun:127.0.0.1:%d' % port,
                 'turn:127.0.0.1:%d?transport=udp' % port,
                 'turn:127.0.0.1:%d?transport=tcp' % port,
                 'turns:127.0.0.1:%d?transport=tcp' % tport):
        check('/ice-servers names %s' % want, want in urls, repr(servers))
    check('/ice-servers carries a TURN username and credential',
          any(s.get('username') and s.get('credential')
              for s in servers or []), repr(servers))

    st, _, _ = http_get(port, '/nope')
    check('GET /nope: 404', st == 404, 'status %s' % st)
    for target, reach in TRAVERSAL:
        st, data = raw_get(port, target)
        leaked = False
        if reach:
            p = reach if reach.startswith('/') else os.path.join(REPO, reach)
            try:
                with open(p, 'rb') as f:
                    content = f.read()
                leaked = len(content) > 16 and content[:200] in data
            except OSError:
                pass
        check('GET %s (raw): 404' % target, st == 404,
              lambda: data[:300].decode('latin-1'))
        check('GET %s (raw): no file content in the answer' % target,
              not leaked)
    check('server still answers after the traversal attempts',
          http_get(port, '/')[0] == 200)


@test
def check_page_relay_ok():
    srv, port, tport = server()
    if not srv.started_ok or not browser_ready():
        return
    res = run_page('check ok', ['--url', 'http://127.0.0.1:%d/check?auto=1' % port,
                                '--expect', 'ok', '--relay', 'udp,tcp,tls',
                                '--ignore-cert-errors'])
    if res:
        diag('verdict: %s' % res.get('verdict', '').replace('\n', ' | '))


@test
def check_page_wrong_credential():
    srv, port, tport = server()
    if not srv.started_ok or not browser_ready():
        return
    res = run_page('check 401', ['--url', 'http://127.0.0.1:%d/check' % port,
                                 '--expect', '401', '--wrong-credential',
                                 '--ignore-cert-errors'])
    if res:
        diag('verdict: %s' % res.get('verdict', '').replace('\n', ' | '))


@test
def call_page_relay_over_wss():
    srv, port, tport = server()
    if not srv.started_ok or not browser_ready():
        return
    room = 'web%d' % os.getpid()
    run_page('call', ['--call', 'https://127.0.0.1:%d/call?room=%s&relay=1' %
                      (tport, room), '--expect-pair', r'relay \((udp|tcp|tls)\)',
                      '--ignore-cert-errors'])
    check('server alive after the browser runs', srv.alive())


done()
