import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, parseJson, runCli, startCli, useEmulator } from '../helpers.js';

let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

describe('npkg list', () => {
  it('shows ok, missing and, with --verify, modified', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0', theme: { repo: 'design-team/theme', ref: 'main' }, icons: { repo: 'icon-set', ref: 'v3.1.0' } } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    await rm(path.join(sandbox.project, 'vendor', 'theme'), { recursive: true });
    await writeFile(path.join(sandbox.project, 'vendor', 'icons', 'src', 'a.txt'), 'edited\n');
    const plain = await runCli(['ls', '--json'], { sandbox });
    expect(parseJson<{ modules: Array<{ name: string; state: string }> }>(plain.stdout).modules.map((row) => [row.name, row.state])).toEqual([
      ['utils', 'ok'],
      ['theme', 'missing'],
      ['icons', 'ok'],
    ]);
    const verified = await runCli(['list', '--verify'], { sandbox });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^icons {2}v3\.1\.0 {2}[0-9a-f]{12} {2}modified$/m);
    expect(verified.stdout).toMatch(/^utils {2}v1\.0\.0 {2}[0-9a-f]{12} {2}ok$/m);
    // In columns, as `outdated` prints them: the shorter ref is padded.
    expect(verified.stdout).toMatch(/^theme {2}main {4}[0-9a-f]{12} {2}missing$/m);
  });
});

describe('output to a reader that goes away', () => {
  it('stops writing quietly (npkg ls | head -1)', async () => {
    // More lines than a pipe holds, so that npkg is still writing when head exits.
    const modules = Object.fromEntries(Array.from({ length: 5000 }, (_, index) => [`m${index}`, 'v1.0.0']));
    const sandbox = await makeSandbox({ workspace: 'acme', modules });
    const result = await startCli(['ls'], { sandbox, under: ['sh', '-c', '"$0" "$@" | head -1'] }).done;
    expect(result.stdout).toMatch(/^m0 .*\n$/);
    expect(result.stderr).toBe('');
  });
});

describe('npkg cache', () => {
  it('shows its folder, lists archives with sizes, and cleans one repository or all', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    expect((await runCli(['cache', 'dir'], { sandbox })).stdout.trim()).toBe(sandbox.cacheDir);
    expect(parseJson((await runCli(['cache', 'dir', '--json'], { sandbox })).stdout)).toEqual({ dir: sandbox.cacheDir });
    const listed = parseJson<{ entries: Array<{ repo: string; commit: string; bytes: number }> }>((await runCli(['cache', 'ls', '--json'], { sandbox })).stdout);
    expect(listed.entries.map((entry) => entry.repo)).toEqual(['acme/utils', 'design-team/theme']);
    expect(listed.entries.every((entry) => entry.bytes > 0 && /^[0-9a-f]{40}$/.test(entry.commit))).toBe(true);
    const one = await runCli(['cache', 'clean', 'acme/utils'], { sandbox });
    expect(one.stdout).toMatch(/removed 1 archive\(s\), .* of acme\/utils/);
    const left = parseJson<{ entries: Array<{ repo: string }> }>((await runCli(['cache', 'ls', '--json'], { sandbox })).stdout);
    expect(left.entries.map((entry) => entry.repo)).toEqual(['design-team/theme']);
    const all = parseJson<{ removed: Array<{ repo: string }>; bytes: number }>((await runCli(['cache', 'clean', '--json'], { sandbox })).stdout);
    expect(all.removed.map((entry) => entry.repo)).toEqual(['design-team/theme']);
    expect(all.bytes).toBeGreaterThan(0);
    expect(parseJson<{ entries: unknown[] }>((await runCli(['cache', 'ls', '--json'], { sandbox })).stdout).entries).toEqual([]);
    const bad = await runCli(['cache', 'clean', '../etc'], { sandbox });
    expect(bad.code).toBe(2);
  });
});

describe('npkg remove', () => {
  it('takes a module out of manifest, lockfile, state and vendor, keeping the file layout', async () => {
    const text = '{\n\t"workspace": "acme",\n\t"modules": {\n\t\t"utils": "v1.0.0",\n\t\t"theme": {\n\t\t\t"repo": "design-team/theme",\n\t\t\t"ref": "main"\n\t\t}\n\t}\n}';
    const sandbox = await makeSandbox(text);
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    const result = await runCli(['remove', 'theme'], { sandbox });
    expect(result.code).toBe(0);
    const { readFile, stat } = await import('node:fs/promises');
    expect(await readFile(path.join(sandbox.project, 'modules.json'), 'utf8')).toBe('{\n\t"workspace": "acme",\n\t"modules": {\n\t\t"utils": "v1.0.0"\n\t}\n}');
    expect(Object.keys(JSON.parse(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8')).modules)).toEqual(['utils']);
    await expect(stat(path.join(sandbox.project, 'vendor', 'theme'))).rejects.toThrow(/ENOENT/);
    expect(Object.keys(JSON.parse(await readFile(path.join(sandbox.project, 'vendor', '.npkg-state.json'), 'utf8')).modules)).toEqual(['utils']);
    // A later install has nothing to do.
    expect(parseJson<{ modules: Array<{ action: string }> }>((await runCli(['install', '--json'], { sandbox, emulator })).stdout).modules.map((m) => m.action)).toEqual(['unchanged']);
  });

  it('exits 2 on an unknown name and changes no byte', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    const files = ['modules.json', 'modules.lock.json', 'vendor/.npkg-state.json'].map((file) => path.join(sandbox.project, file));
    const before = await Promise.all(files.map((file) => readFile(file)));
    const result = await runCli(['remove', 'utils', 'nope'], { sandbox });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not in .*modules\.json: nope/);
    expect(await Promise.all(files.map((file) => readFile(file)))).toEqual(before);
  });

  it('removes a module that was never installed (no vendor folder yet)', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0', other: 'v1.0.0' } });
    const result = await runCli(['remove', 'utils'], { sandbox });
    expect(result.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(sandbox.project, 'modules.json'), 'utf8')).modules).toEqual({ other: 'v1.0.0' });
  });
});

describe('npkg verify', () => {
  it('passes on an intact vendor folder and names changed, added and removed files, with the network gone', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    // No emulator, no credential: verify must not need the network.
    const clean = await runCli(['verify'], { sandbox });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/1 module\(s\) match/);
    const vendor = path.join(sandbox.project, 'vendor', 'utils');
    await writeFile(path.join(vendor, 'README.md'), 'changed\n');
    await writeFile(path.join(vendor, 'extra.txt'), 'new\n');
    await rm(path.join(vendor, 'lib', 'index.js'));
    const dirty = await runCli(['verify'], { sandbox, env: { BITBUCKET_URL: 'http://127.0.0.1:9', BITBUCKET_API_URL: 'http://127.0.0.1:9' } });
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toContain('npkg: utils: vendor/utils differs from the lockfile: changed README.md; added extra.txt; removed lib/index.js');
    const json = await runCli(['verify', '--json'], { sandbox });
    expect(json.code).toBe(1);
    expect(parseJson<{ verified: number; failed: Array<{ name: string }> }>(json.stdout)).toMatchObject({ verified: 0, failed: [{ name: 'utils' }] });
  });
});

describe('npkg outdated', () => {
  it('shows current, wanted and latest, with one tag list per repository', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: '^1.0.0', again: { repo: 'utils', ref: 'v1.0.0' }, theme: { repo: 'design-team/theme', ref: 'main' } } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    emulator.clearRequests();
    const result = await runCli(['outdated', '--json'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.code).toBe(0);
    const rows = parseJson<{ modules: Array<Record<string, unknown>> }>(result.stdout).modules;
    const utils = emulator.repos.get('acme/utils')!;
    expect(rows[0]).toEqual({ name: 'utils', repo: 'acme/utils', current: 'v1.4.0', currentCommit: utils.tags.get('v1.4.0'), wanted: 'v1.4.0', wantedCommit: utils.tags.get('v1.4.0'), latest: '2.1.0' });
    expect(rows[1]).toMatchObject({ name: 'again', current: 'v1.0.0', wanted: 'v1.0.0', latest: '2.1.0' });
    expect(rows[2]).toMatchObject({ name: 'theme', wanted: expect.stringMatching(/^main@[0-9a-f]{12}$/), latest: null });
    const tagLists = emulator.requests.filter((request) => /\/refs\/tags\?/.test(request.url));
    expect(tagLists.map((request) => request.url.split('/refs/')[0]).sort()).toEqual(['/2.0/repositories/acme/utils', '/2.0/repositories/design-team/theme']);
    const table = await runCli(['outdated'], { sandbox, emulator, env: TOKEN_ENV });
    expect(table.stdout.split('\n')[0]).toMatch(/^name\s+current\s+wanted\s+latest$/);
  });
});
