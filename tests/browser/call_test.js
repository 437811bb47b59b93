#!/usr/bin/env node
// Two-party WebRTC calls through turnpike in headless Debian Chromium: one
// browser, two contexts (two independent "users"), each opening a page and
// joining the same room.  Driven by tests/integration/test_web_call.py.
//
//   node tests/browser/call_test.js --scenario tutorial|call|datachannel
//        --url PAGE_URL --room R [--page tutorial|call]
//        [--relay] [--relay-protocol udp|tcp|tls] [--relay-ports LO-HI]
//        [--ice-urls URL,URL...] [--signal-url URL] [--leave] [--messages N]
//        [--ignore-cert-errors] [--timeout-ms N] [--chromium PATH]
//
// Scenarios (each peer opens --url; A joins first, B once A's page says it
// has joined):
//   tutorial     tests/browser/tutorial/index.html, a third-party stand-in
//                page: fill #roomInput, click #joinBtn; the call connects,
//                both decode video; neither page fetched anything of
//                turnpike's web front (/ice-servers, turnpike.js).
//   call         turnpike's own /call page (examples/web/call.html): fill
//                #room, tick #relay (with --relay), click #join;
//                window.turnpikeCall.pc is the RTCPeerConnection; #pair must
//                say relay.
//   datachannel  --page tutorial (the tutorial page with chat=1: its "chat"
//                data channel, found through a hook on RTCPeerConnection) or
//                --page call (window.turnpikeCall.dataChannel): --messages N
//                numbered messages each way at once, all must arrive, in
//                order, nothing more, within 10 s.
//
// Assertions, per peer: the peer connection reaches "connected"; video
// scenarios: inbound-rtp video framesDecoded > 0; with --relay: policy
// relay, the selected candidate pair is relay on both ends (local and remote
// candidateType), every local candidate is a relay one on 127.0.0.1 (in
// --relay-ports); with --relay-protocol: the selected local candidate's
// relayProtocol; with --ice-urls: the peer connection's iceServers hold
// exactly these URLs; with --signal-url: every WebSocket the page opened
// went to this URL (query ignored); with --leave: A clicks Leave and B's page
// says so (tutorial #status "peer left", call #state "peer-left"/"ended").
//
// After the path checks it prints `# result {"A":SUMMARY,"B":SUMMARY}` (the
// stats summary of each side: selected pair, local candidates, inbound
// media) for the caller to compare with the server's log.
//
// Prints TAP (`ok N - ...`, `# ...` diagnostics, the plan `1..N`); exit 0 iff
// every assertion passed, 1 otherwise, 2 on bad usage.  Every wait is
// bounded by --timeout-ms (the data channel delivery by twice that), the
// whole run by 4 * --timeout-ms + 20 s.

'use strict';

const { FLAGS, MEDIA_FLAGS, diag, ok, plan, failures, loadChromium, withChromium, run } =
  require('./launch');

const CHROMIUM_FLAGS = FLAGS.concat(MEDIA_FLAGS, [
  // two pages decode video at once on a small machine: keep them running
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
]);

function usage(msg) {
  if (msg) process.stderr.write('call_test: ' + msg + '\n');
  process.stderr.write('usage: node call_test.js --scenario tutorial|call|datachannel ' +
    '--url PAGE_URL --room R [--page tutorial|call] [--relay] ' +
    '[--relay-protocol udp|tcp|tls] [--relay-ports LO-HI] [--ice-urls URL,...] ' +
    '[--signal-url URL] ' +
    '[--leave] [--messages N] ' +
    '[--ignore-cert-errors] [--timeout-ms N] [--chromium PATH]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { scenario: null, url: null, room: null, page: null, relay: false,
    relayProtocol: null, relayPorts: null, iceUrls: null, signalUrl: null, leave: false, messages: 1000,
    ignoreCertErrors: false, timeoutMs: 20000, chromium: '/usr/bin/chromium' };
  const flags = { '--relay': 'relay', '--leave': 'leave',
    '--ignore-cert-errors': 'ignoreCertErrors' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (flags[a]) { o[flags[a]] = true; continue; }
    if (a === '-h' || a === '--help') usage();
    if (i + 1 >= argv.length) usage('missing value for ' + a);
    const v = argv[++i];
    if (a === '--scenario') o.scenario = v;
    else if (a === '--url') o.url = v;
    else if (a === '--room') o.room = v;
    else if (a === '--page') o.page = v;
    else if (a === '--relay-protocol') o.relayProtocol = v;
    else if (a === '--relay-ports') o.relayPorts = v;
    else if (a === '--signal-url') o.signalUrl = v;
    else if (a === '--ice-urls') o.iceUrls = v.split(',').filter((u) => u);
    else if (a === '--messages') o.messages = Number(v);
    else if (a === '--timeout-ms') o.timeoutMs = Number(v);
    else if (a === '--chromium') o.chromium = v;
    else usage('unknown argument ' + a);
  }
  if (!['tutorial', 'call', 'datachannel'].includes(o.scenario))
    usage('--scenario must be tutorial, call or datachannel');
  if (!o.url || !o.room) usage('--url and --room are required');
  if (o.page === null) o.page = o.scenario === 'call' ? 'call' : 'tutorial';
  if (!['tutorial', 'call'].includes(o.page)) usage('--page must be tutorial or call');
  if (o.scenario !== 'datachannel' && o.page !== o.scenario)
    usage('--page only applies to --scenario datachannel');
  if (o.relayProtocol !== null && !['udp', 'tcp', 'tls'].includes(o.relayProtocol))
    usage('--relay-protocol must be udp, tcp or tls');
  if (!Number.isInteger(o.messages) || o.messages < 1 || o.messages > 100000)
    usage('--messages must be an integer in 1..100000');
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1000 || o.timeoutMs > 120000)
    usage('--timeout-ms must be an integer in 1000..120000');
  if (o.relayPorts !== null) {
    const m = /^(\d+)-(\d+)$/.exec(o.relayPorts);
    if (!m) usage('--relay-ports must be LO-HI');
    o.relayPorts = [Number(m[1]), Number(m[2])];
  }
  return o;
}

// The data channel exchange (N each way, concurrently) must be over within
// this: 2 x 1000 small messages take about 0.5 s here.
const EXCHANGE_MS = 10000;

// ------------------------------------------------------- in-page helpers
// Runs in every page before its own scripts.  Records every
// RTCPeerConnection the page makes and every data channel it creates or
// receives (a third-party page exposes none of them), and offers the stats
// summary the assertions read.  Everything returned is JSON-serialisable.
function pageInit() {
  const Orig = window.RTCPeerConnection;
  const tp = { pcs: [], channels: [], sockets: [] };
  window.__tp = tp;
  // Where the page's signaling goes.
  const OrigWS = window.WebSocket;
  class RecordedWebSocket extends OrigWS {
    constructor(...args) {
      super(...args);
      tp.sockets.push(this.url);
    }
  }
  window.WebSocket = RecordedWebSocket;
  if (!Orig) return;
  const keep = (ch) => { tp.channels.push(ch); };
  class RecordedPeerConnection extends Orig {
    constructor(...args) {
      super(...args);
      tp.pcs.push(this);
      // Registered before the page can set ondatachannel: runs first.
      this.addEventListener('datachannel', (e) => keep(e.channel));
    }
    createDataChannel(...args) {
      const ch = super.createDataChannel(...args);
      keep(ch);
      return ch;
    }
  }
  window.RTCPeerConnection = RecordedPeerConnection;
  if (window.webkitRTCPeerConnection) window.webkitRTCPeerConnection = RecordedPeerConnection;

  // The page's peer connection: the call page's window.turnpikeCall.pc, or
  // the last one a third-party page made.
  tp.pc = (mode) => {
    if (mode === 'call') {
      const c = window.turnpikeCall;
      return c && c.pc ? c.pc : null;
    }
    return tp.pcs.length ? tp.pcs[tp.pcs.length - 1] : null;
  };
  tp.channel = (mode) => {
    if (mode === 'call') {
      const c = window.turnpikeCall;
      return c && c.dataChannel ? c.dataChannel : null;
    }
    for (let i = tp.channels.length - 1; i >= 0; i--) {
      if (tp.channels[i].label === 'chat') return tp.channels[i];
    }
    return null;
  };
  tp.summary = async (mode) => {
    const pc = tp.pc(mode);
    if (!pc) return { pc: false };
    const out = { pc: true, sockets: tp.sockets.slice(), pageOrigin: location.origin,
      callUid: window.turnpikeCall && window.turnpikeCall.uid !== undefined
        ? String(window.turnpikeCall.uid) : null,
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState, signalingState: pc.signalingState,
      iceTransportPolicy: pc.getConfiguration().iceTransportPolicy,
      iceServers: (pc.getConfiguration().iceServers || []).map((s) => s.urls),
      video: [], audio: [], selected: null, localCandidates: [] };
    const stats = await pc.getStats();
    const byId = new Map();
    stats.forEach((s) => byId.set(s.id, s));
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId && byId.get(s.selectedCandidatePairId))
        pair = byId.get(s.selectedCandidatePairId);
    });
    if (!pair) {
      stats.forEach((s) => {
        if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
      });
    }
    const cand = (c) => (c ? { candidateType: c.candidateType, address: c.address, port: c.port,
      protocol: c.protocol, relayProtocol: c.relayProtocol === undefined ? null : c.relayProtocol,
      url: c.url === undefined ? null : c.url } : null);
    if (pair) {
      out.selected = { state: pair.state, nominated: pair.nominated,
        bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
        local: cand(byId.get(pair.localCandidateId)),
        remote: cand(byId.get(pair.remoteCandidateId)) };
    }
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        const kind = s.kind || s.mediaType;
        const r = { framesDecoded: s.framesDecoded || 0, framesReceived: s.framesReceived || 0,
          packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0 };
        if (kind === 'video') out.video.push(r);
        else if (kind === 'audio') out.audio.push(r);
      } else if (s.type === 'local-candidate') {
        out.localCandidates.push(cand(s));
      }
    });
    return out;
  };
}

// ------------------------------------------------------------ the pages
// What differs between the tutorial page and turnpike's call page.
const PAGES = {
  tutorial: {
    room: '#roomInput', join: '#joinBtn', leave: '#leaveBtn', state: '#status',
    joinedRe: /joined/i, peerLeftRe: /peer left/i,
  },
  call: {
    room: '#room', join: '#join', leave: '#leave', state: '#state',
    // Turnpike.Call: joining -> waiting (joined, alone in the room)
    joinedRe: /waiting/i, peerLeftRe: /peer.?left|ended/i,
  },
};

async function textOf(page, sel) {
  return page.evaluate((s) => {
    const e = document.querySelector(s);
    return e ? e.textContent : null;
  }, sel);
}

// Polls fn() (async) every 200 ms until it returns a true value or the
// deadline passes; returns the last value.
async function until(fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    let v;
    try { v = await fn(); } catch (e) { v = null; }
    if (v || Date.now() >= end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function selectedIsRelay(s) {
  return !!(s && s.selected && s.selected.local && s.selected.remote &&
    s.selected.local.candidateType === 'relay' && s.selected.remote.candidateType === 'relay');
}

function videoDecoded(s) {
  return !!(s && s.video.some((v) => v.framesDecoded > 0));
}

// --------------------------------------------------------------- steps
async function joinBoth(o, peers) {
  const P = PAGES[o.page];
  for (const p of peers) {
    await p.page.goto(o.url, { timeout: o.timeoutMs, waitUntil: 'load' });
    ok(true, p.name + ' loaded ' + o.url);
  }
  // A first: B then finds A in the room (resp-join), A gets new-peer and
  // makes the offer.
  for (const p of peers) {
    const room = await p.page.$(P.room);
    if (!ok(room !== null, p.name + ' page has ' + P.room)) return false;
    await p.page.fill(P.room, o.room);
    if (o.page === 'call' && o.relay) {
      // the page's own "relay only" checkbox, when it has one (?relay=1 in
      // the URL is the other way)
      const box = await p.page.$('#relay');
      if (!ok(box !== null, p.name + ' page has the #relay checkbox')) return false;
      await box.check();
    }
    await p.page.click(P.join, { timeout: o.timeoutMs });
    if (p === peers[0]) {
      const st = await until(async () => {
        const t = await textOf(p.page, P.state);
        return t && P.joinedRe.test(t) ? t : null;
      }, o.timeoutMs);
      if (!ok(st, p.name + ' joined room ' + o.room + ' (' + P.state + ' ' + P.joinedRe + ')',
        p.name + ' ' + P.state + ': ' + await textOf(p.page, P.state))) return false;
    }
  }
  return true;
}

async function waitConnected(o, peers, mode) {
  const all = await until(async () => {
    const s = await Promise.all(peers.map((p) => p.page.evaluate((m) => window.__tp.summary(m), mode)));
    return s.every((x) => x.pc && x.connectionState === 'connected') ? s : null;
  }, o.timeoutMs);
  const now = await Promise.all(peers.map((p) => p.page.evaluate((m) => window.__tp.summary(m), mode)));
  peers.forEach((p, i) => {
    ok(all && all[i].connectionState === 'connected',
      p.name + ' RTCPeerConnection connected within ' + o.timeoutMs + ' ms',
      'state now: ' + JSON.stringify(now[i]));
  });
  return !!all;
}

async function checkPath(o, peers, mode) {
  const sums = await Promise.all(peers.map((p) => p.page.evaluate((m) => window.__tp.summary(m), mode)));
  peers.forEach((p, i) => {
    const s = sums[i];
    diag(p.name + ' selected pair ' + JSON.stringify(s.selected));
    diag(p.name + ' iceTransportPolicy ' + s.iceTransportPolicy + ' iceServers ' +
      JSON.stringify(s.iceServers));
    ok(s.selected !== null, p.name + ' has a selected candidate pair', JSON.stringify(s));
    if (o.relay) {
      ok(s.iceTransportPolicy === 'relay', p.name + ' iceTransportPolicy is relay',
        JSON.stringify(s.iceTransportPolicy));
      ok(selectedIsRelay(s), p.name + ' selected pair is relay on both ends (local and remote)',
        JSON.stringify(s.selected));
      const relays = s.localCandidates.filter((c) => c.candidateType === 'relay');
      ok(relays.length > 0 && relays.every((c) => c.address === '127.0.0.1' &&
        (!o.relayPorts || (c.port >= o.relayPorts[0] && c.port <= o.relayPorts[1]))),
      p.name + ' local relay candidates are turnpike relay addresses 127.0.0.1' +
        (o.relayPorts ? ':' + o.relayPorts.join('-') : ''), JSON.stringify(relays));
      const nonRelay = s.localCandidates.filter((c) => c.candidateType !== 'relay');
      ok(nonRelay.length === 0, p.name + ' gathered only relay candidates (policy relay)',
        JSON.stringify(nonRelay));
    }
    if (o.signalUrl) {
      const bare = (u) => u.split('?')[0];
      ok(s.sockets.length > 0 && s.sockets.every((u) => bare(u) === o.signalUrl),
        p.name + ' signaling WebSocket went to ' + o.signalUrl + ' (page ' + s.pageOrigin + ')',
        JSON.stringify(s.sockets));
    }
    if (o.iceUrls) {
      const urls = [].concat(...s.iceServers.map((u) => [].concat(u)));
      ok(urls.length === o.iceUrls.length && urls.every((u) => o.iceUrls.includes(u)),
        p.name + ' iceServers are exactly ' + o.iceUrls.join(' '), JSON.stringify(urls));
    }
    if (o.relayProtocol) {
      const rp = s.selected && s.selected.local ? s.selected.local.relayProtocol : null;
      ok(rp === o.relayProtocol, p.name + ' selected local candidate relayProtocol is ' +
        o.relayProtocol, 'relayProtocol ' + JSON.stringify(rp) + ' in ' + JSON.stringify(s.selected));
    }
  });
  process.stdout.write('# result ' + JSON.stringify({ A: sums[0], B: sums[1] }) + '\n');
  return sums;
}

async function checkVideo(o, peers, mode) {
  const got = await until(async () => {
    const s = await Promise.all(peers.map((p) => p.page.evaluate((m) => window.__tp.summary(m), mode)));
    return s.every(videoDecoded) ? s : null;
  }, o.timeoutMs);
  const now = await Promise.all(peers.map((p) => p.page.evaluate((m) => window.__tp.summary(m), mode)));
  peers.forEach((p, i) => {
    const s = now[i];
    diag(p.name + ' inbound video ' + JSON.stringify(s.video) + ' audio ' + JSON.stringify(s.audio));
    ok(got && videoDecoded(s), p.name + ' decodes the other side\'s video (inbound-rtp framesDecoded > 0)',
      JSON.stringify(s));
  });
}

async function checkPairText(o, peers) {
  for (const p of peers) {
    const t = await until(async () => {
      const x = await textOf(p.page, '#pair');
      return x && /relay/i.test(x) ? x : null;
    }, 5000);
    ok(t, p.name + ' #pair shows relay', '#pair: ' + JSON.stringify(await textOf(p.page, '#pair')));
  }
}

async function leave(o, peers) {
  const P = PAGES[o.page];
  const [a, b] = peers;
  await a.page.click(P.leave, { timeout: o.timeoutMs });
  const t = await until(async () => {
    const x = await textOf(b.page, P.state);
    return x && P.peerLeftRe.test(x) ? x : null;
  }, o.timeoutMs);
  ok(t, b.name + ' ' + P.state + ' says the peer left after ' + a.name + ' clicked Leave',
    b.name + ' ' + P.state + ': ' + JSON.stringify(await textOf(b.page, P.state)));
  if (t) diag(b.name + ' ' + P.state + ': ' + t);
}

// Both sides send o.messages numbered messages at once; each must receive
// exactly the other's, in order.
async function dataChannel(o, peers) {
  const mode = o.page;
  const open = await until(async () => {
    const s = await Promise.all(peers.map((p) => p.page.evaluate((m) => {
      const ch = window.__tp.channel(m);
      return ch ? { label: ch.label, readyState: ch.readyState, ordered: ch.ordered,
        maxRetransmits: ch.maxRetransmits, maxPacketLifeTime: ch.maxPacketLifeTime } : null;
    }, mode)));
    return s.every((c) => c && c.readyState === 'open') ? s : null;
  }, o.timeoutMs);
  if (!ok(open, 'data channel open on both sides within ' + o.timeoutMs + ' ms')) return;
  peers.forEach((p, i) => diag(p.name + ' data channel ' + JSON.stringify(open[i])));
  ok(open.every((c) => c.ordered && c.maxRetransmits === null && c.maxPacketLifeTime === null),
    'data channel is ordered and reliable on both sides', JSON.stringify(open));

  // Listeners first, on both sides, then the sends.
  for (const p of peers) {
    await p.page.evaluate((m) => {
      const ch = window.__tp.channel(m);
      window.__tp.recv = [];
      window.__tp.recvBytes = 0;
      ch.addEventListener('message', (e) => {
        window.__tp.recv.push(typeof e.data === 'string' ? e.data : '<binary>');
      });
    }, mode);
  }
  const t0 = Date.now();
  const sent = await Promise.all(peers.map((p) => p.page.evaluate(async ([m, n, prefix]) => {
    const ch = window.__tp.channel(m);
    ch.bufferedAmountLowThreshold = 64 * 1024;
    const pad = 'x'.repeat(100);
    let i = 0;
    try {
      for (; i < n; i++) {
        if (ch.bufferedAmount > 256 * 1024) {
          await new Promise((r) => ch.addEventListener('bufferedamountlow', r, { once: true }));
        }
        ch.send(prefix + ':' + i + ':' + pad);
      }
    } catch (e) {
      return { sent: i, error: String(e) };
    }
    return { sent: i, error: null };
  }, [mode, o.messages, p.name])));
  peers.forEach((p, i) => ok(sent[i].sent === o.messages && !sent[i].error,
    p.name + ' sent ' + o.messages + ' numbered messages', JSON.stringify(sent[i])));

  // Twice the step timeout to see everything arrive even from a slow page;
  // the speed has an assertion of its own.
  const recvCount = (p) => p.page.evaluate(() => window.__tp.recv.length);
  const all = await until(async () => {
    const c = await Promise.all(peers.map(recvCount));
    return c.every((n) => n >= o.messages);
  }, 2 * o.timeoutMs);
  const took = Date.now() - t0;
  diag('exchange took ' + took + ' ms');
  // A few hundred ms on loopback (through the relay, also with an ASan
  // server); seconds mean something blocks the page's main thread.
  ok(all && took <= EXCHANGE_MS, 'both sides received ' + o.messages + ' messages within ' +
    EXCHANGE_MS + ' ms', 'took ' + took + ' ms' + (all ? '' : ' (not complete)'));
  // a little longer: anything beyond N would be a duplicate
  await new Promise((r) => setTimeout(r, 300));
  for (let k = 0; k < 2; k++) {
    const me = peers[k];
    const other = peers[1 - k];
    const recv = await me.page.evaluate(() => window.__tp.recv);
    const pad = 'x'.repeat(100);
    let firstBad = -1;
    for (let i = 0; i < Math.max(recv.length, o.messages); i++) {
      if (recv[i] !== other.name + ':' + i + ':' + pad) { firstBad = i; break; }
    }
    ok(recv.length === o.messages, me.name + ' received exactly ' + o.messages + ' messages from ' +
      other.name, 'received ' + recv.length);
    ok(firstBad === -1, me.name + ' received ' + other.name + '\'s messages 0..' +
      (o.messages - 1) + ' in order, none lost',
    firstBad === -1 ? undefined : 'first mismatch at index ' + firstBad + ': got ' +
      JSON.stringify(recv[firstBad] === undefined ? null : recv[firstBad].slice(0, 40)));
  }
}

// ------------------------------------------------------------------ main
async function main() {
  const o = parseArgs(process.argv.slice(2));
  const chromium = loadChromium(o.chromium);
  if (!chromium) return 1;

  // Playwright makes (and removes) the profile directory itself, under
  // $TMPDIR; the two contexts are two independent users.  Every step has
  // its own deadline; hardMs bounds the whole run.
  const { aborted, error: err } = await withChromium(chromium, {
    executablePath: o.chromium,
    args: o.ignoreCertErrors ? CHROMIUM_FLAGS.concat(['--ignore-certificate-errors'])
      : CHROMIUM_FLAGS,
    persistent: false,
    hardMs: 4 * o.timeoutMs + 20000,
  }, async (browser) => {
    diag('chromium ' + browser.version());
    const peers = [];
    for (const name of ['A', 'B']) {
      const context = await browser.newContext({ ignoreHTTPSErrors: o.ignoreCertErrors });
      await context.addInitScript(pageInit);
      const page = await context.newPage();
      page.on('console', (m) => diag(name + ' console.' + m.type() + ': ' + m.text()));
      page.on('pageerror', (e) => diag(name + ' pageerror: ' + e));
      const requests = [];
      page.on('request', (r) => requests.push(r.url()));
      peers.push({ name, context, page, requests });
    }
    const mode = o.page;
    if (await joinBoth(o, peers) && await waitConnected(o, peers, mode)) {
      await checkPath(o, peers, mode);
      if (o.scenario === 'datachannel') {
        await dataChannel(o, peers);
      } else {
        await checkVideo(o, peers, mode);
        if (o.scenario === 'call' && o.relay) await checkPairText(o, peers);
      }
      if (o.leave) await leave(o, peers);
    }
    if (o.page === 'tutorial') {
      // a page turnpike knows nothing about: none of turnpike's web front
      for (const p of peers) {
        const theirs = p.requests.filter((u) => /ice-servers|turnpike\.js/.test(u));
        ok(theirs.length === 0, p.name + ' tutorial page fetched nothing of turnpike\'s ' +
          '(no /ice-servers, no turnpike.js)', JSON.stringify(theirs));
      }
    }
  });
  if (aborted) return 1;
  if (err) ok(false, 'browser run raised no exception', String(err && err.stack || err));
  plan();
  return failures() ? 1 : 0;
}

run('call_test', main);
