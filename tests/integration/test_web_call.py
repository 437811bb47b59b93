#!/usr/bin/python3
"""Real two-party WebRTC calls through turnpike: headless Debian Chromium
(playwright-core, tests/browser/call_test.js), one browser with two contexts
per scenario, every call forced through the TURN relay (iceTransportPolicy
relay) on loopback.

1. A third-party tutorial page (tests/browser/tutorial/, served by a small
   Python static server on its own loopback port, so turnpike knows nothing
   about it): plain `new WebSocket(ws://.../ws)`, only the core room protocol,
   a hard-coded turn: URL with a static user (-a -u u:p -r R) passed in the
   page URL.  The call connects, each side decodes the other's video, the
   selected pair is relay/relay, the relayed addresses are ones the server
   allocated for user u; A clicks Leave and B shows "peer left".
2. turnpike's own call page (/call, examples/web/call.html) with the iceServers
   and minted TURN REST credentials that `joined` hands out: the same
   assertions plus #pair saying relay and B's #state after A's Leave; then the
   same call over the single TLS port: page from https://127.0.0.1:T/call,
   signaling wss on T, TURN only turns:127.0.0.1:T (--signal-ice-url), the
   selected local candidate's relayProtocol tls and the server closing the
   browsers' TURN connections as tls.
   The plain call forces relay with ?relay=1, the TLS one with the page's
   #relay checkbox.
3. A data channel through the relay (the tutorial page's "chat" channel, and
   the call page's window.turnpikeCall.dataChannel during a video call): 1000
   numbered messages each way, all arrive, in order, nothing lost, within
   10 s (about 0.5 s here).

Needs /usr/bin/chromium, node and tests/browser/node_modules; without them
the test fails with the reason, it never skips."""

import functools
import http.server
import os
import re
import subprocess
import threading
import urllib.parse

from lib import *

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(TESTS_DIR)
BROWSER_DIR = os.path.join(TESTS_DIR, 'browser')
CALL_JS = os.path.join(BROWSER_DIR, 'call_test.js')
TUTORIAL_DIR = os.path.join(BROWSER_DIR, 'tutorial')
WEB_ROOT = os.path.join(REPO_DIR, 'examples', 'web')
CALL_HTML = os.path.join(WEB_ROOT, 'call.html')
CHROMIUM = '/usr/bin/chromium'
USER, PASSWORD, REALM = 'u', 'p', 'turnpike.test'
STEP_TIMEOUT_MS = 15000
# call_test.js bounds itself (4 steps + 20 s); this is the last resort.
NODE_TIMEOUT = 4 * STEP_TIMEOUT_MS / 1000 + 30

# turn_allocate.c: `alloc=ID client=IP:PORT transport=udp|tcp user=NAME turn
# allocate ok relay=IP:PORT ...`
ALLOC_RE = re.compile(r'client=(\S+) transport=(\S+) user=(\S*) '
                      r'turn allocate ok relay=(\S+):(\d+)')
# conn.c: `conn=ID peer=IP:PORT tls close reason=...` (or tcp).
CLOSE_RE = re.compile(r'peer=127\.0\.0\.1:(\d+) (tcp|tls) close\b')
REST_USER_RE = re.compile(r'^\d{9,}:\S+$')


def prerequisites():
    pw = os.path.join(BROWSER_DIR, 'node_modules', 'playwright-core',
                      'package.json')
    return [
        ('node is installed', node_bin() is not None,
         'install the Debian package nodejs (scripts/deps.sh test)'),
        ('%s is installed' % CHROMIUM, os.access(CHROMIUM, os.X_OK),
         'install the Debian package chromium (scripts/deps.sh test)'),
        ('tests/browser/node_modules has playwright-core', os.path.isfile(pw),
         'run `npm ci` in tests/browser (scripts/deps.sh test does)'),
        ('tests/browser/call_test.js exists', os.path.isfile(CALL_JS), CALL_JS),
        ('tests/browser/tutorial/index.html exists',
         os.path.isfile(os.path.join(TUTORIAL_DIR, 'index.html')),
         TUTORIAL_DIR),
    ]


def run_driver(label, args):
    """Run call_test.js, forward its TAP assertions as ours (prefixed with
    label); return its `# result` dict (or None)."""
    # Chromium's profile and playwright's scratch files land in this test's
    # temp root.
    return run_node_tap(CALL_JS,
                        ['--timeout-ms', str(STEP_TIMEOUT_MS)] + list(args),
                        NODE_TIMEOUT, label,
                        env={'TMPDIR': tmpdir('browser')}).result


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass


class StaticSite:
    """The third-party site: tests/browser/tutorial on a loopback port of its
    own, served by Python's http.server in a thread of this process."""

    def __init__(self, directory):
        handler = functools.partial(_QuietHandler, directory=directory)
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={'poll_interval': 0.1},
                                       daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
        return False


def allocations(srv):
    """[(client, transport, user, relay_ip, relay_port)] the server logged."""
    return [(c, t, u, ip, int(p))
            for c, t, u, ip, p in ALLOC_RE.findall(srv.output())]


def check_relays_allocated(label, srv, result, user_ok, user_desc,
                           own_uid=False):
    """The relay addresses both browsers selected (local and remote ends) are
    allocations the server logged, made with credentials user_ok accepts;
    with own_uid, each side's own relay was allocated with the TURN REST
    username minted for its uid (window.turnpikeCall.uid)."""
    sel = []
    own = []                # (side, uid, (ip, port) of its local relay)
    for side in ('A', 'B'):
        summ = (result or {}).get(side) or {}
        s = summ.get('selected') or {}
        for end in ('local', 'remote'):
            c = s.get(end) or {}
            sel.append((c.get('address'), c.get('port')))
        c = s.get('local') or {}
        own.append((side, summ.get('callUid'), (c.get('address'), c.get('port'))))
    want = set(sel)

    def allocated():
        return {(ip, p): u for _, _, u, ip, p in allocations(srv)}

    wait_for(lambda: want <= set(allocated()), 2)
    got = allocated()
    check('%s: the selected relay addresses are allocations turnpike made'
          % label, bool(result) and None not in {a for a, _ in want} and
          want <= set(got),
          'selected %r\nallocated %r' % (sorted(want, key=str), got))
    users = {got[a] for a in want if a in got}
    check('%s: those allocations used %s' % (label, user_desc),
          bool(users) and all(user_ok(u) for u in users),
          'users %r' % sorted(users))
    if own_uid:
        for side, uid, addr in own:
            u = got.get(addr)
            check('%s: %s\'s relay was allocated with the username minted '
                  'for its uid %s' % (label, side, uid),
                  uid is not None and u is not None and
                  u.split(':', 1)[-1] == uid,
                  'uid %r, relay %r allocated by %r' % (uid, addr, u))


def turnpike(port, lo, hi, extra=()):
    return Server(['-n', '-L', '127.0.0.1', '-p', str(port),
                   '--allow-loopback-peers', '--min-port', str(lo),
                   '--max-port', str(hi), '-v', '--web-root', WEB_ROOT] +
                  list(extra))


def tutorial_url(site, room, port, extra):
    q = [('ws', 'ws://127.0.0.1:%d/ws' % port),
         ('turn', 'turn:127.0.0.1:%d?transport=udp' % port),
         ('user', USER), ('pass', PASSWORD), ('relay', '1'), ('room', room)]
    return 'http://127.0.0.1:%d/index.html?%s' % (
        site.port, urllib.parse.urlencode(q + list(extra)))


def make_cert():
    """(cert, key): a self-signed cert for 127.0.0.1 in a temp dir."""
    d = tmpdir('cert')
    cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'key.pem')
    cmd = ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
           '-days', '2', '-subj', '/CN=localhost',
           '-addext', 'subjectAltName=IP:127.0.0.1',
           '-keyout', key, '-out', cert]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        ok, why = p.returncode == 0, p.stderr.decode('utf-8', 'replace')
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, why = False, str(e)
    check('openssl made a self-signed certificate', ok and
          os.path.isfile(cert) and os.path.isfile(key), why[-1000:])
    return cert, key


def call_page_ready():
    return check('examples/web/call.html exists (the built-in call page)',
                 os.path.isfile(CALL_HTML),
                 'missing %s: the call page scenarios cannot run' % CALL_HTML)


@test
def browser_prerequisites():
    missing = False
    for what, ok, fix in prerequisites():
        if not check(what, ok, 'missing: ' + fix):
            missing = True
    if missing:
        skip_rest('browser test prerequisites missing (see the failures above)')


@test
def tutorial_page_call_over_relay():
    port = free_port('both')
    lo, hi = free_port_range(32)
    srv = turnpike(port, lo, hi, ['-a', '-u', '%s:%s' % (USER, PASSWORD),
                                  '-r', REALM])
    with srv, StaticSite(TUTORIAL_DIR) as site:
        if not check('turnpike started on 127.0.0.1:%d' % port, srv.started_ok,
                     srv.stderr()):
            return
        label = 'tutorial video'
        res = run_driver(label, [
            '--scenario', 'tutorial', '--room', 'tutorial-room',
            '--url', tutorial_url(site, 'tutorial-room', port, []),
            '--relay', '--relay-ports', '%d-%d' % (lo, hi),
            '--ice-urls', 'turn:127.0.0.1:%d?transport=udp' % port,
            '--signal-url', 'ws://127.0.0.1:%d/ws' % port, '--leave'])
        check_relays_allocated(label, srv, res, lambda u: u == USER,
                               'the static user %s' % USER)
        check('turnpike still running after the tutorial call', srv.alive())


@test
def tutorial_page_datachannel_over_relay():
    port = free_port('both')
    lo, hi = free_port_range(32)
    srv = turnpike(port, lo, hi, ['-a', '-u', '%s:%s' % (USER, PASSWORD),
                                  '-r', REALM])
    with srv, StaticSite(TUTORIAL_DIR) as site:
        if not check('turnpike started on 127.0.0.1:%d' % port, srv.started_ok,
                     srv.stderr()):
            return
        label = 'tutorial datachannel'
        res = run_driver(label, [
            '--scenario', 'datachannel', '--page', 'tutorial',
            '--room', 'chat-room', '--messages', '1000',
            '--url', tutorial_url(site, 'chat-room', port,
                                  [('chat', '1'), ('media', '0')]),
            '--relay', '--relay-ports', '%d-%d' % (lo, hi)])
        check_relays_allocated(label, srv, res, lambda u: u == USER,
                               'the static user %s' % USER)
        check('turnpike still running after the data channel run', srv.alive())


@test
def call_page_over_relay():
    if not call_page_ready():
        return
    port = free_port('both')
    lo, hi = free_port_range(32)
    with turnpike(port, lo, hi) as srv:
        if not check('turnpike started on 127.0.0.1:%d' % port, srv.started_ok,
                     srv.stderr()):
            return
        label = 'call page'
        res = run_driver(label, [
            '--scenario', 'call', '--room', 'call-room',
            '--url', 'http://127.0.0.1:%d/call?relay=1' % port,
            '--signal-url', 'ws://127.0.0.1:%d/ws' % port,
            '--relay', '--relay-ports', '%d-%d' % (lo, hi), '--leave'])
        check_relays_allocated(label, srv, res,
                               lambda u: bool(REST_USER_RE.match(u)),
                               'TURN REST credentials (expiry:uid) minted by '
                               'the signaling service', own_uid=True)
        label = 'call page datachannel'
        res = run_driver(label, [
            '--scenario', 'datachannel', '--page', 'call',
            '--room', 'call-chat', '--messages', '1000',
            '--url', 'http://127.0.0.1:%d/call?relay=1' % port,
            '--relay', '--relay-ports', '%d-%d' % (lo, hi)])
        check_relays_allocated(label, srv, res,
                               lambda u: bool(REST_USER_RE.match(u)),
                               'minted TURN REST credentials', own_uid=True)
        check('turnpike still running after the call page runs', srv.alive())


@test
def call_page_over_single_tls_port():
    if not call_page_ready():
        return
    port = free_port('both')
    tport = free_port('tcp')
    while tport == port:
        tport = free_port('tcp')
    lo, hi = free_port_range(32)
    cert, key = make_cert()
    turns = 'turns:127.0.0.1:%d?transport=tcp' % tport
    with turnpike(port, lo, hi, ['--tls-listening-port', str(tport),
                                 '--cert', cert, '--pkey', key,
                                 '--signal-ice-url', turns]) as srv:
        if not check('turnpike started on 127.0.0.1:%d, TLS port %d'
                     % (port, tport), srv.started_ok, srv.stderr()):
            return
        label = 'call page tls'
        res = run_driver(label, [
            '--scenario', 'call', '--room', 'tls-room',
            # relay forced with the page's checkbox this time
            '--url', 'https://127.0.0.1:%d/call' % tport,
            '--signal-url', 'wss://127.0.0.1:%d/ws' % tport,
            '--ignore-cert-errors', '--relay', '--relay-ports',
            '%d-%d' % (lo, hi), '--ice-urls', turns,
            '--relay-protocol', 'tls', '--leave'])
        check_relays_allocated(label, srv, res,
                               lambda u: bool(REST_USER_RE.match(u)),
                               'minted TURN REST credentials', own_uid=True)
        # Every TURN allocation came over a TCP-family connection (TLS shows
        # as transport=tcp there); the browsers' connections close (the
        # browser is gone) as tls, and none as plain tcp.
        allocs = allocations(srv)
        check('%s: every allocation came over TLS/TCP, none over UDP' % label,
              bool(allocs) and all(t == 'tcp' for _, t, _, _, _ in allocs),
              repr(allocs))
        cports = {int(c.rsplit(':', 1)[1]) for c, _, _, _, _ in allocs}

        def closed():
            d = {}
            for p, t in CLOSE_RE.findall(srv.output()):
                d.setdefault(int(p), set()).add(t)
            return d

        wait_for(lambda: cports <= set(closed()), 3)
        seen = {cp: sorted(closed().get(cp, ())) for cp in cports}
        check('%s: the server closed the browsers\' TURN connections as tls'
              % label, bool(cports) and all(v == ['tls'] for v in seen.values()),
              'client port: transports %r' % seen)
        check('turnpike still running after the TLS call', srv.alive())


done()
