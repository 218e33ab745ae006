// The first load's budget: the JavaScript a browser with an empty cache
// transfers to sign in and show the dashboard stays under 150 KB (as sent,
// compressed). The figure itself is in docs/benchmarks.md (`make bench-web`).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launch, platform, signIn } from './platform.mjs';

const BUDGET_BYTES = 150 * 1024;

let browser;
before(async () => {
  browser = await launch();
});
after(() => browser?.close());

test('the first load of the dashboard transfers at most 150 KB of JavaScript', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const scripts = [];
  page.on('requestfinished', (request) => {
    if (request.resourceType() === 'script') scripts.push(request);
  });
  await page.goto(`${platform.app}/app/`);
  await signIn(page);
  await page.getByTestId('kpi-net-sales').waitFor();
  await page.locator('.uplot').first().waitFor();
  let transferred = 0;
  for (const request of scripts) {
    const response = await request.response();
    assert.ok(response?.ok(), `${request.url()} loaded`);
    // The body as sent (gzip when the browser accepts it): its Content-Length.
    // (Chromium's own count misses preloaded modules' bodies.)
    const length = await response.headerValue('content-length');
    assert.ok(length, `${request.url()} has a Content-Length`);
    transferred += Number(length);
  }
  console.log(`first load: ${scripts.length} scripts, ${transferred} bytes of JavaScript transferred`);
  assert.ok(scripts.length > 0, 'the dashboard loaded its scripts');
  assert.ok(transferred <= BUDGET_BYTES, `${transferred} bytes of JavaScript > ${BUDGET_BYTES}`);
  await context.close();
});
