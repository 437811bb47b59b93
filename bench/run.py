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

import sys

from bench_common import bench_main
import sig_bench
import turn_bench

if __name__ == '__main__':
    sys.exit(bench_main(__doc__, [turn_bench, sig_bench], 'turnpike-bench-'))
