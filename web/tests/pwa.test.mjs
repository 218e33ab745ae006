// Installable, and the service worker keeps the app shell only: after a
// signed-in session has called the API, the caches hold files under /app/
// and no API answer (those carry store data and must never outlive a
// sign-out on a shared device).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launch, platform, signIn } from './platform.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(() => browser?.close());

test('the app is installable and its service worker caches the shell, never API data', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${platform.app}/app/`);

  const manifestUrl = await page.locator('link[rel="manifest"]').getAttribute('href');
  const manifest = await (await page.request.get(new URL(manifestUrl, page.url()).href)).json();
  assert.equal(manifest.start_url, '/app/');
  assert.equal(manifest.display, 'standalone');
  assert.ok(manifest.icons.some((icon) => icon.sizes === '512x512'), 'a 512 px icon');
  assert.ok(manifest.icons.some((icon) => icon.sizes === '192x192'), 'a 192 px icon');

  await page.evaluate(() => navigator.serviceWorker.ready);
  await signIn(page);
  await page.getByTestId('kpi-net-sales').waitFor();
  await page.reload();
  await page.getByTestId('kpi-net-sales').waitFor();

  const cached = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      urls.push(...(await cache.keys()).map((request) => new URL(request.url).pathname));
    }
    return urls;
  });
  assert.ok(cached.includes('/app/'), `the shell's page is cached: ${cached}`);
  assert.ok(cached.some((url) => url.startsWith('/app/assets/')), `its assets are cached: ${cached}`);
  assert.deepEqual(
    cached.filter((url) => !url.startsWith('/app/')),
    [],
    'nothing but the app shell is cached',
  );
  await context.close();
});
