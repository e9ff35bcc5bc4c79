import type { BuiltRepo, RepoFixture } from './git-repos.js';

export type ServerName = 'api' | 'web' | 'cdn';

export interface EmulatorOptions {
  repos: RepoFixture[];
  /** Accepted as `Authorization: Bearer <token>`. */
  bearerTokens?: string[];
  /** Accepted as `Authorization: Basic base64(username:password)`. */
  basicUsers?: Array<{ username: string; password: string }>;
  /** How archives answer a missing or refused credential; default 'signin-redirect'. */
  unauthenticatedArchive?: '401' | 'signin-redirect';
  /** Archives answer 302 to the cdn server, which serves the bytes without auth. */
  archiveRedirect?: boolean;
  /** Delay before every response, for benchmarks. */
  latencyMs?: number;
  /** No auth needed anywhere. */
  publicRepos?: boolean;
}

export interface LoggedRequest {
  server: ServerName;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

interface FaultTarget {
  /** Any server when absent. */
  server?: ServerName;
  /** Tested against the request's path and query. */
  path: RegExp;
  /** How many more requests get this fault. */
  times: number;
}

export type Fault =
  | (FaultTarget & { kind: 'status'; status: number; retryAfter?: string; body?: string })
  /** Headers and about half of the body, then the socket is destroyed. */
  | (FaultTarget & { kind: 'truncate' })
  /** Headers, then nothing until close(). */
  | (FaultTarget & { kind: 'stall' });

export interface Emulator {
  /** REST paths are under `/2.0/`. */
  apiUrl: string;
  /** Archives and `/account/signin/`. */
  webUrl: string;
  /** Where archives redirect to with `archiveRedirect`. */
  cdnUrl: string;
  /** By `workspace/slug`. */
  repos: Map<string, BuiltRepo>;
  /** Every request to any of the three servers, in arrival order. */
  requests: LoggedRequest[];
  clearRequests(): void;
  /** Points `tag` of `repo` (`workspace/slug`) at `commit`, in the git repository too. */
  moveTag(repo: string, tag: string, commit: string): Promise<void>;
  addFault(fault: Fault): void;
  /** Closes the servers and their connections and removes the temp folder. */
  close(): Promise<void>;
}

/** What the request handlers of the three servers share. */
export interface EmulatorContext {
  options: EmulatorOptions;
  repos: Map<string, BuiltRepo>;
  urls: { api: string; web: string; cdn: string };
  /** The .tar.gz of a commit, made on first use. */
  archiveFile(repo: BuiltRepo, commit: string): Promise<string>;
}
