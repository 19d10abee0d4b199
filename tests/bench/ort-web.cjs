// Benchmark: the project's engine (tract in wasm) against onnxruntime-web's WASM backend, one
// thread each, on the same ONNX files and log-mel input in one headless Chromium. Serves
// tests/bench/ort-web.html with onnxruntime-web, the engine-bench package and the models from
// a small local server (cross-origin isolated, as the app's page is). Run by
// scripts/bench-ort-web.sh; prints one table row per model.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { launchBrowser } = require('../e2e/harness.cjs');

const roots = {
  '/ort/': process.env.ORT_DIST,
  '/pkg/': process.env.ENGINE_PKG,
  '/models/': process.env.REELSMITH_MODELS,
};
const types = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

function serve(req, res) {
  const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  let file = null;
  if (url === '/') file = path.join(__dirname, 'ort-web.html');
  else if (url === '/audio.wav') file = process.env.BENCH_WAV;
  else {
    for (const [prefix, root] of Object.entries(roots)) {
      if (url.startsWith(prefix)) {
        const candidate = path.resolve(root, url.slice(prefix.length));
        if (candidate.startsWith(path.resolve(root) + path.sep)) file = candidate;
      }
    }
  }
  if (url === '/favicon.ico') {
    res.writeHead(204);
    res.end();
    return;
  }
  if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, {
    'Content-Type': types[path.extname(file)] || 'application/octet-stream',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
  fs.createReadStream(file).pipe(res);
}

(async () => {
  const server = http.createServer(serve);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const context = await launchBrowser();
  const steps = Number(process.env.BENCH_STEPS || 60);
  console.log('| model | engine (one thread) | load both graphs | encoder, one window | decoder, per step |');
  console.log('|---|---|---|---|---|');
  try {
    for (const model of (process.env.BENCH_MODELS || 'whisper-tiny.en,whisper-base').split(',')) {
      const page = await context.newPage();
      page.on('console', (m) => { if (m.type() === 'error') console.error(m.text()); });
      await page.goto(url);
      await page.waitForFunction(() => window.benchReady === true);
      const r = await page.evaluate(([m, s]) => window.runBench(m, s), [model, steps]);
      const tract = {
        load: Number(r.tract.match(/load both graphs: ([\d.]+) ms/)[1]),
        encoder: Number(r.tract.match(/encoder, one window: ([\d.]+) ms/)[1]),
        step: Number(r.tract.match(/decoder, one step: ([\d.]+) ms/)[1]),
      };
      const row = (name, x) => console.log(
        `| ${model} | ${name} | ${(x.load / 1000).toFixed(2)} s | ${(x.encoder / 1000).toFixed(2)} s | ${x.step.toFixed(1)} ms |`);
      row('tract (this project)', tract);
      row('onnxruntime-web, default', r.ortDefault);
      row('onnxruntime-web, QDQ fusion off', r.ortNoQdqFusion);
      await page.close();
    }
  } finally {
    await context.close();
    server.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
