#!/usr/bin/env node
// Real-browser sign-in against an example app and the embedded development provider.
//
//   node signin.mjs <app base URL> <screenshot path>
//
// Headless Debian Chromium (never a downloaded browser) opens the home page, clicks "Sign in",
// signs in on the provider's page, checks the profile page (subject and claims), saves a
// full-page screenshot of it, signs out through the provider's end-session endpoint, and checks
// the app is signed out (home page and a 401 from /api/me).
//
// Environment (all optional):
//   CHROMIUM          browser executable (default /usr/bin/chromium)
//   SIGNIN_USERNAME   default alice
//   SIGNIN_PASSWORD   default alice-password
//   EXPECT_SUB        the subject the profile page must show (default: any non-empty value)
//   EXPECT_EMAIL      the email claim the profile must show (default alice@example.com)
//   STEP_TIMEOUT_MS   per step (default 8000)
//
// Besides the profile screenshot it saves `<name>-provider.png` (the provider's sign-in page),
// `<name>-signed-out.png`, and on failure `<name>-failure.png`, next to it.
//
// Exit status 0 and one JSON summary line on stdout on success; otherwise a message on stderr
// saying which step failed, and a non-zero exit status.

import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS || 8_000);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const USERNAME = process.env.SIGNIN_USERNAME || 'alice';
const PASSWORD = process.env.SIGNIN_PASSWORD || 'alice-password';
const EXPECT_SUB = process.env.EXPECT_SUB || '';
const EXPECT_EMAIL = process.env.EXPECT_EMAIL || 'alice@example.com';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

class StepError extends Error {}

function fail(message) {
  throw new StepError(message);
}

function usage() {
  process.stderr.write('usage: node signin.mjs <app base URL> <screenshot path>\n');
  process.exit(64);
}

const [baseArg, screenshotArg] = process.argv.slice(2);
if (!baseArg || !screenshotArg) usage();
let base;
try {
  base = new URL(baseArg);
} catch {
  process.stderr.write(`signin: not a URL: ${baseArg}\n`);
  process.exit(64);
}
const appOrigin = base.origin;
const appUrl = (path) => new URL(path, base).toString();
const screenshotPath = resolve(screenshotArg);
// Side screenshots for a person to look at: `<name>-provider.png`, `<name>-signed-out.png`,
// and `<name>-failure.png` when a step fails.
const sidePath = (suffix) => screenshotPath.replace(/(\.png)?$/i, `-${suffix}.png`);

if (!existsSync(CHROMIUM)) {
  process.stderr.write(
    `signin: no browser at ${CHROMIUM}: install the Debian packages \`chromium\` and ` +
      '`chromium-driver` (scripts/test.sh does), or set CHROMIUM to a Chromium executable\n',
  );
  process.exit(3);
}

const started = Date.now();
const steps = [];
let currentStep = '(starting)';
let page;
let context;
let userDataDir;
const pageErrors = [];
const consoleErrors = [];
const navigations = [];
const httpErrors = [];

// A URL with its query values left out (codes, tokens and state are noise in a summary).
function shortUrl(raw) {
  try {
    const url = new URL(raw);
    const names = [...url.searchParams.keys()];
    return url.origin + url.pathname + (names.length ? `?${names.join('&')}` : '');
  } catch {
    return raw;
  }
}

// A hard stop: whatever hangs, the whole run ends within the overall budget.
const watchdog = setTimeout(async () => {
  process.stderr.write(
    `signin: FAILED: overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s exceeded during step "${currentStep}"` +
      (page ? ` (page at ${page.url()})` : '') +
      '\n',
  );
  await cleanup();
  process.exit(2);
}, OVERALL_TIMEOUT_MS);

async function cleanup() {
  if (context) {
    const closing = context.close().catch(() => {});
    context = undefined;
    await Promise.race([closing, new Promise((r) => setTimeout(r, 5_000))]);
  }
  if (userDataDir) {
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    userDataDir = undefined;
  }
}

async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  const value = await fn();
  if (pageErrors.length) fail(`a script error on the page: ${pageErrors.join('; ')}`);
  steps.push({ step: name, ms: Date.now() - t0 });
  return value;
}

async function textOf(selector) {
  const locator = page.locator(selector);
  const count = await locator.count();
  if (count !== 1) fail(`expected exactly one ${selector} on ${page.url()}, found ${count}`);
  return (await locator.innerText()).trim();
}

// Clicks `selector` and waits until the page has settled on a URL that `accept` likes.
async function clickAndWaitFor(selector, accept, what) {
  const target = page.locator(selector);
  if ((await target.count()) !== 1) fail(`no single ${selector} to click on ${page.url()}`);
  await Promise.all([
    page
      .waitForURL((url) => accept(url), { timeout: STEP_TIMEOUT_MS, waitUntil: 'load' })
      .catch(() => fail(`after clicking ${selector}, expected ${what}; the page is at ${page.url()}`)),
    target.click(),
  ]);
}

async function pageStatus(path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
      redirect: 'manual',
    });
    let body = null;
    try {
      body = await r.json();
    } catch {
      body = null;
    }
    return { status: r.status, body };
  }, path);
}

async function run() {
  userDataDir = await mkdtemp(join(tmpdir(), 'ping-oidc-chromium-'));
  context = await step('launch chromium', () =>
    chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 700 },
      timeout: 20_000,
      locale: 'en-US',
    }),
  );
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      consoleErrors.push(m.text());
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) httpErrors.push(`${r.status()} ${r.request().method()} ${shortUrl(r.url())}`);
  });
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) {
      navigations.push({ method: r.method(), url: r.url() });
    }
  });
  const userAgent = await page.evaluate(() => navigator.userAgent);

  await step('open the home page signed out', async () => {
    const response = await page.goto(appUrl('/'), { waitUntil: 'load' });
    if (!response || response.status() !== 200) {
      fail(`GET / answered ${response ? response.status() : 'nothing'}`);
    }
    const status = await textOf('#status');
    if (!/not signed in/i.test(status)) fail(`#status says "${status}", expected "not signed in"`);
  });

  let providerOrigin;
  await step('click sign-in, reach the provider', async () => {
    await clickAndWaitFor(
      '#sign-in',
      (url) => url.origin !== appOrigin,
      "the provider's sign-in page (another origin)",
    );
    providerOrigin = new URL(page.url()).origin;
    for (const field of ['username', 'password']) {
      if ((await page.locator(`form input[name="${field}"]`).count()) !== 1) {
        fail(`the provider's page at ${page.url()} has no single "${field}" field`);
      }
    }
    await page.screenshot({ path: sidePath('provider'), fullPage: true });
  });

  await step('fill the sign-in form and submit', async () => {
    await page.locator('form input[name="username"]').fill(USERNAME);
    await page.locator('form input[name="password"]').fill(PASSWORD);
    await clickAndWaitFor(
      'form button[type="submit"]',
      (url) => url.origin === appOrigin && url.pathname === '/profile',
      `${appUrl('/profile')} (through the app's callback)`,
    );
  });

  const profile = await step('check the profile', async () => {
    const subject = await textOf('#subject');
    if (!subject) fail('#subject is empty');
    if (EXPECT_SUB && subject !== EXPECT_SUB) fail(`#subject is "${subject}", expected "${EXPECT_SUB}"`);
    const claims = await page.$$eval('#claims tr', (rows) =>
      Object.fromEntries(
        rows.map((row) => [
          row.querySelector('th')?.textContent?.trim() ?? '',
          row.querySelector('td')?.textContent?.trim() ?? '',
        ]),
      ),
    );
    if (Object.keys(claims).length === 0) fail('the #claims table has no rows');
    if (claims.email !== EXPECT_EMAIL) {
      fail(`the claims table shows email ${JSON.stringify(claims.email)}, expected "${EXPECT_EMAIL}"`);
    }
    if (claims.sub !== undefined && claims.sub !== subject) {
      fail(`the claims table's sub "${claims.sub}" differs from #subject "${subject}"`);
    }
    return { subject, claims };
  });

  await step('/api/me answers 200 signed in', async () => {
    const me = await pageStatus('/api/me');
    if (me.status !== 200) fail(`GET /api/me from the profile page answered ${me.status}, expected 200`);
    if (!me.body || me.body.sub !== profile.subject) {
      fail(`GET /api/me gave sub ${JSON.stringify(me.body?.sub)}, expected "${profile.subject}"`);
    }
  });

  await step('screenshot the profile', async () => {
    await mkdir(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true, type: 'png' });
  });

  await step('sign out through the provider', async () => {
    const before = navigations.length;
    await clickAndWaitFor(
      '#sign-out',
      (url) => url.origin === appOrigin && url.pathname === '/',
      `${appUrl('/')} (after the provider's end-session redirect)`,
    );
    const hops = navigations.slice(before);
    if (!hops.some((n) => new URL(n.url).origin === providerOrigin)) {
      fail(
        `signing out never reached the provider (${providerOrigin}); navigations: ` +
          hops.map((n) => `${n.method} ${shortUrl(n.url)}`).join(' -> '),
      );
    }
    const status = await textOf('#status');
    if (!/not signed in/i.test(status)) {
      fail(`after sign-out #status says "${status}", expected "not signed in"`);
    }
    await page.screenshot({ path: sidePath('signed-out'), fullPage: true });
  });

  await step('/api/me answers 401 signed out', async () => {
    const me = await pageStatus('/api/me');
    if (me.status !== 401) fail(`GET /api/me after sign-out answered ${me.status}, expected 401`);
  });

  return {
    ok: true,
    app: appOrigin,
    provider: providerOrigin,
    subject: profile.subject,
    claims: profile.claims,
    screenshot: screenshotPath,
    browser: userAgent,
    navigations: navigations.map((n) => `${n.method} ${shortUrl(n.url)}`),
    httpErrors,
    consoleErrors,
    steps,
    totalMs: Date.now() - started,
  };
}

try {
  const summary = await run();
  clearTimeout(watchdog);
  await cleanup();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
} catch (e) {
  clearTimeout(watchdog);
  const where = page ? ` (page at ${page.url()})` : '';
  const message = e instanceof Error ? e.message : String(e);
  let snippet = '';
  if (page) {
    snippet = await page
      .evaluate(() => document.body?.innerText ?? '')
      .then((t) => `\npage text: ${t.replace(/\s+/g, ' ').slice(0, 400)}`)
      .catch(() => '');
  }
  let shot = '';
  if (page) {
    shot = await page
      .screenshot({ path: sidePath('failure'), fullPage: true, timeout: 3_000 })
      .then(() => `\nscreenshot of the failing page: ${sidePath('failure')}`)
      .catch(() => '');
  }
  process.stderr.write(`signin: FAILED at step "${currentStep}"${where}: ${message}${snippet}${shot}\n`);
  if (navigations.length) {
    process.stderr.write(
      `navigations: ${navigations.map((n) => `${n.method} ${shortUrl(n.url)}`).join(' -> ')}\n`,
    );
  }
  if (httpErrors.length) process.stderr.write(`HTTP errors: ${httpErrors.join(', ')}\n`);
  await cleanup();
  process.exit(1);
}
