// The engine in wasm under node (V8): `node run.cjs PKG_DIR ops|whole MODEL_DIR WAV [STEPS] [--by-node]`.
const fs = require('fs');
const path = require('path');
const [pkg, what, dir, wav, steps, byNode] = process.argv.slice(2);
const bench = require(path.resolve(pkg, 'reelsmith_engine_bench.js'));
const files = (name) => {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
};
const audio = fs.readFileSync(wav);
process.stdout.write(
  what === 'ops' ? bench.ops(files, audio, Number(steps || 60), byNode === '--by-node') : bench.whole(files, audio),
);
