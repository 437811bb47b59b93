"""Helpers shared by bench/turn_bench.py and bench/sig_bench.py.

Process hygiene (children stopped by PID, bounded waits), free loopback
ports, /proc readings, medians, shared options and the one table.  Stdlib
only.
"""

import argparse
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')

# ------------------------------------------------------------ process hygiene

_children = {}          # pid -> Popen, everything we started and not reaped


def track(p):
    """Remember a child started elsewhere so _stop_all() reaches it."""
    _children[p.pid] = p
    return p


def untrack(p):
    _children.pop(p.pid, None)


def _stop(p, grace=5.0):
    """Stop one child by PID: SIGTERM, bounded wait, then SIGKILL."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=5)
    _children.pop(p.pid, None)


def _stop_all():
    for p in list(_children.values()):
        _stop(p, grace=2.0)


def _on_signal(signum, frame):
    _stop_all()
    sys.exit(128 + signum)


def install_stop_handlers():
    """Stop every tracked child at exit, on SIGTERM and on SIGINT."""
    import atexit
    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def spawn(argv, log_path, env=None):
    """Start argv with stdout and stderr appended to log_path; tracked."""
    with open(log_path, 'ab') as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, env=env)
    return track(p)

# ---------------------------------------------------------------- options


def add_shared_options(ap):
    """The options bench/turn_bench.py and bench/sig_bench.py share."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument('--runs', type=int, default=3,
                    help='runs per figure; the median is reported '
                    '(default 3)')
    ap.add_argument('--quick', action='store_true',
                    help='1 run, shorter loads (a smoke test, not a '
                    'measurement)')
    ap.add_argument('--keep', action='store_true',
                    help='keep the work directory (server and load logs)')
    ap.add_argument('--turnpike',
                    default=os.path.join(repo, 'bin', 'turnpike'))

# ------------------------------------------------------------------ ports


def port_pool():
    """Below the kernel's ephemeral range, so no client socket takes a port
    between our check and the server's bind (as tests/integration/lib.py)."""
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    return 10000, max(lo - 1, 12000)


def _bindable(port, kinds=(socket.SOCK_DGRAM, socket.SOCK_STREAM)):
    try:
        for k in kinds:
            with socket.socket(socket.AF_INET, k) as s:
                s.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False


def free_port(taken):
    """A port free for UDP and TCP on 127.0.0.1, not in taken (added)."""
    lo, hi = port_pool()
    for _ in range(500):
        p = random.randint(lo, hi)
        if p not in taken and _bindable(p):
            taken.add(p)
            return p
    raise RuntimeError('no free port found')


def free_range(n, taken):
    """n consecutive ports free for UDP (relay ports are UDP here)."""
    lo, hi = port_pool()
    for _ in range(100):
        a = random.randint(lo, hi - n)
        rng = range(a, a + n)
        if any(p in taken for p in rng):
            continue
        if all(_bindable(p, (socket.SOCK_DGRAM,)) for p in rng):
            taken.update(rng)
            return a, a + n - 1
    raise RuntimeError('no free range of %d ports found' % n)


def wait_until(pred, timeout, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False

# ------------------------------------------------------------------ /proc


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    # fields[0] is field 3 (state); utime, stime are fields 14, 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS for pid %d' % pid)


def raise_nofile_limit():
    """Raise the soft open-file limit to the hard one (65536 if unlimited);
    returns (the limit wanted, the hard limit)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want, hard

# ------------------------------------------------------------------ versions


def tool_output(argv, timeout=5):
    """A tool's stripped stdout ('' when empty), or None if it did not run."""
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def load_avg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])

# -------------------------------------------------------------------- table


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, spec):
    return '-' if v is None else format(v, spec)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return '-'
    return '%.2f' % (a / b)

# ------------------------------------------------------------ the one table
#
# Each benchmark module (bench/turn_bench.py, bench/sig_bench.py) returns a
# list of rows; bench/run.py prints them all in one table.  A row:
#
#   {'section': 'TURN/UDP closed loop',     # groups rows under a heading
#    'figure': 'CPU per relayed packet, 100 B, 20 sessions',
#    'unit': 'us',                           # printed after the values
#    'spec': '.2f',                          # format of the two values
#    'turnpike': 3.1,                        # None when not measured
#    'reference': 4.2, 'ref': 'coturn',      # the other server/tool
#    'target': '<= 0.75'}                    # the target for the
#                                            # ratio turnpike/reference, or ''
#
# The ratio column is turnpike / reference.  A reference row that compares
# with the bare forwarder says 'ref': 'floor'.


def row(section, figure, unit, spec, turnpike, reference, ref, target=''):
    return {'section': section, 'figure': figure, 'unit': unit,
            'spec': spec, 'turnpike': turnpike, 'reference': reference,
            'ref': ref, 'target': target}


def print_table(rows, out=sys.stdout):
    """One table: figure | turnpike | reference (name) | ratio | target."""
    head = ('figure', 'turnpike', 'reference', 'ratio', 'target')
    if not rows:
        print('(nothing measured)', file=out)
        return
    lines, section = [], None
    for r in rows:
        if r['section'] != section:
            section = r['section']
            lines.append(('## ' + section,))
        unit = (' ' + r['unit']) if r['unit'] else ''
        tp = fmt(r['turnpike'], r['spec'])
        rf = fmt(r['reference'], r['spec'])
        lines.append((r['figure'],
                      tp + (unit if tp != '-' else ''),
                      rf + (unit if rf != '-' else '') + ' ' + r['ref'],
                      ratio(r['turnpike'], r['reference']),
                      r.get('target', '')))
    widths = [max(len(head[i]), *(len(l[i]) for l in lines if len(l) > 1))
              for i in range(len(head))]

    def fmt_line(cells):
        return ('| ' + ' | '.join(c.ljust(widths[i])
                                  for i, c in enumerate(cells)) + ' |')
    print(fmt_line(head), file=out)
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|', file=out)
    for l in lines:
        if len(l) == 1:
            print('| ' + l[0] + ' |', file=out)
        else:
            print(fmt_line(l), file=out)


# -------------------------------------------------------------------- main


def bench_main(doc, modules, prefix):
    """The command line of bench/run.py and of each module run alone: the
    options of `modules` (each has NAME, add_arguments, measure), their
    rows in one table; exit status 1 when something could not be
    measured, never because of the numbers."""
    ap = argparse.ArgumentParser(description=doc.split('\n')[0])
    if len(modules) > 1:
        ap.add_argument('--only', choices=[m.NAME for m in modules],
                        help='run one of them only')
    add_shared_options(ap)
    for m in modules:
        m.add_arguments(ap)
    args = ap.parse_args()
    args.problems = []
    install_stop_handlers()
    workdir = tempfile.mkdtemp(prefix=prefix)
    start = time.monotonic()
    coturn = (tool_output(['turnserver', '--version']) or '?').splitlines()
    print('# machine: %s, %d CPUs; load average %s' % (
        platform.platform(), os.cpu_count(), load_avg()))
    busy = float(load_avg().split()[0])
    if busy > 0.5 * (os.cpu_count() or 1):
        print('# note: the machine is already busy (load %.2f): CPU per '
              'unit of work will be noisier than usual' % busy)
    print('# coturn: %s; node: %s' % (coturn[-1] if coturn else '?',
                                      tool_output(['node', '--version'])))
    rows = []
    for m in modules:
        if getattr(args, 'only', None) in (None, m.NAME):
            rows += m.measure(args, workdir)
    print()
    print_table(rows)
    print()
    print('# %.0f s; load average now %s' % (time.monotonic() - start,
                                             load_avg()))
    for p in args.problems:
        print('PROBLEM: %s' % p)
    keep = args.keep or args.problems
    print('# logs in %s' % (workdir if keep else '(removed)'))
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if args.problems else 0
