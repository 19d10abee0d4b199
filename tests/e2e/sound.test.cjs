// End-to-end tests of sound during playback: the A/V sync fixtures (a white frame and a 30 ms
// beep at exactly 1.0, 2.5 and 4.0 s) played in the editor, in AAC/MP4 and Opus/WebM. What the
// editor schedules on Web Audio is recorded as it is started (the real nodes play it), mapped
// to page time through the context's own output timestamps, and compared with the moments the
// flashes were drawn. What reaches the speakers is read through an analyser tapped off the
// editor's output.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { relayAndBrowser, scratchDir } = require('./harness.cjs');

const fixture = (name) => path.join(process.env.FIXTURES, name);
const suite = relayAndBrowser(() => ({
  REELSMITH_MODELS: scratchDir('reelsmith-no-models-'),
}));

const FLASHES = [1_000_000, 2_500_000, 4_000_000];
/** Sound and picture may be this far apart (ms): about a frame at 30 fps, and timer slack. */
const SYNC_MS = 45;

/** Before the page's scripts: note every buffer the editor starts (when, which part, where a
 * beep begins in it) and the context's output timestamps every 20 ms; note each picture drawn
 * with the page time it was drawn at. */
function recorder() {
  window.sound = { starts: [], stamps: [] };
  const start = AudioBufferSourceNode.prototype.start;
  AudioBufferSourceNode.prototype.start = function (when = 0, offset = 0, duration = undefined) {
    const b = this.buffer;
    const data = b.getChannelData(0);
    const from = Math.round(offset * b.sampleRate);
    const to = duration === undefined ? data.length : Math.min(data.length, Math.round((offset + duration) * b.sampleRate));
    let onset = null;
    for (let i = from; i < to; i++) {
      if (Math.abs(data[i]) > 0.2) { onset = when + (i - from) / b.sampleRate; break; }
    }
    window.sound.starts.push({ when, end: when + (to - from) / b.sampleRate, onset });
    if (!window.sound.ctx) {
      const ctx = this.context;
      window.sound.ctx = ctx;
      setInterval(() => {
        const t = ctx.getOutputTimestamp();
        if (t.performanceTime > 0) window.sound.stamps.push([t.contextTime, t.performanceTime]);
      }, 20);
    }
    return start.call(this, when, offset, duration);
  };
  // Whatever the editor sends to the speakers also goes to a tap the test can read.
  const connect = AudioNode.prototype.connect;
  AudioNode.prototype.connect = function (target, ...rest) {
    if (target instanceof AudioDestinationNode && !window.sound.tap) {
      window.sound.tap = this.context.createAnalyser();
      window.sound.tap.fftSize = 4096;
      connect.call(this, window.sound.tap);
    }
    return connect.call(this, target, ...rest);
  };
  window.drawn = [];
  document.addEventListener('DOMContentLoaded', () => {
    const watch = () => {
      const canvas = document.querySelector('[data-testid=preview]');
      if (!canvas) return setTimeout(watch, 50);
      new MutationObserver(() => window.drawn.push([performance.now(), Number(canvas.dataset.framePts)]))
        .observe(canvas, { attributes: true, attributeFilter: ['data-draws'] });
    };
    watch();
  });
}

async function open(name) {
  const page = await suite.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(recorder);
  await page.goto(suite.url);
  await page.getByTestId('file-input').setInputFiles(fixture(name));
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.framePts !== undefined,
    null, { timeout: 30000 });
  return { page, errors };
}

async function playToEnd(page, button = 'play') {
  await page.evaluate(() => { window.drawn.length = 0; window.sound.starts.length = 0; });
  await page.getByTestId(button).click();
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Pause');
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Play',
    null, { timeout: 30000 });
  await page.waitForTimeout(300); // the last stamps
  return page.evaluate(() => ({ starts: window.sound.starts, stamps: window.sound.stamps, drawn: window.drawn }));
}

/** The page time (ms) at which context time `secs` leaves the speakers, from the nearest stamp. */
function pageTime(stamps, secs) {
  let best = stamps[0];
  for (const s of stamps) if (Math.abs(s[0] - secs) < Math.abs(best[0] - secs)) best = s;
  return best[1] + (secs - best[0]) * 1000;
}

/** Beeps heard, as page times, merged when a beep spans two buffers. */
function beeps(recorded) {
  const onsets = recorded.starts.filter((s) => s.onset !== null).map((s) => s.onset).sort((a, b) => a - b);
  const heard = [];
  for (const t of onsets) if (!heard.length || t - heard.at(-1) > 0.2) heard.push(t);
  return heard.map((t) => pageTime(recorded.stamps, t));
}

/** When each flash was drawn (its frame: the one nearest the flash's time; WebM's video
 * starts 7 ms in). */
function flashes(recorded, from) {
  return FLASHES.filter((f) => f >= from).map((f) => {
    const shown = recorded.drawn.find((d) => Math.abs(d[1] - f) < 10_000);
    assert.ok(shown, `the flash at ${f / 1e6} s was drawn`);
    return shown[0];
  });
}

/** The scheduled buffers follow one another with no gap and no overlap. */
function assertContinuous(starts) {
  const sorted = [...starts].sort((a, b) => a.when - b.when);
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i].when - sorted[i - 1].end;
    assert.ok(Math.abs(gap) < 0.001, `sound gap of ${(gap * 1000).toFixed(2)} ms at ${sorted[i].when.toFixed(3)} s`);
  }
}

for (const name of ['av_sync.mp4', 'av_sync.webm']) {
  test(`${name}: playback has sound, and each beep is heard with its flash`, async () => {
    const { page, errors } = await open(name);
    const recorded = await playToEnd(page);
    assert.ok(recorded.starts.length > 10, `${recorded.starts.length} buffers of sound played`);
    assertContinuous(recorded.starts);
    const heard = beeps(recorded);
    const seen = flashes(recorded, 0);
    assert.equal(heard.length, 3, `three beeps heard: ${JSON.stringify(heard)}`);
    for (let i = 0; i < 3; i++) {
      const apart = heard[i] - seen[i];
      assert.ok(Math.abs(apart) <= SYNC_MS, `beep ${i + 1} heard ${apart.toFixed(1)} ms after its flash was drawn`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('playing from the middle plays the sound from there, in sync', async () => {
  const { page } = await open('av_sync.mp4');
  await page.getByTestId('seek').evaluate((el) => {
    el.value = '2000000';
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]').dataset.framePts === '2000000');
  const recorded = await playToEnd(page);
  const first = Math.min(...recorded.starts.map((s) => s.when));
  const heard = beeps(recorded);
  assert.equal(heard.length, 2, 'the beeps at 2.5 and 4.0 s, not the one at 1.0 s');
  const seen = flashes(recorded, 2_000_000);
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(heard[i] - seen[i]) <= SYNC_MS, `beep ${i + 2} in sync`);
  // The first sound is 0.5 s before the first beep.
  const beepCtx = recorded.starts.filter((s) => s.onset !== null).map((s) => s.onset).sort((a, b) => a - b)[0];
  assert.ok(Math.abs(beepCtx - first - 0.5) < 0.01, `sound starts ${(beepCtx - first).toFixed(3)} s before the beep`);

  await page.close();
});

/** The loudest sample reaching the speakers over about 150 ms. */
async function level(page) {
  return page.evaluate(async () => {
    const tap = window.sound.tap;
    const data = new Float32Array(tap.fftSize);
    let peak = 0;
    for (let i = 0; i < 5; i++) {
      tap.getFloatTimeDomainData(data);
      for (const v of data) peak = Math.max(peak, Math.abs(v));
      await new Promise((r) => setTimeout(r, 30));
    }
    return peak;
  });
}

test('mute silences the sound at once and unmute brings it back; a pause silences what was scheduled ahead', async () => {
  // 26 s of a steady 440 Hz tone (peak 0.125) under the picture.
  const { page, errors } = await open('long_gop_1080p.mp4');
  await page.getByTestId('play').click();
  await page.waitForFunction(() => window.drawn.some((d) => d[1] >= 1_000_000), null, { timeout: 15000 });
  assert.ok(await level(page) > 0.05, 'the tone is heard while playing');
  const mute = page.getByTestId('mute');
  await mute.click();
  assert.equal(await mute.getAttribute('aria-pressed'), 'true');
  await page.waitForTimeout(200); // the tap's window (93 ms) and the output's latency
  assert.ok(await level(page) < 0.005, 'muted');
  await page.keyboard.press('m'); // the key works with the button focused
  assert.equal(await mute.getAttribute('aria-pressed'), 'false');
  await page.waitForTimeout(200);
  assert.ok(await level(page) > 0.05, 'unmuted with M');
  await page.getByTestId('play').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Play');
  const ahead = await page.evaluate(() => {
    const now = window.sound.ctx.currentTime;
    return window.sound.starts.filter((s) => s.end > now + 0.5).length;
  });
  assert.ok(ahead > 0, 'sound was scheduled well beyond the pause');
  await page.waitForTimeout(200);
  assert.ok(await level(page) < 0.005, 'silent after the pause');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a pause right after Play (while the sound is being set up) leaves nothing playing', async () => {
  const { page, errors } = await open('long_gop_1080p.mp4');
  for (const gap of [0, 5, 20]) {
    await page.evaluate((ms) => new Promise((resolve) => {
      window.drawn.length = 0;
      const play = document.querySelector('[data-testid=play]');
      play.click();
      setTimeout(() => { play.click(); resolve(); }, ms);
    }), gap);
    await page.waitForTimeout(700);
    assert.equal(await page.getByTestId('play').innerText(), 'Play', `paused (${gap} ms)`);
    assert.ok(await level(page) < 0.005, `silent after a pause ${gap} ms after Play`);
    const drawn = await page.evaluate(() => window.drawn.length);
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => window.drawn.length), drawn, `the picture stands still (${gap} ms)`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});
