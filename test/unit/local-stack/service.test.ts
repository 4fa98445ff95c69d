import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, liveClients, liveHolder, lockOwner, processStamp, releaseLock, runService, servicePaths } from '../../../shared/local-stack/service';

/** A pid that was alive once and is not any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tunewire-service-unit-'));
});

describe('acquireLock', () => {
  it('takes a free lock with our pid, and refuses one a live process holds', () => {
    const { lock } = servicePaths(home);
    expect(acquireLock(lock)).toBe(true);
    expect(lockOwner(lock)).toBe(process.pid);
    writeFileSync(lock, String(process.ppid));
    expect(acquireLock(lock)).toBe(false);
    expect(lockOwner(lock)).toBe(process.ppid);
  });

  it('recovers a lock whose owner is dead', async () => {
    const { lock } = servicePaths(home);
    writeFileSync(lock, String(await deadPid()));
    expect(acquireLock(lock)).toBe(true);
    expect(lockOwner(lock)).toBe(process.pid);
    releaseLock(lock);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock whose pid now belongs to another process (reused after a reboot), and keeps one its holder wrote', () => {
    const { lock } = servicePaths(home);
    const stamp = processStamp(process.ppid);
    expect(stamp, 'this machine has /proc').toBeDefined();
    // the parent is alive, but it is not the process that wrote this lock: its start time differs
    writeFileSync(lock, `${process.ppid} ${stamp}0`);
    expect(liveHolder(lock)).toBeUndefined();
    expect(acquireLock(lock)).toBe(true);
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} ${processStamp(process.pid)}`);
    releaseLock(lock);

    writeFileSync(lock, `${process.ppid} ${stamp}`);
    expect(liveHolder(lock)).toBe(process.ppid);
    expect(acquireLock(lock)).toBe(false);
  });

  it('clears a recovery lock left by a dead process', async () => {
    const { lock } = servicePaths(home);
    writeFileSync(lock, String(await deadPid()));
    writeFileSync(`${lock}.recover`, String(await deadPid()));
    expect(acquireLock(lock)).toBe(true);
    expect(existsSync(`${lock}.recover`)).toBe(false);
  });
});

describe('liveClients', () => {
  it('counts leases of live processes and removes those of dead ones', async () => {
    const { clients } = servicePaths(home);
    mkdirSync(clients);
    const dead = await deadPid();
    for (const pid of [process.pid, dead]) writeFileSync(join(clients, String(pid)), String(pid));
    expect(liveClients(home)).toEqual([process.pid]);
    expect(existsSync(join(clients, String(dead)))).toBe(false);
    expect(liveClients(home, process.pid)).toEqual([]);
  });

  it('drops a lease whose pid was reused by another process', () => {
    const { clients } = servicePaths(home);
    mkdirSync(clients);
    writeFileSync(join(clients, String(process.ppid)), `${process.ppid} ${processStamp(process.ppid)}0`);
    expect(liveClients(home)).toEqual([]);
    expect(existsSync(join(clients, String(process.ppid)))).toBe(false);
  });
});

describe('runService', () => {
  it('advertises its endpoint, and once idle withdraws it, stops the database and frees the lock', async () => {
    const paths = servicePaths(home);
    const lines: string[] = [];
    let stopped = false;
    let advertisedAtStop: boolean | undefined;
    const code = await runService({
      home,
      idleMs: 0,
      log: (line) => lines.push(line),
      startDynamo: async () => ({
        endpoint: 'http://127.0.0.1:1',
        stop: async () => {
          advertisedAtStop = existsSync(paths.file);
          stopped = true;
        },
      }),
    });
    expect(code).toBe(0);
    expect(stopped).toBe(true);
    // withdrawn before the database stops, so no command attaches to a dying one
    expect(advertisedAtStop).toBe(false);
    expect(existsSync(paths.file)).toBe(false);
    expect(existsSync(paths.lock)).toBe(false);
    expect(lines.join('\n')).toMatch(/started DynamoDB Local at http:\/\/127\.0\.0\.1:1[\s\S]*stopping: idle/);
  });

  it('leaves at once when a live service holds the lock', async () => {
    const paths = servicePaths(home);
    writeFileSync(paths.lock, String(process.ppid));
    let started = false;
    const code = await runService({ home, idleMs: 0, log: () => undefined, startDynamo: async () => ((started = true), { endpoint: 'x', stop: async () => undefined }) });
    expect(code).toBe(0);
    expect(started).toBe(false);
    expect(lockOwner(paths.lock)).toBe(process.ppid);
  });
});
