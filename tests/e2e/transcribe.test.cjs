// End-to-end tests of transcription in the tab: the real Whisper tiny.en model served by the
// relay, downloaded once into Cache Storage, run by the app's Web Workers on the fixtures'
// sound tracks. Run by scripts/test.sh (RELAY_BIN, REELSMITH_DIST, FIXTURES, REELSMITH_MODELS).
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { relayAndBrowser } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const MODELS = process.env.REELSMITH_MODELS;
const fixture = (name) => path.join(FIXTURES, name);
const SENTENCE = fs.readFileSync(fixture('speech.txt'), 'utf8');
const MODEL_FILE = /\/models\/[^/]+\/(encoder\.onnx|decoder\.onnx|config\.json|vocabulary\.txt|vad\.onnx)$/;
// What the app downloads of tiny.en: the engine's files and the VAD beside them.
const TINY_FILES = ['encoder.onnx', 'decoder.onnx', 'config.json', 'vocabulary.txt', 'vad.onnx'];

let tmp;

/** A models folder with the random-weights model and a "broken" one whose encoder is not a
 * graph at all (but whose checksum is right, so it fails when the worker loads it). */
function makeModels() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reelsmith-models-'));
  fs.symlinkSync(path.join(MODELS, 'whisper-tiny.en'), path.join(tmp, 'whisper-tiny.en'));
  fs.symlinkSync(path.join(MODELS, 'whisper-random'), path.join(tmp, 'whisper-random'));
  const broken = path.join(tmp, 'broken');
  fs.mkdirSync(broken);
  const sums = [];
  for (const name of ['encoder.onnx', 'decoder.onnx', 'config.json', 'vocabulary.txt']) {
    const body = name === 'encoder.onnx'
      ? Buffer.from('this is not an onnx graph')
      : fs.readFileSync(path.join(MODELS, 'whisper-random', name));
    fs.writeFileSync(path.join(broken, name), body);
    sums.push(`${crypto.createHash('sha256').update(body).digest('hex')}  ${name}`);
  }
  fs.writeFileSync(path.join(broken, 'SHA256SUMS'), sums.join('\n') + '\n');
  // "damaged": the server's list promises other bytes than it sends.
  const damaged = path.join(tmp, 'damaged');
  fs.cpSync(broken, damaged, { recursive: true });
  fs.writeFileSync(path.join(damaged, 'config.json'), '{"tampered": true}');
  return tmp;
}

const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: makeModels() }));

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Word error rate: word-level edit distance over the reference's length. */
function wer(reference, hypothesis) {
  const norm = (s) => s.toLowerCase().replace(/[^a-z0-9' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const r = norm(reference);
  const h = norm(hypothesis);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[h.length] / r.length;
}

/** The editor page; records the model-file requests the page and its workers make. */
async function openEditor(query = '') {
  const page = await suite.context.newPage();
  const modelRequests = [];
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Context-wide so requests from the workers count too.
  const onRequest = (request) => {
    if (MODEL_FILE.test(new URL(request.url()).pathname)) modelRequests.push(request.url());
  };
  suite.context.on('request', onRequest);
  await page.goto(suite.url + query);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  const done = async () => {
    suite.context.off('request', onRequest);
    await page.close();
  };
  return { page, modelRequests, errors, done };
}

async function pick(page, name) {
  await page.getByTestId('file-input').setInputFiles(fixture(name));
}

async function phase(page) {
  return page.getByTestId('transcript-status').getAttribute('data-phase');
}

async function waitForPhase(page, wanted, timeout = 180000) {
  await page.waitForFunction(
    (want) => want.includes(document.querySelector('[data-testid=transcript-status]')?.dataset.phase),
    Array.isArray(wanted) ? wanted : [wanted],
    { timeout, polling: 100 },
  );
}

async function words(page) {
  return page.getByTestId('word').evaluateAll((els) => els.map((el) => ({
    text: el.textContent, start: Number(el.dataset.start), end: Number(el.dataset.end),
    current: el.classList.contains('current'),
  })));
}

test('a video is transcribed in the tab; the model is downloaded once, then comes from the cache', async () => {
  const first = await openEditor();
  const progress = [];
  await first.page.exposeFunction('reportStatus', (text) => progress.push(text));
  await first.page.evaluate(() => {
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid=transcript-status]');
      if (el) window.reportStatus(el.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await pick(first.page, 'speech.mp4');
  await waitForPhase(first.page, 'Done');
  const heard = (await words(first.page)).map((w) => w.text).join(' ');
  const rate = wer(SENTENCE, heard);
  assert.ok(rate <= 0.1, `WER ${rate} for "${heard}"`);
  // Every model file was fetched exactly once, with a download progress shown.
  assert.equal(first.modelRequests.length, TINY_FILES.length, first.modelRequests.join('\n'));
  const modelMb = (TINY_FILES
    .reduce((sum, name) => sum + fs.statSync(path.join(MODELS, 'whisper-tiny.en', name)).size, 0) / 1e6).toFixed(1);
  assert.ok(progress.some((t) => t.includes(`Downloading the speech model (once): `) && t.includes(` MB of ${modelMb} MB (`)),
    progress.join('\n'));
  await first.page.getByTestId('settings').locator('summary').click();
  assert.match(await first.page.getByTestId('model-name').textContent(), /whisper-tiny\.en/);
  assert.equal(await first.page.getByTestId('model-stored').textContent(), `yes, ${modelMb} MB`);
  // Each worker reports its WebAssembly memory (which only grows) after every window: with
  // the weights kept int8 and the graphs parsed a file at a time, tiny.en stays within 120 MB.
  const workers = await first.page.getByTestId('workers').textContent();
  const perWorker = workers.match(/^\d+, each using about (\d+\.\d) MB$/);
  assert.ok(perWorker, workers);
  assert.ok(Number(perWorker[1]) <= 120, `each worker uses ${perWorker[1]} MB of wasm memory`);
  assert.deepEqual(first.errors, []);
  await first.done();

  // A second visit: same words, no model file fetched.
  const second = await openEditor();
  await pick(second.page, 'speech.mp4');
  await waitForPhase(second.page, 'Done');
  const again = (await words(second.page)).map((w) => w.text).join(' ');
  assert.equal(again, heard);
  assert.deepEqual(second.modelRequests, []);
  await second.done();
});

test('Opus sound in WebM is transcribed too', async () => {
  const { page, errors, done } = await openEditor();
  await pick(page, 'speech.webm');
  await waitForPhase(page, 'Done');
  const heard = (await words(page)).map((w) => w.text).join(' ');
  assert.ok(wer(SENTENCE, heard) <= 0.1, `"${heard}"`);
  assert.deepEqual(errors, []);
  await done();
});

test('over a minute of music only the sentence spoken in it is written', async () => {
  const { page, errors, done } = await openEditor();
  await pick(page, 'music_speech.mp4');
  await waitForPhase(page, 'Done');
  const heard = await words(page);
  const sentence = fs.readFileSync(fixture('music_speech.txt'), 'utf8');
  const text = heard.map((w) => w.text).join(' ');
  assert.ok(wer(sentence, text) <= 0.15, `"${text}"`);
  // Spoken from 25 s to about 33 s: no word in the music before or after, none twice.
  for (const w of heard) assert.ok(w.start >= 24 && w.end <= 34, `${w.text} at ${w.start}–${w.end}`);
  assert.ok(heard.length <= sentence.split(/\s+/).length + 1, text);
  assert.deepEqual(errors, []);
  await done();
});

test('clicking a word seeks to it, and the spoken word is highlighted during playback', async () => {
  const { page, done } = await openEditor();
  await pick(page, 'speech.mp4');
  await waitForPhase(page, 'Done');
  const before = await words(page);
  assert.ok(before.length >= 10);
  const target = before[5];
  await page.getByTestId('word').nth(5).click();
  // The preview shows the frame at the word's start (25 fps: within one frame).
  await page.waitForFunction(
    (start) => Math.abs(Number(document.querySelector('[data-testid=preview]').dataset.framePts) / 1e6 - start) <= 0.04,
    target.start, { timeout: 15000 },
  );
  let now = await words(page);
  assert.deepEqual(now.map((w, i) => [i, w.current]).filter(([, c]) => c), [[5, true]]);
  // Play: the highlight moves on to later words.
  await page.getByTestId('play').click();
  await page.waitForFunction(
    () => {
      const all = [...document.querySelectorAll('[data-testid=word]')];
      return all.findIndex((el) => el.classList.contains('current')) >= 8;
    }, null, { timeout: 15000 },
  );
  now = await words(page);
  const current = now.findIndex((w) => w.current);
  const shown = Number(await page.getByTestId('preview').getAttribute('data-frame-pts')) / 1e6;
  assert.ok(now[current].start <= shown + 0.1, `word at ${now[current].start}, frame at ${shown}`);
  await done();
});

test('windows appear as they finish, and cancelling stops at once', async () => {
  const { page, done } = await openEditor();
  await pick(page, 'speech_long.mp4');
  // The first window's words arrive while the rest is still being transcribed.
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid=word]').length > 0
      && document.querySelector('[data-testid=transcript-status]').dataset.phase === 'Running',
    null, { timeout: 120000, polling: 50 },
  );
  assert.match(await page.getByTestId('transcript-status').textContent(),
    /^Transcribing: [\d.]+ s of 4\d\.\d s · about \d+ s left$/);
  await page.getByTestId('transcript-cancel').click();
  await waitForPhase(page, 'Cancelled', 2000);
  const count = (await words(page)).length;
  await page.waitForTimeout(3000);
  assert.equal((await words(page)).length, count, 'no window finished after cancelling');
  assert.equal(await phase(page), 'Cancelled');
  // Transcribing again runs to the end: the whole minute.
  await page.getByTestId('transcript-retry').click();
  await waitForPhase(page, 'Done');
  const all = await words(page);
  assert.ok(all[all.length - 1].start > 35, `last word at ${all[all.length - 1].start}`);
  const text = all.map((w) => w.text).join(' ');
  // tiny.en hears this voice less well after a pause ("His editor", "Very morning"): the
  // native engine scores 14 % on the same sentences, so the bar here is 20 %.
  const rate = wer(fs.readFileSync(fixture('speech_long.txt'), 'utf8'), text);
  assert.ok(rate <= 0.2, `WER ${rate}: ${text}`);
  await done();
});

test('two workers share the windows and the transcript comes out in order', async () => {
  const { page, errors, done } = await openEditor('?workers=2');
  await pick(page, 'speech_long.mp4');
  await waitForPhase(page, 'Done');
  const all = await words(page);
  for (let i = 1; i < all.length; i++) {
    assert.ok(all[i].start >= all[i - 1].start, `word ${i} at ${all[i].start} after ${all[i - 1].start}`);
  }
  assert.ok(all[all.length - 1].start > 35);
  const rate = wer(fs.readFileSync(fixture('speech_long.txt'), 'utf8'), all.map((w) => w.text).join(' '));
  assert.ok(rate <= 0.2, `WER ${rate}`);
  await page.getByTestId('settings').locator('summary').click();
  assert.match(await page.getByTestId('workers').textContent(), /^2, each using about \d+\.\d MB$/);
  assert.deepEqual(errors, []);
  await done();
});

test('a video without sound says so and still plays', async () => {
  const { page, errors, done } = await openEditor();
  await pick(page, 'no_audio.mp4');
  await waitForPhase(page, 'NoSound', 15000);
  assert.match(await page.getByTestId('transcript-status').textContent(), /no sound track/);
  await page.getByTestId('play').click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=preview]').dataset.framePts) > 500000,
    null, { timeout: 15000 });
  assert.deepEqual(errors, []);
  await done();
});

test('a model that fails to load or arrives damaged is reported and the editor stays usable', async () => {
  for (const [model, message] of [
    ['broken', /Transcription failed: The speech model could not start: the speech model could not be loaded/],
    ['damaged', /Transcription failed: The downloaded speech model file config\.json is damaged/],
    ['missing', /Transcription failed: The speech model “missing” is not available on this server/],
  ]) {
    const { page, done } = await openEditor(`?model=${model}`);
    await pick(page, 'speech.mp4');
    await waitForPhase(page, 'Failed', 60000);
    assert.match(await page.getByTestId('transcript-status').textContent(), message);
    // Still an editor: another file opens and shows its first frame.
    await pick(page, 'h264_aac_16x9.mp4');
    await page.waitForFunction(() => document.querySelector('[data-testid=preview]').dataset.framePts === '0',
      null, { timeout: 15000 });
    await done();
  }
});

test('a crashed worker is restarted and its window retried once', async () => {
  const { page, done } = await openEditor('?model=whisper-random&fault=worker-crash');
  await pick(page, 'speech.mp4');
  await waitForPhase(page, 'Done', 60000);
  const notices = await page.getByTestId('transcript-notices').textContent();
  assert.match(notices, /A background worker stopped \(.+\); it was restarted and its part retried\./);
  assert.doesNotMatch(notices, /could not be transcribed/);
  await done();
});

test('removing the model in Settings empties the cache; the next transcription downloads it again', async () => {
  const { page, modelRequests, done } = await openEditor('?model=whisper-random');
  await pick(page, 'speech.mp4');
  await waitForPhase(page, 'Done', 60000);
  await page.getByTestId('settings').locator('summary').click();
  assert.match(await page.getByTestId('model-stored').textContent(), /^yes/);
  const fetched = modelRequests.length;
  await page.getByTestId('remove-model').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=model-stored]').textContent.startsWith('no'));
  const keys = await page.evaluate(async () => (await caches.keys()));
  assert.ok(!keys.includes('reelsmith-model-whisper-random'), keys.join());
  await pick(page, 'speech.mp4');
  // The open keeps the last transcript on screen until the new video is known to play, so
  // wait for the downloads first, then for the new transcript.
  for (let waited = 0; modelRequests.length < fetched + 4 && waited < 60000; waited += 100) {
    await page.waitForTimeout(100);
  }
  await waitForPhase(page, 'Done', 60000);
  assert.equal(modelRequests.length, fetched + 4);
  await done();
});
