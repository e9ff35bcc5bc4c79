import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { makeSandbox, runCli, startCli, type CliResult } from '../helpers.js';

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

/** Every file under a folder, with its text, except the credential store itself. */
async function filesOutsideStore(dir: string): Promise<string> {
  let all = '';
  for (const name of await readdir(dir, { recursive: true })) {
    const file = path.join(dir, String(name));
    if (String(name).endsWith('credentials.json')) continue;
    all += await readFile(file, 'utf8').catch(() => '');
  }
  return all;
}

describe('secrets audit', () => {
  it('no token, password, client secret, access or refresh token appears in any output or file, for every command with --verbose, in success and failure', async () => {
    const marker = (name: string) => `SECRETMARK${name}0123456789`;
    const consumer = { key: 'audit-key', secret: marker('CLIENT'), callbackUrl: 'http://127.0.0.1', private: true };
    emulator = await startEmulator({
      repos: TEST_REPOS,
      bearerTokens: [marker('BEARER')],
      basicUsers: [{ username: 'me@example.com', password: marker('APITOKEN') }],
      oauth: { consumers: [consumer], tokenPrefix: marker('OAUTH') },
    });
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const runs: Array<CliResult & { command: string }> = [];
    const options = (env: Record<string, string>) => ({ sandbox, emulator, env: { NPKG_CREDENTIAL_STORE: 'file', ...env } });
    const run = async (args: string[], env: Record<string, string> = {}) => {
      runs.push({ command: args.join(' '), ...(await runCli([...args, '--verbose'], options(env))) });
    };
    const bearer = { BITBUCKET_TOKEN: marker('BEARER') };
    const clientEnv = { BITBUCKET_CLIENT_ID: consumer.key, BITBUCKET_CLIENT_SECRET: consumer.secret };
    // Environment credentials.
    await run(['install'], bearer);
    await run(['install', '--force'], { BITBUCKET_USERNAME: 'me@example.com', BITBUCKET_API_TOKEN: marker('APITOKEN') });
    await run(['outdated'], { BITBUCKET_TOKEN: marker('WRONGBEARER') });
    await run(['add', 'design-team/theme@main'], { BITBUCKET_TOKEN: marker('WRONGBEARER') });
    await run(['add', 'design-team/theme@main'], bearer);
    await run(['list', '--verify']);
    await run(['verify']);
    await run(['cache', 'ls']);
    await run(['remove', 'theme']);
    emulator.addFault({ path: /refs\/tags/, times: 4, kind: 'status', status: 500, body: 'boom' });
    await run(['update', '--force'], bearer);
    // A consumer's client credentials, then a browser login with its access and refresh tokens.
    await run(['login', '--client-credentials'], clientEnv);
    await run(['whoami']);
    await run(['logout']);
    const login = startCli(['login', '--no-browser', '--callback-url', 'http://127.0.0.1:0/callback', '--verbose'], options(clientEnv));
    await fetch((await login.waitForLine(/\/site\/oauth2\/authorize\?/)).trim());
    runs.push({ command: 'login', ...(await login.done) });
    emulator.oauth!.expireAll();
    await run(['install', '--force']);
    await run(['outdated']);
    await run(['whoami', '--json']);
    emulator.oauth!.revokeRefreshTokens();
    emulator.oauth!.expireAll();
    await run(['outdated']);
    await run(['whoami']);
    expect(runs.map((result) => `${result.command} → ${result.code}`)).toEqual([
      'install → 0',
      'install --force → 0',
      'outdated → 4',
      'add design-team/theme@main → 4',
      'add design-team/theme@main → 0',
      'list --verify → 0',
      'verify → 0',
      'cache ls → 0',
      'remove theme → 0',
      'update --force → 1',
      'login --client-credentials → 0',
      'whoami → 0',
      'logout → 0',
      'login → 0',
      'install --force → 0',
      'outdated → 0',
      'whoami --json → 0',
      'outdated → 4',
      'whoami → 4',
    ]);
    // Every kind of secret was in play, and none of them shows anywhere.
    expect(emulator.requests.some((request) => request.headers.authorization === `Bearer ${marker('BEARER')}`)).toBe(true);
    expect(emulator.requests.some((request) => String(request.headers.authorization).startsWith(`Bearer ${marker('OAUTH')}`))).toBe(true);
    const outputs = runs.map((result) => result.stdout + result.stderr).join('\n');
    expect(outputs).not.toContain('SECRETMARK');
    expect(await filesOutsideStore(sandbox.dir)).not.toContain('SECRETMARK');
  });
});

describe('server input', () => {
  it('refuses an API answer of the wrong shape with a clear error, writing nothing', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: ['token-0123456789abcdef'] });
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const json = (body: unknown) => ({ kind: 'status', status: 200, contentType: 'application/json', body: JSON.stringify(body) }) as const;
    emulator.addFault({ server: 'api', path: /refs\/tags\/v1\.4\.0/, times: 1, ...json({ name: 'v1.4.0', target: { hash: '../../../../etc/passwd' } }) });
    emulator.addFault({ server: 'api', path: /refs\/tags\/v1\.4\.0/, times: 1, kind: 'status', status: 200, contentType: 'application/json', body: '{"name": "v1.4' });
    const env = { BITBUCKET_TOKEN: 'token-0123456789abcdef' };
    const badHash = await runCli(['install'], { sandbox, emulator, env });
    expect(badHash.code).toBe(1);
    expect(badHash.stderr).toBe('npkg: utils: Bitbucket sent an unexpected answer for acme/utils: a tag without a 40-hex "target.hash"\n');
    const badJson = await runCli(['install', '--retries', '0'], { sandbox, emulator, env });
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/^npkg: utils: the API answered \S+refs\/tags\/v1\.4\.0 with invalid JSON$/m);
    expect(await readdir(sandbox.project)).not.toContain('modules.lock.json');
    expect(emulator.requests.some((request) => request.url.includes('/get/') || request.url.includes('etc'))).toBe(false);
  });

  it('tag names that are not git ref names never reach a path, a URL or the lockfile', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: ['token-0123456789abcdef'] });
    const utils = emulator.repos.get('acme/utils')!;
    for (const evil of ['../../v9.0.0', 'https://evil.example/v9.1.0', `v9.2.0${'x'.repeat(10_000)}`, 'v9.3.0\nx']) utils.tags.set(evil, utils.commits[0]!);
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: '*' } });
    const result = await runCli(['install'], { sandbox, emulator, env: { BITBUCKET_TOKEN: 'token-0123456789abcdef' } });
    expect(result.code).toBe(0);
    const lock = JSON.parse(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(lock.modules.utils.resolved).toBe('tag:2.1.0');
    expect(emulator.requests.every((request) => !request.url.includes('evil') && !request.url.includes('..'))).toBe(true);
  });
});
