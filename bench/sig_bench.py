#!/usr/bin/python3
"""WebSocket signaling: turnpike against a Node `ws` tutorial server, one table.

See bench/README.md for what each figure means and how far to trust it.
A benchmark, not a test: it exits 0 whenever it could measure, whatever the
numbers are, and 1 only when something could not be measured.

    /usr/bin/python3 bench/sig_bench.py [--quick] [--runs 3] [--keep]

The load comes from build/release/bench/sig_load (`make bench-tools`); the
reference server is bench/tutorial_server.js on Node's `ws` package (from
tests/browser/node_modules).  The join load also runs against
build/release/bench/ws_floor, the least a WebSocket server can do for it.
Everything runs on 127.0.0.0/8 with ports picked free at run time; every
process it starts is stopped by PID; every wait is bounded.

As a module (bench/run.py): add_arguments(ap), then measure(args, workdir)
returns the table's rows; what could not be measured is printed as a
`PROBLEM:` line and appended to args.problems.
"""

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import time

from bench_common import (
    bench_main, free_port, load_avg, median,
    raise_nofile_limit, row, rss_kib, spawn, _stop, tool_output, track,
    untrack, wait_until)

NAME = 'sig'                    # bench/run.py --only sig
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TOOLS = os.path.join(REPO, 'build', 'release', 'bench')
NODE_MODULES = os.path.join(REPO, 'tests', 'browser', 'node_modules')
KINDS = ('turnpike', 'node', 'floor')
SECTION_MSG = 'Signaling: forwarding'
SECTION_CONN = 'Signaling: connections'

# ----------------------------------------------------------------- options


def add_arguments(ap):
    """This module's options (bench_common adds --runs, --quick, --keep,
    --turnpike)."""
    ap.add_argument('--node', default=shutil.which('node') or 'node')
    ap.add_argument('--sig-load', default=os.path.join(TOOLS, 'sig_load'))
    ap.add_argument('--ws-floor', default=os.path.join(TOOLS, 'ws_floor'))
    ap.add_argument('--sig-servers', default='turnpike,node,floor',
                    help='run only some of them, or change the order '
                    '(floor: the join load only)')
    ap.add_argument('--sig-pairs', type=int, default=200,
                    help='rooms of 2 exchanging messages (default 200)')
    ap.add_argument('--sig-sizes', default='300,4096',
                    help='message bytes (< 1000: candidate; else '
                    'offer/answer; default 300,4096)')
    ap.add_argument('--sig-window', type=int, default=4,
                    help='closed loop: messages in flight per direction '
                    '(default 4)')
    ap.add_argument('--sig-rate', type=float, default=40,
                    help='paced messages/s per connection, used when '
                    'turnpike has no signal-rate option (default 40: under '
                    'its fixed 50/s limit)')
    ap.add_argument('--sig-duration', type=float, default=None,
                    help='seconds measured per message load (default 4, '
                    '--quick 1)')
    ap.add_argument('--sig-idle', type=int, default=2000,
                    help='idle joined connections for RSS (default 2000)')
    ap.add_argument('--sig-max-conns', type=int, default=19900,
                    help='connections for the held figure, one run '
                    '(default 19900; 0 skips it)')
    ap.add_argument('--sig-join-conns', type=int, default=16000,
                    help='connections for the join rate (default 16000)')
    ap.add_argument('--sig-concurrency', type=int, default=256,
                    help='connects in flight (default 256)')
    ap.add_argument('--sig-src', default='127.0.2.1-32',
                    help='client source addresses (default 127.0.2.1-32)')
    ap.add_argument('--sig-step-timeout', type=float, default=30.0,
                    help='seconds any one step of sig_load may take')


def _settings(args):
    q = args.quick
    return {
        'runs': 1 if q else max(1, args.runs),
        'duration': args.sig_duration or (1.0 if q else 4.0),
        'warmup': 0.5 if q else 1.0,
        'join_conns': min(args.sig_join_conns, 1000) if q
        else args.sig_join_conns,
        'max_conns': min(args.sig_max_conns, 4000) if q
        else args.sig_max_conns,
    }

# ------------------------------------------------------------------ servers


def http_answers(port, timeout=0.3):
    """True once something on 127.0.0.1:port answers an HTTP request
    (turnpike: 200 on /healthz; ws, ws_floor: 426 Upgrade Required)."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout) as s:
            s.settimeout(timeout)
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                      b'Connection: close\r\n\r\n')
            return s.recv(16).startswith(b'HTTP/1.1 ')
    except OSError:
        return False


def has_signal_rate(turnpike):
    """Whether this turnpike has the signal-rate option (0 = no limit)."""
    out = tool_output([turnpike, '--help']) or ''
    return '--signal-rate' in out


class Server:
    """One signaling server on ws://127.0.0.1:sport/ws."""

    def __init__(self, kind, args, workdir, taken, tag, unlimited):
        self.kind, self.args, self.workdir = kind, args, workdir
        self.taken, self.tag, self.unlimited = taken, tag, unlimited
        self.port = free_port(taken)            # turnpike's TURN port
        self.sport = free_port(taken)
        self.proc = None
        self.log = os.path.join(workdir, '%s-%s-%d.log'
                                % (kind, tag, self.sport))

    @property
    def url(self):
        return 'ws://127.0.0.1:%d/ws' % self.sport

    @property
    def pid(self):
        return self.proc.pid

    def argv(self):
        if self.kind == 'turnpike':
            a = [self.args.turnpike, '-n', '-L', '127.0.0.1',
                 '-p', str(self.port), '--signal-port', str(self.sport),
                 '--signal-room-max', '2', '--no-tls', '-m', '1',
                 '--log-file', 'stdout']
            if self.unlimited:
                a += ['--signal-rate', '0']
            return a
        if self.kind == 'floor':
            return [self.args.ws_floor, '--listen',
                    '127.0.0.1:%d' % self.sport]
        return [self.args.node, os.path.join(HERE, 'tutorial_server.js'),
                '--port', str(self.sport), '--room-max', '2']

    def __enter__(self):
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        self.proc = spawn(self.argv(), self.log, env)
        if not wait_until(lambda: self.proc.poll() is not None or
                          http_answers(self.sport), 10):
            self.__exit__()
            raise RuntimeError('%s did not answer HTTP within 10 s; log %s'
                               % (self.kind, self.log))
        if self.proc.poll() is not None:
            raise RuntimeError('%s exited with %s at start-up; log %s'
                               % (self.kind, self.proc.returncode, self.log))
        time.sleep(0.3)                 # let start-up allocations settle
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            _stop(self.proc)
        self.taken.discard(self.port)
        self.taken.discard(self.sport)

    def alive(self):
        return self.proc.poll() is None

    def warnings(self):
        """turnpike's log lines above INFO (the Node server logs nothing)."""
        if self.kind != 'turnpike':
            return []
        try:
            with open(self.log, errors='replace') as f:
                return [ln.rstrip() for ln in f
                        if ' INFO ' not in ln and ln.strip()]
        except OSError:
            return []

# --------------------------------------------------------------------- load


class Ctx:
    def __init__(self, args, workdir):
        self.args, self.workdir = args, workdir
        self.s = _settings(args)
        self.problems = []
        self.notes = []

    def problem(self, text):
        print('PROBLEM: ' + text)
        sys.stdout.flush()
        self.problems.append(text)


def _result(line):
    try:
        return json.loads(line[len('# result '):])
    except ValueError:
        return None


def gen_argv(ctx, srv, mode, *extra):
    a = ctx.args
    return [a.sig_load, '--url', srv.url, '--pid', str(srv.pid),
            '--mode', mode, '--src', a.sig_src,
            '--timeout', '%g' % a.sig_step_timeout,
            '--concurrency', str(a.sig_concurrency)] + [str(x) for x in extra]


def gen_ok(ctx, srv, what, p, res, log):
    """Did sig_load end well with a result? Else a PROBLEM naming its log."""
    if res is not None and p.returncode == 0:
        return True
    ctx.problem('%s %s: sig_load exit %s, %s; log %s'
                % (srv.kind, what, p.returncode,
                   'result ' + json.dumps(res) if res else 'no result', log))
    return False


def run_gen(ctx, srv, mode, what, extra, budget):
    """sig_load in join or msg mode; its result, or None (a PROBLEM)."""
    log = os.path.join(ctx.workdir, 'sig_load-%s-%s-%s.log'
                       % (srv.kind, srv.tag, what))
    with open(log, 'ab') as err:
        p = track(subprocess.Popen(gen_argv(ctx, srv, mode, *extra),
                                   stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=err))
        try:
            out, _ = p.communicate(timeout=budget)
        except subprocess.TimeoutExpired:
            _stop(p, grace=2.0)
            ctx.problem('%s %s: sig_load took over %d s; log %s'
                        % (srv.kind, what, budget, log))
            return None
        untrack(p)
    res = None
    for line in out.decode(errors='replace').splitlines():
        if line.startswith('# result '):
            res = _result(line)
    if not srv.alive():
        ctx.problem('%s %s: the server exited with %s; log %s'
                    % (srv.kind, what, srv.proc.returncode, srv.log))
        return None
    if not gen_ok(ctx, srv, what, p, res, log):
        return None
    return res


def run_hold(ctx, srv, conns, what):
    """sig_load hold: RSS before, the result, RSS while held, the closes
    seen while held."""
    log = os.path.join(ctx.workdir, 'sig_load-%s-%s-%s.log'
                       % (srv.kind, srv.tag, what))
    timeout = max(ctx.args.sig_step_timeout, conns / 500.0)
    before = rss_kib(srv.pid)
    argv = gen_argv(ctx, srv, 'hold', '--conns', conns)
    argv[argv.index('--timeout') + 1] = '%g' % timeout
    res, after, held = None, None, None
    with open(log, 'ab') as err:
        p = track(subprocess.Popen(argv, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=err))
        try:
            lines = _read_until(p, timeout + 10)
            for line in lines:
                if line.startswith('# result '):
                    res = _result(line)
            if res is not None and not res.get('timed_out'):
                time.sleep(1.0)         # let the server's allocator settle
                if srv.alive():
                    held = rss_kib(srv.pid)
            try:
                p.stdin.write(b'\n')
                p.stdin.flush()
            except BrokenPipeError:
                pass                    # it did not hold (timed out)
            out, _ = p.communicate(timeout=30)
            for line in out.decode(errors='replace').splitlines():
                if line.startswith('# after '):
                    try:
                        after = json.loads(line[len('# after '):])
                    except ValueError:
                        pass
        except (subprocess.TimeoutExpired, OSError) as e:
            ctx.problem('%s %s: sig_load hold: %s; log %s'
                        % (srv.kind, what, e, log))
            _stop(p, grace=2.0)
            return None
        untrack(p)
    if not gen_ok(ctx, srv, what, p, res, log):
        return None
    res['rss_before_kib'] = before
    res['rss_held_kib'] = held
    res['after'] = after or {}
    n = res.get('connected') or 0
    res['kib_per_conn'] = ((held - before) / n
                           if held is not None and n > 0 else None)
    return res


def _read_until(p, timeout):
    """stdout lines of p up to its '# result' line (or EOF), bounded."""
    end = time.monotonic() + timeout
    buf, lines = b'', []
    fd = p.stdout.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b'\n' in buf:
            line, buf = buf.split(b'\n', 1)
            lines.append(line.decode(errors='replace'))
            if lines[-1].startswith('# result '):
                return lines
    raise subprocess.TimeoutExpired(p.args, timeout)


def incidents(res):
    """'refused ECONNRESET x3, error rate-limited x7, ...' or ''."""
    out = []
    for key in ('refused', 'errors', 'closes'):
        for k, n in sorted((res.get(key) or {}).items()):
            out.append('%s %s x%d' % (key.rstrip('s'), k, n))
    return ', '.join(out)


def msg_load(ctx, unlimited, size):
    """sig_load msg arguments for one size: closed loop when turnpike can
    be run without its rate limit, else paced under it."""
    a, s = ctx.args, ctx.s
    pace = (['--window', a.sig_window] if unlimited
            else ['--rate', '%g' % a.sig_rate])
    return ['--pairs', a.sig_pairs, '--size', size] + pace + \
        ['--duration', s['duration'], '--warmup', s['warmup']]


def one_server(ctx, kind, run, unlimited, sizes):
    """One fresh server: RSS with idle joined connections, the join rate,
    then each message load. A dict of results (None where one failed)."""
    a, s = ctx.args, ctx.s
    out = {}
    taken = set()
    with Server(kind, a, ctx.workdir, taken, 'r%d' % run, unlimited) as srv:
        h = None
        if kind != 'floor':             # it holds no rooms: joins only
            out['idle'] = h = run_hold(ctx, srv, a.sig_idle, 'idle')
        if h:
            print('  sig run %d %-8s %d idle joined: RSS %s -> %s KiB, %s '
                  'KiB/conn%s' % (run, kind, h['joined'],
                                  h['rss_before_kib'], h['rss_held_kib'],
                                  _f(h['kib_per_conn'], '.2f'),
                                  _inc(h)))
        budget = 3 * a.sig_step_timeout + 10
        out['join'] = j = run_gen(ctx, srv, 'join', 'join',
                                  ['--conns', s['join_conns']], budget)
        if j:
            gen = j.get('gen_cpu_s')
            print('  sig run %d %-8s join: %d joins in %.2f s = %s/s, %s us '
                  'CPU each (generator %s us)%s'
                  % (run, kind, j['joins'], j['seconds'],
                     _f(j['join_rate'], '.0f'),
                     _f(j['cpu_us_per_join'], '.0f'),
                     _f(gen * 1e6 / j['joins'] if gen is not None and
                        j['joins'] else None, '.0f'), _inc(j)))
        for size in sizes if kind != 'floor' else ():
            budget = s['warmup'] + s['duration'] + 3 * a.sig_step_timeout + 10
            out[size] = m = run_gen(ctx, srv, 'msg', 'msg%d' % size,
                                    msg_load(ctx, unlimited, size), budget)
            if m:
                print('  sig run %d %-8s %5d B: %d fwd, %s msg/s, p50 %s '
                      'p99 %s ms, CPU %s s = %s us/msg (generator %s s)%s'
                      % (run, kind, size, m['forwarded'],
                         _f(m['msg_per_s'], '.0f'),
                         _f(m['lat_us']['p50'] / 1e3, '.2f'),
                         _f(m['lat_us']['p99'] / 1e3, '.2f'),
                         _f(m['server_cpu_s'], '.2f'),
                         _f(m['cpu_us_per_msg'], '.2f'),
                         _f(m['gen_cpu_s'], '.2f'), _inc(m)))
            sys.stdout.flush()
        ctx.notes += ['%s run %d log: %s' % (kind, run, w)
                      for w in srv.warnings()]
    return out


def max_server(ctx, kind, unlimited):
    """A fresh server holding --sig-max-conns joined connections."""
    with Server(kind, ctx.args, ctx.workdir, set(), 'max', unlimited) as srv:
        h = run_hold(ctx, srv, ctx.s['max_conns'], 'max')
        if h:
            print('  sig max    %-8s %d asked: %d connected, %d joined in '
                  '%.1f s, RSS %s KiB%s'
                  % (kind, h['conns'], h['connected'], h['joined'],
                     h['seconds'], h['rss_held_kib'], _inc(h)))
            sys.stdout.flush()
        ctx.notes += ['%s max log: %s' % (kind, w) for w in srv.warnings()]
    return h


def _f(v, spec):
    return '-' if v is None else format(v, spec)


def _inc(res):
    text = incidents(res)
    closed = (res.get('after') or {}).get('closed_by_server')
    if closed:
        text += (', ' if text else '') + '%d closed while held' % closed
    return '  [' + text + ']' if text else ''

# ------------------------------------------------------------------ figures


def _check(ctx, args):
    if not os.access(args.sig_load, os.X_OK):
        raise RuntimeError('%s not built (make bench-tools)' % args.sig_load)
    if 'turnpike' in args.sig_servers.split(',') and \
            not os.access(args.turnpike, os.X_OK):
        raise RuntimeError('%s not built (make)' % args.turnpike)
    if 'floor' in args.sig_servers.split(',') and \
            not os.access(args.ws_floor, os.X_OK):
        raise RuntimeError('%s not built (make bench-tools)' % args.ws_floor)
    if 'node' in args.sig_servers.split(','):
        if not (os.access(args.node, os.X_OK) or shutil.which(args.node)):
            raise RuntimeError('node not found (scripts/deps.sh test '
                               'installs it)')
        if not os.path.isfile(os.path.join(NODE_MODULES, 'ws',
                                           'package.json')):
            raise RuntimeError('%s/ws missing (scripts/deps.sh test runs '
                               'npm ci)' % NODE_MODULES)


def _versions(args):
    tp = tool_output([args.turnpike, '--version']) or '?'
    nv = tool_output([args.node, '--version']) or '?'
    try:
        with open(os.path.join(NODE_MODULES, 'ws', 'package.json')) as f:
            wsv = json.load(f).get('version', '?')
    except (OSError, ValueError):
        wsv = '?'
    return tp, nv, wsv


def measure(args, workdir):
    """The signaling rows of the table (bench_common.row); what could not
    be measured is printed as PROBLEM: and added to args.problems."""
    if not hasattr(args, 'problems'):
        args.problems = []
    ctx = Ctx(args, workdir)
    kinds = [k for k in args.sig_servers.split(',') if k]
    if any(k not in KINDS for k in kinds):
        raise SystemExit('bench: --sig-servers takes turnpike, node, floor')
    sizes = [int(x) for x in args.sig_sizes.split(',')]
    try:
        _check(ctx, args)
    except RuntimeError as e:
        ctx.problem(str(e))
        args.problems += ctx.problems
        return []
    want, _ = raise_nofile_limit()
    if want < args.sig_max_conns + 64:
        ctx.notes.append('open-file limit %d: the held figure asks for %d'
                         % (want, args.sig_max_conns))
    unlimited = 'turnpike' in kinds and has_signal_rate(args.turnpike)
    tp, nv, wsv = _versions(args)
    load = ('closed loop, window %d per direction, turnpike with '
            '--signal-rate 0' % args.sig_window if unlimited else
            'paced %g msg/s per connection (turnpike has no signal-rate '
            'option; its limit is 50/s)' % args.sig_rate)
    print('Signaling: %s vs Node %s ws %s tutorial server; load avg %s; '
          '%d run(s); %d pairs, %s' % (tp, nv, wsv, load_avg(),
                                       ctx.s['runs'], args.sig_pairs, load))
    sys.stdout.flush()

    res = {k: [] for k in kinds}
    maxr = {}
    started = time.monotonic()
    try:
        for run in range(ctx.s['runs']):
            order = kinds if run % 2 == 0 else kinds[::-1]
            for kind in order:
                res[kind].append(one_server(ctx, kind, run + 1, unlimited,
                                            sizes))
        if ctx.s['max_conns'] > 0:
            for kind in [k for k in kinds if k != 'floor']:
                maxr[kind] = max_server(ctx, kind, unlimited)
    except (RuntimeError, OSError) as e:
        ctx.problem(str(e))
    print('  sig: %.0f s' % (time.monotonic() - started))
    for n in ctx.notes[:20]:
        print('NOTE: ' + n)
    if len(ctx.notes) > 20:
        print('NOTE: ... %d more' % (len(ctx.notes) - 20))
    sys.stdout.flush()
    args.problems += ctx.problems
    return _rows(ctx, res, maxr, sizes, unlimited)


def _rows(ctx, res, maxr, sizes, unlimited):
    a = ctx.args

    def med(kind, *path):
        vals = []
        for r in res.get(kind, []):
            v = r
            for p in path:
                v = v.get(p) if isinstance(v, dict) else None
            vals.append(v)
        return median(vals)

    def both(*path):
        return med('turnpike', *path), med('node', *path)

    loadtxt = ('%d pairs, closed loop W%d' % (a.sig_pairs, a.sig_window)
               if unlimited else '%d pairs, paced %g/s/conn'
               % (a.sig_pairs, a.sig_rate))
    rows = []
    for size in sizes:
        sz = '%d B' % size if size < 1000 else '%g KB' % (size / 1024)
        tpv, nv = both(size, 'cpu_us_per_msg')
        rows.append(row(SECTION_MSG, 'CPU per forwarded message, %s, %s'
                        % (sz, loadtxt), 'us', '.2f', tpv, nv, 'node',
                        '<= 0.25' if size == 300 else ''))
        tpv, nv = both(size, 'lat_us', 'p99')
        rows.append(row(SECTION_MSG, 'one-way p99 latency, %s, %s'
                        % (sz, loadtxt), 'ms', '.2f',
                        tpv / 1e3 if tpv is not None else None,
                        nv / 1e3 if nv is not None else None, 'node'))
        tpv, nv = both(size, 'msg_per_s')
        rows.append(row(SECTION_MSG, 'forwarded msg/s, %s, %s'
                        % (sz, loadtxt), '', '.0f', tpv, nv, 'node'))
    tpv, nv = both('idle', 'kib_per_conn')
    rows.append(row(SECTION_CONN, 'RSS per joined idle connection (%d)'
                    % a.sig_idle, 'KiB', '.2f', tpv, nv, 'node',
                    '<= 2 KiB'))
    if maxr:
        t, n = maxr.get('turnpike'), maxr.get('node')

        def held(h):
            return h.get('joined') if h else None

        def why(kind, h):
            if not h:
                return None
            r = sum((h.get('refused') or {}).values())
            c = (h.get('after') or {}).get('closed_by_server', 0)
            if not r and not c:
                return None
            return '%s refused %d%s' % (
                kind, r, ', closed %d' % c if c else '')
        extra = [w for w in (why('turnpike', t), why('node', n)) if w]
        rows.append(row(SECTION_CONN, 'connections held, connected+joined '
                        '(%d asked%s)' % (ctx.s['max_conns'],
                                          '; ' + '; '.join(extra)
                                          if extra else ''),
                        '', '.0f', held(t), held(n), 'node',
                        '%d, none refused' % ctx.s['max_conns']))
    tp_rate, node_rate = both('join', 'join_rate')
    rows.append(row(SECTION_CONN, 'join rate, connect+upgrade+join, %d '
                    'in flight' % a.sig_concurrency, 'joins/s', '.0f',
                    tp_rate, node_rate, 'node', '>= 4'))
    tp_cpu, node_cpu = both('join', 'cpu_us_per_join')
    rows.append(row(SECTION_CONN, 'CPU per connect+join (and close)', 'us',
                    '.0f', tp_cpu, node_cpu, 'node'))
    if not res.get('floor'):
        return rows
    # What this machine allows: the same load against a server that does
    # nothing but answer it (bench/loadgen/ws_floor.c).
    floor_rate = med('floor', 'join', 'join_rate')
    rows.append(row(SECTION_CONN, 'join rate of the floor (ws_floor), same '
                    'load', 'joins/s', '.0f', floor_rate, node_rate, 'node'))
    rows.append(row(SECTION_CONN, 'join rate against the floor\'s',
                    'joins/s', '.0f', tp_rate, floor_rate, 'floor'))
    rows.append(row(SECTION_CONN, 'CPU per connect+join against the '
                    'floor\'s', 'us', '.0f', tp_cpu,
                    med('floor', 'join', 'cpu_us_per_join'), 'floor'))
    return rows

# --------------------------------------------------------------------- main


def main():
    return bench_main(__doc__, [sys.modules[__name__]], 'turnpike-sig-bench-')


if __name__ == '__main__':
    sys.exit(main())
