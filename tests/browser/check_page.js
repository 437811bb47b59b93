#!/usr/bin/env node
// The web front in headless Debian Chromium: the ICE self-check page (/check)
// and, with --call, the one-to-one call page (/call) between two tabs.
//
//   node tests/browser/check_page.js --url http://127.0.0.1:PORT/check?auto=1
//        [--expect ok|401] [--relay udp,tcp,tls] [--wrong-credential]
//        [--timeout-ms N] [--ignore-cert-errors] [--chromium PATH]
//   node tests/browser/check_page.js --call http://127.0.0.1:PORT/call?room=R&relay=1
//        [--expect-pair REGEX] [--timeout-ms N] [--chromium PATH]
//
// Check mode opens the page; with --wrong-credential it waits until the page
// has filled #servers with the server's iceServers, replaces every credential
// with a wrong one and presses #gather (without it, a URL lacking auto=1 is
// gathered by pressing #gather too).  It waits (bounded) for #verdict to get
// data-ok, prints `# result {...}` (window.checkResult and the verdict text),
// then TAP:
//   --expect ok    data-ok="true", a relay over every --relay transport, the
//                  verdict says "TURN ok: relay over ...", no icecandidateerror
//   --expect 401   data-ok="false", the verdict mentions 401, an
//                  icecandidateerror 401 and no relay candidate
//
// Call mode opens the URL in two tabs of one browser (fake camera and
// microphone), presses #join in both and waits for #state "connected" in
// both, a selected candidate pair reported in #pair (the whole text matching
// the regular expression --expect-pair, e.g. 'relay \((udp|tcp|tls)\)', when
// given; with relay=1 in the URL, relay on both ends), video frames decoded (call.pc getStats inbound-rtp) and a
// DataChannel message each way; then #leave in one tab must show
// "peer-left" in the other.
//
// Exit 0 iff every assertion passed; 1 otherwise (2: bad usage).

'use strict';

const { FLAGS, MEDIA_FLAGS, diag, ok, plan, failures, loadChromium, withChromium, run } =
  require('./launch');

function usage(msg) {
  if (msg) process.stderr.write('check_page: ' + msg + '\n');
  process.stderr.write('usage: node check_page.js --url URL [--expect ok|401] ' +
    '[--relay udp,tcp,tls] [--wrong-credential] [--timeout-ms N] ' +
    '[--ignore-cert-errors] [--chromium PATH]\n' +
    '       node check_page.js --call URL [--expect-pair REGEX] [--timeout-ms N]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, call: null, expect: null, relay: [], wrongCredential: false,
    timeoutMs: 30000, ignoreCertErrors: false, chromium: '/usr/bin/chromium',
    expectPair: null };
  const need = (i) => {
    if (i + 1 >= argv.length) usage('missing value for ' + argv[i]);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ignore-cert-errors') o.ignoreCertErrors = true;
    else if (a === '--wrong-credential') o.wrongCredential = true;
    else if (a === '--url') o.url = need(i++);
    else if (a === '--call') o.call = need(i++);
    else if (a === '--expect') o.expect = need(i++);
    else if (a === '--expect-pair') o.expectPair = need(i++);
    else if (a === '--relay') o.relay = need(i++).split(',').filter(Boolean);
    else if (a === '--timeout-ms') o.timeoutMs = Number(need(i++));
    else if (a === '--chromium') o.chromium = need(i++);
    else if (a === '-h' || a === '--help') usage();
    else usage('unknown argument ' + a);
  }
  if (!o.url === !o.call) usage('exactly one of --url and --call');
  if (o.expect !== null && o.expect !== 'ok' && o.expect !== '401')
    usage('--expect must be ok or 401');
  if (o.relay.some((t) => !['udp', 'tcp', 'tls'].includes(t)))
    usage('--relay takes udp, tcp, tls');
  if (!Number.isInteger(o.timeoutMs) || o.timeoutMs < 1000 || o.timeoutMs > 120000)
    usage('--timeout-ms must be an integer in 1000..120000');
  return o;
}

// ---------------------------------------------------------------- check mode

async function runCheck(context, o, pageErrors) {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') diag('console.error: ' + m.text()); });
  page.on('pageerror', (e) => { pageErrors.push(String(e)); diag('pageerror: ' + e); });
  const resp = await page.goto(o.url, { timeout: 10000 });
  ok(resp && resp.status() === 200, 'GET ' + o.url + ' answers 200',
    'status ' + (resp && resp.status()));
  const auto = /[?&]auto=1\b/.test(o.url);
  if (o.wrongCredential || !auto) {
    // wait for the page's own /ice-servers fetch to fill the box
    await page.waitForFunction(() => {
      const t = document.getElementById('servers');
      return t && /"urls"/.test(t.value);
    }, null, { timeout: 10000 });
    if (auto) {
      // auto=1 already started a run with the right credential: let it end first
      await page.waitForSelector('#verdict[data-ok]', { timeout: o.timeoutMs });
    }
    if (o.wrongCredential) {
      const n = await page.evaluate(() => {
        const t = document.getElementById('servers');
        const list = JSON.parse(t.value);
        let changed = 0;
        list.forEach((s) => {
          if (s.credential !== undefined) { s.credential = 'wrong-' + s.credential; changed++; }
        });
        t.value = JSON.stringify(list, null, 2);
        return changed;
      });
      ok(n > 0, 'the page filled #servers with a TURN credential (replaced ' + n + ')');
    }
    await page.click('#gather');
    // the click clears data-ok at once (synchronously in the handler)
  }
  const t0 = Date.now();
  let verdictShown = true;
  try {
    await page.waitForFunction(() => window.checkResult && window.checkResult.done &&
      document.getElementById('verdict').hasAttribute('data-ok'), null,
    { timeout: o.timeoutMs, polling: 100 });
  } catch (e) {
    verdictShown = false;
  }
  const elapsed = Date.now() - t0;
  const state = await page.evaluate(() => ({
    dataOk: document.getElementById('verdict').getAttribute('data-ok'),
    verdict: document.getElementById('verdict').textContent,
    servers: document.getElementById('servers').value,
    candidateRows: document.querySelectorAll('#candidates tbody tr').length,
    errorRows: document.querySelectorAll('#errors tbody tr').length,
    result: window.checkResult,
  }));
  process.stdout.write('# result ' + JSON.stringify({ elapsedMs: elapsed, dataOk: state.dataOk,
    verdict: state.verdict, result: state.result }) + '\n');
  ok(verdictShown, '#verdict got data-ok within ' + o.timeoutMs + ' ms',
    () => 'verdict: ' + state.verdict);
  if (!verdictShown) return;
  const r = state.result || {};
  const relays = (r.candidates || []).filter((c) => c.type === 'relay');
  const dump = () => 'verdict: ' + state.verdict + '\nresult: ' + JSON.stringify(r);
  ok(state.candidateRows === (r.candidates || []).length,
    '#candidates lists every gathered candidate (' + state.candidateRows + ')', dump);
  ok(state.errorRows === (r.errors || []).length,
    '#errors lists every icecandidateerror (' + state.errorRows + ')', dump);
  if (o.expect === 'ok') {
    ok(state.dataOk === 'true', 'verdict data-ok="true"', dump);
    for (const t of o.relay) {
      ok(r.relay && r.relay[t] === true, 'checkResult.relay.' + t + ' is true', dump);
      ok(relays.some((c) => c.url && (t === 'tls' ? /^turns:/.test(c.url)
        : new RegExp('^turn:.*transport=' + t).test(c.url))),
      'a relay candidate from the ' + t + ' URL is listed', dump);
    }
    if (o.relay.length) {
      const want = 'TURN ok: relay over ' + ['udp', 'tcp', 'tls'].filter((t) =>
        o.relay.includes(t)).join(', ');
      ok(state.verdict.includes(want), 'the verdict says "' + want + '"', dump);
    }
    ok((r.errors || []).length === 0, 'no icecandidateerror', dump);
  } else if (o.expect === '401') {
    ok(state.dataOk === 'false', 'verdict data-ok="false"', dump);
    ok(/\b401\b/.test(state.verdict), 'the verdict mentions 401', dump);
    ok(/TURN refused the credentials \(401\)/.test(state.verdict),
      'the verdict says TURN refused the credentials (401)', dump);
    ok((r.errors || []).some((e) => e.errorCode === 401), 'an icecandidateerror 401 is listed', dump);
    ok(relays.length === 0, 'no relay candidate', dump);
    ok(r.relay && !r.relay.udp && !r.relay.tcp && !r.relay.tls,
      'checkResult.relay is false for every transport', dump);
  }
}

// ---------------------------------------------------------------- call mode

async function runCall(context, o, pageErrors) {
  const pages = [];
  for (const name of ['A', 'B']) {
    const page = await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') diag(name + ' console.error: ' + m.text()); });
    page.on('pageerror', (e) => { pageErrors.push(String(e)); diag(name + ' pageerror: ' + e); });
    const resp = await page.goto(o.call, { timeout: 10000 });
    ok(resp && resp.status() === 200, name + ': GET ' + o.call + ' answers 200');
    pages.push(page);
  }
  const [a, b] = pages;
  const logOf = (p) => p.evaluate(() => document.getElementById('log').textContent).catch(() => '');
  const dumpLogs = async () => 'A log:\n' + await logOf(a) + '\nB log:\n' + await logOf(b);
  await a.click('#join');
  await a.waitForFunction(() => ['waiting'].includes(document.getElementById('state').textContent),
    null, { timeout: 10000 }).catch(() => {});
  await b.click('#join');
  const connected = async (p) => {
    try {
      await p.waitForFunction(() => document.getElementById('state').textContent === 'connected' &&
        document.getElementById('pair').textContent !== '\u2013', null,
      { timeout: o.timeoutMs, polling: 100 });
      return true;
    } catch (e) { return false; }
  };
  const [ca, cb] = await Promise.all([connected(a), connected(b)]);
  const detailA = await dumpLogs();
  ok(ca && cb, 'both tabs show #state connected and a candidate pair', detailA);
  if (!(ca && cb)) return;
  const info = async (p) => p.evaluate(async () => {
    const call = window.turnpikeCall;
    let frames = 0;
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      const stats = await call.pc.getStats();
      frames = 0;
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
      });
      if (frames > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    return { pair: document.getElementById('pair').textContent, frames,
      role: call.role, policy: call.iceTransportPolicy,
      local: call.pair && call.pair.local, remote: call.pair && call.pair.remote };
  });
  const [ia, ib] = await Promise.all([info(a), info(b)]);
  process.stdout.write('# result ' + JSON.stringify({ A: ia, B: ib }) + '\n');
  ok(new Set([ia.role, ib.role]).size === 2 && [ia.role, ib.role].includes('offerer'),
    'one tab offered, the other answered (' + ia.role + ', ' + ib.role + ')');
  if (o.expectPair) {
    const re = new RegExp('^(?:' + o.expectPair + ')$');
    ok(re.test(ia.pair), 'A: #pair matches /' + o.expectPair + '/ (' + ia.pair + ')', 'A #pair: ' + ia.pair);
    ok(re.test(ib.pair), 'B: #pair matches /' + o.expectPair + '/ (' + ib.pair + ')', 'B #pair: ' + ib.pair);
  }
  if (/relay=1/.test(o.call)) {
    const both = (i) => i.local && i.remote && i.local.candidateType === 'relay' &&
      i.remote.candidateType === 'relay';
    ok(both(ia) && both(ib), 'relay=1: the selected pair is relay on both ends in both tabs',
      JSON.stringify({ A: ia, B: ib }));
  }
  ok(ia.frames > 0 && ib.frames > 0, 'video frames decoded in both tabs (' + ia.frames + ', ' +
    ib.frames + ')');
  // a DataChannel message each way
  const recv = (p) => p.evaluate(() => new Promise((resolve) => {
    const call = window.turnpikeCall;
    const t = setTimeout(() => resolve(null), 5000);
    call.on('message', (d) => { clearTimeout(t); resolve(String(d)); });
  }));
  const waitOpen = (p) => p.waitForFunction(() => window.turnpikeCall.dataChannel &&
    window.turnpikeCall.dataChannel.readyState === 'open', null, { timeout: 5000 })
    .then(() => true, () => false);
  ok(await waitOpen(a) && await waitOpen(b), 'the DataChannel is open in both tabs');
  const gotB = recv(b);
  await a.evaluate(() => window.turnpikeCall.send('hello from A'));
  const gotA = recv(a);
  await b.evaluate(() => window.turnpikeCall.send('hello from B'));
  const [mb, ma] = await Promise.all([gotB, gotA]);
  ok(mb === 'hello from A' && ma === 'hello from B', 'a DataChannel message each way',
    'B got ' + mb + ', A got ' + ma);
  await a.click('#leave');
  let left = true;
  try {
    await b.waitForFunction(() => document.getElementById('state').textContent === 'peer-left',
      null, { timeout: 5000 });
  } catch (e) { left = false; }
  ok(left, 'after #leave in A, B shows peer-left', await dumpLogs());
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const chromium = loadChromium(o.chromium);
  if (!chromium) return 1;
  let args = FLAGS.slice();
  if (o.ignoreCertErrors) args.push('--ignore-certificate-errors');
  if (o.call) args = args.concat(MEDIA_FLAGS, ['--autoplay-policy=no-user-gesture-required']);
  const pageErrors = [];
  const { aborted, error: failure } = await withChromium(chromium, {
    executablePath: o.chromium, args, persistent: true,
    hardMs: o.timeoutMs * (o.call ? 2 : 1) + 30000,
  }, async (context) => {
    diag('chromium ' + (context.browser() ? context.browser().version() : '(version unknown)'));
    if (o.call) await runCall(context, o, pageErrors);
    else await runCheck(context, o, pageErrors);
  });
  if (aborted) return 1;
  ok(failure === null, 'the browser run raised no exception', String(failure && failure.stack || failure));
  ok(pageErrors.length === 0, 'no uncaught error in the page', pageErrors.join('\n'));
  plan();
  return failures() ? 1 : 0;
}

run('check_page', main);
