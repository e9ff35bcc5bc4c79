import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { buildRepo } from '../emulator/git-fixtures.js';

const TOKEN = 'emulator-token-123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({
    repos: [
      {
        repo: 'acme/many',
        commits: [
          { files: { a: '1' }, tags: ['v1.0.0', 'v1.1.0'] },
          { files: { a: '2' }, tags: ['v2.0.0'], branches: ['feature/x'] },
        ],
      },
    ],
    bearerTokens: [TOKEN],
  });
});
afterAll(async () => {
  await emulator.close();
});

describe('the Bitbucket emulator', () => {
  it('paginates tag lists through absolute `next` links', async () => {
    const names: string[] = [];
    let url: string | undefined = `${emulator.apiUrl}/2.0/repositories/acme/many/refs/tags?pagelen=2&sort=-target.date`;
    let pages = 0;
    while (url) {
      const page = (await (await fetch(url, { headers: auth })).json()) as { values: Array<{ name: string }>; next?: string };
      names.push(...page.values.map((value) => value.name));
      url = page.next;
      pages++;
    }
    expect(pages).toBe(2);
    expect(names).toEqual(['v2.0.0', 'v1.0.0', 'v1.1.0']);
  });

  it('filters branch lists by exact name', async () => {
    const q = encodeURIComponent('name="feature/x"');
    const page = (await (await fetch(`${emulator.apiUrl}/2.0/repositories/acme/many/refs/branches?q=${q}`, { headers: auth })).json()) as {
      values: Array<{ name: string }>;
    };
    expect(page.values.map((value) => value.name)).toEqual(['feature/x']);
  });

  it('answers 401 JSON without auth on the API and 302 to sign-in on archives', async () => {
    const api = await fetch(`${emulator.apiUrl}/2.0/repositories/acme/many/refs/tags/v1.0.0`);
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ type: 'error', error: { message: expect.any(String) } });
    const web = await fetch(`${emulator.webUrl}/acme/many/get/v1.0.0.tar.gz`, { redirect: 'manual' });
    expect(web.status).toBe(302);
    expect(web.headers.get('location')).toMatch(/\/account\/signin\/\?next=/);
  });

  it('serves git archives with the {ws}-{slug}-{hash12}/ top folder', async () => {
    const commit = emulator.repos.get('acme/many')!.tags.get('v2.0.0')!;
    const response = await fetch(`${emulator.webUrl}/acme/many/get/${commit}.tar.gz`, { headers: auth });
    expect(response.headers.get('content-type')).toBe('application/x-gzip');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-emu-'));
    await writeFile(path.join(dir, 'a.tar.gz'), Buffer.from(await response.arrayBuffer()));
    const listing = await new Promise<string>((resolve, reject) =>
      execFile('tar', ['-tzf', path.join(dir, 'a.tar.gz')], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    expect(listing.split('\n')).toContain(`acme-many-${commit.slice(0, 12)}/a`);
  });

  it('injects a fault the given number of times', async () => {
    emulator.addFault({ path: /refs\/tags\/v1\.0\.0/, times: 1, kind: 'status', status: 503 });
    const url = `${emulator.apiUrl}/2.0/repositories/acme/many/refs/tags/v1.0.0`;
    expect((await fetch(url, { headers: auth })).status).toBe(503);
    expect((await fetch(url, { headers: auth })).status).toBe(200);
  });

  it('builds the same commit hashes on every run', async () => {
    const fixture = { repo: 'acme/same', commits: [{ files: { x: 'same', 'bin/y': { content: 'y', mode: 0o755 as const } } }] };
    const first = await buildRepo(await mkdtemp(path.join(os.tmpdir(), 'npkg-emu-')), fixture);
    const second = await buildRepo(await mkdtemp(path.join(os.tmpdir(), 'npkg-emu-')), fixture);
    expect(first.commits).toEqual(second.commits);
  });
});
