import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRY = 'shared/dashboard/page/main.ts';
/** Besides the page's own sources: how the page is served, and the charting library's version. */
const ALSO = ['shared/dashboard/assets.ts', 'node_modules/echarts/package.json'];

/**
 * A digest of what the dashboard looks like is made of: every file of ours the page's bundle reads
 * (as esbuild reports them), how it is served, and the ECharts version. When it changes, the
 * README's screenshots are no longer of the current code.
 */
export async function dashboardSourcesDigest(): Promise<string> {
  const result = await build({ absWorkingDir: ROOT, entryPoints: [ENTRY], bundle: true, outdir: 'digest', write: false, metafile: true, platform: 'browser', logLevel: 'silent' });
  const ours = Object.keys(result.metafile.inputs).filter((file) => !file.startsWith('node_modules/'));
  const hash = createHash('sha256');
  for (const file of [...ours, ...ALSO].sort()) hash.update(file).update('\0').update(readFileSync(join(ROOT, file))).update('\0');
  return hash.digest('hex');
}
