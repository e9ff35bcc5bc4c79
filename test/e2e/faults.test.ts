import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../support/bitbucket-emulator.js';
import { TEST_REPOS } from '../support/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, parseJson, runCli, useEmulator } from '../helpers.js';

const TOKEN = TEST_TOKEN;
const env = TOKEN_ENV;
let emulator: Emulator;
// Over 1 MB compressed: streamed on the main thread, not read whole for the archive worker.
const bigBlob = randomBytes(3 * 1024 * 1024);
const BIG_REPO = { repo: 'acme/big', commits: [{ files: { 'README.md': 'big\n', 'data.bin': { content: bigBlob } }, tags: ['v1.0.0'] }] };
useEmulator({ repos: [...TEST_REPOS, BIG_REPO], bearerTokens: [TOKEN] }, (started) => (emulator = started));

const archiveRequests = () => emulator.requests.filter((request) => request.url.includes('/get/'));

async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    if (/\.tmp$|\.npkg-staging-|\.npkg-old-/.test(String(entry))) found.push(String(entry));
  }
  return found;
}

describe('network faults', () => {
  it('retries a 503 on the archive and a 500 on the API, then succeeds', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'api', path: /refs\/tags\/v1\.4\.0/, times: 1, kind: 'status', status: 500 });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'status', status: 503, retryAfter: '0' });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.code).toBe(0);
    expect(archiveRequests()).toHaveLength(2);
    expect(emulator.requests.filter((request) => request.url.includes('refs/tags/v1.4.0'))).toHaveLength(2);
  });

  it('restarts a download cut in the middle from scratch, leaving no partial file', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'truncate' });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(archiveRequests()).toHaveLength(2);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.4\n');
    expect(await leftovers(sandbox.project)).toEqual([]);
    expect(await leftovers(sandbox.cacheDir)).toEqual([]);
  });

  it('streams an archive over 1 MB, and restarts it from scratch when cut', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { big: 'v1.0.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'web', path: /\/acme\/big\/get\//, times: 1, kind: 'truncate' });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(archiveRequests()).toHaveLength(2);
    expect((await readFile(path.join(sandbox.project, 'vendor', 'big', 'data.bin'))).equals(bigBlob)).toBe(true);
    expect(await leftovers(sandbox.project)).toEqual([]);
    expect(await leftovers(sandbox.cacheDir)).toEqual([]);
  });

  it('gives up after --retries and reports the server error with exit 1', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 3, kind: 'status', status: 502 });
    const result = await runCli(['install', '--retries', '2', '--json'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(archiveRequests()).toHaveLength(3);
    expect(parseJson<{ modules: Array<{ error: { code: string; message: string } }> }>(result.stdout).modules[0]!.error).toEqual({
      code: 'SERVER',
      message: 'Bitbucket answered 502 for acme/utils',
    });
    expect(await leftovers(sandbox.project)).toEqual([]);
  });

  it('ends a stalled download with a timeout error instead of hanging', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'stall' });
    const result = await runCli(['install', '--retries', '0', '--network-timeout', '1'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/utils: no answer from 127\.0\.0\.1:\d+ within the network timeout/);
  });
});
