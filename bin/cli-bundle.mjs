// The CLI and the background service run from an esbuild bundle of our TypeScript, kept in
// node_modules/.cache/tunewire/bundle/ (never committed) and rebuilt on the first run after any
// source it was built from changes. Compiling ~90 files through tsx cost every command about
// 0.8 s; the prebuilt file loads in tens of milliseconds. A fresh clone needs no build step: its
// first command builds the bundle (about a second). `npm run bundle` rebuilds it by hand.
//
// Packages stay external (loaded from node_modules as before); only our own files are bundled.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'tunewire', 'bundle');
const MANIFEST = join(OUT_DIR, 'manifest.json');

/** Each bin's module: `cli` exports `main`, `service` runs the service when imported. */
const ENTRIES = { cli: 'shared/cli/main.ts', service: 'shared/local-stack/service-main.ts' };

/**
 * Packages loaded on first use instead of at start. The SageMaker client is the heaviest package
 * the CLI imports (~250 ms) and only SageMaker jobs need it; `--help`, `validate` and `render`
 * never reach DynamoDB (~150 ms). A command that does loads the package at its first
 * `new XCommand(...)`, `instanceof` or static member. Only classes and functions can be imported
 * from a lazy package: importing anything else fails the build.
 */
const LAZY_PACKAGES = ['@aws-sdk/client-sagemaker', '@aws-sdk/client-dynamodb'];

/** Besides the sources: what else the bundle is made from (the builder's own options included). */
const BUILD_FILES = ['bin/cli-bundle.mjs', 'package.json', 'tsconfig.json', ...LAZY_PACKAGES.map((name) => `node_modules/${name}/package.json`)];

/**
 * An entry's module, from the bundle (built first when missing or stale). When the bundle cannot
 * be built, from the TypeScript sources through tsx, with a one-line note on stderr.
 *
 * @param {keyof typeof ENTRIES} name
 * @example
 *   const { main } = await importEntry('cli');
 */
export async function importEntry(name) {
  let bundle;
  try {
    bundle = isFresh(readManifest()) ? join(OUT_DIR, `${name}.mjs`) : (await buildBundle())[name];
  } catch (error) {
    process.stderr.write(`tunewire: running from the TypeScript sources (tsx), the CLI bundle could not be built: ${firstLine(error)}\n`);
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(join(ROOT, ENTRIES[name])).href);
  }
  return import(pathToFileURL(bundle).href);
}

/**
 * Builds every entry into OUT_DIR, each file written whole and renamed into place (manifest last),
 * so a command started during a build runs the old bundle or the new one, never half of one.
 *
 * @returns {Promise<Record<keyof typeof ENTRIES, string>>} each entry's bundle file
 */
export async function buildBundle() {
  const esbuild = await import('esbuild');
  /** @type {Record<string, string>} stamps taken as each source is read, so an edit during the build counts */
  const stamps = {};
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    outdir: OUT_DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // Error classes name themselves after `new.target.name`; bundling must not rename them.
    keepNames: true,
    // `node --enable-source-maps` maps stack traces back to the .ts files.
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'silent',
    plugins: [sourceFileUrls(stamps), lazyPackages(LAZY_PACKAGES)],
  });
  const sources = Object.keys(result.metafile.inputs).filter((input) => !input.includes(':'));
  for (const source of sources) {
    stamps[source] ??= stampOf(join(ROOT, source));
    stamps[dirname(source)] ??= stampOf(join(ROOT, dirname(source)));
  }
  for (const file of BUILD_FILES) stamps[file] = stampOf(join(ROOT, file));
  mkdirSync(OUT_DIR, { recursive: true });
  for (const file of result.outputFiles) replaceFile(file.path, file.contents);
  const outputs = result.outputFiles.map((file) => relative(ROOT, file.path));
  for (const output of outputs) stamps[output] = stampOf(join(ROOT, output));
  replaceFile(MANIFEST, JSON.stringify({ root: ROOT, stamps }, null, 1));
  return /** @type {Record<keyof typeof ENTRIES, string>} */ (Object.fromEntries(Object.keys(ENTRIES).map((name) => [name, join(OUT_DIR, `${name}.mjs`)])));
}

/**
 * Fresh: built for this checkout, and every source, its folder (a file added beside it may change
 * what an import resolves to), the build files and the outputs are as they were. Equal stamps, not
 * "older than the bundle": a checkout or a copy can bring files with older times.
 */
function isFresh(manifest) {
  if (manifest?.root !== ROOT) return false;
  return Object.entries(manifest.stamps).every(([path, stamp]) => stampOf(join(ROOT, path)) === stamp);
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
}

function stampOf(path) {
  try {
    const stat = statSync(path);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return 'missing';
  }
}

function replaceFile(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/** esbuild's first error with its place (its message only counts them), or any error's first line. */
function firstLine(error) {
  const [first] = error?.errors ?? [];
  if (first) return `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}`;
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/**
 * `import.meta.url` in a bundled file is the bundle's URL; each source's own URL is put in its
 * place, so paths computed from it (the repository root, the service's bin, files beside the
 * source) resolve as they do when the sources run. The bundle is rebuilt when the checkout moves.
 */
function sourceFileUrls(stamps) {
  return {
    name: 'source-file-urls',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        const stamp = stampOf(args.path);
        const text = readFileSync(args.path, 'utf8');
        stamps[relative(ROOT, args.path)] = stamp;
        const url = JSON.stringify(pathToFileURL(args.path).href);
        const contents = text.replace(/\bimport\.meta\.(\w+)/g, (found, property) => {
          if (property === 'url') return url;
          if (property === 'filename') return JSON.stringify(args.path);
          if (property === 'dirname') return JSON.stringify(dirname(args.path));
          throw new Error(`${relative(ROOT, args.path)}: ${found} would resolve from the bundle, not the source (see bin/cli-bundle.mjs)`);
        });
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Each lazy package becomes a module of stand-ins (lazy-export.mjs), one per class or function it
 * exports; the package is required on the first use of any of them. Stand-ins nothing imports are
 * dropped from the bundle.
 */
function lazyPackages(names) {
  const requireFromRoot = createRequire(join(ROOT, 'package.json'));
  const lazyExport = JSON.stringify(join(ROOT, 'bin', 'lazy-export.mjs'));
  return {
    name: 'lazy-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => (names.includes(args.path) ? { path: args.path, namespace: 'lazy-package' } : undefined));
      build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => {
        const exported = requireFromRoot(args.path);
        const functions = Object.keys(exported).filter((key) => /^[A-Za-z_$][\w$]*$/.test(key) && typeof exported[key] === 'function');
        const contents = [
          `import { createRequire } from 'node:module';`,
          `import { lazyExport } from ${lazyExport};`,
          `let loaded;`,
          `const load = () => (loaded ??= createRequire(import.meta.url)(${JSON.stringify(args.path)}));`,
          ...functions.map((key) => `export const ${key} = /* @__PURE__ */ lazyExport(load, ${JSON.stringify(key)});`),
        ].join('\n');
        return { contents, loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildBundle();
  for (const file of Object.values(built)) console.log(relative(ROOT, file));
}
