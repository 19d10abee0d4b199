// End-to-end tests of the speech settings: Whisper base chosen in Settings, served by the relay
// and run by the app's workers on a Spanish video (espeak-ng, tests/fixtures/make.sh): the
// language detected and said, the transcript in Spanish, translated into English when asked,
// a language chosen instead of detected; the choice kept for the next visit; what tiny.en
// (English only) does not offer; the default model and decoding following what the device
// measured. Run by scripts/test.sh (RELAY_BIN, REELSMITH_DIST, FIXTURES,
// REELSMITH_MODELS).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { relayAndBrowser, launchBrowser } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const suite = relayAndBrowser();

const openEditor = () => suite.openEditor();

async function waitForPhase(page, wanted, timeout = 300000) {
  await page.waitForFunction(
    (want) => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === want,
    wanted,
    { timeout, polling: 100 },
  );
}

/** The transcript's words, lower case, without punctuation. */
async function heard(page) {
  const words = await page.getByTestId('word').evaluateAll((els) => els.map((el) => el.textContent));
  return words.join(' ').toLowerCase().replace(/[^\p{L}\p{N}' ]+/gu, ' ').replace(/\s+/g, ' ').trim();
}

function assertHas(text, keys, what) {
  for (const key of keys) assert.ok(text.includes(key), `${what}: "${key}" missing from "${text}"`);
}

/** Runs "Transcribe again" and waits for the new transcript (the old one shows meanwhile). */
async function transcribeAgain(page) {
  await page.getByTestId('transcribe-again').click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase !== 'Done',
    null, { timeout: 15000, polling: 50 },
  );
  await waitForPhase(page, 'Done');
}

test('base, chosen in Settings, detects Spanish, writes it in Spanish, translates it into English when asked, and keeps the choice', async () => {
  const { page, errors } = await openEditor();
  await page.evaluate(() => localStorage.clear());
  await page.getByTestId('settings').locator('summary').click();
  await page.getByTestId('model-choice').selectOption('whisper-base');
  // Nothing is stored until the user changes a setting; now the choice is.
  const kept = JSON.parse(await page.evaluate(() => localStorage.getItem('reelsmith.speech')));
  assert.deepEqual(kept, { model: 'whisper-base', model_chosen: true, language: null, task: 'Transcribe', words: '' });
  await page.waitForFunction(() => document.querySelector('[data-testid=model-name]').textContent === 'whisper-base');
  assert.equal(await page.getByTestId('language-choice').isDisabled(), false);

  await page.getByTestId('file-input').setInputFiles(path.join(FIXTURES, 'speech_es.mp4'));
  await waitForPhase(page, 'Done');
  assert.equal(await page.getByTestId('transcript-language').textContent(), 'Language: Spanish (detected)');
  const spanish = await heard(page);
  assertHas(spanish, ['buenos días', 'paella', 'arroz'], 'Spanish');
  assert.ok(!spanish.includes('good morning'), spanish);

  // Translated into English: the new transcript replaces the project's.
  await page.getByTestId('task-choice').selectOption('translate');
  await transcribeAgain(page);
  assert.equal(await page.getByTestId('transcript-language').textContent(),
    'Language: Spanish (detected), translated into English');
  const english = await heard(page);
  assertHas(english, ['good morning', 'spanish'], 'Spanish → English');
  assert.ok(!english.includes('buenos'), english);

  // A language chosen is decoded without detection, and said without "(detected)".
  await page.getByTestId('task-choice').selectOption('transcribe');
  await page.getByTestId('language-choice').selectOption('es');
  await transcribeAgain(page);
  assert.equal(await page.getByTestId('transcript-language').textContent(), 'Language: Spanish');
  assertHas(await heard(page), ['paella', 'arroz'], 'Spanish, chosen');

  // Measured here: the model's speed and memory.
  assert.match(await page.getByTestId('model-measured').textContent(),
    /^Speed here: \d+\.\d× real time with \d workers?, \d+\.\d MB each\.$/);

  // The next visit starts with the same choice.
  await page.reload();
  await page.getByTestId('settings').locator('summary').click();
  assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-base');
  assert.equal(await page.getByTestId('language-choice').inputValue(), 'es');
  assert.equal(await page.getByTestId('task-choice').inputValue(), 'transcribe');
  // The model's entry names its size (once its list arrives); its speed is measured again in
  // each visit.
  await page.waitForFunction(() => /MB\)$/.test(document.querySelector('#model-choice option[value="whisper-base"]').textContent));
  assert.match(await page.getByTestId('model-choice').locator('option[value="whisper-base"]').textContent(),
    /^base — accurate, 99 languages \(\d+\.\d MB\)$/);
  assert.equal(await page.getByTestId('model-measured').textContent(),
    'Speed here: measured when it first transcribes.');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a first visit starts with tiny.en, which offers no language or translation; what this device measures picks the model and the beam', async () => {
  // A profile of its own: nothing measured yet (the other tests run on a measured device).
  const context = await launchBrowser();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(suite.url);
    await page.getByTestId('file-input').waitFor({ state: 'attached' });
    const settingsOpen = async () => {
      await page.getByTestId('settings').locator('summary').click();
      await page.getByTestId('decoding').waitFor();
    };
    await settingsOpen();
    assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-tiny.en');
    assert.equal(await page.getByTestId('language-choice').isDisabled(), true);
    assert.equal(await page.getByTestId('task-choice').isDisabled(), true);
    assert.match(await page.getByTestId('english-only').textContent(), /knows only English: choose base/);
    assert.equal(await page.getByTestId('decoding').textContent(),
      "Greedy (fastest) until this model's speed here is measured, on its first window of 20 s or more with speech.");
    // A first visit that only looks at the settings stores nothing.
    assert.equal(await page.evaluate(() => localStorage.length), 0);

    // The first long window measures tiny.en here, once, and Settings says so.
    await page.getByTestId('file-input').setInputFiles(path.join(FIXTURES, 'speech_long.mp4'));
    await waitForPhase(page, 'Done');
    const speeds = JSON.parse(await page.evaluate(() => localStorage.getItem('reelsmith.device-speed')));
    assert.deepEqual(Object.keys(speeds), ['whisper-tiny.en']);
    const tiny = speeds['whisper-tiny.en'];
    assert.ok(tiny > 0.5 && tiny < 200, `tiny.en measured at ${tiny}× real time`);
    assert.match(await page.getByTestId('decoding').textContent(), new RegExp(`${tiny.toFixed(1)}× (real time|greedy) on the first window`));

    // The next visit's default follows: base where tiny.en's speed promises 2× for it.
    await page.reload();
    await settingsOpen();
    assert.equal(await page.getByTestId('model-choice').inputValue(), tiny * 0.45 >= 2 ? 'whisper-base' : 'whisper-tiny.en');

    // A device where base ran below 2× real time keeps tiny.en; where tiny.en ran at 9× it
    // decodes with the beam search.
    const measured = async (record) => {
      await page.evaluate((json) => localStorage.setItem('reelsmith.device-speed', json), JSON.stringify(record));
      await page.reload();
      await settingsOpen();
    };
    await measured({ 'whisper-base': 1.4, 'whisper-tiny.en': 9 });
    assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-tiny.en');
    assert.equal(await page.getByTestId('decoding').textContent(),
      'Beam search of 5: more accurate, and this device keeps about 3.6× real time with it (9.0× greedy on the first window).');
    // Base measured at 3.3×: the default, greedy (the beam would fall below 2×).
    await measured({ 'whisper-base': 3.3 });
    assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-base');
    assert.equal(await page.getByTestId('language-choice').isDisabled(), false);
    assert.equal(await page.getByTestId('decoding').textContent(),
      "Greedy (fastest): 3.3× real time on the first window here, too slow for the beam search's 2.5× cost.");
    // Words to know kept do not make the default model a choice: it still follows the device.
    await page.getByTestId('words-to-know').fill('Reelsmith');
    await page.getByTestId('words-to-know').dispatchEvent('change');
    await measured({ 'whisper-base': 1.4 });
    assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-tiny.en');
    await measured({ 'whisper-base': 3.3 });
    assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-base');
    assert.equal(await page.getByTestId('words-to-know').inputValue(), 'Reelsmith');
    // The user's choice of model wins over the default.
    await page.getByTestId('model-choice').selectOption('whisper-tiny.en');
    await page.reload();
    await settingsOpen();
    assert.equal(await page.getByTestId('model-choice').inputValue(), 'whisper-tiny.en');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the caption fonts have Latin, Greek and Cyrillic letters; Anton templates take Greek and Cyrillic from Inter', async () => {
  const { page, errors } = await openEditor();
  const loaded = (font, text) => page.evaluate(async ([f, t]) => (await document.fonts.load(f, t))
    .map((face) => `${face.family} ${face.weight} ${face.unicodeRange}`), [font, text]);
  const cyrillic = await loaded('bold 84px "Anton", "Inter", sans-serif', 'Привет');
  assert.ok(cyrillic.some((f) => f.startsWith('Inter 700') && f.includes('U+400-45F')), cyrillic.join('\n'));
  const greek = await loaded('46px "Inter", sans-serif', 'Καλημέρα');
  assert.ok(greek.some((f) => f.startsWith('Inter 400') && f.includes('U+370-377')), greek.join('\n'));
  const polish = await loaded('84px "Anton", "Inter", sans-serif', 'Zażółć');
  assert.ok(polish.some((f) => f.startsWith('Anton 400') && f.includes('U+100-2BA')), polish.join('\n'));
  // Drawn, the letters come from Inter, not the browser's own font: Cyrillic and Greek each
  // measure as Inter's, in an Anton template too, and not as the browser's sans-serif.
  const widths = await page.evaluate(async () => {
    await document.fonts.load('40px "Inter"', 'ПриветΚαλημέρα');
    const ctx = document.createElement('canvas').getContext('2d');
    const width = (font, text) => { ctx.font = font; return ctx.measureText(text).width; };
    const out = {};
    for (const [script, text] of [['cyrillic', 'Привет'], ['greek', 'Καλημέρα']]) {
      out[script] = {
        inter: width('40px "Inter", sans-serif', text),
        anton: width('40px "Anton", "Inter", sans-serif', text),
        plain: width('40px sans-serif', text),
      };
    }
    return out;
  });
  for (const script of ['cyrillic', 'greek']) {
    const w = widths[script];
    assert.equal(w.anton, w.inter, `${script}: ${JSON.stringify(w)}`);
    assert.notEqual(w.inter, w.plain, `${script}: ${JSON.stringify(w)}`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('a video that opens silent takes its language from the first window with speech', async () => {
  const { page, errors } = await openEditor();
  // No choice left by an earlier test (the editor reads it as it loads).
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  await page.getByTestId('settings').locator('summary').click();
  await page.getByTestId('model-choice').selectOption('whisper-base');
  await page.getByTestId('file-input').setInputFiles(path.join(FIXTURES, 'speech_es_late.mp4'));
  await waitForPhase(page, 'Done');
  // 35 s of silence, then the Spanish: the silent first window names no language, so the next
  // one detects it for the video.
  assert.equal(await page.getByTestId('transcript-language').textContent(), 'Language: Spanish (detected)');
  const words = await page.getByTestId('word').evaluateAll((els) => els.map((el) => Number(el.dataset.start)));
  assert.ok(words.length > 0 && words[0] >= 34, `the first word starts at ${words[0]} s`);
  assertHas(await heard(page), ['paella', 'arroz'], 'Spanish after silence');
  await page.evaluate(() => localStorage.clear());
  assert.deepEqual(errors, []);
  await page.close();
});

test('words to know, typed in Settings, are spelled as given in the transcript, and kept', async () => {
  const { page, errors } = await openEditor();
  await page.evaluate(() => localStorage.clear());
  await page.getByTestId('file-input').setInputFiles(path.join(FIXTURES, 'names.mp4'));
  await waitForPhase(page, 'Done');
  const plain = await heard(page);
  assert.ok(!plain.includes('reelsmith'), plain);
  await page.getByTestId('settings').locator('summary').click();
  await page.getByTestId('words-to-know').fill('Reelsmith\nKestrel Dyne');
  await page.getByTestId('words-to-know').blur();
  await page.waitForFunction(() => (localStorage.getItem('reelsmith.speech') || '').includes('Kestrel'));
  await transcribeAgain(page);
  assertHas(await heard(page), ['reelsmith', 'kestrel dyne'], 'with words to know');
  // The next visit keeps them.
  await page.reload();
  await page.getByTestId('settings').locator('summary').click();
  assert.equal(await page.getByTestId('words-to-know').inputValue(), 'Reelsmith\nKestrel Dyne');
  assert.deepEqual(errors, []);
  await page.close();
});
