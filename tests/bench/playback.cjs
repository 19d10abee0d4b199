// Benchmark: playing the long-GOP 1080p fixture (26 s, 30 fps, keyframes ~8 s apart) from start
// to end in the editor with its sound, three times: wall time against the video's length,
// frames shown, frames shown more than a frame late (the decoder fell behind), times the sound
// was held for the pictures to catch up, and the longest and the 95th-percentile wait between
// two frames on screen. Run by scripts/bench-playback.sh.
const path = require('node:path');
const { startRelay, launchBrowser } = require('../e2e/harness.cjs');

const RUNS = 3;

async function playOnce(context, url, file) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(url);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  await page.getByTestId('file-input').setInputFiles(file);
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.framePts === '0',
    null, { timeout: 60000 });
  await page.waitForTimeout(1000);
  await page.evaluate(() => {
    window.shown = [];
    const canvas = document.querySelector('[data-testid=preview]');
    new MutationObserver(() => window.shown.push([performance.now(), Number(canvas.dataset.framePts)]))
      .observe(canvas, { attributes: true, attributeFilter: ['data-draws'] });
  });
  await page.getByTestId('play').click();
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Pause');
  await page.waitForFunction(() => document.querySelector('[data-testid=play]').innerText === 'Play',
    null, { timeout: 180000 });
  const shown = await page.evaluate(() => window.shown);
  const late = Number(await page.getByTestId('preview').getAttribute('data-late-frames'));
  const holds = Number(await page.getByTestId('preview').getAttribute('data-holds'));
  await page.close();
  const waits = [];
  for (let i = 1; i < shown.length; i++) waits.push(shown[i][0] - shown[i - 1][0]);
  waits.sort((a, b) => a - b);
  return {
    wallSecs: (shown.at(-1)[0] - shown[0][0]) / 1000,
    mediaSecs: (shown.at(-1)[1] - shown[0][1]) / 1e6,
    frames: new Set(shown.map((s) => s[1])).size,
    late,
    holds,
    maxWaitMs: waits.at(-1),
    p95WaitMs: waits[Math.floor(waits.length * 0.95)],
  };
}

(async () => {
  const relay = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST,
    { REELSMITH_MODELS: path.join(require('node:os').tmpdir(), 'reelsmith-bench-no-models') });
  const context = await launchBrowser();
  const file = path.join(process.env.FIXTURES, 'long_gop_1080p.mp4');
  console.log('| run | wall s | media s | wall/media | frames shown | shown late | sound held | p95 wait ms | longest wait ms |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (let i = 1; i <= RUNS; i++) {
    const r = await playOnce(context, relay.url, file);
    console.log(`| ${i} | ${r.wallSecs.toFixed(2)} | ${r.mediaSecs.toFixed(2)} | ${(r.wallSecs / r.mediaSecs).toFixed(3)} | ${r.frames} | ${r.late} | ${r.holds} | ${r.p95WaitMs.toFixed(1)} | ${r.maxWaitMs.toFixed(1)} |`);
  }
  await context.close();
  relay.process.kill();
})();
