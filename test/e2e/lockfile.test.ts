import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, describeTree, makeSandbox, runCli, useEmulator, writeManifest } from '../helpers.js';

const TOKEN = TEST_TOKEN;
const env = TOKEN_ENV;
let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN] }, (started) => (emulator = started));

describe('frozen lockfile', () => {
  it('fails with exit 2 when the lockfile is missing, with the flag or CI=true', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    emulator.clearRequests();
    const flagged = await runCli(['install', '--frozen-lockfile'], { sandbox, emulator, env });
    expect(flagged.code).toBe(2);
    expect(flagged.stderr).toMatch(/modules\.lock\.json does not match modules\.json \(there is no lockfile\)/);
    const ci = await runCli(['install'], { sandbox, emulator, env: { ...env, CI: 'true' } });
    expect(ci.code).toBe(2);
    expect(emulator.requests).toEqual([]);
    const overridden = await runCli(['install', '--no-frozen-lockfile'], { sandbox, emulator, env: { ...env, CI: 'true' } });
    expect(overridden.code).toBe(0);
  });

  it('fails with exit 2 when the manifest changed, and leaves lockfile and vendor alone', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    const lockBefore = await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8');
    await writeManifest(sandbox, { workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const result = await runCli(['install'], { sandbox, emulator, env: { ...env, CI: '1' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/utils changed in the manifest/);
    expect(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8')).toBe(lockBefore);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.0\n');
  });

  it('installs from a matching lockfile in CI', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    await import('node:fs/promises').then(({ rm }) => rm(path.join(sandbox.project, 'vendor'), { recursive: true }));
    const result = await runCli(['install'], { sandbox, emulator, env: { ...env, CI: 'true' } });
    expect(result.code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.0\n');
  });
});

describe('integrity', () => {
  it('refuses a tree that does not match the lockfile: exit 1, old folder intact', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    await writeManifest(sandbox, { workspace: 'acme', modules: { utils: 'v1.4.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    const vendor = path.join(sandbox.project, 'vendor', 'utils');
    const before = await describeTree(vendor);
    // A lockfile whose integrity no longer matches what the server (or the cache) gives for that commit.
    const lockFile = path.join(sandbox.project, 'modules.lock.json');
    const lock = JSON.parse(await readFile(lockFile, 'utf8'));
    const tampered = `h1:${Buffer.alloc(32, 7).toString('base64')}`;
    lock.modules.utils.integrity = tampered;
    await writeFile(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
    const result = await runCli(['install', '--json'], { sandbox, emulator, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/integrity mismatch for utils/);
    expect(JSON.parse(result.stdout).modules[0]).toMatchObject({ name: 'utils', action: 'failed', error: { code: 'INTEGRITY_MISMATCH' } });
    expect(await describeTree(vendor)).toEqual(before);
    // The failed module keeps its previous lock entry.
    expect(JSON.parse(await readFile(lockFile, 'utf8')).modules.utils.integrity).toBe(tampered);
  });

  it('refuses to replace a folder edited locally unless --force', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    await writeFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'my local edit\n');
    await writeManifest(sandbox, { workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const refused = await runCli(['install'], { sandbox, emulator, env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/vendor\/utils was changed locally/);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('my local edit\n');
    expect((await runCli(['install', '--force'], { sandbox, emulator, env })).code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.4\n');
    // With nothing changed, a plain install leaves an edit alone (it checks that folders exist);
    // --force puts the locked tree back.
    await writeFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'edited again\n');
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('edited again\n');
    expect((await runCli(['install', '--force'], { sandbox, emulator, env })).code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.4\n');
  });
});
