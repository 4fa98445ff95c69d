import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * What keeps each function's bundle small (template.test.ts checks each zip is under 1 MB).
 * `import { z } from 'zod'` binds zod's namespace object as a value, so esbuild cannot drop
 * anything from it and every bundle carries all of zod's locales (~350 KB minified);
 * `import * as z from 'zod'` (zod's documented form) lets esbuild keep only what is used.
 */

const ROOT = join(import.meta.dirname, '..', '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('bundled source', () => {
  it('imports zod as a namespace, so esbuild can tree-shake it', () => {
    const offenders = [...tsFiles(join(ROOT, 'functions')), ...tsFiles(join(ROOT, 'shared'))]
      .filter((file) => /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*['"]zod['"]/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(offenders, "use `import * as z from 'zod'`").toEqual([]);
  });
});
