/**
 * A Bitbucket Cloud emulator on 127.0.0.1 (port 0) that behaves as
 * ../shared/BITBUCKET.md describes: REST API 2.0 refs and commits with
 * pagination, archives made by real `git archive`, Bearer and Basic auth,
 * the unauthenticated answers (401, or 302 to an HTML sign-in page), an
 * optional redirect of archives to a second host, fault injection and a
 * log of every request.
 *
 * The generic parts (request log and faults: http.ts, faults.ts; git repos:
 * git-fixtures.ts; archive serving: archives.ts) are apart from the Cloud
 * personality in cloud/ (REST routes, OAuth 2.0, OAuth 1.0a, web host), so
 * that another server kind can sit beside it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ArchiveStore } from './archives.js';
import { handleApi } from './cloud/api.js';
import type { CloudState } from './cloud/auth.js';
import { OAuthServer } from './cloud/oauth2.js';
import { OAuth1Server } from './cloud/oauth1.js';
import { handleCdn, handleWeb, type WebContext } from './cloud/web.js';
import { createDataCenter, type DataCenter } from './datacenter-api.js';
import { FaultList, type Fault } from './faults.js';
import { buildRepo, git, type BuiltRepo } from './git-fixtures.js';
import { closeHost, createHost, listen, type HostContext } from './http.js';
import type { EmulatorOptions, LoggedRequest } from './types.js';

export type { Fault } from './faults.js';
export type { EmulatorOptions, LoggedRequest, ServerName } from './types.js';
export { findCommit } from './archives.js';
export { isAuthorized } from './cloud/auth.js';

export type { DataCenter, DataCenterOptions, DcToken } from './datacenter-api.js';

export interface Emulator {
  /** Present when `datacenter` was given: the web host is then a Data Center. */
  datacenter: DataCenter | undefined;
  /** BITBUCKET_URL of the Data Center: the web host and its context path (the web host for Cloud). */
  siteUrl: string;
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

/** Starts the Cloud personality (its API host, web host and archive storage host), or with `datacenter` a Data Center on the web host. */
export async function startEmulator(input: EmulatorOptions): Promise<Emulator> {
  const options = { ...input };
  const root = await mkdtemp(path.join(os.tmpdir(), 'npkg-emulator-'));
  const repos = new Map<string, BuiltRepo>();
  for (const fixture of options.repos) repos.set(fixture.repo, await buildRepo(path.join(root, 'repos'), fixture));
  const archives = new ArchiveStore(root, repos);
  const oauth = options.oauth === undefined ? undefined : new OAuthServer(options.oauth);
  const oauth1 = options.oauth === undefined ? undefined : new OAuth1Server(options.oauth.consumers);
  const state: CloudState = { options, oauth, oauth1, repos, apiUrl: '' };
  const host: HostContext = { requests: [], faults: new FaultList(), latencyMs: () => options.latencyMs, signinUrl: () => web.urls.web };
  const web: WebContext = { state, archives, faults: host.faults, urls: { web: '', cdn: '' } };
  const datacenter = options.datacenter === undefined ? undefined : createDataCenter(repos, options.datacenter);

  const servers = [
    createHost('api', host, (request, response) => handleApi(state, request, response)),
    createHost('web', host, async (request, response) => {
      // A Data Center answers every request of the web host itself (faults were drawn before).
      if (datacenter !== undefined) await datacenter.handle(request, response, host.faults.bodyFault(response));
      else await handleWeb(web, request, response);
    }),
    createHost('cdn', host, (request, response) => handleCdn(web, request, response)),
  ] as const;
  state.apiUrl = await listen(servers[0]);
  web.urls.web = await listen(servers[1]);
  web.urls.cdn = await listen(servers[2]);

  return {
    datacenter,
    siteUrl: `${web.urls.web}${(options.datacenter?.contextPath ?? '').replace(/\/+$/, '')}`,
    oauth,
    oauth1,
    apiUrl: state.apiUrl,
    webUrl: web.urls.web,
    cdnUrl: web.urls.cdn,
    repos,
    requests: host.requests,
    clearRequests: () => void host.requests.splice(0),
    async moveTag(repoName, tag, commit) {
      const repo = repos.get(repoName)!;
      await git(repo.dir, ['tag', '-f', tag, commit]);
      repo.tags.set(tag, commit);
    },
    addFault: (fault) => host.faults.add(fault),
    setArchive: (repoName, commit, bytes) => archives.set(repoName, commit, bytes),
    setLatency: (ms) => {
      options.latencyMs = ms;
    },
    archiveFile: (repoName, commit) => archives.file(repoName, commit),
    async close() {
      for (const server of servers) await closeHost(server);
      await rm(root, { recursive: true, force: true });
    },
  };
}
