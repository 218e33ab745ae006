// The staff app end to end in Debian's Chromium, at a phone's and a
// desktop's size: sign in, the dashboard's tiles equal the analytics, an
// order placed through the API reaches the live feed and the tiles within
// 2 s, a refund made in the app shows in the order's history, and axe finds
// no serious or critical accessibility violation.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

import { addDays, api, launch, ownerToken, placePaidOrder, platform, signIn, todayIn, viewports } from './platform.mjs';

const LIVE_WITHIN_MS = 2000;
const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser;
let token;
before(async () => {
  browser = await launch();
  token = await ownerToken();
});
after(() => browser?.close());


/** The raw value of a KPI tile (minor units for money). */
async function tile(page, id) {
  return Number(await page.getByTestId(id).getAttribute('data-value'));
}

/** Today's totals as the analytics report them: today is the store's local day. */
async function todaysSales() {
  const store = await api('GET', platform.store, { token });
  const today = todayIn(store.timezone);
  const report = await api('GET', `${platform.store}/analytics/sales?from=${today}&to=${addDays(today, 1)}`, {
    token,
  });
  return report.current.totals;
}

async function expectNoSeriousViolations(page, where) {
  await page.evaluate(axeSource);
  const results = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `axe on ${where}`,
  );
}

for (const [size, device] of Object.entries(viewports)) {
  describe(`on a ${size}`, () => {
    let context;
    let page;
    before(async () => {
      context = await browser.newContext(device);
      page = await context.newPage();
      await page.goto(`${platform.app}/app/`);
      await signIn(page);
      await page.getByTestId('stream-status').filter({ hasText: 'live' }).waitFor();
    });
    after(() => context?.close());

    test('the tiles equal what the analytics endpoints return', async () => {
      const totals = await todaysSales();
      await page.getByTestId('kpi-net-sales').waitFor();
      assert.equal(await tile(page, 'kpi-net-sales'), totals.net_sales_minor);
      assert.equal(await tile(page, 'kpi-orders'), totals.orders);
      assert.equal(await tile(page, 'kpi-aov'), totals.average_order_value_minor);
      await page.screenshot({ path: path.join(platform.artifacts, `dashboard-${size}.png`), fullPage: true });
    });

    test('the dashboard has no serious accessibility violation', async () => {
      await expectNoSeriousViolations(page, `the dashboard on a ${size}`);
    });

    test('an order placed through the API reaches the feed and the tiles within 2 s', async () => {
      const before = await tile(page, 'kpi-orders');
      const order = await placePaidOrder(3);
      const item = page.locator(`[data-testid="live-feed-item"][data-order-id="${order.id}"]`);
      await item.waitFor({ timeout: LIVE_WITHIN_MS });
      await page.waitForFunction(
        (count) => Number(document.querySelector('[data-testid="kpi-orders"]')?.getAttribute('data-value')) > count,
        before,
        { timeout: LIVE_WITHIN_MS },
      );
      const totals = await todaysSales();
      assert.equal(await tile(page, 'kpi-orders'), totals.orders);
      assert.equal(await tile(page, 'kpi-net-sales'), totals.net_sales_minor);
    });

    test("a refund made in the app shows in the order's history", async () => {
      const order = await placePaidOrder(2);
      await page.getByRole('link', { name: 'Orders' }).first().click();
      await page.locator(`a[href$="/orders/${order.id}"]`).first().click();
      await page.getByTestId('order-history').waitFor();
      await page.getByRole('button', { name: /refund/i }).first().click();
      await page.getByRole('spinbutton').first().fill('1');
      await page.getByRole('button', { name: /^refund/i }).last().click();
      await page.getByTestId('order-history').getByText(/refund/i).first().waitFor();
      const detail = await api('GET', `${platform.store}/orders/${order.id}`, { token });
      assert.ok(detail.refunded_minor > 0, 'the API has the refund the app made');
      await expectNoSeriousViolations(page, `an order on a ${size}`);
      await page.getByRole('link', { name: 'Dashboard' }).first().click();
    });
  });
}
