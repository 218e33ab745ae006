// What the Rust harness (api/tests/browser.rs) hands this suite: a running
// API with a day of trade, the owner's credentials, and Debian's Chromium.
// Run outside it, the suite fails and says so: it never skips.

import { chromium } from 'playwright-core';

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: these tests run inside \`cargo test -p shopfleet-api --test browser\` (part of \`make test\`), which starts the API and sets it`,
    );
  }
  return value;
}

export const platform = {
  app: required('SHOPFLEET_APP'),
  email: required('SHOPFLEET_EMAIL'),
  password: required('SHOPFLEET_PASSWORD'),
  /** `/v1/stores/<id>` */
  store: required('SHOPFLEET_STORE'),
  storeKey: required('SHOPFLEET_STORE_KEY'),
  variant: required('SHOPFLEET_VARIANT'),
  /** `/v1/stores/<id>` of the tenant's second store, a hotel. */
  hotel: required('SHOPFLEET_HOTEL'),
  artifacts: required('SHOPFLEET_ARTIFACTS'),
  chrome: required('CHROME_PATH'),
};

export const viewports = {
  phone: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1280, height: 800 } },
};

export function launch() {
  return chromium.launch({ executablePath: platform.chrome, headless: true });
}

/**
 * Signs in as the owner on the sign-in page `page` shows, and picks the store
 * at `store` (`/v1/stores/<id>`) in the store picker.
 */
export async function signIn(page, store = platform.store) {
  await page.getByLabel('Email').fill(platform.email);
  await page.getByLabel('Password').fill(platform.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator(`a[href="/app/stores/${store.split('/').pop()}"]`).click();
}

/** A call to the API as the test's own client (not through the browser). */
export async function api(method, path, { token, key, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (key) headers['x-api-key'] = key;
  if (method !== 'GET') headers['idempotency-key'] = crypto.randomUUID();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(platform.app + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return json;
}

/** Today's date (`YYYY-MM-DD`) in the IANA time zone `zone`. */
export function todayIn(zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
}

/** A calendar date (`YYYY-MM-DD`) `days` after `date`. */
export function addDays(date, days) {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + days);
  return next.toISOString().slice(0, 10);
}

/** The owner's access token, for reading what the app should show. */
export async function ownerToken() {
  const session = await api('POST', '/v1/auth/login', {
    body: { email: platform.email, password: platform.password },
  });
  return session.access_token;
}

/** Places and pays an order of `quantity` mugs through the API; the order. */
export async function placePaidOrder(quantity) {
  const order = await api('POST', `${platform.store}/orders`, {
    key: platform.storeKey,
    body: { lines: [{ variant_id: platform.variant, quantity }] },
  });
  return api('POST', `${platform.store}/orders/${order.id}/pay`, { key: platform.storeKey, body: {} });
}
