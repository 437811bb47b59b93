#!/usr/bin/python3
"""WebSocket signaling: turnpike against a Node `ws` tutorial server, same load.

See bench/README.md for what each figure means and how far to trust it.
A benchmark, not a test: it exits 0 whenever it could measure, whatever the
numbers are, and non-zero only when a server could not be run, a load did
not complete, or a server answered the load with an error or a disconnect.

    /usr/bin/python3 bench/signal.py [--runs 3] [--pairs 50,200] ...

The load generator is bench/signal_bench.js (Node, the `ws` package from
tests/browser/node_modules); the reference server is bench/tutorial_server.js.
Everything runs on 127.0.0.1 with ports picked free at run time; every
process it starts is stopped by PID; every wait is bounded.
"""

import os
import sys

# This file is bench/signal.py: drop its directory from the module path, or
# it would shadow the standard library's signal module (subprocess, too,
# imports signal).
sys.path[:] = [p for p in sys.path
               if os.path.abspath(p or '.') !=
               os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

# The standard library's signal is loaded now (subprocess imports it), so
# bench/ can go back on the path, at the end, for bench_common (which keeps
# bench/ off the path while it imports the standard library itself).
sys.path.append(os.path.dirname(os.path.abspath(__file__)))
from bench_common import (  # noqa: E402
    CLK_TCK, _stop, fmt, free_port, install_stop_handlers, load_avg, median,
    raise_nofile_limit, ratio, spawn, tool_output, track, untrack,
    wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NODE_MODULES = os.path.join(REPO, 'tests', 'browser', 'node_modules')
KINDS = ('turnpike', 'node')

# ------------------------------------------------------------------ helpers


def http_answers(port, timeout=0.3):
    """True once something on 127.0.0.1:port answers an HTTP request
    (turnpike: 200 on /healthz; ws: 426 Upgrade Required)."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout) as s:
            s.settimeout(timeout)
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                      b'Connection: close\r\n\r\n')
            return s.recv(16).startswith(b'HTTP/1.1 ')
    except OSError:
        return False


# ------------------------------------------------------------------ servers


class Server:
    """One signaling server on ws://127.0.0.1:sport/ws."""

    def __init__(self, kind, args, workdir, taken, tag):
        self.kind, self.args, self.workdir = kind, args, workdir
        self.taken = taken
        self.port = free_port(taken)            # turnpike's TURN port
        self.sport = free_port(taken)
        self.tag = tag
        self.proc = None
        self.log = None

    @property
    def url(self):
        return 'ws://127.0.0.1:%d/ws' % self.sport

    def argv(self):
        if self.kind == 'turnpike':
            return [self.args.turnpike, '-n', '-L', '127.0.0.1',
                    '-p', str(self.port), '--signal-port', str(self.sport),
                    '--signal-room-max', '2', '--no-tls', '-m', '1',
                    '--log-file', 'stdout']
        return [self.args.node, os.path.join(HERE, 'tutorial_server.js'),
                '--port', str(self.sport), '--room-max', '2']

    def __enter__(self):
        self.log = os.path.join(self.workdir, '%s-%s-%d.log'
                                % (self.kind, self.tag, self.sport))
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        self.proc = spawn(self.argv(), self.log, env)
        if not wait_until(lambda: self.proc.poll() is not None or
                          http_answers(self.sport), 10):
            self.__exit__(None, None, None)
            raise RuntimeError('%s did not answer HTTP within 10 s; log %s'
                               % (self.kind, self.log))
        if self.proc.poll() is not None:
            raise RuntimeError('%s exited with %s at start-up; log %s'
                               % (self.kind, self.proc.returncode, self.log))
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            _stop(self.proc)
        self.taken.discard(self.port)
        self.taken.discard(self.sport)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def warnings(self):
        """turnpike's log lines above INFO (the Node server logs nothing)."""
        if self.kind != 'turnpike' or not self.log:
            return []
        try:
            with open(self.log, errors='replace') as f:
                return [l.rstrip() for l in f
                        if ' INFO ' not in l and l.strip()]
        except OSError:
            return []

# --------------------------------------------------------------------- load


def run_generator(args, srv, mode, workdir, timeout):
    """bench/signal_bench.js against srv; its '# result' JSON (or a failure
    record)."""
    argv = [args.node, os.path.join(HERE, 'signal_bench.js'),
            '--url', srv.url, '--pid', str(srv.pid), '--mode', mode,
            '--pairs', args.pairs, '--sizes', args.sizes,
            '--msgs', str(args.msgs), '--min-msgs', str(args.min_msgs),
            '--idle', str(args.idle), '--clk-tck', str(CLK_TCK),
            '--timeout', str(args.step_timeout),
            '--nonce', '%d%s' % (os.getpid(), srv.tag)]
    log_path = os.path.join(workdir, 'gen-%s-%s-%s.log'
                            % (srv.kind, srv.tag, mode))
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    with open(log_path, 'ab') as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=log, env=env)
        track(p)
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(p, grace=2.0)
            return {'ok': False, 'problems': ['generator timed out after '
                                              '%d s; log %s'
                                              % (timeout, log_path)]}
        untrack(p)
    res = None
    for line in out.decode(errors='replace').splitlines():
        if line.startswith('# result '):
            try:
                res = json.loads(line[len('# result '):])
            except ValueError:
                pass
    if res is None:
        return {'ok': False, 'problems': ['generator exited %s without a '
                                          'result; log %s'
                                          % (p.returncode, log_path)]}
    res.setdefault('problems', [])
    if p.returncode != 0:
        res['ok'] = False
        res['problems'].append('generator exit status %s; log %s'
                               % (p.returncode, log_path))
    if not srv.alive():
        res['ok'] = False
        res['problems'].append('%s exited with %s during the load; log %s'
                               % (srv.kind, srv.proc.returncode, srv.log))
    return res


def incidents(r):
    """'error code x N, close code x N' from one phase or rss record."""
    out = []
    for k, n in sorted((r.get('errors') or {}).items()):
        out.append('error %s x%d' % (k, n))
    for k, n in sorted((r.get('closes') or {}).items()):
        out.append('close %s x%d' % (k, n))
    for k, n in sorted((r.get('other') or {}).items()):
        out.append('%s x%d' % (k, n))
    return out

# -------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--pairs', default='50,200',
                    help='room pairs per load phase, comma-separated')
    ap.add_argument('--sizes', default='300,4096',
                    help='message sizes in bytes (300: candidate; >=1000: '
                    'offer/answer)')
    ap.add_argument('--msgs', type=int, default=100,
                    help='messages each peer sends per round (default 100; '
                    'turnpike allows a burst of 200 per connection)')
    ap.add_argument('--min-msgs', type=int, default=30000,
                    help='forwarded messages per phase at least (rounds '
                    'repeat with fresh connections)')
    ap.add_argument('--idle', type=int, default=2000,
                    help='idle joined connections held for RSS')
    ap.add_argument('--step-timeout', type=float, default=30.0,
                    help='seconds any one step of the generator may take')
    ap.add_argument('--servers', default='turnpike,node')
    ap.add_argument('--turnpike', default=os.path.join(REPO, 'bin',
                                                       'turnpike'))
    ap.add_argument('--node', default=shutil.which('node') or 'node')
    ap.add_argument('--keep', action='store_true',
                    help='keep the work directory (logs)')
    args = ap.parse_args()
    kinds = args.servers.split(',')
    if any(k not in KINDS for k in kinds):
        sys.exit('bench: --servers takes turnpike and/or node')
    pairs = [int(x) for x in args.pairs.split(',')]
    sizes = [int(x) for x in args.sizes.split(',')]

    if not (os.access(args.node, os.X_OK) or shutil.which(args.node)):
        sys.exit('bench: node not found (scripts/deps.sh test installs it)')
    if not os.path.isfile(os.path.join(NODE_MODULES, 'ws', 'package.json')):
        sys.exit('bench: %s/ws missing (scripts/deps.sh test runs npm ci)'
                 % NODE_MODULES)
    if 'turnpike' in kinds and not os.access(args.turnpike, os.X_OK):
        sys.exit('bench: %s not built (make)' % args.turnpike)
    if args.msgs + 1 > 200:
        print('bench: note: --msgs %d exceeds turnpike\'s burst of 200 '
              'messages per connection; expect rate-limited errors'
              % args.msgs)

    # Servers and the generator inherit this: 2 sockets per idle
    # connection on one side or the other, plus the load's.
    want, hard = raise_nofile_limit()
    need = max(args.idle, 2 * max(pairs)) + 300
    if want < need:
        sys.exit('bench: open-file limit %d too low for %d connections'
                 % (want, need - 300))

    install_stop_handlers()

    workdir = tempfile.mkdtemp(prefix='turnpike-sigbench-')
    taken = set()
    started = time.monotonic()
    ver = tool_output([args.turnpike, '--version'])
    if ver is None:
        ver = '?'
    rev = tool_output(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD']) or ''
    try:
        nver = subprocess.run([args.node, '--version'], capture_output=True,
                              text=True, timeout=5).stdout.strip()
        with open(os.path.join(NODE_MODULES, 'ws', 'package.json')) as f:
            wsver = json.load(f).get('version', '?')
    except (OSError, subprocess.SubprocessError, ValueError):
        nver, wsver = '?', '?'
    print('Signaling bench: %s (%s) vs Node %s ws %s tutorial server; '
          '%d CPUs, %s; load avg %s'
          % (ver or 'turnpike', rev or '?', nver, wsver, os.cpu_count(),
             platform.release(),
             load_avg()))
    print('load: closed-loop ping-pong, pairs %s x sizes %s B, %d msgs each '
          'way per pair per round, >= %d forwarded per phase; RSS with %d '
          'idle joined connections; %d run(s), median reported'
          % (args.pairs, args.sizes, args.msgs, args.min_msgs, args.idle,
             args.runs))
    sys.stdout.flush()

    load = {k: [] for k in kinds}       # per run: {(P, S): phase}
    warmup = {k: [] for k in kinds}     # per run: the load record's own
    rss = {k: [] for k in kinds}
    problems = []
    notes = []
    load_timeout = 60 + 6 * args.step_timeout * len(pairs) * len(sizes)
    try:
        for run in range(args.runs):
            order = kinds if run % 2 == 0 else kinds[::-1]
            for kind in order:
                with Server(kind, args, workdir, taken,
                            'r%dload' % (run + 1)) as srv:
                    r = run_generator(args, srv, 'load', workdir,
                                      load_timeout)
                    warn = srv.warnings()
                phases = {(ph['pairs'], ph['size']): ph
                          for ph in r.get('phases', [])}
                load[kind].append(phases)
                warmup[kind].append({'errors': r.get('errors'),
                                     'closes': r.get('closes')})
                for (P, S), ph in sorted(phases.items()):
                    inc = incidents(ph)
                    print('  run %d %-8s %3d pairs %5dB: %6d fwd in %d '
                          'round(s), %s msg/s, p50 %s ms, p99 %s ms, CPU %s '
                          's, %s us/msg (generator %s us/msg), %d held%s'
                          % (run + 1, kind, P, S, ph['forwarded'],
                             ph['rounds'], fmt(ph['rate'], '.0f'),
                             fmt(ph['p50_ms'], '.2f'),
                             fmt(ph['p99_ms'], '.2f'),
                             fmt(ph['cpu_s'], '.2f'),
                             fmt(ph['cpu_us_per_msg'], '.2f'),
                             fmt(ph['gen_us_per_msg'], '.1f'), ph['held'],
                             ('  [' + ', '.join(inc) + ']') if inc else ''))
                for pr in r.get('problems', []):
                    print('  run %d %-8s PROBLEM: %s' % (run + 1, kind, pr))
                for ph in phases.values():
                    for pr in ph.get('problems', []):
                        print('  run %d %-8s PROBLEM: %s'
                              % (run + 1, kind, pr))
                if not r.get('ok'):
                    problems.append('%s load run %d failed (see above)'
                                    % (kind, run + 1))
                for w in warn:
                    notes.append('%s run %d log: %s' % (kind, run + 1, w))
                sys.stdout.flush()

                # A fresh server for RSS, as bench/turn_udp.py does.
                with Server(kind, args, workdir, taken,
                            'r%drss' % (run + 1)) as srv:
                    r = run_generator(args, srv, 'rss', workdir,
                                      60 + 3 * args.step_timeout)
                    warn = srv.warnings()
                rss[kind].append(r)
                inc = incidents(r)
                print('  run %d %-8s RSS: %s KiB -> %s KiB with %s/%s idle '
                      'joined connections (%s s to connect and join), %s '
                      'KiB after close: %s KiB each; %s us CPU per '
                      'connect+join%s'
                      % (run + 1, kind, r.get('base_kib', '-'),
                         r.get('held_kib', '-'), r.get('held', '-'),
                         r.get('idle', args.idle),
                         fmt(r.get('join_s'), '.2f'),
                         r.get('after_kib', '-'),
                         fmt(r.get('kib_per_conn'), '.2f'),
                         fmt(r.get('cpu_us_per_conn'), '.0f'),
                         ('  [' + ', '.join(inc) + ']') if inc else ''))
                for pr in r.get('problems', []):
                    print('  run %d %-8s PROBLEM: %s' % (run + 1, kind, pr))
                if not r.get('ok'):
                    problems.append('%s RSS run %d failed (see above)'
                                    % (kind, run + 1))
                for w in warn:
                    notes.append('%s run %d (rss) log: %s'
                                 % (kind, run + 1, w))
                sys.stdout.flush()
    except (RuntimeError, OSError) as e:
        print('bench: %s; logs in %s' % (e, workdir))
        return 1

    def med(kind, P, S, key):
        return median([ph.get((P, S), {}).get(key) for ph in load[kind]])

    a, b = (kinds + [None])[:2]
    print()
    print('%-40s %12s %12s %7s' % ('metric', a, b or '', 'ratio'))

    def row(label, va, vb, spec):
        print('%-40s %12s %12s %7s' % (label, fmt(va, spec), fmt(vb, spec),
                                       ratio(va, vb)))

    for P in pairs:
        for S in sizes:
            pre = '%d pairs %dB ' % (P, S)
            for label, key, spec in (('fwd msg/s', 'rate', '.0f'),
                                     ('p50 one-way ms', 'p50_ms', '.2f'),
                                     ('p99 one-way ms', 'p99_ms', '.2f'),
                                     ('server CPU us/msg', 'cpu_us_per_msg',
                                      '.2f')):
                row(pre + label, med(a, P, S, key),
                    med(b, P, S, key) if b else None, spec)
    P = max(pairs)

    def held(kind):
        return median([min([v['held'] for (p, _), v in ph.items() if p == P]
                           or [None]) for ph in load[kind] if ph])
    row('connections held under load (%d pairs)' % P, held(a),
        held(b) if b else None, '.0f')

    def rmed(kind, key):
        return median([r.get(key) for r in rss[kind]]) if kind else None
    row('idle joined connections held', rmed(a, 'held'), rmed(b, 'held'),
        '.0f')
    row('RSS per idle connection (KiB, %d)' % args.idle,
        rmed(a, 'kib_per_conn'), rmed(b, 'kib_per_conn'), '.2f')
    row('CPU us per connect+join', rmed(a, 'cpu_us_per_conn'),
        rmed(b, 'cpu_us_per_conn'), '.0f')
    row('RSS idle, fresh server (KiB)', rmed(a, 'base_kib'),
        rmed(b, 'base_kib'), '.0f')

    def count(kind):
        n = 0
        for ph in load[kind]:
            for v in ph.values():
                n += sum((v.get('errors') or {}).values())
                n += sum((v.get('closes') or {}).values())
        for r in rss[kind] + warmup[kind]:
            n += sum((r.get('errors') or {}).values())
            n += sum((r.get('closes') or {}).values())
        return n
    print('%-40s %12s %12s %7s' % ('errors + unexpected closes (all runs)',
                                   count(a), count(b) if b else '', '-'))
    print()
    print('ratio = %s / %s. Latency is one-way: receive time minus the send '
          'time in the message, one clock (the generator\'s); closed loop, '
          'one message in flight per pair.' % (a, b or '-'))
    print('Throughput and latency are noisy here (generator and server share '
          '%d CPUs); server CPU us/msg and RSS per connection are the '
          'figures that hold.' % os.cpu_count())
    print('total time %.0f s; logs in %s' % (time.monotonic() - started,
                                             workdir if args.keep or problems
                                             else '(removed)'))
    for n in notes[:20]:
        print('NOTE: ' + n)
    if len(notes) > 20:
        print('NOTE: ... %d more log lines' % (len(notes) - 20))
    for p in problems:
        print('PROBLEM: ' + p)
    if not (args.keep or problems):
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
