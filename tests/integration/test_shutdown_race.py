"""SIGTERM while clients connect, exchange a Binding and close, over plain
TCP and TLS: the server exits 0 with no sanitizer report (a connection
closing at that moment must be freed exactly once)."""

import socket
import ssl
import subprocess
import threading
import time

from lib import *


def make_cert(d):
    cert, key = d + '/cert.pem', d + '/key.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-days', '2', '-subj', '/CN=localhost',
                    '-keyout', key, '-out', cert], check=True,
                   capture_output=True, timeout=60)
    return cert, key


def churn_then_stop(use_tls, rounds=4, threads=8):
    cert, key = make_cert(tmpdir('cert'))
    for r in range(rounds):
        port, tport = free_port(), free_port('tcp')
        srv = Server(['-L', '127.0.0.1', '-p', str(port),
                      '--tls-listening-port', str(tport), '--cert', cert,
                      '--pkey', key])
        stop = threading.Event()

        def churn():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            deadline = time.monotonic() + 10
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    s = socket.create_connection(('127.0.0.1', tport),
                                                 timeout=2)
                    if use_tls:
                        s = ctx.wrap_socket(s)
                    s.sendall(build_request()[0])
                    tcp_read_message(s, timeout=2)
                    s.close()
                except OSError:
                    pass
        ths = [threading.Thread(target=churn, daemon=True)
               for _ in range(threads)]
        with srv:
            for th in ths:
                th.start()
            time.sleep(0.3 + 0.2 * r)
            rc = srv.stop()
            check('%s round %d: exit 0 under connection churn' %
                  ('TLS' if use_tls else 'TCP', r + 1), rc == 0,
                  'rc=%r' % rc)
        stop.set()
        for th in ths:
            th.join(5)


@test
def plain_tcp_churn():
    churn_then_stop(False)


@test
def tls_churn():
    churn_then_stop(True)


done()
