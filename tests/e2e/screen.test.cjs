// End-to-end tests of the editor as one screen: the layout at a laptop's and a phone's size,
// Undo/Redo that every control follows, and a whole edit done with the keyboard alone. Real
// model, real browser (scripts/test.sh). Screenshots of each layout are kept in
// $SCREENSHOTS (default: a temporary folder) for a person to look at.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { relayAndBrowser } = require('./harness.cjs');
const { diff, bestShift, draws, grab, pixelsAfterRedraw, settle, fingerDrag } = require('./pixels.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);
const SHOTS = process.env.SCREENSHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'reelsmith-screens-'));
const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: process.env.REELSMITH_MODELS }));

const openEditor = (viewport) => suite.openEditor({ viewport });

async function waitTranscribed(page) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 180000, polling: 100 },
  );
}

/** Where an element is on screen, and whether all of it is inside the window. */
async function onScreen(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return { found: false };
    const r = el.getBoundingClientRect();
    return {
      found: true,
      visible: r.width > 0 && r.height > 0,
      inside: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5,
      starts: r.top >= 0 && r.top < innerHeight - 40 && r.left >= 0 && r.right <= innerWidth + 0.5,
      rect: { top: r.top, left: r.left, bottom: r.bottom, right: r.right },
    };
  }, selector);
}

test('at 1440×900 the preview, transcript, timeline and properties are on one screen that does not scroll', async () => {
  const { page, errors } = await openEditor({ width: 1440, height: 900 });
  await page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await waitTranscribed(page);
  // Until a clip is picked there is no clip to play or frame: those controls are not shown.
  for (const id of ['play-clip', 'whole-frame', 'safe-zones']) {
    assert.equal(await page.getByTestId(id).isVisible(), false, `${id} hidden without a clip`);
  }
  // Each suggestion shows its first frame: the bar code drawn in it is that frame's number.
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=suggestion-still]')]
    .every((c) => c.dataset.pts !== undefined), null, { timeout: 30000 });
  const stills = await page.getByTestId('suggestion').evaluateAll((cards) => cards.map((card) => {
    const c = card.querySelector('canvas');
    const ctx = c.getContext('2d');
    let index = 0;
    for (let bit = 0; bit < 8; bit++) {
      const px = ctx.getImageData(Math.floor(((2 * bit + 1) * c.width) / 16), Math.floor(c.height / 16), 1, 1).data;
      if (px[0] > 128) index |= 1 << bit;
    }
    return { start: Number(card.dataset.start), pts: Number(c.dataset.pts), index };
  }));
  assert.ok(stills.length > 0);
  for (const s of stills) {
    const frame = 100_000; // speech_long.mp4 is 10 fps
    assert.ok(s.pts <= s.start * 1e6 + 5_000 && s.pts > s.start * 1e6 - frame - 5_000, `still at ${s.pts} for a start at ${s.start} s`);
    assert.equal(s.index, Math.round(s.pts / frame) % 256, 'the picture is that frame');
  }
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clip').first().waitFor();
  for (const id of ['play-clip', 'whole-frame', 'safe-zones']) {
    assert.equal(await page.getByTestId(id).isVisible(), true, `${id} shown with a clip`);
  }
  await page.screenshot({ path: path.join(SHOTS, 'editor-1440x900.png') });
  const page_ = await page.evaluate(() => ({
    scrollHeight: document.documentElement.scrollHeight,
    scrollWidth: document.documentElement.scrollWidth,
    innerHeight,
    innerWidth,
  }));
  assert.ok(page_.scrollHeight <= page_.innerHeight, `the page scrolls: ${page_.scrollHeight} > ${page_.innerHeight}`);
  assert.ok(page_.scrollWidth <= page_.innerWidth, `the page is ${page_.scrollWidth} px wide`);
  for (const [name, selector] of [
    ['preview', '[data-testid=preview]'],
    ['play button', '[data-testid=play]'],
    ['timeline', '.timeline'],
    ['undo', '[data-testid=undo]'],
  ]) {
    const where = await onScreen(page, selector);
    assert.ok(where.found && where.visible, `${name} is shown`);
    assert.ok(where.inside, `${name} is inside the window: ${JSON.stringify(where.rect)}`);
  }
  // Panels taller than their column scroll inside it: they start on screen.
  for (const [name, selector] of [
    ['transcript', '.transcript-panel'],
    ['suggestions column', '.side'],
    ['clip properties', '.clips'],
  ]) {
    const where = await onScreen(page, selector);
    assert.ok(where.found && where.visible, `${name} is shown`);
    assert.ok(where.starts, `${name} starts inside the window: ${JSON.stringify(where.rect)}`);
  }
  // The preview keeps a useful size beside the panels.
  const preview = await onScreen(page, '.screen');
  assert.ok(preview.rect.bottom - preview.rect.top > 300, `preview height ${preview.rect.bottom - preview.rect.top}`);
  // Every control a screen reader lists has a name of its own (four "Use this clip" buttons
  // cannot be told apart).
  const names = await page.evaluate(() => [...document.querySelectorAll('button, [role=slider], label.button, select')]
    .filter((el) => el.getClientRects().length > 0 && !el.closest('[hidden], .hidden'))
    .map((el) => (el.getAttribute('aria-label') || el.textContent).trim()));
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  assert.deepEqual(repeated, [], `controls sharing a name: ${repeated.join(', ')}`);
  // The panels scroll inside themselves: the transcript and the suggestions each on its own.
  for (const panel of ['.side .transcript-panel', '.side .suggestions', '.props']) {
    const overflow = await page.locator(panel).evaluate((el) => getComputedStyle(el).overflowY);
    assert.equal(overflow, 'auto', `${panel} scrolls`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('at 390×844 nothing is wider than the screen and every control is large enough for a finger', async () => {
  const { page, errors } = await openEditor({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(SHOTS, 'empty-390x844.png'), fullPage: true });
  await page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await waitTranscribed(page);
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clip').first().waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'editor-390x844.png'), fullPage: true });
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > innerWidth + 0.5 && !el.closest('.visually-hidden');
      })
      .map((el) => `${el.tagName}.${el.className}[${el.dataset.testid || ''}]`)
      .slice(0, 10),
  }));
  assert.equal(widths.page, 390, `the page is ${widths.page} px wide`);
  assert.deepEqual(widths.wide, [], 'elements past the right edge');
  const small = await page.evaluate(() => [...document.querySelectorAll('button, select, input:not([type=file]):not([type=checkbox]), label.button')]
    .filter((el) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && (r.height < 44 || r.width < 44);
    })
    .map((el) => `${el.tagName}[${el.dataset.testid || el.textContent.trim().slice(0, 20)}] ${Math.round(el.getBoundingClientRect().width)}×${Math.round(el.getBoundingClientRect().height)}`));
  assert.deepEqual(small, [], 'controls smaller than 44 px');
  assert.deepEqual(errors, []);
  await page.close();
});

/** Opens speech_long.mp4, waits for its transcript and picks the first suggestion; the
 * preview shows the clip's output. */
async function pickedClip(page) {
  await page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await waitTranscribed(page);
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clip').first().waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]').dataset.view === 'output');
}

test('the preview is the clip in its output shape, with safe zones on request and a note when captions would be covered', async () => {
  const { page, errors } = await openEditor({ width: 1440, height: 900 });
  await pickedClip(page);
  // Each shape gives a canvas of that shape, and the box on screen keeps it.
  for (const [shape, ratio] of [['1:1', 1], ['16:9', 16 / 9], ['9:16', 9 / 16]]) {
    const before = await draws(page);
    await page.getByTestId('aspect').selectOption(shape);
    const img = await pixelsAfterRedraw(page, before);
    assert.ok(Math.abs(img.w / img.h - ratio) < 0.01, `${shape}: ${img.w}×${img.h}`);
    const box = await page.getByTestId('preview').boundingBox();
    assert.ok(Math.abs(box.width / box.height - ratio) < 0.02, `${shape} on screen: ${box.width}×${box.height}`);
  }
  // Safe zones shade the margins only: the middle of the picture is unchanged.
  await page.getByTestId('template').selectOption('none');
  await settle(page);
  const plain = await grab(page);
  let before = await draws(page);
  await page.getByTestId('safe-zones').click();
  const guided = await pixelsAfterRedraw(page, before);
  await page.screenshot({ path: path.join(SHOTS, 'safe-zones-1440x900.png') });
  assert.equal(await page.getByTestId('safe-zones').getAttribute('aria-pressed'), 'true');
  const middle = diff(plain, guided, plain.w * 0.2, plain.w * 0.7, plain.h * 0.2, plain.h * 0.7);
  const bottom = diff(plain, guided, 0, plain.w, plain.h * 0.85, plain.h * 0.98);
  const right = diff(plain, guided, plain.w * 0.9, plain.w, plain.h * 0.2, plain.h * 0.7);
  assert.ok(middle < 0.5, `the middle changed by ${middle}`);
  assert.ok(bottom > 10 && right > 10, `margins shaded by ${bottom} (bottom), ${right} (right)`);
  before = await draws(page);
  await page.getByTestId('safe-zones').click();
  const off = await pixelsAfterRedraw(page, before);
  assert.ok(diff(plain, off, 0, plain.w, 0, plain.h) < 0.5, 'the guides go away');
  // A template low in the frame is covered by the app's buttons in 9:16, not in 16:9.
  await page.getByTestId('template').selectOption('lower');
  await page.getByTestId('caption-warning').waitFor();
  assert.match(await page.getByTestId('caption-warning').textContent(), /9:16.*low/);
  await page.getByTestId('aspect').selectOption('16:9');
  await page.getByTestId('caption-warning').waitFor({ state: 'detached' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('on a phone the picture is moved in its frame by a finger', async () => {
  const { page, errors } = await openEditor({ width: 390, height: 844 });
  await pickedClip(page);
  // Picking a clip far down the stacked page brings the picture back into view.
  const shown = await onScreen(page, '[data-testid=preview]');
  assert.ok(shown.starts, `the preview is off screen after picking a clip: ${JSON.stringify(shown.rect)}`);
  await page.getByTestId('template').selectOption('none');
  await settle(page);
  const start = await grab(page);
  await page.screenshot({ path: path.join(SHOTS, 'output-390x844.png') });
  // A finger drags the picture a third of its width to the right (touch events, as a phone
  // sends them).
  await page.getByTestId('preview').scrollIntoViewIfNeeded();
  const box = await page.getByTestId('preview').boundingBox();
  const xs = Array.from({ length: 11 }, (_, k) => box.x + box.width * (0.3 + 0.033 * k));
  await fingerDrag(page, box.y + box.height * 0.4, xs);
  await settle(page);
  const moved = await grab(page);
  const shift = bestShift(start, moved);
  // bestShift tells how far left the picture went: a drag to the right is a negative shift.
  assert.ok(Math.abs(shift + 0.33 * moved.w) < 0.05 * moved.w, `the picture moved ${shift} px of ${moved.w}`);
  // One undo step for the whole drag.
  await page.getByTestId('undo').click();
  await settle(page);
  assert.ok(Math.abs(bestShift(start, await grab(page))) <= 2, 'undo puts the picture back');
  assert.deepEqual(errors, []);
  await page.close();
});

/** Every control that shows the selected clip's state, and the undo/redo names. */
async function controls(page) {
  return page.evaluate(() => {
    const value = (id) => document.querySelector(`[data-testid=${id}]`)?.value;
    const checked = (id) => document.querySelector(`[data-testid=${id}]`)?.checked;
    return {
      template: value('template'),
      aspect: value('aspect'),
      font: value('style-font'),
      size: value('style-size'),
      uppercase: checked('style-uppercase'),
      span: document.querySelector('[data-testid=clip-span]')?.textContent,
      clips: document.querySelectorAll('[data-testid=clip]').length,
      cutWords: [...document.querySelectorAll('[data-testid=word].cut')].map((w) => w.dataset.index).join(','),
    };
  });
}

/** The preview's pixels once it has been redrawn and has settled. */
async function previewPixels(page) {
  let last = -1;
  for (;;) {
    await page.waitForTimeout(400);
    const now = Number(await page.getByTestId('preview').getAttribute('data-draws'));
    if (now === last) break;
    last = now;
  }
  return page.getByTestId('preview').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { w: c.width, h: c.height, data: Array.from(d) };
  });
}

function meanDiff(a, b) {
  assert.equal(a.data.length, b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    sum += Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
  }
  return sum / (a.data.length / 4) / 3;
}

test('after every undo and redo each control and the preview show the project as it was', async () => {
  const { page, errors } = await openEditor({ width: 1440, height: 900 });
  await page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await waitTranscribed(page);
  assert.ok(await page.getByTestId('undo').isDisabled(), 'nothing to undo yet');
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clip').first().waitFor();
  // The playhead went to the clip: step into it so its captions show.
  const words = await page.locator('[data-testid=word].in-clip').evaluateAll((els) => els.map((e) => Number(e.dataset.index)));
  await page.locator(`[data-testid=word][data-index="${words[3]}"]`).click();

  const edits = [
    ['template boxed', async () => page.getByTestId('template').selectOption('boxed'), /Caption template/],
    ['aspect 1:1', async () => page.getByTestId('aspect').selectOption('1:1'), /Shape/],
    ['font', async () => {
      const other = await page.getByTestId('style-font').evaluate((el) => [...el.options].find((o) => o.value !== el.value).value);
      await page.getByTestId('style-font').selectOption(other);
    }, /Caption style/],
    ['uppercase', async () => page.getByTestId('style-uppercase').click(), /Caption style/],
    ['cut two words', async () => {
      await page.locator(`[data-testid=word][data-index="${words[5]}"]`).click();
      await page.locator(`[data-testid=word][data-index="${words[6]}"]`).click({ modifiers: ['Shift'] });
      await page.getByTestId('cut-words').click();
    }, /Cut in/],
    ['template none', async () => page.getByTestId('template').selectOption('none'), /Caption template/],
  ];
  // Back to the frame the captions are checked at, before every picture.
  const atFrame = async () => {
    await page.locator(`[data-testid=word][data-index="${words[3]}"]`).click();
    return previewPixels(page);
  };
  const states = [{ controls: await controls(page), pixels: await atFrame() }];
  for (const [name, edit, label] of edits) {
    await edit();
    await page.waitForTimeout(200);
    const undoName = await page.getByTestId('undo').getAttribute('title');
    assert.match(undoName, label, `${name}: the Undo button says what it undoes (${undoName})`);
    states.push({ controls: await controls(page), pixels: await atFrame() });
    assert.notDeepEqual(states.at(-1).controls, states.at(-2).controls, `${name} changed something shown`);
  }
  // Undo each edit with the button; every control shows the state before it.
  for (let i = edits.length - 1; i >= 0; i--) {
    await page.getByTestId('undo').click();
    await page.waitForTimeout(200);
    assert.deepEqual(await controls(page), states[i].controls, `after undoing ${edits[i][0]}`);
    const d = meanDiff(await atFrame(), states[i].pixels);
    assert.ok(d < 1, `the preview after undoing ${edits[i][0]} differs by ${d.toFixed(2)}`);
  }
  assert.ok(await page.getByTestId('undo').isDisabled() === false, 'adding the clip can still be undone');
  // Redo them all with the keyboard; every control follows again.
  for (let i = 0; i < edits.length; i++) {
    await page.locator('body').press('Control+Shift+Z');
    await page.waitForTimeout(200);
    assert.deepEqual(await controls(page), states[i + 1].controls, `after redoing ${edits[i][0]}`);
  }
  const d = meanDiff(await atFrame(), states.at(-1).pixels);
  assert.ok(d < 1, `the preview after redoing everything differs by ${d.toFixed(2)}`);
  assert.ok(await page.getByTestId('redo').isDisabled(), 'nothing left to redo');
  assert.deepEqual(errors, []);
  await page.close();
});

/** Presses Tab until `testId` (or, with `selector`, a matching element) has the focus. */
async function tabTo(page, match, limit = 200) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const found = await page.evaluate((m) => document.activeElement?.matches(m) ?? false, match);
    if (found) return;
  }
  throw new Error(`${match} is not reachable with Tab`);
}

test('a clip is made and exported with the keyboard alone', async () => {
  const { page, errors } = await openEditor({ width: 1440, height: 900 });
  // Open: Tab to the file input and press Space; the browser's file chooser opens. The chooser
  // is awaited before the first Tab: the browser takes the interception request asynchronously,
  // and a key pressed right after asking can reach the page first (seen on a loaded CI machine).
  const chooser = page.waitForEvent('filechooser', { timeout: 60000 });
  await tabTo(page, '[data-testid=file-input]');
  await page.keyboard.press('Space');
  await (await chooser).setFiles(fixture('speech_long.mp4'));
  await waitTranscribed(page);
  // Pick the first suggestion.
  await tabTo(page, '[data-testid=use-suggestion]');
  await page.keyboard.press('Enter');
  await page.getByTestId('clip').first().waitFor();
  // Into the transcript (one stop), along to a word inside the clip, select two, cut them.
  await tabTo(page, '[data-testid=word]');
  const first = await page.locator('[data-testid=word].in-clip').evaluateAll((els) => Number(els[4].dataset.index));
  for (let i = 0; i < first; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => Number(document.activeElement.dataset.index)), first);
  await page.keyboard.press('Shift+ArrowRight');
  const before = await page.getByTestId('clip-span').getAttribute('data-end');
  await page.keyboard.press('Delete');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=word].cut').length === 2);
  const cut = await page.locator('[data-testid=word].cut').evaluateAll((els) => els.map((e) => Number(e.dataset.index)));
  assert.deepEqual(cut, [first, first + 1]);
  assert.equal(await page.getByTestId('clip-span').getAttribute('data-end'), before, 'the clip keeps its span; the words are cut inside it');
  // Retype the next word in place: Enter opens the correction, Enter applies it.
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await page.keyboard.type('Fixed');
  await page.keyboard.press('Enter');
  await page.waitForFunction((i) => document.querySelector(`[data-testid=word][data-index="${i}"]`)?.textContent === 'Fixed', first + 2);
  // Export and get the file.
  await tabTo(page, '[data-testid=export]');
  await page.keyboard.press('Enter');
  await page.getByTestId('export-done').waitFor({ timeout: 240000 });
  await tabTo(page, '[data-testid=export-download]');
  const download = page.waitForEvent('download');
  await page.keyboard.press('Enter');
  const saved = await (await download).path();
  assert.ok(fs.statSync(saved).size > 10_000, 'the exported clip was downloaded');
  assert.deepEqual(errors, []);
  await page.close();
});
