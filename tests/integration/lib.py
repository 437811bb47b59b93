"""turnpike integration-test helpers.

Each tests/integration/test_*.py runs as its own process (tests/run.py starts
it with a timeout) and prints TAP through the tiny harness below:

    from lib import *

    @test
    def binding_on_udp():
        with Server(['-L', '127.0.0.1', '-p', str(port)]) as srv:
            check('answers', udp_request('127.0.0.1', port, req) is not None)

    done()      # runs the @test functions in order, prints the plan, exits 0/1

Everything here is hermetic: servers listen on loopback (or inside a network
namespace a test creates), on ports picked free at run time; every wait is
bounded; every process is stopped by PID in a finally block.  The server
binary comes from $TURNPIKE_BIN (tests/run.py sets it).
"""

import atexit
import binascii
import contextlib
import ctypes
import glob
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import types
import zlib

__all__ = [
    'test', 'check', 'diag', 'done', 'skip_rest',
    'TURNPIKE_BIN', 'Server', 'run_turnpike', 'free_port', 'free_port_range',
    'in_netns', 'netns_cmd', 'ipv6_loopback_ok', 'wait_for', 'pid_alive',
    'wait_pid_gone', 'tmpdir', 'read_text', 'LOG_LINE_RE',
    'StunMsg', 'build_request', 'parse_message', 'udp_request', 'udp_exchange',
    'tcp_connect', 'tcp_read_message', 'tcp_closed', 'binding_ok',
    'stunclient', 'stun3489', 'sanitizer_report', 'node_bin', 'run_node_tap',
    'BINDING_REQUEST', 'BINDING_SUCCESS', 'BINDING_ERROR', 'MAGIC_COOKIE',
    'ATTR_MAPPED_ADDRESS', 'ATTR_XOR_MAPPED_ADDRESS', 'ATTR_ERROR_CODE',
    'ATTR_UNKNOWN_ATTRIBUTES', 'ATTR_SOFTWARE', 'ATTR_FINGERPRINT',
    'ATTR_CHANGE_REQUEST',
]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _default_bin():
    for cand in (os.path.join(REPO, 'build', 'asan', 'bin', 'turnpike'),
                 os.path.join(REPO, 'bin', 'turnpike')):
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, 'bin', 'turnpike')


TURNPIKE_BIN = os.path.abspath(os.environ.get('TURNPIKE_BIN') or _default_bin())

# ---------------------------------------------------------------- TAP harness

_n = 0
_failed = 0
_tests = []
_live_servers = []      # running Server objects, dumped when a check fails
_cleanups = []          # last-resort cleanups, run at exit
_owned_pids = set()     # processes we started and have not seen exit


def diag(msg):
    """A TAP comment line (shown by tests/run.py)."""
    for line in str(msg).splitlines() or ['']:
        print('# ' + line, flush=True)


def check(name, cond, detail=None):
    """One TAP assertion. `detail` (string or callable) is printed on failure."""
    global _n, _failed
    _n += 1
    name = ' '.join(str(name).split()).replace('#', '\\#')
    if cond:
        print('ok %d - %s' % (_n, name), flush=True)
        return True
    _failed += 1
    print('not ok %d - %s' % (_n, name), flush=True)
    if callable(detail):
        try:
            detail = detail()
        except Exception as e:          # never let a diagnostic hide the failure
            detail = 'detail failed: %r' % e
    if detail:
        diag(detail)
    for srv in list(_live_servers):
        srv.dump('after failed check: %s' % name)
    return False


def test(fn):
    """Register a test function; done() runs them in file order."""
    _tests.append(fn)
    return fn


_skip_reason = None


def skip_rest(reason):
    """Stop running further @test functions (e.g. the binary is missing)."""
    global _skip_reason
    _skip_reason = reason


def done():
    """Run the registered tests, print the plan, exit 0 iff all passed.

    TEST_ONLY=name (substring) in the environment runs a subset."""
    only = os.environ.get('TEST_ONLY')
    if not (os.path.isfile(TURNPIKE_BIN) and os.access(TURNPIKE_BIN, os.X_OK)):
        check('server binary %s exists' % TURNPIKE_BIN, False,
              'build it (make) or set TURNPIKE_BIN')
        skip_rest('no binary')
    for fn in _tests:
        if _skip_reason:
            diag('skipping %s: %s' % (fn.__name__, _skip_reason))
            continue
        if only and only not in fn.__name__:
            continue
        diag('--- %s' % fn.__name__)
        try:
            fn()
        except Exception:
            tb = traceback.format_exc()
            sys.stderr.write(tb)
            check('%s: ran without an exception' % fn.__name__, False,
                  tb.strip().splitlines()[-1])
        finally:
            for srv in list(_live_servers):
                srv.stop()
    _run_cleanups()
    print('1..%d' % _n, flush=True)
    if _failed:
        print('# %d of %d failed' % (_failed, _n), flush=True)
    sys.exit(1 if _failed else 0)


def _run_cleanups():
    for pid in list(_owned_pids):
        _kill_pid(pid)
        _owned_pids.discard(pid)
    while _cleanups:
        fn = _cleanups.pop()
        try:
            fn()
        except Exception:
            pass


atexit.register(_run_cleanups)


def _on_sigterm(signum, frame):
    # tests/run.py timed out: kill what we started (daemons left their
    # process group) and go.
    _run_cleanups()
    os._exit(128 + signum)


signal.signal(signal.SIGTERM, _on_sigterm)

# ------------------------------------------------------------- small helpers

_tmproot = None


def tmpdir(prefix='t'):
    """A fresh directory under this test file's private temp root."""
    global _tmproot
    if _tmproot is None:
        _tmproot = tempfile.mkdtemp(prefix='turnpike-it-')
        _cleanups.insert(0, lambda: shutil.rmtree(_tmproot, ignore_errors=True)
                         if not _failed else
                         sys.stderr.write('test files kept in %s\n' % _tmproot))
    return tempfile.mkdtemp(prefix=prefix + '-', dir=_tmproot)


# ------------------------------------------------------- Node TAP drivers

_TAP_RE = re.compile(r'^(not )?ok\b\s*\d*\s*-?\s*(.*)$')
_PLAN_RE = re.compile(r'^1\.\.(\d+)\s*$')


def node_bin():
    """Path of node, or None."""
    return shutil.which('node') or ('/usr/bin/node'
                                    if os.access('/usr/bin/node', os.X_OK)
                                    else None)


def run_node_tap(script, args, timeout, label, env=None, name=None,
                 summary='separate'):
    """Run a Node TAP driver (tests/browser/*.js) and make its assertions ours.

    Runs `node script args...` with cwd the script's directory and the
    environment os.environ updated with `env`, in this test's process group
    (so tests/run.py's timeout reaches node; Chromium exits when node's pipe
    to it closes).  After `timeout` seconds node gets SIGTERM, 5 s later
    SIGKILL.

    Each `ok N - x` / `not ok N - x` line becomes check('label: x'); the `#`
    lines after a `not ok` are that check's detail, other `#` lines become
    diag('label: ...'); `# result JSON` is parsed (not echoed).  Then checks
    on the run itself, naming it `name` (default: the script's file name):
    summary='separate' adds three (finished within the timeout; printed a
    plan matching its assertions; exit status 1 iff one failed, else 0),
    summary='combined' one (finished within the timeout with a matching plan).

    Returns a namespace: result (the `# result` dict or None), plan, n,
    failed, returncode, timed_out, elapsed, out, err."""
    name = name or os.path.basename(script)
    cmd = [node_bin(), script] + list(args)
    full_env = dict(os.environ)
    full_env.update(env or {})
    diag('%s: %s' % (label, ' '.join(str(c) for c in cmd)))
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=full_env,
                         cwd=os.path.dirname(os.path.abspath(script)))
    timed_out = False
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    elapsed = time.monotonic() - t0
    diag('%s: %s took %.1f s' % (label, name, elapsed))
    out = out.decode('utf-8', 'replace')
    err = err.decode('utf-8', 'replace')
    result = None
    plan = None
    n = failed = 0
    pending = None          # (name, ok): `#` lines after `not ok` belong to it
    details = []

    def flush():
        nonlocal pending
        if pending:
            check('%s: %s' % (label, pending[0]), pending[1], '\n'.join(details))
        pending = None
        del details[:]

    for line in out.splitlines():
        m = _TAP_RE.match(line)
        if m:
            flush()
            n += 1
            failed += bool(m.group(1))
            pending = (m.group(2).replace('\\#', '#'), not m.group(1))
            if pending[1]:
                flush()         # a pass: nothing to collect, keep the order
            continue
        m = _PLAN_RE.match(line)
        if m:
            flush()
            plan = int(m.group(1))
            continue
        if line.startswith('# result '):
            try:
                result = json.loads(line[len('# result '):])
            except ValueError as e:
                diag('%s: unparsable result line: %s' % (label, e))
            continue
        if line.startswith('#'):
            if pending and not pending[1]:
                details.append(line[1:].strip())
            else:
                diag('%s: %s' % (label, line[1:].strip()))
    flush()
    plan_ok = plan is not None and plan == n and n > 0
    if summary == 'combined':
        check('%s: %s finished (exit %s, plan %s of %d)'
              % (label, name, p.returncode, plan, n),
              not timed_out and plan_ok,
              lambda: 'stdout tail:\n' + out[-2000:] + '\nstderr tail:\n' +
              err[-2000:])
    else:
        check('%s: %s finished within %ds' % (label, name, timeout),
              not timed_out, err[-2000:])
        check('%s: %s printed a plan matching its %d assertions'
              % (label, name, n), plan_ok,
              'plan %r\nstdout:\n%s\nstderr:\n%s'
              % (plan, out[-2000:], err[-2000:]))
        check('%s: %s exit status %s' % (label, name, 1 if failed else 0),
              p.returncode == (1 if failed else 0),
              'exit status %r\nstderr:\n%s' % (p.returncode, err[-2000:]))
    return types.SimpleNamespace(result=result, plan=plan, n=n, failed=failed,
                                 returncode=p.returncode, timed_out=timed_out,
                                 elapsed=elapsed, out=out, err=err)


def read_text(path):
    try:
        with open(path, 'r', errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def wait_for(pred, timeout, interval=0.05):
    """Poll pred() until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def pid_alive(pid):
    """True while /proc/PID exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(')') + 2:][:1] not in ('Z', 'X')


def wait_pid_gone(pid, timeout=10):
    return wait_for(lambda: not pid_alive(pid), timeout)


def _kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


LOG_LINE_RE = re.compile(
    r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z [A-Z]+ \S')

SANITIZER_RE = re.compile(
    r'ERROR: AddressSanitizer|runtime error:|LeakSanitizer|'
    r'ERROR: UndefinedBehaviorSanitizer')


def sanitizer_report(text):
    """The first sanitizer report line in text, or None."""
    m = SANITIZER_RE.search(text or '')
    if not m:
        return None
    return text[text.rfind('\n', 0, m.start()) + 1:][:4000]


def _san_env(env, dirpath):
    """Environment with sanitizer reports also written to files in dirpath,
    so a daemon that closed its stderr still leaves them behind."""
    env = dict(os.environ if env is None else env)
    for var, name in (('ASAN_OPTIONS', 'asan'), ('UBSAN_OPTIONS', 'ubsan')):
        opts = env.get(var, '')
        opts = ':'.join(o for o in opts.split(':') if o and
                        not o.startswith('log_path='))
        env[var] = (opts + ':' if opts else '') + \
            'log_path=' + os.path.join(dirpath, name)
    return env


def _san_files(dirpath):
    out = ''
    for p in sorted(glob.glob(os.path.join(dirpath, 'asan*')) +
                    glob.glob(os.path.join(dirpath, 'ubsan*'))):
        out += read_text(p)
    return out


def _port_pool():
    """Ports below the kernel's ephemeral range, so that no client socket
    grabs the port between our check and the server's bind."""
    try:
        lo = int(read_text('/proc/sys/net/ipv4/ip_local_port_range').split()[0])
    except (ValueError, IndexError):
        lo = 32768
    return 10000, max(lo - 1, 12000)


def free_port(proto='both', hosts=('127.0.0.1',)):
    """A port free on every host in hosts, for 'udp', 'tcp' or 'both'."""
    pool = _port_pool()
    for _ in range(200):
        port = random.randint(*pool)
        socks = []
        try:
            for h in hosts:
                fam = socket.AF_INET6 if ':' in h else socket.AF_INET
                kinds = {'udp': [socket.SOCK_DGRAM], 'tcp': [socket.SOCK_STREAM],
                         'both': [socket.SOCK_DGRAM, socket.SOCK_STREAM]}[proto]
                for k in kinds:
                    s = socket.socket(fam, k)
                    socks.append(s)
                    s.bind((h, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError('no free port found')


def free_port_range(n=16, hosts=('127.0.0.1',)):
    """(lo, hi): n consecutive ports free for UDP and TCP."""
    pool = _port_pool()
    for _ in range(100):
        lo = random.randint(pool[0], pool[1] - n)
        try:
            for p in range(lo, lo + n):
                for h in hosts:
                    fam = socket.AF_INET6 if ':' in h else socket.AF_INET
                    for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                        with socket.socket(fam, k) as s:
                            s.bind((h, p))
            return lo, lo + n - 1
        except OSError:
            continue
    raise RuntimeError('no free port range found')


def ipv6_loopback_ok():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False

# ----------------------------------------------------------- network namespaces

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def _setns(fd):
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'setns: ' + os.strerror(e))


@contextlib.contextmanager
def in_netns(pid):
    """Run the body in the network namespace of process pid (None: no-op).

    Sockets created inside stay in that namespace after the block."""
    if pid is None:
        yield
        return
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY)
    try:
        target = os.open('/proc/%d/ns/net' % pid, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def netns_cmd(pid, argv):
    """argv prefixed to run inside process pid's network namespace."""
    if pid is None:
        return list(argv)
    return ['nsenter', '--net=/proc/%d/ns/net' % pid, '--'] + list(argv)

# ----------------------------------------------------------------- the server


# Captured output; the process runs with cwd = its temp directory, so a
# relative file it creates (e.g. a log file literally named "stdout") is
# visible there and does not collide with these names.
OUT_NAME, ERR_NAME = 'captured.out', 'captured.err'


def _spawn(cmd, dirpath, env, stdin=subprocess.DEVNULL):
    out = open(os.path.join(dirpath, OUT_NAME), 'wb')
    err = open(os.path.join(dirpath, ERR_NAME), 'wb')
    try:
        # Same process group as the test: if tests/run.py kills the test's
        # group on timeout, its servers go too.
        return subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err,
                                env=env, cwd=dirpath)
    finally:
        out.close()
        err.close()


class Server:
    """A turnpike process.

    Server(args, config_text=None, ready=..., netns=False, daemon_pidfile=None)

    - config_text: written to DIR/turnserver.conf and passed as `-c FILE`
      (or substituted where args contains the string '{config}');
      otherwise `-n` is prepended unless args already holds -n or -c.
    - ready: ('stun', host, port) waits until a raw Binding over UDP is
      answered; ('log', 'text') until text appears in stdout, stderr or
      log_file; None: no wait.  Bounded by ready_timeout.
    - netns: run inside a fresh network namespace (loopback up) created with
      `unshare -n`; probe and clients use in_netns(srv.pid)/netns_cmd.
    - daemon_pidfile: the process daemonizes (-o); after the parent exits,
      srv.pid is the PID read from that file.
    """

    def __init__(self, args=(), config_text=None, ready='auto', netns=False,
                 daemon_pidfile=None, log_file=None, ready_timeout=10,
                 env=None, name='turnpike', start=True, nofile=None):
        self.dir = tmpdir(name)
        self.args = list(args)
        self.nofile = nofile        # open-file limit (soft and hard)
        self.config_path = None
        if config_text is not None:
            self.config_path = os.path.join(self.dir, 'turnserver.conf')
            with open(self.config_path, 'w') as f:
                f.write(config_text)
            if '{config}' in self.args:
                self.args = [self.config_path if a == '{config}' else a
                             for a in self.args]
            else:
                self.args = ['-c', self.config_path] + self.args
        elif '-n' not in self.args and '-c' not in self.args:
            self.args = ['-n'] + self.args
        self.netns = netns
        self.daemon_pidfile = daemon_pidfile
        self.log_file = log_file
        self.ready_timeout = ready_timeout
        self.env = env
        self.ready_spec = ready
        self.proc = None
        self.pid = None
        self.parent_rc = None
        self.returncode = None
        self.started_ok = False
        self._dumped = False
        self._san_checked = False
        self._rc_checked = False
        self.check_exit = True      # stop(): a failed check unless exit 0
        if start:
            self.start()

    # -- paths and output
    @property
    def stdout_path(self):
        return os.path.join(self.dir, OUT_NAME)

    @property
    def stderr_path(self):
        return os.path.join(self.dir, ERR_NAME)

    def stdout(self):
        return read_text(self.stdout_path)

    def stderr(self):
        return read_text(self.stderr_path)

    def output(self):
        """stdout + stderr + log file, for looking up log lines."""
        out = self.stdout() + self.stderr()
        if self.log_file:
            out += read_text(self.log_file)
        return out

    def dump(self, why=''):
        if self._dumped:
            return
        self._dumped = True
        sys.stderr.write('=== server %s (%s) %s\n' %
                         (self.dir, ' '.join(self.cmd), why))
        for label, text in (('stdout', self.stdout()), ('stderr', self.stderr()),
                            ('log', read_text(self.log_file)
                             if self.log_file else '')):
            if text:
                tail = text.splitlines()[-40:]
                sys.stderr.write('--- %s (last %d lines)\n%s\n' %
                                 (label, len(tail), '\n'.join(tail)))

    # -- life cycle
    def start(self):
        cmd = [TURNPIKE_BIN] + self.args
        if self.nofile is not None:
            cmd = ['prlimit', '--nofile=%d:%d' % (self.nofile, self.nofile),
                   '--'] + cmd
        if self.netns:
            cmd = ['unshare', '-n', '--', 'sh', '-c',
                   'ip link set lo up && exec "$@"', 'sh'] + cmd
        self.cmd = cmd
        _live_servers.append(self)
        self.proc = _spawn(cmd, self.dir, _san_env(self.env, self.dir))
        self.pid = self.proc.pid
        _owned_pids.add(self.proc.pid)
        if self.daemon_pidfile:
            try:
                self.parent_rc = self.proc.wait(timeout=self.ready_timeout)
            except subprocess.TimeoutExpired:
                self.parent_rc = None
                return self._failed_start('daemon parent did not exit')
            pid = wait_for(lambda: _read_pid(self.daemon_pidfile), 5)
            if not pid:
                return self._failed_start('no PID in %s' % self.daemon_pidfile)
            self.pid = pid
            _owned_pids.add(pid)
        spec = self.ready_spec
        if spec == 'auto':
            spec = self._auto_ready()
        if spec is None:
            self.started_ok = True
            return self
        if spec[0] == 'stun':
            ok = wait_for(lambda: self._gone() or
                          self._probe(spec[1], spec[2]), self.ready_timeout)
            ok = ok is True
        else:
            ok = wait_for(lambda: self._gone() or spec[1] in self.output(),
                          self.ready_timeout)
            ok = ok is True
        if not ok:
            return self._failed_start('not ready within %ss (%r)' %
                                      (self.ready_timeout, spec))
        self.started_ok = True
        return self

    def _auto_ready(self):
        # -L host -p port on the command line: probe that; else the log line.
        host, port = None, None
        a = self.args
        for i, x in enumerate(a[:-1]):
            if x in ('-L', '--listening-ip'):
                host = host or a[i + 1]
            if x in ('-p', '--listening-port'):
                port = int(a[i + 1])
        if port and not host and self.netns:
            host = '127.0.0.1'
        if host and port and host not in ('0.0.0.0', '::'):
            return ('stun', host, port)
        if port and host in ('0.0.0.0', '::'):
            return ('stun', '127.0.0.1' if host == '0.0.0.0' else '::1', port)
        return ('log', 'ready')

    def _gone(self):
        """'gone' (a true value) once the server process died."""
        if self.daemon_pidfile:
            return 'gone' if not pid_alive(self.pid) else None
        return 'gone' if self.proc.poll() is not None else None

    def _probe(self, host, port):
        try:
            with in_netns(self.pid if self.netns else None):
                r = udp_request(host, port, build_request()[0], timeout=0.2)
        except OSError:
            return None
        return True if r is not None else None

    def _failed_start(self, why):
        self.started_ok = False
        self.dump('start failed: ' + why)
        diag('server failed to start: %s' % why)
        return self

    def alive(self):
        return not self._gone()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signal by PID, wait bounded, return the exit code (None for a
        daemon, which is not our child); SIGKILL after timeout."""
        if self in _live_servers:
            _live_servers.remove(self)
        if self.proc is None:
            return self.returncode
        if self.daemon_pidfile:
            if self.pid and pid_alive(self.pid):
                _kill_pid(self.pid, sig)
                if not wait_pid_gone(self.pid, timeout):
                    _kill_pid(self.pid, signal.SIGKILL)
                    wait_pid_gone(self.pid, 5)
                    self.returncode = -signal.SIGKILL
            if self.proc.poll() is None:
                _kill_pid(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        elif self.proc.poll() is None:
            _kill_pid(self.proc.pid, sig)
            try:
                self.returncode = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                diag('server %d ignored signal %d for %ss: SIGKILL' %
                     (self.proc.pid, sig, timeout))
                _backtrace(self.proc.pid)
                _kill_pid(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
                self.returncode = 'killed'
        else:
            self.returncode = self.proc.returncode
        _owned_pids.discard(self.proc.pid)
        _owned_pids.discard(self.pid)
        self._check_sanitizers()
        if self.started_ok and not self.daemon_pidfile and self.check_exit \
                and self.returncode != 0 and not self._rc_checked:
            self._rc_checked = True
            check('server %s: exit status 0 after %s' % (
                  os.path.basename(self.dir), signal.Signals(sig).name),
                  False, 'exit status %r' % (self.returncode,))
        return self.returncode

    def _check_sanitizers(self):
        if self._san_checked:
            return
        self._san_checked = True
        rep = sanitizer_report(self.stderr() + _san_files(self.dir))
        if rep:
            sys.stderr.write('=== sanitizer report from %s\n%s\n' %
                             (' '.join(self.cmd), rep))
            check('server %s: no sanitizer report' % os.path.basename(self.dir),
                  False, rep.splitlines()[0])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.dump('exception in test')
        self.stop()
        return False


def _backtrace(pid):
    """Every thread's stack of a hung process on stderr (if gdb exists)."""
    if not shutil.which('gdb'):
        return
    try:
        p = subprocess.run(['gdb', '-p', str(pid), '-batch', '-nx',
                            '-ex', 'thread apply all bt'],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        out = p.stdout.decode('utf-8', 'replace')
    except (OSError, subprocess.TimeoutExpired) as e:
        out = 'gdb failed: %s' % e
    keep = [l for l in out.splitlines() if l.startswith(('Thread', '#'))]
    sys.stderr.write('=== backtrace of hung server %d\n%s\n' %
                     (pid, '\n'.join(keep[-150:])))


def _read_pid(path):
    try:
        s = read_text(path).strip()
        return int(s) if s else None
    except ValueError:
        return None


class Result:
    def __init__(self, rc, stdout, stderr, timed_out=False):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.timed_out = timed_out

    def __repr__(self):
        return 'rc=%r stdout=%r stderr=%r' % (self.rc, self.stdout[-600:],
                                              self.stderr[-600:])


def run_turnpike(args, timeout=10, env=None, netns=False):
    """Run the binary to completion (help, version, config errors)."""
    d = tmpdir('run')
    cmd = [TURNPIKE_BIN] + list(args)
    if netns:
        cmd = ['unshare', '-n', '--', 'sh', '-c',
               'ip link set lo up && exec "$@"', 'sh'] + cmd
    p = _spawn(cmd, d, _san_env(env, d))
    timed_out = False
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_pid(p.pid, signal.SIGKILL)
        rc = p.wait(5)
    r = Result(rc, read_text(os.path.join(d, OUT_NAME)),
               read_text(os.path.join(d, ERR_NAME)), timed_out)
    rep = sanitizer_report(r.stderr + _san_files(d))
    if rep:
        sys.stderr.write('=== sanitizer report from %s\n%s\n' %
                         (' '.join(cmd), rep))
        check('%s: no sanitizer report' % ' '.join(args), False,
              rep.splitlines()[0])
    return r

# --------------------------------------------------------- raw STUN client

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
BINDING_ERROR = 0x0111
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_CHANGE_REQUEST = 0x0003
ATTR_ERROR_CODE = 0x0009
ATTR_UNKNOWN_ATTRIBUTES = 0x000A
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_SOFTWARE = 0x8022
ATTR_FINGERPRINT = 0x8028
FINGERPRINT_XOR = 0x5354554E


def _pad4(n):
    return (n + 3) & ~3


def build_request(attrs=(), fingerprint=False, classic=False, msg_type=None,
                  txid=None):
    """A Binding request: (bytes, txid).  attrs: [(type, value bytes)].

    classic=True builds an RFC 3489 request: 16-byte random transaction ID,
    no magic cookie (txid is then those 16 bytes)."""
    if txid is None:
        txid = os.urandom(16 if classic else 12)
        if classic and txid[:4] == struct.pack('!I', MAGIC_COOKIE):
            txid = b'\0' + txid[1:]
    body = b''
    for t, v in attrs:
        body += struct.pack('!HH', t, len(v)) + v + b'\0' * (_pad4(len(v)) - len(v))
    mt = BINDING_REQUEST if msg_type is None else msg_type
    cookie = b'' if classic else struct.pack('!I', MAGIC_COOKIE)
    if fingerprint:
        hdr = struct.pack('!HH', mt, len(body) + 8) + cookie + txid
        crc = (zlib.crc32(hdr + body) & 0xffffffff) ^ FINGERPRINT_XOR
        body += struct.pack('!HHI', ATTR_FINGERPRINT, 4, crc)
    return struct.pack('!HH', mt, len(body)) + cookie + txid + body, txid


class StunMsg:
    def __init__(self, raw):
        self.raw = raw
        self.type, self.length = struct.unpack('!HH', raw[:4])
        self.cookie = struct.unpack('!I', raw[4:8])[0]
        self.txid = raw[8:20]          # after the cookie
        self.txid16 = raw[4:20]        # RFC 3489 view
        self.attrs = []                # [(type, value, offset)]
        off = 20
        end = 20 + self.length
        while off + 4 <= end:
            t, ln = struct.unpack('!HH', raw[off:off + 4])
            self.attrs.append((t, raw[off + 4:off + 4 + ln], off))
            off += 4 + _pad4(ln)

    def attr(self, t):
        for at, v, _ in self.attrs:
            if at == t:
                return v
        return None

    def types(self):
        return [t for t, _, _ in self.attrs]

    def has(self, t):
        return self.attr(t) is not None

    def _addr(self, v, xor):
        if v is None or len(v) < 8:
            return None
        fam, port = struct.unpack('!xBH', v[:4])
        if xor:
            port ^= MAGIC_COOKIE >> 16
        if fam == 1:
            a = v[4:8]
            if xor:
                a = bytes(x ^ y for x, y in zip(a, struct.pack('!I', MAGIC_COOKIE)))
            return (str(ipaddress.IPv4Address(a)), port)
        if fam == 2 and len(v) >= 20:
            a = v[4:20]
            if xor:
                key = struct.pack('!I', MAGIC_COOKIE) + self.txid
                a = bytes(x ^ y for x, y in zip(a, key))
            return (str(ipaddress.IPv6Address(a)), port)
        return None

    def xor_mapped(self):
        return self._addr(self.attr(ATTR_XOR_MAPPED_ADDRESS), True)

    def mapped(self):
        return self._addr(self.attr(ATTR_MAPPED_ADDRESS), False)

    def error(self):
        v = self.attr(ATTR_ERROR_CODE)
        if v is None or len(v) < 4:
            return None
        return (v[2] & 7) * 100 + v[3], v[4:].decode('utf-8', 'replace')

    def unknown_attributes(self):
        v = self.attr(ATTR_UNKNOWN_ATTRIBUTES) or b''
        return [struct.unpack('!H', v[i:i + 2])[0] for i in range(0, len(v) - 1, 2)]

    def fingerprint_valid(self):
        """True: FINGERPRINT is last and correct; False: wrong; None: absent."""
        if not self.has(ATTR_FINGERPRINT):
            return None
        t, v, off = self.attrs[-1]
        if t != ATTR_FINGERPRINT or len(v) != 4:
            return False
        crc = (zlib.crc32(self.raw[:off]) & 0xffffffff) ^ FINGERPRINT_XOR
        return struct.unpack('!I', v)[0] == crc

    def well_formed(self):
        return (len(self.raw) == 20 + self.length and self.length % 4 == 0 and
                self.type & 0xC000 == 0 and
                sum(4 + _pad4(len(v)) for _, v, _ in self.attrs) == self.length)

    def __repr__(self):
        return 'StunMsg(type=0x%04x len=%d attrs=[%s])' % (
            self.type, self.length,
            ', '.join('0x%04x:%s' % (t, binascii.hexlify(v).decode())
                      for t, v, _ in self.attrs))


def parse_message(data):
    if data is None or len(data) < 20:
        return None
    try:
        return StunMsg(data)
    except (struct.error, ValueError):
        return None


def _family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def udp_exchange(sock, dest, data, txid_match, timeout=1.0, retries=2):
    """Send data from sock to dest and wait for a message whose transaction
    ID (bytes 4..20 or 8..20) matches; retransmit `retries` times."""
    per = timeout / (retries + 1)
    for _ in range(retries + 1):
        sock.sendto(data, dest)
        deadline = time.monotonic() + per
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                resp, _ = sock.recvfrom(65536)
            except socket.timeout:
                break
            if txid_match is None or resp[4:20].endswith(txid_match):
                return resp
    return None


def udp_request(host, port, data, timeout=1.0, retries=2, sock=None):
    """One request over UDP: the raw response bytes or None (bounded)."""
    own = sock is None
    if own:
        sock = socket.socket(_family(host), socket.SOCK_DGRAM)
        sock.bind((host, 0))
    try:
        txid = data[8:20] if len(data) >= 20 else None
        return udp_exchange(sock, (host, port), data, txid, timeout, retries)
    finally:
        if own:
            sock.close()


def binding_ok(host, port, timeout=1.0, netns_pid=None, **kw):
    """(StunMsg or None, (src_ip, src_port)) for one plain Binding."""
    with in_netns(netns_pid):
        s = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        s.bind((host, 0))
        src = s.getsockname()[:2]
        req, _ = build_request(**kw)
        return parse_message(udp_request(host, port, req, timeout, sock=s)), src
    finally:
        s.close()


def tcp_connect(host, port, timeout=3.0, netns_pid=None):
    with in_netns(netns_pid):
        s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def _recv_exact(sock, n):
    buf = b''
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_message(sock, timeout=3.0):
    """One STUN message framed by its length field, or None (EOF/timeout)."""
    sock.settimeout(timeout)
    try:
        hdr = _recv_exact(sock, 20)
        if hdr is None:
            return None
        ln = struct.unpack('!H', hdr[2:4])[0]
        body = _recv_exact(sock, ln) if ln else b''
        if body is None:
            return None
    except (socket.timeout, OSError):
        return None
    return parse_message(hdr + body)


def tcp_closed(sock, timeout=3.0):
    """True if the peer closes (EOF or reset) within timeout; discards data."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if sock.recv(4096) == b'':
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

# ------------------------------------------------------- independent clients

_REFLEXIVE_RE = re.compile(r'UDP reflexive addr: (\S+):(\d+)\s*$', re.M)


def stunclient(host, port, netns_pid=None, timeout=5):
    """coturn's turnutils_stunclient: (rc, output, [(ip, port), ...]).

    It prints `0: : IPv4. UDP reflexive addr: 127.0.0.1:47918` (IPv6:
    `... IPv6. UDP reflexive addr: ::1:46280`) and waits forever without an
    answer, hence the timeout (rc None)."""
    cmd = netns_cmd(netns_pid, ['turnutils_stunclient', '-p', str(port), host])
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, start_new_session=True)
        rc, out = p.returncode, (p.stdout + p.stderr).decode('utf-8', 'replace')
    except FileNotFoundError as e:
        rc, out = None, '%s (scripts/deps.sh test installs it)' % e
    except subprocess.TimeoutExpired as e:
        rc = None
        out = ((e.stdout or b'') + (e.stderr or b'')).decode('utf-8', 'replace')
    return rc, out, [(ip, int(pt)) for ip, pt in _REFLEXIVE_RE.findall(out)]


def stun3489(host, port, extra=(), netns_pid=None, timeout=30):
    """Vovida's RFC 3489 `stun` client: (rc, stdout, stderr).

    `stun HOST:PORT [test] [-v] [-p SRCPORT]`: -p is the *source* port; the
    server port goes after a colon.  -v output goes to stderr."""
    cmd = netns_cmd(netns_pid, ['stun', '%s:%d' % (host, port)] + list(extra))
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, start_new_session=True)
        return (p.returncode, p.stdout.decode('utf-8', 'replace'),
                p.stderr.decode('utf-8', 'replace'))
    except FileNotFoundError as e:
        return None, '', '%s (scripts/deps.sh test installs it)' % e
    except subprocess.TimeoutExpired as e:
        return (None, (e.stdout or b'').decode('utf-8', 'replace'),
                (e.stderr or b'').decode('utf-8', 'replace'))
