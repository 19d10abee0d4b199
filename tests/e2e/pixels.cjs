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

/** How many times the preview has been drawn. */
async function draws(page) {
  return Number(await page.getByTestId('preview').getAttribute('data-draws'));
}

/** The preview's pixels now. */
async function grab(page) {
  return page.getByTestId('preview').evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    return { w: c.width, h: c.height, data: Array.from(d.data) };
  });
}

/** Waits for the preview to be drawn more than `before` times, then returns its pixels. */
async function pixelsAfterRedraw(page, before) {
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=preview]').dataset.draws) > n,
    before, { timeout: 15000 });
  return grab(page);
}

/** Waits until the preview has not been redrawn for 400 ms. */
async function settle(page) {
  let last = await draws(page);
  for (;;) {
    await page.waitForTimeout(400);
    const now = await draws(page);
    if (now === last) return;
    last = now;
  }
}

/** A finger pressed at `xs[0]` on row `y` and slid through the rest of `xs` (touch events
 * as a phone sends them, through the DevTools protocol). */
async function fingerDrag(page, y, xs) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
  const touch = (type, x) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: type === 'touchEnd' ? [] : [{ x, y }] });
  await touch('touchStart', xs[0]);
  for (const x of xs.slice(1)) await touch('touchMove', x);
  await touch('touchEnd');
}

module.exports = { diff, bestShift, draws, grab, pixelsAfterRedraw, settle, fingerDrag };
