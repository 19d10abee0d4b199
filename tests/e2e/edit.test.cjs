// End-to-end tests of editing: suggested clips from the transcript, trimming, cutting words,
// undo/redo, silence clean-up, caption templates drawn over the preview (pixel checks), and
// the autosaved project restored after a reload. Real model, real browser (scripts/test.sh).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { relayAndBrowser } = require('./harness.cjs');
const { diff, bestShift, draws, grab, pixelsAfterRedraw, settle } = require('./pixels.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);
const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: process.env.REELSMITH_MODELS }));

const openEditor = () => suite.openEditor();

async function transcribed(page, name) {
  await page.getByTestId('file-input').setInputFiles(fixture(name));
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 180000, polling: 100 },
  );
}

async function clipSpan(page) {
  const text = await page.getByTestId('clip-span').textContent();
  const [a, b] = text.split('–').map(Number);
  return [a, b];
}

async function wordsInfo(page) {
  return page.getByTestId('word').evaluateAll((els) => els.map((el) => ({
    index: Number(el.dataset.index), text: el.textContent, start: Number(el.dataset.start),
    end: Number(el.dataset.end), cut: el.classList.contains('cut'), inClip: el.classList.contains('in-clip'),
  })));
}

async function choose(page, testId, value) {
  const before = await draws(page);
  await page.getByTestId(testId).selectOption(value);
  return before;
}

test('a suggested clip is picked, trimmed, cut by words, undone and redone, and captioned over the preview', async () => {
  const { page, errors } = await openEditor();
  await transcribed(page, 'speech_long.mp4');
  await page.getByTestId('target-length').fill('20');
  await page.getByTestId('target-length').dispatchEvent('change');
  const suggestion = page.getByTestId('suggestion').first();
  await suggestion.waitFor();
  const start = Number(await suggestion.getAttribute('data-start'));
  const end = Number(await suggestion.getAttribute('data-end'));
  // Within 15 % of the 20 s target.
  assert.ok(end - start >= 17 && end - start <= 23, `${start}–${end}`);
  // A card: a title, its times as m:ss.ss, its length and score, a quote and reasons.
  assert.ok((await suggestion.locator('.title').textContent()).trim().length > 0, 'a title');
  assert.match(await suggestion.locator('.meta').textContent(), /^\d+:\d\d\.\d\d – \d+:\d\d\.\d\d · \d+ s · score \d+$/);
  assert.match(await suggestion.locator('.quote').textContent(), /^“.+”$/);
  assert.ok(await suggestion.locator('.reasons li').count() > 0, 'reasons');
  await suggestion.getByTestId('use-suggestion').click();
  await page.getByTestId('clip').first().waitFor();
  assert.deepEqual(await clipSpan(page), [Number(start.toFixed(2)), Number(end.toFixed(2))]);

  // Trim the in point one second later with its handle.
  await page.getByTestId('clip-in').evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, start + 1);
  await page.waitForFunction((v) => document.querySelector('[data-testid=clip-span]').textContent.startsWith(v.toFixed(2)),
    start + 1);

  // Select three words inside the clip (click, shift-click) and cut them.
  const inside = (await wordsInfo(page)).filter((w) => w.inClip);
  assert.ok(inside.length > 10, `${inside.length} words in the clip`);
  const [a, b] = [inside[3], inside[5]];
  await page.locator(`[data-testid=word][data-index="${a.index}"]`).click();
  await page.locator(`[data-testid=word][data-index="${b.index}"]`).click({ modifiers: ['Shift'] });
  await page.getByTestId('cut-words').click();
  let cut = (await wordsInfo(page)).filter((w) => w.cut).map((w) => w.index);
  assert.deepEqual(cut, [a.index, a.index + 1, b.index]);
  const clipText = await page.getByTestId('clip').first().textContent();
  const after = Number(clipText.match(/\(([\d.]+) s after cuts\)/)[1]);
  assert.ok(Math.abs(after - (end - start - 1 - (b.end - a.start))) < 0.11, clipText);

  // Undo takes the cut back, redo puts it again.
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await page.keyboard.press('Control+z');
  await page.waitForFunction(() => !document.querySelector('[data-testid=word].cut'));
  await page.keyboard.press('Control+Shift+z');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=word].cut').length === 3);

  // Captions: the picture at a spoken word with the karaoke template, and with none.
  const spoken = inside[8];
  await page.locator(`[data-testid=word][data-index="${spoken.index}"]`).click();
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=preview]').dataset.framePts) / 1e6 - t) < 0.11, spoken.start);
  let before = await choose(page, 'template', 'none');
  const plain = await pixelsAfterRedraw(page, before);
  before = await choose(page, 'template', 'karaoke');
  const captioned = await pixelsAfterRedraw(page, before);
  // Inside the clip the preview is the output: a 9:16 picture; the caption block sits at
  // 72 % of its height.
  assert.ok(Math.abs(plain.w / plain.h - 9 / 16) < 0.01, `the preview is ${plain.w}×${plain.h}`);
  assert.equal(await page.getByTestId('preview').getAttribute('data-view'), 'output');
  const band = diff(plain, captioned, 0, plain.w, plain.h * 0.62, plain.h * 0.82);
  const above = diff(plain, captioned, 0, plain.w, plain.h * 0.05, plain.h * 0.4);
  assert.ok(band > 8, `caption band differs by ${band}`);
  assert.ok(above < 0.5, `outside the captions the picture differs by ${above}`);
  // The karaoke highlight colour is there.
  let yellow = 0;
  for (let i = 0; i < captioned.data.length; i += 4) {
    const [r, g, bl] = captioned.data.slice(i, i + 3);
    if (r > 230 && g > 190 && g < 235 && bl < 60) yellow++;
  }
  assert.ok(yellow > 30, `${yellow} highlight pixels`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('pauses are found, previewed and cut; I and O mark the clip', async () => {
  const { page } = await openEditor();
  await transcribed(page, 'speech_long.mp4');
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clean-up').click();
  const preview = await page.getByTestId('clean-up-preview').textContent();
  const m = preview.match(/^(\d+) pauses? and fillers \(([\d.]+) s\) will be cut\./);
  assert.ok(m && Number(m[1]) >= 1, preview);
  const before = (await page.getByTestId('clip').first().textContent()).match(/\(([\d.]+) s after cuts\)/)[1];
  await page.getByTestId('apply-clean-up').click();
  await page.waitForFunction((b) => !document.querySelector('[data-testid=clip]').textContent.includes(`(${b} s after cuts)`), before);
  const afterText = (await page.getByTestId('clip').first().textContent()).match(/\(([\d.]+) s after cuts\)/)[1];
  assert.ok(Math.abs(Number(before) - Number(afterText) - Number(m[2])) < 0.15, `${before} → ${afterText}, ${m[2]}`);

  // Keyboard: seek with a word click, then I marks the in point there.
  const inside = (await wordsInfo(page)).filter((w) => w.inClip);
  await page.locator(`[data-testid=word][data-index="${inside[4].index}"]`).click();
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=preview]').dataset.framePts) / 1e6 - t) < 0.11, inside[4].start);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await page.keyboard.press('i');
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=clip-span]').textContent.split('–')[0]) - t) < 0.11, inside[4].start);
  await page.close();
});

test('the project is saved as it is edited and restored after a reload', async () => {
  const { page } = await openEditor();
  await transcribed(page, 'speech_long.mp4');
  await page.getByTestId('use-suggestion').first().click();
  const inside = (await wordsInfo(page)).filter((w) => w.inClip);
  await page.locator(`[data-testid=word][data-index="${inside[2].index}"]`).click();
  await page.getByTestId('cut-words').click();
  await page.getByTestId('template').selectOption('boxed');
  const saves = Number(await page.getByTestId('saved').getAttribute('data-saves'));
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=saved]').dataset.saves) >= n, saves);
  const span = await clipSpan(page);
  // Let the last write land, then reload.
  await page.waitForTimeout(500);
  const requests = [];
  suite.context.on('request', (r) => { if (/\.onnx$/.test(r.url())) requests.push(r.url()); });
  await page.reload();
  await page.getByTestId('restore').waitFor();
  assert.match(await page.getByTestId('restore').textContent(), /speech_long\.mp4, 1 clip\)/);
  await page.getByTestId('restore-yes').click();
  assert.match(await page.getByTestId('restore-pick').textContent(), /Pick “speech_long\.mp4” again/);
  await page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await page.waitForFunction(() => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done');
  assert.deepEqual(await clipSpan(page), span);
  const cut = (await wordsInfo(page)).filter((w) => w.cut).map((w) => w.index);
  assert.deepEqual(cut, [inside[2].index]);
  assert.equal(await page.getByTestId('template').inputValue(), 'boxed');
  // The transcript came back with the project: no transcription, no model loaded.
  assert.deepEqual(requests, []);
  await page.close();
});

test('"Play clip" plays the clip without its cuts and stops at its out point; the timeline has thumbnails', async () => {
  const { page, errors } = await openEditor();
  await transcribed(page, 'speech_long.mp4');
  // Thumbnails along the timeline: drawn, and not a blank strip.
  await page.waitForFunction(() => document.querySelector('[data-testid=thumbnails]').dataset.drawn === 'true');
  const spread = await page.getByTestId('thumbnails').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let min = 255;
    let max = 0;
    for (let i = 0; i < d.length; i += 4) { min = Math.min(min, d[i + 1]); max = Math.max(max, d[i + 1]); }
    return max - min;
  });
  assert.ok(spread > 60, `thumbnail strip spread ${spread}`);

  await page.getByTestId('use-suggestion').first().click();
  const inside = (await wordsInfo(page)).filter((w) => w.inClip);
  // Cut a second or so from the middle of the clip.
  const [a, b] = [inside[6], inside[8]];
  await page.locator(`[data-testid=word][data-index="${a.index}"]`).click();
  await page.locator(`[data-testid=word][data-index="${b.index}"]`).click({ modifiers: ['Shift'] });
  await page.getByTestId('cut-words').click();
  const [start, end] = await clipSpan(page);
  // Let the redraw that follows the edit land, then record every frame shown while the clip
  // plays.
  await settle(page);
  await page.evaluate(() => {
    window.shown = [];
    const canvas = document.querySelector('[data-testid=preview]');
    new MutationObserver(() => window.shown.push(Number(canvas.dataset.framePts) / 1e6))
      .observe(canvas, { attributes: true, attributeFilter: ['data-frame-pts', 'data-draws'] });
  });
  await page.getByTestId('play-clip').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').textContent === 'Pause');
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').textContent === 'Play',
    null, { timeout: 90000 });
  const shown = await page.evaluate(() => window.shown);
  assert.ok(shown.length > 50, `${shown.length} frames`);
  const frame = 0.1; // the fixture runs at 10 fps
  assert.ok(shown[0] >= start - frame && shown[0] <= start + frame, `first frame ${shown[0]} for in point ${start}`);
  assert.ok(Math.max(...shown) < end, `last frame ${Math.max(...shown)} for out point ${end}`);
  assert.ok(Math.max(...shown) > end - 3 * frame, `stopped early at ${Math.max(...shown)}`);
  const inCut = shown.filter((t) => t > a.start + frame && t < b.end - frame);
  assert.deepEqual(inCut, [], `frames shown inside the cut ${a.start}–${b.end}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a misheard word is corrected in place, the picture follows a pan key, and the project exports and imports', async () => {
  const { page, errors } = await openEditor();
  await transcribed(page, 'speech_long.mp4');
  await page.getByTestId('use-suggestion').first().click();
  const inside = (await wordsInfo(page)).filter((w) => w.inClip);
  const target = inside[1];

  // Double-click a word and type the right one in place: text changes, timing stays.
  await page.locator(`[data-testid=word][data-index="${target.index}"]`).dblclick();
  await page.getByTestId('correction-input').fill('Weather');
  await page.getByTestId('correction-input').press('Enter');
  await page.waitForFunction((i) => document.querySelector(`[data-testid=word][data-index="${i}"]`).textContent === 'Weather',
    target.index);
  const fixed = (await wordsInfo(page)).find((w) => w.index === target.index);
  assert.equal(fixed.start, target.start);
  assert.equal(fixed.end, target.end);

  // 1:1: the preview becomes square. On the whole frame the window is centred, so a band
  // near the left edge is dimmed; a click there pans the window to the left edge: the band is
  // shown undimmed.
  let before = await choose(page, 'aspect', '1:1');
  const square = await pixelsAfterRedraw(page, before);
  assert.equal(square.w, square.h, `the 1:1 preview is ${square.w}×${square.h}`);
  before = await draws(page);
  await page.getByTestId('whole-frame').click();
  const centred = await pixelsAfterRedraw(page, before);
  assert.ok(centred.w > centred.h * 1.7, 'the whole 16:9 frame is shown');
  assert.equal(await page.getByTestId('preview').getAttribute('data-view'), 'whole');
  const box = await page.getByTestId('preview').boundingBox();
  before = await draws(page);
  await page.getByTestId('preview').click({ position: { x: box.width * 0.05, y: box.height * 0.5 } });
  const panned = await pixelsAfterRedraw(page, before);
  const brightness = (img) => {
    let sum = 0;
    let n = 0;
    for (let y = Math.floor(img.h * 0.2); y < img.h * 0.55; y++) {
      for (let x = Math.floor(img.w * 0.02); x < img.w * 0.08; x++) {
        const i = (y * img.w + x) * 4;
        sum += img.data[i] + img.data[i + 1] + img.data[i + 2];
        n += 3;
      }
    }
    return sum / n;
  };
  assert.ok(brightness(panned) > 1.6 * brightness(centred),
    `left band ${brightness(centred).toFixed(1)} → ${brightness(panned).toFixed(1)}`);

  // Dragging the window to the right edge: the left band is dimmed again; one Ctrl+Z undoes
  // the whole drag (back to the clicked position), not each step of it.
  const drag = async (from, to) => {
    const at = await page.getByTestId('preview').boundingBox();
    await page.mouse.move(at.x + at.width * from, at.y + at.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(at.x + at.width * (from + to) / 2, at.y + at.height * 0.5, { steps: 5 });
    await page.mouse.move(at.x + at.width * to, at.y + at.height * 0.5, { steps: 5 });
    await page.mouse.up();
    await settle(page);
  };
  await page.getByTestId('preview').scrollIntoViewIfNeeded();
  await drag(0.5, 0.95);
  const dragged = await grab(page);
  assert.ok(brightness(dragged) < 0.7 * brightness(panned),
    `after the drag the left band is dimmed: ${brightness(centred)} ${brightness(panned)} ${brightness(dragged)}`);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  await page.keyboard.press('Control+z');
  await settle(page);
  const undone = await grab(page);
  assert.ok(Math.abs(brightness(undone) - brightness(panned)) < 2, 'one undo restores the clicked position');

  // Back to the output: the window is at the left edge. Dragging the picture a third of the
  // way to the left moves what is shown by a third of its width (the window goes right).
  before = await draws(page);
  await page.getByTestId('whole-frame').click();
  const atLeft = await pixelsAfterRedraw(page, before);
  assert.equal(atLeft.w, atLeft.h);
  await drag(0.7, 0.4);
  const moved = await grab(page);
  assert.equal(await page.getByTestId('preview').getAttribute('data-view'), 'output');
  const shift = bestShift(atLeft, moved);
  assert.ok(Math.abs(shift - 0.3 * moved.w) < 0.05 * moved.w, `the picture moved ${shift} px of ${moved.w}`);

  // Export the project file, then import it in a fresh editor and pick the video again.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-project').click()]);
  const file = path.join(require('node:os').tmpdir(), `reelsmith-project-${process.pid}.json`);
  await download.saveAs(file);
  const saved = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
  assert.equal(download.suggestedFilename(), 'speech_long.mp4.reelsmith.json');
  assert.equal(saved.clips.length, 1);
  assert.equal(saved.clips[0].reframe.aspect, 'Square1x1');
  assert.equal(saved.clips[0].reframe.keys.length, 1);
  assert.ok(saved.transcript.some((s) => s.words.some((w) => w.text.trim() === 'Weather')));
  assert.deepEqual(errors, []);
  await page.close();

  const second = await openEditor();
  await second.page.getByTestId('import-project').setInputFiles(file);
  await second.page.getByTestId('restore-pick').waitFor();
  await second.page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await second.page.waitForFunction(() => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done');
  assert.equal(await second.page.getByTestId('aspect').inputValue(), '1:1');
  assert.equal((await wordsInfo(second.page)).find((w) => w.index === target.index).text, 'Weather');
  require('node:fs').rmSync(file);
  await second.page.close();
});
