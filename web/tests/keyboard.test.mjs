// The app by keyboard alone, as someone who cannot use a pointer: a wrong
// password is answered in words, then sign in, pick a store and reach the orders
// with Tab and Enter only, every control reached having a visible focus.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { launch, platform } from './platform.mjs';

/** Tab presses allowed to reach one control: far more than the page has before it. */
const MAX_TABS = 40;

let browser;
before(async () => {
  browser = await launch();
});
after(() => browser?.close());

/** Presses Tab until the focused element matches `wanted`; fails past MAX_TABS. */
async function tabTo(page, description, wanted) {
  for (let presses = 0; presses < MAX_TABS; presses += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      const style = element ? getComputedStyle(element) : null;
      return {
        tag: element?.tagName.toLowerCase(),
        href: element?.getAttribute('href'),
        label: element?.labels?.[0]?.textContent?.trim() ?? element?.textContent?.trim(),
        visibleFocus: Boolean(style && (style.outlineStyle !== 'none' || style.boxShadow !== 'none')),
      };
    });
    if (wanted(focused)) {
      assert.ok(focused.visibleFocus, `${description} shows that it has the focus`);
      return;
    }
  }
  assert.fail(`${description} was not reached in ${MAX_TABS} presses of Tab`);
}

test('a staff member signs in and reaches the orders by keyboard alone', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${platform.app}/app/`);

  await tabTo(page, 'the email field', (f) => f.label === 'Email');
  await page.keyboard.type(platform.email);
  await tabTo(page, 'the password field', (f) => f.label === 'Password');
  await page.keyboard.type('not the password');
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /password/i, 'the refusal says what was wrong, in words');

  await page.getByLabel('Password').fill('');
  await page.getByLabel('Password').focus();
  await page.keyboard.type(platform.password);
  await page.keyboard.press('Enter');
  const store = platform.store.split('/').pop();
  await tabTo(page, 'the store', (f) => f.tag === 'a' && f.href?.endsWith(`/app/stores/${store}`));
  await page.keyboard.press('Enter');
  await page.getByTestId('kpi-net-sales').waitFor();

  await tabTo(page, 'the Orders link', (f) => f.tag === 'a' && f.label === 'Orders');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
  await tabTo(page, 'the first order', (f) => f.tag === 'a' && /^#\d+$/.test(f.label ?? ''));
  await page.keyboard.press('Enter');
  await page.getByTestId('order-history').waitFor();
  await context.close();
});
