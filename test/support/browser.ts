import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where a Chromium or Chrome may be: TUNEWIRE_CHROMIUM first, then the usual names on PATH (Debian's `chromium`). */
const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The browser the page tests drive, or undefined when this machine has none (`apt-get install -y chromium`). */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TUNEWIRE_CHROMIUM) return env.TUNEWIRE_CHROMIUM;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of CANDIDATES) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * A headless Chromium. No sandbox where we run as root (CI containers), which Chromium insists on;
 * the pages it loads are our own, from 127.0.0.1.
 */
export function launchBrowser(executablePath: string): Promise<Browser> {
  return puppeteer.launch({
    executablePath,
    headless: true,
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

/** Everything a page reports as wrong: console errors, uncaught exceptions, failed requests. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()} (${message.location().url ?? 'no url'})`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error instanceof Error ? error.message : String(error)}`));
  page.on('requestfailed', (request) => {
    // a stream the page closes itself when it leaves a view is not a failure
    if (!request.url().includes('/events')) errors.push(`request: ${request.url()} ${request.failure()?.errorText ?? ''}`);
  });
  return errors;
}

/** Says loudly, once, that the browser tests are skipped here and how to run them. */
export function warnBrowserSkipped(): void {
  const rule = '!'.repeat(78);
  console.warn(['', rule, '!!  No Chromium found: the dashboard browser tests are SKIPPED.', '!!  Install it (apt-get install -y chromium) or set TUNEWIRE_CHROMIUM; CI installs it.', rule, ''].join('\n'));
}

/**
 * Clicks the element `selector` matches now, in one step inside the page. The dashboard redraws on
 * every ledger change, so an element found first and clicked after (what `page.click` does) may
 * have been replaced in between.
 */
export async function clickNow(page: Page, selector: string): Promise<void> {
  await page.waitForSelector(selector);
  await page.$eval(selector, (element) => (element as unknown as { click(): void }).click());
}

/** Picks `value` in the `<select>` that `selector` matches now, in one step inside the page (see clickNow). */
export async function selectNow(page: Page, selector: string, value: string): Promise<void> {
  await page.waitForSelector(selector);
  await page.$eval(
    selector,
    (element, picked) => {
      const select = element as unknown as { value: string; dispatchEvent(event: unknown): boolean };
      select.value = picked;
      select.dispatchEvent(new Event('change', { bubbles: true }));
    },
    value,
  );
}
