import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
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

  it.each(['truncate', 'reset'] as const)('restarts a download cut in the middle (%s) from scratch, leaving no partial file', async (kind) => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind });
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

describe('more network faults', () => {
  it('honours Retry-After on a 429, and a 429 without it backs off and retries', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'api', path: /refs\/tags\/v1\.4\.0/, times: 1, kind: 'status', status: 429, retryAfter: '1' });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'status', status: 429 });
    const result = await runCli(['install', '--verbose'], { sandbox, emulator, env });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/429 .*retry 1 of 3 in 1 s/);
    expect(emulator.requests.filter((request) => request.url.includes('/get/'))).toHaveLength(2);
  });

  it('reads a 200 HTML sign-in page instead of an archive as a refused credential (exit 4)', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'status', status: 200, contentType: 'text/html; charset=utf-8', body: '<html>Log in</html>' });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/refused the credential from BITBUCKET_TOKEN for acme\/utils/);
  });
});

describe('slow, strange and mixed answers', () => {
  it.each([false, true])('lets a slow but steady download finish (no Content-Length: %s): the network timeout bounds silence, not length', async (chunked) => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const { size } = await stat(await emulator.archiveFile('acme/utils', emulator.repos.get('acme/utils')!.tags.get('v1.4.0')!));
    // Three times longer than the timeout, with bytes arriving all along.
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'drip', bytesPerSecond: Math.ceil(size / 3), chunked });
    emulator.clearRequests();
    const result = await runCli(['install', '--retries', '0', '--network-timeout', '1'], { sandbox, emulator, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(archiveRequests()).toHaveLength(1);
  });

  it('reads a body that is not gzip as a bad archive, retried, then a clear error', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 2, kind: 'status', status: 200, contentType: 'application/x-gzip', body: 'this is not a tarball' });
    emulator.clearRequests();
    const result = await runCli(['install', '--retries', '1'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^npkg: utils: the archive of acme\/utils@[0-9a-f]{12} is not a valid \.tar\.gz \(.+\)$/m);
    expect(result.stderr).not.toMatch(/TAR_|tar:|unexpected error/i);
    expect(archiveRequests()).toHaveLength(2);
    expect(await leftovers(sandbox.project)).toEqual([]);
    expect(await leftovers(sandbox.cacheDir)).toEqual([]);
  });

  it('finishes the other modules, lists every failure, and exits 4 when one failure is a credential', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0', theme: { repo: 'design-team/theme', ref: 'main' }, icons: { repo: 'acme/icon-set', ref: 'v3.1.0' } } });
    emulator.addFault({ server: 'web', path: /\/design-team\/theme\/get\//, times: 1, kind: 'status', status: 502 });
    emulator.addFault({ server: 'web', path: /\/acme\/icon-set\/get\//, times: 1, kind: 'signin' });
    const result = await runCli(['install', '--retries', '0', '--json'], { sandbox, emulator, env });
    expect(result.code).toBe(4);
    const report = parseJson<{ modules: Array<{ name: string; action: string; error?: { code: string } }> }>(result.stdout);
    expect(Object.fromEntries(report.modules.map((module) => [module.name, module.error?.code ?? module.action]))).toEqual({
      utils: 'downloaded',
      theme: 'SERVER',
      icons: 'CREDENTIAL_REFUSED',
    });
    expect(result.stderr).toMatch(/^npkg: theme: Bitbucket answered 502 for design-team\/theme$/m);
    expect(result.stderr).toMatch(/^npkg: icons: .*refused the credential from BITBUCKET_TOKEN for acme\/icon-set/m);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.4\n');
    // Without the credential failure, the same run exits 1.
    emulator.addFault({ server: 'web', path: /\/design-team\/theme\/get\//, times: 1, kind: 'status', status: 502 });
    const second = await runCli(['install', '--retries', '0'], { sandbox, emulator, env });
    expect(second.code).toBe(1);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'icons', 'dist', 'icon.svg'), 'utf8')).toBe('<svg/>\n');
  });
});
