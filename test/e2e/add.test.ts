import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, runCli, useEmulator } from '../helpers.js';

let emulator: Emulator;
const TOOLS = {
  repo: 'acme/tools',
  commits: [
    { files: { 'a.txt': '0.9\n' }, tags: ['v0.9.0', 'nightly'] },
    { files: { 'a.txt': '1.9\n' }, tags: ['v1.9.0', 'latest'] },
    { files: { 'a.txt': '1.10\n' }, tags: ['v1.10.0'] },
    { files: { 'a.txt': '2 rc\n' }, tags: ['v2.0.0-rc.1'] },
  ],
};
const NO_SEMVER = { repo: 'acme/plain', commits: [{ files: { 'a.txt': 'x\n' }, tags: ['stable'] }] };
const PRERELEASES_ONLY = { repo: 'acme/early', commits: [{ files: { 'a.txt': 'beta\n' }, tags: ['v1.0.0-beta.1'] }] };
// Two tags a page: the newest tag is found only by following `next` across pages.
useEmulator({ repos: [...TEST_REPOS, TOOLS, NO_SEMVER, PRERELEASES_ONLY], bearerTokens: [TEST_TOKEN], maxPagelen: 2 }, (started) => (emulator = started));

const manifestText = (sandbox: { project: string }) => readFile(path.join(sandbox.project, 'modules.json'), 'utf8');

describe('npkg add', () => {
  it('with no ref writes the newest semver tag (pages followed, prereleases and other tags ignored) and installs it', async () => {
    const sandbox = await makeSandbox('{\n    "workspace": "acme",\n    "modules": {}\n}\n');
    const result = await runCli(['add', 'tools'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.stderr).toMatch(/added tools@v1\.10\.0/);
    expect(result.code).toBe(0);
    expect(await manifestText(sandbox)).toBe('{\n    "workspace": "acme",\n    "modules": {\n        "tools": "v1.10.0"\n    }\n}\n');
    expect(JSON.parse(await readFile(path.join(sandbox.project, 'modules.lock.json'), 'utf8')).modules.tools.resolved).toBe('tag:v1.10.0');
    expect(await readFile(path.join(sandbox.project, 'vendor', 'tools', 'a.txt'), 'utf8')).toBe('1.10\n');
    expect(emulator.requests.filter((request) => request.url.includes('/refs/tags?')).length).toBeGreaterThan(1);
  });

  it('writes {repo, ref} for another workspace or name, and refuses an existing name without --force', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await runCli(['add', 'look=design-team/theme@main'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    expect(JSON.parse(await manifestText(sandbox)).modules).toEqual({ utils: 'v1.0.0', look: { repo: 'design-team/theme', ref: 'main' } });
    const before = await manifestText(sandbox);
    const again = await runCli(['add', 'utils@v1.4.0'], { sandbox, emulator, env: TOKEN_ENV });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/utils is already in .* use --force/);
    expect(await manifestText(sandbox)).toBe(before);
    expect((await runCli(['add', 'utils@v1.4.0', '--force'], { sandbox, emulator, env: TOKEN_ENV })).code).toBe(0);
    expect(JSON.parse(await manifestText(sandbox)).modules.utils).toBe('v1.4.0');
  });

  it('asks for @ref when the repository has no semver tag, and an unknown ref changes nothing', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: {} });
    const before = await manifestText(sandbox);
    const none = await runCli(['add', 'plain'], { sandbox, emulator, env: TOKEN_ENV });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/acme\/plain has no semver tag: name a ref, e\.g\. plain@main/);
    // A prerelease is not a release: the same answer.
    const early = await runCli(['add', 'early'], { sandbox, emulator, env: TOKEN_ENV });
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/acme\/early has no semver tag/);
    const unknown = await runCli(['add', 'utils@v9.9.9'], { sandbox, emulator, env: TOKEN_ENV });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/tag v9\.9\.9 not found in acme\/utils/);
    expect(await manifestText(sandbox)).toBe(before);
  });
});
