// End-to-end tests of the user's data in the browser: the project file holds the whole
// project (and only a reference to the video), and "Delete everything stored in this
// browser" leaves the origin's storage empty — OPFS, Cache Storage, IndexedDB, localStorage —
// even with an export writing at that moment, after which the editor works as on a first
// visit. Storage is enumerated by the test itself, not by the app's own list. Real model,
// real browser (scripts/test.sh).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRelay, launchBrowser } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'reelsmith-data-'));

const relay = {};
before(async () => {
  Object.assign(relay, await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST,
    { REELSMITH_MODELS: process.env.REELSMITH_MODELS }));
});
/** Browsers still open when a test failed halfway, closed at the end. */
const contexts = [];
after(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  relay.process?.kill();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A fresh browser profile (nothing stored) with the editor open. */
async function freshEditor() {
  const context = await launchBrowser();
  contexts.push(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(relay.url);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  return { context, page, errors };
}

async function transcribed(page, name) {
  await page.getByTestId('file-input').setInputFiles(fixture(name));
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 300000, polling: 100 },
  );
}

/** Everything the origin stores, enumerated with the browser's own APIs. */
function storage(page) {
  return page.evaluate(async () => {
    const walk = async (dir, prefix) => {
      const out = [];
      for await (const [name, handle] of dir.entries()) {
        if (handle.kind === 'directory') {
          out.push(`${prefix}${name}/`, ...await walk(handle, `${prefix}${name}/`));
        } else {
          out.push(`${prefix}${name}`);
        }
      }
      return out;
    };
    const estimate = await navigator.storage.estimate();
    return {
      files: (await walk(await navigator.storage.getDirectory(), '')).sort(),
      caches: await caches.keys(),
      databases: (await indexedDB.databases()).map((d) => d.name),
      localStorage: localStorage.length,
      sessionStorage: sessionStorage.length,
      usage: estimate.usage,
      usageDetails: estimate.usageDetails,
    };
  });
}

const EMPTY = { files: [], caches: [], databases: [], localStorage: 0, sessionStorage: 0 };
function contents(s) {
  const { usage, usageDetails, ...rest } = s;
  return rest;
}

async function saves(page) {
  return Number(await page.getByTestId('saved').getAttribute('data-saves'));
}

/** Waits for the autosave after an edit made by `edit`. */
async function edited(page, edit) {
  const before = await saves(page);
  await edit();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=saved]').dataset.saves) > n, before);
}

test('the project file holds the transcript, the clips with their cuts, caption template and style, and the crop — and no more of the video than its name, size, date and a digest of its ends', async () => {
  const { context, page, errors } = await freshEditor();
  await transcribed(page, 'speech.mp4');
  await edited(page, () => page.getByTestId('new-clip').click());
  const words = await page.getByTestId('word').evaluateAll((els) => els.map((el) => ({
    index: Number(el.dataset.index), text: el.textContent.trim(), start: Number(el.dataset.start),
  })));
  const cut = words[2];
  await page.locator(`[data-testid=word][data-index="${cut.index}"]`).click();
  await edited(page, () => page.getByTestId('cut-words').click());
  await edited(page, () => page.getByTestId('template').selectOption('boxed'));
  await edited(page, () => page.getByTestId('style-font').selectOption('Anton'));
  await edited(page, () => page.getByTestId('style-uppercase').check());
  await edited(page, () => page.getByTestId('aspect').selectOption('1:1'));

  const pending = page.waitForEvent('download');
  await page.getByTestId('export-project').click();
  const download = await pending;
  assert.equal(download.suggestedFilename(), 'speech.mp4.reelsmith.json');
  const file = path.join(scratch, 'project.json');
  await download.saveAs(file);
  const project = JSON.parse(fs.readFileSync(file, 'utf8'));

  // The transcript, word by word with times.
  const saved = project.transcript.flatMap((s) => s.words);
  assert.deepEqual(saved.map((w) => w.text.trim()), words.map((w) => w.text));
  assert.ok(saved.every((w) => w.end_secs >= w.start_secs));
  // The clip: its span, the cut word, the template, the style changes, the crop.
  assert.equal(project.clips.length, 1);
  const [clip] = project.clips;
  assert.equal(clip.cuts.length, 1);
  assert.ok(Math.abs(clip.cuts[0].start_secs - cut.start) < 0.01, JSON.stringify(clip.cuts));
  assert.equal(clip.template, 'boxed');
  assert.equal(clip.style.font_family, 'Anton');
  assert.equal(clip.style.uppercase, true);
  assert.equal(clip.reframe.aspect, 'Square1x1');
  // Of the video only a reference: name, size, date and the SHA-256 of its first and last
  // 64 KiB (to recognise it when the project is reopened) — nothing of its pictures or sound.
  const video = fs.statSync(fixture('speech.mp4'));
  assert.deepEqual(Object.keys(project.source).sort(), ['bytes', 'fingerprint', 'last_modified_ms', 'name']);
  assert.equal(project.source.name, 'speech.mp4');
  assert.equal(project.source.bytes, video.size);
  const bytes = fs.readFileSync(fixture('speech.mp4'));
  const edge = 64 * 1024;
  const ends = bytes.length <= 2 * edge ? bytes
    : Buffer.concat([bytes.subarray(0, edge), bytes.subarray(bytes.length - edge)]);
  assert.equal(project.source.fingerprint, `sha256-64k:${crypto.createHash('sha256').update(ends).digest('hex')}`);
  assert.ok(fs.statSync(file).size < video.size / 4, 'the project file is a small text file');

  // The autosaved project in the browser (the one project of the list) is the same project.
  const autosaved = await page.evaluate(async () => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('projects');
    const index = JSON.parse(await (await (await dir.getFileHandle('index.json')).getFile()).text());
    const text = await (await (await dir.getFileHandle(`${index.projects[0].id}.json`)).getFile()).text();
    return { index, text };
  });
  assert.equal(autosaved.index.projects.length, 1);
  assert.equal(autosaved.index.projects[0].name, 'speech.mp4');
  assert.equal(autosaved.index.projects[0].clips, 1);
  assert.deepEqual(JSON.parse(autosaved.text), project);
  assert.deepEqual(errors, []);
  await context.close();
});

test('"Delete everything stored in this browser" empties OPFS, Cache Storage, IndexedDB and localStorage, stops a running export, and the editor then works as on a first visit', async () => {
  const { context, page, errors } = await freshEditor();
  await transcribed(page, 'speech_long.mp4');
  await edited(page, () => page.getByTestId('new-clip').click());
  await page.getByTestId('export-size').selectOption('720');
  await page.getByTestId('export').click();
  await page.getByTestId('export-done').waitFor({ timeout: 300000 });
  const exportedBytes = Number(await page.getByTestId('export-done').getAttribute('data-bytes'));
  // What the editor stored: the project (its file, its small picture and the list), the
  // exported clip, the model, and one key: the speed measured on the video's first long
  // window — no copy of the video, no database.
  const stored = await storage(page);
  const exportFiles = stored.files.filter((f) => f.startsWith('exports/') && f !== 'exports/');
  const projectFile = stored.files.find((f) => /^projects\/p[0-9a-z-]+\.json$/.test(f));
  assert.ok(projectFile, stored.files.join(' '));
  const projectId = projectFile.slice('projects/'.length, -'.json'.length);
  assert.deepEqual(stored.files, ['exports/', ...exportFiles, 'projects/', 'projects/index.json',
    `projects/${projectId}.json`, `projects/${projectId}.thumb`].sort());
  assert.equal(exportFiles.length, 1, stored.files.join(' '));
  // The picture is 64×36 RGBA with an 8-byte header: a thumbnail, not a frame of the video.
  const thumbBytes = await page.evaluate(async (name) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('projects');
    return (await (await dir.getFileHandle(name)).getFile()).size;
  }, `${projectId}.thumb`);
  assert.equal(thumbBytes, 8 + 64 * 36 * 4);
  // That file is the exported clip's media data: the download is it with the index in front.
  const scratchBase64 = await page.evaluate(async (name) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('exports');
    const bytes = new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }, exportFiles[0].slice('exports/'.length));
  const scratchFile = Buffer.from(scratchBase64, 'base64');
  const pending = page.waitForEvent('download');
  await page.getByTestId('export-download').click();
  const downloaded = fs.readFileSync(await (await pending).path());
  assert.equal(downloaded.length, exportedBytes);
  assert.ok(scratchFile.length > 0 && scratchFile.length <= downloaded.length, `${scratchFile.length} of ${downloaded.length}`);
  assert.ok(downloaded.subarray(downloaded.length - scratchFile.length).equals(scratchFile), 'the stored file ends the download');
  assert.deepEqual(stored.caches, ['reelsmith-model-whisper-tiny.en']);
  assert.deepEqual(stored.databases, []);
  assert.equal(stored.localStorage, 1);
  const speeds = JSON.parse(await page.evaluate(() => localStorage.getItem('reelsmith.device-speed')));
  assert.deepEqual(Object.keys(speeds), ['whisper-tiny.en']);
  assert.equal(stored.sessionStorage, 0);
  // Whatever else may have been stored by this origin goes too.
  await page.evaluate(async () => {
    localStorage.setItem('probe', 'x');
    await new Promise((resolve, reject) => {
      const open = indexedDB.open('probe', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('things').put('x', 'k');
      open.onsuccess = () => { open.result.close(); resolve(); };
      open.onerror = () => reject(open.error);
    });
  });
  const full = await storage(page);
  assert.ok(full.files.includes('projects/index.json'), full.files.join(' '));
  assert.ok(full.files.some((f) => f.startsWith('exports/') && f.length > 'exports/'.length), full.files.join(' '));
  assert.deepEqual(full.caches, ['reelsmith-model-whisper-tiny.en']);
  assert.deepEqual(full.databases, ['probe']);
  assert.equal(full.localStorage, 2);
  // At least the speech model's files are counted.
  const modelBytes = ['encoder.onnx', 'decoder.onnx', 'config.json', 'vocabulary.txt']
    .reduce((sum, name) => sum + fs.statSync(path.join(process.env.REELSMITH_MODELS, 'whisper-tiny.en', name)).size, 0);
  assert.ok(full.usage > modelBytes, `${full.usage} bytes used, the model alone is ${modelBytes}`);

  // The panel lists what is stored.
  await page.getByTestId('local-data').locator('summary').click();
  await page.getByTestId('local-data-item').first().waitFor();
  const listed = (await page.getByTestId('local-data-item').allTextContents()).join('\n');
  for (const what of ['your projects (saved as you edit, with small pictures of their videos)', 'exported clips waiting to be downloaded',
    'the speech model “whisper-tiny.en”', 'the database “probe”', 'saved settings (2 keys)']) {
    assert.ok(listed.includes(what), `${what} in\n${listed}`);
  }

  // Declining the confirmation deletes nothing.
  page.once('dialog', (dialog) => dialog.dismiss());
  await page.getByTestId('delete-local-data').click();
  assert.deepEqual(contents(await storage(page)), contents(full));
  assert.equal(await page.getByTestId('local-data-result').count(), 0);

  // With a 1080p export writing its file, confirm: the page reloads and deletes everything.
  await page.getByTestId('export-size').selectOption('1080');
  await page.getByTestId('export').click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=export-progress]')?.dataset.done) > 0);
  const writing = await storage(page);
  assert.ok(writing.files.some((f) => f.startsWith('exports/') && !full.files.includes(f)), 'the export is writing a new file');
  let message = '';
  page.once('dialog', (dialog) => { message = dialog.message(); dialog.accept(); });
  const reloaded = page.waitForEvent('load');
  await page.getByTestId('delete-local-data').click();
  await reloaded;
  assert.match(message, /project.*exported clips.*speech model/s);
  const result = page.getByTestId('local-data-result');
  await result.waitFor();
  assert.equal(await result.getAttribute('data-complete'), 'true', await result.textContent());
  const said = await result.textContent();
  assert.match(said, /^Deleted from this browser: .*Nothing of Reelsmith is stored here now\.$/);
  for (const what of ['your projects', 'exported clips', 'the speech model “whisper-tiny.en”']) {
    assert.ok(said.includes(what), `${what} in ${said}`);
  }
  const emptied = await storage(page);
  assert.deepEqual(contents(emptied), EMPTY);
  // The browser's own count: nothing in Cache Storage or OPFS; of IndexedDB only the few KB
  // of bookkeeping Chromium keeps once a database has been deleted (no database is listed).
  const used = Object.entries(emptied.usageDetails ?? {}).filter(([, bytes]) => bytes > 0);
  assert.deepEqual(used.filter(([area]) => area !== 'indexedDB'), [], JSON.stringify(emptied.usageDetails));
  assert.ok(emptied.usage < 4096, `${emptied.usage} bytes still used: ${JSON.stringify(emptied.usageDetails)}`);
  assert.equal(await page.getByTestId('local-data-total').textContent(), 'Nothing of Reelsmith is stored in this browser.');
  assert.equal(await page.getByTestId('restore').count(), 0, 'no saved project is offered');
  await page.getByTestId('projects-empty').waitFor();
  assert.equal(await page.getByTestId('project').count(), 0, 'the list of projects is empty');
  assert.equal(await page.getByTestId('media-info').count(), 0, 'the video is closed');
  assert.equal(await page.getByTestId('export-progress').count(), 0, 'no export runs');

  // Loading the editor again stores nothing by itself (the settings only look at the cache).
  await page.reload();
  await page.getByTestId('model-stored').filter({ hasText: 'no (downloaded on first use)' }).waitFor({ state: 'attached' });
  assert.deepEqual(contents(await storage(page)), EMPTY);
  assert.equal(await page.getByTestId('local-data-result').count(), 0, 'a reload does not delete again');

  // The editor works as on a first visit: the model is downloaded again, the video transcribed.
  const modelFetched = page.waitForRequest((r) => r.url().endsWith('/models/whisper-tiny.en/encoder.onnx'));
  await transcribed(page, 'speech.mp4');
  await modelFetched;
  assert.ok((await page.getByTestId('word').allTextContents()).some((w) => /quick/i.test(w)));
  const again = await storage(page);
  assert.deepEqual(again.caches, ['reelsmith-model-whisper-tiny.en']);
  assert.ok(again.files.includes('projects/index.json'), again.files.join(' '));
  assert.deepEqual(errors, []);
  await context.close();
});
