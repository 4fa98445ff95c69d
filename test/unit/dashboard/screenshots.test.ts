import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardSourcesDigest } from '../../support/dashboard-sources';

const DOCS = join(import.meta.dirname, '..', '..', '..', 'docs');

describe("the README's dashboard screenshots", () => {
  it('were taken from the current dashboard code (npm run screenshots takes them again)', async () => {
    const recorded = JSON.parse(readFileSync(join(DOCS, 'screenshots.json'), 'utf8')) as { sources: string };
    expect(recorded.sources, 'the dashboard changed since docs/dashboard-*.png were taken: run `npm run screenshots`').toBe(await dashboardSourcesDigest());
  });
});
