import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, parseJson, runCli, startCli, useEmulator, waitUntil, type Sandbox } from '../helpers.js';

let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

describe('one npkg per project', () => {
  it('a second install waits for the first, then finds nothing to do', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    // The first install's download stalls for a while, holding the project lock.
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'stall' });
    const first = startCli(['install', '--json', '--network-timeout', '2'], { sandbox, emulator, env: TOKEN_ENV });
    // The lock file shows when the first one holds the lock.
    await waitUntil(async () => (await readdir(path.join(sandbox.project, 'vendor')).catch(() => [] as string[])).includes('.npkg.lock'), { cli: first });
    const second = await runCli(['install', '--json'], { sandbox, emulator, env: TOKEN_ENV });
    const firstResult = await first.done;
    expect(firstResult.code).toBe(0);
    expect(second.code).toBe(0);
    expect(parseJson<{ modules: Array<{ action: string }> }>(second.stdout).modules[0]!.action).toBe('unchanged');
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    await writeLock(sandbox, { pid: 2 ** 22 + 12345, host: hostname() });
    const result = await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(0);
  });

  it('takes over a lock whose pid now belongs to another process (another start time)', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    // This test's own process is alive, but it is not the one that took the lock; nor is init.
    for (const pid of [process.pid, 1]) {
      await writeLock(sandbox, { pid, host: hostname(), started: String(Number(ownStart()) - 1) });
      const result = await runCli(['install', '--force'], { sandbox, emulator, env: TOKEN_ENV });
      expect(result.code).toBe(0);
      expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.0\n');
    }
  });

  it('waits 60 s for a live owner, then exits 1 naming it, and touches nothing', { timeout: 120_000 }, async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const lock = { pid: process.pid, host: hostname(), started: ownStart() };
    await writeLock(sandbox, lock);
    emulator.clearRequests();
    const result = await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(1);
    // One line for the wait, one for the error.
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^npkg: another npkg \\(pid ${process.pid} on .+\\) is working in .+vendor; waited 60 s`));
    // The owner's lock stays; nothing was asked of the server or written.
    expect(JSON.parse(await readFile(path.join(sandbox.project, 'vendor', '.npkg.lock'), 'utf8'))).toEqual(lock);
    expect(await readdir(path.join(sandbox.project, 'vendor'))).toEqual(['.npkg.lock']);
    expect(await readdir(sandbox.project)).not.toContain('modules.lock.json');
    expect(emulator.requests).toEqual([]);
  });
});

async function writeLock(sandbox: Sandbox, owner: object): Promise<void> {
  await mkdir(path.join(sandbox.project, 'vendor'), { recursive: true });
  await writeFile(path.join(sandbox.project, 'vendor', '.npkg.lock'), JSON.stringify(owner));
}

/** This process's start time, field 22 of /proc/self/stat (after the parenthesised name). */
function ownStart(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}
