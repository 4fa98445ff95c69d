import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
/** What the dashboard looks like is made of these: the page, how it is built and served, and the study's numbers. */
const SOURCES = ['shared/dashboard', 'shared/domain/study.ts'];

/** A digest of the dashboard's sources: when it changes, the README's screenshots are no longer of the current code. */
export function dashboardSourcesDigest(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES.flatMap((source) => filesUnder(join(ROOT, source))).sort()) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function filesUnder(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(join(path, entry.name)) : [join(path, entry.name)]));
  } catch {
    return [path];
  }
}
