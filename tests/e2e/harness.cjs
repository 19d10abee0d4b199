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

/** A headless Chromium context with a fresh user-data dir; `extraArgs` go on its command
 * line (e.g. a net log). */
async function launchBrowser(extraArgs = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reelsmith-chromium-'));
  return chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/** For a test file: before its tests, starts the relay (the build named by RELAY_BIN and
 * REELSMITH_DIST, with `env()` added to its environment) and a browser; after them, stops
 * both. The returned object's `url` and `context` are set once the tests run. */
function relayAndBrowser(env = () => ({})) {
  const { before, after } = require('node:test');
  const suite = {};
  before(async () => {
    const started = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST, env());
    suite.relay = started.process;
    suite.url = started.url;
    suite.fakeUrl = started.fakeUrl;
    suite.context = await launchBrowser();
  });
  after(async () => {
    await suite.context?.close();
    suite.relay?.kill();
  });
  return suite;
}

module.exports = { startRelay, launchBrowser, relayAndBrowser };
