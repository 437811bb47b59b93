#!/usr/bin/python3
"""TURN: turnpike against coturn and a bare UDP forwarder, one run, one table.

See bench/README.md for what each figure means and how far to trust it.
A benchmark, not a test: it exits 0 whenever it could measure, whatever the
numbers are, and 1 only when something could not be measured.

    /usr/bin/python3 bench/turn_bench.py [--quick] [--runs 3] [--keep]

The load comes from build/release/bench/turn_load, the floor is
build/release/bench/udp_floor (`make bench-tools`).  Everything runs on
127.0.0.1 with ports picked free at run time below the ephemeral range;
every process it starts is stopped by PID; every wait is bounded.

As a module (bench/run.py): add_arguments(ap), then measure(args, workdir)
returns the table's rows; what could not be measured is printed as a
`PROBLEM:` line and appended to args.problems.
"""

import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

from bench_common import (
    bench_main, _bindable, fmt, free_port, free_range,
    load_avg, median, port_pool, raise_nofile_limit, row, rss_kib, spawn,
    _stop, tool_output, track, wait_until)

NAME = 'turn'                    # bench/run.py --only turn
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TOOLS = os.path.join(REPO, 'build', 'release', 'bench')

USER, PASSWORD, REALM = 'u', 'p', 'bench'
PARTS = ('closed', 'latency', 'paced', 'alloc', 'rss', 'max', 'tcp',
         'workers')
# Where the flows between two allocations go: turnpike started with
# --no-relay-hairpin relays them through the kernel as coturn does; by
# default ('hairpin' servers) it hands them over inside (doc/turn.md).
KERNEL = 'through the kernel'
HAIRPIN = 'relay to relay inside turnpike (default)'

# ----------------------------------------------------------------- options


def add_arguments(ap):
    """This module's options (bench_common adds --runs, --quick, --keep,
    --turnpike)."""
    ap.add_argument('--turn-load', default=os.path.join(TOOLS, 'turn_load'))
    ap.add_argument('--turn-floor', default=os.path.join(TOOLS, 'udp_floor'))
    ap.add_argument('--turn-parts', default=','.join(PARTS),
                    help='which TURN figures (default all: %s)'
                    % ','.join(PARTS))
    ap.add_argument('--turn-sizes', default='100,1200',
                    help='closed-loop payload bytes (default 100,1200)')
    ap.add_argument('--turn-sessions', default='2,20,200',
                    help='closed-loop sessions, even (default 2,20,200)')
    ap.add_argument('--turn-window', type=int, default=8,
                    help='closed-loop packets in flight per pair (default 8)')
    ap.add_argument('--turn-duration', type=float, default=None,
                    help='seconds measured per closed-loop point '
                    '(default 2, --quick 0.5)')
    ap.add_argument('--turn-src', default='127.0.3.1-32',
                    help='client source addresses (default 127.0.3.1-32)')


def _settings(args):
    """Durations and counts, full or --quick."""
    q = args.quick
    d = args.turn_duration or (0.5 if q else 2.0)
    return {
        'runs': 1 if q else max(1, args.runs),
        'duration': d,
        'warmup': 0.2 if q else 0.5,
        'lat_duration': 1.0 if q else 3.0,
        'paced_duration': 2.0 if q else 5.0,
        'paced_warmup': 0.5 if q else 1.0,
        'tcp_duration': 1.0 if q else 3.0,
        'sat_duration': 1.0 if q else 3.0,
        'allocs': 2000 if q else 5000,
        'rss_allocs': 10000,
        'max_allocs': 15000,
    }

# ------------------------------------------------------------------ helpers


def binding_ok(port, timeout=0.3):
    """One STUN Binding request over UDP; True when a success comes back."""
    txid = os.urandom(12)
    req = struct.pack('!HHI', 0x0001, 0, 0x2112A442) + txid
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(req, ('127.0.0.1', port))
            data, _ = s.recvfrom(2048)
        except OSError:
            return False
    return len(data) >= 20 and data[:2] == b'\x01\x01' and data[8:20] == txid


def tcp_ok(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.3):
            return True
    except OSError:
        return False


def log_tail(path, n=5):
    try:
        with open(path, errors='replace') as f:
            lines = f.read().splitlines()
    except OSError:
        return ''
    return ' | '.join(lines[-n:])


def relay_range(n, taken, at_least=None):
    """n consecutive ports free for UDP below the ephemeral range, or, when
    at_least is given and no n are free in a row, the longest free run of
    at least at_least ports.  Large ranges are searched from the bottom of
    the pool rather than at random, so that a few ports in use elsewhere
    do not defeat them."""
    if n <= 2000:
        return free_range(n, taken)
    lo, hi = port_pool()
    best, run_lo = (0, None), None
    for p in range(lo, hi + 2):
        free = (p <= hi and p not in taken and
                _bindable(p, (socket.SOCK_DGRAM,)))
        if free and run_lo is None:
            run_lo = p
        if free and p - run_lo + 1 == n:
            best = (n, run_lo)
            break
        if not free and run_lo is not None:
            if p - run_lo > best[0]:
                best = (p - run_lo, run_lo)
            run_lo = None
    size, a = best
    if size < n and (at_least is None or size < at_least):
        raise RuntimeError('no free range of %d ports below %d (longest '
                           '%d)' % (n, hi + 1, size))
    taken.update(range(a, a + size))
    return a, a + size - 1


class Context:
    """What one measure() call shares: options, paths, ports, findings."""

    def __init__(self, args, workdir):
        self.args, self.workdir = args, workdir
        self.s = _settings(args)
        self.taken = set()
        self.problems = []
        self.vals = {}          # key tuple -> list of per-run values
        self.cert = self.pkey = None
        self.seq = 0

    def add(self, key, value):
        self.vals.setdefault(key, []).append(value)

    def med(self, key):
        return median(self.vals.get(key, []))

    def problem(self, text):
        self.problems.append(text)
        print('PROBLEM: ' + text)
        sys.stdout.flush()

    def note(self, text):
        """Something a server did that the figures should be read with;
        not a failure to measure."""
        print('NOTE: ' + text)
        sys.stdout.flush()

    def path(self, name):
        self.seq += 1
        return os.path.join(self.workdir, '%03d-%s' % (self.seq, name))


def say(text):
    print('  ' + text)
    sys.stdout.flush()

# ------------------------------------------------------------------ servers


class Server:
    """turnpike, coturn or the floor on 127.0.0.1, relay ports [lo, hi]."""

    def __init__(self, ctx, kind, relay_ports=1200, threads=1, tls=False,
                 at_least=None):
        self.ctx, self.kind = ctx, kind
        self.threads, self.tls = threads, tls
        self.lo = self.hi = None
        # The range first: a listening port picked before could split the
        # pool so that no 15,100 ports in a row are left.
        if kind != 'floor':
            self.lo, self.hi = relay_range(relay_ports, ctx.taken,
                                           at_least)
        self.port = free_port(ctx.taken)
        self.tls_port = free_port(ctx.taken) if tls else None
        self.proc = None
        self.log = ctx.path('%s.log' % kind)

    def argv(self):
        a = self.ctx.args
        if self.kind == 'floor':
            return [a.turn_floor, '--listen', '127.0.0.1:%d' % self.port]
        if self.kind in ('turnpike', 'hairpin'):
            v = [a.turnpike, '-n', '-L', '127.0.0.1',
                 '-p', str(self.port), '--relay-ip', '127.0.0.1',
                 '--min-port', str(self.lo), '--max-port', str(self.hi),
                 '-a', '-u', '%s:%s' % (USER, PASSWORD), '-r', REALM,
                 '--allow-loopback-peers', '--no-dtls', '--no-cli',
                 '-m', str(self.threads), '--log-file', 'stdout']
            if self.kind == 'turnpike':
                # Through the kernel, as coturn and the floor relay.
                v.append('--no-relay-hairpin')
            if self.tls:
                return v + ['--tls-listening-port', str(self.tls_port),
                            '--cert', self.ctx.cert, '--pkey', self.ctx.pkey]
            return v + ['--no-tls']
        v = [a.turnserver, '-n', '--listening-ip=127.0.0.1',
             '--listening-port=%d' % self.port, '--relay-ip=127.0.0.1',
             '--min-port=%d' % self.lo, '--max-port=%d' % self.hi,
             '--lt-cred-mech', '--user=%s:%s' % (USER, PASSWORD),
             '--realm=%s' % REALM, '--allow-loopback-peers', '--no-cli',
             '--no-dtls', '--relay-threads=%d' % self.threads,
             '--log-file=stdout',
             '--pidfile=%s' % self.ctx.path('turnserver.pid')]
        if self.tls:
            return v + ['--tls-listening-port=%d' % self.tls_port,
                        '--cert=%s' % self.ctx.cert,
                        '--pkey=%s' % self.ctx.pkey]
        return v + ['--no-tls']

    def _ready(self):
        if self.kind == 'floor':
            try:
                with open(self.log) as f:
                    return 'listening' in f.read()
            except OSError:
                return False
        if not binding_ok(self.port):
            return False
        return self.tls_port is None or tcp_ok(self.tls_port)

    def __enter__(self):
        self.proc = spawn(self.argv(), self.log)
        if not wait_until(lambda: self.proc.poll() is not None or
                          self._ready(), 10):
            self.__exit__(None, None, None)
            raise RuntimeError('%s did not start within 10 s; log %s'
                               % (self.kind, self.log))
        if self.proc.poll() is not None:
            self.__exit__(None, None, None)
            raise RuntimeError('%s exited with %s at start-up; log %s'
                               % (self.kind, self.proc.returncode, self.log))
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            _stop(self.proc)
        # UDP ports are free again at once: give them back for later servers.
        self.ctx.taken.discard(self.port)
        self.ctx.taken.discard(self.tls_port)
        if self.lo is not None:
            self.ctx.taken.difference_update(range(self.lo, self.hi + 1))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def name(self):
        n = 'turnpike-hp' if self.kind == 'hairpin' else self.kind
        return n if self.threads == 1 else '%s/%d' % (n, self.threads)

# --------------------------------------------------------------------- load


def _read_results(p, deadline, results, want=None):
    """Collect `# result {json}` lines from p's stdout until EOF, the
    deadline, or `want` results; False on the deadline."""
    fd, buf = p.stdout.fileno(), b''
    while want is None or len(results) < want:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return True
        buf += chunk
        *lines, buf = buf.split(b'\n')
        for line in lines:
            line = line.decode(errors='replace').strip()
            if line.startswith('# result '):
                try:
                    results.append(json.loads(line[len('# result '):]))
                except ValueError:
                    pass
    return True


def run_load(ctx, srv, label, mode_args, bound, transport='udp',
             on_hold=None):
    """One turn_load run against srv; its last result dict, or None (and a
    problem) when it could not measure.  With on_hold, turn_load keeps its
    allocations after the result until on_hold() has returned."""
    a = ctx.args
    if srv.kind == 'floor':
        target = '127.0.0.1:%d' % srv.port
        argv = [a.turn_load, '--server', target, '--mode', 'raw',
                '--target', target]
    else:
        port = srv.tls_port if transport == 'tls' else srv.port
        argv = [a.turn_load, '--server', '127.0.0.1:%d' % port,
                '--transport', transport, '--user', USER,
                '--pass', PASSWORD]
    argv += ['--src', a.turn_src, '--pid', str(srv.pid)] + mode_args
    err_path = ctx.path('load-%s.log' % srv.kind)
    with open(err_path, 'ab') as err:
        err.write(('# ' + ' '.join(argv) + '\n').encode())
        err.flush()
        p = track(subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=err,
            stdin=subprocess.PIPE if on_hold else subprocess.DEVNULL))
    results = []
    deadline = time.monotonic() + bound
    try:
        done = _read_results(p, deadline, results, 1 if on_hold else None)
        if on_hold and results:
            on_hold(results[-1])
            try:
                p.stdin.close()
            except OSError:
                pass            # it is gone already: the checks below say
            done = _read_results(p, time.monotonic() + 60, results)
        if done:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                done = False
    finally:
        _stop(p, grace=2.0)
        p.stdout.close()
    with open(err_path, 'a') as err:
        for r in results:
            err.write('# result %s\n' % json.dumps(r))
    why = None
    if not done:
        why = 'did not finish within %.0f s' % bound
    elif p.returncode != 0:
        why = 'exited with %s' % p.returncode
    elif not results:
        why = 'printed no result'
    if not srv.alive():
        why = '%s died (log %s)' % (srv.kind, srv.log)
    if why:
        ctx.problem('%s %s: turn_load %s; %s' % (srv.name(), label, why,
                                                 log_tail(err_path, 3)))
        return None
    return results[-1]


def flow(ctx, srv, label, sessions, size, duration, warmup,
         window=None, rate=None, transport='udp'):
    m = ['--sessions', str(sessions), '--size', str(size),
         '--duration', str(duration), '--warmup', str(warmup)]
    m += ['--window', str(window)] if rate is None else ['--rate', str(rate)]
    if srv.kind != 'floor':
        m = ['--mode', 'flow'] + m
    bound = 30 + duration + warmup + sessions / 50.0
    r = run_load(ctx, srv, label, m, bound, transport)
    if r is not None:
        lat = r.get('lat_us') or {}
        say('%-11s %-26s %9s relayed/s  %6s us/relayed  p50 %s p99 %s us  '
            'lost %s/%s' % (srv.name(), label,
                            fmt(r.get('relayed_per_s'), '.0f'),
                            fmt(r.get('cpu_us_per_relayed'), '.2f'),
                            fmt(lat.get('p50'), '.0f'),
                            fmt(lat.get('p99'), '.0f'),
                            r.get('lost'), r.get('sent')))
    return r


def alloc(ctx, srv, label, count, hold=None):
    m = ['--mode', 'alloc', '--count', str(count), '--inflight', '128']
    if hold:
        m.append('--hold')
    r = run_load(ctx, srv, label, m, 60 + count / 100.0, on_hold=hold)
    if r is not None:
        say('%-11s %-26s ok %s failed %s %s in %s s: %s/s, %s us CPU each'
            % (srv.name(), label, r.get('ok'), r.get('failed'),
               r.get('errors') or '', fmt(r.get('seconds'), '.2f'),
               fmt(r.get('rate'), '.0f'),
               fmt(r.get('cpu_us_per_alloc'), '.1f')))
    return r


def get(r, *keys):
    for k in keys:
        if r is None:
            return None
        r = r.get(k)
    return r


def ordered(kinds, run):
    """Alternate the order of the servers from run to run."""
    return kinds if run % 2 == 0 else kinds[::-1]

# ------------------------------------------------------------ measurements


def closed_loop(ctx, rows):
    """Closed loop per size and session count; latency at 10 sessions."""
    s, a = ctx.s, ctx.args
    sizes = [int(x) for x in a.turn_sizes.split(',')]
    sessions = [int(x) for x in a.turn_sessions.split(',')]
    parts = a.turn_parts.split(',')
    do_closed = 'closed' in parts
    do_lat = 'latency' in parts
    kinds = ['turnpike', 'hairpin', 'coturn'] + (['floor'] if do_closed
                                                  else [])
    for run in range(s['runs']):
        for kind in ordered(kinds, run):
            with Server(ctx, kind) as srv:
                for size in sizes if do_closed else []:
                    for n in sessions:
                        r = flow(ctx, srv, '%d B, %d sessions' % (size, n),
                                 n, size, s['duration'], s['warmup'],
                                 window=a.turn_window)
                        ctx.add(('cpu', kind, size, n),
                                get(r, 'cpu_us_per_relayed'))
                        ctx.add(('pps', kind, size, n),
                                get(r, 'relayed_per_s'))
                if do_lat and kind != 'floor':
                    r = flow(ctx, srv, 'latency, 10 sessions', 10, 100,
                             s['lat_duration'], s['warmup'], window=1)
                    ctx.add(('lat99', kind), get(r, 'lat_us', 'p99'))
                    ctx.add(('lat50', kind), get(r, 'lat_us', 'p50'))
    sec = 'TURN/UDP closed loop, window %d, %g s, %s' % (
        a.turn_window, s['duration'], KERNEL)
    for size in sizes if do_closed else []:
        for n in sessions:
            what = '%d B, %d sessions' % (size, n)
            tp = ctx.med(('cpu', 'turnpike', size, n))
            rows.append(row(sec, 'CPU per relayed packet, ' + what, 'us',
                            '.2f', tp, ctx.med(('cpu', 'coturn', size, n)),
                            'coturn', '<= 0.75'))
            rows.append(row(sec, 'CPU per relayed packet, ' + what, 'us',
                            '.2f', tp, ctx.med(('cpu', 'floor', size, n)),
                            'floor', '<= 1.2'))
            rows.append(row(sec, 'relayed packets/s, ' + what, '', '.0f',
                            ctx.med(('pps', 'turnpike', size, n)),
                            ctx.med(('pps', 'coturn', size, n)), 'coturn'))
    if do_lat:
        sec = 'TURN/UDP latency, 10 sessions, window 1, 100 B, one-way, ' \
            + KERNEL
        for q, target in (('50', ''), ('99', '<= 1')):
            rows.append(row(sec, 'p%s through the relay' % q, 'us', '.0f',
                            ctx.med(('lat' + q, 'turnpike')),
                            ctx.med(('lat' + q, 'coturn')), 'coturn',
                            target))
    # No targets here: coturn relays these through the kernel.
    sec = 'TURN/UDP closed loop and latency, ' + HAIRPIN
    for size in sizes if do_closed else []:
        for n in sessions:
            rows.append(row(sec, 'CPU per relayed packet, %d B, %d sessions'
                            % (size, n), 'us', '.2f',
                            ctx.med(('cpu', 'hairpin', size, n)),
                            ctx.med(('cpu', 'coturn', size, n)), 'coturn'))
    if do_lat:
        for q in ('50', '99'):
            rows.append(row(sec, 'p%s through the relay, 10 sessions' % q,
                            'us', '.0f', ctx.med(('lat' + q, 'hairpin')),
                            ctx.med(('lat' + q, 'coturn')), 'coturn'))


def paced(ctx, rows):
    """1000 sessions at 50 packets/s each, 100 B: 100,000 relayed packets/s.
    The floor runs at the same relayed rate: 2000 sessions, since a packet
    crosses it once."""
    s = ctx.s
    for run in range(s['runs']):
        for kind in ordered(['turnpike', 'hairpin', 'coturn', 'floor'], run):
            n = 2000 if kind == 'floor' else 1000
            with Server(ctx, kind, relay_ports=1100) as srv:
                r = flow(ctx, srv, 'paced, %d x 50/s' % n, n, 100,
                         s['paced_duration'], s['paced_warmup'], rate=50)
                ctx.add(('pcpu', kind), get(r, 'cpu_us_per_relayed'))
                ctx.add(('p99', kind), get(r, 'lat_us', 'p99'))
                ctx.add(('p50', kind), get(r, 'lat_us', 'p50'))
                sent, lost = get(r, 'sent'), get(r, 'lost')
                ctx.add(('ploss', kind),
                        100.0 * lost / sent if sent and lost is not None
                        else None)
    for kind, how in (('turnpike', KERNEL), ('hairpin', HAIRPIN)):
        sec = 'TURN/UDP paced, 1000 sessions x 50 packets/s, 100 B, ' + how
        cpu_target, p99_target = ('<= 0.6', '<= 0.25') \
            if kind == 'turnpike' else ('', '')
        rows.append(row(sec, 'CPU per relayed packet', 'us', '.2f',
                        ctx.med(('pcpu', kind)), ctx.med(('pcpu', 'coturn')),
                        'coturn', cpu_target))
        rows.append(row(sec, 'one-way p50', 'us', '.0f',
                        ctx.med(('p50', kind)), ctx.med(('p50', 'coturn')),
                        'coturn'))
        rows.append(row(sec, 'one-way p99', 'us', '.0f',
                        ctx.med(('p99', kind)), ctx.med(('p99', 'coturn')),
                        'coturn', p99_target))
        rows.append(row(sec, 'packets lost', '%', '.2f',
                        ctx.med(('ploss', kind)),
                        ctx.med(('ploss', 'coturn')), 'coturn'))
        if kind != 'turnpike':
            continue
        # The floor, paced at the same relayed rate, costs about what the
        # targets allow: they sit at what a forwarder doing nothing costs.
        # A packet crosses the floor once, a TURN server twice (p99).
        for what, key, spec in (('CPU per relayed packet', 'pcpu', '.2f'),
                                ('one-way p99 (the floor: 1 crossing)',
                                 'p99', '.0f')):
            rows.append(row(sec, what, 'us', spec, ctx.med((key, kind)),
                            ctx.med((key, 'floor')), 'floor'))
        for what, key, spec in (
                ('the floor at the same rate: CPU per relayed packet',
                 'pcpu', '.2f'),
                ('the floor at the same rate: one-way p99, 1 crossing',
                 'p99', '.0f')):
            rows.append(row(sec, what, 'us', spec, ctx.med((key, 'floor')),
                            ctx.med((key, 'coturn')), 'coturn'))


def allocations(ctx, rows):
    """Allocation rate, RSS per held allocation, most allocations held."""
    s, parts = ctx.s, ctx.args.turn_parts.split(',')
    sec = 'TURN/UDP allocations'
    if 'alloc' in parts:
        n = s['allocs']
        for run in range(s['runs']):
            for kind in ordered(['turnpike', 'coturn'], run):
                with Server(ctx, kind, relay_ports=n + 100) as srv:
                    r = alloc(ctx, srv, 'allocate %d' % n, n)
                    if r is not None and r.get('ok') != n:
                        ctx.note('%s made %s of %d allocations'
                                 % (kind, r.get('ok'), n))
                    ctx.add(('rate', kind), get(r, 'rate'))
                    ctx.add(('acpu', kind), get(r, 'cpu_us_per_alloc'))
        rows.append(row(sec, 'allocations/s, %d, 128 in flight' % n, '',
                        '.0f', ctx.med(('rate', 'turnpike')),
                        ctx.med(('rate', 'coturn')), 'coturn', '>= 2'))
        rows.append(row(sec, 'CPU per allocation', 'us', '.1f',
                        ctx.med(('acpu', 'turnpike')),
                        ctx.med(('acpu', 'coturn')), 'coturn'))
    if 'rss' in parts:
        n = s['rss_allocs']
        for run in range(s['runs']):
            for kind in ordered(['turnpike', 'coturn'], run):
                rss_run(ctx, kind, n)
        rows.append(row(sec, 'RSS per allocation, %d held' % n, 'KiB', '.2f',
                        ctx.med(('rss', 'turnpike')),
                        ctx.med(('rss', 'coturn')), 'coturn',
                        'turnpike <= 4'))
        rows.append(row(sec, 'allocations held of %d' % n, '', '.0f',
                        ctx.med(('held', 'turnpike')),
                        ctx.med(('held', 'coturn')), 'coturn'))
        rows.append(row(sec, 'RSS idle, fresh server', 'KiB', '.0f',
                        ctx.med(('rss0', 'turnpike')),
                        ctx.med(('rss0', 'coturn')), 'coturn'))
    if 'max' in parts:
        n, ports = s['max_allocs'], s['max_allocs'] + 100
        for kind in ('turnpike', 'coturn'):
            with Server(ctx, kind, relay_ports=ports, at_least=2000) as srv:
                got = srv.hi - srv.lo + 1
                if got < ports:
                    ctx.note('only %d free ports in a row for the relay '
                             'range, not %d' % (got, ports))
                    ports = got
                r = alloc(ctx, srv, 'allocate %d, %d ports' % (n, got), n)
                ctx.add(('max', kind), get(r, 'ok'))
        rows.append(row(sec, 'allocations on one relay IP, %d ports' %
                        ports, '', '.0f', ctx.med(('max', 'turnpike')),
                        ctx.med(('max', 'coturn')), 'coturn',
                        'turnpike = %d' % n))


def rss_run(ctx, kind, n):
    """A fresh server: RSS idle, then with n allocations held."""
    with Server(ctx, kind, relay_ports=n + 100, at_least=n // 2) as srv:
        if srv.hi - srv.lo + 1 < n + 100:
            ctx.note('only %d free ports in a row for the relay range, not '
                     '%d' % (srv.hi - srv.lo + 1, n + 100))
        time.sleep(0.3)
        before = rss_kib(srv.pid)
        held = {}

        def measure_held(r):
            time.sleep(0.5)
            if srv.alive():
                held['rss'] = rss_kib(srv.pid)
        r = alloc(ctx, srv, 'hold %d' % n, n, hold=measure_held)
        ok = get(r, 'ok')
        per = None
        if ok and 'rss' in held:
            per = (held['rss'] - before) / ok
            say('%-11s %-26s RSS %d KiB -> %d KiB: %.2f KiB each'
                % (kind, 'hold %d' % n, before, held['rss'], per))
        if r is not None and ok != n:
            ctx.note('%s held %s of %d allocations' % (kind, ok, n))
        ctx.add(('rss', kind), per)
        ctx.add(('held', kind), ok)
        ctx.add(('rss0', kind), before)


def make_cert(ctx):
    cert = os.path.join(ctx.workdir, 'cert.pem')
    key = os.path.join(ctx.workdir, 'key.pem')
    argv = ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key,
            '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1']
    try:
        subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        ctx.problem('openssl could not make a certificate: %s' % e)
        return False
    ctx.cert, ctx.pkey = cert, key
    return True


def transports(ctx, rows):
    """TURN over TCP and TLS: 20 sessions, window 8, 100 B."""
    s = ctx.s
    tls = make_cert(ctx)
    trs = ['tcp', 'tls'] if tls else ['tcp']
    for run in range(s['runs']):
        for kind in ordered(['turnpike', 'coturn'], run):
            with Server(ctx, kind, tls=tls) as srv:
                for tr in trs:
                    r = flow(ctx, srv, '%s, 20 sessions' % tr.upper(), 20,
                             100, s['tcp_duration'], s['warmup'], window=8,
                             transport=tr)
                    ctx.add(('tcpu', kind, tr), get(r, 'cpu_us_per_relayed'))
                    ctx.add(('tpps', kind, tr), get(r, 'relayed_per_s'))
    sec = 'TURN over TCP and TLS, 20 sessions, window 8, 100 B, ' + KERNEL
    for tr in ['tcp', 'tls']:
        rows.append(row(sec, 'CPU per relayed packet, %s' % tr.upper(), 'us',
                        '.2f', ctx.med(('tcpu', 'turnpike', tr)),
                        ctx.med(('tcpu', 'coturn', tr)), 'coturn', '<= 1'))
        rows.append(row(sec, 'relayed packets/s, %s' % tr.upper(), '', '.0f',
                        ctx.med(('tpps', 'turnpike', tr)),
                        ctx.med(('tpps', 'coturn', tr)), 'coturn'))


def workers(ctx, rows):
    """Saturation throughput with 1 and 2 workers (relay threads)."""
    s = ctx.s
    cfgs = [('turnpike', 1), ('turnpike', 2), ('coturn', 1), ('coturn', 2)]
    for run in range(s['runs']):
        got = {}
        for kind, t in ordered(cfgs, run):
            with Server(ctx, kind, threads=t) as srv:
                r = flow(ctx, srv, 'saturation, 200 sessions', 200, 100,
                         s['sat_duration'], s['warmup'], window=32)
                got[kind, t] = get(r, 'relayed_per_s')
                ctx.add(('sat', kind, t), got[kind, t])
                ctx.add(('satcpu', kind, t), get(r, 'cpu_us_per_relayed'))
        for kind in ('turnpike', 'coturn'):
            one, two = got[kind, 1], got[kind, 2]
            ctx.add(('scale', kind), two / one if one and two else None)
    sec = 'TURN/UDP saturation, 200 sessions, window 32, 100 B, ' + KERNEL
    for t in (1, 2):
        rows.append(row(sec, 'relayed packets/s, %d worker%s'
                        % (t, 's' if t > 1 else ''), '', '.0f',
                        ctx.med(('sat', 'turnpike', t)),
                        ctx.med(('sat', 'coturn', t)), 'coturn'))
    for t in (1, 2):
        rows.append(row(sec, 'CPU per relayed packet, %d worker%s'
                        % (t, 's' if t > 1 else ''), 'us', '.2f',
                        ctx.med(('satcpu', 'turnpike', t)),
                        ctx.med(('satcpu', 'coturn', t)), 'coturn'))
    rows.append(row(sec, '2 workers / 1 worker', 'x', '.2f',
                    ctx.med(('scale', 'turnpike')),
                    ctx.med(('scale', 'coturn')), 'coturn',
                    'turnpike >= 1.6'))

# ------------------------------------------------------------------ driver


def check_tools(args):
    """Paths of the programs measure() needs; RuntimeError if one lacks."""
    args.turnserver = shutil.which('turnserver')
    if not args.turnserver:
        raise RuntimeError('turnserver not found (scripts/deps.sh test '
                           'installs coturn)')
    for path, how in ((args.turnpike, 'make'),
                      (args.turn_load, 'make bench-tools'),
                      (args.turn_floor, 'make bench-tools')):
        if not os.access(path, os.X_OK):
            raise RuntimeError('%s not built (%s)' % (path, how))
    want, hard = raise_nofile_limit()
    if min(want, hard) < 15000 + 1000:
        raise RuntimeError('open-file limit %d too low for 15000 '
                           'allocations' % hard)


def measure(args, workdir):
    """Every TURN figure; a list of bench_common.row() dicts.  What could
    not be measured is printed as PROBLEM: and added to args.problems."""
    if not hasattr(args, 'problems'):
        args.problems = []
    ctx = Context(args, workdir)
    try:
        check_tools(args)
    except RuntimeError as e:
        ctx.problem('TURN: %s' % e)
        args.problems += ctx.problems
        return []
    ver = tool_output([args.turnpike, '--version']) or '?'
    co = (tool_output([args.turnserver, '--version']) or '?').splitlines()
    print('TURN bench: %s, coturn %s; %d CPUs, load avg %s; %d run(s), '
          'median reported%s' % (ver, co[0] if co else '?', os.cpu_count(),
                                 load_avg(), ctx.s['runs'],
                                 ' (--quick)' if args.quick else ''))
    sys.stdout.flush()
    parts = args.turn_parts.split(',')
    blocks = [(closed_loop, ('closed', 'latency')), (paced, ('paced',)),
              (allocations, ('alloc', 'rss', 'max')), (transports, ('tcp',)),
              (workers, ('workers',))]
    rows = []
    started = time.monotonic()
    for fn, names in blocks:
        if not any(n in parts for n in names):
            continue
        t0 = time.monotonic()
        try:
            fn(ctx, rows)
        except (RuntimeError, OSError) as e:
            ctx.problem('TURN %s: %s' % ('/'.join(names), e))
        say('(%s: %.0f s)' % ('/'.join(names), time.monotonic() - t0))
    say('TURN total %.0f s' % (time.monotonic() - started))
    args.problems += ctx.problems
    return rows


def main():
    return bench_main(__doc__, [sys.modules[__name__]], 'turnpike-turn-bench-')


if __name__ == '__main__':
    sys.exit(main())
