import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, describeTree, gitTree, independentHash1, makeSandbox, parseJson, runCli, useEmulator, writeManifest } from '../helpers.js';

const TOKEN = TEST_TOKEN;
let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TOKEN] }, (started) => (emulator = started));

const env = TOKEN_ENV;
const repo = (name: string) => emulator.repos.get(name)!;

interface LockJson {
  lockfileVersion: number;
  modules: Record<string, { repo: string; ref: string; resolved: string; commit: string; integrity: string; path?: string }>;
}

describe('npkg install', () => {
  it('resolves every ref kind to the commit it names and records it in the lockfile', async () => {
    const utils = repo('acme/utils');
    const sandbox = await makeSandbox({
      workspace: 'acme',
      modules: {
        utils: 'v1.4.0',
        ranged: { repo: 'utils', ref: '^2.0.0' },
        tilde: { repo: 'utils', ref: '~1.4' },
        slashed: { repo: 'acme/utils', ref: 'feature/x' },
        short: { repo: 'utils', ref: utils.commits[0]!.slice(0, 7) },
        theme: { repo: 'design-team/theme', ref: 'main' },
      },
    });
    const result = await runCli(['install'], { sandbox, emulator, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lock = parseJson<LockJson>(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(lock.lockfileVersion).toBe(1);
    expect(Object.keys(lock.modules)).toEqual(['ranged', 'short', 'slashed', 'theme', 'tilde', 'utils']);
    expect(lock.modules.utils).toMatchObject({ repo: 'acme/utils', ref: 'v1.4.0', resolved: 'tag:v1.4.0', commit: utils.tags.get('v1.4.0') });
    // 2.1.0 (no "v") and v2.0.0 both satisfy ^2.0.0: the highest wins.
    expect(lock.modules.ranged).toMatchObject({ resolved: 'tag:2.1.0', commit: utils.tags.get('2.1.0') });
    expect(lock.modules.tilde).toMatchObject({ resolved: 'tag:v1.4.0', commit: utils.tags.get('v1.4.0') });
    expect(lock.modules.slashed).toMatchObject({ resolved: 'branch:feature/x', commit: utils.branches.get('feature/x') });
    expect(lock.modules.short).toMatchObject({ resolved: 'commit', commit: utils.commits[0] });
    expect(lock.modules.theme).toMatchObject({ repo: 'design-team/theme', resolved: 'branch:main', commit: repo('design-team/theme').commits[1] });
    for (const [name, entry] of Object.entries(lock.modules)) {
      expect(entry.integrity).toBe(await independentHash1(path.join(sandbox.project, 'vendor', name)));
    }
    // Every archive was fetched by full commit hash.
    const archives = emulator.requests.filter((request) => request.url.includes('/get/'));
    for (const request of archives) expect(request.url).toMatch(/\/get\/[0-9a-f]{40}\.tar\.gz$/);
  });

  it('installs a tree equal to the git tree: modes, symbolic links, contents', async () => {
    const utils = repo('acme/utils');
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    const reference = await mkdtemp(path.join(os.tmpdir(), 'npkg-ref-'));
    await gitTree(utils.dir, utils.tags.get('v1.4.0')!, reference);
    const installed = await describeTree(path.join(sandbox.project, 'vendor', 'utils'));
    expect(installed).toEqual(await describeTree(reference));
    expect(installed).toContain('readme-link -> README.md');
    expect(installed.find((line) => line.startsWith('bin/run.sh'))).toMatch(/ x /);
    // The module folder is readable like any other folder, not private like the staging folder it came from.
    expect((await stat(path.join(sandbox.project, 'vendor', 'utils'))).mode & 0o777).toBe(0o755 & ~process.umask());
  });

  it('installs only the `path` subfolder, as the module root, and locks the path', async () => {
    const icons = repo('acme/icon-set');
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { icons: { repo: 'acme/icon-set', ref: 'v3.1.0', path: 'dist' } } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    const reference = await mkdtemp(path.join(os.tmpdir(), 'npkg-ref-'));
    await gitTree(icons.dir, icons.tags.get('v3.1.0')!, reference);
    const installed = path.join(sandbox.project, 'vendor', 'icons');
    expect(await describeTree(installed)).toEqual(await describeTree(path.join(reference, 'dist')));
    const lock = parseJson<LockJson>(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(lock.modules.icons).toMatchObject({ path: 'dist', integrity: await independentHash1(installed) });
  });

  it('prints --json as SPEC §4 says, and nothing else on stdout', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const result = await runCli(['install', '--json'], { sandbox, emulator, env });
    expect(result.code).toBe(0);
    const report = parseJson<{ modules: Array<Record<string, unknown>>; durationMs: number }>(result.stdout);
    expect(report.modules).toEqual([
      {
        name: 'utils',
        repo: 'acme/utils',
        ref: 'v1.0.0',
        commit: repo('acme/utils').tags.get('v1.0.0'),
        integrity: expect.stringMatching(/^h1:/),
        action: 'downloaded',
        // SPEC §10: where a downloaded module came from.
        source: 'bitbucket',
      },
    ]);
    expect(typeof report.durationMs).toBe('number');
    const again = parseJson<{ modules: Array<{ action: string }> }>((await runCli(['install', '--json'], { sandbox, emulator, env })).stdout);
    expect(again.modules.map((module) => module.action)).toEqual(['unchanged']);
  });

  it('makes no request and rewrites nothing when nothing changed', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    const files = ['modules.lock.json', 'vendor/.npkg-state.json', 'vendor/utils/README.md'].map((file) => path.join(sandbox.project, file));
    const before = await Promise.all(files.map(async (file) => (await stat(file)).mtimeMs));
    emulator.clearRequests();
    const result = await runCli(['install'], { sandbox, emulator, env: {} });
    expect(result.code).toBe(0);
    expect(emulator.requests).toEqual([]);
    expect(await Promise.all(files.map(async (file) => (await stat(file)).mtimeMs))).toEqual(before);
  });

  it('keeps the locked commit when the tag moves on the server', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { theme: { repo: 'design-team/theme', ref: 'v0.1.0' } } });
    const theme = repo('design-team/theme');
    await emulator.moveTag('design-team/theme', 'v0.1.0', theme.commits[0]!);
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    await emulator.moveTag('design-team/theme', 'v0.1.0', theme.commits[1]!);
    // A fresh vendor folder forces a download: it must still be the locked commit.
    await import('node:fs/promises').then(({ rm }) => rm(path.join(sandbox.project, 'vendor'), { recursive: true }));
    emulator.clearRequests();
    expect((await runCli(['install', '--json'], { sandbox, emulator, env })).code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'theme', 'theme.css'), 'utf8')).toBe('a { color: red }\n');
    expect(emulator.requests.filter((request) => request.server === 'api')).toEqual([]);
    const lock = parseJson<LockJson>(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(lock.modules.theme!.commit).toBe(theme.commits[0]);
  });

  it('removes the folder of an entry dropped from the manifest, and nothing else', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    expect((await runCli(['install'], { sandbox, emulator, env })).code).toBe(0);
    await writeFile(path.join(sandbox.project, 'vendor', 'keep-me.txt'), 'mine\n');
    await writeManifest(sandbox, { workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const result = await runCli(['install', '--json'], { sandbox, emulator, env });
    expect(result.code).toBe(0);
    expect(parseJson<{ modules: Array<{ name: string; action: string }> }>(result.stdout).modules).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'theme', action: 'removed' })]),
    );
    await expect(stat(path.join(sandbox.project, 'vendor', 'theme'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'keep-me.txt'), 'utf8')).toBe('mine\n');
    const lock = parseJson<LockJson>(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8'));
    expect(Object.keys(lock.modules)).toEqual(['utils']);
  });

  it('finds modules.json in a parent folder, and in -C DIR', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const nested = path.join(sandbox.project, 'src', 'deep');
    await import('node:fs/promises').then(({ mkdir }) => mkdir(nested, { recursive: true }));
    expect((await runCli(['install'], { sandbox, emulator, env, cwd: nested })).code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'README.md'), 'utf8')).toBe('utils 1.0\n');
    const elsewhere = await runCli(['-C', sandbox.project, 'install', '--json'], { sandbox, emulator, env, cwd: os.tmpdir() });
    expect(parseJson<{ modules: Array<{ action: string }> }>(elsewhere.stdout).modules[0]!.action).toBe('unchanged');
  });
});
