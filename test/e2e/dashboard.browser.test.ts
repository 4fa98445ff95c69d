/// <reference lib="dom" />
// The callbacks given to page.evaluate and friends run in the browser, on its DOM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { naturalCompare } from '../../shared/domain/study';
import { findFreePort } from '../../shared/local-stack/ports';
import { clickNow, selectNow, collectPageErrors, findChromium, launchBrowser, warnBrowserSkipped } from '../support/browser';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tunewire.mjs');
const chromium = findChromium();
// CI installs Chromium (.ci/run): there a missing browser is a failure, not a skip
if (!chromium && process.env.CI) throw new Error('no Chromium on CI: .ci/run installs it (apt-get install -y chromium)');
if (!chromium) warnBrowserSkipped();

const MODEL = 'dashboard-model';

/**
 * A local grid study of 12 trials (x in 1..6, side left/right; score = 10x, +1 on the right). The
 * trial at x=6 on the right waits until `gate` exists, so the page can watch a trial arrive.
 */
function studySpec(gate: string): string {
  const script =
    "const [x, side, gate] = process.argv.slice(1); const done = () => { console.log('score=' + (Number(x) * 10 + (side === 'right' ? 1 : 0))); process.exit(0); };" +
    " console.log('training x=' + x + ' side=' + side); if (!(x === '6' && side === 'right')) done(); setInterval(() => require('fs').existsSync(gate) && done(), 100);";
  return JSON.stringify({
    name: 'dashboard-study',
    provider: 'local',
    objective: { metric: 'score', goal: 'maximize' },
    parameters: [
      { name: 'x', type: 'discrete', values: [1, 2, 3, 4, 5, 6] },
      { name: 'side', type: 'categorical', values: ['left', 'right'] },
    ],
    strategy: 'grid',
    budget: { maxTrials: 12, parallelTrials: 3 },
    trial: { command: [process.execPath, '-e', script, '{{x}}', '{{side}}', gate], metrics: [{ name: 'score', regex: 'score=([0-9.]+)' }] },
    promotion: { model: MODEL },
  });
}

function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`tunewire dev exited (${code}) before "${text}": ${output}`)));
  });
}

describe.skipIf(!chromium)('the dashboard in a real browser (tunewire dev, a real local job, Chromium)', () => {
  let dev: ChildProcess;
  let exited: Promise<unknown>;
  let base: string;
  let token: string;
  let gate: string;
  let downloads: string;
  let jobId: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
    return (await response.json()) as T;
  };

  /** Reads the API until `ready` says so: the job runs at its own pace, and the test waits for states, never for times. */
  const until = async <T>(read: () => Promise<T>, ready: (value: T) => boolean): Promise<T> => {
    for (;;) {
      const value = await read();
      if (ready(value)) return value;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const rowIds = () => page.$$eval('table#trials tbody tr', (rows) => rows.map((r) => r.getAttribute('data-trial') ?? ''));
  const points = (chart: string) => page.$eval(`[data-chart="${chart}"]`, (el) => Number((el as HTMLElement).dataset.points ?? -1));

  beforeAll(async () => {
    const port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    const home = mkdtempSync(join(tmpdir(), 'tunewire-dashboard-'));
    const work = mkdtempSync(join(tmpdir(), 'tunewire-dashboard-work-'));
    gate = join(work, 'gate');
    downloads = join(work, 'downloads');
    dev = spawn(process.execPath, [BIN, 'dev', '--port', String(port)], {
      cwd: ROOT,
      env: {
        ...process.env,
        TUNEWIRE_HOME: home,
        TUNEWIRE_DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
        TUNEWIRE_TABLE: `dashboard-${Date.now()}`,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => dev.once('exit', resolve));
    await waitForOutput(dev, 'Ctrl-C to stop');
    token = readFileSync(join(home, 'api-token'), 'utf8').trim();

    ({ jobId } = await api<{ jobId: string }>('/jobs', { method: 'POST', body: studySpec(gate) }));
    // eleven trials end by themselves; the twelfth waits at its gate
    await until(
      () => api<{ trials: { trialId: string; status: string; failureReason?: string }[] }>(`/jobs/${jobId}/trials`),
      (answer) => {
        // a trial that ended otherwise would leave this waiting for ever: say what happened instead
        const unexpected = answer.trials.filter((t) => t.status !== 'succeeded' && t.status !== 'running' && t.status !== 'pending');
        if (unexpected.length) throw new Error(`the study's trials did not run as planned: ${JSON.stringify(unexpected)}`);
        return answer.trials.filter((t) => t.status === 'succeeded').length === 11 && answer.trials.some((t) => t.status === 'running');
      },
    );

    browser = await launchBrowser(chromium as string);
    page = await browser.newPage();
    // a guard against a hang, not a measure: a loaded two-core machine is slow to draw
    page.setDefaultTimeout(120_000);
    await page.setViewport({ width: 1400, height: 1000 });
    errors = collectPageErrors(page);
  }, 300_000);

  afterAll(async () => {
    if (gate && !existsSync(gate)) writeFileSync(gate, '');
    await browser?.close();
    if (dev && dev.exitCode === null) dev.kill('SIGINT');
    await exited;
  }, 60_000);

  it('signs in from the address, takes the token out of it, and lists the job', async () => {
    await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
    await page.waitForSelector(`table#jobs tr[data-job="${jobId}"]`);
    expect(await page.evaluate(() => location.hash)).toBe('#/jobs');
    const row = await page.$eval(`table#jobs tr[data-job="${jobId}"]`, (tr) => tr.textContent ?? '');
    expect(row).toContain('dashboard-study');
    expect(row).toContain('local');
    expect(row).toContain('11 succeeded');
  });

  it('filters the job list by status and by search', async () => {
    await selectNow(page, 'select.status-filter', 'failed');
    await page.waitForSelector('.jobs .empty');
    await selectNow(page, 'select.status-filter', '');
    await page.waitForSelector(`table#jobs tr[data-job="${jobId}"]`);
    await page.type('input.job-search', 'no-such-study');
    await page.waitForSelector('.jobs .empty');
    await page.$eval('input.job-search', (input) => {
      (input as HTMLInputElement).value = '';
      input.dispatchEvent(new Event('input'));
    });
    await page.waitForSelector(`table#jobs tr[data-job="${jobId}"]`);
  });

  it("shows the job: its trials in natural order, one column per parameter, the best marked", async () => {
    await clickNow(page, `table#jobs tr[data-job="${jobId}"] a`);
    await page.waitForFunction(() => document.querySelectorAll('table#trials tbody tr').length === 12);
    const ids = await rowIds();
    expect(ids).toEqual([...ids].sort(naturalCompare));
    const headings = await page.$$eval('table#trials thead th', (ths) => ths.map((th) => th.getAttribute('data-sort') ?? th.textContent));
    expect(headings.slice(1, 5)).toEqual(['trial', 'x', 'side', 'objective']);
    const best = await page.$$eval('table#trials tbody tr.best', (rows) => rows.map((r) => r.querySelector('td.objective')?.textContent));
    expect(best).toEqual(['60']);
    const facts = await page.$eval('.job-head', (el) => el.textContent ?? '');
    expect(facts).toContain('maximize score');
    expect(await page.$$eval('ol.timeline li', (items) => items.length)).toBeGreaterThan(0);
  });

  it('sorts the trial table by objective, both ways, with the trial that has none last', async () => {
    const objectives = () => page.$$eval('table#trials tbody td.objective', (cells) => cells.map((c) => c.textContent ?? ''));
    await clickNow(page, 'th[data-sort="objective"] button');
    await page.waitForSelector('th[data-sort="objective"][aria-sort="ascending"]');
    const ascending = await objectives();
    expect(ascending.slice(0, 3)).toEqual(['10', '11', '20']);
    expect(ascending.at(-1)).toBe('-');
    await clickNow(page, 'th[data-sort="objective"] button');
    await page.waitForSelector('th[data-sort="objective"][aria-sort="descending"]');
    const descending = await objectives();
    expect(descending.slice(0, 2)).toEqual(['60', '51']);
    expect(descending.at(-1)).toBe('-');
  });

  it('plots every trial with an objective: history, parallel coordinates, a slice per parameter, importance', async () => {
    await page.waitForFunction(() => document.querySelector('[data-chart="history"]')?.getAttribute('data-points') === '11');
    expect(await points('parallel')).toBe(11);
    expect(await points('slice:x')).toBe(11);
    expect(await points('slice:side')).toBe(11);
    expect(await points('importance')).toBe(2);
    // drawn, as SVG, by the charting library
    expect(await page.$$eval('[data-chart] svg', (svgs) => svgs.length)).toBe(5);
  });

  it("filters the trial table, downloads it as CSV, and shows a trial's log", async () => {
    await selectNow(page, 'select.status-filter', 'running');
    await page.waitForFunction(() => document.querySelectorAll('table#trials tbody tr').length === 1);
    await selectNow(page, 'select.status-filter', '');
    await page.waitForFunction(() => document.querySelectorAll('table#trials tbody tr').length === 12);

    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await clickNow(page, 'button.csv');
    const csvFile = join(downloads, `${jobId}-trials.csv`);
    await until(async () => existsSync(csvFile) && readFileSync(csvFile, 'utf8'), (text) => typeof text === 'string' && text.split('\r\n').length >= 14);
    const lines = readFileSync(csvFile, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('trial,x,side,objective,status,stoppedEarly,durationSeconds,failureReason,best');
    expect(lines).toHaveLength(13);

    const first = (await rowIds())[0] as string;
    await clickNow(page, `table#trials tr[data-trial="${first}"]`);
    await page.waitForFunction(() => document.querySelector('section.logs pre.log')?.textContent?.includes('score='));
    expect(await page.$eval('section.logs pre.log', (el) => el.textContent)).toMatch(/training x=\d side=\w+/);
  });

  it('shows a new trial live, without a reload, and the promotion that follows', async () => {
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    writeFileSync(gate, '');
    await page.waitForFunction(() => document.querySelector('[data-chart="history"]')?.getAttribute('data-points') === '12', { timeout: 120_000 });
    await page.waitForFunction(() => document.querySelector('table#trials tbody tr.best td.objective')?.textContent === '61', { timeout: 120_000 });
    await page.waitForFunction(() => document.querySelector('.job-head .badge')?.textContent === 'succeeded', { timeout: 120_000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.$eval('#live', (el) => el.getAttribute('data-state'))).toBe('live');
  }, 180_000);

  it("shows the model: its champion and each promotion decision with its reason", async () => {
    await clickNow(page, `.job-head a[href="#/models/${MODEL}"]`);
    await page.waitForSelector('table#promotions tbody tr[data-decision="promoted"]', { timeout: 120_000 });
    const champion = await page.$eval('.model-head', (el) => el.textContent ?? '');
    expect(champion).toContain(jobId);
    expect(champion).toContain('maximize = 61');
    const reason = await page.$eval('table#promotions tbody tr td:last-child', (td) => td.textContent ?? '');
    expect(reason.length).toBeGreaterThan(0);
    expect(await points('champions')).toBe(1);
  }, 180_000);

  it('asks for the token when it has none (tunewire dev), and again when the one given is refused', async () => {
    const context = await browser.createBrowserContext();
    try {
      const fresh = await context.newPage();
      await fresh.goto(`${base}/`);
      await fresh.waitForSelector('form.token input#token');
      await fresh.type('input#token', 'not-the-token');
      // the form the page draws again after a 401 is a new one: mark this one to tell them apart
      await fresh.$eval('form.token', (form) => {
        (form as HTMLFormElement).dataset.first = 'yes';
        (form as HTMLFormElement).requestSubmit();
      });
      await fresh.waitForSelector('form.token:not([data-first]) input#token');
      await fresh.$eval('input#token', (input) => ((input as HTMLInputElement).value = ''));
      await fresh.type('input#token', token);
      await fresh.$eval('form.token', (form) => (form as HTMLFormElement).requestSubmit());
      await fresh.waitForSelector(`table#jobs tr[data-job="${jobId}"]`);
    } finally {
      await context.close();
    }
  });

  it('raised no console error, page error or failed request on the way', () => {
    expect(errors).toEqual([]);
  });

  it('serves the page with a policy that loads nothing from elsewhere, and the data only with the token', async () => {
    const pageAnswer = await fetch(`${base}/`);
    expect(pageAnswer.status).toBe(200);
    expect(pageAnswer.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await pageAnswer.text()).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    expect((await fetch(`${base}/jobs`)).status).toBe(401);
    expect((await fetch(`${base}/events`)).status).toBe(401);
    expect((await fetch(`${base}/`, { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const downloaded = readdirSync(downloads);
    expect(downloaded).toContain(`${jobId}-trials.csv`);
  });
});
