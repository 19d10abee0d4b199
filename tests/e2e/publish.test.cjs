// End-to-end tests of publishing: the relay in demo mode (its fake TikTok follows
// shared/tiktok-api.md) — export a clip, connect TikTok through the OAuth popup, send it as an
// inbox draft and as a direct post, and check that exactly the exported file arrived; then
// disconnect. Real relay, real browser, real export (scripts/test.sh).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { relayAndBrowser, scratchDir } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: process.env.REELSMITH_MODELS, REELSMITH_TIKTOK_FAKE: '1' }));
const scratch = scratchDir('reelsmith-publish-');

async function fakeJson(p) {
  const res = await fetch(new URL(p, suite.fakeUrl));
  assert.equal(res.status, 200, `${p}: ${res.status}`);
  return res.json();
}

/** The publishes the fake has received since `seen` (a list from an earlier call). */
async function newPublishes(seen) {
  const ids = new Set(seen.map((p) => p.publish_id));
  return (await fakeJson('/fake/publishes')).filter((p) => !ids.has(p.publish_id));
}

/** Opens the editor, exports a 15 s clip of the speech video; returns the page and the
 * downloaded file's SHA-256 and size. */
async function exported() {
  const page = await suite.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(suite.url);
  await page.getByTestId('file-input').setInputFiles(path.join(FIXTURES, 'speech_long.mp4'));
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.framePts !== undefined);
  await page.getByTestId('new-clip').click();
  await page.getByTestId('export-size').selectOption('720');
  await page.getByTestId('export').click();
  await page.getByTestId('export-done').waitFor({ timeout: 240000 });
  const pending = page.waitForEvent('download');
  await page.getByTestId('export-download').click();
  const saved = path.join(scratch, `${Date.now()}.mp4`);
  await (await pending).saveAs(saved);
  const bytes = fs.readFileSync(saved);
  return { page, errors, sha256: crypto.createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
}

/** Opens the Publish dialog and connects through the popup (the fake approves at once),
 * unless this browser's session is still connected from an earlier test. */
async function connect(page) {
  await page.getByTestId('publish-open').click();
  const account = page.getByTestId('tiktok-account');
  await page.locator('[data-testid=tiktok-connect], [data-testid=tiktok-account]').first().waitFor();
  if (await account.count()) return;
  const popup = page.waitForEvent('popup');
  await page.getByTestId('tiktok-connect').click();
  await (await popup).waitForEvent('close', { timeout: 30000 });
  await page.getByTestId('tiktok-account').waitFor();
  assert.match(await page.getByTestId('tiktok-account').textContent(), /Connected as Demo Creator/);
}

test('an exported clip goes to the TikTok inbox as a draft: exactly the exported bytes arrive', async () => {
  const before = await fakeJson('/fake/publishes');
  const { page, errors, sha256, size } = await exported();
  await connect(page);
  await page.getByTestId('mode-inbox').check();
  await page.getByTestId('publish-button').click();
  await page.getByTestId('publish-done').waitFor({ timeout: 60000 });
  assert.match(await page.getByTestId('publish-done').textContent(), /inbox/);
  const publishes = await newPublishes(before);
  assert.equal(publishes.length, 1, 'one publish, no more');
  const p = publishes[0];
  assert.equal(p.mode, 'inbox');
  assert.equal(p.content_type, 'video/mp4');
  assert.equal(p.video_size_bytes, size);
  assert.equal(p.received_bytes, size);
  assert.equal(p.sha256, sha256);
  assert.equal(p.status, 'SEND_TO_USER_INBOX');

  // Disconnecting revokes the connection: the dialog offers to connect again, and a new
  // session check says not connected.
  await page.getByTestId('tiktok-disconnect').click();
  await page.getByTestId('tiktok-connect').waitFor();
  const session = await page.evaluate(async () => (await fetch('/api/session')).json());
  assert.equal(session.connected, false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a direct post carries the title, privacy level and interaction settings chosen', async () => {
  const before = await fakeJson('/fake/publishes');
  const { page, errors, sha256 } = await exported();
  await connect(page);
  await page.getByTestId('mode-direct').check();
  // No privacy level is chosen for the user: Publish waits for one.
  assert.equal(await page.getByTestId('publish-button').isDisabled(), true);
  await page.getByTestId('publish-title').fill('Foxes and dogs #clip');
  await page.getByTestId('publish-privacy').selectOption('SELF_ONLY');
  await page.getByTestId('allow-comment').uncheck();
  await page.getByTestId('publish-button').click();
  await page.getByTestId('publish-done').waitFor({ timeout: 60000 });
  assert.match(await page.getByTestId('publish-done').textContent(), /Posted/);
  const publishes = await newPublishes(before);
  assert.equal(publishes.length, 1);
  const p = publishes[0];
  assert.equal(p.mode, 'direct');
  assert.equal(p.title, 'Foxes and dogs #clip');
  assert.equal(p.privacy_level, 'SELF_ONLY');
  assert.equal(p.sha256, sha256);
  assert.equal(p.status, 'PUBLISH_COMPLETE');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a chunk TikTok fails once is sent again and the publish still arrives whole', async () => {
  const before = await fakeJson('/fake/publishes');
  const { page, errors, sha256 } = await exported();
  await connect(page);
  const control = await fetch(new URL('/fake/control', suite.fakeUrl), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ faults: [{ endpoint: 'chunk', kind: 'server_error', times: 1 }] }),
  });
  assert.equal(control.status, 200);
  const statsBefore = await fakeJson('/fake/stats');
  await page.getByTestId('mode-inbox').check();
  await page.getByTestId('publish-button').click();
  await page.getByTestId('publish-done').waitFor({ timeout: 60000 });
  const publishes = await newPublishes(before);
  assert.equal(publishes.length, 1, 'the retried chunk did not start a second publish');
  assert.equal(publishes[0].sha256, sha256);
  // The fault fired, and the failed chunk was sent once more.
  const stats = await fakeJson('/fake/stats');
  assert.equal(stats.faults_fired - statsBefore.faults_fired, 1);
  assert.equal(stats.chunk_puts - statsBefore.chunk_puts, publishes[0].total_chunk_count + 1);
  assert.deepEqual(errors, []);
  await page.close();
});
