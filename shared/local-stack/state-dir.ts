import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The state directory holds the ledger's data files and the dev API's token: only its owner may read or change them.
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Creates the folder (and any missing parents) readable by its owner only, and tightens it when it already exists. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(path, PRIVATE_DIR);
}

/**
 * Makes a folder and everything under it private: folders 0700, files 0600. Symbolic links are left alone, so nothing
 * outside the folder is changed through one.
 */
export function ensurePrivateTree(path: string): void {
  ensurePrivateDir(path);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) ensurePrivateTree(child);
    else if (entry.isFile()) chmodSync(child, PRIVATE_FILE);
  }
}

/** Writes a file only its owner can read. A new inode replaces the old one, so a file left 0644 by an older version ends 0600. */
export function writePrivateFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, text, { mode: PRIVATE_FILE, flag: 'w' });
    chmodSync(temporary, PRIVATE_FILE);
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

export const API_TOKEN_FILE = 'api-token';

// RFC 6750's b64token, long enough not to be guessed; what we write is 43 base64url characters (256 bits).
const TOKEN_SHAPE = /^[A-Za-z0-9\-._~+/]{32,512}=*$/;

export interface ApiToken {
  readonly token: string;
  /** Where it is kept: `<home>/api-token`, mode 0600. */
  readonly file: string;
}

/**
 * The state directory's API token, made on first need and reused afterwards: every request to `tunewire dev` carries it
 * as `Authorization: Bearer <token>`, so that a page in a browser cannot drive the local stack.
 *
 * @example
 *   const { token, file } = readOrCreateApiToken('.tunewire');
 *   // curl -H "Authorization: Bearer $(cat .tunewire/api-token)" http://127.0.0.1:8787/jobs/<id>
 */
export function readOrCreateApiToken(home: string): ApiToken {
  ensurePrivateDir(home);
  const file = join(home, API_TOKEN_FILE);
  const existing = readToken(file);
  if (existing !== undefined) return { token: existing, file };

  const token = randomBytes(32).toString('base64url');
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${token}\n`, { mode: PRIVATE_FILE });
    chmodSync(temporary, PRIVATE_FILE);
    if (existsAt(file)) {
      // unreadable or not a token (an interrupted hand edit): replace it
      renameSync(temporary, file);
      return { token, file };
    }
    // link, not rename: it fails when another process made the token first, and then both use that one
    linkSync(temporary, file);
    return { token, file };
  } catch (error) {
    const raced = readToken(file);
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && raced !== undefined) return { token: raced, file };
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readToken(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (!TOKEN_SHAPE.test(text)) return undefined;
  chmodSync(file, PRIVATE_FILE);
  return text;
}

function existsAt(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
