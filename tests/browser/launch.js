// What the headless-Chromium drivers (turn_gather.js, check_page.js,
// call_test.js) share: TAP output and launching Debian Chromium through
// playwright-core with the flags of /work/shared/TESTING.md, bounded by a
// hard timeout, closed in every case, its temporary profile removed.

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
// A fake camera and microphone, no permission prompt.
const MEDIA_FLAGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

// ------------------------------------------------------------------ TAP
let tapN = 0;
let tapFailed = 0;
function diag(msg) {
  // eslint-disable-next-line no-control-regex
  const plain = String(msg).replace(/\x1b\[[0-9;]*m/g, '');
  for (const line of plain.split('\n')) process.stdout.write('# ' + line + '\n');
}
// detail (shown on failure only): a string, a function returning one, or a
// value printed as JSON.
function ok(cond, name, detail) {
  tapN += 1;
  const clean = String(name).replace(/\s+/g, ' ').replace(/#/g, '\\#');
  process.stdout.write((cond ? 'ok ' : 'not ok ') + tapN + ' - ' + clean + '\n');
  if (!cond) {
    tapFailed += 1;
    if (typeof detail === 'function') detail = detail();
    if (detail !== undefined) diag(typeof detail === 'string' ? detail : JSON.stringify(detail));
  }
  return !!cond;
}
function plan() { process.stdout.write('1..' + tapN + '\n'); }
function failures() { return tapFailed; }

// ---------------------------------------------------------------- launch
// playwright-core's chromium, or null after a failed assertion and the plan.
function loadChromium(executablePath) {
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    ok(false, 'playwright-core loads',
      'run `npm ci` in tests/browser (scripts/deps.sh test does): ' + e.message);
    plan();
    return null;
  }
  if (!fs.existsSync(executablePath)) {
    ok(false, 'chromium exists at ' + executablePath,
      'install the Debian package chromium (scripts/deps.sh test does)');
    plan();
    return null;
  }
  return chromium;
}

// Launches chromium and runs body(handle); returns { aborted, error }.
//   persistent: true  -> handle is a persistent context on a fresh profile in
//                        a temp dir (removed at the end and on exit/signals);
//               false -> handle is a browser (playwright makes and removes
//                        its own profile; body makes the contexts).
// After hardMs the run fails (one assertion and the plan are printed, the
// browser closed, the process exits 3 s later): aborted is then true and
// the caller must print nothing more.
async function withChromium(chromium, { executablePath, args, persistent, hardMs }, body) {
  let removeProfile = () => {};
  let profile = null;
  if (persistent) {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-chromium-'));
    // A browser still shutting down may write into it: retry, never throw.
    removeProfile = () => {
      try {
        fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      } catch (e) {
        diag('could not remove ' + profile + ': ' + e.message);
      }
    };
    // Also on SIGTERM/SIGINT (playwright closes the browser, then exits).
    process.on('exit', removeProfile);
  }
  let handle = null;
  let error = null;
  let aborted = false;
  const hard = setTimeout(() => {
    aborted = true;
    ok(false, 'browser run finished within ' + hardMs + ' ms');
    plan();
    // playwright-core kills the browser it launched when node exits.
    if (handle) handle.close().catch(() => {});
    setTimeout(() => process.exit(1), 3000).unref();
  }, hardMs);
  try {
    const options = {
      executablePath, headless: true, args, timeout: 15000,
      handleSIGINT: true, handleSIGTERM: true, handleSIGHUP: true,
    };
    // launchPersistentContext passes --user-data-dir=profile itself
    // (playwright refuses that flag in args).
    handle = persistent ? await chromium.launchPersistentContext(profile, options)
      : await chromium.launch(options);
    await body(handle);
  } catch (e) {
    error = e;
  } finally {
    if (handle) {
      try { await handle.close(); } catch (e) {
        diag((persistent ? 'context' : 'browser') + '.close: ' + e.message);
      }
    }
    clearTimeout(hard);
    removeProfile();
  }
  return { aborted, error };
}

// Runs main() and exits with its status.  Exit at once: after a failed
// launch playwright would otherwise wait 30 s for a graceful close; on exit
// it SIGKILLs the browser it started.
function run(name, main) {
  main().then((rc) => process.exit(rc), (e) => {
    ok(false, name + ' ran without an exception', String(e && e.stack || e));
    plan();
    process.exit(1);
  });
}

module.exports = { FLAGS, MEDIA_FLAGS, diag, ok, plan, failures, loadChromium, withChromium, run };
