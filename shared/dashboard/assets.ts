import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard page: one HTML document, one script and one style sheet, all served by tunewire
 * itself (nothing from a CDN, so the page works offline). The script is our TypeScript under
 * page/ with ECharts, bundled by esbuild on first use and kept in
 * node_modules/.cache/tunewire/dashboard/ until a file it was built from changes.
 */
export interface DashboardAsset {
  readonly contentType: string;
  readonly body: string;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = 'shared/dashboard/page/main.ts';
const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'tunewire', 'dashboard');
const MANIFEST = join(OUT_DIR, 'manifest.json');
/** Besides the sources esbuild reports: what else the bundle is made from. */
const BUILD_FILES = ['shared/dashboard/assets.ts', 'package.json', 'node_modules/echarts/package.json'];

/** The paths the page is served under; `/` is the page itself. */
export const DASHBOARD_PATHS = { page: '/', script: '/dashboard/app.js', style: '/dashboard/app.css' } as const;

/**
 * Only our own files: scripts, styles and data requests go to this origin and nowhere else. ECharts
 * sets style attributes on the elements it draws, hence 'unsafe-inline' for styles (never for scripts).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>tunewire</title>
<link rel="stylesheet" href="${DASHBOARD_PATHS.style}">
</head>
<body>
<header class="top"><a class="brand" href="#/jobs">tunewire</a><span id="live" class="live" title="live updates">connecting…</span></header>
<p id="error" class="error banner" role="alert" hidden></p>
<main id="app"><p class="muted">loading…</p></main>
<script src="${DASHBOARD_PATHS.script}"></script>
</body>
</html>
`;

/** Whether `path` (without its query) is one of the dashboard's files. */
export function isDashboardPath(path: string): boolean {
  return path === DASHBOARD_PATHS.page || path === '/index.html' || path === DASHBOARD_PATHS.script || path === DASHBOARD_PATHS.style;
}

let built: Promise<{ script: string; style: string }> | undefined;

/**
 * The asset served at `path`, or undefined when the path is not the dashboard's. The first call
 * that needs the script or style builds them (about a second) unless a fresh build is cached.
 */
export async function dashboardAsset(path: string): Promise<DashboardAsset | undefined> {
  if (path === DASHBOARD_PATHS.page || path === '/index.html') return { contentType: 'text/html; charset=utf-8', body: PAGE };
  if (path !== DASHBOARD_PATHS.script && path !== DASHBOARD_PATHS.style) return undefined;
  built ??= loadOrBuild().catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  const { script, style } = await built;
  return path === DASHBOARD_PATHS.script
    ? { contentType: 'text/javascript; charset=utf-8', body: script }
    : { contentType: 'text/css; charset=utf-8', body: style };
}

async function loadOrBuild(): Promise<{ script: string; style: string }> {
  const cached = readFresh();
  if (cached) return cached;
  return buildDashboard();
}

/**
 * Bundles the page (minified, for browsers of the last few years) and caches it, each file
 * written whole and renamed into place, the manifest last.
 */
export async function buildDashboard(): Promise<{ script: string; style: string }> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { app: ENTRY },
    outdir: OUT_DIR,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify: true,
    legalComments: 'eof',
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const text = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  const assets = { script: text('.js'), style: text('.css') };
  const stamps: Record<string, string> = {};
  for (const source of [...Object.keys(result.metafile.inputs), ...BUILD_FILES]) stamps[source] = stampOf(join(ROOT, source));
  mkdirSync(OUT_DIR, { recursive: true });
  replaceFile(join(OUT_DIR, 'app.js'), assets.script);
  replaceFile(join(OUT_DIR, 'app.css'), assets.style);
  replaceFile(MANIFEST, JSON.stringify({ root: ROOT, stamps }));
  return assets;
}

function readFresh(): { script: string; style: string } | undefined {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as { root?: string; stamps?: Record<string, string> };
    if (manifest.root !== ROOT || !manifest.stamps) return undefined;
    if (!Object.entries(manifest.stamps).every(([path, stamp]) => stampOf(join(ROOT, path)) === stamp)) return undefined;
    return { script: readFileSync(join(OUT_DIR, 'app.js'), 'utf8'), style: readFileSync(join(OUT_DIR, 'app.css'), 'utf8') };
  } catch {
    return undefined;
  }
}

function stampOf(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

function replaceFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}
