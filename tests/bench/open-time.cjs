// Benchmark: time from picking a file to its first frame on screen, for a 20 MB file and for
// the same file padded to 2.5 GB (a sparse trailing `free` box). Run by scripts/bench.sh.
const path = require('node:path');
const { startRelay, launchBrowser } = require('../e2e/harness.cjs');

const RUNS = 7;

async function timeOpen(context, url, file) {
  const page = await context.newPage();
  await page.goto(url);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  const started = performance.now();
  await page.getByTestId('file-input').setInputFiles(file);
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.framePts !== undefined,
    null, { timeout: 60000 });
  const ms = performance.now() - started;
  await page.close();
  return ms;
}

(async () => {
  const relay = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST);
  const context = await launchBrowser();
  const dir = process.env.BENCH_MEDIA;
  console.log('| file | size | median ms | min ms | max ms |');
  console.log('|---|---|---|---|---|');
  for (const [name, size] of [['open_20mb.mp4', '20 MB'], ['open_2500mb.mp4', '2.5 GB']]) {
    const times = [];
    for (let i = 0; i < RUNS; i++) times.push(await timeOpen(context, relay.url, path.join(dir, name)));
    times.sort((a, b) => a - b);
    const f = (x) => x.toFixed(0);
    console.log(`| ${name} | ${size} | ${f(times[RUNS >> 1])} | ${f(times[0])} | ${f(times[RUNS - 1])} |`);
  }
  await context.close();
  relay.process.kill();
})();
