/// <reference lib="dom" />
// The callbacks given to page.evaluate and friends run in the browser, on its DOM.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickNow, collectPageErrors, findChromium, launchBrowser } from '../support/browser';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tunewire.mjs');
const chromium = findChromium();

// As a user runs it: the state directory's own service, no shared DynamoDB.
const { TUNEWIRE_DYNAMODB_ENDPOINT: _endpoint, AWS_ENDPOINT_URL_DYNAMODB: _awsEndpoint, TUNEWIRE_TABLE: _table, BROWSER: _browser, ...baseEnv } = process.env;

function tunewire(home: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...baseEnv, TUNEWIRE_HOME: home }, timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!chromium)('npm start, then tunewire dashboard: the demo study in the browser', () => {
  let home: string;
  let dashboard: ChildProcess;
  let exited: Promise<number | null>;
  let address: string;
  let output = '';
  let browser: Browser;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'tunewire-dashboard-command-'));
    const demo = await tunewire(home, ['demo']);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^promotion: /m);
    dashboard = spawn(process.execPath, [BIN, 'dashboard', '--no-open'], { cwd: ROOT, env: { ...baseEnv, TUNEWIRE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => dashboard.once('exit', resolve));
    address = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const found = /^open (\S+)/m.exec(output)?.[1];
        if (found && output.includes('Ctrl-C to stop')) resolve(found);
      };
      dashboard.stdout?.on('data', onData);
      dashboard.stderr?.on('data', onData);
      dashboard.once('exit', (code) => reject(new Error(`tunewire dashboard exited (${code}): ${output}`)));
    });
    browser = await launchBrowser(chromium as string);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (dashboard && dashboard.exitCode === null) dashboard.kill('SIGINT');
    await exited;
    await tunewire(home, ['down']);
  }, 120_000);

  it('is served by the local service, on loopback, and says how to reach it', () => {
    expect(output).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(served by the local service, pid \d+\)$/m);
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
  });

  it("shows the demo's job with its plots, and the model's champion history", async () => {
    const page = await browser.newPage();
    const errors = collectPageErrors(page);
    // a guard against a hang, not a measure: a loaded two-core machine is slow to draw
    page.setDefaultTimeout(120_000);
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(address);
    await page.waitForSelector('table#jobs tbody tr[data-job] a');
    expect(await page.$eval('table#jobs tbody', (el) => el.textContent)).toContain('iris-forest');
    await clickNow(page, 'table#jobs tbody tr[data-job] a');
    await page.waitForFunction(() => document.querySelectorAll('table#trials tbody tr').length === 12);
    const withObjective = await page.$$eval('table#trials tbody td.objective', (cells) => cells.filter((c) => c.textContent !== '-').length);
    await page.waitForFunction((n) => document.querySelector('[data-chart="history"]')?.getAttribute('data-points') === String(n), {}, withObjective);
    for (const chart of ['parallel', 'slice:trees', 'slice:max_depth', 'slice:max_features', 'slice:sample_ratio']) {
      expect(await page.$eval(`[data-chart="${chart}"]`, (el) => el.getAttribute('data-points'))).toBe(String(withObjective));
    }
    expect(await page.$eval('[data-chart="importance"]', (el) => el.getAttribute('data-points'))).toBe('4');
    await clickNow(page, '.job-head a[href="#/models/iris-forest"]');
    await page.waitForSelector('table#promotions tbody tr[data-decision="promoted"]');
    expect(await page.$eval('.model-head', (el) => el.textContent)).toContain('champion');
    expect(errors).toEqual([]);
  }, 240_000);

  it('stops on Ctrl-C with exit code 0', async () => {
    dashboard.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);
});
