#!/usr/bin/python3
"""`make bench`: TURN and signaling, turnpike against the references, one table.

    /usr/bin/python3 bench/run.py [--quick] [--runs 3] [--keep]
        [--only turn|sig] [any option of bench/turn_bench.py or sig_bench.py]

Runs bench/turn_bench.py's measurements (turnpike, coturn and the bare
recvmmsg/sendmmsg forwarder) and bench/sig_bench.py's (turnpike and a Node
`ws` tutorial server), then prints every figure in one table with the ratio
turnpike / reference and the target of issue 7.  See bench/README.md and
doc/performance.md.  A benchmark, not a test: it exits 1 only when something
could not be measured, never because of what the numbers are.
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

from bench_common import install_stop_handlers, load_avg, print_table, \
    tool_output
import sig_bench
import turn_bench


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--only', choices=('turn', 'sig'), default=None,
                    help='run one half only')
    turn_bench.add_arguments(ap)
    sig_bench.add_arguments(ap)
    args = ap.parse_args()
    args.problems = []
    install_stop_handlers()
    workdir = tempfile.mkdtemp(prefix='turnpike-bench-')
    start = time.monotonic()
    print('# machine: %s, %d CPUs, %s; load average %s' % (
        platform.platform(), os.cpu_count(), platform.python_version(),
        load_avg()))
    print('# coturn: %s; node: %s' % (
        ((tool_output(['turnserver', '--version']) or '?').splitlines()
         or ['?'])[-1],
        tool_output(['node', '--version'])))
    rows = []
    if args.only in (None, 'turn'):
        rows += turn_bench.measure(args, workdir)
    if args.only in (None, 'sig'):
        rows += sig_bench.measure(args, workdir)
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


if __name__ == '__main__':
    sys.exit(main())
