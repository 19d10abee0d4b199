// Shared by the end-to-end tests and the benchmarks: start the relay on a free port, and
// launch Debian's Chromium headless with a fresh profile (never a downloaded browser).
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

/** Starts the relay binary serving `dist`; resolves to { url, fakeUrl, process }. `env` adds
 * to its environment (e.g. REELSMITH_MODELS, the folder of speech models it serves;
 * REELSMITH_TIKTOK_FAKE=1 for the demo mode, whose fake TikTok's address is `fakeUrl`). */
async function startRelay(relayBin, dist, env = {}) {
  const child = spawn(relayBin, [], {
    env: { ...process.env, REELSMITH_ADDR: '127.0.0.1:0', REELSMITH_DIST: dist, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/Reelsmith is running at (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  const fake = out.match(/Fake TikTok \(demo\) at (http:\/\/\S+)/);
  return { url, fakeUrl: fake && fake[1], process: child };
}

/** Folders made for browsers and tests that are still to be removed; any left when node exits (a test
 * that failed before closing its browser) go then. A profile and Chromium's own scratch
 * folders come to some 200 MB a browser: a run of the tests must not leave them behind. */
const browserDirs = new Set();
/** Removes a folder, never failing a test: Chromium may still be writing into its profile
 * as the context reports closing, so a few retries; what still resists goes with the test
 * command's own TMPDIR. */
function remove(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    browserDirs.delete(dir);
  } catch (e) {
    console.error(`# could not remove ${dir} yet: ${e.code}`);
  }
}
process.on('exit', () => {
  for (const dir of browserDirs) remove(dir);
});

/** A fresh folder for a test file's downloads and such, removed when node exits. */
function scratchDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  browserDirs.add(dir);
  return dir;
}

/** A headless Chromium context with a fresh user-data dir; `extraArgs` go on its command
 * line (e.g. a net log). The profile and the browser's temporary files live in one folder,
 * removed when the context closes. */
async function launchBrowser(extraArgs = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelsmith-chromium-'));
  browserDirs.add(dir);
  const profile = path.join(dir, 'profile');
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, TMPDIR: tmp },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
  context.on('close', () => remove(dir));
  return context;
}

/** The device the editor tests run on, as the editor would have measured it (kept where
 * core/src/device_speed.rs says): tiny.en at 3× real time, so tiny.en is the default model
 * and decodes greedily whatever this machine's speed at the moment (a test that runs base on
 * a window of 20 s or more adds base's own measurement, which then counts for that browser).
 * Tests of the defaults themselves use a profile without it. */
const TEST_DEVICE_SPEEDS = { 'whisper-tiny.en': 3.0 };

/** Gives `context` the measured device of `speeds` unless the editor already keeps one
 * (a test that clears the browser's storage gets it back on its next load). */
async function measuredDevice(context, speeds = TEST_DEVICE_SPEEDS) {
  await context.addInitScript((json) => {
    try {
      if (!localStorage.getItem('reelsmith.device-speed')) localStorage.setItem('reelsmith.device-speed', json);
    } catch { /* an opaque origin (about:blank) keeps nothing */ }
  }, JSON.stringify(speeds));
}

/** For a test file: before its tests, starts the relay (the build named by RELAY_BIN and
 * REELSMITH_DIST, with `env()` added to its environment) and a browser whose editor has
 * measured the test device ([`TEST_DEVICE_SPEEDS`]); after them, stops both. The returned
 * object's `url` and `context` are set once the tests run. */
function relayAndBrowser(env = () => ({})) {
  const { before, after } = require('node:test');
  const suite = {};
  before(async () => {
    const started = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST, env());
    suite.relay = started.process;
    suite.url = started.url;
    suite.fakeUrl = started.fakeUrl;
    suite.context = await launchBrowser();
    await measuredDevice(suite.context);
  });
  after(async () => {
    await suite.context?.close();
    suite.relay?.kill();
  });
  /** A new page of the editor (at `query`, in `viewport` if given), once it can take a
   * file, and the page errors it throws. */
  suite.openEditor = async ({ query = '', viewport } = {}) => {
    const page = await suite.context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(suite.url + query);
    await page.getByTestId('file-input').waitFor({ state: 'attached' });
    return { page, errors };
  };
  return suite;
}

module.exports = { startRelay, launchBrowser, relayAndBrowser, scratchDir, measuredDevice, TEST_DEVICE_SPEEDS };
