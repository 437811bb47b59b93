#!/usr/bin/python3
"""coturn command lines and configuration files from the tutorials start the
server unchanged and it answers STUN; configuration errors exit 2 and say
where (FILE:LINE, or `argument N` for the command line)."""

import glob
import os
import re
import subprocess
import time

from lib import *

V6 = ipv6_loopback_ok()


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def self_signed(d):
    cert, key = os.path.join(d, 'cert.pem'), os.path.join(d, 'pkey.pem')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                        '-nodes', '-days', '1', '-subj', '/CN=localhost',
                        '-keyout', key, '-out', cert],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if p.returncode != 0:
        diag(p.stderr.decode('utf-8', 'replace'))
    return cert, key


def answers(host, port, netns_pid=None, **kw):
    m, src = binding_ok(host, port, netns_pid=netns_pid, **kw)
    return m is not None and m.type == BINDING_SUCCESS and \
        m.xor_mapped() == src, m


@test
def tutorial_a_daemon_with_full_config():
    # turnpike -o -a -f -c FILE
    d = tmpdir('a')
    cert, key = self_signed(d)
    port = free_port('both')
    tls_port = free_port('tcp')
    lo, hi = free_port_range(16)
    pidfile = os.path.join(d, 'turnpike.pid')
    cfg = '\n'.join([
        '# coturn tutorial configuration',
        'relay-device=lo',
        'listening-ip=127.0.0.1',
        'listening-port=%d' % port,
        'relay-ip=127.0.0.1',
        'tls-listening-port=%d' % tls_port,
        'external-ip=203.0.113.5',
        'relay-threads=2',
        'lt-cred-mech',
        'cert=%s' % cert,
        'pkey=%s' % key,
        'min-port=%d' % lo,
        'max-port=%d' % hi,
        'user=lqf:123456',
        'realm=nort.gov',
        'server-name=nort.gov',
        'cli-password=qwerty',
        'pidfile=%s' % pidfile,
        ''])
    t0 = time.monotonic()
    srv = Server(['-o', '-a', '-f', '-c', '{config}'], cfg,
                 daemon_pidfile=pidfile, ready=('stun', '127.0.0.1', port))
    try:
        check('(a) -o: parent exited 0', srv.parent_rc == 0,
              'parent exit status %r' % srv.parent_rc)
        check('(a) -o: parent returned within 10 s',
              time.monotonic() - t0 < 10)
        check('(a) pidfile holds a live PID', srv.pid and pid_alive(srv.pid))
        check('(a) daemon is not the parent',
              srv.pid != srv.proc.pid)
        ok, m = answers('127.0.0.1', port)
        check('(a) answers STUN on 127.0.0.1:%d' % port, ok, repr(m))
        # external-ip is for relayed addresses; XOR-MAPPED-ADDRESS stays the
        # real source (coturn rewrites it too; TESTING.md: do not copy).
        check('(a) -f: FINGERPRINT in the response',
              m is not None and m.fingerprint_valid() is True, repr(m))
        with tcp_connect('127.0.0.1', port) as s:
            req, txid = build_request()
            s.sendall(req)
            r = tcp_read_message(s)
            check('(a) answers STUN over TCP', r is not None and r.txid == txid)
        rc, out, addrs = stunclient('127.0.0.1', port)
        check('(a) turnutils_stunclient gets 127.0.0.1',
              rc == 0 and addrs and addrs[0][0] == '127.0.0.1', out)
        # the parent reported the ignored coturn option before detaching
        early = srv.stdout() + srv.stderr()
        check('(a) warns that cli-password is not supported, ignored',
              re.search(r'cli-password.*(not supported|ignored)', early),
              early[-1500:])
        pid = srv.pid
    finally:
        srv.stop()
    check('(a) SIGTERM to the pidfile PID: daemon gone within 10 s',
          not pid_alive(pid))
    check('(a) pidfile removed on shutdown', not os.path.exists(pidfile))


@test
def tutorial_b_all_addresses_in_netns():
    # turnpike -L 0.0.0.0 -a -u lqf:123456 -v -f -r nort.gov  (+ -n -p PORT)
    port = free_port('both')
    srv = Server(['-L', '0.0.0.0', '-a', '-u', 'lqf:123456', '-v', '-f',
                  '-r', 'nort.gov', '-n', '-p', str(port)], netns=True,
                 ready=('stun', '127.0.0.1', port))
    with srv:
        check('(b) started inside a network namespace', srv.started_ok)
        rc, out, addrs = stunclient('127.0.0.1', port, netns_pid=srv.pid)
        check('(b) turnutils_stunclient in the namespace gets 127.0.0.1',
              rc == 0 and addrs and addrs[0][0] == '127.0.0.1', out)
        ok, m = answers('127.0.0.1', port, netns_pid=srv.pid)
        check('(b) raw client: exact reflexive address', ok, repr(m))
        check('(b) -f: FINGERPRINT present',
              m is not None and m.fingerprint_valid() is True, repr(m))
        with tcp_connect('127.0.0.1', port, netns_pid=srv.pid) as s:
            req, txid = build_request()
            s.sendall(req)
            r = tcp_read_message(s)
            check('(b) TCP on 0.0.0.0 answers', r is not None and r.txid == txid)
        check('(b) -v: the TCP connection got a conn= line',
              wait_for(lambda: 'conn=' in srv.output(), 3), srv.output()[-1500:])


@test
def tutorial_c_coturn_conf_empty_addresses_in_netns():
    port = free_port('both')
    cfg = '\n'.join([
        '# /etc/turnserver.conf as the tutorial writes it',
        'listening-port=%d' % port,
        'listening-ip=',
        'relay-ip=',
        'alt-listening-port=0',
        'external-ip=203.0.113.5',
        'realm=nort.gov',
        'no-tls',
        'no-dtls',
        'mobility',
        'no-cli',
        'verbose',
        'fingerprint',
        'lt-cred-mech',
        'stale-nonce=3600',
        'user=lqf:123456',
        ''])
    with Server(['-c', '{config}'], cfg, netns=True,
                ready=('stun', '127.0.0.1', port)) as srv:
        check('(c) started with empty listening-ip/relay-ip', srv.started_ok)
        ok, m = answers('127.0.0.1', port, netns_pid=srv.pid)
        check('(c) answers on 127.0.0.1 (all addresses)', ok, repr(m))
        check('(c) fingerprint: FINGERPRINT present',
              m is not None and m.fingerprint_valid() is True, repr(m))
        if V6:
            ok6, m6 = answers('::1', port, netns_pid=srv.pid)
            check('(c) answers on ::1 too (all addresses, IPv6)', ok6, repr(m6))
        rc, out, addrs = stunclient('127.0.0.1', port, netns_pid=srv.pid)
        check('(c) turnutils_stunclient gets 127.0.0.1',
              rc == 0 and addrs and addrs[0][0] == '127.0.0.1', out)
        out = srv.output()
        check('(c) warns that no-cli is not supported, ignored',
              re.search(r'no-cli.*(not supported|ignored)', out), out[-1500:])
        check('(c) warns that no-dtls is not supported, ignored',
              re.search(r'no-dtls.*(not supported|ignored)', out), out[-1500:])


@test
def tutorial_d_log_file_and_no_stun():
    d = tmpdir('d')
    log = os.path.join(d, 'turn.log')
    lo, hi = free_port_range(16)
    cfg = ('log-file=%s\nno-stun\nfingerprint\nmin-port=%d\nmax-port=%d\n' %
           (log, lo, hi))
    # No listening-ip: all addresses, so inside a namespace; default port.
    with Server(['-c', '{config}'], cfg, netns=True, log_file=log,
                ready=('log', 'ready')) as srv:
        check('(d) started', srv.started_ok and srv.alive())

        def log_files():
            # coturn appends _PID_DATE unless simple-log; accept both
            return glob.glob(os.path.join(d, 'turn*.log'))
        files = wait_for(log_files, 5)
        check('(d) log file written', bool(files), os.listdir(d))
        text = ''.join(read_text(p) for p in files or [])
        lines = [l for l in text.splitlines() if l.strip()]
        check('(d) log lines are ISO-8601 UTC timestamped',
              lines and all(LOG_LINE_RE.match(l) for l in lines), text[-1500:])
        check('(d) log says ready', 'ready' in text, text[-1500:])
        # so the silence below is no-stun, not a missing listener
        check('(d) listening on udp 127.0.0.1:3478 (default port)',
              'listening udp 127.0.0.1:3478' in text, text[-1500:])
        m, _ = binding_ok('127.0.0.1', 3478, timeout=1.0, netns_pid=srv.pid)
        check('(d) no-stun: no STUN answer on 127.0.0.1:3478 within 1 s',
              m is None, repr(m))
        check('(d) still running', srv.alive())

# ------------------------------------------------------------- error cases


def conf(d, lines):
    return write(os.path.join(d, 'turnserver.conf'), '\n'.join(lines) + '\n')


def expect_exit2(label, args, needles):
    r = run_turnpike(args)
    check('%s: exit status 2' % label, r.rc == 2, repr(r))
    for n in needles:
        if hasattr(n, 'search'):
            check('%s: stderr matches /%s/' % (label, n.pattern),
                  n.search(r.stderr), repr(r.stderr))
        else:
            check('%s: stderr names %r' % (label, n), n in r.stderr,
                  repr(r.stderr))
    return r


@test
def error_unknown_option_in_file():
    d = tmpdir('e1')
    port = free_port('both')
    f = conf(d, ['# comment', 'listening-ip=127.0.0.1',
                 'listening-port=%d' % port, '', 'bogus-option=1'])
    expect_exit2('unknown option in file', ['-c', f],
                 ['bogus-option', '%s:5' % f])


@test
def error_unknown_option_argv():
    expect_exit2('unknown option on the command line',
                 ['-n', '-L', '127.0.0.1', '--bogus-option'],
                 ['bogus-option', 'argument 4'])
    expect_exit2('unknown short option', ['-n', '-L', '127.0.0.1', '-j'],
                 [re.compile(r"'?-j'?"), 'argument 4'])


@test
def error_port_out_of_range():
    d = tmpdir('e2')
    f = conf(d, ['listening-ip=127.0.0.1', 'listening-port=70000'])
    expect_exit2('listening-port=70000 in file', ['-c', f],
                 ['listening-port', '70000', '%s:2' % f])
    expect_exit2('-p 70000', ['-n', '-L', '127.0.0.1', '-p', '70000'],
                 ['listening-port', '70000', 'argument 4'])


@test
def error_bad_address():
    d = tmpdir('e3')
    port = free_port('both')
    f = conf(d, ['listening-port=%d' % port, 'listening-ip=300.1.2.3'])
    expect_exit2('listening-ip=300.1.2.3 in file', ['-c', f],
                 ['listening-ip', '300.1.2.3', '%s:2' % f])
    expect_exit2('-L not-an-address', ['-n', '-p', str(port), '-L', 'nope'],
                 ['listening-ip', 'nope', 'argument 4'])
    f = conf(d, ['listening-ip=127.0.0.1', 'listening-port=%d' % port,
                 'relay-ip=127.0.0.1.5'])
    expect_exit2('relay-ip=127.0.0.1.5 in file', ['-c', f],
                 ['relay-ip', '%s:3' % f])


@test
def error_min_port_above_max_port():
    d = tmpdir('e4')
    port = free_port('both')
    f = conf(d, ['listening-ip=127.0.0.1', 'listening-port=%d' % port,
                 'min-port=50000', 'max-port=40000'])
    expect_exit2('min-port > max-port in file', ['-c', f],
                 ['min-port', 'max-port',
                  re.compile(re.escape(f) + r':(3|4)\b')])
    expect_exit2('--min-port 50000 --max-port 40000',
                 ['-n', '-L', '127.0.0.1', '-p', str(port), '--min-port',
                  '50000', '--max-port', '40000'],
                 ['min-port', 'max-port', re.compile(r'argument (6|8)\b')])


@test
def error_unreadable_config_file():
    d = tmpdir('e5')
    missing = os.path.join(d, 'missing.conf')
    expect_exit2('-c missing file', ['-c', missing], [missing])
    expect_exit2('-c a directory', ['-c', d], [d])


@test
def error_refused_security_options():
    d = tmpdir('e6')
    port = free_port('both')
    f = conf(d, ['listening-ip=127.0.0.1', 'listening-port=%d' % port,
                 'psql-userdb="host=localhost dbname=coturn"'])
    expect_exit2('psql-userdb refused', ['-c', f], ['psql-userdb', '%s:3' % f])
    expect_exit2('--max-bps refused',
                 ['-n', '-L', '127.0.0.1', '-p', str(port), '--max-bps', '1000'],
                 ['max-bps'])


@test
def help_and_version():
    r = run_turnpike(['--help'])
    check('--help: exit 0', r.rc == 0, repr(r))
    for opt in ('--listening-port', '--listening-ip', '--fingerprint',
                '--log-file', '--pidfile', '--no-stun', '-c'):
        check('--help lists %s' % opt, opt in r.stdout, r.stdout[:500])
    r = run_turnpike(['-h'])
    check('-h: exit 0 with the same text', r.rc == 0 and '--listening-port'
          in r.stdout, repr(r))
    r = run_turnpike(['--version'])
    check('--version: exit 0, names turnpike and a version',
          r.rc == 0 and re.search(r'turnpike\S* v?\d+\.\d+', r.stdout),
          repr(r))


done()
