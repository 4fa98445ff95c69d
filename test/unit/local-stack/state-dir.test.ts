import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { API_TOKEN_FILE, ensurePrivateTree, readOrCreateApiToken, writePrivateFile } from '../../../shared/local-stack/state-dir';

const mode = (path: string) => statSync(path).mode & 0o777;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tunewire-state-'));
});

describe('readOrCreateApiToken', () => {
  it('makes a 256-bit token in <home>/api-token, file 0600 in a 0700 folder it creates', () => {
    const home = join(dir, 'nested', 'home');
    const { token, file } = readOrCreateApiToken(home);
    expect(file).toBe(join(home, API_TOKEN_FILE));
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(mode(file)).toBe(0o600);
    expect(mode(home)).toBe(0o700);
  });

  it('reuses the token it made', () => {
    const first = readOrCreateApiToken(dir);
    expect(readOrCreateApiToken(dir).token).toBe(first.token);
  });

  it('makes a different token for another state directory', () => {
    expect(readOrCreateApiToken(join(dir, 'a')).token).not.toBe(readOrCreateApiToken(join(dir, 'b')).token);
  });

  it('tightens a home and a token file left readable by others', () => {
    const { token, file } = readOrCreateApiToken(dir);
    chmodSync(file, 0o644);
    chmodSync(dir, 0o755);
    expect(readOrCreateApiToken(dir).token).toBe(token);
    expect(mode(file)).toBe(0o600);
    expect(mode(dir)).toBe(0o700);
  });

  it('replaces a file that holds no token', () => {
    const file = join(dir, API_TOKEN_FILE);
    writeFileSync(file, '', { mode: 0o644 });
    const { token } = readOrCreateApiToken(dir);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(mode(file)).toBe(0o600);
  });

  it('leaves no temporary file behind', () => {
    readOrCreateApiToken(dir);
    readOrCreateApiToken(dir);
    expect(existsSync(join(dir, `${API_TOKEN_FILE}.${process.pid}.tmp`))).toBe(false);
  });
});

describe('ensurePrivateTree', () => {
  it('makes folders 0700 and files 0600, however loose they were', () => {
    const data = join(dir, 'dynamodb');
    mkdirSync(join(data, 'sub'), { recursive: true, mode: 0o755 });
    chmodSync(data, 0o755);
    writeFileSync(join(data, 'shared-local-instance.db'), 'x', { mode: 0o644 });
    writeFileSync(join(data, 'sub', 'f'), 'x', { mode: 0o666 });
    ensurePrivateTree(data);
    expect([mode(data), mode(join(data, 'sub')), mode(join(data, 'shared-local-instance.db')), mode(join(data, 'sub', 'f'))]).toEqual([0o700, 0o700, 0o600, 0o600]);
  });

  it('changes nothing outside the folder through a symbolic link', () => {
    const outside = join(dir, 'outside');
    writeFileSync(outside, 'x', { mode: 0o644 });
    chmodSync(outside, 0o644);
    const data = join(dir, 'data');
    mkdirSync(data);
    symlinkSync(outside, join(data, 'link'));
    ensurePrivateTree(data);
    expect(mode(outside)).toBe(0o644);
  });
});

describe('writePrivateFile', () => {
  it('replaces a file left 0644 with a 0600 one', () => {
    const file = join(dir, 'stack.json');
    writeFileSync(file, 'old', { mode: 0o644 });
    chmodSync(file, 0o644);
    writePrivateFile(file, 'new');
    expect(readFileSync(file, 'utf8')).toBe('new');
    expect(mode(file)).toBe(0o600);
  });
});
