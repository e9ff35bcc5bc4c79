import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../support/bitbucket-emulator.js';
import { TEST_REPOS } from '../support/fixtures.js';
import { makeSandbox, runCli, type CliResult } from '../helpers.js';

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
  it('no token, password, client secret, access or refresh token appears in any output or file, with --verbose, in success and failure', async () => {
    const marker = (name: string) => `SECRETMARK${name}0123456789`;
    const consumer = { key: 'audit-key', secret: marker('CLIENT'), callbackUrl: 'http://127.0.0.1', private: true };
    emulator = await startEmulator({ repos: TEST_REPOS, bearerTokens: [marker('BEARER')], basicUsers: [{ username: 'me@example.com', password: marker('APITOKEN') }], oauth: { consumers: [consumer] } });
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const runs: CliResult[] = [];
    const run = async (args: string[], env: Record<string, string>) => runs.push(await runCli([...args, '--verbose'], { sandbox, emulator, env: { NPKG_CREDENTIAL_STORE: 'file', ...env } }));
    await run(['install'], { BITBUCKET_TOKEN: marker('BEARER') });
    await run(['install', '--force'], { BITBUCKET_USERNAME: 'me@example.com', BITBUCKET_API_TOKEN: marker('APITOKEN') });
    await run(['outdated'], { BITBUCKET_TOKEN: marker('WRONGBEARER') });
    emulator.addFault({ path: /refs\/tags/, times: 4, kind: 'status', status: 500, body: 'boom' });
    await run(['update', '--force'], { BITBUCKET_TOKEN: marker('BEARER') });
    await run(['login', '--client-credentials'], { BITBUCKET_CLIENT_ID: consumer.key, BITBUCKET_CLIENT_SECRET: consumer.secret });
    const stored = JSON.parse(await readFile(path.join(sandbox.configDir, 'credentials.json'), 'utf8'))[new URL(emulator.webUrl).host];
    await run(['whoami'], {});
    emulator.oauth!.expireAll();
    await run(['install', '--force'], {});
    await run(['outdated'], {});
    await run(['logout'], {});
    await run(['whoami'], {});
    expect(runs.map((result) => result.code)).toEqual([0, 0, 4, 1, 0, 0, 0, 0, 0, 4]);
    const secrets = [marker('BEARER'), marker('APITOKEN'), marker('WRONGBEARER'), consumer.secret, stored.accessToken as string];
    const outputs = runs.map((result) => result.stdout + result.stderr).join('\n');
    const files = await filesOutsideStore(sandbox.dir);
    for (const secret of secrets) {
      expect(outputs).not.toContain(secret);
      expect(files).not.toContain(secret);
    }
    expect(outputs).not.toContain('SECRETMARK');
    expect(files).not.toContain('SECRETMARK');
  });
});

describe('server input', () => {
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
