/**
 * `npm run screenshots`: the README's dashboard pictures, from the current code, taken as a user
 * gets there: `npm start` (the demo, twice, so the model has a second decision), then
 * `tunewire dashboard`, on a fresh state directory; then the job page and the model page in
 * Chromium. Writes docs/dashboard-job.png, docs/dashboard-model.png and docs/screenshots.json (the
 * digest of the page's sources they were taken from; a unit test says when they are stale).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clickNow, findChromium, launchBrowser } from './browser';
import { dashboardSourcesDigest } from './dashboard-sources';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'tunewire.mjs');
const DOCS = join(ROOT, 'docs');

async function main(): Promise<void> {
  const chromium = findChromium();
  if (!chromium) throw new Error('no Chromium: apt-get install -y chromium, or set TUNEWIRE_CHROMIUM');
  // as a user runs it: the state directory's own service, not a shared DynamoDB
  const { TUNEWIRE_DYNAMODB_ENDPOINT: _endpoint, TUNEWIRE_TABLE: _table, ...inherited } = process.env;
  const env = { ...inherited, TUNEWIRE_HOME: mkdtempSync(join(tmpdir(), 'tunewire-screenshots-')) };
  for (let run = 1; run <= 2; run++) {
    const demo = spawnSync(process.execPath, [BIN, 'demo'], { cwd: ROOT, env, encoding: 'utf8' });
    if (demo.status !== 0) throw new Error(`the demo failed (${demo.status}): ${demo.stderr}`);
    process.stdout.write(demo.stdout);
  }
  const dashboard = spawn(process.execPath, [BIN, 'dashboard', '--no-open'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let output = '';
      dashboard.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const found = /^open (\S+)/m.exec(output)?.[1];
        if (found) resolve(found);
      });
      dashboard.once('exit', (code) => reject(new Error(`tunewire dashboard exited (${code}): ${output}`)));
    });
    const browser = await launchBrowser(chromium);
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1360, height: 900, deviceScaleFactor: 1 });
      await page.goto(address);
      await page.waitForSelector('table#jobs tbody tr');
      // the first demo's job: the one whose trials made the champion
      const jobHref = await page.$$eval('table#jobs tbody tr a', (links) => links.at(-1)?.getAttribute('href') ?? '');
      await page.goto(`${address.split('#')[0]}${jobHref}`);
      await page.waitForFunction(() => Number(document.querySelector('[data-chart="history"]')?.getAttribute('data-points') ?? 0) > 0);
      await clickNow(page, 'th[data-sort="objective"] button');
      await clickNow(page, 'th[data-sort="objective"] button');
      await page.screenshot({ path: join(DOCS, 'dashboard-job.png'), fullPage: true });
      await clickNow(page, '.job-head a[href^="#/models/"]');
      await page.waitForSelector('table#promotions tbody tr');
      await page.screenshot({ path: join(DOCS, 'dashboard-model.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  } finally {
    dashboard.kill('SIGINT');
  }
  spawnSync(process.execPath, [BIN, 'down'], { cwd: ROOT, env, stdio: 'inherit' });
  writeFileSync(join(DOCS, 'screenshots.json'), `${JSON.stringify({ sources: await dashboardSourcesDigest() }, null, 2)}\n`);
  console.log('wrote docs/dashboard-job.png, docs/dashboard-model.png, docs/screenshots.json');
}

await main();
