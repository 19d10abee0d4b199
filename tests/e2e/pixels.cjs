// Comparing pictures read back from the preview canvas ({ w, h, data: RGBA array }).

/** Mean absolute difference of two images over rows [y0, y1) and columns [x0, x1). */
function diff(a, b, x0, x1, y0, y1) {
  let sum = 0;
  let n = 0;
  for (let y = Math.floor(y0); y < y1; y++) {
    for (let x = Math.floor(x0); x < x1; x++) {
      const i = (y * a.w + x) * 4;
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[i + c] - b.data[i + c]);
      n += 3;
    }
  }
  return sum / n;
}

/** How far left (in pixels) `b`'s picture lies from `a`'s: the shift that makes the middle
 * rows agree best. */
function bestShift(a, b) {
  let best = { shift: 0, err: Infinity };
  for (let shift = -Math.floor(a.w / 2); shift <= Math.floor(a.w / 2); shift++) {
    let sum = 0;
    let n = 0;
    for (let y = Math.floor(a.h * 0.25); y < a.h * 0.6; y += 2) {
      for (let x = Math.max(0, -shift); x < Math.min(a.w, a.w - shift); x += 2) {
        const i = (y * a.w + x + shift) * 4;
        const j = (y * b.w + x) * 4;
        sum += Math.abs(a.data[i] - b.data[j]) + Math.abs(a.data[i + 1] - b.data[j + 1]);
        n += 2;
      }
    }
    if (n > 0 && sum / n < best.err) best = { shift, err: sum / n };
  }
  return best.shift;
}

module.exports = { diff, bestShift };
