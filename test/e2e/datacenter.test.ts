import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { makeSandbox, parseJson, runCli } from '../helpers.js';
import { PAT, dcRun, startDataCenter } from '../support/datacenter.js';

let dc: Emulator;
beforeAll(async () => {
  dc = await startDataCenter();
});
afterAll(() => dc.close());

const TOKEN = { BITBUCKET_TOKEN: PAT };
const lockOf = async (project: string) => parseJson<{ modules: Record<string, { repo: string; resolved: string; commit: string }> }>(await readFile(path.join(project, 'modules.lock.json'), 'utf8'));

describe('install from Bitbucket Data Center (SPEC §6a)', () => {
  it('resolves every kind of ref under the context path, by query parameters only, and installs by commit', async () => {
    const utils = dc.repos.get('plat/utils')!;
    const sandbox = await makeSandbox({
      workspace: 'PLAT',
      modules: {
        utils: 'v1.0.0',
        annotated: { repo: 'plat/utils', ref: 'v1.1.0' },
        next: { repo: 'utils', ref: 'feature/x' },
        pinned: { repo: 'PLAT/utils', ref: utils.commits[0]!.slice(0, 8) },
        tools: { repo: '~alice/tools', ref: 'main' },
      },
    });
    dc.clearRequests();
    const result = await runCli(['install'], dcRun(sandbox, dc, TOKEN));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lock = await lockOf(sandbox.project);
    expect(Object.fromEntries(Object.entries(lock.modules).map(([name, entry]) => [name, [entry.resolved, entry.commit]]))).toEqual({
      annotated: ['tag:v1.1.0', utils.commits[1]],
      next: ['branch:feature/x', utils.commits[2]],
      pinned: ['commit', utils.commits[0]],
      tools: ['branch:main', dc.repos.get('~alice/tools')!.commits[0]],
      utils: ['tag:v1.0.0', utils.commits[0]],
    });
    expect(await readFile(path.join(sandbox.project, 'vendor/next/README.md'), 'utf8')).toBe('# utils next\n');
    expect(await readFile(path.join(sandbox.project, 'vendor/annotated/lib/a.js'), 'utf8')).toBe('a\n');
    expect(await readFile(path.join(sandbox.project, 'vendor/tools/tool.sh'), 'utf8')).toBe('echo tool\n');
    const urls = dc.requests.map((request) => request.url);
    expect(urls.every((url) => url.startsWith('/bitbucket/rest/api/latest/projects/'))).toBe(true);
    expect(urls.some((url) => url.includes('filterText=feature%2Fx'))).toBe(true);
    expect(urls.filter((url) => url.includes('feature/x'))).toEqual([]);
    const archives = urls.filter((url) => url.includes('/archive?'));
    // The key as the manifest writes it (Data Center's keys are the same in any case); the top folder as Cloud's.
    expect(archives).toContain(`/bitbucket/rest/api/latest/projects/plat/repos/utils/archive?at=${utils.commits[1]}&format=tar.gz&prefix=plat-utils-${utils.commits[1]!.slice(0, 12)}%2F`);
    expect(archives.some((url) => url.startsWith('/bitbucket/rest/api/latest/projects/~alice/repos/tools/archive?at='))).toBe(true);
    // A second install makes no request.
    dc.clearRequests();
    expect((await runCli(['install'], dcRun(sandbox, dc, TOKEN))).code).toBe(0);
    expect(dc.requests).toEqual([]);
  });

  it('reads 150 tags over pages of a lowered limit, by nextPageStart, for a semver range', async () => {
    const sandbox = await makeSandbox({ workspace: 'PLAT', modules: { many: '^2.3.0' } });
    dc.clearRequests();
    const result = await runCli(['install', '--json'], dcRun(sandbox, dc, TOKEN));
    expect(result.code).toBe(0);
    expect((await lockOf(sandbox.project)).modules.many).toMatchObject({ resolved: 'tag:v2.49.0', commit: dc.repos.get('plat/many')!.commits[1] });
    const pages = dc.requests.map((request) => new URL(request.url, 'http://x')).filter((url) => url.pathname.endsWith('/tags') && !url.searchParams.has('filterText'));
    expect(pages.map((url) => url.searchParams.get('start'))).toEqual([null, '25', '50', '75', '100', '125']);
  });

  it('adds the newest tag, reports outdated, follows a moved tag on update, verifies, and lists and cleans the cache by host', async () => {
    const sandbox = await makeSandbox({ workspace: 'PLAT', modules: {} });
    const run = dcRun(sandbox, dc, TOKEN);
    const add = await runCli(['add', 'PLAT/many', 'utils@v1.0.0'], run);
    expect(add.code).toBe(0);
    expect(JSON.parse(await readFile(path.join(sandbox.project, 'modules.json'), 'utf8')).modules).toEqual({ many: 'v3.49.0', utils: 'v1.0.0' });
    const outdated = await runCli(['outdated', '--json'], run);
    expect(outdated.code).toBe(0);
    expect(parseJson<{ modules: Array<{ name: string; latest: string }> }>(outdated.stdout).modules.map((row) => [row.name, row.latest])).toEqual([
      ['many', 'v3.49.0'],
      ['utils', 'v1.1.0'],
    ]);
    expect((await runCli(['verify'], run)).code).toBe(0);
    const ls = await runCli(['cache', 'ls', '--json'], run);
    expect(parseJson<{ entries: Array<{ repo: string }> }>(ls.stdout).entries.map((entry) => entry.repo)).toEqual(['PLAT/many', 'PLAT/utils']);
    const host = new URL(dc.siteUrl).host.replace(':', '_');
    expect(await readFile(path.join(sandbox.cacheDir, 'archives', `@${host}`, 'PLAT', 'utils', `${dc.repos.get('plat/utils')!.commits[0]}.tar.gz`))).toBeTruthy();
    const utils = dc.repos.get('plat/utils')!;
    await dc.moveTag('plat/utils', 'v1.0.0', utils.commits[2]!);
    try {
      const update = await runCli(['update', 'utils'], run);
      expect(update.code).toBe(0);
      expect((await lockOf(sandbox.project)).modules.utils!.commit).toBe(utils.commits[2]);
    } finally {
      await dc.moveTag('plat/utils', 'v1.0.0', utils.commits[0]!);
    }
    const clean = await runCli(['cache', 'clean', 'plat/utils', '--json'], run);
    expect(clean.code).toBe(0);
    expect(parseJson<{ removed: Array<{ repo: string }> }>(clean.stdout).removed.map((entry) => entry.repo)).toEqual(['PLAT/utils', 'PLAT/utils']);
    expect((await runCli(['cache', 'clean', 'PL-AT/utils'], run)).code).toBe(2);
  });

  it('refuses an invalid project key before any request (exit 2)', async () => {
    const sandbox = await makeSandbox({ workspace: 'PL-AT', modules: { utils: 'v1.0.0' } });
    dc.clearRequests();
    const result = await runCli(['install'], dcRun(sandbox, dc, TOKEN));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/modules\.json: workspace: invalid project key "PL-AT"/);
    expect(dc.requests).toEqual([]);
    await rm(sandbox.dir, { recursive: true, force: true });
  });
});
