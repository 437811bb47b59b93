#!/usr/bin/env node
// Load generator for the signaling benchmark (bench/signal.py drives it; see
// bench/README.md). It speaks the core room protocol of PROTOCOL.md, so it
// runs unchanged against turnpike and against bench/tutorial_server.js.
//
//   node bench/signal_bench.js --url ws://127.0.0.1:PORT/ws --pid SERVER_PID
//        --mode load [--pairs 50,200] [--sizes 300,4096] [--msgs 100]
//                    [--min-msgs 30000]
//   node bench/signal_bench.js --url ... --pid ... --mode rss [--idle 2000]
//
// load: for each pair count P and message size S, one or more rounds. A round
//   opens 2P WebSockets, joins P rooms (A then B; each side waits for its
//   resp-join or new-peer), then every pair plays ping-pong: A sends to B a
//   message carrying its send time, B answers A at once, A sends the next when
//   the answer arrives (closed loop, one message in flight per pair), --msgs
//   times each way. Size 300: candidate both ways; size 4096: offer A->B,
//   answer B->A. Then it closes the round's sockets. Rounds repeat (fresh
//   sockets) until the phase has forwarded at least --min-msgs messages.
//   Measured over the exchange only (after every join, before any close):
//   forwarded messages (= messages the clients received), wall time, server
//   utime+stime from /proc/PID/stat, and the one-way latency of every
//   message: receive time minus the send time written in it, both read from
//   this process's monotonic clock (performance.now()).
// rss: a fresh server; VmRSS and CPU are read, --idle WebSockets are opened
//   and joined (idle/2 rooms of 2), after 1 s VmRSS and CPU are read again.
//   (held - before) / idle = RSS per connection; CPU / idle = cost of one
//   connection's upgrade + join.
//
// turnpike allows each connection 50 messages/s with a burst of 200 (the
// bucket starts full). --msgs 100 + the join stays inside the burst, and
// every round uses new connections, so the load measures forwarding and not
// the limiter. Any error message or unexpected close is counted and reported.
//
// Progress goes to stderr; the last stdout line is "# result {json}".
// Exit status: 0 when every phase completed, 1 when one did not, 2 on usage.
// Every wait has a deadline (--timeout seconds per step).

'use strict';

const fs = require('fs');
const path = require('path');
const { performance } = require('perf_hooks');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require(path.join(__dirname, '..', 'tests', 'browser',
                                'node_modules', 'ws'));
}

// ------------------------------------------------------------------ options

const opt = {
  url: null, pid: 0, mode: 'load', pairs: '50,200', sizes: '300,4096',
  msgs: 100, 'min-msgs': 30000, idle: 2000, timeout: 30, 'clk-tck': 100,
  src: '127.0.2.1-16', concurrency: 64, nonce: String(process.pid),
  warmup: 20,
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (!a.startsWith('--') || !(a.slice(2) in opt) || i + 1 >= process.argv.length) {
    process.stderr.write('usage: signal_bench.js --url WS_URL --pid PID ' +
      '[--mode load|rss] [--pairs 50,200] [--sizes 300,4096] [--msgs 100] ' +
      '[--min-msgs 30000] [--idle 2000] [--timeout 30] [--clk-tck 100] ' +
      '[--src 127.0.2.1-16] [--concurrency 64] [--nonce S] [--warmup 20]\n');
    process.exit(2);
  }
  opt[a.slice(2)] = process.argv[++i];
}
if (!opt.url || !(parseInt(opt.pid, 10) > 0)) {
  process.stderr.write('signal_bench: --url and --pid are required\n');
  process.exit(2);
}
const PID = parseInt(opt.pid, 10);
const MSGS = parseInt(opt.msgs, 10);
const MIN_MSGS = parseInt(opt['min-msgs'], 10);
const IDLE = parseInt(opt.idle, 10);
const TIMEOUT_MS = parseFloat(opt.timeout) * 1000;
const CLK_TCK = parseInt(opt['clk-tck'], 10);
const CONCURRENCY = parseInt(opt.concurrency, 10);
const SRC = (() => {            // "127.0.2.1-16" -> 127.0.2.1 ... 127.0.2.16
  const m = /^(\d+\.\d+\.\d+\.)(\d+)(?:-(\d+))?$/.exec(opt.src);
  if (!m) return [undefined];
  const out = [];
  for (let i = +m[2]; i <= +(m[3] || m[2]); i++) out.push(m[1] + i);
  return out;
})();

function log(s) { process.stderr.write('signal_bench: ' + s + '\n'); }

// ------------------------------------------------------------------- procfs

function cpuSeconds(pid) {
  const stat = fs.readFileSync('/proc/' + pid + '/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (parseInt(f[11], 10) + parseInt(f[12], 10)) / CLK_TCK;
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/' + pid + '/status',
                                                  'latin1'));
  if (!m) throw new Error('no VmRSS for pid ' + pid);
  return parseInt(m[1], 10);
}

function serverAlive() {
  try {
    const s = fs.readFileSync('/proc/' + PID + '/stat', 'latin1');
    return !/^\S+ \(.*\) [ZX]/.test(s);
  } catch (e) {
    return false;
  }
}

// ------------------------------------------------------------------ messages

// A host candidate as Chrome writes it, stringified by the client (msg is
// opaque text), padded so that the whole frame is about 300 bytes.
const CAND = JSON.stringify({
  candidate: 'candidate:1467250027 1 udp 2122260223 192.168.1.23 46243 typ ' +
    'host generation 0 ufrag 6Ffb network-id 1 network-cost 10',
  sdpMid: '0', sdpMLineIndex: 0, usernameFragment: '6Ffb',
});

// An audio+video offer in the shape Chrome produces, about 4 KB of JSON.
function sdp(type, target) {
  const l = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-',
    't=0 0', 'a=group:BUNDLE 0 1', 'a=extmap-allow-mixed',
    'a=msid-semantic: WMS 7bbe1d1b-5e28-4e4a-8a4a-4b3b5f0d4e77'];
  const media = [['audio', '111 63 9 0 8 13 110 126'],
                 ['video', '96 97 102 103 104 105 106 107 108 109 127 125']];
  media.forEach(([kind, pts], mid) => {
    l.push('m=' + kind + ' 9 UDP/TLS/RTP/SAVPF ' + pts, 'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0', 'a=ice-ufrag:6Ffb',
      'a=ice-pwd:3ee7fdD8l1l7+Dl3Y5pTn4Nm', 'a=ice-options:trickle',
      'a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:' +
      '35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08',
      'a=setup:' + (type === 'offer' ? 'actpass' : 'active'), 'a=mid:' + mid,
      'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
      'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-' +
      'cc-extensions-01', 'a=sendrecv',
      'a=msid:7bbe1d1b-5e28-4e4a-8a4a-4b3b5f0d4e77 ' +
      'b6b4c3d2-1a0f-4e9d-8c7b-6a5f4e3d2c1' + mid, 'a=rtcp-mux');
    for (const pt of pts.split(' ')) {
      l.push('a=rtpmap:' + pt + ' ' + (kind === 'audio' ? 'opus/48000/2' :
        'VP8/90000'), 'a=rtcp-fb:' + pt + ' transport-cc');
      if (kind === 'video')
        l.push('a=rtcp-fb:' + pt + ' nack pli', 'a=fmtp:' + pt +
               ' level-asymmetry-allowed=1;packetization-mode=1');
    }
    l.push('a=ssrc:' + (3735928559 - mid) + ' cname:Zr4lPqk3XyBf9Q2e');
  });
  let s = l.join('\r\n') + '\r\n';
  while (JSON.stringify({ type: type, sdp: s }).length < target)
    s += 'a=ssrc:1144433 msid:pad ' + 'x'.repeat(40) + '\r\n';
  return JSON.stringify({ type: type, sdp: s });
}

// The frame's text: cmd, ts and seq first (the receiver reads them from the
// first 64 bytes), then the ids, then msg as a JSON string.
function body(cmd, room, uid, remote, inner, target) {
  let msg = JSON.stringify(inner);
  const head = '","roomId":"' + room + '","uid":"' + uid + '","remoteUid":"' +
    remote + '","msg":';
  // ts (~12) and seq (<=4) take about 30 bytes of the frame.
  const fixed = '{"cmd":"' + cmd + '","ts":0000000.000000,"seq":0000,"pad":"' +
    head + '}';
  const pad = Math.max(0, target - fixed.length - msg.length);
  return { pad: 'x'.repeat(pad), tail: head + msg + '}' };
}

const RE_DATA = /^\{"cmd":"(offer|answer|candidate)","ts":([0-9.]+),"seq":(\d+)/;

// --------------------------------------------------------------- connections

let srcNext = 0;

function openWs(url) {
  return new Promise((resolve, reject) => {
    const localAddress = SRC[srcNext++ % SRC.length];
    const ws = new WebSocket(url, { perMessageDeflate: false,
      handshakeTimeout: TIMEOUT_MS, localAddress: localAddress });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('connect timeout'));
    }, TIMEOUT_MS);
    ws.once('open', () => { clearTimeout(timer); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(timer); reject(e); });
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(timer);
      reject(new Error('HTTP ' + res.statusCode + ' on upgrade'));
    });
  });
}

async function openMany(n, stats) {
  const out = new Array(n);
  let next = 0, failed = 0;
  const errs = {};
  async function worker() {
    while (next < n) {
      const i = next++;
      try {
        out[i] = await openWs(opt.url);
      } catch (e) {
        failed++;
        errs[e.message] = (errs[e.message] || 0) + 1;
      }
    }
  }
  const ws = [];
  for (let k = 0; k < Math.min(CONCURRENCY, n); k++) ws.push(worker());
  await Promise.all(ws);
  if (failed) {
    stats.problems.push(failed + ' of ' + n + ' connections failed: ' +
                        JSON.stringify(errs));
  }
  return out;
}

function until(pred, ms) {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    (function poll() {
      if (pred()) return resolve(true);
      if (Date.now() > end) return resolve(false);
      setTimeout(poll, 5);
    })();
  });
}

async function closeAll(peers) {
  let open = 0;
  for (const p of peers) {
    if (!p || !p.ws) continue;
    p.closing = true;
    if (p.ws.readyState === WebSocket.OPEN || p.ws.readyState === WebSocket.CONNECTING) {
      open++;
      p.ws.close(1000);
    }
  }
  const done = () => peers.every((p) => !p || !p.ws ||
                                  p.ws.readyState === WebSocket.CLOSED);
  if (!(await until(done, 5000))) {
    for (const p of peers)
      if (p && p.ws && p.ws.readyState !== WebSocket.CLOSED) p.ws.terminate();
    await until(done, 2000);
  }
  return open;
}

// A peer: one socket, its uid and room, and its share of the bookkeeping.
function makePeer(ws, room, uid, remote, stats) {
  const p = { ws: ws, room: room, uid: uid, remote: remote, ready: false,
              closing: false, sent: 0, got: 0, onData: null };
  ws.on('message', (data, isBinary) => {
    const head = data.toString('latin1', 0, 64);
    const m = RE_DATA.exec(head);
    if (m) {
      const now = performance.now();
      stats.lat.push(now - parseFloat(m[2]));
      stats.forwarded++;
      p.got++;
      if (p.onData) p.onData(m[1], parseInt(m[3], 10));
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data.toString());
    } catch (e) {
      stats.other['unparsable'] = (stats.other['unparsable'] || 0) + 1;
      return;
    }
    switch (msg.cmd) {
      case 'resp-join':
      case 'new-peer':
        if (String(msg.remoteUid) === remote) p.ready = true;
        break;
      case 'joined':          // turnpike's extension; tutorials send none
      case 'peer-leave':
        break;
      case 'error':
        stats.errors[msg.code] = (stats.errors[msg.code] || 0) + 1;
        break;
      default:
        stats.other[msg.cmd] = (stats.other[msg.cmd] || 0) + 1;
    }
  });
  ws.on('close', (code, reason) => {
    if (!p.closing) {
      const k = code + (reason && reason.length ? ' ' + reason : '');
      stats.closes[k] = (stats.closes[k] || 0) + 1;
    }
  });
  ws.on('error', (e) => {
    stats.other['socket error: ' + e.message] =
      (stats.other['socket error: ' + e.message] || 0) + 1;
  });
  return p;
}

function newStats() {
  return { forwarded: 0, lat: new Latencies(), errors: {}, closes: {},
           other: {}, problems: [] };
}

class Latencies {
  constructor() { this.a = new Float64Array(1 << 16); this.n = 0; }
  push(v) {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  pct(q) {
    if (this.n === 0) return null;
    const s = this.a.slice(0, this.n).sort();
    return s[Math.min(this.n - 1, Math.floor(q * this.n))];
  }
}

// Open 2P sockets and join P rooms; the peers, all ready, or null.
async function joinPairs(P, tag, stats) {
  const socks = await openMany(2 * P, stats);
  const peers = [];
  for (let i = 0; i < P; i++) {
    const room = 'b' + opt.nonce + '-' + tag + '-' + i;
    const a = socks[2 * i], b = socks[2 * i + 1];
    peers.push(a ? makePeer(a, room, 'a' + i, 'b' + i, stats) : null);
    peers.push(b ? makePeer(b, room, 'b' + i, 'a' + i, stats) : null);
  }
  if (peers.some((p) => p === null)) return { peers: peers, ok: false };
  for (let i = 0; i < 2 * P; i += 2)          // all A first, then all B
    peers[i].ws.send('{"cmd":"join","roomId":"' + peers[i].room +
                     '","uid":"' + peers[i].uid + '"}');
  for (let i = 1; i < 2 * P; i += 2)
    peers[i].ws.send('{"cmd":"join","roomId":"' + peers[i].room +
                     '","uid":"' + peers[i].uid + '"}');
  const ok = await until(() => peers.every((p) => p.ready), TIMEOUT_MS);
  if (!ok) {
    stats.problems.push((peers.filter((p) => !p.ready).length) + ' of ' +
                        2 * P + ' peers saw no resp-join/new-peer');
  }
  return { peers: peers, ok: ok };
}

// ------------------------------------------------------------------- phases

async function loadRound(P, size, tag, stats) {
  const { peers, ok } = await joinPairs(P, tag, stats);
  if (!ok) {
    await closeAll(peers);
    return null;
  }
  const [cmdA, cmdB] = size >= 1000 ? ['offer', 'answer'] :
                                      ['candidate', 'candidate'];
  const innerA = size >= 1000 ? sdp('offer', size - 200) : CAND;
  const innerB = size >= 1000 ? sdp('answer', size - 200) : CAND;
  let done = 0, tDone = 0;
  const pre = '{"cmd":"';
  for (let i = 0; i < P; i++) {
    const A = peers[2 * i], B = peers[2 * i + 1];
    const fa = body(cmdA, A.room, A.uid, A.remote, innerA, size);
    const fb = body(cmdB, B.room, B.uid, B.remote, innerB, size);
    A.send = (seq) => {
      A.sent++;
      A.ws.send(pre + cmdA + '","ts":' + performance.now().toFixed(6) +
                ',"seq":' + seq + ',"pad":"' + fa.pad + fa.tail);
    };
    B.send = (seq) => {
      B.sent++;
      B.ws.send(pre + cmdB + '","ts":' + performance.now().toFixed(6) +
                ',"seq":' + seq + ',"pad":"' + fb.pad + fb.tail);
    };
    B.onData = (cmd, seq) => B.send(seq);
    A.onData = (cmd, seq) => {
      if (seq < MSGS) A.send(seq + 1);
      else if (++done === P) tDone = performance.now();
    };
  }
  const fwd0 = stats.forwarded;
  const cpu0 = cpuSeconds(PID);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < P; i++) peers[2 * i].send(1);
  const finished = await until(() => done === P, TIMEOUT_MS);
  const t1 = finished ? tDone : performance.now();
  const cpu1 = serverAlive() ? cpuSeconds(PID) : null;
  const gen = process.cpuUsage(gen0);
  const held = peers.filter((p) => p.ws.readyState === WebSocket.OPEN).length;
  if (!finished)
    stats.problems.push(tag + ': ' + (P - done) + ' of ' + P + ' pairs did ' +
                        'not finish within ' + TIMEOUT_MS / 1000 + ' s');
  await closeAll(peers);
  return { ok: finished, forwarded: stats.forwarded - fwd0,
           wall: (t1 - t0) / 1000, cpu: cpu1 === null ? null : cpu1 - cpu0,
           gen: (gen.user + gen.system) / 1e6, held: held };
}

async function loadMode() {
  const out = [];
  let ok = true;
  // Warm-up, not measured: a round of --warmup pairs at each size, so that
  // neither server is measured cold (Node's JIT, allocator pools).
  const W = parseInt(opt.warmup, 10);
  for (const size of opt.sizes.split(',').map(Number)) {
    if (W <= 0) break;
    const stats = newStats();
    const r = await loadRound(W, size, 'w' + size, stats);
    if (!r || !r.ok || Object.keys(stats.errors).length ||
        Object.keys(stats.closes).length) {
      return { mode: 'load', ok: false, phases: out,
               errors: stats.errors, closes: stats.closes,
               problems: ['warm-up failed: errors ' +
                          JSON.stringify(stats.errors) + ', closes ' +
                          JSON.stringify(stats.closes)]
                 .concat(stats.problems) };
    }
  }
  for (const P of opt.pairs.split(',').map(Number)) {
    for (const size of opt.sizes.split(',').map(Number)) {
      const stats = newStats();
      let fwd = 0, wall = 0, cpu = 0, gen = 0, rounds = 0, held = 2 * P;
      let phaseOk = true;
      const t0 = Date.now();
      while (fwd < MIN_MSGS || rounds === 0) {
        if (!serverAlive()) {
          stats.problems.push('server process gone');
          phaseOk = false;
          break;
        }
        const r = await loadRound(P, size, P + 'p' + size + 'r' + rounds,
                                  stats);
        rounds++;
        if (!r || !r.ok || r.cpu === null) {
          phaseOk = false;
          if (r) { fwd += r.forwarded; wall += r.wall; }
          break;
        }
        fwd += r.forwarded; wall += r.wall; cpu += r.cpu; gen += r.gen;
        held = Math.min(held, r.held);
        if (Date.now() - t0 > 4 * TIMEOUT_MS) break;
      }
      const errs = Object.keys(stats.errors).length +
                   Object.keys(stats.closes).length;
      const res = {
        pairs: P, size: size, rounds: rounds, ok: phaseOk && errs === 0,
        forwarded: fwd, wall: wall, rate: wall > 0 ? fwd / wall : null,
        p50_ms: stats.lat.pct(0.5), p99_ms: stats.lat.pct(0.99),
        cpu_s: phaseOk ? cpu : null,
        cpu_us_per_msg: phaseOk && fwd ? cpu * 1e6 / fwd : null,
        gen_us_per_msg: fwd ? gen * 1e6 / fwd : null,
        held: held, errors: stats.errors, closes: stats.closes,
        other: stats.other, problems: stats.problems,
      };
      ok = ok && res.ok;
      log(JSON.stringify(res));
      out.push(res);
    }
  }
  return { mode: 'load', ok: ok, phases: out };
}

async function rssMode() {
  const stats = newStats();
  const P = Math.floor(IDLE / 2);
  const base = rssKiB(PID);
  const cpu0 = cpuSeconds(PID);
  const t0 = performance.now();
  const { peers, ok } = await joinPairs(P, 'idle', stats);
  const tJoin = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const alive = serverAlive();
  const heldRss = alive ? rssKiB(PID) : null;
  const cpu1 = alive ? cpuSeconds(PID) : null;
  const held = peers.filter((p) => p && p.ready &&
                            p.ws.readyState === WebSocket.OPEN).length;
  await closeAll(peers);
  await new Promise((r) => setTimeout(r, 300));
  const after = serverAlive() ? rssKiB(PID) : null;
  const errs = Object.keys(stats.errors).length +
               Object.keys(stats.closes).length;
  const res = {
    mode: 'rss', ok: ok && alive && held === 2 * P && errs === 0,
    idle: 2 * P, held: held, base_kib: base, held_kib: heldRss,
    after_kib: after, join_s: tJoin,
    kib_per_conn: heldRss === null ? null : (heldRss - base) / (2 * P),
    cpu_us_per_conn: cpu1 === null ? null : (cpu1 - cpu0) * 1e6 / (2 * P),
    errors: stats.errors, closes: stats.closes, other: stats.other,
    problems: stats.problems,
  };
  log(JSON.stringify(res));
  return res;
}

(async () => {
  let res;
  try {
    res = opt.mode === 'rss' ? await rssMode() : await loadMode();
  } catch (e) {
    res = { mode: opt.mode, ok: false, problems: [String(e && e.stack || e)] };
  }
  process.stdout.write('# result ' + JSON.stringify(res) + '\n');
  process.exitCode = res.ok ? 0 : 1;
  setTimeout(() => process.exit(process.exitCode), 200).unref();
})();
