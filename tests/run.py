#!/usr/bin/python3
"""turnpike test runner (called by `make check`).

    tests/run.py --build build/asan [--filter SUBSTR] [--timeout SECONDS]

Runs, one at a time and each in its own process group with a timeout:
  - unit tests        BUILD/tests/test_*
  - corpus replays    BUILD/tests/replay_<name> tests/fuzz/corpus/<name>
  - integration tests tests/integration/test_*.py  (/usr/bin/python3 FILE,
                      with TURNPIKE_BIN=BUILD/bin/turnpike, TURNPIKE_BUILD=BUILD)
Each prints TAP.  Every assertion line is echoed prefixed with its file name;
an executable that crashes, times out, prints a sanitizer report, has no plan
(or a plan that does not match), or exits non-zero without a failed assertion
counts as one more failure.  The last line is exactly `N passed, N failed`;
the exit status is 0 iff nothing failed.
"""

import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = '/usr/bin/python3'
TAP_RE = re.compile(r'^(not )?ok\b\s*(\d+)?\s*-?\s*(.*)$')
PLAN_RE = re.compile(r'^1\.\.(\d+)\s*(#.*)?$')
SANITIZER_RE = re.compile(
    r'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|'
    r'ERROR: UndefinedBehaviorSanitizer')
TIMEOUTS = {'unit': 60, 'replay': 120, 'integration': 120}


def collect(build):
    """[(display name, kind, argv, extra env)] in run order."""
    jobs = []
    tdir = os.path.join(build, 'tests')
    for p in sorted(glob.glob(os.path.join(tdir, 'test_*'))):
        if os.path.isfile(p) and os.access(p, os.X_OK):
            jobs.append(('unit/' + os.path.basename(p), 'unit', [p], {}))
    for p in sorted(glob.glob(os.path.join(tdir, 'replay_*'))):
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            continue
        name = os.path.basename(p)[len('replay_'):]
        corpus = os.path.join('tests', 'fuzz', 'corpus', name)
        jobs.append(('replay/' + name, 'replay', [p, corpus], {}))
    binpath = os.path.abspath(os.path.join(build, 'bin', 'turnpike'))
    env = {'TURNPIKE_BIN': binpath, 'TURNPIKE_BUILD': os.path.abspath(build)}
    for p in sorted(glob.glob(os.path.join('tests', 'integration', 'test_*.py'))):
        jobs.append(('integration/' + os.path.basename(p), 'integration',
                     [PYTHON, p], env))
    return jobs


def kill_group(pid):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except OSError:
            return
        time.sleep(0.5)


def run_one(argv, env, timeout, workdir):
    """Run argv in its own session; stdout/stderr go to files so a stray
    grandchild holding them open cannot block us.  (rc, out, err, timed_out)"""
    out_p = os.path.join(workdir, 'stdout')
    err_p = os.path.join(workdir, 'stderr')
    with open(out_p, 'wb') as out, open(err_p, 'wb') as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, env=env, start_new_session=True)
        timed_out = False
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc.pid)
            rc = proc.wait()
    # Whatever the test left behind in its process group goes too.
    kill_group(proc.pid)
    with open(out_p, 'rb') as f:
        stdout = f.read().decode('utf-8', 'replace')
    with open(err_p, 'rb') as f:
        stderr = f.read().decode('utf-8', 'replace')
    return rc, stdout, stderr, timed_out


def describe_rc(rc):
    if rc is None:
        return 'no exit status'
    if rc < 0:
        try:
            return 'killed by %s' % signal.Signals(-rc).name
        except ValueError:
            return 'killed by signal %d' % -rc
    return 'exit status %d' % rc


def check_job(name, kind, argv, extra_env, timeout):
    """Run one executable, echo its TAP; return (passed, failed)."""
    env = dict(os.environ)
    env.update(extra_env)
    env.setdefault('PYTHONDONTWRITEBYTECODE', '1')
    with tempfile.TemporaryDirectory(prefix='turnpike-run-') as wd:
        t0 = time.monotonic()
        rc, stdout, stderr, timed_out = run_one(argv, env, timeout, wd)
        elapsed = time.monotonic() - t0
    passed = failed = 0
    plan = None
    count = 0
    for line in stdout.splitlines():
        m = TAP_RE.match(line)
        if m:
            count += 1
            if m.group(1):
                failed += 1
            else:
                passed += 1
            print('%s: %s' % (name, line))
            continue
        m = PLAN_RE.match(line)
        if m:
            plan = int(m.group(1))
            continue
        if line.startswith('#'):
            print('%s: %s' % (name, line))
    problems = []
    if timed_out:
        problems.append('timed out after %ds (process group killed)' % timeout)
    elif rc != 0 and (rc < 0 or rc > 1 or failed == 0):
        problems.append(describe_rc(rc))
    elif rc == 0 and failed:
        problems.append('exit status 0 despite failed assertions')
    m = SANITIZER_RE.search(stderr)
    if m:
        problems.append('sanitizer report: %s' %
                        stderr[m.start():].splitlines()[0][:200])
    if plan is None:
        problems.append('no TAP plan')
    elif plan != count:
        problems.append('plan 1..%d but %d assertions' % (plan, count))
    if problems:
        failed += 1
        print('%s: not ok - executable: %s' % (name, '; '.join(problems)))
    if failed:
        tail = stderr.splitlines()[-60:]
        if tail:
            print('%s: --- stderr (last %d lines) ---' % (name, len(tail)))
            for line in tail:
                print('%s: | %s' % (name, line))
    print('%s: %d passed, %d failed (%.1fs)' % (name, passed, failed, elapsed))
    sys.stdout.flush()
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description='Run the turnpike test suite.')
    ap.add_argument('--build', default='build/asan',
                    help='build directory (default build/asan; "." for bin/)')
    ap.add_argument('--filter', default=None,
                    help='run only executables whose name contains SUBSTR')
    ap.add_argument('--timeout', type=int, default=None,
                    help='per-executable timeout in seconds')
    ap.add_argument('--list', action='store_true', help='list and exit')
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    os.chdir(REPO)
    if not os.path.isdir(args.build):
        print('run.py: no build directory %s' % args.build)
        print('0 passed, 1 failed')
        return 1
    jobs = collect(args.build)
    if args.filter:
        jobs = [j for j in jobs if args.filter in j[0]]
    if args.list:
        for j in jobs:
            print(j[0])
        return 0
    total_p = total_f = 0
    failed_names = []
    t0 = time.monotonic()
    for name, kind, argv, extra_env in jobs:
        p, f = check_job(name, kind, argv, extra_env,
                         args.timeout or TIMEOUTS[kind])
        total_p += p
        total_f += f
        if f:
            failed_names.append(name)
    if not jobs:
        print('run.py: nothing to run')
        total_f += 1
    if failed_names:
        print('failed: %s' % ', '.join(failed_names))
    print('# %d executables in %.0fs' % (len(jobs), time.monotonic() - t0))
    print('%d passed, %d failed' % (total_p, total_f))
    sys.stdout.flush()
    return 0 if total_f == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
