#!/usr/bin/python3
"""TURN over UDP: turnpike against coturn, same load, one run, one table.

See bench/README.md for what each figure means and how far to trust it.
A benchmark, not a test: it exits 0 whenever it could measure, whatever the
numbers are, and non-zero only when a server or tool could not be run.

    /usr/bin/python3 bench/turn_udp.py [--runs 3] [--threads 1] ...

Everything runs on 127.0.0.1 with ports picked free at run time; every
process it starts is stopped by PID; every wait is bounded.
"""

import os
import sys

# bench_common first: it imports the standard library's signal module before
# bench/signal.py (next to this file, on sys.path) can shadow it.
from bench_common import (  # noqa: E402
    _stop, cpu_seconds, fmt, free_port, free_range, install_stop_handlers,
    load_avg, median, raise_nofile_limit, ratio, rss_kib, spawn, tool_output,
    track, wait_until)

import argparse  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import turn_client  # noqa: E402  (the repo's raw TURN client, stdlib only)

USER, PASSWORD, REALM = 'u', 'p', 'bench'

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


def echo_ok(port, timeout=0.3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(b'ping', ('127.0.0.1', port))
            return s.recvfrom(64)[0] == b'ping'
        except OSError:
            return False


# ------------------------------------------------------------------ servers


class Server:
    """One TURN server on 127.0.0.1:port, relay ports [lo, hi]."""

    def __init__(self, kind, args, workdir, taken):
        self.kind, self.args, self.workdir = kind, args, workdir
        self.taken = taken
        self.port = free_port(taken)
        self.lo, self.hi = free_range(args.relay_ports, taken)
        self.proc = None
        self.log = None

    def argv(self):
        t = str(self.args.threads)
        if self.kind == 'turnpike':
            return [self.args.turnpike, '-n', '-L', '127.0.0.1',
                    '-p', str(self.port), '--relay-ip', '127.0.0.1',
                    '--min-port', str(self.lo), '--max-port', str(self.hi),
                    '-a', '-u', '%s:%s' % (USER, PASSWORD), '-r', REALM,
                    '--allow-loopback-peers', '--no-tls', '--no-dtls',
                    '--no-cli', '-m', t, '--log-file', 'stdout']
        return [self.args.turnserver, '-n', '--listening-ip=127.0.0.1',
                '--listening-port=%d' % self.port, '--relay-ip=127.0.0.1',
                '--min-port=%d' % self.lo, '--max-port=%d' % self.hi,
                '--lt-cred-mech', '--user=%s:%s' % (USER, PASSWORD),
                '--realm=%s' % REALM, '--allow-loopback-peers', '--no-cli',
                '--no-tls', '--no-dtls', '--relay-threads=%s' % t,
                '--log-file=stdout',
                '--pidfile=%s' % os.path.join(self.workdir, 'turnserver.pid')]

    def __enter__(self):
        self.log = os.path.join(self.workdir, '%s-%d.log' % (self.kind,
                                                              self.port))
        self.proc = spawn(self.argv(), self.log)
        if not wait_until(lambda: self.proc.poll() is not None or
                          binding_ok(self.port), 10):
            self.__exit__(None, None, None)
            raise RuntimeError('%s did not answer STUN within 10 s; log %s'
                               % (self.kind, self.log))
        if self.proc.poll() is not None:
            raise RuntimeError('%s exited with %s at start-up; log %s'
                               % (self.kind, self.proc.returncode, self.log))
        return self

    def __exit__(self, *exc):
        if self.proc is not None:
            _stop(self.proc)
        # UDP ports are free again at once: give them back for later servers.
        self.taken.discard(self.port)
        self.taken.difference_update(range(self.lo, self.hi + 1))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

# --------------------------------------------------------------------- load

PROGRESS_RE = re.compile(r'tot_send_msgs=(\d+), tot_recv_msgs=(\d+)')
LOST_RE = re.compile(r'Total lost packets (\d+) \(([\d.]+)%\), '
                     r'total send dropped (\d+)')


def run_uclient(args, srv, peer_port, length, workdir):
    """One turnutils_uclient load against srv; a dict of figures."""
    argv = [args.uclient, '-p', str(srv.port), '-e', '127.0.0.1',
            '-r', str(peer_port), '-u', USER, '-w', PASSWORD,
            '-m', str(args.sessions), '-n', str(args.msgs),
            '-z', str(args.interval), '-l', str(length), '-c', '127.0.0.1']
    log_path = os.path.join(workdir, 'uclient-%s-%d.log' % (srv.kind, length))
    cpu0 = cpu_seconds(srv.pid)
    t0 = time.monotonic()
    samples = []        # (t, sent, recv) as uclient prints them, once a second
    lost = dropped = None
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    track(p)
    deadline = t0 + args.load_timeout
    timed_out = False
    buf = b''
    with open(log_path, 'ab') as log:
        fd = p.stdout.fileno()
        while True:
            now = time.monotonic()
            if now > deadline:
                timed_out = True
                break
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:       # EOF
                    break
                now = time.monotonic()
                log.write(chunk)
                buf += chunk
                *lines, buf = buf.split(b'\n')
                for line in lines:
                    line = line.decode(errors='replace')
                    m = PROGRESS_RE.search(line)
                    if m:
                        samples.append((now, int(m.group(1)),
                                        int(m.group(2))))
                    m = LOST_RE.search(line)
                    if m:
                        lost, dropped = int(m.group(1)), int(m.group(3))
            elif p.poll() is not None:
                break
    _stop(p, grace=2.0)
    cpu1 = cpu_seconds(srv.pid) if srv.alive() else None
    res = {'wall': time.monotonic() - t0, 'ok': not timed_out and p.returncode == 0 and srv.alive(),
           'rc': p.returncode, 'timed_out': timed_out, 'log': log_path}
    if not samples:
        res.update(sent=0, recv=0, relayed=0, pps=None, cpu=None,
                   us_per_pkt=None, loss=None, mbps=None)
        return res
    sent, recv = samples[-1][1], samples[-1][2]
    relayed = sent + recv      # each message crosses the relay twice
    # Rate over the steady part: from the first progress line that shows
    # traffic to the first line that shows the final count.
    final = sent + recv
    first = next((s for s in samples if s[1] + s[2] > 0), None)
    last = next(s for s in samples if s[1] + s[2] == final)
    pps = None
    if first is not None and last[0] - first[0] >= 0.5:
        pps = (final - first[1] - first[2]) / (last[0] - first[0])
    cpu = None if cpu1 is None else cpu1 - cpu0
    res.update(setup=None if first is None else first[0] - t0,
               sent=sent, recv=recv, relayed=relayed, pps=pps, cpu=cpu,
               us_per_pkt=(cpu * 1e6 / relayed) if cpu is not None and
               relayed else None,
               loss=(100.0 * (sent - recv) / sent) if sent else None,
               mbps=(pps * length * 8 / 1e6) if pps else None,
               lost=lost, dropped=dropped)
    return res

# ---------------------------------------------------------------------- RSS


def rss_per_allocation(args, srv):
    """Hold args.allocs allocations on a fresh srv; KiB of RSS each."""
    base = rss_kib(srv.pid)
    clients = []
    failed = 0
    t0 = time.monotonic()
    try:
        for _ in range(args.allocs):
            if time.monotonic() - t0 > args.alloc_timeout:
                break
            c = turn_client.TurnClient(('127.0.0.1', srv.port), USER,
                                       PASSWORD, timeout=1.0)
            # turnpike answers at most 10 401s a second per source IP
            # (burst 20); coturn has no such limit. Spread the clients over
            # 250 loopback addresses (4 each) so this measures memory, not
            # the limiter.
            c.sock.close()
            c.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.sock.bind(('127.0.1.%d' % (1 + len(clients) % 250), 0))
            c.sock.settimeout(1.0)
            m = c.allocate()
            if m is None or m.is_error:
                failed += 1
                c.close()
                continue
            clients.append(c)
        t_alloc = time.monotonic() - t0
        time.sleep(0.5)
        held_rss = rss_kib(srv.pid) if srv.alive() else None
        held = len(clients)
    finally:
        released = 0
        for c in clients:
            try:
                m = c.refresh(0)
                released += m is not None and not m.is_error
            finally:
                c.close()
    time.sleep(0.3)
    after = rss_kib(srv.pid) if srv.alive() else None
    per = None
    if held_rss is not None and held:
        per = (held_rss - base) / held
    return {'base': base, 'held_rss': held_rss, 'after': after, 'held': held,
            'failed': failed, 'released': released, 'per': per,
            'alloc_s': t_alloc, 'ok': held == args.allocs and srv.alive()}

# -------------------------------------------------------------------- table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1,
                    help='relay-threads (-m) for both servers (default 1)')
    ap.add_argument('--sessions', type=int, default=20,
                    help='uclient -m (default 20)')
    ap.add_argument('--msgs', type=int, default=3000,
                    help='uclient -n, messages per session (default 3000)')
    ap.add_argument('--interval', type=int, default=1,
                    help='uclient -z, ms between packets (default 1)')
    ap.add_argument('--sizes', default='100,1200',
                    help='payload lengths, comma-separated')
    ap.add_argument('--allocs', type=int, default=1000)
    ap.add_argument('--relay-ports', type=int, default=1200)
    ap.add_argument('--load-timeout', type=float, default=60.0)
    ap.add_argument('--alloc-timeout', type=float, default=60.0)
    ap.add_argument('--servers', default='turnpike,coturn')
    ap.add_argument('--turnpike', default=os.path.join(REPO, 'bin', 'turnpike'))
    ap.add_argument('--keep', action='store_true',
                    help='keep the work directory (logs)')
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(',')]
    kinds = args.servers.split(',')

    for name, attr in (('turnserver', 'turnserver'),
                       ('turnutils_uclient', 'uclient'),
                       ('turnutils_peer', 'peer')):
        path = shutil.which(name)
        if not path:
            sys.exit('bench: %s not found (scripts/deps.sh test installs '
                     'coturn)' % name)
        setattr(args, attr, path)
    if not os.access(args.turnpike, os.X_OK):
        sys.exit('bench: %s not built (make)' % args.turnpike)
    if args.relay_ports < args.allocs + 50:
        sys.exit('bench: --relay-ports must exceed --allocs')

    want, hard = raise_nofile_limit()
    if min(want, hard) < args.allocs + 100:
        sys.exit('bench: open-file limit %d too low for %d allocations'
                 % (hard, args.allocs))

    install_stop_handlers()

    workdir = tempfile.mkdtemp(prefix='turnpike-bench-')
    taken = set()
    started = time.monotonic()
    ver = tool_output([args.turnpike, '--version'])
    if ver is None:
        ver = '?'
    rev = tool_output(['git', '-C', REPO, 'rev-parse', '--short', 'HEAD']) or ''
    print('TURN/UDP bench: %s (%s), coturn %s; %d CPUs, %s; load avg %s'
          % (ver or 'turnpike', rev or '?', coturn_version(args.turnserver),
             os.cpu_count(), platform.release(),
             load_avg()))
    print('relay-threads=%d both; load: turnutils_uclient -m %d -n %d -z %d '
          '-c via echo peer (channels), %d run(s), median reported'
          % (args.threads, args.sessions, args.msgs, args.interval,
             args.runs))
    sys.stdout.flush()

    load = {k: {n: [] for n in sizes} for k in kinds}
    rss = {k: [] for k in kinds}
    problems = []
    peer_port = free_port(taken)
    peer = spawn([args.peer, '-L', '127.0.0.1', '-p', str(peer_port)],
                 os.path.join(workdir, 'peer.log'))
    try:
        if not wait_until(lambda: echo_ok(peer_port), 10):
            sys.exit('bench: turnutils_peer did not echo; log in %s' % workdir)
        for run in range(args.runs):
            order = kinds if run % 2 == 0 else kinds[::-1]
            for kind in order:
                with Server(kind, args, workdir, taken) as srv:
                    for n in sizes:
                        r = run_uclient(args, srv, peer_port, n, workdir)
                        load[kind][n].append(r)
                        print('  run %d %-8s %5dB: sent %d recv %d, '
                              '%s relayed pkt/s, CPU %s s, %s us/pkt, '
                              'loss %s%% (%.0f s, traffic from %s s)%s'
                              % (run + 1, kind, n, r['sent'], r['recv'],
                                 fmt(r['pps'], '.0f'), fmt(r['cpu'], '.2f'),
                                 fmt(r['us_per_pkt'], '.2f'),
                                 fmt(r['loss'], '.3f'), r['wall'],
                                 fmt(r.get('setup'), '.1f'),
                                 '' if r['ok'] else '  [FAILED: rc=%s%s%s]' % (
                                     r['rc'],
                                     ' timeout' if r['timed_out'] else '',
                                     '' if srv.alive() else ' SERVER DIED')))
                        sys.stdout.flush()
                        if not r['ok']:
                            problems.append('%s %dB run %d failed, see %s'
                                            % (kind, n, run + 1, r['log']))
                        if not srv.alive():
                            break
                # A fresh server for RSS: memory freed by the load runs would
                # otherwise be reused and hide the per-allocation cost.
                with Server(kind, args, workdir, taken) as srv:
                    r = rss_per_allocation(args, srv)
                    rss[kind].append(r)
                    print('  run %d %-8s RSS: %d KiB -> %s KiB with %d '
                          'allocations (%.1f s to allocate; %d failed), '
                          '%s KiB after release: %s KiB each'
                          % (run + 1, kind, r['base'], r['held_rss'],
                             r['held'], r['alloc_s'], r['failed'],
                             r['after'], fmt(r['per'], '.2f')))
                    sys.stdout.flush()
                    if not r['ok']:
                        problems.append('%s RSS run %d: %d of %d allocations '
                                        'held' % (kind, run + 1, r['held'],
                                                  args.allocs))
    except (RuntimeError, OSError) as e:
        print('bench: %s; logs in %s' % (e, workdir))
        return 1
    finally:
        _stop(peer)

    def med(kind, n, key):
        return median([r[key] for r in load[kind][n]])

    rows = []
    for n in sizes:
        rows.append(('%dB relayed pkt/s' % n, 'pps', n, '.0f'))
        rows.append(('%dB Mbit/s (payload)' % n, 'mbps', n, '.1f'))
        rows.append(('%dB server CPU s' % n, 'cpu', n, '.2f'))
        rows.append(('%dB CPU us/pkt' % n, 'us_per_pkt', n, '.2f'))
    a, b = (kinds + [None])[:2]
    print()
    print('%-36s %14s %14s %7s' % ('metric', a, b or '', 'ratio'))
    for label, key, n, spec in rows:
        va = med(a, n, key)
        vb = med(b, n, key) if b else None
        print('%-36s %14s %14s %7s' % (label, fmt(va, spec), fmt(vb, spec),
                                       ratio(va, vb)))
    loss = {k: ' / '.join(fmt(med(k, n, 'loss'), '.2f') + '%' for n in sizes)
            for k in kinds}
    print('%-36s %14s %14s %7s' % ('loss ' + ' / '.join('%dB' % n
                                                        for n in sizes),
                                   loss[a], loss.get(b, ''), '-'))
    va = median([r['per'] for r in rss[a]])
    vb = median([r['per'] for r in rss[b]]) if b else None
    print('%-36s %14s %14s %7s' % ('RSS per allocation (KiB, %d held)'
                                   % args.allocs, fmt(va, '.2f'),
                                   fmt(vb, '.2f'), ratio(va, vb)))
    va = median([r['base'] for r in rss[a]])
    vb = median([r['base'] for r in rss[b]]) if b else None
    print('%-36s %14s %14s %7s' % ('RSS idle, fresh server (KiB)',
                                   fmt(va, '.0f'), fmt(vb, '.0f'),
                                   ratio(va, vb)))
    print()
    print('relayed packets = uclient tot_send_msgs + tot_recv_msgs (each '
          'message crosses the relay twice: client->peer and peer->client).')
    print('Throughput is noisy here (load generator, echo peer and server '
          'share %d CPUs); CPU us/pkt and RSS per allocation are the figures '
          'that hold.' % os.cpu_count())
    print('total time %.0f s; logs in %s' % (time.monotonic() - started,
                                             workdir if args.keep or problems
                                             else '(removed)'))
    for p in problems:
        print('PROBLEM: ' + p)
    if not (args.keep or problems):
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if problems else 0


def coturn_version(path):
    try:
        out = subprocess.run([path, '--version'], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        return out.splitlines()[0] if out else '?'
    except (OSError, subprocess.SubprocessError):
        return '?'


if __name__ == '__main__':
    sys.exit(main())
