/**
 * A Bitbucket Cloud emulator on 127.0.0.1 (port 0) that behaves as
 * ../shared/BITBUCKET.md describes: REST API 2.0 refs and commits with
 * pagination, archives made by real `git archive`, Bearer and Basic auth,
 * the unauthenticated answers (401, or 302 to an HTML sign-in page), an
 * optional redirect of archives to a second host, fault injection and a
 * log of every request.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Transform } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { buildRepo, git, gitArchiveGz, type BuiltRepo, type RepoFixture } from './git-fixtures.js';
import { handleApi } from './cloud-api.js';
import { OAuthServer, type OAuthOptions } from './cloud-oauth.js';
import { OAuth1Server } from './cloud-oauth1.js';

/** Archives up to this size are kept in memory once made. */
const MEMORY_ARCHIVE = 4 * 1024 * 1024;

export type ServerName = 'api' | 'web' | 'cdn';

export interface EmulatorOptions {
  repos: RepoFixture[];
  bearerTokens?: string[];
  basicUsers?: Array<{ username: string; password: string }>;
  /** How the archive host answers a request without a valid credential (default: 302 to the sign-in page). */
  unauthenticatedArchive?: '401' | 'signin-redirect';
  /** Archives answer 302 to a second host that serves the bytes without auth. */
  archiveRedirect?: boolean;
  /** Delay before every response, for benchmarks. */
  latencyMs?: number;
  /** Cap on archive bytes per second per download, for benchmarks. */
  bytesPerSecond?: number;
  publicRepos?: boolean;
  /** Largest page the ref lists serve (Bitbucket: 100); small in tests to force pagination. */
  maxPagelen?: number;
  /** OAuth 2.0 consumers and token behaviour; tokens it issues are accepted as Bearer. */
  oauth?: OAuthOptions;
}

export interface LoggedRequest {
  server: ServerName;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

interface FaultBase {
  server?: ServerName;
  path: RegExp;
  times: number;
}

export type Fault =
  | (FaultBase & { kind: 'status'; status: number; retryAfter?: string; body?: string; contentType?: string })
  /** A 302 to the sign-in page, as Bitbucket answers an archive request it does not accept. */
  | (FaultBase & { kind: 'signin' })
  /** Half the archive, then the connection closes cleanly: a body shorter than its Content-Length. */
  | (FaultBase & { kind: 'truncate' })
  /** Half the archive, then a TCP reset. */
  | (FaultBase & { kind: 'reset' })
  /** The archive at this many bytes per second; `chunked`: with no Content-Length, so that it streams. */
  | (FaultBase & { kind: 'drip'; bytesPerSecond: number; chunked?: boolean })
  /** Headers, then silence. */
  | (FaultBase & { kind: 'stall' });

type BodyFault = Extract<Fault, { kind: 'truncate' | 'reset' | 'drip' }>;

export interface Emulator {
  /** Present when `oauth` was given. */
  oauth: OAuthServer | undefined;
  oauth1: OAuth1Server | undefined;
  apiUrl: string;
  webUrl: string;
  cdnUrl: string;
  repos: Map<string, BuiltRepo>;
  requests: LoggedRequest[];
  clearRequests(): void;
  moveTag(repo: string, tag: string, commit: string): Promise<void>;
  addFault(fault: Fault): void;
  /** Serves these bytes as the archive of a commit (hostile-archive tests). */
  setArchive(repo: string, commit: string, bytes: Buffer): Promise<void>;
  /** Changes the delay before every response (benchmarks). */
  setLatency(ms: number): void;
  /** Makes (once) and returns the .tar.gz of a commit. */
  archiveFile(repo: string, commit: string): Promise<string>;
  close(): Promise<void>;
}

export interface EmulatorState {
  options: EmulatorOptions;
  oauth: OAuthServer | undefined;
  oauth1: OAuth1Server | undefined;
  repos: Map<string, BuiltRepo>;
  apiUrl: string;
}

export async function startEmulator(input: EmulatorOptions): Promise<Emulator> {
  const options = { ...input };
  const root = await mkdtemp(path.join(os.tmpdir(), 'npkg-emulator-'));
  const repos = new Map<string, BuiltRepo>();
  for (const fixture of options.repos) repos.set(fixture.repo, await buildRepo(path.join(root, 'repos'), fixture));
  const requests: LoggedRequest[] = [];
  const faults: Fault[] = [];
  const archives = new Map<string, Promise<string>>();
  const memory = new Map<string, Buffer>();

  const archiveFile = (repoName: string, commit: string): Promise<string> => {
    const key = `${repoName}@${commit}`;
    let file = archives.get(key);
    if (file === undefined) {
      const repo = repos.get(repoName)!;
      const out = path.join(root, 'archives', `${repo.workspace}-${repo.slug}-${commit}.tar.gz`);
      file = import('node:fs/promises')
        .then(({ mkdir }) => mkdir(path.dirname(out), { recursive: true }))
        .then(() => gitArchiveGz(repo, commit, out))
        .then(() => out);
      archives.set(key, file);
    }
    return file;
  };

  const oauth = options.oauth === undefined ? undefined : new OAuthServer(options.oauth);
  const oauth1 = options.oauth === undefined ? undefined : new OAuth1Server(options.oauth.consumers);
  const state: EmulatorState = { options, oauth, oauth1, repos, apiUrl: '' };
  const urls = { web: '', cdn: '' };

  const serve = (name: ServerName, handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>): Server =>
    createServer((request, response) => {
      requests.push({ server: name, method: request.method ?? 'GET', url: request.url ?? '/', headers: { ...request.headers } });
      const run = async () => {
        if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
        const fault = takeFault(faults, name, request.url ?? '/');
        if (fault?.kind === 'status') {
          response.writeHead(fault.status, { 'content-type': fault.contentType ?? 'text/plain', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
          response.end(fault.body ?? 'injected fault');
          return;
        }
        if (fault?.kind === 'signin') {
          response.writeHead(302, { location: `${urls.web}/account/signin/?next=${encodeURIComponent(request.url ?? '/')}` });
          response.end();
          return;
        }
        if (fault?.kind === 'stall') {
          response.writeHead(200, { 'content-type': 'application/octet-stream' });
          response.flushHeaders();
          return;
        }
        if (fault?.kind === 'truncate' || fault?.kind === 'reset' || fault?.kind === 'drip') bodyFaults.set(response, fault);
        await handler(request, response);
      };
      run().catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`emulator error: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
  /** Faults that change how an archive's body is sent, for the response they were drawn for. */
  const bodyFaults = new WeakMap<ServerResponse, BodyFault>();

  const sendArchive = async (response: ServerResponse, repoName: string, commit: string) => {
    const file = await archiveFile(repoName, commit);
    const size = (await stat(file)).size;
    const fault = bodyFaults.get(response);
    const chunked = fault?.kind === 'drip' && fault.chunked === true;
    response.writeHead(200, { 'content-type': 'application/x-gzip', ...(chunked ? {} : { 'content-length': String(size) }) });
    if (fault?.kind === 'truncate' || fault?.kind === 'reset') {
      const socket = response.socket!;
      createReadStream(file, { start: 0, end: Math.max(0, Math.floor(size / 2) - 1) })
        .on('end', () => (fault.kind === 'reset' ? socket.resetAndDestroy() : socket.end()))
        .pipe(response, { end: false });
      return;
    }
    // Small archives are served from memory, as a CDN would: no disk read between request and bytes.
    let body: Readable;
    if (size <= MEMORY_ARCHIVE) {
      const bytes = memory.get(file) ?? (await readFile(file));
      memory.set(file, bytes);
      body = Readable.from([bytes]);
    } else {
      body = createReadStream(file, { highWaterMark: 256 * 1024 });
    }
    const rate = fault?.kind === 'drip' ? fault.bytesPerSecond : options.bytesPerSecond;
    if (rate) body.pipe(throttle(rate)).pipe(response);
    else body.pipe(response);
  };

  const api = serve('api', (request, response) => handleApi(state, request, response));
  const web = serve('web', async (request, response) => {
    const url = new URL(request.url ?? '/', urls.web);
    if (oauth !== undefined && (await oauth.handle(request, response, url))) return;
    if (oauth1 !== undefined && (await oauth1.handle(request, response, url))) return;
    if (url.pathname.startsWith('/account/signin')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!DOCTYPE html><html><head><title>Log in to Bitbucket</title></head><body><form>Sign in</form></body></html>');
      return;
    }
    const match = /^\/([^/]+)\/([^/]+)\/get\/(.+)\.tar\.gz$/.exec(url.pathname);
    const repoName = match ? `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}` : '';
    const repo = repos.get(repoName);
    if (!isAuthorized(state, request)) {
      if ((options.unauthenticatedArchive ?? 'signin-redirect') === '401') {
        response.writeHead(401, { 'content-type': 'text/html' });
        response.end('<html><body>Unauthorized</body></html>');
      } else {
        response.writeHead(302, { location: `${urls.web}/account/signin/?next=${encodeURIComponent(url.pathname)}` });
        response.end();
      }
      return;
    }
    const commit = repo && match ? findCommit(repo, decodeURIComponent(match[3]!)) : undefined;
    if (repo === undefined || commit === undefined) {
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<html><body>Not found</body></html>');
      return;
    }
    if (options.archiveRedirect) {
      response.writeHead(302, { location: `${urls.cdn}/archive/${repo.workspace}/${repo.slug}/${commit}.tar.gz?sig=abc` });
      response.end();
      return;
    }
    await sendArchive(response, repoName, commit);
  });
  const cdn = serve('cdn', async (request, response) => {
    const url = new URL(request.url ?? '/', urls.cdn);
    // Like a signed S3 URL: a forwarded Authorization header is refused outright.
    if (request.headers.authorization !== undefined) {
      response.writeHead(400, { 'content-type': 'application/xml' });
      response.end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      return;
    }
    const match = /^\/archive\/([^/]+)\/([^/]+)\/([0-9a-f]{40})\.tar\.gz$/.exec(url.pathname);
    const repoName = match ? `${match[1]}/${match[2]}` : '';
    if (!match || !repos.has(repoName)) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('no such object');
      return;
    }
    await sendArchive(response, repoName, match[3]!);
  });

  const listen = (server: Server) =>
    new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  state.apiUrl = await listen(api);
  urls.web = await listen(web);
  urls.cdn = await listen(cdn);

  return {
    oauth,
    oauth1,
    apiUrl: state.apiUrl,
    webUrl: urls.web,
    cdnUrl: urls.cdn,
    repos,
    requests,
    clearRequests: () => void requests.splice(0),
    async moveTag(repoName, tag, commit) {
      const repo = repos.get(repoName)!;
      await git(repo.dir, ['tag', '-f', tag, commit]);
      repo.tags.set(tag, commit);
    },
    addFault: (fault) => void faults.push(fault),
    async setArchive(repoName, commit, bytes) {
      const repo = repos.get(repoName)!;
      const out = path.join(root, 'archives', `${repo.workspace}-${repo.slug}-${commit}-crafted.tar.gz`);
      await import('node:fs/promises').then(async ({ mkdir, writeFile }) => {
        await mkdir(path.dirname(out), { recursive: true });
        await writeFile(out, bytes);
      });
      archives.set(`${repoName}@${commit}`, Promise.resolve(out));
      memory.delete(out);
    },
    setLatency: (ms) => {
      options.latencyMs = ms;
    },
    archiveFile,
    async close() {
      for (const server of [api, web, cdn]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Passes bytes on no faster than `rate` per second, in slices of a tenth of a second or less. */
function throttle(rate: number): Transform {
  const slice = Math.max(1, Math.floor(rate / 10));
  const started = Date.now();
  let sent = 0;
  return new Transform({
    async transform(chunk: Buffer, _encoding, done) {
      for (let offset = 0; offset < chunk.length; offset += slice) {
        const piece = chunk.subarray(offset, offset + slice);
        sent += piece.length;
        const due = started + (sent / rate) * 1000;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
        this.push(piece);
      }
      done();
    },
  });
}

function takeFault(faults: Fault[], server: ServerName, url: string): Fault | undefined {
  const fault = faults.find((candidate) => candidate.times > 0 && (candidate.server ?? server) === server && candidate.path.test(url));
  if (fault) fault.times--;
  return fault;
}

/** Bearer tokens and Basic pairs of the options; a token in the query string never counts. */
export function isAuthorized(state: Pick<EmulatorState, 'options' | 'oauth' | 'oauth1'>, request: IncomingMessage): boolean {
  const { options } = state;
  if (options.publicRepos) return true;
  const header = request.headers.authorization ?? '';
  if (header.startsWith('OAuth ')) return state.oauth1?.accepts(request, `http://${request.headers.host}${request.url}`) ?? false;
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme === 'Bearer') return (options.bearerTokens ?? []).includes(value) || state.oauth?.check(value) === 'ok';
  if (scheme === 'Basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return (options.basicUsers ?? []).some((user) => `${user.username}:${user.password}` === decoded);
  }
  return false;
}

/** A ref of the archive URL: a 40- or 12-hex commit, a tag, a branch, or HEAD. */
export function findCommit(repo: BuiltRepo, ref: string): string | undefined {
  if (ref === 'HEAD') return repo.branches.get('main');
  if (/^[0-9a-f]{12,40}$/.test(ref)) {
    const matches = repo.commits.filter((commit) => commit.startsWith(ref));
    if (matches.length === 1) return matches[0];
  }
  return repo.tags.get(ref) ?? repo.branches.get(ref);
}
