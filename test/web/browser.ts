/**
 * Helpers for the web app tests: a real Chromium (the Debian package, driven
 * by playwright-core) against a real Parley server serving dist/web.
 */
import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

if (!hasChromium) {
  if (process.env.CI === 'true') throw new Error(`Chromium is required for the web app tests under CI (apt-get install chromium); not found at ${CHROMIUM}`);
  console.warn(`\n*** SKIPPING the web app tests: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

/**
 * One server (with `env`) and one browser for a test file, started before its
 * tests and closed after them; nothing when Chromium is missing (the tests skip).
 */
export function webSuite(env: Record<string, string> = {}): { srv: TestServer; browser: Browser } {
  const suite = {} as { srv: TestServer; browser: Browser };
  before(async () => {
    if (!hasChromium) return;
    suite.srv = await startServer(env);
    suite.browser = await launch();
  });
  after(async () => {
    if (!hasChromium) return;
    await suite.browser.close();
    await suite.srv.close();
  });
  return suite;
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors in the page: a test ends by asserting there were none (see done). */
  errors: string[];
}

/** A person in their own browser context (their own localStorage), on the app's login page. */
export async function person(browser: Browser, base: string, viewport = DESKTOP): Promise<Person> {
  const context = await browser.newContext({ viewport, baseURL: base, deviceScaleFactor: 1 });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto('/');
  return { context, page, errors };
}

/** Logs in from the form and waits for the home screen. */
export async function logIn(p: Person, username: string): Promise<void> {
  await p.page.getByLabel('Username').fill(username);
  await p.page.getByRole('button', { name: 'Log in' }).click();
  await p.page.getByTestId('me').filter({ hasText: username }).waitFor();
}

/** Opens a direct chat with `user` through the New chat dialog. */
export async function startChat(p: Person, user: string): Promise<void> {
  await p.page.getByRole('button', { name: 'New chat' }).first().click();
  await p.page.getByRole('dialog').getByLabel('Username').fill(user);
  await p.page.keyboard.press('Enter');
  await p.page.getByRole('heading', { name: user, level: 2 }).waitFor();
}

export async function say(p: Person, text: string): Promise<void> {
  const box = p.page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/** The list item of a conversation on the home screen. */
export const listItem = (p: Person, title: string) => p.page.locator(`li.conversation[data-title="${title}"]`);

/** Messages in the open conversation with exactly this text. */
export const bubbles = (p: Person, text: string) => p.page.locator('.timeline li.msg').filter({ has: p.page.locator('p.text', { hasText: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) });

/** Polls `read` until `ok` holds; fails with what was last seen. */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T;
  for (;;) {
    last = await read();
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ends a test's browser sessions: no page had an uncaught error, then their contexts close. */
export async function done(...people: Person[]): Promise<void> {
  const errors = people.flatMap((p) => p.errors);
  for (const p of people) await p.context.close();
  if (errors.length > 0) throw new Error(`uncaught errors in the app: ${errors.join('; ')}`);
}
