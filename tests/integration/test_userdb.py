"""The SQLite user database (userdb): turnpike-admin writes it, a running
turnpike reads it on every authentication (no restart), and both agree with
coturn: the same key as `turnadmin -k`, and a database made by coturn's
turnadmin works unchanged."""

import base64
import glob
import hashlib
import hmac
import os
import re
import subprocess
import time

from lib import *
from lib import Result
from turn_client import TurnClient

ADMIN_BIN = os.path.join(os.path.dirname(TURNPIKE_BIN), 'turnpike-admin')
REALM = 'userdb.test'


def admin(*args, timeout=20):
    """turnpike-admin ARGS: Result(rc, stdout, stderr)."""
    p = subprocess.run([ADMIN_BIN] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    r = Result(p.returncode, p.stdout.decode('utf-8', 'replace'),
               p.stderr.decode('utf-8', 'replace'))
    rep = sanitizer_report(r.stderr)
    if rep:
        check('turnpike-admin %s: no sanitizer report' % ' '.join(
            map(str, args)), False, rep.splitlines()[0])
    return r


def turnadmin(*args, timeout=20):
    """coturn's turnadmin: (rc, stdout).  It logs to
    /var/log/turn_<pid>_<date>.log (and stdout); that file is removed."""
    p = subprocess.Popen(['turnadmin'] + [str(a) for a in args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    for f in glob.glob('/var/log/turn_%d_*.log' % p.pid):
        try:
            os.unlink(f)
        except OSError:
            pass
    return p.returncode, out.decode('utf-8', 'replace')


def rest_credential(secret, user='bob', ttl=3600):
    name = '%d:%s' % (int(time.time()) + ttl, user)
    mac = hmac.new(secret.encode(), name.encode(), hashlib.sha1).digest()
    return name, base64.b64encode(mac).decode()


def allocate(port, user, password):
    """A raw Allocate with long-term credentials: the response code, 0 for
    success, None for no answer."""
    c = TurnClient(('127.0.0.1', port), user, password)
    try:
        m = c.allocate()
    finally:
        c.close()
    if m is None:
        return None
    return m.code if m.is_error else 0


def start(db, extra=()):
    port = free_port()
    lo, hi = free_port_range(16)
    args = ['-L', '127.0.0.1', '-p', str(port), '-a', '-r', REALM,
            '--userdb', db, '--min-port', str(lo), '--max-port', str(hi),
            '--allow-loopback-peers'] + list(extra)
    return Server(args), port


def uclient(port, user, password, timeout=60):
    """turnutils_uclient -y (two clients relaying to each other)."""
    cmd = ['turnutils_uclient', '-y', '-n', '10', '-p', str(port),
           '-u', user, '-w', password, '127.0.0.1']
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout,
                           start_new_session=True)
        rc, out = p.returncode, (p.stdout + p.stderr).decode('utf-8',
                                                             'replace')
    except subprocess.TimeoutExpired as e:
        rc, out = None, ((e.stdout or b'') + (e.stderr or b'')).decode(
            'utf-8', 'replace')
    m = re.findall(r'tot_send_msgs=(\d+), tot_recv_msgs=(\d+)', out)
    sent, recv = (int(m[-1][0]), int(m[-1][1])) if m else (0, -1)
    return rc, out, sent, recv


@test
def admin_tool():
    check('turnpike-admin is built beside turnpike',
          os.access(ADMIN_BIN, os.X_OK), ADMIN_BIN)
    for user, realm, pw in (('u', 'r', 'p'),
                            ('alice', 'example.org', 'secret'),
                            ('bob.smith', REALM, 'pässwörd:with:colons')):
        r = admin('-k', '-u', user, '-r', realm, '-p', pw)
        rc, out = turnadmin('-k', '-u', user, '-r', realm, '-p', pw)
        first = out.splitlines()[0] if out else ''
        check('-k %s/%s: exit 0, one line 0x + 32 hex' % (user, realm),
              r.rc == 0 and re.fullmatch(r'0x[0-9a-f]{32}\n', r.stdout),
              r)
        check('-k %s/%s equals turnadmin -k' % (user, realm),
              rc == 0 and first == r.stdout.strip(),
              'turnpike-admin %r, turnadmin %r' % (r.stdout, out))
    r = admin('-k', '-u', 'alice', '-r', 'example.org', '-p', 'secret')
    check('-k alice: MD5(alice:example.org:secret)',
          r.stdout.strip() == '0x' + hashlib.md5(
              b'alice:example.org:secret').hexdigest(), r)

    r = admin('--help')
    check('--help: exit 0, lists the commands',
          r.rc == 0 and '--set-secret' in r.stdout and '--userdb' in
          r.stdout, r)
    r = admin()
    check('no command: exit 2 with a message',
          r.rc == 2 and 'no command' in r.stderr, r)
    r = admin('-a', '-u', 'x', '-r', REALM, '-p', 'pw')
    check('-a without -b: exit 2, says -b FILE',
          r.rc == 2 and '-b FILE' in r.stderr, r)
    r = admin('-a', '-d', '-b', 'x.db')
    check('two commands: exit 2', r.rc == 2 and 'one command' in r.stderr,
          r)
    r = admin('-l', '-b', 'x.db', '--bogus')
    check('unknown option: exit 2, named',
          r.rc == 2 and '--bogus' in r.stderr, r)
    r = admin('-a', '-b', '/nonexistent-dir/turndb', '-u', 'x', '-r', REALM,
              '-p', 'pw')
    check('unwritable database: exit 1 with the path',
          r.rc == 1 and '/nonexistent-dir/turndb' in r.stderr, r)
    d = tmpdir('admin')
    db = os.path.join(d, 'turndb')
    r = admin('-d', '-b', db, '-u', 'nobody', '-r', REALM)
    check('-d on a missing file: exit 1, file not created',
          r.rc == 1 and not os.path.exists(db), r)
    check('-a creates the database',
          admin('-a', '--db', db, '--user=zoe', '-r', REALM, '-p',
                'pw').rc == 0 and os.path.exists(db))
    check('-a --userdb=... -r other.test',
          admin('-a', '--userdb=' + db, '-u', 'amy', '--realm', 'other.test',
                '-p', 'pw').rc == 0)
    r = admin('-l', '-b', db)
    check('-l lists NAME[REALM], sorted by realm',
          r.rc == 0 and r.stdout == 'amy[other.test]\nzoe[%s]\n' % REALM, r)
    r = admin('-l', '-b', db, '-r', REALM)
    check('-l -r lists one realm', r.stdout == 'zoe[%s]\n' % REALM, r)
    check('-s adds a secret', admin('-s', 'sekrit', '-b', db, '-r',
                                    REALM).rc == 0)
    r = admin('-S', '-b', db)
    check('-S lists SECRET[REALM]', r.stdout == 'sekrit[%s]\n' % REALM, r)
    r = admin('-X', 'other', '-b', db, '-r', REALM)
    check('-X of a missing secret: exit 1', r.rc == 1, r)
    check('-X deletes it', admin('-X', 'sekrit', '-b', db, '-r',
                                 REALM).rc == 0 and
          admin('-S', '-b', db).stdout == '')
    rc, out = turnadmin('-l', '-b', db)
    check('coturn turnadmin -l reads a turnpike-admin database',
          rc == 0 and 'zoe[%s]' % REALM in out, out)


@test
def live_users():
    d = tmpdir('live')
    db = os.path.join(d, 'turndb')
    check('alice added', admin('-a', '-b', db, '-u', 'alice', '-r', REALM,
                               '-p', 'wonderland').rc == 0)
    srv, port = start(db)
    with srv:
        check('start log names the database and counts its users',
              wait_for(lambda: 'auth userdb=%s realm=%s users=1' %
                       (db, REALM) in srv.output(), 5), srv.output)
        rc, out, sent, recv = uclient(port, 'alice', 'wonderland')
        check('turnutils_uclient -y as a database user: exit 0',
              rc == 0, out[-1500:])
        check('every relayed message arrives', sent >= 10 and recv == sent,
              (sent, recv))
        check('raw Allocate as alice succeeds',
              allocate(port, 'alice', 'wonderland') == 0)
        check('wrong password: 401', allocate(port, 'alice', 'nope') == 401)
        check('bob unknown yet: 401', allocate(port, 'bob', 'builder') == 401)
        check('bob added while the server runs',
              admin('-a', '-b', db, '-u', 'bob', '-r', REALM, '-p',
                    'builder').rc == 0)
        check('bob accepted without a restart',
              allocate(port, 'bob', 'builder') == 0)
        check('alice deleted', admin('-d', '-b', db, '-u', 'alice', '-r',
                                     REALM).rc == 0)
        check('alice refused at once: 401',
              allocate(port, 'alice', 'wonderland') == 401)
        check('bob changes his password',
              admin('-a', '-b', db, '-u', 'bob', '-r', REALM, '-p',
                    'new').rc == 0)
        check('old password refused, new accepted',
              allocate(port, 'bob', 'builder') == 401 and
              allocate(port, 'bob', 'new') == 0)
        check('a user of another realm is refused',
              admin('-a', '-b', db, '-u', 'carl', '-r', 'other.test', '-p',
                    'pw').rc == 0 and allocate(port, 'carl', 'pw') == 401)
        check('server still running', srv.alive())


@test
def rest_secrets():
    d = tmpdir('rest')
    db = os.path.join(d, 'turndb')
    check('secret added', admin('-s', 'north-wind', '-b', db, '-r',
                                REALM).rc == 0)
    srv, port = start(db, ['--use-auth-secret'])
    with srv:
        name, pw = rest_credential('north-wind')
        check('REST credential from a database secret: allocated',
              allocate(port, name, pw) == 0)
        name, pw = rest_credential('south-wind')
        check('unknown secret: 401', allocate(port, name, pw) == 401)
        check('second secret added while running',
              admin('-s', 'south-wind', '-b', db, '-r', REALM).rc == 0)
        check('now accepted', allocate(port, name, pw) == 0)
        name, pw = rest_credential('north-wind', ttl=-10)
        check('expired name: 401', allocate(port, name, pw) == 401)
        check('first secret deleted',
              admin('-X', 'north-wind', '-b', db, '-r', REALM).rc == 0)
        name, pw = rest_credential('north-wind')
        check('its credentials refused at once: 401',
              allocate(port, name, pw) == 401)
        check('--delete-all-secrets',
              admin('--delete-all-secrets', '-b', db, '-r', REALM).rc == 0)
        name, pw = rest_credential('south-wind')
        check('no secret left: 401', allocate(port, name, pw) == 401)
    srv, port = start(db)
    with srv:
        admin('-s', 'north-wind', '-b', db, '-r', REALM)
        name, pw = rest_credential('north-wind')
        check('without use-auth-secret database secrets are not used',
              allocate(port, name, pw) == 401)


@test
def coturn_database():
    d = tmpdir('coturn')
    db = os.path.join(d, 'turndb')
    rc, out = turnadmin('-a', '-b', db, '-u', 'carol', '-r', REALM, '-p',
                        'coturn-pw')
    check('turnadmin -a creates a database', rc == 0 and os.path.exists(db),
          out)
    rc, out = turnadmin('-s', 'coturn-secret', '-b', db, '-r', REALM)
    check('turnadmin -s adds a secret', rc == 0, out)
    r = admin('-l', '-b', db)
    check('turnpike-admin -l reads it', r.stdout == 'carol[%s]\n' % REALM, r)
    srv, port = start(db, ['--use-auth-secret'])
    with srv:
        check('carol (made by coturn) allocates',
              allocate(port, 'carol', 'coturn-pw') == 0)
        name, pw = rest_credential('coturn-secret')
        check('coturn-stored secret accepted', allocate(port, name, pw) == 0)
        check('turnpike-admin adds to the coturn database',
              admin('-a', '-b', db, '-u', 'dan', '-r', REALM, '-p',
                    'pw').rc == 0 and allocate(port, 'dan', 'pw') == 0)


@test
def missing_database():
    d = tmpdir('missing')
    db = os.path.join(d, 'later.db')
    srv, port = start(db)
    with srv:
        check('starts without the file, and says so',
              srv.alive() and wait_for(lambda: 'auth userdb=' in
                                       srv.output(), 5), srv.output)
        check('nobody gets in yet', allocate(port, 'eve', 'pw') == 401)
        check('file created afterwards',
              admin('-a', '-b', db, '-u', 'eve', '-r', REALM, '-p',
                    'pw').rc == 0)
        check('then eve allocates', allocate(port, 'eve', 'pw') == 0)


done()
