// The web app's benchmark, run by `web-load` (make bench-web) against a real
// API with a day of trade: cold first loads over loopback, then Lighthouse's
// mobile preset (its default: a mid-range phone, simulated slow 4G) on the
// signed-in dashboard. Prints a Markdown table for docs/benchmarks.md.

import { readFileSync } from 'node:fs';

import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { chromium } from 'playwright-core';

const app = process.env.SHOPFLEET_APP;
const email = process.env.SHOPFLEET_EMAIL;
const password = process.env.SHOPFLEET_PASSWORD;
const chrome = process.env.CHROME_PATH;
const loads = Number(process.env.SHOPFLEET_LOADS ?? 5);
if (!app || !email || !password || !chrome) {
  throw new Error('run through `make bench-web`, which starts the API and sets SHOPFLEET_APP and the rest');
}
const LIGHTHOUSE_RUNS = 3;
const lighthouseVersion = JSON.parse(
  readFileSync(new URL('./node_modules/lighthouse/package.json', import.meta.url), 'utf8'),
).version;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function signIn(page) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** One cold load: the sign-in page, then the dashboard after signing in. */
async function coldLoad(browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const scripts = [];
  const all = [];
  page.on('requestfinished', (request) => {
    all.push(request);
    if (request.resourceType() === 'script') scripts.push(request);
  });
  const start = performance.now();
  await page.goto(`${app}/app/`);
  await page.getByLabel('Email').waitFor();
  const signInPage = performance.now() - start;
  const clicked = performance.now();
  await signIn(page);
  await page.getByTestId('kpi-net-sales').waitFor();
  const tiles = performance.now() - clicked;
  await page.locator('.uplot').first().waitFor();
  const chart = performance.now() - clicked;
  // The bodies as sent (gzip): their Content-Length (Chromium's own count
  // misses preloaded modules' bodies).
  const size = async (requests) =>
    (
      await Promise.all(
        requests.map(async (request) => Number((await (await request.response())?.headerValue('content-length')) ?? 0)),
      )
    ).reduce((sum, bytes) => sum + bytes, 0);
  const result = { signInPage, tiles, chart, jsBytes: await size(scripts), allBytes: await size(all) };
  await context.close();
  return result;
}

async function firstLoads() {
  const browser = await chromium.launch({ executablePath: chrome, headless: true });
  const results = [];
  for (let i = 0; i < loads; i += 1) results.push(await coldLoad(browser));
  await browser.close();
  return results;
}

/** Lighthouse on the dashboard of a browser that is signed in (its refresh token is in localStorage). */
async function lighthouseRuns() {
  const launched = await chromeLauncher.launch({
    chromePath: chrome,
    chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const browser = await chromium.connectOverCDP(`http://127.0.0.1:${launched.port}`);
    const page = await browser.contexts()[0].newPage();
    await page.goto(`${app}/app/`);
    await signIn(page);
    await page.getByTestId('kpi-net-sales').waitFor();
    const dashboard = page.url();
    await page.close();
    const runs = [];
    for (let i = 0; i < LIGHTHOUSE_RUNS; i += 1) {
      const result = await lighthouse(dashboard, {
        port: launched.port,
        output: 'json',
        logLevel: 'error',
        disableStorageReset: true,
        onlyCategories: ['performance', 'accessibility', 'best-practices'],
      });
      const { categories, audits } = result.lhr;
      runs.push({
        performance: Math.round(categories.performance.score * 100),
        accessibility: Math.round(categories.accessibility.score * 100),
        bestPractices: Math.round(categories['best-practices'].score * 100),
        fcp: audits['first-contentful-paint'].numericValue,
        lcp: audits['largest-contentful-paint'].numericValue,
        tbt: audits['total-blocking-time'].numericValue,
        cls: audits['cumulative-layout-shift'].numericValue,
      });
    }
    await browser.close();
    return { dashboard, runs };
  } finally {
    await launched.kill();
  }
}

const loaded = await firstLoads();
const { dashboard, runs } = await lighthouseRuns();
const ms = (value) => `${Math.round(value)} ms`;
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

console.log(`\nFirst load over loopback, cold cache, median of ${loaded.length}:\n`);
console.log('| sign-in page shown | sign-in → tiles | sign-in → chart | JavaScript transferred | everything transferred |');
console.log('| ---: | ---: | ---: | ---: | ---: |');
console.log(
  `| ${ms(median(loaded.map((r) => r.signInPage)))} | ${ms(median(loaded.map((r) => r.tiles)))} | ${ms(
    median(loaded.map((r) => r.chart)),
  )} | ${kib(median(loaded.map((r) => r.jsBytes)))} | ${kib(median(loaded.map((r) => r.allBytes)))} |`,
);
console.log(`\nLighthouse ${lighthouseVersion}, mobile preset, ${dashboard.replace(app, '')}:\n`);
console.log('| run | performance | accessibility | best practices | FCP | LCP | TBT | CLS |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
runs.forEach((r, i) =>
  console.log(
    `| ${i + 1} | ${r.performance} | ${r.accessibility} | ${r.bestPractices} | ${ms(r.fcp)} | ${ms(r.lcp)} | ${ms(r.tbt)} | ${r.cls.toFixed(3)} |`,
  ),
);
