import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { dcArchiveUrl, dcRefListUrl } from '../../src/bitbucket/datacenter/urls.js';

let emulator: Emulator;
const auth = { authorization: 'Bearer dc-token-0123456789abcdef' };

beforeAll(async () => {
  emulator = await startEmulator({
    repos: [{ repo: 'plat/utils', commits: [{ files: { 'a.txt': 'x'.repeat(20000) }, tags: ['v1.0.0'] }] }],
    datacenter: { contextPath: '/bitbucket', tokens: [{ token: 'dc-token-0123456789abcdef', username: 'alice', kind: 'project' }], unauthenticatedArchive: 'login-redirect' },
  });
});
afterAll(() => emulator.close());

describe('the Data Center personality mounted in the emulator', () => {
  it('serves REST 1.0 under the context path, logs requests, and draws faults', async () => {
    const url = dcRefListUrl(emulator.siteUrl, { key: 'PLAT', slug: 'utils' }, 'tags', { filterText: 'v1.0.0' });
    emulator.addFault({ kind: 'status', status: 429, retryAfter: '1', path: /\/tags/, times: 1 });
    const limited = await fetch(url, { headers: auth });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '1']);
    const page = await (await fetch(url, { headers: auth })).json();
    expect(page.values[0]).toMatchObject({ displayId: 'v1.0.0', latestCommit: emulator.repos.get('plat/utils')!.commits[0] });
    expect(emulator.requests.filter((request) => request.url.startsWith('/bitbucket/rest/api/latest/projects/PLAT/repos/utils/tags'))).toHaveLength(2);
  });

  it('cuts an archive short with a 200, and redirects an anonymous archive request to /login', async () => {
    const archive = dcArchiveUrl(emulator.siteUrl, { key: 'PLAT', slug: 'utils' }, emulator.repos.get('plat/utils')!.commits[0]!);
    const whole = Buffer.from(await (await fetch(archive, { headers: auth })).arrayBuffer());
    emulator.addFault({ kind: 'truncate', path: /\/archive/, times: 1 });
    const cut = await fetch(archive, { headers: auth });
    expect(cut.status).toBe(200);
    await expect(cut.arrayBuffer()).rejects.toThrow();
    expect(whole.length).toBeGreaterThan(100);
    const anonymous = await fetch(archive, { redirect: 'manual' });
    expect([anonymous.status, new URL(anonymous.headers.get('location')!, emulator.siteUrl).pathname]).toEqual([302, '/bitbucket/login']);
  });
});
