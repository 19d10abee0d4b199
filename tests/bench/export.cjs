// Benchmark: export speed at 1080×1920 and the tab's memory. Each row is a fresh page that
// opens a source, transcribes it (captions need words; rows without captions wait too, so no
// transcription worker shares the cores), makes a clip from 0 s and exports it;
// speed is the app's own (frames ÷ the export's wall time, from the job reaching the worker to
// the finished file, sound included). The transcode ceiling (`?export=direct`) hands decoded
// pictures straight to the same encoder: no copy, crop, scale or captions. ffmpeg.wasm runs
// libx264 veryfast in the same Chromium on the same source. Run by scripts/bench-export.sh,
// which prints native ffmpeg's rows before this.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { startRelay, launchBrowser } = require('../e2e/harness.cjs');

const MEDIA = process.env.BENCH_MEDIA;
const RUNS = 3;

function rendererRssBytes() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chromium') || !cmd.includes('--type=renderer')) continue;
      const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
      if (m) total += Number(m[1]) * 1024;
    } catch { /* ended meanwhile */ }
  }
  return total;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One export in a fresh page; resolves to { fps, frames, secs, peakRss }. */
async function exportOnce(context, url, { file, captions, direct = false, clipSecs = 15 }) {
  const page = await context.newPage();
  await page.goto(direct ? `${url}?export=direct` : url);
  await page.getByTestId('file-input').waitFor({ state: 'attached' });
  await page.getByTestId('file-input').setInputFiles(path.join(MEDIA, file));
  // Every row waits for the transcription to end, captions or not: its workers would
  // otherwise share the two cores with the export.
  await page.waitForFunction(
    () => document.querySelector('[data-testid=transcript-status]')?.dataset.phase === 'Done',
    null, { timeout: 600000, polling: 250 });
  await page.getByTestId('new-clip').click();
  await page.getByTestId('clip').first().waitFor();
  if (clipSecs !== 15) {
    await page.getByTestId('clip-out').evaluate((el, v) => {
      el.value = String(v);
      el.dispatchEvent(new Event('change', { bubbles: true }));
    }, clipSecs);
    await page.waitForFunction((v) => Number(document.querySelector('[data-testid=clip-span]').dataset.end) === v, clipSecs);
  }
  if (!captions) await page.getByTestId('template').selectOption('none');
  let peakRss = rendererRssBytes();
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, rendererRssBytes()); }, 250);
  await page.getByTestId('export').click();
  const done = page.getByTestId('export-done');
  const failed = page.getByTestId('export-error');
  await Promise.race([done.waitFor({ timeout: 1800000 }), failed.waitFor({ timeout: 1800000 })]);
  clearInterval(sampler);
  if (await failed.count()) throw new Error(`export failed: ${await failed.textContent()}`);
  const frames = Number(await done.getAttribute('data-frames'));
  const secs = Number(await done.getAttribute('data-millis')) / 1000;
  await page.close();
  return { fps: frames / secs, frames, secs, peakRss };
}

/** Serves the ffmpeg.wasm packages, the bench media and a page that runs one command. */
function ffmpegWasmServer() {
  const modules = process.env.FFMPEG_WASM;
  const roots = {
    '/ffmpeg/': path.join(modules, '@ffmpeg/ffmpeg/dist/esm/'),
    '/core/': path.join(modules, '@ffmpeg/core/dist/esm/'),
    '/media/': `${MEDIA}/`,
  };
  const page = `<!doctype html><script type="module">
    import { FFmpeg } from '/ffmpeg/index.js';
    window.run = async (file, args) => {
      const ffmpeg = new FFmpeg();
      await ffmpeg.load({ coreURL: '/core/ffmpeg-core.js', wasmURL: '/core/ffmpeg-core.wasm' });
      await ffmpeg.writeFile('in.mp4', new Uint8Array(await (await fetch('/media/' + file)).arrayBuffer()));
      const start = performance.now();
      const code = await ffmpeg.exec(['-i', 'in.mp4', ...args, 'out.mp4']);
      const secs = (performance.now() - start) / 1000;
      const out = await ffmpeg.readFile('out.mp4');
      return { code, secs, bytes: out.length };
    };
    window.ready = true;
  </script>`;
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.mp4': 'video/mp4' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page);
      return;
    }
    const root = Object.keys(roots).find((r) => url.pathname.startsWith(r));
    const file = root && path.join(roots[root], path.normalize(url.pathname.slice(root.length)));
    if (!file || !file.startsWith(roots[root]) || !fs.existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function ffmpegWasm(context, file, filter, secs) {
  const server = await ffmpegWasmServer();
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.ready === true);
  const r = await page.evaluate(([f, args]) => window.run(f, args), [file,
    ['-t', String(secs), '-vf', filter, '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '8087040', '-c:a', 'copy']]);
  await page.close();
  server.close();
  if (r.code !== 0 || r.bytes === 0) throw new Error(`ffmpeg.wasm failed with ${r.code}`);
  return { fps: (secs * 30) / r.secs, secs: r.secs };
}

(async () => {
  const relay = await startRelay(process.env.RELAY_BIN, process.env.REELSMITH_DIST,
    { REELSMITH_MODELS: process.env.REELSMITH_MODELS });
  const context = await launchBrowser();
  // Warm-up: the model into Cache Storage, the encoders' first start.
  await exportOnce(context, relay.url, { file: 'export_1080x1920.mp4', captions: true });
  const rows = [];
  const measure = async (label, options) => {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await exportOnce(context, relay.url, options));
    const row = { label, fps: median(runs.map((r) => r.fps)), all: runs.map((r) => r.fps.toFixed(1)).join(' / '),
      peakRss: Math.max(...runs.map((r) => r.peakRss)), frames: runs[0].frames };
    rows.push(row);
    console.log(`${label}: ${row.all} fps (median ${row.fps.toFixed(1)}), ${row.frames} frames, tab peak ${(row.peakRss / 1048576).toFixed(0)} MiB`);
    return row;
  };
  const ceiling = await measure('1080×1920 source, transcode ceiling (direct frames)', { file: 'export_1080x1920.mp4', direct: true });
  const plain9 = await measure('1080×1920 source, export without captions', { file: 'export_1080x1920.mp4', captions: false });
  const capt9 = await measure('1080×1920 source, export with karaoke captions', { file: 'export_1080x1920.mp4', captions: true });
  const plain16 = await measure('1920×1080 source → 9:16, without captions', { file: 'export_1920x1080.mp4', captions: false });
  const capt16 = await measure('1920×1080 source → 9:16, with karaoke captions', { file: 'export_1920x1080.mp4', captions: true });
  const long = await measure('1920×1080 source → 9:16, 60 s clip with captions', { file: 'export_1920x1080.mp4', captions: true, clipSecs: 60 });
  const wasm9 = await ffmpegWasm(context, 'export_1080x1920.mp4', 'null', 5);
  console.log(`ffmpeg.wasm 0.12 (libx264 veryfast, 1 thread), 1080×1920 → 1080×1920, 5 s: ${wasm9.fps.toFixed(1)} fps`);
  const wasm16 = await ffmpegWasm(context, 'export_1920x1080.mp4', 'crop=608:1080,scale=1080:1920', 5);
  console.log(`ffmpeg.wasm 0.12 (libx264 veryfast, 1 thread), 1920×1080 → 1080×1920, 5 s: ${wasm16.fps.toFixed(1)} fps`);
  console.log('');
  console.log(`captioned / ceiling (1080×1920 source): ${(capt9.fps / ceiling.fps).toFixed(2)}`);
  console.log(`uncaptioned / ceiling (1080×1920 source): ${(plain9.fps / ceiling.fps).toFixed(2)}`);
  console.log(`captioned / uncaptioned (16:9 source): ${(capt16.fps / plain16.fps).toFixed(2)}`);
  console.log(`captioned export / ffmpeg.wasm (16:9 source): ${(capt16.fps / wasm16.fps).toFixed(1)}`);
  console.log(`60 s clip / 15 s clip tab peak memory: ${(long.peakRss / capt16.peakRss).toFixed(2)}`);
  await context.close();
  relay.process.kill();
})().catch((e) => { console.error(e); process.exit(1); });
