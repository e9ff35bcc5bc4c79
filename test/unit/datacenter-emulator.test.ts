import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRepo, git, type BuiltRepo } from '../emulator/git-fixtures.js';
import { createDataCenter } from '../emulator/datacenter-api.js';
import { dcArchiveUrl, dcRefListUrl } from '../../src/bitbucket/datacenter/urls.js';
import { parseDcRefPage } from '../../src/bitbucket/datacenter/answers.js';

let root: string;
let server: Server;
let site: string;
let repo: BuiltRepo;
const auth = { authorization: 'Bearer pat-alice' };

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'npkg-dc-'));
  repo = await buildRepo(root, {
    repo: 'PLAT/utils',
    commits: [
      { files: { a: '1' }, tags: ['v1.0.0', 'v1.1.0'] },
      { files: { a: '2' }, tags: ['v2.0.0'], branches: ['feature/x'] },
    ],
  });
  await git(repo.dir, ['tag', '-a', '-f', '-m', 'annotated', 'v2.0.0', repo.commits[1]!]);
  const dc = createDataCenter(new Map([['PLAT/utils', repo]]), { contextPath: '/bitbucket', maxPageSize: 2, tokens: [{ token: 'pat-alice', username: 'alice', kind: 'personal' }], oauth: { clients: [{ id: 'cid', secret: 'csecret', redirectUrl: 'http://localhost:8976/callback' }], username: 'bob' } });
  server = createServer((request, response) => void dc.handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  site = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bitbucket`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('Data Center emulator', () => {
  it('pages with a lowered limit; latestCommit peels annotated tags; hash is null or the tag object', async () => {
    const first = dcRefListUrl(site, { key: 'plat', slug: 'utils' }, 'tags', { filterText: 'V' });
    const one = await (await fetch(first, { headers: auth })).json();
    expect(one).toMatchObject({ limit: 2, isLastPage: false, nextPageStart: 2 });
    const page = parseDcRefPage(one, first, 'PLAT/utils');
    const two = await (await fetch(page.next!, { headers: auth })).json();
    expect(two).toMatchObject({ isLastPage: true, values: [{ displayId: 'v2.0.0', latestCommit: repo.commits[1] }] });
    expect(two.values[0].hash).toMatch(/^[0-9a-f]{40}$/);
    expect(two.values[0].hash).not.toBe(repo.commits[1]);
    expect(one.values.map((v: { hash: unknown }) => v.hash)).toEqual([null, null]);
  });

  it('answers X-AUSERNAME, errors bodies, HTML 404s, and 401 without a credential', async () => {
    const ok = await fetch(dcRefListUrl(site, { key: 'PLAT', slug: 'utils' }, 'branches', { filterText: 'feature/x' }), { headers: auth });
    expect(ok.headers.get('x-ausername')).toBe('alice');
    const basic = { authorization: `Basic ${Buffer.from('alice:pat-alice').toString('base64')}` };
    expect((await fetch(`${site}/rest/api/latest/projects/PLAT/repos/utils/commits/${repo.commits[0]}`, { headers: basic })).status).toBe(200);
    const missing = await fetch(`${site}/rest/api/latest/projects/PLAT/repos/nope/tags`, { headers: auth });
    expect(missing.status).toBe(404);
    expect((await missing.json()).errors[0].exceptionName).toBe('com.atlassian.bitbucket.repository.NoSuchRepositoryException');
    const html = await fetch(`${site}/rest/api/latest/nothing`, { headers: auth });
    expect([html.status, html.headers.get('content-type')]).toEqual([404, 'text/html;charset=UTF-8']);
    expect((await fetch(`${site.replace('/bitbucket', '')}/rest/api/latest/projects/PLAT/repos/utils/tags`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${site}/rest/api/latest/projects/PLAT/repos/utils/tags`)).status).toBe(401);
  });

  it('serves git archive with the requested prefix', async () => {
    const response = await fetch(dcArchiveUrl(site, { key: 'PLAT', slug: 'utils' }, repo.commits[0]!), { headers: auth });
    expect(response.status).toBe(200);
    const file = path.join(root, 'a.tar.gz');
    await writeFile(file, Buffer.from(await response.arrayBuffer()));
    const listing = await new Promise<string>((resolve, reject) => execFile('tar', ['-tzf', file], (error, out) => (error ? reject(error) : resolve(out))));
    expect(listing.split('\n').filter(Boolean)).toEqual([`PLAT-utils-${repo.commits[0]!.slice(0, 12)}/`, `PLAT-utils-${repo.commits[0]!.slice(0, 12)}/a`]);
  });

  it('runs OAuth 2.0: localhost-only http redirect, PKCE S256, secret on every grant, refresh token replaced', async () => {
    const verifier = 'v'.repeat(50);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = (redirect: string) =>
      fetch(`${site}/rest/oauth2/latest/authorize?client_id=cid&response_type=code&scope=REPO_READ&state=s1&code_challenge=${challenge}&code_challenge_method=S256&redirect_uri=${encodeURIComponent(redirect)}`, { redirect: 'manual' });
    expect((await authorize('http://127.0.0.1:8976/callback')).status).toBe(400);
    const granted = await authorize('http://localhost:40000/callback');
    const back = new URL(granted.headers.get('location')!);
    expect([back.host, back.searchParams.get('state')]).toEqual(['localhost:40000', 's1']);
    const token = (form: Record<string, string>) =>
      fetch(`${site}/rest/oauth2/latest/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    const code = { grant_type: 'authorization_code', code: back.searchParams.get('code')!, code_verifier: verifier, redirect_uri: 'http://localhost:40000/callback', client_id: 'cid' };
    expect((await token(code)).status).toBe(401);
    const tokens = await (await token({ ...code, client_secret: 'csecret' })).json();
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'REPO_READ' });
    const api = await fetch(`${site}/rest/api/latest/projects/PLAT/repos/utils/tags`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect([api.status, api.headers.get('x-ausername')]).toEqual([200, 'bob']);
    const refresh = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'cid', client_secret: 'csecret' };
    const renewed = await (await token(refresh)).json();
    expect(renewed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await token(refresh)).status).toBe(400);
  });
});
