#!/usr/bin/python3
"""TURN over UDP, TCP and TLS from a real browser: headless Debian Chromium
(driven by playwright-core, tests/browser/turn_gather.js) gathers ICE
candidates with turnpike as its only iceServer, one browser launch per URL.

UDP (turn:127.0.0.1:PORT?transport=udp):
- right long-term credentials: a `relay` candidate on 127.0.0.1 with a port in
  the server's --min-port..--max-port range, the same relay address the server
  logged for the allocation, and no icecandidateerror;
- wrong password: icecandidateerror 401 and no relay candidate.

TCP and TLS, against a server with --tls-listening-port TPORT and a
self-signed certificate made here with openssl (Chromium refuses it on turns:
with error 701, so turn_gather.js launches it with
--ignore-certificate-errors; simpler than a test CA, which Chromium on Linux
only trusts through an NSS database under $HOME):
- turn:127.0.0.1:PORT?transport=tcp, turns:127.0.0.1:TPORT?transport=tcp and
  turns:127.0.0.1:PORT?transport=tcp (TLS on the plain port: the first bytes
  decide): a relay candidate as above (the relay towards peers is UDP
  whatever the client transport), Chromium's relayProtocol tcp / tls, and the
  server closing that client connection as a tcp / tls one;
- wrong password over turns: (both ports): icecandidateerror 401, no relay, no
  allocation.

Needs /usr/bin/chromium, node and tests/browser/node_modules (`make check`
installs them through scripts/deps.sh test); without them the test fails with
the reason, it never skips."""

import os
import re
import subprocess

from lib import *

BROWSER_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'browser')
GATHER_JS = os.path.join(BROWSER_DIR, 'turn_gather.js')
CHROMIUM = '/usr/bin/chromium'
USER, PASSWORD, REALM = 'alice', 'secret', 'turnpike.test'
GATHER_TIMEOUT_MS = 15000
# turn_gather.js bounds itself (gathering + 30 s for launch and close);
# this is the last resort above that.
NODE_TIMEOUT = GATHER_TIMEOUT_MS / 1000 + 35

ALLOC_RE = re.compile(r'turn allocate ok relay=(\S+):(\d+)')
# conn.c: `conn=ID peer=IP:PORT tls close reason=...` (or tcp).
CLOSE_RE = re.compile(r'peer=127\.0\.0\.1:(\d+) (tcp|tls) close\b')


def prerequisites():
    """[(what, ok, how to fix)] for everything the browser run needs."""
    node = node_bin()
    pw = os.path.join(BROWSER_DIR, 'node_modules', 'playwright-core',
                      'package.json')
    return [
        ('node is installed', node is not None,
         'install the Debian package nodejs (scripts/deps.sh test)'),
        ('%s is installed' % CHROMIUM, os.access(CHROMIUM, os.X_OK),
         'install the Debian package chromium (scripts/deps.sh test)'),
        ('tests/browser/node_modules has playwright-core', os.path.isfile(pw),
         'run `npm ci` in tests/browser (scripts/deps.sh test does)'),
        ('tests/browser/turn_gather.js exists', os.path.isfile(GATHER_JS),
         GATHER_JS),
    ]


def run_gather(label, url, user, password, expect, extra=()):
    """Run turn_gather.js, forward its TAP assertions as ours (prefixed with
    label); return its parsed result dict (or None)."""
    # Chromium's and playwright's scratch files land in this test's temp root.
    return run_node_tap(GATHER_JS,
                        ['--url', url, '--user', user, '--pass', password,
                         '--expect', expect,
                         '--timeout-ms', str(GATHER_TIMEOUT_MS)] + list(extra),
                        NODE_TIMEOUT, label,
                        env={'TMPDIR': tmpdir('browser')}).result


@test
def browser_prerequisites():
    missing = False
    for what, ok, fix in prerequisites():
        if not check(what, ok, 'missing: ' + fix):
            missing = True
    if missing:
        skip_rest('browser test prerequisites missing (see the failures above)')


@test
def chromium_relay_candidate_and_401():
    port = free_port('both')
    lo, hi = free_port_range(16)
    srv = Server(['-n', '-v', '--listening-ip', '127.0.0.1',
                  '--listening-port', str(port), '--lt-cred-mech',
                  '--user', '%s:%s' % (USER, PASSWORD), '--realm', REALM,
                  '--min-port', str(lo), '--max-port', str(hi)])
    with srv:
        if not check('turnpike started on 127.0.0.1:%d' % port, srv.started_ok,
                     srv.stderr()):
            return
        url = 'turn:127.0.0.1:%d?transport=udp' % port

        # Right password: a relay candidate from the configured range.
        res = run_gather('right password', url, USER, PASSWORD, 'relay',
                         ['--relay-ip', '127.0.0.1',
                          '--relay-ports', '%d-%d' % (lo, hi),
                          '--relay-protocol', 'udp'])
        relays = [c for c in (res or {}).get('candidates', [])
                  if c.get('type') == 'relay']
        logged = wait_for(lambda: ALLOC_RE.findall(srv.output()), 2)
        check('server logged a successful allocation for the browser',
              bool(logged), srv.output()[-2000:])
        logged = {(ip, int(p)) for ip, p in logged or []}
        check('the relay candidate is the relay address the server allocated',
              bool(relays) and all((c.get('address'), c.get('port')) in logged
                                   for c in relays),
              'candidates %r, server allocations %r' % (relays, sorted(logged)))
        allocs_before = len(ALLOC_RE.findall(srv.output()))

        # Wrong password: 401, no relay, no allocation on the server.
        res = run_gather('wrong password', url, USER, PASSWORD + '-wrong',
                         'error401')
        check('wrong password: every icecandidateerror is 401',
              bool(res) and res.get('errors') and
              all(e.get('errorCode') == 401 for e in res['errors']),
              repr(res and res.get('errors')))
        check('wrong password: the server allocated nothing',
              len(ALLOC_RE.findall(srv.output())) == allocs_before,
              srv.output()[-2000:])
        check('turnpike still running after both browser runs', srv.alive())


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


@test
def chromium_relay_over_tcp_and_tls():
    port = free_port('both')
    tport = free_port('tcp')
    while tport == port:
        tport = free_port('tcp')
    lo, hi = free_port_range(16)
    cert, key = make_cert()
    srv = Server(['-n', '-v', '--listening-ip', '127.0.0.1',
                  '--listening-port', str(port),
                  '--tls-listening-port', str(tport),
                  '--cert', cert, '--pkey', key, '--lt-cred-mech',
                  '--user', '%s:%s' % (USER, PASSWORD), '--realm', REALM,
                  '--min-port', str(lo), '--max-port', str(hi)])
    with srv:
        if not check('turnpike started on 127.0.0.1:%d, TLS port %d'
                     % (port, tport), srv.started_ok, srv.stderr()):
            return
        relay_args = ['--relay-ip', '127.0.0.1', '--relay-ports',
                      '%d-%d' % (lo, hi), '--ignore-cert-errors']
        for label, url, proto in (
                ('tcp', 'turn:127.0.0.1:%d?transport=tcp' % port, 'tcp'),
                ('tls on tls port',
                 'turns:127.0.0.1:%d?transport=tcp' % tport, 'tls'),
                ('tls on plain port',
                 'turns:127.0.0.1:%d?transport=tcp' % port, 'tls')):
            res = run_gather(label, url, USER, PASSWORD, 'relay',
                             relay_args + ['--relay-protocol', proto])
            relays = [c for c in (res or {}).get('candidates', [])
                      if c.get('type') == 'relay']
            # The server logs the allocation with the relay address, and the
            # connection's close (node has closed the browser by now) with
            # its transport; relatedPort is the client's TCP source port
            # (XOR-MAPPED-ADDRESS).
            want = {(c.get('address'), c.get('port')) for c in relays}

            def allocated():
                return {(ip, int(p)) for ip, p in ALLOC_RE.findall(srv.output())}

            wait_for(lambda: want <= allocated(), 2)
            check('%s: the relay candidate is a relay address the server '
                  'allocated' % label, bool(relays) and want <= allocated(),
                  'candidates %r\nserver:\n%s' % (relays, srv.output()[-2000:]))
            cports = {c.get('relatedPort') for c in relays}

            def closed():       # {client port: {transport, ...}}
                d = {}
                for p, t in CLOSE_RE.findall(srv.output()):
                    d.setdefault(int(p), set()).add(t)
                return d

            wait_for(lambda: cports <= set(closed()), 3)
            seen = {cp: sorted(closed().get(cp, ())) for cp in cports}
            check('%s: the server closed the browser connection as %s'
                  % (label, proto),
                  bool(relays) and all(v == [proto] for v in seen.values()),
                  'client port: transports %r\nserver:\n%s'
                  % (seen, srv.output()[-2000:]))

        for label, p in (('turns wrong password on tls port', tport),
                         ('turns wrong password on plain port', port)):
            allocs_before = len(ALLOC_RE.findall(srv.output()))
            url = 'turns:127.0.0.1:%d?transport=tcp' % p
            res = run_gather(label, url, USER, PASSWORD + '-wrong', 'error401',
                             ['--ignore-cert-errors'])
            check('%s: every icecandidateerror is 401' % label,
                  bool(res) and res.get('errors') and
                  all(e.get('errorCode') == 401 for e in res['errors']),
                  repr(res and res.get('errors')))
            check('%s: the server allocated nothing' % label,
                  len(ALLOC_RE.findall(srv.output())) == allocs_before,
                  srv.output()[-2000:])
        check('turnpike still running after the tcp and tls browser runs',
              srv.alive())


done()
