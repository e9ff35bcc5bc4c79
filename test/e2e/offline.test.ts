import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, parseJson, runCli, useEmulator } from '../helpers.js';

const TOKEN = TEST_TOKEN;
const env = TOKEN_ENV;
let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN] }, (started) => (emulator = started));

describe('cache and --offline', () => {
  it('keeps archives by workspace/slug/commit and reinstalls from them with no request', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    const commit = emulator.repos.get('acme/utils')!.tags.get('v1.4.0')!;
    const entry = path.join(sandbox.cacheDir, 'archives', 'acme', 'utils', `${commit}.tar.gz`);
    expect((await stat(entry)).size).toBeGreaterThan(0);
    expect((await readdir(path.dirname(entry))).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    await rm(path.join(sandbox.project, 'vendor'), { recursive: true });
    emulator.clearRequests();
    const warm = await runCli(['install', '--offline', '--json'], { sandbox, emulator, env: {} });
    expect(warm.code).toBe(0);
    expect(parseJson<{ modules: Array<{ action: string }> }>(warm.stdout).modules[0]!.action).toBe('cached');
    expect(emulator.requests).toEqual([]);

    // Online, a cached archive also saves the download.
    await rm(path.join(sandbox.project, 'vendor'), { recursive: true });
    const online = await runCli(['install', '--json'], { sandbox, emulator, env });
    expect(parseJson<{ modules: Array<{ action: string }> }>(online.stdout).modules[0]!.action).toBe('cached');
    expect(emulator.requests).toEqual([]);
  });

  it('fails clearly on a cache miss with --offline', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    await rm(path.join(sandbox.project, 'vendor'), { recursive: true });
    await rm(sandbox.cacheDir, { recursive: true });
    emulator.clearRequests();
    const cold = await runCli(['install', '--offline'], { sandbox, emulator, env });
    expect(cold.code).toBe(1);
    expect(cold.stderr).toMatch(/utils: acme\/utils@[0-9a-f]{12} is not in the cache .*run without --offline/);
    expect(emulator.requests).toEqual([]);
  });

  it('cannot resolve a module that is not locked with --offline', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const result = await runCli(['install', '--offline'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--offline: utils \(v1\.4\.0\) is not in modules\.lock\.json/);
  });
});
