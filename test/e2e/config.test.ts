import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, runCli, useEmulator } from '../helpers.js';

let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

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
    // The same flags on the other commands that use the network.
    emulator.addFault({ server: 'api', path: /refs\/tags/, times: 1, kind: 'stall' });
    const outdated = await runCli(['outdated', '--retries', '0', '--network-timeout', '1'], { sandbox, env: TOKEN_ENV });
    expect(outdated.code).toBe(1);
    expect(outdated.stderr).toMatch(/within the network timeout/);
    for (const command of ['add', 'update', 'whoami']) {
      expect((await runCli([command, '--help'], { sandbox })).stdout).toMatch(/--retries[\s\S]*--network-timeout/);
    }
    const bad = await runCli(['install', '--network-timeout', '0'], { sandbox, env: { ...TOKEN_ENV, NPKG_NETWORK_TIMEOUT: '1' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--network-timeout must be a whole number/);
  });
});
