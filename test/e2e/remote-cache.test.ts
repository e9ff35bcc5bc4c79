import { copyFile, readdir } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, describeTree, makeSandbox, parseJson, runCli, useEmulator, type Sandbox } from '../helpers.js';
import { startNginx, type Nginx } from '../support/nginx.js';

/*
 * The team cache of SPEC §10 end to end: the real CLI, the Bitbucket
 * emulator and a real nginx (WebDAV), each with its own request log.
 */

let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

const WRITER = { username: 'ci', password: 'write-s3cret-pw' };
const CACHE_TOKEN = 'cache-token-fedcba9876543210';
const MODULES = { workspace: 'acme', modules: { utils: 'v1.4.0', theme: { repo: 'design-team/theme', ref: 'main' }, icons: { repo: 'acme/icon-set', ref: 'v3.1.0', path: 'dist' } } };

/** Reads open, writes behind auth_basic (the README's server block). */
let shared: Nginx;
const started: Nginx[] = [];
beforeAll(async () => {
  shared = await nginx({ writeUsers: [WRITER] });
});
afterAll(async () => {
  for (const server of started) await server.close();
  for (const close of closers) await close();
});

/** A TCP server on 127.0.0.1 that treats each connection with `onConnection`; closed after all tests. */
async function faultServer(onConnection: (socket: Socket) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/cache`, connections: () => connections };
}
const closers: Array<() => Promise<void>> = [];

async function nginx(options: Parameters<typeof startNginx>[0]): Promise<Nginx> {
  const server = await startNginx(options);
  started.push(server);
  return server;
}

interface JsonModule {
  name: string;
  commit: string;
  action: string;
  source?: string;
}
const modulesOf = (stdout: string) => parseJson<{ modules: JsonModule[] }>(stdout).modules;
const archiveRequests = () => emulator.requests.filter((request) => request.url.includes('/get/'));
const warnings = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('npkg: warning:'));

/** Agent A: a first install from Bitbucket, with a lockfile written. */
async function firstAgent(env: Record<string, string>, args: string[] = []): Promise<{ sandbox: Sandbox; result: Awaited<ReturnType<typeof runCli>> }> {
  const sandbox = await makeSandbox(MODULES);
  const result = await runCli(['install', '--json', ...args], { sandbox, emulator, env: { ...TOKEN_ENV, ...env } });
  return { sandbox, result };
}

/** Agent B: another machine, the same manifest and lockfile, an empty local cache. */
async function secondAgent(from: Sandbox): Promise<Sandbox> {
  const sandbox = await makeSandbox();
  for (const file of ['modules.json', 'modules.lock.json']) await copyFile(path.join(from.project, file), path.join(sandbox.project, file));
  return sandbox;
}

function keyOf(name: string, commit: string): string {
  const repo = { utils: 'acme/utils', theme: 'design-team/theme', icons: 'acme/icon-set' }[name]!;
  return `v1/${new URL(emulator.webUrl).host}/${repo}/${commit}.tar.gz`;
}

describe('the team cache (NPKG_REMOTE_CACHE) with nginx', () => {
  let agentA: Sandbox;
  let commits: Record<string, string>;

  it('agent A uploads every verified Bitbucket archive; agent B then installs with no archive request to Bitbucket', async () => {
    const a = await firstAgent({ NPKG_REMOTE_CACHE: shared.urlWithUser(WRITER.username, WRITER.password), NPKG_REMOTE_CACHE_WRITE: '1' }, ['--verbose']);
    expect(a.result.stderr).not.toContain(WRITER.password);
    expect(a.result.code).toBe(0);
    agentA = a.sandbox;
    const first = modulesOf(a.result.stdout);
    expect(first.map((module) => [module.action, module.source])).toEqual(first.map(() => ['downloaded', 'bitbucket']));
    commits = Object.fromEntries(first.map((module) => [module.name, module.commit]));
    expect(await shared.objects()).toEqual(Object.entries(commits).map(([name, commit]) => keyOf(name, commit)).sort());
    // An unlocked install never reads the cache; each PUT carried the cache's Basic credential and a length.
    const log = await shared.requests(3);
    expect(log.map((entry) => entry.method)).toEqual(['PUT', 'PUT', 'PUT']);
    for (const entry of log) {
      expect(entry.status).toBe(201);
      expect(entry.authorization).toBe(`Basic ${Buffer.from(`${WRITER.username}:${WRITER.password}`).toString('base64')}`);
      expect(Number(entry.contentLength)).toBeGreaterThan(0);
    }
    expect(a.result.stderr).toMatch(new RegExp(`remote cache PUT ${escape(shared.url)}/v1/\\S+ \\(\\d+ bytes\\) → stored`));

    const b = await secondAgent(agentA);
    emulator.clearRequests();
    const result = await runCli(['install', '--json', '--verbose'], { sandbox: b, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: shared.url } });
    expect(warnings(result.stderr)).toEqual([]);
    expect(result.code).toBe(0);
    expect(modulesOf(result.stdout).map((module) => [module.action, module.source])).toEqual(first.map(() => ['downloaded', 'remote-cache']));
    expect(archiveRequests()).toEqual([]);
    expect(result.stderr).toMatch(new RegExp(`remote cache GET ${escape(shared.url)}/v1/\\S+ → 200`));
    for (const name of Object.keys(commits)) {
      expect(await describeTree(path.join(b.project, 'vendor', name))).toEqual(await describeTree(path.join(agentA.project, 'vendor', name)));
    }
    // The hits filled B's local cache, and were not uploaded again.
    expect((await readdir(path.join(b.cacheDir, 'archives', 'acme', 'utils'))).filter((file) => file.endsWith('.tar.gz'))).toHaveLength(1);
    expect((await shared.requests()).filter((entry) => entry.method === 'PUT')).toHaveLength(3);
  });

  it('treats a poisoned object as a miss: one warning naming the cache, the right tree from Bitbucket', async () => {
    const b = await secondAgent(agentA);
    // Another commit's genuine archive under utils' key: a valid archive, the wrong tree.
    const other = await emulator.archiveFile('acme/utils', emulator.repos.get('acme/utils')!.tags.get('v2.0.0')!);
    const { readFile } = await import('node:fs/promises');
    await shared.poison(keyOf('utils', commits.utils!), await readFile(other));
    await shared.poison(keyOf('theme', commits.theme!), Buffer.from('not a tarball at all'));
    emulator.clearRequests();
    const result = await runCli(['install', '--json'], { sandbox: b, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: shared.url } });
    expect(result.code).toBe(0);
    const lines = warnings(result.stderr);
    expect(lines).toHaveLength(2);
    expect(lines.find((line) => line.includes('acme/utils'))).toContain(`remote cache ${shared.url} served a tree that does not match the lockfile integrity`);
    expect(lines.find((line) => line.includes('design-team/theme'))).toContain(`remote cache ${shared.url} served an unusable archive`);
    const sources = Object.fromEntries(modulesOf(result.stdout).map((module) => [module.name, module.source]));
    expect(sources).toEqual({ icons: 'remote-cache', theme: 'bitbucket', utils: 'bitbucket' });
    expect(archiveRequests()).toHaveLength(2);
    for (const name of ['utils', 'theme']) {
      expect(await describeTree(path.join(b.project, 'vendor', name))).toEqual(await describeTree(path.join(agentA.project, 'vendor', name)));
    }
  });

  it('installs from Bitbucket with one warning when the cache is down, reads and writes alike', async () => {
    const down = await nginx({});
    await down.stop();
    const b = await secondAgent(agentA);
    const result = await runCli(['install', '--json'], { sandbox: b, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: down.url, NPKG_REMOTE_CACHE_WRITE: '1' } });
    expect(result.code).toBe(0);
    const lines = warnings(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot reach the remote cache ${down.url}`);
    expect(modulesOf(result.stdout).every((module) => module.action === 'downloaded' && module.source === 'bitbucket')).toBe(true);
    expect(await describeTree(path.join(b.project, 'vendor', 'utils'))).toEqual(await describeTree(path.join(agentA.project, 'vendor', 'utils')));
  });

  it('gives up on a cache that never answers after --network-timeout, and on a 503, with one warning each', async () => {
    // Not nginx: a server that accepts and then says nothing, and one that answers 503 to everything.
    const silent = await faultServer((socket) => socket.on('data', () => undefined));
    const failing = await faultServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')));
    for (const [server, expected] of [
      [silent, `no answer from the remote cache ${silent.url} within the network timeout (--network-timeout)`],
      [failing, `the remote cache ${failing.url}`],
    ] as const) {
      const b = await secondAgent(agentA);
      const result = await runCli(['install', '--json', '--network-timeout', '1'], { sandbox: b, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: server.url, NPKG_REMOTE_CACHE_WRITE: '1' } });
      expect(result.code).toBe(0);
      const lines = warnings(result.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(expected);
      if (server === failing) expect(lines[0]).toContain('503');
      expect(modulesOf(result.stdout).every((module) => module.action === 'downloaded' && module.source === 'bitbucket')).toBe(true);
      expect(await describeTree(path.join(b.project, 'vendor', 'utils'))).toEqual(await describeTree(path.join(agentA.project, 'vendor', 'utils')));
    }
    // After the first failure the run skips the cache: at most the three reads already under way, no upload.
    expect(silent.connections()).toBeLessThanOrEqual(3);
    expect(failing.connections()).toBeLessThanOrEqual(3);
  });

  it('warns once when the write password is wrong, and installs', async () => {
    const fresh = await nginx({ writeUsers: [WRITER] });
    const wrong = fresh.urlWithUser(WRITER.username, 'not-the-password');
    const { result } = await firstAgent({ NPKG_REMOTE_CACHE: wrong, NPKG_REMOTE_CACHE_WRITE: '1' });
    expect(result.code).toBe(0);
    const lines = warnings(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`the remote cache ${fresh.url} refused PUT (401)`);
    expect(result.stderr).not.toContain('not-the-password');
    expect(await fresh.objects()).toEqual([]);
  });

  it('keeps the credentials apart: Bitbucket never sees the cache token, the cache never sees Bitbucket token', async () => {
    const tokened = await nginx({ bearerToken: CACHE_TOKEN });
    const env = { NPKG_REMOTE_CACHE: tokened.url, NPKG_REMOTE_CACHE_TOKEN: CACHE_TOKEN };
    emulator.clearRequests();
    const a = await firstAgent({ ...env, NPKG_REMOTE_CACHE_WRITE: '1' }, ['--verbose']);
    expect(a.result.code).toBe(0);
    expect(await tokened.objects()).toHaveLength(3);
    const b = await secondAgent(a.sandbox);
    const result = await runCli(['install', '--json', '--verbose'], { sandbox: b, emulator, env: { ...TOKEN_ENV, ...env } });
    expect(result.code).toBe(0);
    expect(modulesOf(result.stdout).every((module) => module.source === 'remote-cache')).toBe(true);
    for (const output of [a.result.stderr, a.result.stdout, result.stderr, result.stdout]) {
      expect(output).not.toContain(CACHE_TOKEN);
      expect(output).not.toContain(TEST_TOKEN);
    }
    const log = await tokened.requests(6);
    expect(log.map((entry) => entry.method).sort()).toEqual(['GET', 'GET', 'GET', 'PUT', 'PUT', 'PUT']);
    expect(log.every((entry) => entry.authorization === `Bearer ${CACHE_TOKEN}`)).toBe(true);
    expect(emulator.requests.length).toBeGreaterThan(0);
    expect(emulator.requests.every((request) => !JSON.stringify(request.headers).includes(CACHE_TOKEN))).toBe(true);
  });

  it('never reads the cache with --offline, nor for a module without a locked integrity', async () => {
    const watched = await nginx({});
    const b = await secondAgent(agentA);
    const offline = await runCli(['install', '--offline'], { sandbox: b, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: watched.url } });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toContain('--offline');
    const unlocked = await makeSandbox(MODULES);
    expect((await runCli(['install'], { sandbox: unlocked, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: watched.url } })).code).toBe(0);
    // One request after both, so the log is known to be complete: only that one is there.
    await fetch(`${watched.url}/probe`);
    expect((await watched.requests(1)).map((entry) => entry.uri)).toEqual(['/cache/probe']);
  });

  it('exits 2 on a malformed NPKG_REMOTE_CACHE, even with --offline, without printing its password', async () => {
    const sandbox = await secondAgent(agentA);
    for (const [value, args] of [
      ['ftp://cache.example/npkg', ['install']],
      ['http://u:hunter2@cache.example/npkg?x=1', ['install', '--offline']],
    ] as const) {
      const result = await runCli([...args], { sandbox, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: value } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('NPKG_REMOTE_CACHE');
      expect(result.stderr).not.toContain('hunter2');
    }
    const badWrite = await runCli(['install'], { sandbox, emulator, env: { ...TOKEN_ENV, NPKG_REMOTE_CACHE: shared.url, NPKG_REMOTE_CACHE_WRITE: 'yes' } });
    expect(badWrite.code).toBe(2);
  });

  it('takes remoteCache from config.json and --remote-cache-write from the command line', async () => {
    const fresh = await nginx({});
    const sandbox = await makeSandbox(MODULES);
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(sandbox.configDir, { recursive: true });
    await writeFile(path.join(sandbox.configDir, 'config.json'), JSON.stringify({ remoteCache: fresh.url }));
    const result = await runCli(['install', '--remote-cache-write'], { sandbox, emulator, env: TOKEN_ENV });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await fresh.objects()).toHaveLength(3);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
