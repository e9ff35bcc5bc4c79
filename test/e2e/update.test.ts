import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import type { RepoFixture } from '../emulator/git-fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, runCli, useEmulator } from '../helpers.js';

const lib = (workspaceSlug: string): RepoFixture => ({
  repo: workspaceSlug,
  commits: [
    { files: { 'v.txt': '0.9\n' }, tags: ['v0.9.0'] },
    { files: { 'v.txt': '1.0\n' }, tags: ['v1.0.0'] },
    { files: { 'v.txt': '1.1\n' } },
    { files: { 'v.txt': '2.0\n' }, tags: ['v2.0.0'] },
  ],
});
let emulator: Emulator;
useEmulator({ repos: [lib('acme/lib'), lib('acme/other'), lib('acme/edited')], bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

const lockOf = async (sandbox: { project: string }) => JSON.parse(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8')).modules;

describe('npkg update', () => {
  it('with no lockfile and every module failing, reports each failure and its exit code', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { lib: 'v0.9.0' } });
    const result = await runCli(['update'], { sandbox, emulator, env: {} });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^npkg: lib: no Bitbucket credential for workspace acme/m);
    expect(result.stderr).not.toMatch(/unexpected error|ENOENT/);
  });

  it('moves a range to a new tag and an exact tag to where it was moved, printing old → new', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { lib: '~1.0.0', other: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    const libRepo = emulator.repos.get('acme/lib')!;
    const otherRepo = emulator.repos.get('acme/other')!;
    await emulator.moveTag('acme/lib', 'v1.0.1', libRepo.commits[2]!);
    await emulator.moveTag('acme/other', 'v1.0.0', otherRepo.commits[2]!);
    // install keeps the locked commits...
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    expect((await lockOf(sandbox)).lib.resolved).toBe('tag:v1.0.0');
    // ...update moves them.
    const result = await runCli(['update'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^lib: v1\.0\.0 \([0-9a-f]{12}\) → v1\.0\.1 \([0-9a-f]{12}\)$/m);
    const lock = await lockOf(sandbox);
    expect(lock.lib).toMatchObject({ ref: '~1.0.0', resolved: 'tag:v1.0.1', commit: libRepo.commits[2] });
    expect(lock.other).toMatchObject({ ref: 'v1.0.0', resolved: 'tag:v1.0.0', commit: otherRepo.commits[2] });
    expect(JSON.parse(await readFile(path.join(sandbox.project, 'modules.json'), 'utf8')).modules).toEqual({ lib: '~1.0.0', other: 'v1.0.0' });
    expect(await readFile(path.join(sandbox.project, 'vendor', 'lib', 'v.txt'), 'utf8')).toBe('1.1\n');
    // Nothing moved since: a second update changes nothing.
    expect((await runCli(['update', 'lib'], { sandbox, emulator, env: TOKEN_ENV })).stdout).toMatch(/^lib: v1\.0\.1 \([0-9a-f]{12}\) \(unchanged\)$/m);
  });

  it('--latest rewrites exact tags and keeps a range operator; a locally edited module needs --force', async () => {
    const sandbox = await makeSandbox('{\n  "workspace": "acme",\n  "modules": {\n    "lib": "v0.9.0",\n    "other": { "repo": "acme/other", "ref": "^0.9.0" },\n    "edited": "v0.9.0"\n  }\n}\n');
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    await writeFile(path.join(sandbox.project, 'vendor', 'edited', 'v.txt'), 'mine\n');
    const refused = await runCli(['update', '--latest'], { sandbox, emulator, env: TOKEN_ENV });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/edited: vendor\/edited was changed locally/);
    // Rewritten in place: only the refs change; the one-line object stays on its line.
    expect(await readFile(path.join(sandbox.project, 'modules.json'), 'utf8')).toBe(
      '{\n  "workspace": "acme",\n  "modules": {\n    "lib": "v2.0.0",\n    "other": { "repo": "acme/other", "ref": "^2.0.0" },\n    "edited": "v2.0.0"\n  }\n}\n',
    );
    expect(await readFile(path.join(sandbox.project, 'vendor', 'edited', 'v.txt'), 'utf8')).toBe('mine\n');
    expect((await runCli(['update', 'edited', '--force'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'edited', 'v.txt'), 'utf8')).toBe('2.0\n');
  });
});
