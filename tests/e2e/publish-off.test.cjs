// Without TikTok credentials the relay still serves the editor, and the Publish dialog says
// publishing is not set up instead of offering a connection that cannot work.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { relayAndBrowser } = require('./harness.cjs');

const suite = relayAndBrowser(() => ({ REELSMITH_MODELS: process.env.REELSMITH_MODELS }));

test('publishing without credentials says it is not set up', async () => {
  const page = await suite.context.newPage();
  await page.goto(suite.url);
  await page.getByTestId('file-input').setInputFiles(path.join(process.env.FIXTURES, 'speech.mp4'));
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.dataset.framePts !== undefined);
  await page.getByTestId('new-clip').click();
  await page.getByTestId('export-size').selectOption('720');
  await page.getByTestId('export').click();
  await page.getByTestId('export-done').waitFor({ timeout: 240000 });
  await page.getByTestId('publish-open').click();
  await page.getByTestId('publish-not-configured').waitFor();
  assert.equal(await page.getByTestId('tiktok-connect').count(), 0);
  await page.close();
});
