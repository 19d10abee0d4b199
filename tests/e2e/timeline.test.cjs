// End-to-end tests of the timeline: zoom (buttons and Ctrl+wheel around the pointer), the
// clip's ends dragged by mouse and by finger onto word boundaries or stepped with the arrow
// keys (one undo step each), and the clean-up's proposed cuts drawn on the waveform. Real
// model, real browser (scripts/test.sh).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { relayAndBrowser } = require('./harness.cjs');
const { fingerDrag } = require('./pixels.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);
const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: process.env.REELSMITH_MODELS }));

async function editing(viewport) {
  const page = await suite.context.newPage();
  await page.setViewportSize(viewport);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(suite.url);
  await page.getByTestId('file-input').setInputFiles(fixture('speech_long.mp4'));
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 180000, polling: 100 },
  );
  await page.getByTestId('use-suggestion').first().click();
  await page.getByTestId('clip').first().waitFor();
  return { page, errors };
}

/** The stretch the timeline shows, in seconds. */
async function shown(page) {
  const v = await page.getByTestId('timeline-strip').evaluate((e) => [Number(e.dataset.viewStart), Number(e.dataset.viewSecs)]);
  return { start: v[0], secs: v[1] };
}

async function span(page) {
  const el = page.getByTestId('clip-span');
  return [Number(await el.getAttribute('data-start')), Number(await el.getAttribute('data-end'))];
}

async function words(page) {
  return page.getByTestId('word').evaluateAll((els) => els.map((el) => ({ start: Number(el.dataset.start), end: Number(el.dataset.end) })));
}

/** The screen x of time `t` on the strip. */
async function xOf(page, t) {
  const box = await page.getByTestId('timeline-strip').boundingBox();
  const v = await shown(page);
  return box.x + (t - v.start) / v.secs * box.width;
}

async function center(page, testId) {
  const b = await page.getByTestId(testId).boundingBox();
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

const near = (a, b, tol = 0.011) => Math.abs(a - b) <= tol;

test('the timeline zooms around the playhead and the pointer, and draws the proposed cuts', async () => {
  const { page, errors } = await editing({ width: 1440, height: 900 });
  const duration = (await shown(page)).secs;
  assert.ok(duration > 40, `the whole video is shown: ${duration}`);
  await page.getByTestId('zoom-in').click();
  await page.getByTestId('zoom-in').click();
  let v = await shown(page);
  assert.ok(near(v.secs, duration / 4, 0.01), `two zooms show a quarter: ${v.secs}`);
  const playhead = Number(await page.getByTestId('seek').inputValue()) / 1e6;
  assert.ok(playhead >= v.start && playhead <= v.start + v.secs, 'the playhead stays in view');
  assert.ok(await page.getByTestId('playhead').isVisible());
  // Ctrl+wheel zooms in around the pointer: the time under it stays under it.
  const box = await page.getByTestId('timeline-strip').boundingBox();
  const x = box.x + box.width * 0.6;
  const under = v.start + 0.6 * v.secs;
  await page.mouse.move(x, box.y + box.height * 0.7);
  await page.keyboard.down('Control');
  await page.mouse.wheel(0, -300);
  await page.keyboard.up('Control');
  await page.waitForFunction((s) => Number(document.querySelector('[data-testid=timeline-strip]').dataset.viewSecs) < s - 0.1, v.secs);
  v = await shown(page);
  assert.ok(near(v.start + 0.6 * v.secs, under, 0.05), `${under} s moved to ${v.start + 0.6 * v.secs}`);
  // A wheel without Ctrl scrolls through time.
  await page.mouse.wheel(0, 200);
  await page.waitForFunction((s) => Number(document.querySelector('[data-testid=timeline-strip]').dataset.viewStart) > s + 0.1, v.start);
  await page.getByTestId('zoom-fit').click();
  assert.ok(near((await shown(page)).secs, duration), 'Fit shows the whole video');
  assert.ok(await page.getByTestId('zoom-fit').isDisabled());

  // The clean-up's proposed cuts are drawn on the waveform (amber) before they apply.
  const amber = () => page.getByTestId('waveform').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    // Amber over the clip's blue band: about (220, 191, 132).
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] > 100 && d[i] > 200 && d[i + 1] > 170 && d[i + 1] < 215 && d[i + 2] > 90 && d[i + 2] < 150) n++;
    }
    return n;
  });
  const before = await amber();
  await page.getByTestId('clean-up').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=clean-up-preview]'));
  let proposed = before;
  for (let i = 0; i < 30 && proposed <= before + 200; i++) {
    await page.waitForTimeout(100);
    proposed = await amber();
  }
  assert.ok(proposed > before + 200, `amber pixels ${before} → ${proposed}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the clip's ends are stepped word by word and dragged onto word boundaries, one undo step each", async () => {
  const { page, errors } = await editing({ width: 1440, height: 900 });
  const [start, end] = await span(page);
  // Word times on the page are rounded to 10 ms.
  const ends = (await words(page)).map((w) => w.end).sort((a, b) => a - b);
  const endIs = (t) => page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=clip-span]').dataset.end) - t) < 0.006, t);
  // Keys: ← moves the out point to the previous word's end, → back; the picture follows.
  await page.getByTestId('edge-out').focus();
  await page.keyboard.press('ArrowLeft');
  const previous = ends.filter((e) => e < end - 0.006).pop();
  await endIs(previous);
  await page.keyboard.press('ArrowRight');
  await endIs(end);
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=preview]').dataset.framePts) / 1e6 - t) < 0.11, end);
  assert.equal(await page.getByTestId('edge-out').getAttribute('role'), 'slider');

  // Cut two words near the end, then drag the out point back over them and return it in
  // one drag: the clip is as it was, cut included.
  const inClip = await page.locator('[data-testid=word].in-clip').evaluateAll((els) => els.map((e) => ({
    index: Number(e.dataset.index), start: Number(e.dataset.start) })));
  const [a, b] = inClip.slice(-4, -2);
  await page.locator(`[data-testid=word][data-index="${a.index}"]`).click();
  await page.locator(`[data-testid=word][data-index="${b.index}"]`).click({ modifiers: ['Shift'] });
  await page.getByTestId('cut-words').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=word].cut').length === 2);
  const grip = await center(page, 'edge-out');
  await page.mouse.move(grip.x, grip.y);
  await page.mouse.down();
  await page.mouse.move((await xOf(page, a.start - 0.5)) + (grip.x - await xOf(page, end)), grip.y, { steps: 6 });
  await page.mouse.move(grip.x, grip.y, { steps: 6 });
  await page.mouse.up();
  await endIs(end);
  assert.equal(await page.locator('[data-testid=word].cut').count(), 2, 'the cut passed over is kept');

  // Zoomed in (around the playhead, now at the out point), drag the out point to just past
  // the end of a word two seconds earlier: it lands on that word's end.
  await page.getByTestId('zoom-in').click();
  await page.getByTestId('zoom-in').click();
  const earlier = ends.filter((e) => e < end - 2);
  const target = earlier[earlier.length - 1];
  const from = await center(page, 'edge-out');
  const to = (await xOf(page, target)) + 2;
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to) / 2, from.y, { steps: 4 });
  await page.mouse.move(to, from.y, { steps: 4 });
  await page.mouse.up();
  await endIs(target);
  assert.equal((await span(page))[0], start, 'the in point stays');
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=preview]').dataset.framePts) / 1e6 - t) < 0.11, target);
  // One undo takes the whole drag back.
  await page.getByTestId('undo').click();
  await endIs(end);
  assert.deepEqual(errors, []);
  await page.close();
});

test("on a phone the clip's start is dragged by a finger onto a word's start", async () => {
  const { page, errors } = await editing({ width: 390, height: 844 });
  const [start, end] = await span(page);
  const starts = (await words(page)).map((w) => w.start).sort((a, b) => a - b);
  await page.getByTestId('timeline-strip').scrollIntoViewIfNeeded();
  // Zoom in so words are a finger apart.
  for (let i = 0; i < 3; i++) await page.getByTestId('zoom-in').click();
  const target = starts.find((s) => s > start + 1.5 && s < end - 1);
  const from = await center(page, 'edge-in');
  // The edge keeps its distance from where the finger took it.
  const to = from.x + (await xOf(page, target)) - (await xOf(page, start)) - 1;
  await fingerDrag(page, from.y, Array.from({ length: 9 }, (_, k) => from.x + (to - from.x) * k / 8));
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=clip-span]').dataset.start) - t) < 0.006, target);
  assert.equal((await span(page))[1], end, 'the out point stays');
  const handle = await page.getByTestId('edge-in').boundingBox();
  assert.ok(handle.width >= 44, `the handle is ${handle.width} px wide to a finger`);
  assert.deepEqual(errors, []);
  await page.close();
});
