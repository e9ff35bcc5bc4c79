import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getObject, putObject, RemoteCacheUnavailable, type ObjectRequest } from '../../src/install/remote-cache/http.js';
import { RemoteCache } from '../../src/install/remote-cache/remote-cache.js';
import { parseRemoteCacheTarget, remoteCacheKey } from '../../src/install/remote-cache/target.js';
import { startNginx, type Nginx } from '../support/nginx.js';

const BITBUCKET = 'http://127.0.0.1:7990';
const COMMIT = 'c0ffee'.padEnd(40, '0');
const MODULE = { workspace: 'acme', slug: 'utils', commit: COMMIT };
const KEY_PATH = `v1/127.0.0.1:7990/acme/utils/${COMMIT}.tar.gz`;
const WRITER = { username: 'ci', password: 'write-s3cret-pw' };

let dir: string;
let archive: string;
let bytes: Buffer;
const servers: Array<{ close(): unknown }> = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-remote-cache-'));
  archive = path.join(dir, 'archive.tar.gz');
  bytes = randomBytes(300 * 1024);
  await writeFile(archive, bytes);
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function nginx(options: Parameters<typeof startNginx>[0] = {}): Promise<Nginx> {
  const started = await startNginx(options);
  servers.push(started);
  return started;
}

function objectRequest(base: string, token?: string, timeoutMs = 5_000): ObjectRequest {
  const target = parseRemoteCacheTarget(base, 'NPKG_REMOTE_CACHE', token);
  const url = remoteCacheKey(target, { bitbucketUrl: BITBUCKET, ...MODULE });
  return { url, authorization: target.authorization, timeoutMs, display: target.display };
}

async function unavailable(work: Promise<unknown>): Promise<RemoteCacheUnavailable> {
  const error = await work.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(RemoteCacheUnavailable);
  return error as RemoteCacheUnavailable;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('getObject and putObject against a real nginx', () => {
  it('PUT then GET gives the same bytes, sent with a Content-Length, stored under the key', async () => {
    const server = await nginx();
    const request = objectRequest(server.url);
    expect(await getObject(request)).toBeUndefined();
    expect(await putObject(request, archive)).toBe(bytes.length);
    expect(await server.objects()).toEqual([KEY_PATH]);
    const hit = await getObject(request);
    expect(hit?.size).toBe(bytes.length);
    expect((await readAll(hit!.stream)).equals(bytes)).toBe(true);
    const log = await server.requests(3);
    expect(log.map((entry) => [entry.method, entry.status])).toEqual([
      ['GET', 404],
      ['PUT', 201],
      ['GET', 200],
    ]);
    expect(log[1]!.contentLength).toBe(String(bytes.length));
    expect(log[1]!.uri).toBe(`/cache/${KEY_PATH}`);
    // A second PUT over the same key is stored too (204).
    await putObject(request, archive);
    expect((await server.requests(4))[3]!.status).toBe(204);
  });

  it('writes behind basic auth: a wrong password is refused, the right one stores, reads stay open', async () => {
    const server = await nginx({ writeUsers: [WRITER] });
    const wrong = objectRequest(server.urlWithUser(WRITER.username, 'not-the-password'));
    const refused = await unavailable(putObject(wrong, archive));
    expect(refused.reason).toBe('refused');
    expect(`${refused.message} ${refused.detail.join(' ')}`).not.toContain('not-the-password');
    expect(await server.objects()).toEqual([]);
    await putObject(objectRequest(server.urlWithUser(WRITER.username, WRITER.password)), archive);
    expect((await readAll((await getObject(objectRequest(server.url)))!.stream)).equals(bytes)).toBe(true);
    const log = await server.requests(3);
    // What reached nginx is the cache's own Basic credential, and nothing on the anonymous read.
    expect(log.map((entry) => entry.authorization)).toEqual([
      `Basic ${Buffer.from('ci:not-the-password').toString('base64')}`,
      `Basic ${Buffer.from(`${WRITER.username}:${WRITER.password}`).toString('base64')}`,
      '',
    ]);
  });

  it('sends NPKG_REMOTE_CACHE_TOKEN as Bearer; a wrong token is refused', async () => {
    const server = await nginx({ bearerToken: 'cache-token-42' });
    expect(await getObject(objectRequest(server.url, 'cache-token-42'))).toBeUndefined();
    expect((await unavailable(getObject(objectRequest(server.url, 'other-token')))).reason).toBe('refused');
    expect((await server.requests(2)).map((entry) => [entry.authorization, entry.status])).toEqual([
      ['Bearer cache-token-42', 404],
      ['Bearer other-token', 401],
    ]);
  });

  it('a stopped nginx is unreachable', async () => {
    const server = await nginx();
    await server.stop();
    const error = await unavailable(getObject(objectRequest(server.url)));
    expect([error.reason, error.code]).toEqual(['unreachable', 'NETWORK']);
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect((await unavailable(putObject(objectRequest(server.url), archive))).reason).toBe('unreachable');
  });
});

describe('a cache that misbehaves', () => {
  it('accepts connections and never answers: a timeout for GET and PUT', async () => {
    const sockets: Socket[] = [];
    const silent: NetServer = createNetServer((socket) => sockets.push(socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => (sockets.forEach((socket) => socket.destroy()), new Promise((resolve) => silent.close(resolve))) });
    const base = `http://127.0.0.1:${(silent.address() as { port: number }).port}/cache`;
    const get = await unavailable(getObject(objectRequest(base, undefined, 300)));
    expect(get.reason).toBe('timeout');
    expect(get.message).toMatch(/--network-timeout/);
    expect((await unavailable(putObject(objectRequest(base, undefined, 300), archive))).reason).toBe('timeout');
  });

  it('5xx is a server failure; RemoteCache warns once, then stops asking, and prints no secret', async () => {
    const seen: string[] = [];
    const server: HttpServer = createHttpServer((request, response) => {
      seen.push(`${request.method} ${request.headers.authorization ?? ''}`);
      request.resume();
      response.writeHead(503).end('down for maintenance');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    const base = `http://ci:pw-xyz-123@127.0.0.1:${(server.address() as { port: number }).port}/cache`;
    expect((await unavailable(getObject(objectRequest(base)))).reason).toBe('server');

    const warnings: string[] = [];
    const debug: string[] = [];
    const cache = new RemoteCache({
      target: parseRemoteCacheTarget(base, 'NPKG_REMOTE_CACHE'),
      bitbucketUrl: BITBUCKET,
      timeoutMs: 5_000,
      write: true,
      onWarning: (message) => warnings.push(message),
      onDebug: (line) => debug.push(line),
    });
    expect(await Promise.all([cache.open(MODULE), cache.open(MODULE)])).toEqual([undefined, undefined]);
    expect(await cache.open(MODULE)).toBeUndefined();
    expect(await cache.store(MODULE, archive)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/answered GET with 503; the remote cache is skipped for the rest of this run/);
    // One direct GET above, then the two parallel ones; nothing once the cache is known down.
    expect(seen).toHaveLength(3);
    expect(debug.filter((line) => line.startsWith('remote cache GET'))).toHaveLength(2);
    const secret = Buffer.from('ci:pw-xyz-123').toString('base64');
    for (const line of [...warnings, ...debug]) expect(line).not.toMatch(new RegExp(`pw-xyz-123|${secret}`));
  });
});

describe('RemoteCache with nginx', () => {
  function remoteCache(server: Nginx, base: string, write: boolean) {
    const warnings: string[] = [];
    const debug: string[] = [];
    const cache = new RemoteCache({
      target: parseRemoteCacheTarget(base, 'NPKG_REMOTE_CACHE'),
      bitbucketUrl: BITBUCKET,
      timeoutMs: 5_000,
      write,
      onWarning: (message) => warnings.push(message),
      onDebug: (line) => debug.push(line),
    });
    return { cache, warnings, debug, server };
  }

  it('a refused write warns once and stops uploads, while reads go on', async () => {
    const server = await nginx({ writeUsers: [WRITER] });
    const { cache, warnings, debug } = remoteCache(server, server.urlWithUser(WRITER.username, 'wrong-pass-77'), true);
    expect(await cache.store(MODULE, archive)).toBe(false);
    expect(cache.writes).toBe(false);
    expect(await cache.store({ ...MODULE, slug: 'other' }, archive)).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/refused PUT \(401\).*archives are not uploaded for the rest of this run/);
    expect(await cache.open(MODULE)).toBeUndefined();
    expect(debug.at(-1)).toBe(`remote cache GET ${server.url}/${KEY_PATH} → 404 (miss)`);
    for (const line of [...warnings, ...debug]) expect(line).not.toContain('wrong-pass-77');
    expect((await server.requests(2)).map((entry) => entry.method)).toEqual(['PUT', 'GET']);
  });

  it('stores, reads back, and names the cache when a hit is unusable', async () => {
    const server = await nginx();
    const { cache, warnings, debug } = remoteCache(server, server.url, true);
    expect(await cache.store(MODULE, archive)).toBe(true);
    expect(debug).toEqual([`remote cache PUT ${server.url}/${KEY_PATH} (${bytes.length} bytes) → stored`]);
    await server.poison(KEY_PATH, Buffer.from('not an archive'));
    const hit = await cache.open(MODULE);
    expect((await readAll(hit!.stream)).toString()).toBe('not an archive');
    cache.unusableHit('acme/utils@c0ffee000000');
    cache.unusableHit('acme/utils@c0ffee000000');
    expect(warnings).toEqual(Array(2).fill(`the remote cache ${server.url} served a tree that does not match the lockfile integrity for acme/utils@c0ffee000000; downloading it from Bitbucket`));
    // Bad bytes are not an outage: the cache is still read.
    expect(await cache.open(MODULE)).toBeDefined();
  });

  it('a hit whose connection breaks counts as the cache being unavailable', async () => {
    const server = await nginx();
    const { cache, warnings } = remoteCache(server, server.url, false);
    const { ConnectionError } = await import('../../src/net/request.js');
    cache.unusableHit('acme/utils@c0ffee000000', new ConnectionError('socket hang up', 'ECONNRESET'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/broke off the archive of acme\/utils@c0ffee000000: socket hang up; the remote cache is skipped/);
    expect(await cache.open(MODULE)).toBeUndefined();
    expect(await server.requests()).toEqual([]);
    expect(createHash('sha256').update(await readFile(archive)).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});
