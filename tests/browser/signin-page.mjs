#!/usr/bin/env node
// Real-browser test of the embedded, server-rendered sign-in page (`GET/POST /auth/signin`).
//
//   APP_URL=… CONTROL_URL=… ARTIFACTS=… PREFIX=… node signin-page.mjs
//
// Headless Debian Chromium (never a downloaded browser) walks each scenario below in a fresh
// browser context, starting at `{APP_URL}/auth/signin?return_to=/profile`. On every sign-in page
// step it checks the markup the page promises (ids, roles, ARIA wiring), saves a full-page
// screenshot and runs axe-core inside the page: a violation of impact `serious` or `critical`
// fails the run. A completed sign-in must land on `{APP_URL}/profile` (non-empty
// `<code id="subject">`), which is screenshotted (`signed-in`) before signing out with `#sign-out`.
//
// Scenarios, in this order (users of the development provider):
//   password         alice: typed with the keyboard only (autofocus, Tab order, Enter)
//   wrong-password   alice with a wrong password: HTTP 400, #form-error, then the right one
//   mfa              otp-user: device choice, one-time code (a wrong one first, then 123456)
//   push             push-user: push wait page, approved through the control server
//   change-password  change-user: mismatched confirmation first, then a new password
//   expired          alice: the provider forgets the flow mid-way; the page restarts it
//
// Every `/auth/signin` page response must carry `content-security-policy` with
// `frame-ancestors 'none'` and `cache-control` with `no-store`; any console message or page
// error mentioning `Content Security Policy` or `Refused to` fails the run, and so does any
// uncaught script error on a page.
//
// Environment:
//   APP_URL          required: the app's base URL, e.g. http://127.0.0.1:40123
//   CONTROL_URL      required: the test-control server (POST /expire-flows, POST /approve-push)
//   ARTIFACTS        required: directory for screenshots (created)
//   PREFIX           required: screenshot file-name prefix, e.g. axum-pingone
//   SCENARIOS        comma-separated subset of the scenarios above (default: all)
//   JAVASCRIPT       on (default) or off: with off the pages run no script; axe, the keyboard
//                    and focus checks and the phone-width overflow check are skipped, and the
//                    push page must move on through its <meta http-equiv="refresh"> (15 s)
//   THEME            optional JSON {"lang","primary","logo","stylesheet_marker","product"}:
//                    checked on every sign-in page step; screenshot names end in `-themed`
//   CHROMIUM         browser executable (default /usr/bin/chromium)
//   STEP_TIMEOUT_MS  per step (default 8000)
//
// Screenshots: `${ARTIFACTS}/${PREFIX}-${scenario}-${nn}-${label}[-themed].png` (nn counts the
// steps of a scenario from 01; the first step also has a 375 px wide `…-${label}-phone` shot),
// and on failure `${PREFIX}-${scenario}-failure[-themed].png`.
//
// Exit status 0 and one JSON summary line on stdout on success; otherwise a message on stderr
// naming the scenario and step that failed, and a non-zero exit status (64: bad usage, 3: no
// browser, 2: overall timeout of 150 s, 1: a failed check).

import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const OVERALL_TIMEOUT_MS = 150_000;
const STEP_TIMEOUT_MS = Number(process.env.STEP_TIMEOUT_MS || 8_000);
// The no-script push page refreshes itself every 5 s: give it three refreshes.
const NOSCRIPT_PUSH_TIMEOUT_MS = 15_000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ALL_SCENARIOS = ['password', 'wrong-password', 'mfa', 'push', 'change-password', 'expired'];
// Run only when asked (SCENARIOS): the provider must be set up for identifier-first sign-in.
const OPTIONAL_SCENARIOS = ['identifier-first'];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };
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
// What Chromium says when a Content Security Policy blocks something. Recent Chromium says
// "… violates the following Content Security Policy directive …"; older ones "Refused to …".
const CSP_MESSAGE = /Content Security Policy|Refused to/i;
const USERS = {
  alice: 'alice-password',
  'otp-user': 'otp-password',
  'push-user': 'push-password',
  'change-user': 'change-password',
};
const GOOD_OTP = '123456';
const NEW_PASSWORD = 'new-password-1';

class StepError extends Error {}

function fail(message) {
  throw new StepError(message);
}

function usage(problem) {
  process.stderr.write(
    `signin-page: ${problem}\n` +
      'usage: APP_URL=<app base URL> CONTROL_URL=<control server URL> ARTIFACTS=<dir> PREFIX=<name> ' +
      `[SCENARIOS=${ALL_SCENARIOS.join(',')}] [JAVASCRIPT=on|off] [THEME=<json>] node signin-page.mjs\n`,
  );
  process.exit(64);
}

function parseUrl(name) {
  const raw = process.env[name];
  if (!raw) usage(`${name} is not set`);
  try {
    return new URL(raw);
  } catch {
    return usage(`${name} is not a URL: ${raw}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration

const APP_URL = process.env.APP_URL || '';
const appBase = parseUrl('APP_URL');
const controlBase = parseUrl('CONTROL_URL');
if (!process.env.ARTIFACTS) usage('ARTIFACTS is not set');
if (!process.env.PREFIX) usage('PREFIX is not set');
const ARTIFACTS = resolve(process.env.ARTIFACTS);
const PREFIX = process.env.PREFIX;
if (!Number.isFinite(STEP_TIMEOUT_MS) || STEP_TIMEOUT_MS <= 0) {
  usage(`STEP_TIMEOUT_MS is not a positive number: ${process.env.STEP_TIMEOUT_MS}`);
}

const JAVASCRIPT = (process.env.JAVASCRIPT || 'on').trim().toLowerCase();
if (JAVASCRIPT !== 'on' && JAVASCRIPT !== 'off') usage(`JAVASCRIPT must be on or off, not ${JAVASCRIPT}`);
const JS = JAVASCRIPT === 'on';

const SCENARIOS = process.env.SCENARIOS
  ? process.env.SCENARIOS.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : ALL_SCENARIOS;
for (const name of SCENARIOS) {
  const known = [...ALL_SCENARIOS, ...OPTIONAL_SCENARIOS];
  if (!known.includes(name)) usage(`unknown scenario "${name}" (known: ${known.join(', ')})`);
}
if (SCENARIOS.length === 0) usage('SCENARIOS names no scenario');

let THEME = null;
if (process.env.THEME && process.env.THEME.trim()) {
  try {
    THEME = JSON.parse(process.env.THEME);
  } catch (e) {
    usage(`THEME is not JSON: ${e.message}`);
  }
  if (!THEME || typeof THEME !== 'object' || Array.isArray(THEME)) usage('THEME must be a JSON object');
}
const THEMED_SUFFIX = THEME ? '-themed' : '';

// The app may live under a path: `{APP_URL}/auth/signin` keeps it.
const basePath = appBase.pathname.replace(/\/+$/, '');
const appOrigin = appBase.origin;
const appUrl = (path) => `${appOrigin}${basePath}${path}`;
const SIGNIN_PATH = `${basePath}/auth/signin`;
const PROFILE_PATH = `${basePath}/profile`;
const START_URL = appUrl('/auth/signin?return_to=/profile');
const controlUrl = (path) => `${controlBase.origin}${controlBase.pathname.replace(/\/+$/, '')}${path}`;

const isAppPath = (path) => (url) => url.origin === appOrigin && url.pathname === path;
const isProfile = isAppPath(PROFILE_PATH);
const isHome = (url) =>
  url.origin === appOrigin && (url.pathname === `${basePath}/` || (basePath !== '' && url.pathname === basePath));

if (!existsSync(CHROMIUM)) {
  process.stderr.write(
    `signin-page: no browser at ${CHROMIUM}: install the Debian packages \`chromium\` and ` +
      '`chromium-driver` (scripts/test.sh does), or set CHROMIUM to a Chromium executable\n',
  );
  process.exit(3);
}

const require = createRequire(import.meta.url);
let AXE_SOURCE;
let AXE_VERSION;
try {
  AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  AXE_VERSION = require('axe-core/package.json').version;
} catch (e) {
  process.stderr.write(
    `signin-page: axe-core is not installed (${e.code || e.message}): run \`npm ci\` in tests/browser\n`,
  );
  process.exit(3);
}

// ---------------------------------------------------------------------------------------------
// Run state

const started = Date.now();
const where = { scenario: '(none)', step: '(starting)' };
let browser;
let context;
let page;
let failed = false;
// Per scenario: what the page listeners saw, checked at every step.
let problems = [];
let pendingChecks = [];
let navigations = [];
let lastDocument = null;
const consoleErrors = [];
const results = [];

// A URL with its query values left out (codes, tokens and state are noise in a message).
function shortUrl(raw) {
  try {
    const url = new URL(raw);
    const names = [...url.searchParams.keys()];
    return url.origin + url.pathname + (names.length ? `?${names.join('&')}` : '');
  } catch {
    return raw;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new StepError(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}

// Retries `fn` while it throws a StepError, for up to `ms`; then throws its last error.
async function retrying(fn, ms = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof StepError) || Date.now() >= deadline) throw e;
      await sleep(100);
    }
  }
}

function shotPath(label) {
  const nn = String(results.at(-1).steps.length + 1).padStart(2, '0');
  return join(ARTIFACTS, `${PREFIX}-${where.scenario}-${nn}-${label}${THEMED_SUFFIX}.png`);
}

function failurePath() {
  return join(ARTIFACTS, `${PREFIX}-${where.scenario}-failure${THEMED_SUFFIX}.png`);
}

async function closeBrowser() {
  if (!browser) return;
  const closing = browser.close().catch(() => {});
  browser = undefined;
  context = undefined;
  await Promise.race([closing, sleep(5_000)]);
}

// What the page says about itself, for failure messages.
async function describePage() {
  if (!page) return '';
  try {
    const parts = [`page at ${shortUrl(page.url())}`];
    if (lastDocument) parts.push(`HTTP ${lastDocument.status}`);
    const main = page.locator('main#signin');
    if ((await main.count()) === 1) parts.push(`data-step="${await main.getAttribute('data-step')}"`);
    for (const id of ['step-title', 'form-error', 'notice']) {
      const loc = page.locator(`#${id}`);
      if ((await loc.count()) === 1) {
        const text = (await loc.innerText({ timeout: 1_000 })).replace(/\s+/g, ' ').trim();
        if (text) parts.push(`#${id}: "${text.slice(0, 200)}"`);
      }
    }
    return parts.join(', ');
  } catch {
    return page ? `page at ${shortUrl(page.url())}` : '';
  }
}

// A hard stop: whatever hangs, the whole run ends within the overall budget.
const watchdog = setTimeout(async () => {
  failed = true;
  process.stderr.write(
    `signin-page: FAILED: overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s exceeded in scenario ` +
      `"${where.scenario}" at step "${where.step}"` +
      (page ? ` (page at ${shortUrl(page.url())})` : '') +
      '\n',
  );
  if (page) {
    await page
      .screenshot({ path: failurePath(), fullPage: true, timeout: 3_000 })
      .then(() => process.stderr.write(`screenshot of the page: ${failurePath()}\n`))
      .catch(() => {});
  }
  await closeBrowser();
  process.exit(2);
}, OVERALL_TIMEOUT_MS);

// ---------------------------------------------------------------------------------------------
// Page plumbing

function watchPage() {
  page.on('pageerror', (e) => {
    const text = String(e);
    problems.push(
      CSP_MESSAGE.test(text)
        ? `a Content Security Policy error on ${shortUrl(page.url())}: ${text}`
        : `a script error on ${shortUrl(page.url())}: ${text}`,
    );
  });
  page.on('console', (m) => {
    const text = m.text();
    if (CSP_MESSAGE.test(text)) {
      problems.push(`the console reports a Content Security Policy problem on ${shortUrl(page.url())}: ${text}`);
    } else if (m.type() === 'error' && !text.startsWith('Failed to load resource')) {
      consoleErrors.push(`${where.scenario}: ${text}`);
    }
  });
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) {
      navigations.push(`${r.method()} ${shortUrl(r.url())}`);
    }
  });
  page.on('response', (response) => {
    const request = response.request();
    if (request.resourceType() !== 'document' || response.frame() !== page.mainFrame()) return;
    const status = response.status();
    if (status >= 300 && status < 400) return; // a redirect hop, not a page
    lastDocument = { status, url: response.url(), method: request.method() };
    let url;
    try {
      url = new URL(response.url());
    } catch {
      return;
    }
    if (!isAppPath(SIGNIN_PATH)(url)) return;
    const what = `${request.method()} ${shortUrl(response.url())} (HTTP ${status})`;
    pendingChecks.push(
      withTimeout(response.allHeaders(), 3_000, 'reading response headers')
        .catch(() => response.headers())
        .then((headers) => {
          const csp = (headers['content-security-policy'] || '').toLowerCase();
          const cache = (headers['cache-control'] || '').toLowerCase();
          if (!/frame-ancestors\s+'none'/.test(csp)) {
            problems.push(
              `${what}: content-security-policy ${csp ? `"${csp}"` : 'is missing'}, expected it to contain frame-ancestors 'none'`,
            );
          }
          if (!/(^|[\s,])no-store([\s,;]|$)/.test(cache)) {
            problems.push(`${what}: cache-control ${cache ? `"${cache}"` : 'is missing'}, expected it to contain no-store`);
          }
        })
        .catch((e) => problems.push(`${what}: could not read its headers: ${e.message}`)),
    );
  });
}

// Fails the step on anything the listeners saw since the last checkpoint.
async function checkpoint() {
  const pending = pendingChecks;
  pendingChecks = [];
  await Promise.all(pending);
  if (problems.length) fail(problems.join('\n  '));
}

async function one(selector) {
  const locator = page.locator(selector);
  const count = await locator.count();
  if (count !== 1) fail(`expected exactly one ${selector}, found ${count}`);
  return locator;
}

async function textOf(selector) {
  return ((await (await one(selector)).innerText()) || '').replace(/\s+/g, ' ').trim();
}

async function attrOf(selector, name) {
  return (await one(selector)).getAttribute(name);
}

async function expectAttr(selector, name, expected) {
  const value = await attrOf(selector, name);
  if (value !== expected) fail(`${selector} has ${name}=${JSON.stringify(value)}, expected "${expected}"`);
}

async function expectVisibleText(selector, role) {
  const locator = await one(selector);
  if (!(await locator.isVisible())) fail(`${selector} is not visible`);
  const text = await textOf(selector);
  if (!text) fail(`${selector} is empty`);
  if (role) await expectAttr(selector, 'role', role);
  return text;
}

async function describedBy(selector) {
  return ((await attrOf(selector, 'aria-describedby')) || '').split(/\s+/).filter(Boolean);
}

// A refusal: a visible, non-empty #form-error (role=alert), and the field at fault marked.
async function expectRefusal(fieldSelector) {
  const text = await expectVisibleText('#form-error', 'alert');
  const remaining = await attrOf('#form-error', 'data-attempts-remaining');
  if (remaining !== null && !text.includes(remaining)) {
    fail(`#form-error has data-attempts-remaining="${remaining}" but its text does not say it: "${text}"`);
  }
  await expectAttr(fieldSelector, 'aria-invalid', 'true');
  const ids = await describedBy(fieldSelector);
  if (!ids.includes('form-error')) {
    fail(`${fieldSelector} has aria-describedby="${ids.join(' ')}", expected it to include form-error`);
  }
  return text;
}

async function activeElementId() {
  return page.evaluate(() => (document.activeElement ? document.activeElement.id : ''));
}

async function expectFocus(id, what) {
  await retrying(async () => {
    const active = await activeElementId();
    if (active !== id) fail(`${what}: the focus is on ${active ? `#${active}` : 'no element with an id'}, expected #${id}`);
  }, 2_000);
}

function normalizeColor(raw) {
  const value = String(raw).trim().toLowerCase();
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(value);
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join('') : hex[1];
    return `rgb(${parseInt(h.slice(0, 2), 16)}, ${parseInt(h.slice(2, 4), 16)}, ${parseInt(h.slice(4, 6), 16)})`;
  }
  return value.replace(/\s+/g, '').replace(/,/g, ', ');
}

async function backgroundOf(selector) {
  return (await one(selector)).evaluate((el) => getComputedStyle(el).backgroundColor);
}

async function checkTheme() {
  if ('lang' in THEME) {
    const lang = await page.locator('html').getAttribute('lang');
    if (lang !== THEME.lang) fail(`<html lang> is ${JSON.stringify(lang)}, expected "${THEME.lang}"`);
  }
  if ('product' in THEME) {
    const name = await textOf('#brand-name');
    if (name !== THEME.product) fail(`#brand-name says "${name}", expected "${THEME.product}"`);
  }
  if (THEME.logo === true) {
    if ((await page.locator('img#brand-logo').count()) !== 1) {
      fail(`expected #brand-logo to be an <img> (found ${await page.locator('#brand-logo').count()} #brand-logo)`);
    }
    await retrying(async () => {
      const width = await page.locator('#brand-logo').evaluate((img) => (img.complete ? img.naturalWidth : 0));
      if (!(width > 0)) {
        const src = await page.locator('#brand-logo').getAttribute('src');
        fail(`#brand-logo (src ${JSON.stringify(src)}) did not load: naturalWidth is ${width}`);
      }
    });
  } else if (THEME.logo === false && (await page.locator('#brand-logo').count()) !== 0) {
    fail('#brand-logo is present but THEME says no logo is configured');
  }
  // Computed colours may pass through a CSS transition (hover, focus): give them a moment.
  if ('stylesheet_marker' in THEME) {
    await retrying(async () => {
      const bg = await backgroundOf('main#signin');
      if (normalizeColor(bg) !== normalizeColor(THEME.stylesheet_marker)) {
        fail(`main#signin has background-color ${bg}, expected ${THEME.stylesheet_marker} (the custom stylesheet did not apply)`);
      }
    }, 3_000);
  }
  if ('primary' in THEME && (await page.locator('#submit').count()) > 0) {
    await retrying(async () => {
      const bg = await backgroundOf('#submit');
      if (normalizeColor(bg) !== normalizeColor(THEME.primary)) {
        fail(`#submit has background-color ${bg}, expected the primary colour ${THEME.primary}`);
      }
    }, 3_000);
  }
}

function flattenTarget(target) {
  return (target || []).map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))).join(' ');
}

// Runs axe-core inside the page. The source goes in through the DevTools protocol (not a
// <script> tag), so the page's Content Security Policy neither blocks it nor reports it.
async function runAxe() {
  const violations = await withTimeout(
    (async () => {
      await page.evaluate(`${AXE_SOURCE}\n;void 0;`);
      return page.evaluate(async () => {
        // No preload: axe would fetch cross-origin stylesheets itself, which the page's
        // `connect-src 'self'` rightly blocks (and reports as a CSP problem).
        const result = await window.axe.run(document, { resultTypes: ['violations'], preload: false });
        return result.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary || '' })),
        }));
      });
    })(),
    Math.max(STEP_TIMEOUT_MS, 20_000),
    'axe-core',
  );
  const serious = violations.filter((v) => v.impact === 'serious');
  const critical = violations.filter((v) => v.impact === 'critical');
  const summary = { violations: violations.length, serious: serious.length, critical: critical.length };
  if (serious.length || critical.length) {
    const lines = [...critical, ...serious].map((v) => {
      const targets = v.nodes.map((n) => flattenTarget(n.target));
      const detail = v.nodes[0]?.summary ? ` (${v.nodes[0].summary.replace(/\s+/g, ' ').trim().slice(0, 300)})` : '';
      return `${v.id} [${v.impact}] on ${targets.join(', ')}: ${v.help}${detail} ${v.helpUrl}`;
    });
    fail(`axe-core ${AXE_VERSION} found ${critical.length} critical and ${serious.length} serious violations:\n  ${lines.join('\n  ')}`);
  }
  return summary;
}

async function phoneCheck(label) {
  const screenshot = shotPath(`${label}-phone`);
  await page.setViewportSize(PHONE);
  try {
    await page.screenshot({ path: screenshot, fullPage: true });
    if (JS) {
      const overflow = await page.evaluate(() => {
        const width = window.innerWidth;
        const scrollWidth = document.documentElement.scrollWidth;
        if (scrollWidth <= width) return null;
        const wide = [];
        for (const el of document.body.querySelectorAll('*')) {
          const r = el.getBoundingClientRect();
          if (r.right > width + 0.5 && wide.length < 5) {
            const cls = typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
            wide.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${cls} (right edge ${Math.round(r.right)})`);
          }
        }
        return { width, scrollWidth, wide };
      });
      if (overflow) {
        fail(
          `at ${PHONE.width} px wide the page scrolls sideways: scrollWidth ${overflow.scrollWidth} > innerWidth ${overflow.width}` +
            (overflow.wide.length ? `; too wide: ${overflow.wide.join(', ')}` : ''),
        );
      }
    }
  } finally {
    await page.setViewportSize(DESKTOP);
  }
  return screenshot;
}

// Clicks/presses (`act`) and waits for the next page to load (the URL may stay the same: a form
// posted to /auth/signin renders its answer in place).
async function submitAndLoad(act, what) {
  const before = lastDocument;
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: STEP_TIMEOUT_MS }).catch(async () => {
      fail(`${what}: no new page loaded within ${STEP_TIMEOUT_MS} ms (${await describePage()})`);
    }),
    act(),
  ]);
  if (lastDocument === before && response) lastDocument = { status: response.status(), url: response.url() };
  return response;
}

// Clicks/presses (`act`) and waits until the page has settled on a URL that `accept` likes.
async function actAndWaitFor(act, accept, what, timeout = STEP_TIMEOUT_MS) {
  await Promise.all([
    page.waitForURL(accept, { timeout, waitUntil: 'load' }).catch(async () => {
      fail(`expected ${what} within ${timeout} ms; ${await describePage()}`);
    }),
    act(),
  ]);
}

async function click(selector) {
  await (await one(selector)).click();
}

async function fillCredentials(username, password) {
  const user = page.locator('#username');
  if ((await user.count()) === 1 && (await user.isEditable())) await user.fill(username);
  await (await one('#password')).fill(password);
}

// One sign-in page step: waits for `main#signin[data-step=kind]`, runs the step's own checks,
// the theme checks, a screenshot and axe (and on a scenario's first step the phone check).
async function signinStep(label, kind, checks, { pageMayReload = false } = {}) {
  where.step = `${label} [data-step=${kind}]`;
  const main = page.locator(`main#signin[data-step="${kind}"]`);
  await main.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS }).catch(async () => {
    fail(`expected main#signin[data-step="${kind}"]; ${await describePage()}`);
  });
  const first = results.at(-1).steps.length === 0;
  // A page that refreshes itself (the push wait) may be replaced while it is being checked:
  // then check the new one, as long as it is still the same step.
  for (let attempt = 1; ; attempt++) {
    try {
      const entry = await checkStep(label, kind, checks, first);
      await checkpoint();
      results.at(-1).steps.push(entry);
      return entry;
    } catch (e) {
      const reloaded = /Execution context was destroyed|navigat|Target closed|frame was detached/i.test(String(e?.message));
      if (!pageMayReload || !reloaded || attempt >= 3) throw e;
      await page.waitForLoadState('load');
      await main.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    }
  }
}

async function checkStep(label, kind, checks, first) {
  // Keep the pointer off the page so :hover styles stay out of the colours and screenshots.
  await page.mouse.move(0, 0);
  if ((await page.locator('main#signin').count()) !== 1) fail('expected exactly one main#signin');
  if (!(await textOf('h1#step-title'))) fail('h1#step-title is empty');
  if (checks) await checks();
  if (THEME) await checkTheme();
  const screenshot = shotPath(label);
  await page.screenshot({ path: screenshot, fullPage: true });
  const entry = { label, screenshot };
  if (lastDocument) entry.http = lastDocument.status;
  entry.axe = JS ? await runAxe() : null;
  if (first) entry.phone = await phoneCheck(label);
  return entry;
}

// The app's profile page after a completed sign-in, then sign-out through the provider.
async function signedInAndOut() {
  where.step = 'signed-in (profile)';
  const subject = await textOf('code#subject');
  if (!subject) fail('code#subject on the profile page is empty');
  const screenshot = shotPath('signed-in');
  await page.screenshot({ path: screenshot, fullPage: true });
  await checkpoint();
  results.at(-1).steps.push({ label: 'signed-in', screenshot, axe: null, subject });

  where.step = 'sign out';
  await actAndWaitFor(() => click('#sign-out'), isHome, `${appUrl('/')} after signing out`);
  await checkpoint();
  return subject;
}

async function expectSignedIn(act, what) {
  await actAndWaitFor(act, isProfile, `${appUrl('/profile')} (${what})`);
  await checkpoint();
}

async function control(path, { retryOn409 = false } = {}) {
  const url = controlUrl(path);
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    let response;
    try {
      response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
    } catch (e) {
      fail(`POST ${url} failed: ${e.cause?.message || e.message}`);
    }
    if (response.status === 409 && retryOn409 && Date.now() + 200 < deadline) {
      await response.arrayBuffer().catch(() => {});
      await sleep(200);
      continue;
    }
    const body = (await response.text().catch(() => '')).slice(0, 300);
    if (response.status < 200 || response.status >= 300) {
      const retried = response.status === 409 && retryOn409 ? ` (still, after retrying every 200 ms for ${STEP_TIMEOUT_MS} ms)` : '';
      fail(`POST ${url} answered ${response.status}${retried}${body ? `: ${body}` : ''}`);
    }
    return response.status;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

async function openCredentials(extra) {
  where.step = 'open the sign-in page';
  const response = await page.goto(START_URL, { waitUntil: 'load' }).catch((e) => {
    fail(`GET ${START_URL} failed: ${e.message.split('\n')[0]}`);
  });
  if (!response) fail(`GET ${START_URL} gave no response`);
  if (response.status() >= 400) fail(`GET ${START_URL} answered ${response.status()}`);
  await signinStep('credentials', 'credentials', async () => {
    await one('form#step-form');
    await one('#username');
    await one('#password');
    await one('#submit');
    if (extra) await extra();
  });
}

async function submitCredentials(username, password, label = 'submit the credentials') {
  where.step = label;
  await fillCredentials(username, password);
  return submitAndLoad(() => click('#submit'), label);
}

const scenarios = {
  async password() {
    await openCredentials(
      JS ? () => expectFocus('username', 'on load (autofocus)') : undefined,
    );
    if (!JS) {
      where.step = 'fill the credentials and submit';
      await fillCredentials('alice', USERS.alice);
      await expectSignedIn(() => click('#submit'), 'after submitting the credentials');
    } else {
      where.step = 'type the credentials with the keyboard';
      await expectFocus('username', 'before typing (after the checks of the page)');
      await page.keyboard.type('alice');
      await page.keyboard.press('Tab');
      await expectFocus('password', 'after Tab from #username');
      await page.keyboard.type(USERS.alice);
      await page.keyboard.press('Tab');
      await expectFocus('submit', 'after Tab from #password');
      const typed = await page.locator('#username').inputValue();
      if (typed !== 'alice') fail(`#username holds "${typed}" after typing "alice"`);
      if ((await page.locator('#password').inputValue()) !== USERS.alice) fail('#password does not hold what was typed');
      where.step = 'press Enter on #submit';
      await expectSignedIn(() => page.keyboard.press('Enter'), 'after pressing Enter on #submit');
    }
    await signedInAndOut();
  },

  async 'wrong-password'() {
    await openCredentials();
    await submitCredentials('alice', 'wrong', 'submit a wrong password');
    await signinStep('wrong-password', 'credentials', async () => {
      if (lastDocument?.status !== 400) fail(`the refused sign-in answered HTTP ${lastDocument?.status}, expected 400`);
      await expectRefusal('#password');
    });
    where.step = 'submit the right password';
    await fillCredentials('alice', USERS.alice);
    await expectSignedIn(() => click('#submit'), 'after the right password');
    await signedInAndOut();
  },

  async mfa() {
    await openCredentials();
    await submitCredentials('otp-user', USERS['otp-user']);
    const radios = page.locator('input[type=radio][name=device_id]');
    await signinStep('select-device', 'select_device', async () => {
      const count = await radios.count();
      if (count < 2) fail(`expected the two devices of otp-user as input[type=radio][name=device_id], found ${count}`);
      let checked = 0;
      for (let i = 0; i < count; i++) {
        const radio = radios.nth(i);
        if (await radio.isChecked()) checked++;
        const id = await radio.getAttribute('id');
        if (!id) fail(`radio ${i + 1} of ${count} has no id for a <label for> to point at`);
        const labels = page.locator(`label[for="${id.replace(/["\\]/g, '\\$&')}"]`);
        if ((await labels.count()) < 1) fail(`radio #${id} has no <label for="${id}">`);
        const text = ((await labels.first().innerText()) || '').trim();
        if (!text) fail(`the <label for="${id}"> is empty`);
      }
      if (checked !== 1) fail(`expected exactly one device radio checked by default, found ${checked}`);
      await one('#submit');
    });
    where.step = 'choose the second device and submit';
    await radios.nth(1).check();
    await submitAndLoad(() => click('#submit'), 'submit the device choice');
    await signinStep('otp', 'otp', async () => {
      await expectAttr('#otp', 'autocomplete', 'one-time-code');
      await expectAttr('#otp', 'inputmode', 'numeric');
      if (!(await textOf('#device-label'))) fail('#device-label is empty');
      await one('#submit');
    });
    where.step = 'submit a wrong code';
    await (await one('#otp')).fill('000000');
    await submitAndLoad(() => click('#submit'), 'submit a wrong code');
    await signinStep('wrong-otp', 'otp', () => expectRefusal('#otp'));
    where.step = 'submit the right code';
    await (await one('#otp')).fill(GOOD_OTP);
    await expectSignedIn(() => click('#submit'), 'after the right code');
    await signedInAndOut();
  },

  async push() {
    await openCredentials();
    await submitCredentials('push-user', USERS['push-user']);
    const step = page.locator('main#signin[data-step="select_device"], main#signin[data-step="push_wait"]');
    await step.first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS }).catch(async () => {
      fail(`expected main#signin[data-step="select_device"] or [data-step="push_wait"]; ${await describePage()}`);
    });
    if ((await step.first().getAttribute('data-step')) === 'select_device') {
      const radios = page.locator('input[type=radio][name=device_id]');
      let pushRadio = null;
      await signinStep('select-device', 'select_device', async () => {
        const count = await radios.count();
        if (count < 1) fail('the device choice has no input[type=radio][name=device_id]');
        for (let i = 0; i < count && !pushRadio; i++) {
          const id = await radios.nth(i).getAttribute('id');
          const label = id ? page.locator(`label[for="${id.replace(/["\\]/g, '\\$&')}"]`) : null;
          const text = label && (await label.count()) ? await label.first().innerText() : '';
          if (/push/i.test(text)) pushRadio = radios.nth(i);
        }
        await one('#submit');
      });
      where.step = 'choose the push device and submit';
      if (pushRadio) await pushRadio.check();
      await submitAndLoad(() => click('#submit'), 'submit the device choice');
    }
    await signinStep(
      'push-wait',
      'push_wait',
      async () => {
        await expectVisibleText('#push-status', 'status');
      },
      { pageMayReload: true },
    );
    where.step = 'approve the push (control server)';
    await control('/approve-push', { retryOn409: true });
    where.step = JS ? 'wait for the page to move on by itself' : 'wait for the <meta http-equiv="refresh"> to move on';
    const timeout = JS ? STEP_TIMEOUT_MS : Math.max(NOSCRIPT_PUSH_TIMEOUT_MS, STEP_TIMEOUT_MS);
    await actAndWaitFor(async () => {}, isProfile, `${appUrl('/profile')} after the push was approved`, timeout);
    await checkpoint();
    await signedInAndOut();
  },

  async 'change-password'() {
    await openCredentials();
    await submitCredentials('change-user', USERS['change-user']);
    const fill = async (current, next, confirm) => {
      await (await one('#current-password')).fill(current);
      await (await one('#new-password')).fill(next);
      await (await one('#confirm-password')).fill(confirm);
    };
    await signinStep('change-password', 'change_password', async () => {
      await expectAttr('#current-password', 'autocomplete', 'current-password');
      await expectAttr('#new-password', 'autocomplete', 'new-password');
      await one('#confirm-password');
      if (!(await textOf('#password-policy'))) fail('#password-policy is empty');
      const ids = await describedBy('#new-password');
      if (!ids.includes('password-policy')) {
        fail(`#new-password has aria-describedby="${ids.join(' ')}", expected it to include password-policy`);
      }
      await one('#submit');
    });
    where.step = 'submit a confirmation that does not match';
    await fill(USERS['change-user'], NEW_PASSWORD, 'new-password-2');
    await submitAndLoad(() => click('#submit'), 'submit a mismatched confirmation');
    await signinStep('mismatch', 'change_password', () => expectRefusal('#confirm-password'));
    where.step = 'submit the new password twice';
    await fill(USERS['change-user'], NEW_PASSWORD, NEW_PASSWORD);
    await expectSignedIn(() => click('#submit'), 'after changing the password');
    await signedInAndOut();
  },

  async 'identifier-first'() {
    where.step = 'open the sign-in page';
    const response = await page.goto(START_URL, { waitUntil: 'load' }).catch((e) => {
      fail(`GET ${START_URL} failed: ${e.message.split('\n')[0]}`);
    });
    if (!response || response.status() >= 400) fail(`GET ${START_URL} answered ${response?.status()}`);
    await signinStep('identifier', 'identifier', async () => {
      await expectAttr('#username', 'autocomplete', 'username');
      if ((await page.locator('#password').count()) !== 0) fail('the identifier step asks for a password');
      await one('#submit');
      if (JS) await expectFocus('username', 'on load (autofocus)');
    });
    where.step = 'submit the username';
    await (await one('#username')).fill('alice');
    await submitAndLoad(() => click('#submit'), 'submit the username');
    await signinStep('password', 'credentials', async () => {
      const shown = await page.locator('#username').inputValue();
      if (shown !== 'alice') fail(`#username shows "${shown}", expected the username just entered`);
      if (JS) await expectFocus('password', 'with the username known');
    });
    where.step = 'submit the password';
    await (await one('#password')).fill(USERS.alice);
    await expectSignedIn(() => click('#submit'), 'after the password');
    await signedInAndOut();
  },

  async expired() {
    await openCredentials();
    where.step = 'expire the flow (control server)';
    await control('/expire-flows');
    await submitCredentials('alice', USERS.alice, 'submit the credentials of an expired flow');
    await signinStep('restarted', 'credentials', async () => {
      await expectVisibleText('#notice', 'status');
      await one('#submit');
    });
    where.step = 'submit the credentials again';
    await fillCredentials('alice', USERS.alice);
    await expectSignedIn(() => click('#submit'), 'after the restarted sign-in');
    await signedInAndOut();
  },
};

// ---------------------------------------------------------------------------------------------

async function runScenario(name) {
  where.scenario = name;
  where.step = 'new browser context';
  problems = [];
  pendingChecks = [];
  navigations = [];
  lastDocument = null;
  results.push({ name, steps: [] });
  const t0 = Date.now();
  context = await browser.newContext({
    viewport: DESKTOP,
    javaScriptEnabled: JS,
    locale: THEME && typeof THEME.lang === 'string' ? THEME.lang : 'en-US',
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  page = await context.newPage();
  watchPage();
  await scenarios[name]();
  results.at(-1).ms = Date.now() - t0;
  where.step = 'close the browser context';
  await context.close();
  context = undefined;
  page = undefined;
}

async function run() {
  await mkdir(ARTIFACTS, { recursive: true });
  where.step = 'launch chromium';
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 20_000,
  });
  for (const name of SCENARIOS) await runScenario(name);
  return {
    ok: true,
    app: APP_URL,
    javascript: JAVASCRIPT,
    themed: Boolean(THEME),
    axe: AXE_VERSION,
    browser: browser.version(),
    scenarios: results,
    consoleErrors,
    totalMs: Date.now() - started,
  };
}

try {
  const summary = await run();
  clearTimeout(watchdog);
  await closeBrowser();
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
} catch (e) {
  if (failed) await new Promise(() => {}); // the watchdog is already reporting and exiting
  clearTimeout(watchdog);
  const message = e instanceof Error ? e.message : String(e);
  const detail = e instanceof StepError ? '' : `\n${e?.stack || ''}`;
  let pageText = '';
  if (page) {
    pageText = await page
      .evaluate(() => document.body?.innerText ?? '')
      .then((t) => `\npage text: ${t.replace(/\s+/g, ' ').slice(0, 400)}`)
      .catch(() => '');
  }
  let shot = '';
  if (page) {
    shot = await page
      .screenshot({ path: failurePath(), fullPage: true, timeout: 3_000 })
      .then(() => `\nscreenshot of the failing page: ${failurePath()}`)
      .catch(() => '');
  }
  process.stderr.write(
    `signin-page: FAILED in scenario "${where.scenario}" at step "${where.step}"` +
      (page ? ` (page at ${shortUrl(page.url())})` : '') +
      `: ${message}${detail}${pageText}${shot}\n`,
  );
  if (navigations.length) process.stderr.write(`navigations: ${navigations.join(' -> ')}\n`);
  await closeBrowser();
  process.exit(1);
}
