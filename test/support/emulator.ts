/**
 * A Bitbucket Cloud emulator for tests, behaving as /work/shared/BITBUCKET.md
 * describes: three loopback servers (REST API, web host with archives
 * made by real `git archive`, and a cdn host for redirected archives),
 * Bearer and Basic auth, fault injection and a log of every request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildRepo, runGit, type BuiltRepo } from './git-repos.js';
import { answerCdn, answerWeb, ArchiveStore } from './emulator-archives.js';
import { commitByPrefix } from './emulator-refs.js';
import { Reply } from './emulator-reply.js';
import { answerApi } from './emulator-rest.js';
import type { Emulator, EmulatorContext, EmulatorOptions, Fault, LoggedRequest, ServerName } from './emulator-types.js';

export type { Emulator, EmulatorOptions, Fault, LoggedRequest, ServerName } from './emulator-types.js';
export type { BuiltRepo, CommitSpec, FileSpec, RepoFixture } from './git-repos.js';

type Answer = (context: EmulatorContext, request: IncomingMessage, reply: Reply) => Promise<void>;

/** Builds the fixture repositories in a temp folder and starts the three servers on 127.0.0.1, ports chosen by the system. */
export async function startEmulator(input: EmulatorOptions): Promise<Emulator> {
  const options: EmulatorOptions = { ...input };
  const root = await mkdtemp(path.join(os.tmpdir(), 'npkg-emulator-'));
  const repos = await buildRepos(root, options).catch(async (error: unknown) => {
    await rm(root, { recursive: true, force: true });
    throw error;
  });
  const archives = new ArchiveStore(path.join(root, 'archives'));
  const context: EmulatorContext = {
    options,
    repos,
    urls: { api: '', web: '', cdn: '' },
    archiveFile: (repo, commit) => archives.file(repo, commit),
  };
  const requests: LoggedRequest[] = [];
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const serve = (name: ServerName, answer: Answer): Server =>
    createServer((request, response) => {
      requests.push({ server: name, method: request.method ?? 'GET', url: request.url ?? '/', headers: { ...request.headers } });
      // Taken on arrival, so that concurrent requests meet faults in the order they came in.
      const fault = takeFault(faults, name, request.url ?? '/');
      const respond = () => answerWithFault(context, answer, request, response, fault).catch((error: unknown) => failResponse(response, error));
      const latency = options.latencyMs ?? 0;
      if (latency <= 0) return void respond();
      const timer = setTimeout(() => {
        timers.delete(timer);
        void respond();
      }, latency);
      timers.add(timer);
    });

  const servers = { api: serve('api', answerApi), web: serve('web', answerWeb), cdn: serve('cdn', answerCdn) };
  context.urls.api = await listen(servers.api);
  context.urls.web = await listen(servers.web);
  context.urls.cdn = await listen(servers.cdn);

  let closing: Promise<void> | undefined;
  const close = async () => {
    for (const timer of timers) clearTimeout(timer);
    await Promise.all(Object.values(servers).map(stopServer));
    await archives.idle();
    await rm(root, { recursive: true, force: true });
  };

  return {
    apiUrl: context.urls.api,
    webUrl: context.urls.web,
    cdnUrl: context.urls.cdn,
    repos,
    requests,
    clearRequests: () => void requests.splice(0),
    moveTag: (repo, tag, commit) => moveTag(repos, repo, tag, commit),
    addFault: (fault) => void faults.push(fault),
    close: () => (closing ??= close()),
  };
}

async function buildRepos(root: string, options: EmulatorOptions): Promise<Map<string, BuiltRepo>> {
  const repos = new Map<string, BuiltRepo>();
  for (const fixture of options.repos) {
    if (repos.has(fixture.repo)) throw new Error(`repo "${fixture.repo}" appears twice in the emulator options`);
    repos.set(fixture.repo, await buildRepo(path.join(root, 'repos'), fixture));
  }
  return repos;
}

/** The first fault with times left that matches the server and `url`, used up by one. */
function takeFault(faults: Fault[], server: ServerName, url: string): Fault | undefined {
  const fault = faults.find((candidate) => candidate.times > 0 && (candidate.server ?? server) === server && candidate.path.test(url));
  if (fault) fault.times--;
  return fault;
}

async function answerWithFault(
  context: EmulatorContext,
  answer: Answer,
  request: IncomingMessage,
  response: ServerResponse,
  fault: Fault | undefined,
): Promise<void> {
  if (fault?.kind === 'status') {
    const headers = fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
    return new Reply(response, undefined).text(fault.status, fault.body ?? 'injected fault', headers);
  }
  return answer(context, request, new Reply(response, fault?.kind));
}

/** Tells the client that the emulator itself failed: a 500 if nothing was sent yet, else a cut connection. */
function failResponse(response: ServerResponse, error: unknown): void {
  // The client left (or a fault cut the socket): nobody is listening any more.
  if (response.destroyed) return;
  if (response.headersSent) {
    response.destroy(error instanceof Error ? error : new Error(String(error)));
    return;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(`emulator error: ${message}`);
}

async function moveTag(repos: Map<string, BuiltRepo>, repoName: string, tag: string, commit: string): Promise<void> {
  const repo = repos.get(repoName);
  if (!repo) throw new Error(`moveTag: no repo "${repoName}" in the emulator`);
  const hash = commitByPrefix(repo, commit, 7);
  if (!hash) throw new Error(`moveTag: no single commit "${commit}" in ${repoName}`);
  await runGit(repo.dir, ['tag', '-f', tag, hash]);
  repo.tags.set(tag, hash);
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

/** Stops accepting, then ends every connection, stalled downloads included. */
function stopServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
