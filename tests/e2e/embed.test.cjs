// End-to-end tests of the widget across origins: the demo partner page (tests/e2e/partner/,
// served by a node server on its own port) embeds the editor with the relay's embed.js; the
// relay lists only that origin in REELSMITH_PARTNER_ORIGINS. Through the postMessage API the
// partner opens a fixture, hears the transcript is ready, sets the target length and the
// template, and receives the exported clip as a Blob, which it uploads to its own server
// where ffprobe reads it; then the embedded editor publishes to the fake TikTok, and an
// export that runs out of disk space reaches the partner as an `export-failed` error. A second
// site on another origin ("other") is refused: it cannot frame the editor, and messages from
// it, or from a window of the partner's that is not the editor's parent, are ignored.
// Real relay, real browser, real model (scripts/test.sh).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startRelay, launchBrowser, scratchDir } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);
const scratch = scratchDir('reelsmith-embed-');

/** A web site on `host` and a free port; `routes[path](req, res)` answer. */
async function startSite(host, routes) {
  const server = http.createServer((req, res) => {
    const route = routes[new URL(req.url, 'http://x').pathname];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    route(req, res);
  });
  await new Promise((resolve) => server.listen(0, host, resolve));
  return { server, origin: `http://${host}:${server.address().port}` };
}

const html = (res, body) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(body);
const video = (file, headers = {}) => (req, res) => {
  res.writeHead(200, { 'Content-Type': 'video/mp4', ...headers });
  fs.createReadStream(fixture(file)).pipe(res);
};

let partner;
let other;
const uploads = [];
const suite = {};
before(async () => {
  partner = await startSite('127.0.0.1', {
    '/': (req, res) => html(res, fs.readFileSync(path.join(__dirname, 'partner', 'index.html'), 'utf8').replaceAll('RELAY', suite.url.replace(/\/$/, ''))),
    // A video the editor may fetch: on the partner's origin, CORS allowing the editor.
    '/media/speech.mp4': (req, res) => video('speech.mp4', { 'Access-Control-Allow-Origin': new URL(suite.url).origin })(req, res),
    '/media/no-cors.mp4': video('speech.mp4'),
    // The partner's own back end, receiving the exported clip.
    '/upload': (req, res) => {
      const parts = [];
      req.on('data', (c) => parts.push(c));
      req.on('end', () => {
        uploads.push(Buffer.concat(parts));
        res.writeHead(200).end(String(uploads.at(-1).length));
      });
    },
  });
  // `localhost`, not 127.0.0.1: another host as well as another port.
  other = await startSite('localhost', {
    // Mounts the editor the same way the partner does.
    '/': (req, res) => html(res, `<!doctype html><div id="e"></div><script src="${suite.url}embed.js"></script>
      <script>Reelsmith.mount(document.getElementById('e'));</script>`),
    // Claims to be the partner.
    '/forged': (req, res) => html(res, `<!doctype html>
      <iframe src="${suite.url}embed?parent=${encodeURIComponent(partner.origin)}"></iframe>`),
    // Framed by the partner's page (below), it posts to the editor and to the partner.
    '/poster': (req, res) => html(res, `<!doctype html><script>
      top.postMessage({ v: 1, type: 'transcript-ready', word_count: 999, text: 'forged', duration_secs: 1 }, '*');
      top.frames[0].postMessage({ v: 1, type: 'set-target-length', id: 1, secs: 60 }, '${new URL(suite.url).origin}');
      </script>`),
    // Any site may serve this with CORS; the editor's policy still keeps it from fetching it.
    '/media/speech.mp4': video('speech.mp4', { 'Access-Control-Allow-Origin': '*' }),
  });
  // The relay lists the partner, and only the partner; demo mode publishes to a fake TikTok.
  const relay = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST, {
    REELSMITH_MODELS: process.env.REELSMITH_MODELS,
    REELSMITH_PARTNER_ORIGINS: partner.origin,
    REELSMITH_TIKTOK_FAKE: '1',
  });
  Object.assign(suite, { relay: relay.process, url: relay.url, fakeUrl: relay.fakeUrl });
  suite.context = await launchBrowser();
});
after(async () => {
  await suite.context?.close();
  suite.relay?.kill();
  partner?.server.close();
  other?.server.close();
});

/** Runs in the partner's page before its scripts: records every message the page receives
 * (`__raw`) and every event a mounted handle emits (`__events`), and keeps the handle. */
function recorder() {
  if (window !== window.top) return;
  window.__raw = [];
  window.__events = [];
  window.addEventListener('message', (e) => window.__raw.push({ origin: e.origin, type: e.data && e.data.type }));
  let wrapped;
  Object.defineProperty(window, 'Reelsmith', {
    configurable: true,
    get: () => wrapped,
    set: (real) => {
      wrapped = {
        ...real,
        mount(element, options) {
          const handle = real.mount(element, options);
          for (const type of ['ready', 'transcript-ready', 'clip-exported', 'publish-done', 'error']) {
            handle.on(type, (m) => window.__events.push(m));
          }
          window.__handle = handle;
          return handle;
        },
      };
    },
  });
}

/** The first event of this type the handle emitted (waits for it). */
async function event(page, type, timeout = 30000) {
  await page.waitForFunction((t) => window.__events.some((e) => e.type === t), type, { timeout, polling: 250 });
  return page.evaluate((t) => {
    const { blob, ...rest } = window.__events.find((e) => e.type === t);
    return rest;
  }, type);
}

/** The demo partner page with the editor ready in it. */
async function partnerPage() {
  const page = await suite.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.addInitScript(recorder);
  await page.goto(`${partner.origin}/`);
  const ready = await event(page, 'ready');
  const frame = page.frames().find((f) => f.url().startsWith(`${suite.url}embed?`));
  assert.ok(frame, 'the editor frame');
  return { page, errors, logs, ready, frame, editor: page.frameLocator('iframe[title="Reelsmith clip editor"]') };
}

/** Calls a handle method in the page; resolves to { ok } or { code, message }. */
function call(page, method, ...args) {
  return page.evaluate(async ([m, a]) => {
    try {
      await window.__handle[m](...a);
      return { ok: true };
    } catch (e) {
      return { code: e.code, message: e.message };
    }
  }, [method, args]);
}

function probe(file) {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]));
}

// The page of the first test, continued by the publishing test.
let flow;

test('a partner page opens a video through embed.js, hears the transcript is ready and receives the exported clip as a Blob it can read', async () => {
  const { page, errors, ready, frame, editor } = await partnerPage();
  // Embedded, not cross-origin isolated, and saying so.
  assert.equal(ready.cross_origin_isolated, false);
  assert.ok(ready.templates.includes('boxed'));
  assert.equal(await editor.getByTestId('mode').textContent(), `Embedded in ${partner.origin}`);
  assert.equal(await editor.getByTestId('mode').getAttribute('data-mode'), 'embedded');
  assert.equal(await editor.getByTestId('isolation').textContent(), 'Not cross-origin isolated');
  assert.equal(await frame.evaluate(() => self.crossOriginIsolated), false);
  // The mount options: light theme, 15 s target.
  await frame.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  assert.equal(await frame.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(246, 246, 248)');

  // The partner's own file picker hands the file over.
  await page.locator('#pick').setInputFiles(fixture('speech_long.mp4'));
  const transcript = await event(page, 'transcript-ready', 300000);
  const expected = probe(fixture('speech_long.mp4'));
  assert.ok(Math.abs(transcript.duration_secs - Number(expected.format.duration)) < 0.1,
    `${transcript.duration_secs} s for a ${expected.format.duration} s video`);
  assert.ok(transcript.word_count >= 80, `${transcript.word_count} words`);
  assert.match(transcript.text, /brown fox/i);
  assert.equal(await editor.getByTestId('target-length').inputValue(), '15');

  // A template before any clip exists goes to the first clip chosen; the target length
  // drives the suggestions.
  assert.deepEqual(await call(page, 'setTemplate', 'boxed'), { ok: true });
  assert.deepEqual(await call(page, 'setTargetLength', 20), { ok: true });
  assert.equal(await editor.getByTestId('target-length').inputValue(), '20');
  const suggestions = await editor.getByTestId('suggestion').evaluateAll((els) =>
    els.map((el) => Number(el.dataset.end) - Number(el.dataset.start)));
  assert.ok(suggestions.length > 0, 'suggestions for 20 s');
  // LengthTarget::around(20): 15–28 s (ends are shown to 0.01 s).
  for (const secs of suggestions) assert.ok(secs > 14.98 && secs < 28.02, `a ${secs} s suggestion for a 20 s target`);
  await editor.getByTestId('use-suggestion').first().click();
  await frame.waitForFunction(() => document.querySelector('[data-testid=template]')?.value === 'boxed');

  await editor.getByTestId('export-size').selectOption('720');
  await editor.getByTestId('export').click();
  const exported = await event(page, 'clip-exported', 300000);
  assert.equal(exported.mime, 'video/mp4');
  assert.match(exported.name, /\.mp4$/);
  // The partner reads the Blob it was given and sends it to its own server.
  const read = await page.evaluate(async () => {
    const { blob } = window.__events.find((e) => e.type === 'clip-exported');
    const answer = await fetch('/upload', { method: 'POST', body: blob });
    return { isBlob: blob instanceof Blob, size: blob.size, type: blob.type, uploaded: Number(await answer.text()) };
  });
  assert.deepEqual(read, { isBlob: true, size: exported.bytes, type: 'video/mp4', uploaded: exported.bytes });
  const file = path.join(scratch, exported.name);
  fs.writeFileSync(file, uploads.at(-1));
  const info = probe(file);
  const v = info.streams.find((s) => s.codec_type === 'video');
  const a = info.streams.find((s) => s.codec_type === 'audio');
  assert.equal(v.codec_name, 'h264');
  assert.equal(Math.min(v.width, v.height), 720);
  assert.equal(a.codec_name, 'aac');
  assert.ok(Math.abs(Number(info.format.duration) - exported.duration_secs) < 0.1,
    `${info.format.duration} s in the file, ${exported.duration_secs} s announced`);
  assert.ok(exported.duration_secs > 14.9 && exported.duration_secs < 28.1, `${exported.duration_secs} s`);
  assert.deepEqual(errors, []);
  flow = { page, editor, sha256: crypto.createHash('sha256').update(uploads.at(-1)).digest('hex') };
});

test('the embedded editor publishes the exported clip and the partner hears publish-done', async () => {
  assert.ok(flow, 'needs the exported clip of the previous test');
  const { page, editor, sha256 } = flow;
  await editor.getByTestId('publish-open').click();
  const popup = page.waitForEvent('popup');
  await editor.getByTestId('tiktok-connect').click();
  await (await popup).waitForEvent('close', { timeout: 30000 });
  await editor.getByTestId('tiktok-account').waitFor();
  await editor.getByTestId('mode-inbox').check();
  await editor.getByTestId('publish-button').click();
  const done = await event(page, 'publish-done', 60000);
  assert.match(done.message, /inbox/);
  const publishes = await (await fetch(new URL('/fake/publishes', suite.fakeUrl))).json();
  assert.equal(publishes.length, 1);
  assert.equal(publishes[0].sha256, sha256, 'exactly the clip the partner received');
});

test('an export that fails in the embedded editor reaches the partner as an export-failed error, and the next export works', async () => {
  assert.ok(flow, 'needs the page of the first test');
  const { page, editor } = flow;
  // The editor's storage gets 200 kB: the clip needs more than that.
  const cdp = await suite.context.newCDPSession(page);
  const origin = new URL(suite.url).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 200000 });
  await editor.getByTestId('export-size').selectOption('1080');
  await editor.getByTestId('export').click();
  const failed = await event(page, 'error', 120000);
  assert.equal(failed.code, 'export-failed');
  assert.equal(failed.id, undefined, 'not the answer to a command');
  assert.match(failed.message, /not enough free disk space/);
  assert.equal(await editor.getByTestId('export-error').textContent(), failed.message, 'what the user reads');
  assert.equal(await editor.getByTestId('clip').count(), 1, 'the clip is still there');
  // With room again, the same editor exports and the partner gets the file.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await editor.getByTestId('export-size').selectOption('720');
  const before = await page.evaluate(() => window.__events.filter((e) => e.type === 'clip-exported').length);
  await editor.getByTestId('export').click();
  await page.waitForFunction((n) => window.__events.filter((e) => e.type === 'clip-exported').length > n, before,
    { timeout: 300000, polling: 250 });
  const size = await page.evaluate(() => window.__events.filter((e) => e.type === 'clip-exported').at(-1).blob.size);
  assert.ok(size > 100000, `${size} bytes`);
  await page.close();
});

test('a video the partner names by URL is fetched by the editor from the partner\'s origin only; bad commands are refused', async () => {
  const { page, errors, editor } = await partnerPage();
  assert.deepEqual(await call(page, 'open', '/media/speech.mp4'), { ok: true });
  const expected = JSON.parse(fs.readFileSync(fixture('speech.mp4.probe.json'), 'utf8'));
  assert.equal(await editor.getByTestId('duration').textContent(), `${Number(expected.format.duration).toFixed(3)} s`);
  // Without CORS, or from a site that is not the partner's, the editor cannot fetch it.
  for (const url of [`${partner.origin}/media/no-cors.mp4`, `${other.origin}/media/speech.mp4`]) {
    const refused = await call(page, 'open', url);
    assert.equal(refused.code, 'open-failed', url);
    assert.match(refused.message, /could not be fetched.*fetches only from/, url);
    assert.match(await editor.getByTestId('error').textContent(), /could not be fetched/);
  }
  for (const [method, arg] of [['setTargetLength', 5], ['setTemplate', 'comic-sans'], ['setTheme', 'pink']]) {
    const refused = await call(page, method, arg);
    assert.equal(refused.code, 'bad-value', method);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

/** Loads `url`; returns its frames other than the main one, once the page has loaded. */
async function childFrames(page, url) {
  await page.goto(url, { waitUntil: 'load' });
  return page.frames().filter((f) => f !== page.mainFrame());
}

test('a page whose origin is not on the list cannot frame the editor, even claiming to be the partner', async () => {
  const page = await suite.context.newPage();
  const editorLoads = [];
  page.on('request', (r) => {
    if (r.url().startsWith(suite.url) && /\.(wasm|js)$/.test(new URL(r.url()).pathname) && !r.url().endsWith('/embed.js')) {
      editorLoads.push(r.url());
    }
  });
  const responses = [];
  page.on('response', (r) => {
    if (r.url().startsWith(`${suite.url}embed?`)) responses.push(r.status());
  });
  for (const url of [`${other.origin}/`, `${other.origin}/forged`]) {
    const frames = await childFrames(page, url);
    assert.equal(frames.length, 1, url);
    // The refused frame's error page can commit a moment after the page's load event; until
    // then the frame has no URL. Whatever it commits to is what the test judges.
    await waitFor(() => !['', 'about:blank'].includes(frames[0].url()), `${url}: the frame to commit a page`);
    assert.match(frames[0].url(), /^chrome-error:/, `${url}: the frame shows the browser's error page`);
  }
  // The relay refused the first (its origin is not listed) and served the second, which the
  // browser then refused to show (frame-ancestors names the partner, not this page).
  assert.deepEqual(responses, [403, 200]);
  assert.deepEqual(editorLoads, [], 'none of the editor\'s code was loaded');
  await page.close();
});

test('the editor ignores messages from another origin and from a partner window that is not its parent', async () => {
  const { page, errors, logs, editor } = await partnerPage();
  assert.equal(await editor.getByTestId('target-length').inputValue(), '15');
  const ignored = (origin) => logs.filter((t) => t.startsWith(`Reelsmith: ignored a message from ${origin}:`)).length;
  // A frame of another site posts a command to the editor and a fake event to the partner.
  await page.evaluate((src) => document.body.append(Object.assign(document.createElement('iframe'), { src })), `${other.origin}/poster`);
  // A frame of the partner's own origin (srcdoc inherits it) that is not the editor's parent.
  await page.evaluate((relay) => document.body.append(Object.assign(document.createElement('iframe'), {
    srcdoc: `<script>top.frames[0].postMessage({ v: 1, type: 'set-target-length', id: 2, secs: 45 }, '${relay}');</script>`,
  })), new URL(suite.url).origin);
  for (const origin of [other.origin, partner.origin]) {
    await waitFor(() => ignored(origin) === 1, `the editor to ignore the message from ${origin}`);
  }
  assert.equal(await editor.getByTestId('target-length').inputValue(), '15', 'neither command was carried out');
  // embed.js did not take the other site's message for the editor's.
  await page.waitForFunction((o) => window.__raw.some((m) => m.origin === o), other.origin);
  assert.deepEqual(await page.evaluate(() => window.__events.map((e) => e.type)), ['ready']);
  // The same command from the partner itself is carried out.
  assert.deepEqual(await call(page, 'setTargetLength', 60), { ok: true });
  assert.equal(await editor.getByTestId('target-length').inputValue(), '60');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the editor says how it runs: standalone it is isolated; the embed page opened on its own talks to no one', async () => {
  const page = await suite.context.newPage();
  await page.goto(suite.url);
  await page.getByTestId('mode').waitFor();
  assert.equal(await page.getByTestId('mode').getAttribute('data-mode'), 'standalone');
  assert.equal(await page.getByTestId('isolation').textContent(), 'Cross-origin isolated');
  await page.goto(`${suite.url}embed?parent=${encodeURIComponent(partner.origin)}`);
  await page.getByTestId('mode').waitFor();
  assert.equal(await page.getByTestId('mode').getAttribute('data-mode'), 'refused');
  assert.match(await page.getByTestId('mode').textContent(), /^Not embedded: This is the embeddable editor/);
  assert.equal(await page.getByTestId('isolation').textContent(), 'Not cross-origin isolated');
  await page.close();
});

/** Polls a condition checked in node until it holds. */
async function waitFor(condition, what) {
  for (let i = 0; i < 600; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}
