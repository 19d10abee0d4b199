// End-to-end tests of the built editor (dist/) served by the relay, in headless Debian Chromium
// driven by playwright-core. Run by scripts/test.sh, which builds everything first and sets
// RELAY_BIN, REELSMITH_DIST and FIXTURES.
const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { relayAndBrowser, scratchDir } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);

// These tests are about opening and playing; transcription has its own file. With no models
// to serve, each opened video's transcription stops at once with "not available".
const suite = relayAndBrowser(() => ({
  REELSMITH_MODELS: scratchDir('reelsmith-no-models-'),
}));

/** The editor page, as a person uses it. */
class Editor {
  static async open() {
    const page = await suite.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(suite.url);
    await page.getByTestId('file-input').waitFor({ state: 'attached' });
    return new Editor(page, errors);
  }

  constructor(page, errors) {
    this.page = page;
    this.errors = errors;
  }

  async pick(name) {
    await this.page.getByTestId('file-input').setInputFiles(fixture(name));
  }

  async waitForFrame(pts) {
    const canvas = this.page.getByTestId('preview');
    await this.page.waitForFunction(
      ([el, want]) => el.dataset.framePts !== undefined && (want === null || el.dataset.framePts === String(want)),
      [await canvas.elementHandle(), pts],
      { timeout: 15000 },
    );
    return Number(await canvas.getAttribute('data-frame-pts'));
  }

  async seek(micros) {
    await this.page.getByTestId('seek').evaluate((el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, micros);
  }

  text(id) {
    return this.page.getByTestId(id).innerText();
  }

  /** The frame index drawn as a bar code in the top band, and the mean brightness below it. */
  async pixels() {
    return this.page.getByTestId('preview').evaluate((c) => {
      const ctx = c.getContext('2d');
      let index = 0;
      for (let bit = 0; bit < 8; bit++) {
        const x = Math.floor(((2 * bit + 1) * c.width) / 16);
        const px = ctx.getImageData(x, Math.floor(c.height / 16), 1, 1).data;
        if (px[0] > 128) index |= 1 << bit;
      }
      const body = ctx.getImageData(0, Math.floor(c.height / 4), c.width, Math.floor(c.height / 2)).data;
      let sum = 0;
      for (let i = 0; i < body.length; i += 4) sum += body[i] + body[i + 1] + body[i + 2];
      return { index, brightness: sum / (body.length / 4) / 3, width: c.width, height: c.height };
    });
  }

  async close() {
    assert.deepEqual(this.errors, [], 'no uncaught page errors');
    await this.page.close();
  }
}

/** ffprobe's reading of a fixture (written by tests/fixtures/make.sh). */
function probe(name) {
  const json = JSON.parse(fs.readFileSync(fixture(`${name}.probe.json`), 'utf8'));
  const video = json.streams.find((s) => s.codec_type === 'video');
  const audio = json.streams.find((s) => s.codec_type === 'audio');
  const [n, d] = video.r_frame_rate.split('/').map(Number);
  const pts = fs.readFileSync(fixture(`${name}.vpackets.csv`), 'utf8').trim().split('\n')
    .map((l) => Math.round(Number(l.split(',')[0]) * 1e6)).sort((a, b) => a - b);
  return { json, video, audio, fps: n / d, pts, duration: Number(json.format.duration) };
}

/** The frame a player must show at `micros`: the last one that starts at or before it. */
function expectedFrame(p, micros) {
  const before = p.pts.filter((t) => t <= micros);
  const pts = before.length ? before[before.length - 1] : p.pts[0];
  return { pts, index: Math.round(((pts - p.pts[0]) * p.fps) / 1e6) };
}

const CODEC_LABEL = { h264: 'H.264', vp9: 'VP9', aac: 'AAC', opus: 'Opus' };

describe('opening each fixture shows its metadata and its first frame', () => {
  for (const [name, container] of [
    ['h264_aac_16x9.mp4', 'MP4'],
    ['h264_aac_9x16.mp4', 'MP4'],
    ['h264_aac.mov', 'QuickTime (MOV)'],
    ['vp9_opus.webm', 'WebM'],
  ]) {
    test(name, async () => {
      const p = probe(name);
      const editor = await Editor.open();
      await editor.pick(name);
      await editor.waitForFrame(p.pts[0]);
      assert.equal(await editor.text('container'), container);
      assert.equal(await editor.text('resolution'), `${p.video.width}×${p.video.height}`);
      const duration = parseFloat(await editor.text('duration'));
      assert.ok(Math.abs(duration - p.duration) < 0.03, `duration ${duration} vs ffprobe ${p.duration}`);
      assert.equal(await editor.text('fps'), `${p.fps.toFixed(2)} fps`);
      assert.ok((await editor.text('video-codec')).startsWith(CODEC_LABEL[p.video.codec_name]));
      const audio = await editor.text('audio-codec');
      assert.ok(audio.startsWith(CODEC_LABEL[p.audio.codec_name]), audio);
      assert.ok(audio.includes(`${p.audio.sample_rate} Hz`), audio);
      const px = await editor.pixels();
      assert.equal(px.width, p.video.width);
      assert.equal(px.height, p.video.height);
      assert.equal(px.index, 0, 'frame 0 is shown');
      assert.ok(px.brightness > 60, `canvas is not blank (mean ${px.brightness})`);
      await editor.close();
    });
  }
});

describe('scrubbing shows the frame at the requested time', () => {
  for (const name of ['h264_aac_9x16.mp4', 'vp9_opus.webm', 'vp9_live.webm', 'h264_aac.mov']) {
    test(name, async () => {
      const p = probe(name);
      const editor = await Editor.open();
      await editor.pick(name);
      await editor.waitForFrame(p.pts[0]);
      // Times between keyframes, on a B-frame, and back before the previous position.
      for (const micros of [1_250_000, 530_000, 1_900_000, 100_000]) {
        const want = expectedFrame(p, micros);
        await editor.seek(micros);
        await editor.waitForFrame(want.pts);
        const px = await editor.pixels();
        assert.equal(px.index, want.index, `at ${micros} µs`);
      }
      // Frame steps move exactly one frame.
      await editor.page.getByTestId('step-forward').click();
      const next = expectedFrame(p, expectedFrame(p, 100_000).pts + Math.round(1e6 / p.fps));
      await editor.waitForFrame(next.pts);
      assert.equal((await editor.pixels()).index, next.index);
      await editor.close();
    });
  }
});

test('play advances through frames and stops at the end', async () => {
  const name = 'h264_aac_16x9.mp4';
  const p = probe(name);
  const editor = await Editor.open();
  await editor.pick(name);
  await editor.waitForFrame(p.pts[0]);
  await editor.seek(1_000_000);
  await editor.waitForFrame(expectedFrame(p, 1_000_000).pts);
  const play = editor.page.getByTestId('play');
  await play.click();
  await editor.page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Pause');
  // Playing to the end flips the button back by itself.
  await editor.page.waitForFunction(
    () => document.querySelector('[data-testid=play]').innerText === 'Play',
    null,
    { timeout: 15000 },
  );
  const last = p.pts[p.pts.length - 1];
  assert.equal(await editor.waitForFrame(null), last, 'the last frame is on screen');
  assert.equal((await editor.pixels()).index, expectedFrame(p, last).index);
  // Play again from the end restarts from the start; pause holds the frame shown.
  await play.click();
  await editor.page.waitForTimeout(300);
  await play.click();
  const held = await editor.waitForFrame(null);
  assert.ok(held < last, `paused at ${held}`);
  assert.equal((await editor.pixels()).index, expectedFrame(p, held).index);
  await editor.close();
});

/** Records, from now on, every frame the preview presents (its pts in µs; a frame drawn
 * again, as when playback starts on the frame shown, once). */
async function recordFrames(page) {
  await page.evaluate(() => {
    window.presented = [];
    const canvas = document.querySelector('[data-testid=preview]');
    new MutationObserver(() => {
      const pts = Number(canvas.dataset.framePts);
      if (window.presented.at(-1) !== pts) window.presented.push(pts);
    }).observe(canvas, { attributes: true, attributeFilter: ['data-draws'] });
  });
}

/** The largest step between successive presented frames, and where it was. */
function largestGap(presented) {
  let gap = { micros: 0, at: presented[0] };
  for (let i = 1; i < presented.length; i++) {
    assert.ok(presented[i] > presented[i - 1], `frames go forward: ${presented[i - 1]} then ${presented[i]}`);
    if (presented[i] - presented[i - 1] > gap.micros) gap = { micros: presented[i] - presented[i - 1], at: presented[i - 1] };
  }
  return gap;
}

test('playback runs across every keyframe of a long-GOP 1080p file without stalling', async () => {
  const name = 'long_gop_1080p.mp4';
  const p = probe(name);
  const keyframes = fs.readFileSync(fixture(`${name}.vpackets.csv`), 'utf8').trim().split('\n')
    .filter((l) => l.includes(',K')).map((l) => Math.round(Number(l.split(',')[0]) * 1e6));
  assert.ok(keyframes.length >= 4, 'the fixture has several GOPs');
  const editor = await Editor.open();
  await editor.pick(name);
  await editor.waitForFrame(p.pts[0]);
  await recordFrames(editor.page);
  const play = editor.page.getByTestId('play');
  await play.click();
  await editor.page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Pause');
  // Pictures hold the clock rather than being dropped, so a busy machine plays slower than
  // real time: the limit only tells a stall from slowness; gaps are checked below.
  await editor.page.waitForFunction(
    () => document.querySelector('[data-testid=play]').innerText === 'Play',
    null,
    { timeout: 180000 },
  );
  const presented = await editor.page.evaluate(() => window.presented);
  const last = p.pts[p.pts.length - 1];
  assert.equal(presented[presented.length - 1], last, 'played to the last frame');
  const gap = largestGap(presented);
  assert.ok(gap.micros <= 100_000, `a gap of ${gap.micros / 1000} ms after ${gap.at / 1e6} s`);
  for (const key of keyframes.slice(1)) {
    assert.ok(presented.some((t) => t >= key - 100_000 && t < key), `frames just before the keyframe at ${key / 1e6} s`);
    assert.ok(presented.some((t) => t >= key && t <= key + 100_000), `frames just after the keyframe at ${key / 1e6} s`);
  }
  // The bar code of the frame left on screen is the last frame's.
  assert.equal((await editor.pixels()).index, expectedFrame(p, last).index % 256);
  await editor.close();
});

test('"Play clip" on a long-GOP file runs from the in point across keyframes to the out point', async () => {
  const name = 'long_gop_1080p.mp4';
  const p = probe(name);
  const editor = await Editor.open();
  await editor.pick(name);
  await editor.waitForFrame(p.pts[0]);
  // A new clip starts at the playhead and lasts 15 s: 4 s – 19 s spans two keyframes.
  await editor.seek(4_000_000);
  await editor.waitForFrame(expectedFrame(p, 4_000_000).pts);
  await editor.page.getByTestId('new-clip').click();
  await editor.page.getByTestId('play-clip').waitFor();
  await editor.page.waitForTimeout(500); // the redraw after the edit
  await recordFrames(editor.page);
  await editor.page.getByTestId('play-clip').click();
  await editor.page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Pause');
  await editor.page.waitForFunction(
    () => document.querySelector('[data-testid=play]').innerText === 'Play',
    null,
    { timeout: 180000 },
  );
  const presented = await editor.page.evaluate(() => window.presented);
  const frame = 1e6 / p.fps;
  assert.ok(Math.abs(presented[0] - 4_000_000) <= frame, `first frame ${presented[0]}`);
  const reached = presented[presented.length - 1];
  assert.ok(reached < 19_000_000 && reached >= 19_000_000 - 3 * frame, `last frame ${reached} for out point 19 s`);
  const gap = largestGap(presented);
  assert.ok(gap.micros <= 100_000, `a gap of ${gap.micros / 1000} ms after ${gap.at / 1e6} s`);
  // Stopped on the last frame played, not back at the in point.
  await editor.page.waitForTimeout(300);
  assert.equal(await editor.waitForFrame(null), reached, 'the picture stays where the clip ended');
  await editor.close();
});

describe('bad input gets a clear message and the editor stays usable', () => {
  for (const [name, message] of [
    ['not_a_video.mp4', /not a video/],
    ['text.webm', /not a video/],
    ['truncated_no_index.mp4', /incomplete/],
    ['hevc.mp4', /HEVC/],
    ['audio_only.mp4', /no video track/],
  ]) {
    test(name, async () => {
      const editor = await Editor.open();
      await editor.pick(name);
      const alert = editor.page.getByRole('alert');
      await alert.waitFor();
      const text = await alert.innerText();
      assert.match(text, message);
      assert.ok(text.includes(name), 'the message names the file');
      // Another file opens normally afterwards.
      await editor.pick('h264_aac_16x9.mp4');
      await editor.waitForFrame(0);
      assert.equal(await editor.page.getByRole('alert').count(), 0, 'the old error is gone');
      await editor.close();
    });
  }

  test('a file that is not a video, picked while editing, leaves the video and the project as they were', async () => {
    const editor = await Editor.open();
    const { page } = editor;
    await editor.pick('h264_aac_16x9.mp4');
    await editor.waitForFrame(0);
    await editor.seek(1_000_000);
    const shown = await editor.waitForFrame(expectedFrame(probe('h264_aac_16x9.mp4'), 1_000_000).pts);
    await page.getByTestId('new-clip').click();
    await page.getByTestId('clip').first().waitFor();
    const before = await page.getByTestId('media-info').innerText();
    await editor.pick('not_a_video.mp4');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /not_a_video\.mp4.*not a video.*unchanged/s);
    assert.equal(await page.getByTestId('media-info').innerText(), before, 'the details are the open video\'s');
    assert.equal(await page.getByTestId('clip').count(), 1, 'the clip is still there');
    assert.equal(Number(await page.getByTestId('preview').getAttribute('data-frame-pts')), shown, 'the picture is unchanged');
    assert.ok(await page.getByTestId('preview').isVisible(), 'the preview is still shown');
    // The video still plays and steps.
    await page.getByTestId('step-forward').click();
    assert.ok(await editor.waitForFrame(null) >= shown);
    await editor.close();
  });

  test('a truncated file opens with a warning and plays what is there', async () => {
    const editor = await Editor.open();
    await editor.pick('truncated.mp4');
    await editor.waitForFrame(0);
    assert.match(await editor.text('warning'), /cut short/);
    assert.ok((await editor.pixels()).brightness > 60);
    await editor.close();
  });
});

test('a 2.5 GB file opens without being read whole', async () => {
  const editor = await Editor.open();
  await editor.pick('big_sparse.mp4');
  await editor.waitForFrame(0);
  assert.equal(await editor.text('resolution'), '360×640');
  await editor.close();
});

test('the editor runs cross-origin isolated and its worker answers', async () => {
  const editor = await Editor.open();
  assert.equal(await editor.text('isolation'), 'Cross-origin isolated');
  await editor.page.waitForFunction(
    () => document.querySelector('[data-testid=worker-status]').innerText.startsWith('ready'),
  );
  assert.match(await editor.text('worker-status'), /ready \(v[\d.]+, isolated\)/);
  await editor.close();
});
