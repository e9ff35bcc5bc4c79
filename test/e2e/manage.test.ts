import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../support/bitbucket-emulator.js';
import { TEST_REPOS } from '../support/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, parseJson, runCli, useEmulator } from '../helpers.js';

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
  });
});

describe('npkg cache', () => {
  it('shows its folder, lists archives with sizes, and cleans one repository or all', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    expect((await runCli(['install'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    expect((await runCli(['cache', 'dir'], { sandbox })).stdout.trim()).toBe(sandbox.cacheDir);
    const listed = parseJson<{ entries: Array<{ repo: string; commit: string; bytes: number }> }>((await runCli(['cache', 'ls', '--json'], { sandbox })).stdout);
    expect(listed.entries.map((entry) => entry.repo)).toEqual(['acme/utils', 'design-team/theme']);
    expect(listed.entries.every((entry) => entry.bytes > 0 && /^[0-9a-f]{40}$/.test(entry.commit))).toBe(true);
    const one = await runCli(['cache', 'clean', 'acme/utils'], { sandbox });
    expect(one.stdout).toMatch(/removed 1 archive\(s\), .* of acme\/utils/);
    const left = parseJson<{ entries: Array<{ repo: string }> }>((await runCli(['cache', 'ls', '--json'], { sandbox })).stdout);
    expect(left.entries.map((entry) => entry.repo)).toEqual(['design-team/theme']);
    expect((await runCli(['cache', 'clean'], { sandbox })).code).toBe(0);
    expect(parseJson<{ entries: unknown[] }>((await runCli(['cache', 'ls', '--json'], { sandbox })).stdout).entries).toEqual([]);
    const bad = await runCli(['cache', 'clean', '../etc'], { sandbox });
    expect(bad.code).toBe(2);
  });
});
