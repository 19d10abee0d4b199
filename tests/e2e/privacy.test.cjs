// End-to-end privacy checks: every network request the editor's page, its workers and its
// popups make is recorded while a user edits and exports a clip, and then while they publish
// it to the fake TikTok; the tests say exactly what may go where. Real model, real relay, real
// browser (scripts/test.sh).
//
// Two records, each checked against the other:
// - playwright's context-wide `request` event (the page, every dedicated worker's fetches and
//   script loads, popups, each redirect hop; headers and text bodies), WebSockets of every page,
//   and service workers. It is checked before it is trusted: a fetch made from inside each
//   worker and a WebSocket opened by the page must show up in it.
// - Chromium's own net log (`--log-net-log`), written by its network service, which every
//   HTTP request of every renderer and worker goes through: URL of each hop, method, initiator
//   and the size of the body sent — including a Blob body (the upload), which playwright
//   reports as empty. Requests the browser makes by itself (no initiator, to hosts that are
//   not the app's: its sign-in and update checks) are not the app's and are left out.
//
// `blob:` and `data:` URLs are not network: they name bytes already in the tab (the export's
// download link, the SRT/VTT links) and never reach the network service. If playwright reports
// them they are counted as local, and a `blob:` URL must belong to the app's own origin.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRelay, launchBrowser } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const DIST = process.env.REELSMITH_DIST;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'reelsmith-privacy-'));
const dbFile = path.join(scratch, 'relay.db');
/** The relay's temporary folder: where it spools upload chunks (unlinked as they are made). */
const relayTmp = path.join(scratch, 'relay-tmp');
fs.mkdirSync(relayTmp);
/** Paths of the test's own calibration requests (never the app's). */
const PROBE = '/__privacy-probe/';
/** A JSON body the relay needs (publish settings, `{}`) is well under this; a file is not. */
const SMALL_BODY_BYTES = 512;

const relay = {};
before(async () => {
  const started = await startRelay(process.env.RELAY_BIN, DIST, {
    REELSMITH_MODELS: process.env.REELSMITH_MODELS,
    REELSMITH_TIKTOK_FAKE: '1',
    DATABASE_URL: `sqlite://${dbFile}`,
    TMPDIR: relayTmp,
  });
  Object.assign(relay, started);
  relay.origin = new URL(started.url).origin;
  relay.fakeOrigin = new URL(started.fakeUrl).origin;
});
/** Browsers still open when a test failed halfway, closed at the end. */
const contexts = [];
after(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  relay.process?.kill();
  fs.rmSync(scratch, { recursive: true, force: true });
});

let browsers = 0;
/** A fresh browser profile writing a net log; resolves to { context, netLog } (the file). */
async function browser() {
  const netLog = path.join(scratch, `net-${++browsers}.json`);
  const context = await launchBrowser([`--log-net-log=${netLog}`, '--net-log-capture-mode=IncludeSensitive']);
  contexts.push(context);
  return { context, netLog };
}

/** Chromium's net log (written out when the browser closes) as one entry per URL request:
 * `hops` (URL and method of the request and of each redirect), `initiator` and `bodyBytes`. */
function readNetLog(file) {
  let text = fs.readFileSync(file, 'utf8').trimEnd();
  // A log cut short at exit lacks its closing brackets (Chromium's netlog docs).
  if (!text.endsWith('}')) text = text.replace(/,?\s*$/, '') + ']}';
  const log = JSON.parse(text);
  const names = Object.fromEntries(Object.entries(log.constants.logEventTypes).map(([k, v]) => [v, k]));
  const requests = new Map();
  for (const event of log.events) {
    const type = names[event.type];
    const params = event.params ?? {};
    if (type === 'URL_REQUEST_START_JOB' && params.url) {
      const entry = requests.get(event.source.id) ?? { hops: [], initiator: params.initiator, bodyBytes: 0 };
      entry.hops.push({ url: params.url, method: params.method });
      requests.set(event.source.id, entry);
    } else if (type === 'UPLOAD_DATA_STREAM_INIT' && params.total_size !== undefined) {
      const entry = requests.get(event.source.id);
      if (entry) entry.bodyBytes = Math.max(entry.bodyBytes, params.total_size);
    }
  }
  return [...requests.values()];
}

/** The net log's requests that are the app's: started by its pages or workers (initiator: its
 * origin, or TikTok's sign-in page in the popup), or navigations to it. */
function appRequests(netLog) {
  const requests = readNetLog(netLog);
  const ours = (url) => [relay.origin, relay.fakeOrigin].includes(new URL(url).origin);
  const app = requests.filter((r) => ours(r.hops[0].url) || [relay.origin, relay.fakeOrigin].includes(r.initiator));
  assert.ok(app.length > 20, `${app.length} of the app's requests in the net log`);
  return app;
}

/** Every file of the built app, as the paths the relay serves them under. */
function distPaths() {
  const paths = new Set(['/']);
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else paths.add('/' + path.relative(DIST, full).split(path.sep).join('/'));
    }
  };
  walk(DIST);
  return paths;
}

/** The lists of files of the models Settings offers (it shows their sizes): the app's own
 * files, fetched from its origin on every visit. */
const OFFERED_MANIFESTS = ['/models/whisper-tiny.en/manifest.json', '/models/whisper-base/manifest.json'];

/** The model's manifest and file paths, as the relay serves them. */
async function modelPaths() {
  const manifestPath = '/models/whisper-tiny.en/manifest.json';
  const manifest = await (await fetch(new URL(manifestPath, relay.url))).json();
  return new Set([manifestPath, ...manifest.files.map((f) => new URL(f.url, relay.url).pathname)]);
}

/** Records the context's network traffic (see the file's comment). */
function recordNetwork(context) {
  const log = { requests: [], websockets: [], serviceWorkers: [], probes: [] };
  const pageOf = (request) => {
    try {
      return request.frame().page();
    } catch {
      return null; // a service worker's request has no frame
    }
  };
  context.on('request', (request) => {
    const entry = {
      request,
      url: request.url(),
      method: request.method(),
      headers: request.headers(),
      body: request.postDataBuffer(),
      navigation: request.isNavigationRequest(),
      // The page is looked up when checked: a popup's first request comes before its Page.
      get page() { return pageOf(request); },
    };
    log.requests.push(entry);
  });
  const watch = (page) => {
    page.on('websocket', (ws) => log.websockets.push(ws.url()));
    // Calibration: each worker fetches a probe from inside itself as soon as it starts.
    page.on('worker', (worker) => {
      const probe = `${PROBE}worker${new URL(worker.url()).pathname}?n=${log.probes.length}`;
      const record = { url: probe, answered: false };
      log.probes.push(record);
      worker.evaluate((p) => fetch(p).then((r) => r.status), probe)
        .then(() => { record.answered = true; })
        .catch(() => {}); // the worker ended first (the hello worker does at once)
    });
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  context.on('serviceworker', (w) => log.serviceWorkers.push(w.url()));
  return log;
}

/** Checks that the recorder sees the page's and workers' own requests and WebSockets. */
async function checkRecorder(page, log) {
  await page.evaluate((p) => fetch(p), `${PROBE}page`);
  await page.evaluate((p) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}${p}`);
    ws.onerror = resolve;
    ws.onopen = () => { ws.close(); resolve(); };
  }), `${PROBE}websocket`);
  const seen = new Set(log.requests.map((e) => new URL(e.url).pathname + new URL(e.url).search));
  assert.ok(seen.has(`${PROBE}page`), 'the recorder sees the page\'s fetches');
  const answered = log.probes.filter((p) => p.answered);
  assert.ok(answered.some((p) => p.url.includes('reelsmith-worker')), 'a speech worker was probed');
  assert.ok(answered.some((p) => p.url.includes('reelsmith-export')), 'the export worker was probed');
  for (const probe of answered) assert.ok(seen.has(probe.url), `the recorder sees ${probe.url}`);
  assert.ok(log.websockets.some((u) => u.includes(`${PROBE}websocket`)), 'the recorder sees WebSockets');
}

/** Words of the transcript, lower case, as they could appear in a URL or a body. */
async function transcriptWords(page) {
  const words = await page.getByTestId('word').allTextContents();
  const cleaned = words.map((w) => w.toLowerCase().replace(/[^a-z']/g, '')).filter((w) => w.length >= 4);
  return [...new Set(cleaned)];
}

/** The transcript words that occur in `text` as whole words. */
function carriesWords(text, words) {
  const found = new Set(text.toLowerCase().split(/[^a-z']+/));
  return words.filter((w) => found.has(w));
}

function decoded(url) {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

/** Where a request went: 'local' (blob:/data:), 'app', 'probe', 'fake', or 'elsewhere'. */
function destination(entry) {
  const url = new URL(entry.url);
  if (url.protocol === 'blob:' || url.protocol === 'data:') return 'local';
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return 'elsewhere';
  if (url.origin === relay.origin) return url.pathname.startsWith(PROBE) ? 'probe' : 'app';
  if (url.origin === relay.fakeOrigin) return 'fake';
  return 'elsewhere';
}

/** Every string value (not key) in a parsed JSON value. */
function stringsIn(value) {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Opens speech_long.mp4 in a fresh browser, transcribes it, picks a suggested clip, changes
 * its caption template and style, exports it at 720p and downloads it (and its SRT). */
async function editAndExport(page) {
  await page.goto(relay.url);
  await page.getByTestId('file-input').setInputFiles(path.join(FIXTURES, 'speech_long.mp4'));
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 300000, polling: 100 },
  );
  await page.getByTestId('target-length').fill('15');
  await page.getByTestId('target-length').dispatchEvent('change');
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clip').first().waitFor();
  await page.getByTestId('template').selectOption('boxed');
  await page.getByTestId('style-uppercase').check();
  await page.getByTestId('export-size').selectOption('720');
  await page.getByTestId('export').click();
  await page.getByTestId('export-done').waitFor({ timeout: 300000 });
  const download = async (testId) => {
    const pending = page.waitForEvent('download');
    await page.getByTestId(testId).click();
    const file = await pending;
    const saved = path.join(scratch, `${Date.now()}-${file.suggestedFilename()}`);
    await file.saveAs(saved);
    return { saved, name: file.suggestedFilename() };
  };
  const clip = await download('export-download');
  await download('export-srt');
  const bytes = fs.readFileSync(clip.saved);
  return { name: clip.name, saved: clip.saved, size: bytes.length, sha256: sha256(bytes) };
}

/** The relay's tables and their columns (relay/migrations), as PRIVACY.md describes them. */
const RELAY_COLUMNS = {
  oauth_pending: ['state_hash', 'session_hash', 'code_verifier', 'return_to', 'created_at_secs'],
  connections: ['session_hash', 'open_id', 'scope', 'access_token', 'access_expires_at_secs', 'refresh_token',
    'refresh_expires_at_secs', 'token_version', 'refresh_lease_until_secs', 'created_at_secs', 'updated_at_secs'],
  uploads: ['publish_id', 'session_hash', 'mode', 'upload_url', 'content_type', 'video_size_bytes', 'chunk_size_bytes',
    'total_chunk_count', 'chunks_done', 'state', 'lease_until_secs', 'created_at_secs'],
  rate_limits: ['session_hash', 'bucket', 'tat_ms'],
};

function sqlite(sql) {
  return execFileSync('sqlite3', [dbFile, sql]).toString().trim();
}

/** Rows in each of the relay's tables. */
function rowCounts() {
  const tables = sqlite("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").split('\n');
  return Object.fromEntries(tables.map((t) => [t, Number(sqlite(`SELECT count(*) FROM "${t}"`))]));
}

/** Checks the net log against playwright's record: each of the app's requests there was
 * seen by playwright too (nothing went around the recorder), and goes where `allowedHop` says. */
function crossCheck(app, log, allowedHop) {
  const seen = new Set(log.requests.map((e) => `${e.method} ${e.url}`));
  for (const request of app) {
    const probe = new URL(request.hops[0].url);
    if (probe.host === new URL(relay.origin).host && probe.pathname.startsWith(PROBE)) continue;
    for (const hop of request.hops) {
      assert.ok(allowedHop(new URL(hop.url), hop.method), `the net log has ${hop.method} ${hop.url}`);
    }
    // CORS preflights are the browser's own and not reported to pages.
    const { url, method } = request.hops[0];
    if (method !== 'OPTIONS') assert.ok(seen.has(`${method} ${url}`), `playwright missed ${method} ${url}`);
  }
}

test('editing and exporting a clip sends nothing of the user\'s: only app files and the model are fetched, from the app\'s origin', async () => {
  const { context, netLog } = await browser();
  const log = recordNetwork(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const exported = await editAndExport(page);
  const words = await transcriptWords(page);
  assert.ok(words.includes('quick') && words.includes('coffee'), `the transcript is there: ${words.join(' ')}`);
  // The clip is named after its first words: a name a leak would carry.
  assert.ok(carriesWords(exported.name, words).length > 0, exported.name);
  await checkRecorder(page, log);
  assert.deepEqual(context.serviceWorkers(), []);
  assert.deepEqual(await context.cookies(), [], 'no cookie without publishing');
  await context.close();

  const models = await modelPaths();
  const allowed = new Set([...distPaths(), ...models, ...OFFERED_MANIFESTS]);
  const fetched = new Set();
  for (const entry of log.requests) {
    const where = destination(entry);
    if (where === 'probe') continue;
    if (where === 'local') {
      if (entry.url.startsWith('blob:')) assert.equal(new URL(entry.url.slice(5)).origin, relay.origin, entry.url);
      continue;
    }
    assert.equal(where, 'app', `a request left the app's origin: ${entry.method} ${entry.url}`);
    const { pathname } = new URL(entry.url);
    assert.ok(allowed.has(pathname), `not an app file or model file: ${entry.method} ${entry.url}`);
    assert.equal(entry.method, 'GET', `${entry.method} ${entry.url}`);
    assert.equal(entry.body, null, `a body was sent to ${entry.url}`);
    const text = decoded(entry.url) + JSON.stringify(entry.headers);
    assert.deepEqual(carriesWords(text, words), [], `transcript words in ${entry.url}`);
    fetched.add(pathname);
  }
  // The recording covered the flow: the app, both workers and the whole model were fetched.
  for (const p of models) assert.ok(fetched.has(p), `the model file ${p} was downloaded`);
  assert.ok([...fetched].some((p) => p.endsWith('reelsmith-export_bg.wasm')), 'the export worker loaded');
  assert.ok([...fetched].some((p) => p.endsWith('reelsmith-worker_bg.wasm')), 'a transcription worker loaded');
  assert.ok(![...fetched].some((p) => p.startsWith('/api/')), 'nothing asked of the publish API');
  assert.deepEqual(log.websockets.filter((u) => !u.includes(PROBE)), [], 'no WebSocket');
  assert.deepEqual(log.serviceWorkers, [], 'no service worker');

  // The browser's own record: every request of the app stayed on its origin, none had a body.
  const app = appRequests(netLog);
  crossCheck(app, log, (url) => url.origin === relay.origin);
  const bodies = app.filter((r) => r.bodyBytes > 0).map((r) => `${r.hops[0].method} ${r.hops[0].url} (${r.bodyBytes} B)`);
  assert.deepEqual(bodies, [], 'no request sent a body');
  assert.deepEqual(errors, []);
});

test('publishing sends exactly the exported file to the relay, and disconnecting deletes the tokens there', async () => {
  const { context, netLog } = await browser();
  const log = recordNetwork(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const fakeJson = async (p) => (await fetch(new URL(p, relay.fakeUrl))).json();
  const publishesBefore = await fakeJson('/fake/publishes');
  const statsBefore = await fakeJson('/fake/stats');
  const exported = await editAndExport(page);
  const words = await transcriptWords(page);
  assert.ok(words.includes('coffee'), words.join(' '));
  assert.ok(carriesWords(exported.name, words).length > 0, exported.name);

  // Connect through the popup (the fake's sign-in page approves at once), publish to the inbox.
  await page.getByTestId('publish-open').click();
  await page.getByTestId('tiktok-connect').waitFor();
  const popupOpened = page.waitForEvent('popup');
  await page.getByTestId('tiktok-connect').click();
  const popup = await popupOpened;
  await popup.waitForEvent('close', { timeout: 30000 });
  await page.getByTestId('tiktok-account').waitFor();
  await page.getByTestId('mode-inbox').check();
  await page.getByTestId('publish-button').click();
  await page.getByTestId('publish-done').waitFor({ timeout: 120000 });

  // What arrived at TikTok is the downloaded export, byte for byte.
  const ids = new Set(publishesBefore.map((p) => p.publish_id));
  const publishes = (await fakeJson('/fake/publishes')).filter((p) => !ids.has(p.publish_id));
  assert.equal(publishes.length, 1, 'one publish');
  const [published] = publishes;
  assert.equal(published.sha256, exported.sha256);
  assert.equal(published.received_bytes, exported.size);
  assert.equal(published.title, null, 'an inbox draft carries no title');

  // What the relay keeps: the tables and columns PRIVACY.md lists, keyed by a hash of the
  // session cookie (never the cookie itself), the upload URL sealed; none of the video's bytes,
  // and no spool file left.
  for (const [table, columns] of Object.entries(RELAY_COLUMNS)) {
    assert.deepEqual(sqlite(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`).split('\n'), columns, table);
  }
  const [cookie] = (await context.cookies()).filter((c) => c.name === 'reelsmith_session');
  assert.ok(cookie?.httpOnly, 'an httpOnly session cookie');
  assert.equal(sqlite('SELECT session_hash FROM connections'), sha256(Buffer.from(cookie.value)));
  assert.equal(sqlite("SELECT mode || ' ' || content_type || ' ' || video_size_bytes || ' ' || substr(upload_url, 1, 3) FROM uploads"),
    `inbox video/mp4 ${exported.size} v1.`);
  const database = Buffer.concat(['', '-wal', '-shm'].filter((s) => fs.existsSync(dbFile + s)).map((s) => fs.readFileSync(dbFile + s)));
  assert.ok(!database.includes(Buffer.from(cookie.value)), 'the session id is not in the database');
  const video = fs.readFileSync(exported.saved);
  for (let k = 1; k <= 8; k++) {
    const at = Math.floor((video.length * k) / 10);
    assert.ok(!database.includes(video.subarray(at, at + 64)), `bytes of the video at ${at} are in the database`);
  }
  assert.deepEqual(fs.readdirSync(relayTmp), [], 'no file left in the relay\'s temporary folder');

  // The relay holds the connection (sealed tokens) until the user disconnects in the dialog.
  assert.equal(rowCounts().connections, 1);
  await page.getByTestId('tiktok-disconnect').click();
  await page.getByTestId('tiktok-connect').waitFor();
  const rows = rowCounts();
  assert.deepEqual(Object.keys(rows).sort(), ['_sqlx_migrations', ...Object.keys(RELAY_COLUMNS)].sort(), 'the relay\'s tables');
  assert.equal(rows.connections, 0, 'no token row after disconnecting');
  assert.equal(rows.uploads, 0, 'no publish of the session after disconnecting');
  assert.equal(rows.oauth_pending, 0, 'no sign-in left pending');
  // Only request budgets (a hash of the old session id, a bucket name, a time) stay.
  const left = Object.keys(rows).filter((t) => rows[t] > 0 && t !== '_sqlx_migrations');
  assert.ok(left.every((t) => t === 'rate_limits'), `rows left in ${left.join(', ')}`);
  assert.equal((await fakeJson('/fake/stats')).revocations - statsBefore.revocations, 1, 'revoked at TikTok');
  assert.deepEqual((await context.cookies()).filter((c) => c.name === 'reelsmith_session'), [], 'the session cookie is cleared');

  await checkRecorder(page, log);
  await context.close();

  // Playwright's record: where each request went, and what its URL, headers and text body say.
  const allowedApp = new Set([...distPaths(), ...await modelPaths(), ...OFFERED_MANIFESTS]);
  const withBody = [];
  const apiReads = new Set();
  let authorize = 0;
  for (const entry of log.requests) {
    const where = destination(entry);
    if (where === 'probe') continue;
    if (where === 'local') {
      if (entry.url.startsWith('blob:')) assert.equal(new URL(entry.url.slice(5)).origin, relay.origin, entry.url);
      continue;
    }
    const url = new URL(entry.url);
    const text = decoded(entry.url) + JSON.stringify(entry.headers);
    assert.deepEqual(carriesWords(text, words), [], `transcript words in ${entry.url}`);
    if (where === 'fake') {
      // The user's own sign-in at TikTok: the popup's top-level navigation to TikTok's
      // authorize page, redirected there by the relay's /api/connect; it carries the OAuth
      // parameters and nothing else.
      assert.equal(entry.page, popup, `only the sign-in popup goes to TikTok: ${entry.url}`);
      assert.ok(entry.navigation, entry.url);
      assert.equal(entry.method, 'GET');
      assert.equal(url.pathname, '/v2/auth/authorize/');
      assert.equal(new URL(entry.request.redirectedFrom()?.url() ?? 'about:blank').pathname, '/api/connect');
      assert.deepEqual([...url.searchParams.keys()].sort(),
        ['client_key', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'scope', 'state']);
      authorize++;
      continue;
    }
    assert.equal(where, 'app', `a request left the app's origin: ${entry.method} ${entry.url}`);
    assert.ok(allowedApp.has(url.pathname) || url.pathname.startsWith('/api/'),
      `not an app file, model file or API call: ${entry.url}`);
    if (entry.method === 'GET') {
      assert.equal(entry.body, null, entry.url);
      if (url.pathname.startsWith('/api/')) apiReads.add(url.pathname.replace(published.publish_id, '{id}'));
    } else {
      assert.equal(entry.page, page, `${entry.method} ${entry.url} from the editor`);
      withBody.push(entry);
    }
  }
  assert.equal(authorize, 1, 'one sign-in');
  // Reads: the session status, the sign-in's two hops on the relay, the status polls.
  assert.deepEqual([...apiReads].sort(), ['/api/callback', '/api/connect', '/api/publish/{id}/status', '/api/session']);
  assert.deepEqual(withBody.map((e) => `${e.method} ${new URL(e.url).pathname}`).sort(),
    ['POST /api/disconnect', 'POST /api/publish', `PUT /api/upload/${published.publish_id}`]);
  // The small bodies: the publish settings and the disconnect, with no word of the transcript.
  for (const entry of withBody.filter((e) => e.method === 'POST')) {
    assert.ok(entry.body, `${entry.url}: the body is readable`);
    const body = entry.body.toString('utf8');
    assert.ok(body.length <= SMALL_BODY_BYTES, `${entry.url}: ${body.length} bytes`);
    assert.deepEqual(carriesWords(body, words), [], `transcript words in ${entry.url}: ${body}`);
    const json = JSON.parse(body);
    if (new URL(entry.url).pathname === '/api/publish') {
      assert.equal(json.mode, 'inbox');
      assert.equal(json.video_size_bytes, exported.size);
      assert.equal(json.content_type, 'video/mp4');
      assert.deepEqual(stringsIn(json).sort(), ['inbox', 'video/mp4'], `only the mode and type as text: ${body}`);
    } else {
      assert.deepEqual(json, {});
    }
  }
  const upload = withBody.find((e) => e.method === 'PUT');
  assert.equal(upload.headers['content-type'], 'video/mp4');
  assert.deepEqual(log.websockets.filter((u) => !u.includes(PROBE)), [], 'no WebSocket');
  assert.deepEqual(log.serviceWorkers, [], 'no service worker');

  // The browser's own record: the app's requests went to its origin, except the popup's hop to
  // TikTok's sign-in page; the one body larger than a few hundred bytes is the upload, exactly
  // the exported file's size (its bytes are the ones TikTok hashed above: the relay has them
  // from this request only).
  const app = appRequests(netLog);
  crossCheck(app, log, (url, method) => url.origin === relay.origin
    || (url.origin === relay.fakeOrigin && url.pathname === '/v2/auth/authorize/' && method === 'GET'));
  const large = app.filter((r) => r.bodyBytes > SMALL_BODY_BYTES);
  assert.deepEqual(large.map((r) => `${r.hops[0].method} ${r.hops[0].url}`),
    [`PUT ${relay.origin}/api/upload/${encodeURIComponent(published.publish_id).replace(/%7E/g, '~')}`], 'the only large body is the upload');
  assert.equal(large[0].bodyBytes, exported.size, 'the upload is the exported file, whole');
  const small = app.filter((r) => r.bodyBytes > 0 && r.bodyBytes <= SMALL_BODY_BYTES);
  assert.deepEqual(small.map((r) => `${r.hops[0].method} ${new URL(r.hops[0].url).pathname}`).sort(),
    ['POST /api/disconnect', 'POST /api/publish']);
  assert.deepEqual(errors, []);
});
