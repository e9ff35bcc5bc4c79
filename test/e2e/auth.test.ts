import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { makeSandbox, parseJson, runCli } from '../helpers.js';

const TOKEN = 'test-token-0123456789abcdef';
let emulator: Emulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const manifest = { workspace: 'acme', modules: { utils: 'v1.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } };

describe('credentials', () => {
  it('installs with BITBUCKET_USERNAME and BITBUCKET_API_TOKEN (Basic)', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, basicUsers: [{ username: 'dev@example.com', password: 'api-token-secret-value' }] });
    const sandbox = await makeSandbox(manifest);
    const result = await runCli(['install'], {
      sandbox,
      emulator,
      env: { BITBUCKET_USERNAME: 'dev@example.com', BITBUCKET_API_TOKEN: 'api-token-secret-value' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(emulator.requests.every((request) => String(request.headers.authorization).startsWith('Basic '))).toBe(true);
  });

  it('uses BITBUCKET_TOKEN_<WORKSPACE> before BITBUCKET_TOKEN', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: ['acme-only-token-123456', 'design-team-token-123456'] });
    const sandbox = await makeSandbox(manifest);
    const result = await runCli(['install'], {
      sandbox,
      emulator,
      env: { BITBUCKET_TOKEN_ACME: 'acme-only-token-123456', BITBUCKET_TOKEN: 'design-team-token-123456' },
    });
    expect(result.code).toBe(0);
    const byRepo = (repo: string) => emulator!.requests.filter((request) => request.url.includes(repo)).map((request) => request.headers.authorization);
    expect(new Set(byRepo('acme/utils'))).toEqual(new Set(['Bearer acme-only-token-123456']));
    expect(new Set(byRepo('design-team/theme'))).toEqual(new Set(['Bearer design-team-token-123456']));
  });

  it('exits 4 naming `npkg login` and the variables when there is no credential', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN] });
    const sandbox = await makeSandbox(manifest);
    const result = await runCli(['install'], { sandbox, emulator, env: {} });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/npkg login/);
    for (const variable of ['BITBUCKET_TOKEN_ACME', 'BITBUCKET_TOKEN', 'BITBUCKET_USERNAME', 'BITBUCKET_API_TOKEN', 'BITBUCKET_APP_PASSWORD', 'BITBUCKET_CLIENT_ID', 'BITBUCKET_CLIENT_SECRET']) {
      expect(result.stderr).toContain(variable);
    }
    expect(emulator.requests).toEqual([]);
  });

  it.each(['401', 'signin-redirect'] as const)('exits 4 naming the repo and the source when the archive host refuses (%s)', async (mode) => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN], unauthenticatedArchive: mode });
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    // Resolve with a good token, then download with a refused one, through a lockfile.
    expect((await runCli(['install'], { sandbox, emulator, env: { BITBUCKET_TOKEN: TOKEN } })).code).toBe(0);
    await import('node:fs/promises').then(({ rm }) => rm(path.join(sandbox.project, 'vendor'), { recursive: true }));
    await import('node:fs/promises').then(({ rm }) => rm(sandbox.cacheDir, { recursive: true }));
    const secret = 'wrong-token-abcdefghijklmnop';
    const result = await runCli(['install', '--verbose'], { sandbox, emulator, env: { BITBUCKET_TOKEN: secret } });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/refused the credential from BITBUCKET_TOKEN for acme\/utils/);
    expect(result.stderr + result.stdout).not.toContain(secret);
    expect(result.stderr).toContain('wron…mnop');
  });

  it('exits 4 when the API refuses the token, and never prints it', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN] });
    const sandbox = await makeSandbox(manifest);
    const secret = 'bad-token-zyxwvutsrqponm';
    const result = await runCli(['install', '--json', '--verbose'], { sandbox, emulator, env: { BITBUCKET_TOKEN: secret } });
    expect(result.code).toBe(4);
    const report = parseJson<{ modules: Array<{ action: string; error: { code: string } }> }>(result.stdout);
    expect(report.modules.map((module) => module.error.code)).toEqual(['CREDENTIAL_REFUSED', 'CREDENTIAL_REFUSED']);
    expect(result.stderr + result.stdout).not.toContain(secret);
  });

  it('follows an archive redirect to another host without the Authorization header', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN], archiveRedirect: true });
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const result = await runCli(['install'], { sandbox, emulator, env: { BITBUCKET_TOKEN: TOKEN } });
    expect(result.code).toBe(0);
    const cdn = emulator.requests.filter((request) => request.server === 'cdn');
    expect(cdn).toHaveLength(1);
    expect(cdn[0]!.headers.authorization).toBeUndefined();
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.0\n');
  });
});
