// Benchmark: in-browser transcription speed and the tab's peak memory. For each file and
// worker count, a fresh page transcribes the file (model already in Cache Storage after a
// warm-up run); the time is the app's own (first window handed to a worker → last window
// done, including each worker's model load), memory is the sum of the resident memory of
// Chromium's renderer processes (the tab and its workers), sampled every 250 ms.
// Run by scripts/bench-transcribe.sh.
const fs = require('node:fs');
const path = require('node:path');
const { startRelay, launchBrowser } = require('../e2e/harness.cjs');

function rendererRssBytes() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chromium') || !cmd.includes('--type=renderer')) continue;
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const m = status.match(/VmRSS:\s+(\d+) kB/);
      if (m) total += Number(m[1]) * 1024;
    } catch { /* the process ended meanwhile */ }
  }
  return total;
}

async function transcribe(context, url, file, workers, model) {
  const page = await context.newPage();
  await page.goto(`${url}?workers=${workers}&model=${model}`);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  let peak = rendererRssBytes();
  const sampler = setInterval(() => { peak = Math.max(peak, rendererRssBytes()); }, 250);
  await page.getByTestId('file-input').setInputFiles(file);
  await page.waitForFunction(
    () => ['Done', 'Failed'].includes(document.querySelector('[data-testid=transcript-status]')?.dataset.phase),
    null, { timeout: 3600000, polling: 500 },
  );
  clearInterval(sampler);
  const status = await page.getByTestId('transcript-status').textContent();
  const words = await page.getByTestId('word').count();
  const memory = await page.getByTestId('workers').textContent();
  await page.close();
  const m = status.match(/Transcribed ([\d.]+) s of audio in ([\d.]+) s/);
  if (!m) throw new Error(`transcription did not finish: ${status}`);
  return { audio: Number(m[1]), secs: Number(m[2]), words, peak, memory };
}

(async () => {
  const relay = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST,
    { REELSMITH_MODELS: process.env.REELSMITH_MODELS });
  const context = await launchBrowser();
  const dir = process.env.BENCH_MEDIA;
  const cores = await (async () => {
    const page = await context.newPage();
    await page.goto(relay.url);
    const n = await page.evaluate(() => navigator.hardwareConcurrency);
    await page.close();
    return n;
  })();
  console.log(`navigator.hardwareConcurrency = ${cores}; default workers = ${Math.max(1, cores - 1)}`);
  console.log('| model | audio | workers | time | real-time factor | per worker | words | tab peak RSS | worker memory (app) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  // BENCH_MODELS=a,b and BENCH_FILES=a.mp4,b.mp4 measure only those.
  for (const model of (process.env.BENCH_MODELS || 'whisper-tiny.en,whisper-base').split(',')) {
    // Warm-up: downloads the model into Cache Storage once.
    await transcribe(context, relay.url, path.join(dir, 'speech_60s.mp4'), 1, model);
    for (const name of (process.env.BENCH_FILES || 'speech_60s.mp4,speech_600s.mp4').split(',')) {
      for (const workers of [1, 2]) {
        const r = await transcribe(context, relay.url, path.join(dir, name), workers, model);
        const rtf = r.audio / r.secs;
        console.log(`| ${model} | ${r.audio.toFixed(0)} s | ${workers} | ${r.secs.toFixed(1)} s | ${rtf.toFixed(1)}x | ${(rtf / workers).toFixed(1)}x | ${r.words} | ${(r.peak / 1048576).toFixed(0)} MiB | ${r.memory} |`);
      }
    }
  }
  await context.close();
  relay.process.kill();
})();
