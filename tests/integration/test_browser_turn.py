#!/usr/bin/python3
"""TURN over UDP from a real browser: headless Debian Chromium (driven by
playwright-core, tests/browser/turn_gather.js) gathers ICE candidates with
turnpike as its only iceServer.

- right long-term credentials: a `relay` candidate on 127.0.0.1 with a port in
  the server's --min-port..--max-port range, the same relay address the server
  logged for the allocation, and no icecandidateerror;
- wrong password: icecandidateerror 401 and no relay candidate.

Needs /usr/bin/chromium, node and tests/browser/node_modules (`make check`
installs them through scripts/deps.sh test); without them the test fails with
the reason, it never skips."""

import json
import os
import re
import shutil
import signal
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

TAP_RE = re.compile(r'^(not )?ok\b\s*\d*\s*-?\s*(.*)$')
PLAN_RE = re.compile(r'^1\.\.(\d+)\s*$')
ALLOC_RE = re.compile(r'turn allocate ok relay=(\S+):(\d+)')


def node_bin():
    return shutil.which('node') or ('/usr/bin/node'
                                    if os.access('/usr/bin/node', os.X_OK)
                                    else None)


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
    cmd = [node_bin(), GATHER_JS, '--url', url, '--user', user,
           '--pass', password, '--expect', expect,
           '--timeout-ms', str(GATHER_TIMEOUT_MS)] + list(extra)
    env = dict(os.environ)
    # Chromium's and playwright's scratch files land in this test's temp root.
    env['TMPDIR'] = tmpdir('browser')
    diag('%s: %s' % (label, ' '.join(cmd)))
    # Same process group as this test: tests/run.py's timeout reaches node;
    # Chromium (its own group) exits when node's pipe to it closes.
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=BROWSER_DIR)
    timed_out = False
    try:
        out, err = p.communicate(timeout=NODE_TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    result = None
    plan = None
    n = failed = 0
    pending = None          # (name, ok): diag lines after `not ok` belong to it
    details = []

    def flush():
        nonlocal pending
        if pending:
            check('%s: %s' % (label, pending[0]), pending[1], '\n'.join(details))
        pending = None
        del details[:]

    for line in out.splitlines():
        m = TAP_RE.match(line)
        if m:
            flush()
            n += 1
            failed += bool(m.group(1))
            pending = (m.group(2), not m.group(1))
            continue
        m = PLAN_RE.match(line)
        if m:
            flush()
            plan = int(m.group(1))
            continue
        if line.startswith('# result '):
            try:
                result = json.loads(line[len('# result '):])
            except ValueError as e:
                diag('%s: unparsable result line: %s' % (label, e))
        if line.startswith('#'):
            if pending and not pending[1]:
                details.append(line[1:].strip())
            else:
                diag('%s: %s' % (label, line[1:].strip()))
    flush()
    check('%s: turn_gather.js finished within %ds' % (label, NODE_TIMEOUT),
          not timed_out, err[-2000:])
    check('%s: turn_gather.js printed a plan matching its %d assertions'
          % (label, n), plan is not None and plan == n and n > 0,
          'plan %r\nstdout:\n%s\nstderr:\n%s' % (plan, out[-2000:], err[-2000:]))
    check('%s: turn_gather.js exit status %s' % (label, 1 if failed else 0),
          p.returncode == (1 if failed else 0),
          'exit status %r\nstderr:\n%s' % (p.returncode, err[-2000:]))
    return result


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
                     srv.stderr):
            return
        url = 'turn:127.0.0.1:%d?transport=udp' % port

        # Right password: a relay candidate from the configured range.
        res = run_gather('right password', url, USER, PASSWORD, 'relay',
                         ['--relay-ip', '127.0.0.1',
                          '--relay-ports', '%d-%d' % (lo, hi)])
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


done()
