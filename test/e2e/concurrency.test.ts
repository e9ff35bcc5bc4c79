import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../support/bitbucket-emulator.js';
import { TEST_REPOS } from '../support/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, independentHash1, makeSandbox, parseJson, runCli, startCli, useEmulator } from '../helpers.js';

let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

describe('more network faults', () => {
  it('honours Retry-After on a 429, and a 429 without it backs off and retries', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    emulator.clearRequests();
    emulator.addFault({ server: 'api', path: /refs\/tags\/v1\.4\.0/, times: 1, kind: 'status', status: 429, retryAfter: '1' });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'status', status: 429 });
    const result = await runCli(['install', '--verbose'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/429 .*retry 1 of 3 in 1 s/);
    expect(emulator.requests.filter((request) => request.url.includes('/get/'))).toHaveLength(2);
  });

  it('reads a 200 HTML sign-in page instead of an archive as a refused credential (exit 4)', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'status', status: 200, contentType: 'text/html; charset=utf-8', body: '<html>Log in</html>' });
    const result = await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/refused the credential from BITBUCKET_TOKEN for acme\/utils/);
  });
});

describe('one npkg per project', () => {
  it('a second install waits for the first, then finds nothing to do', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    // The first install's download stalls for a while, holding the project lock.
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'stall' });
    const first = runCli(['install', '--json', '--network-timeout', '2'], { sandbox, emulator, env: TOKEN_ENV });
    // The lock file shows when the first one holds the lock.
    for (;;) {
      const names = await readdir(path.join(sandbox.project, 'vendor')).catch(() => [] as string[]);
      if (names.includes('.npkg.lock')) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const second = await runCli(['install', '--json'], { sandbox, emulator, env: TOKEN_ENV });
    const firstResult = await first;
    expect(firstResult.code).toBe(0);
    expect(second.code).toBe(0);
    expect(parseJson<{ modules: Array<{ action: string }> }>(second.stdout).modules[0]!.action).toBe('unchanged');
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(sandbox.project, 'vendor'));
    const { hostname } = await import('node:os');
    await writeFile(path.join(sandbox.project, 'vendor', '.npkg.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const result = await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(0);
  });
});

describe('a kill during the download', () => {
  it('leaves no torn module, and the next install cleans up and converges', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    const lockBefore = await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8');
    // Move utils to another tag, then kill the install while its download hangs.
    const { writeManifest } = await import('../helpers.js');
    await writeManifest(sandbox, { workspace: 'acme', modules: { utils: 'v2.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    emulator.addFault({ server: 'web', path: /\/acme\/utils\/get\//, times: 1, kind: 'stall' });
    const child = startCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    // Wait until the stalled download has begun (the server has the request, the staging folder exists), then SIGKILL.
    emulator.clearRequests();
    for (;;) {
      const names = await readdir(path.join(sandbox.project, 'vendor'));
      const requested = emulator.requests.some((request) => request.url.includes('/acme/utils/get/'));
      if (requested && names.some((name) => name.startsWith('.npkg-staging-utils'))) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill('SIGKILL');
    await child.done;
    // Wholly old: the old tree, the old lockfile.
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.4\n');
    expect(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8')).toBe(lockBefore);
    const next = await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    expect(next.code).toBe(0);
    expect((await readdir(path.join(sandbox.project, 'vendor'))).filter((name) => name.startsWith('.npkg-'))).toEqual(['.npkg-state.json']);
    const lock = JSON.parse(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(lock.modules.utils.integrity).toBe(await independentHash1(path.join(sandbox.project, 'vendor', 'utils')));
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 2.0\n');
  });
});

describe('a kill between the two renames of a swap', () => {
  it('finds the module folder absent, the old tree renamed away and the state marked, and converges', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    const vendor = path.join(sandbox.project, 'vendor');
    const { mkdir, rename } = await import('node:fs/promises');
    // Exactly what a SIGKILL after the first rename of swapIn leaves behind.
    const stateFile = path.join(vendor, '.npkg-state.json');
    const state = JSON.parse(await readFile(stateFile, 'utf8'));
    state.modules.utils.next = { commit: emulator.repos.get('acme/utils')!.tags.get('v1.4.0'), integrity: `h1:${Buffer.alloc(32, 1).toString('base64')}` };
    await writeFile(stateFile, JSON.stringify(state));
    await rename(path.join(vendor, 'utils'), path.join(vendor, '.npkg-old-utils-killed'));
    await mkdir(path.join(vendor, '.npkg-staging-utils-killed', 'lib'), { recursive: true });
    await writeFile(path.join(vendor, '.npkg-staging-utils-killed', 'README.md'), 'utils 1.4\n');
    const { writeManifest } = await import('../helpers.js');
    await writeManifest(sandbox, { workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const next = await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV });
    expect(next.code).toBe(0);
    expect((await readdir(vendor)).sort()).toEqual(['.npkg-state.json', 'utils']);
    const lock = JSON.parse(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(lock.modules.utils.integrity).toBe(await independentHash1(path.join(vendor, 'utils')));
    expect(JSON.parse(await readFile(stateFile, 'utf8')).modules.utils.next).toBeUndefined();
  });
});

describe('configuration precedence', () => {
  it('takes config.json, then the environment over it, then flags over both', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(sandbox.configDir, { recursive: true });
    await writeFile(path.join(sandbox.configDir, 'config.json'), JSON.stringify({ bitbucketUrl: emulator.webUrl, apiUrl: emulator.apiUrl, concurrency: 1 }));
    // No BITBUCKET_URL in the environment: config.json says where Bitbucket is.
    expect((await runCli(['install'], { sandbox, env: TOKEN_ENV })).code).toBe(0);
    // The environment wins over config.json.
    const dead = 'http://127.0.0.1:9';
    const overridden = await runCli(['install', '--force', '--retries', '0'], { sandbox, env: { ...TOKEN_ENV, BITBUCKET_API_URL: dead, BITBUCKET_URL: dead } });
    expect(overridden.code).toBe(0); // the archive is cached: no request is needed
    await writeFile(path.join(sandbox.project, 'modules.json'), JSON.stringify({ workspace: 'acme', modules: { utils: 'v1.4.0' } }));
    const unreachable = await runCli(['install', '--retries', '0'], { sandbox, env: { ...TOKEN_ENV, BITBUCKET_API_URL: dead } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/network error talking to 127\.0\.0\.1:9/);
    // NPKG_NETWORK_TIMEOUT bounds a stall; the flag wins over it.
    emulator.addFault({ server: 'api', path: /refs\/tags\/v1\.4\.0/, times: 1, kind: 'stall' });
    const stalled = await runCli(['install', '--retries', '0'], { sandbox, env: { ...TOKEN_ENV, NPKG_NETWORK_TIMEOUT: '1' } });
    expect(stalled.code).toBe(1);
    expect(stalled.stderr).toMatch(/within the network timeout/);
    const bad = await runCli(['install', '--network-timeout', '0'], { sandbox, env: { ...TOKEN_ENV, NPKG_NETWORK_TIMEOUT: '1' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--network-timeout must be a whole number/);
  });
});
