#!/usr/bin/python3
"""Process behaviour: signals, pidfile, daemon mode, logging, threads,
listener selection (IPv6, --no-udp, --no-tcp)."""

import calendar
import os
import re
import signal
import time

from lib import *

V6 = ipv6_loopback_ok()
CONN_RE = re.compile(r'\bconn=[0-9a-fA-F]+\b')


def loopback_server(*extra, **kw):
    port = free_port('both')
    return Server(['-L', '127.0.0.1', '-p', str(port)] + list(extra), **kw), port


def answers(host, port):
    m, src = binding_ok(host, port)
    return m is not None and m.type == BINDING_SUCCESS and m.xor_mapped() == src


def log_lines(text):
    return [l for l in text.splitlines() if LOG_LINE_RE.match(l)]


@test
def sigterm_and_sigint_clean_shutdown():
    for sig in (signal.SIGTERM, signal.SIGINT):
        name = signal.Signals(sig).name
        d = tmpdir('pid')
        pidfile = os.path.join(d, 'turnpike.pid')
        srv, port = loopback_server('--pidfile', pidfile)
        try:
            check('%s: server up' % name, srv.started_ok and answers('127.0.0.1', port))
            got = read_text(pidfile).strip()
            check('%s: pidfile holds the server PID' % name,
                  got == str(srv.pid), 'pidfile %r, pid %d' % (got, srv.pid))
            t0 = time.monotonic()
            rc = srv.stop(sig)
            check('%s: exit status 0' % name, rc == 0, 'exit status %r' % rc)
            check('%s: stopped within 5 s' % name, time.monotonic() - t0 < 5)
            check('%s: pidfile removed' % name, not os.path.exists(pidfile))
        finally:
            srv.stop()


@test
def sigterm_right_after_ready():
    # A stop request that reaches a worker before its event loop runs must
    # not be lost: signal as soon as "ready" is logged, many times.
    runs, bad = 40, None
    for i in range(runs):
        srv, port = loopback_server(ready=None)
        srv.check_exit = False          # checked below, once
        try:
            wait_for(lambda: 'ready' in srv.output(), 10, interval=0.001)
            rc = srv.stop(signal.SIGTERM, timeout=5)
        finally:
            srv.stop()
        if rc != 0:
            bad = 'run %d of %d: exit status %r (killed = hung > 5 s)' % (
                i + 1, runs, rc)
            break
    check('SIGTERM just after "ready", %d times: each exits 0 within 5 s' %
          runs, bad is None, bad)


@test
def daemon_mode_with_pidfile():
    d = tmpdir('daemon')
    pidfile = os.path.join(d, 'turnpike.pid')
    log = os.path.join(d, 'turnpike.log')
    port = free_port('both')
    t0 = time.monotonic()
    srv = Server(['-L', '127.0.0.1', '-p', str(port), '-o', '--pidfile', pidfile,
                  '--log-file', log, '--simple-log'],
                 daemon_pidfile=pidfile, log_file=log,
                 ready=('stun', '127.0.0.1', port))
    try:
        check('-o: parent exits 0', srv.parent_rc == 0,
              'exit status %r' % srv.parent_rc)
        check('-o: parent returns promptly (< 10 s)', time.monotonic() - t0 < 10)
        pid = srv.pid
        check('-o: pidfile PID is a live process other than the parent',
              pid and pid != srv.proc.pid and pid_alive(pid))
        check('-o: daemon left our session (setsid)',
              pid and pid_alive(pid) and os.getsid(pid) != os.getsid(0))
        check('-o: daemon answers STUN', answers('127.0.0.1', port))
        check('-o: daemon keeps writing its log file',
              wait_for(lambda: 'ready' in read_text(log), 5), read_text(log))
    finally:
        srv.stop(signal.SIGTERM, timeout=10)
    check('-o: SIGTERM to pidfile PID stops it within 10 s',
          pid and not pid_alive(pid))
    check('-o: pidfile removed', not os.path.exists(pidfile))


@test
def log_file_gets_iso_timestamped_lines():
    d = tmpdir('log')
    log = os.path.join(d, 'turnpike.log')
    srv, port = loopback_server('--log-file', log, '--simple-log', log_file=log)
    with srv:
        answers('127.0.0.1', port)
        wait_for(lambda: 'ready' in read_text(log), 5)
        text = read_text(log)
        lines = [l for l in text.splitlines() if l.strip()]
        check('--log-file: file has lines', len(lines) >= 2, text)
        check('--log-file: every line is "<ISO-8601 UTC> <LEVEL> ..."',
              lines and all(LOG_LINE_RE.match(l) for l in lines), text[-1500:])
        check('--log-file: says what it listens on',
              re.search(r'listening udp 127\.0\.0\.1:%d\b' % port, text) and
              re.search(r'listening tcp 127\.0\.0\.1:%d\b' % port, text),
              text[-1500:])
        check('--log-file: a "ready" line', 'ready' in text)
        check('--log-file: "ready" comes after every "listening" line',
              'ready' in text and 'listening' in text and
              text.index('ready') > text.rindex('listening'), text[-1500:])
        # the timestamp is UTC, not local time labelled Z
        m = re.match(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)', lines[0]) \
            if lines else None
        skew = None
        if m:
            t = calendar.timegm(tuple(int(x) for x in m.groups()) + (0, 0, 0))
            skew = abs(t - time.time())
        check('--log-file: timestamps are current UTC (within 2 min)',
              skew is not None and skew < 120, 'skew %r s' % skew)


@test
def no_stdout_log():
    d = tmpdir('nostdout')
    log = os.path.join(d, 'turnpike.log')
    srv, port = loopback_server('--log-file', log, '--simple-log',
                                '--no-stdout-log', log_file=log)
    with srv:
        check('--no-stdout-log: server answers', answers('127.0.0.1', port))
        check('--no-stdout-log: log file has the lines',
              wait_for(lambda: 'ready' in read_text(log), 5), read_text(log))
        check('--no-stdout-log: no log lines on stdout',
              not log_lines(srv.stdout()), srv.stdout()[-1500:])
    # and by default (no --log-file) the log goes to stdout
    srv, port = loopback_server()
    with srv:
        check('default: log lines on stdout',
              wait_for(lambda: log_lines(srv.stdout()), 3), srv.stdout())


@test
def log_file_special_values():
    srv, port = loopback_server('--log-file', 'stdout')
    with srv:
        check('--log-file stdout: answers', answers('127.0.0.1', port))
        check('--log-file stdout: log lines on stdout',
              wait_for(lambda: 'ready' in srv.stdout(), 3), srv.stdout())
        made = [f for f in os.listdir(srv.dir) if f.startswith('stdout')]
        check('--log-file stdout: no file named stdout created', not made, made)
    srv, port = loopback_server('-V')
    with srv:
        check('-V: starts and answers', answers('127.0.0.1', port))


@test
def verbose_logs_tcp_sessions_with_conn_id():
    srv, port = loopback_server('-v')
    with srv:
        with tcp_connect('127.0.0.1', port) as s:
            req, txid = build_request()
            s.sendall(req)
            m = tcp_read_message(s)
            check('-v: TCP Binding answered', m is not None and m.txid == txid)
        line = wait_for(lambda: CONN_RE.search(srv.output()), 3)
        check('-v: a log line with conn=<hex id> for the TCP connection',
              line, srv.output()[-1500:])
        lines = [l for l in srv.output().splitlines() if CONN_RE.search(l)]
        check('-v: conn= lines are proper log lines',
              lines and all(LOG_LINE_RE.match(l) for l in lines), lines)
    srv, port = loopback_server()
    with srv:
        with tcp_connect('127.0.0.1', port) as s:
            req, txid = build_request()
            s.sendall(req)
            tcp_read_message(s)
        answers('127.0.0.1', port)
        time.sleep(0.3)
        check('without -v: no per-connection lines', not CONN_RE.search(
            srv.output()), srv.output()[-1500:])


@test
def relay_threads_two():
    for args in (['--relay-threads', '2'], ['-m', '2']):
        srv, port = loopback_server(*args)
        with srv:
            ok = sum(answers('127.0.0.1', port) for _ in range(20))
            check('%s: 20 of 20 UDP clients answered' % ' '.join(args), ok == 20,
                  '%d answered' % ok)
            good = 0
            for _ in range(10):
                with tcp_connect('127.0.0.1', port) as s:
                    req, txid = build_request()
                    s.sendall(req)
                    m = tcp_read_message(s)
                    good += m is not None and m.txid == txid
            check('%s: 10 of 10 TCP clients answered' % ' '.join(args),
                  good == 10, '%d answered' % good)


@test
def ipv6_listener():
    if not V6:
        check('::1 available on this machine (IPv6 disabled?)', False)
        return
    port = free_port('both', ('::1', '127.0.0.1'))
    with Server(['-L', '::1', '-p', str(port)], ready=('stun', '::1', port)):
        check('-L ::1: raw client gets ::1 and its port', answers('::1', port))
        rc, out, addrs = stunclient('::1', port)
        check('-L ::1: turnutils_stunclient gets ::1',
              rc == 0 and addrs and addrs[0][0] == '::1', out)
        with tcp_connect('::1', port) as s:
            req, txid = build_request()
            s.sendall(req)
            m = tcp_read_message(s)
            check('-L ::1: TCP answered with ::1',
                  m is not None and m.xor_mapped() == s.getsockname()[:2],
                  repr(m))
        m, _ = binding_ok('127.0.0.1', port, timeout=0.6)
        check('-L ::1 only: 127.0.0.1 not served', m is None, repr(m))


@test
def no_udp_and_no_tcp():
    srv, port = loopback_server('--no-udp', ready=('log', 'ready'))
    with srv:
        m, _ = binding_ok('127.0.0.1', port, timeout=0.6)
        check('--no-udp: no UDP answer', m is None, repr(m))
        with tcp_connect('127.0.0.1', port) as s:
            req, txid = build_request()
            s.sendall(req)
            m = tcp_read_message(s)
            check('--no-udp: TCP still answered', m is not None and
                  m.txid == txid, repr(m))
    srv, port = loopback_server('--no-tcp')
    with srv:
        check('--no-tcp: UDP answered', answers('127.0.0.1', port))
        try:
            tcp_connect('127.0.0.1', port, timeout=2).close()
            refused = False
        except OSError:
            refused = True
        check('--no-tcp: TCP connection refused', refused)


done()
