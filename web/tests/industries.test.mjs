// A store's dashboard follows its industry: the owner picks the tenant's
// hotel in the store picker, and its occupancy, ADR and RevPAR tiles equal
// what `GET …/analytics/hospitality` reports for tonight (one room of four
// booked and paid).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { addDays, api, launch, ownerToken, platform, signIn, todayIn } from './platform.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(() => browser?.close());

test("a hotel's dashboard shows occupancy, ADR and RevPAR as the analytics report them", async () => {
  const token = await ownerToken();
  const hotel = await api('GET', platform.hotel, { token });
  assert.equal(hotel.industry, 'hospitality');
  const today = todayIn(hotel.timezone);
  const report = await api(
    'GET',
    `${platform.hotel}/analytics/hospitality?from=${today}&to=${addDays(today, 1)}&interval=day`,
    { token },
  );
  const totals = report.current.totals;
  assert.ok(totals.room_nights_sold > 0, 'the hotel sold a room night tonight');

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${platform.app}/app/`);
  await signIn(page, platform.hotel);
  for (const [id, expected] of [
    ['kpi-occupancy', totals.occupancy_percent],
    ['kpi-adr', totals.adr_minor],
    ['kpi-revpar', totals.revpar_minor],
  ]) {
    await page.getByTestId(id).waitFor();
    assert.equal(Number(await page.getByTestId(id).getAttribute('data-value')), expected, id);
  }
  assert.equal(await page.getByTestId('kpi-sell-through').count(), 0, 'no event tiles for a hotel');
  await context.close();
});
