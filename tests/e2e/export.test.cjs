// End-to-end tests of export: a captioned 9:16 clip from the 16:9 speech fixture checked with
// ffprobe and ffmpeg (codec, size, frames, duration, colour tags, sound, fast start, a clean
// full decode, the caption burned in where the preview draws it), sound and picture in sync
// (a beep on a flash, MP4 with copied AAC and WebM with Opus), cancel and export again.
// Real model, real browser, real files (scripts/test.sh).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { relayAndBrowser, scratchDir } = require('./harness.cjs');

const FIXTURES = process.env.FIXTURES;
const fixture = (name) => path.join(FIXTURES, name);
const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: process.env.REELSMITH_MODELS }));
const scratch = scratchDir('reelsmith-export-');

const openEditor = () => suite.openEditor();

async function transcribed(page, name) {
  await page.getByTestId('file-input').setInputFiles(fixture(name));
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 180000, polling: 100 },
  );
}

async function opened(page, name) {
  await page.getByTestId('file-input').setInputFiles(fixture(name));
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.framePts !== undefined);
}

async function seek(page, secs) {
  await page.getByTestId('seek').evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, Math.round(secs * 1e6));
  await page.waitForFunction((t) => Math.abs(Number(document.querySelector('[data-testid=preview]').dataset.framePts) / 1e6 - t) < 0.05, secs);
}

/** The selected clip's exact in and out points (seconds). */
async function clipSpan(page) {
  const span = page.getByTestId('clip-span');
  return [Number(await span.getAttribute('data-start')), Number(await span.getAttribute('data-end'))];
}

/** Clicks a download link; resolves to the saved file's path and suggested name. */
async function download(page, testId) {
  const pending = page.waitForEvent('download');
  await page.getByTestId(testId).click();
  const file = await pending;
  const saved = path.join(scratch, `${Date.now()}-${file.suggestedFilename()}`);
  await file.saveAs(saved);
  return { saved, name: file.suggestedFilename() };
}

/** Exports the selected clip, saves the download; returns its path and the panel's numbers. */
async function exportClip(page, name) {
  await page.getByTestId('export').click();
  await page.getByTestId('export-progress').waitFor();
  await page.getByTestId('export-done').waitFor({ timeout: 240000 });
  const frames = Number(await page.getByTestId('export-done').getAttribute('data-frames'));
  const { saved, name: suggested } = await download(page, 'export-download');
  assert.equal(suggested, name);
  return { file: saved, frames };
}

function probe(file) {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', file]));
}

function decodesCleanly(file) {
  const out = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return out.toString();
}

/** The frame shown at `t` as RGB bytes (w×h). */
function frameAt(file, t, w, h) {
  return execFileSync('ffmpeg', ['-v', 'error', '-ss', String(t), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 64 * 1024 * 1024 });
}

/** Mean absolute difference of two RGB frames over rows [y0, y1). */
function diffRows(a, b, w, y0, y1) {
  let sum = 0;
  for (let i = Math.floor(y0) * w * 3; i < Math.floor(y1) * w * 3; i++) sum += Math.abs(a[i] - b[i]);
  return sum / ((Math.floor(y1) - Math.floor(y0)) * w * 3);
}

/** Times of the white flashes (frames whose mean luma > 100) and of the beep onsets. */
function flashesAndBeeps(file) {
  const gray = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', 'scale=16:16,format=gray', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 26 });
  const times = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'json', file]))
    .frames.map((f) => Number(f.pts_time));
  const flashes = [];
  for (let k = 0; k * 256 < gray.length; k++) {
    let sum = 0;
    for (let i = 0; i < 256; i++) sum += gray[k * 256 + i];
    if (sum / 256 > 100) flashes.push(times[k]);
  }
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-ac', '1', '-ar', '48000', '-f', 'f32le', '-'], { maxBuffer: 1 << 26 });
  const samples = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.length / 4);
  const beeps = [];
  let last = -1e9;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]) > 0.2) {
      if (i - last > 4800) beeps.push(i / 48000);
      last = i;
    }
  }
  return { flashes, beeps, first: times[0] };
}

test('a captioned 9:16 clip from the 16:9 speech video exports to a clean MP4 with its captions burned in', async () => {
  const { page, errors } = await openEditor();
  await transcribed(page, 'speech.mp4');
  await page.getByTestId('new-clip').click();
  await page.getByTestId('clip').first().waitFor();
  const [start, end] = await clipSpan(page);
  assert.equal(start, 0);
  const reason = page.getByTestId('export-reason');
  assert.equal(await reason.getAttribute('data-format'), 'mp4');
  assert.match(await reason.textContent(), /MP4 \(H\.264 \+ AAC\).*cannot encode AAC/);

  const captioned = await exportClip(page, 'Clip 1.mp4');
  const fps = 25;
  const expectedFrames = Math.ceil((end - start) * fps - 1e-6);
  assert.equal(captioned.frames, expectedFrames);
  const info = probe(captioned.file);
  const v = info.streams.find((s) => s.codec_type === 'video');
  const a = info.streams.find((s) => s.codec_type === 'audio');
  assert.equal(v.codec_name, 'h264');
  assert.deepEqual([v.width, v.height], [1080, 1920]);
  assert.equal(Number(v.nb_read_frames), expectedFrames);
  assert.ok(Math.abs(Number(info.format.duration) - (end - start)) <= 1 / fps + 0.006,
    `duration ${info.format.duration} for a ${end - start} s clip`);
  assert.deepEqual([v.color_space, v.color_primaries, v.color_transfer, v.color_range], ['bt709', 'bt709', 'bt709', 'tv']);
  assert.ok(a, 'the clip has sound');
  assert.equal(a.codec_name, 'aac');
  assert.equal(decodesCleanly(captioned.file), '');
  // Fast start: the index comes before the media data.
  const head = fs.readFileSync(captioned.file).subarray(0, 1 << 20).toString('latin1');
  assert.ok(head.indexOf('moov') >= 0 && head.indexOf('moov') < head.indexOf('mdat'), 'moov before mdat');

  // Subtitles beside it, in the clip's time line.
  const srt = await download(page, 'export-srt');
  assert.equal(srt.name, 'Clip 1.srt');
  assert.match(fs.readFileSync(srt.saved, 'utf8'), /^1\n00:00:0\d,\d{3} --> 00:00:0\d,\d{3}\n\S/);
  const vtt = await download(page, 'export-vtt');
  assert.equal(vtt.name, 'Clip 1.vtt');
  assert.match(fs.readFileSync(vtt.saved, 'utf8'), /^WEBVTT\n\n/);

  // The same clip without captions: the caption band differs, the rest does not.
  const words = await page.getByTestId('word').evaluateAll((els) => els.map((el) => Number(el.dataset.start)));
  const at = words[2] + 0.1;
  await page.getByTestId('template').selectOption('none');
  const plain = await exportClip(page, 'Clip 1.mp4');
  const [w, h] = [1080, 1920];
  const withCaption = frameAt(captioned.file, at, w, h);
  const without = frameAt(plain.file, at, w, h);
  const band = diffRows(withCaption, without, w, h * 0.62, h * 0.82);
  const above = diffRows(withCaption, without, w, h * 0.2, h * 0.5);
  assert.ok(band > 8, `caption band differs by ${band}`);
  assert.ok(above < 2, `outside the captions the picture differs by ${above}`);
  let yellow = 0;
  for (let y = Math.floor(h * 0.62); y < h * 0.82; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      if (withCaption[i] > 200 && withCaption[i + 1] > 170 && withCaption[i + 2] < 90) yellow++;
    }
  }
  assert.ok(yellow > 100, `${yellow} highlight pixels in the caption band`);
  assert.deepEqual(errors, []);
  await page.close();
});

for (const [name, format, audioCodec] of [['av_sync.mp4', 'mp4', 'aac'], ['av_sync.webm', 'webm', 'opus']]) {
  test(`sound and picture stay in sync in an exported ${format.toUpperCase()} (${name})`, async () => {
    const { page, errors } = await openEditor();
    await opened(page, name);
    await seek(page, 0.5);
    await page.getByTestId('new-clip').click();
    await page.getByTestId('clip').first().waitFor();
    const [start, end] = await clipSpan(page);
    assert.equal(start, 0.5);
    assert.equal(await page.getByTestId('export-reason').getAttribute('data-format'), format);
    if (format === 'webm') assert.match(await page.getByTestId('export-reason').textContent(), /sound is Opus/);
    const { file } = await exportClip(page, `Clip 1.${format}`);
    const info = probe(file);
    const v = info.streams.find((s) => s.codec_type === 'video');
    const a = info.streams.find((s) => s.codec_type === 'audio');
    assert.equal(v.codec_name, format === 'mp4' ? 'h264' : 'vp9');
    assert.equal(a.codec_name, audioCodec);
    assert.equal(Number(v.nb_read_frames), Math.ceil((end - start) * 30 - 1e-6));
    assert.equal(decodesCleanly(file), '');
    const { flashes, beeps, first } = flashesAndBeeps(file);
    assert.equal(first, 0);
    // Flashes at 1.0, 2.5 and 4.0 s in the source: 0.5, 2.0 and 3.5 s in the clip.
    assert.equal(flashes.length, 3, `flashes at ${flashes}`);
    assert.equal(beeps.length, 3, `beeps at ${beeps}`);
    for (let i = 0; i < 3; i++) {
      assert.ok(Math.abs(flashes[i] - [0.5, 2.0, 3.5][i]) < 0.001, `flash ${i} at ${flashes[i]}`);
      assert.ok(Math.abs(beeps[i] - flashes[i]) <= 1 / 30, `beep ${i} at ${beeps[i]}, flash at ${flashes[i]}`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('an export can be cancelled, and the next one runs to the end', async () => {
  const { page, errors } = await openEditor();
  await opened(page, 'speech_long.mp4');
  await page.getByTestId('new-clip').click();
  await page.getByTestId('export').click();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=export-progress]')?.dataset.done) > 0,
    null, { timeout: 60000 });
  await page.getByTestId('export-cancel').click();
  await page.getByTestId('export-cancelled').waitFor();
  // The worker is gone: no progress comes back.
  await page.waitForTimeout(1500);
  assert.equal(await page.getByTestId('export-progress').count(), 0);
  await page.getByTestId('export-size').selectOption('720');
  const { file, frames } = await exportClip(page, 'Clip 1.mp4');
  const v = probe(file).streams.find((s) => s.codec_type === 'video');
  assert.deepEqual([v.width, v.height], [720, 1280]);
  assert.equal(Number(v.nb_read_frames), frames);
  assert.deepEqual(errors, []);
  await page.close();
});

for (const format of ['mp4', 'webm']) {
  test(`a clip with words cut out exports to ${format.toUpperCase()} without them, its sound as long as its picture`, async () => {
    const { page, errors } = await openEditor();
    await transcribed(page, 'speech.mp4');
    await page.getByTestId('new-clip').click();
    await page.getByTestId('clip').first().waitFor();
    const [start, end] = await clipSpan(page);
    const words = await page.getByTestId('word').evaluateAll((els) => els.map((el) => ({
      index: Number(el.dataset.index), start: Number(el.dataset.start), end: Number(el.dataset.end),
    })));
    // Cut the fourth to sixth words.
    const [a, b] = [words[3], words[5]];
    await page.locator(`[data-testid=word][data-index="${a.index}"]`).click();
    await page.locator(`[data-testid=word][data-index="${b.index}"]`).click({ modifiers: ['Shift'] });
    await page.getByTestId('cut-words').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=word].cut').length === 3);
    const kept = Number((await page.getByTestId('clip').first().textContent()).match(/\(([\d.]+) s after cuts\)/)[1]);
    assert.ok(kept < end - start - 0.3, `${kept} s kept of ${end - start} s`);
    await page.getByTestId('export-format').selectOption(format);
    const { file, frames } = await exportClip(page, `Clip 1.${format}`);
    const fps = 25;
    assert.ok(Math.abs(frames - kept * fps) <= 1.5, `${frames} frames for ${kept} s`);
    const info = probe(file);
    const v = info.streams.find((s) => s.codec_type === 'video');
    const audio = info.streams.find((s) => s.codec_type === 'audio');
    assert.equal(audio.codec_name, format === 'mp4' ? 'aac' : 'opus');
    assert.equal(Number(v.nb_read_frames), frames);
    assert.equal(decodesCleanly(file), '');
    // The sound, decoded, lasts as long as the picture (within a frame).
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vn', '-ac', '1', '-ar', '48000', '-f', 's16le', '-'], { maxBuffer: 1 << 26 });
    const soundSecs = pcm.length / 2 / 48000;
    assert.ok(Math.abs(soundSecs - frames / fps) <= 1 / fps, `sound ${soundSecs} s, picture ${frames / fps} s`);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('a disk too full for the export says so, keeps the project, and the next export works', async () => {
  const { page, errors } = await openEditor();
  await opened(page, 'speech_long.mp4');
  await page.getByTestId('new-clip').click();
  await page.getByTestId('clip').first().waitFor();
  // Give the origin 200 kB of storage: the 15 s clip at 1080×1920 needs several MB.
  const cdp = await suite.context.newCDPSession(page);
  const origin = new URL(suite.url).origin;
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 200000 });
  await page.getByTestId('export').click();
  const error = page.getByTestId('export-error');
  await error.waitFor({ timeout: 120000 });
  assert.match(await error.textContent(), /not enough free disk space/);
  assert.equal(await page.getByTestId('clip').count(), 1, 'the clip is still there');
  // With room again, the same export runs to the end.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  await page.getByTestId('export-size').selectOption('720');
  const { file, frames } = await exportClip(page, 'Clip 1.mp4');
  assert.equal(Number(probe(file).streams.find((s) => s.codec_type === 'video').nb_read_frames), frames);
  assert.deepEqual(errors, []);
  await page.close();
});
