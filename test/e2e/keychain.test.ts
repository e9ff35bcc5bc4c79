import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type Keytar, openCredentialStore } from '../../src/auth/store.js';
import { makeSandbox, runCli } from '../helpers.js';

/** Whether a real Secret Service answers here (CI runs the tests inside dbus-run-session with gnome-keyring). */
async function keychainAvailable(): Promise<string | undefined> {
  let keytar: Keytar;
  try {
    keytar = createRequire(import.meta.url)('keytar') as Keytar;
  } catch (error) {
    return `keytar does not load: ${(error as Error).message}`;
  }
  try {
    await keytar.findCredentials('npkg-test-probe');
    return undefined;
  } catch (error) {
    return `no Secret Service answers: ${(error as Error).message}`;
  }
}

const missing = await keychainAvailable();

describe('credential stores', () => {
  it('keeps tokens longer than 2,500 characters in the file store', async () => {
    const sandbox = await makeSandbox();
    const store = await openCredentialStore(sandbox.configDir, 'file', () => undefined);
    const long = 'r'.repeat(2600);
    await store.set('bitbucket.example:443', { grant: 'authorization_code', accessToken: 'a'.repeat(3000), refreshToken: long });
    expect((await store.get('bitbucket.example:443'))?.refreshToken).toBe(long);
    expect(await store.delete('bitbucket.example:443')).toBe(true);
    expect(await store.get('bitbucket.example:443')).toBeUndefined();
  });

  it.skipIf(missing !== undefined)(`round-trips a credential through the real keychain${missing ? ` (skipped: ${missing})` : ''}`, async () => {
    const sandbox = await makeSandbox();
    const store = await openCredentialStore(sandbox.configDir, 'keychain', () => undefined);
    expect(store.name).toBe('keychain');
    const host = `npkg-test-${process.pid}.example`;
    const long = 'k'.repeat(2600);
    await store.set(host, { grant: 'authorization_code', accessToken: 'access-token', refreshToken: long, clientId: 'id', clientSecret: 'secret' });
    expect(await store.get(host)).toMatchObject({ accessToken: 'access-token', refreshToken: long });
    expect(await store.delete(host)).toBe(true);
    expect(await store.get(host)).toBeUndefined();
    // An entry that is not npkg's JSON reads as damaged (exit 4), not as a crash.
    const keytar = createRequire(import.meta.url)('keytar') as Keytar;
    await keytar.setPassword('npkg', host, 'not json');
    await expect(store.get(host)).rejects.toMatchObject({ code: 'NO_CREDENTIAL', message: expect.stringMatching(/is damaged: run `npkg logout`/) });
    await store.delete(host);
  });

  it('reads a damaged credentials.json as no usable credential (exit 4), naming the file', async () => {
    const sandbox = await makeSandbox();
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(sandbox.configDir, { recursive: true });
    await writeFile(`${sandbox.configDir}/credentials.json`, '{"bitbucket.org": {');
    const result = await runCli(['whoami'], { sandbox, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/credentials\.json is damaged: delete it and run `npkg login`/);
  });
});
