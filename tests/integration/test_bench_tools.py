"""The benchmark's load generators (bench/loadgen/) against the server
under test: they must keep working, and a short burst of their load must
leave the (sanitized) server clean. Small loads; no figure is judged."""

import contextlib
import json
import os
import socket
import subprocess

from lib import *

USER, PASSWORD, REALM = 'u', 'p', 'bench'
BUILD = os.environ.get('TURNPIKE_BUILD') or \
    os.path.dirname(os.path.dirname(TURNPIKE_BIN))
TOOLS = os.path.join(BUILD, 'bench')


def tool(name, args, timeout=60):
    """Run a load generator: (exit status, its '# result' JSON or None,
    output for the diagnostics)."""
    try:
        p = subprocess.run([os.path.join(TOOLS, name)] + args,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, None, 'timed out: %s' % e
    result = None
    for line in p.stdout.splitlines():
        if line.startswith('# result '):
            result = json.loads(line[len('# result '):])
    return p.returncode, result, (p.stdout + p.stderr)[-1500:]


def start_turn():
    port = free_port()
    lo, hi = free_port_range(64)
    srv = Server(['-L', '127.0.0.1', '-p', str(port), '-a', '-u',
                  '%s:%s' % (USER, PASSWORD), '-r', REALM, '--min-port',
                  str(lo), '--max-port', str(hi), '--allow-loopback-peers',
                  '--signal-rate', '0', '-v'])
    return srv, port


def stop_tool(p):
    p.terminate()
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)


@contextlib.contextmanager
def floor_running(name, port):
    """bench/loadgen's udp_floor or ws_floor on 127.0.0.1:port: it must say
    where it listens, and exit 0 on SIGTERM at the end."""
    floor = subprocess.Popen([os.path.join(TOOLS, name), '--listen',
                              '127.0.0.1:%d' % port],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = floor.stdout.readline()
        check('%s says where it listens' % name,
              line.strip() == 'listening %d' % port, line)
        yield floor
    finally:
        stop_tool(floor)
        floor.stdout.close()
    check('%s exits 0 on SIGTERM' % name, floor.returncode == 0,
          floor.returncode)


@test
def turn_load_allocates_and_relays():
    srv, port = start_turn()
    with srv:
        base = ['--server', '127.0.0.1:%d' % port, '--pid', str(srv.pid),
                '--user', USER, '--pass', PASSWORD, '--timeout', '20']
        rc, r, out = tool('turn_load', base + ['--mode', 'alloc',
                                               '--count', '40'])
        check('turn_load alloc: 40 allocations', rc == 0 and r is not None
              and r['ok'] == 40 and r['failed'] == 0, out)
        for transport in ('udp', 'tcp'):
            rc, r, out = tool('turn_load', base + [
                '--mode', 'flow', '--transport', transport, '--sessions',
                '4', '--size', '100', '--window', '2', '--duration', '1',
                '--warmup', '0.2'])
            check('turn_load flow over %s: packets relayed client to '
                  'client, none lost' % transport, rc == 0 and r is not None
                  and r['received'] > 0 and r['lost'] == 0 and
                  r['lat_us']['p50'] > 0, out)


@test
def udp_floor_forwards():
    port = free_port('udp')
    with floor_running('udp_floor', port) as floor:
        rc, r, out = tool('turn_load', [
            '--mode', 'raw', '--target', '127.0.0.1:%d' % port,
            '--sessions', '4', '--size', '100', '--window', '2',
            '--duration', '1', '--warmup', '0.2', '--pid', str(floor.pid)])
        check('turn_load raw through udp_floor: packets delivered',
              rc == 0 and r is not None and r['received'] > 0, out)


@test
def ws_floor_answers_joins():
    port = free_port('tcp')
    with floor_running('ws_floor', port) as floor:
        rc, r, out = tool('sig_load', [
            '--url', 'ws://127.0.0.1:%d/ws' % port, '--pid', str(floor.pid),
            '--timeout', '20', '--mode', 'join', '--conns', '40',
            '--concurrency', '8'])
        check('sig_load join against ws_floor: every connection upgraded '
              '(Sec-WebSocket-Accept checked), joined and closed by the '
              'close handshake', rc == 0 and r is not None and
              r['joined'] == 40 and not r['errors'] and not r['refused'] and
              r['closed_by_server'] == 0, out)
        with socket.create_connection(('127.0.0.1', port), 5) as s:
            s.settimeout(5)
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
            answer = s.recv(64)
        check('ws_floor: a request that is no upgrade gets a 426',
              answer.startswith(b'HTTP/1.1 426 '), answer)


@test
def sig_load_joins_and_forwards():
    tport, sport = free_port(), free_port('tcp')
    lo, hi = free_port_range(16)
    srv = Server(['-L', '127.0.0.1', '-p', str(tport), '-r', REALM,
                  '--min-port', str(lo), '--max-port', str(hi),
                  '--signal-port', str(sport), '--signal-rate', '0'])
    with srv:
        base = ['--url', 'ws://127.0.0.1:%d/ws' % sport, '--pid',
                str(srv.pid), '--timeout', '20']
        rc, r, out = tool('sig_load', base + ['--mode', 'msg', '--pairs',
                                              '4', '--size', '300',
                                              '--window', '2',
                                              '--duration', '1',
                                              '--warmup', '0.2'])
        check('sig_load msg: messages forwarded, no error, no close',
              rc == 0 and r is not None and r['forwarded'] > 0 and
              not r['errors'] and not r['closes'], out)
        rc, r, out = tool('sig_load', base + ['--mode', 'join', '--conns',
                                              '40', '--concurrency', '8'])
        check('sig_load join: every pair joins', rc == 0 and r is not None
              and r['joins'] > 0 and not r['errors'], out)
        check('the server is still up', pid_alive(srv.pid))


done()
