#!/usr/bin/env node
// ICE gathering against a TURN server in headless Debian Chromium.
//
//   node tests/browser/turn_gather.js --url turn:127.0.0.1:PORT?transport=udp \
//        --user U --pass P [--expect relay|error401] [--timeout-ms N]
//        [--relay-ip IP] [--relay-ports LO-HI] [--relay-protocol udp|tcp|tls]
//        [--ignore-cert-errors] [--chromium PATH]
//
// The URL may be turn:H:P?transport=udp, turn:H:P?transport=tcp or
// turns:H:P?transport=tcp (TURN over TLS).  Chromium verifies the server's
// certificate on turns: and refuses a self-signed one (icecandidateerror 701);
// --ignore-cert-errors launches it with --ignore-certificate-errors.
//
// Launches /usr/bin/chromium headless (fresh profile in a temp dir, removed at
// the end) through playwright-core, creates an RTCPeerConnection with the one
// TURN server in iceServers, a data channel, createOffer + setLocalDescription,
// and records every icecandidate and icecandidateerror until gathering is
// complete or the timeout passes.  Prints one JSON line (`# result {...}`),
// then TAP: one assertion per expectation and the plan `1..N`.  Exit 0 iff
// every assertion passed; 1 otherwise (2: bad usage).
//
//   --expect relay     a relay candidate exists (and, with --relay-ip /
//                      --relay-ports, every relay candidate has that address
//                      and a port in LO..HI), and no icecandidateerror;
//                      with --relay-protocol, the transport between browser
//                      and server that Chromium reports for each relay
//                      candidate (RTCIceCandidate.relayProtocol, else the
//                      local-candidate stats entry; udp on the candidate is
//                      null in Chromium) is that one.  The candidate's own
//                      protocol (browser<->peer) is always udp.
//   --expect error401  an icecandidateerror with errorCode 401 for --url, and
//                      no relay candidate
//   (no --expect)      only: the browser ran and gathering ended

'use strict';

const { FLAGS, diag, ok, plan, failures, loadChromium, withChromium, run } =
  require('./launch');

function usage(msg) {
  if (msg) process.stderr.write('turn_gather: ' + msg + '\n');
  process.stderr.write('usage: node turn_gather.js --url turn:HOST:PORT?transport=udp ' +
    '--user U --pass P [--expect relay|error401] [--timeout-ms N] ' +
    '[--relay-ip IP] [--relay-ports LO-HI] [--relay-protocol udp|tcp|tls] ' +
    '[--ignore-cert-errors] [--chromium PATH]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { expect: null, timeoutMs: 20000, chromium: '/usr/bin/chromium',
    relayIp: null, relayPorts: null, relayProtocol: null, ignoreCertErrors: false };
  const need = (i) => {
    if (i + 1 >= argv.length) usage('missing value for ' + argv[i]);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i += 2) {
    const a = argv[i];
    if (a === '--ignore-cert-errors') { o.ignoreCertErrors = true; i -= 1; }   // no value
    else if (a === '--url') o.url = need(i);
    else if (a === '--user') o.user = need(i);
    else if (a === '--pass') o.pass = need(i);
    else if (a === '--expect') o.expect = need(i);
    else if (a === '--timeout-ms') o.timeoutMs = Number(need(i));
    else if (a === '--relay-ip') o.relayIp = need(i);
    else if (a === '--relay-ports') o.relayPorts = need(i);
    else if (a === '--relay-protocol') o.relayProtocol = need(i);
    else if (a === '--chromium') o.chromium = need(i);
    else if (a === '-h' || a === '--help') usage();
    else usage('unknown argument ' + a);
  }
  if (!o.url) usage('--url is required');
  if (o.user === undefined || o.pass === undefined) usage('--user and --pass are required');
  if (o.expect !== null && o.expect !== 'relay' && o.expect !== 'error401')
    usage('--expect must be relay or error401');
  if (o.relayProtocol !== null && !['udp', 'tcp', 'tls'].includes(o.relayProtocol))
    usage('--relay-protocol must be udp, tcp or tls');
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1000 || o.timeoutMs > 120000)
    usage('--timeout-ms must be an integer in 1000..120000');
  if (o.relayPorts !== null) {
    const m = /^(\d+)-(\d+)$/.exec(o.relayPorts);
    if (!m) usage('--relay-ports must be LO-HI');
    o.relayPorts = [Number(m[1]), Number(m[2])];
  }
  return o;
}

// Runs inside the page.  Everything it returns must be JSON-serialisable.
async function gatherInPage(cfg) {
  const out = { candidates: [], errors: [], complete: false, timedOut: false,
    gatheringStates: [], exception: null, elapsedMs: 0, localCandidateStats: [] };
  const t0 = performance.now();
  let pc;
  try {
    pc = new RTCPeerConnection({
      iceServers: [{ urls: cfg.url, username: cfg.user, credential: cfg.pass }],
      iceTransportPolicy: 'all',
    });
    const finished = new Promise((resolve) => {
      const timer = setTimeout(() => { out.timedOut = true; resolve(); }, cfg.timeoutMs);
      const finish = () => { clearTimeout(timer); out.complete = true; resolve(); };
      pc.onicegatheringstatechange = () => {
        out.gatheringStates.push(pc.iceGatheringState);
        if (pc.iceGatheringState === 'complete') finish();
      };
      pc.onicecandidate = (e) => {
        if (!e.candidate) { finish(); return; }   // end of candidates
        const c = e.candidate;
        out.candidates.push({
          type: c.type, protocol: c.protocol, address: c.address, port: c.port,
          relatedAddress: c.relatedAddress, relatedPort: c.relatedPort,
          relayProtocol: c.relayProtocol === undefined ? null : c.relayProtocol,
          url: c.url === undefined ? null : c.url,
          candidate: c.candidate,
        });
      };
      pc.onicecandidateerror = (e) => {
        out.errors.push({ errorCode: e.errorCode, errorText: e.errorText, url: e.url,
          address: e.address, port: e.port });
      };
    });
    pc.createDataChannel('turnpike');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await finished;
    // getStats() reports relayProtocol also where the candidate has null.
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'local-candidate') return;
      out.localCandidateStats.push({ candidateType: s.candidateType, protocol: s.protocol,
        address: s.address, port: s.port,
        relayProtocol: s.relayProtocol === undefined ? null : s.relayProtocol,
        url: s.url === undefined ? null : s.url });
    });
  } catch (e) {
    out.exception = String(e && e.stack || e);
  } finally {
    out.elapsedMs = Math.round(performance.now() - t0);
    if (pc) pc.close();
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const chromium = loadChromium(o.chromium);
  if (!chromium) return 1;

  let result = null;
  // The whole browser part is bounded, not only the gathering.
  const { aborted, error: launchError } = await withChromium(chromium, {
    executablePath: o.chromium,
    args: o.ignoreCertErrors ? FLAGS.concat(['--ignore-certificate-errors']) : FLAGS,
    persistent: true,   // closing the context ends the browser
    hardMs: o.timeoutMs + 30000,
  }, async (context) => {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => diag('console.' + m.type() + ': ' + m.text()));
    page.on('pageerror', (e) => diag('pageerror: ' + e));
    await page.goto('about:blank');
    const version = context.browser() ? context.browser().version() : 'unknown';
    diag('chromium ' + version);
    result = await page.evaluate(gatherInPage,
      { url: o.url, user: o.user, pass: o.pass, timeoutMs: o.timeoutMs });
    result.browserVersion = version;
  });
  if (aborted) return 1;    // the hard timeout printed the TAP already

  if (launchError || !result) {
    ok(false, 'chromium ran RTCPeerConnection gathering',
      String(launchError && launchError.stack || launchError));
    plan();
    return 1;
  }
  process.stdout.write('# result ' + JSON.stringify(result) + '\n');

  ok(result.exception === null, 'RTCPeerConnection offer and gathering ran without an exception',
    result.exception);
  ok(result.complete, 'ICE gathering completed within ' + o.timeoutMs + ' ms',
    'gathering states: ' + JSON.stringify(result.gatheringStates));

  const relays = result.candidates.filter((c) => c.type === 'relay');
  const errs401 = result.errors.filter((e) => e.errorCode === 401);
  const relayDump = () => 'relay candidates: ' + JSON.stringify(relays);
  const dump = () => 'candidates: ' + JSON.stringify(result.candidates) +
    '\nerrors: ' + JSON.stringify(result.errors);
  if (o.expect === 'relay') {
    ok(relays.length > 0, 'relay candidate gathered', dump());
    if (o.relayIp !== null) {
      ok(relays.length > 0 && relays.every((c) => c.address === o.relayIp),
        'relay candidate address is ' + o.relayIp, relayDump());
    }
    if (o.relayPorts !== null) {
      const [lo, hi] = o.relayPorts;
      ok(relays.length > 0 && relays.every((c) => c.port >= lo && c.port <= hi),
        'relay candidate port within ' + lo + '..' + hi, relayDump());
    }
    ok(relays.length === 0 || relays.every((c) => c.protocol === 'udp'),
      'relay candidate protocol is udp', relayDump());
    if (o.relayProtocol !== null) {
      // What Chromium says it used to reach the server, where it says it.
      const reported = relays.map((c) => {
        if (c.relayProtocol) return c.relayProtocol;
        const st = result.localCandidateStats.find((s) => s.candidateType === 'relay' &&
          s.address === c.address && s.port === c.port);
        return st && st.relayProtocol ? st.relayProtocol : null;
      });
      if (relays.length > 0 && reported.every((r) => r === null))
        diag('chromium reports no relayProtocol for the relay candidates');
      ok(relays.length > 0 && reported.every((r) => r === null || r === o.relayProtocol),
        'relay candidate relayProtocol is ' + o.relayProtocol,
        'reported ' + JSON.stringify(reported) + '\n' + relayDump() +
        '\nstats: ' + JSON.stringify(result.localCandidateStats));
    }
    ok(result.errors.length === 0, 'no icecandidateerror with the right password', dump());
  } else if (o.expect === 'error401') {
    ok(errs401.length > 0, 'icecandidateerror with errorCode 401', dump());
    ok(errs401.length > 0 && errs401.every((e) => e.url === o.url),
      'the 401 error names the TURN url ' + o.url, dump());
    ok(relays.length === 0, 'no relay candidate with the wrong password', dump());
  }
  plan();
  return failures() ? 1 : 0;
}

run('turn_gather', main);
