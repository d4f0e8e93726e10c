import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '@parley/testing';

// What the browser tests of the demo page share: Chromium (Debian's package; `npm test` and `npm run test:browser`
// run tools/ensure-test-packages.sh first, which installs it with apt-get where missing), a page per browser
// context (each its own sessionStorage, so its own user), and the steps every test takes on the page.

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** PARLEY_UPDATE_SCREENSHOTS=1 writes the screenshots to docs/screenshots/ (else to a temp dir). */
export const SCREENSHOTS = process.env.PARLEY_UPDATE_SCREENSHOTS
  ? join(REPO_ROOT, 'docs/screenshots')
  : join(tmpdir(), 'parley-screenshots');

/**
 * The page's globals, typed just enough for the functions run in the page (this tsconfig has no DOM lib). Those
 * functions are sent to the page as source: they use `globalThis` cast to this, never a binding of this module.
 */
export interface PageGlobals {
  document: {
    querySelector(
      selector: string,
    ): { getAttribute(name: string): string | null; textContent: string | null } | null;
    querySelectorAll(selector: string): Iterable<{ textContent: string | null }> & { length: number };
    body: { textContent: string | null };
  };
  sessionStorage: { getItem(key: string): string | null };
  pwned?: number;
}

/** Fails early, with what to do, when Chromium or the browser SDK is missing. */
export function checkPrerequisites(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install Debian's package: "apt-get install -y chromium" ` +
        '(or set PARLEY_CHROMIUM to a Chromium binary); `npm test` does so where it runs as root.',
    );
  }
  if (!existsSync(join(REPO_ROOT, 'dist/apps/gateway/public/sdk/client/src/index.js'))) {
    throw new Error('The browser SDK is not built: run "npm run build" (or "npm run build:web") first');
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export type DemoPage = Page & { problems: string[] };

/** A page in a browser context of its own; `problems` collects its page errors and console errors. */
export async function openPage(browser: Browser, contexts: BrowserContext[], url: string): Promise<DemoPage> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 640 }, colorScheme: 'light' });
  contexts.push(context);
  const page = (await context.newPage()) as DemoPage;
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(`${msg.text()} ${msg.location().url}`));
  page.problems = problems;
  await page.goto(url);
  return page;
}

export async function register(page: Page, username: string, displayName: string): Promise<void> {
  await page.locator('#username').fill(username);
  await page.locator('#password').fill('correct horse battery');
  await page.locator('#display-name').fill(displayName);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.locator('#app').waitFor({ state: 'visible' });
  await page.locator('#conn[data-state="connected"]').waitFor();
}

export const conversationButton = (page: Page, name: string) =>
  page.locator('#conversations button', { hasText: name });

/** Waits until `page` shows a message bubble whose text is exactly `text`. */
export async function seeMessage(page: Page, text: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    (t) =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#messages .bubble')].some(
        (b) => b.textContent === t,
      ),
    text,
    { timeout },
  );
}

/** How many message bubbles of `page` have exactly this text. */
export function countMessages(page: Page, text: string): Promise<number> {
  return page.evaluate(
    (t) =>
      [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#messages .bubble')].filter(
        (b) => b.textContent === t,
      ).length,
    text,
  );
}
