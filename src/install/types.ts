import type { CredentialProvider } from '../auth/sources.js';
import type { Manifest } from '../project/manifest.js';
import type { NpkgError } from '../util/errors.js';
import type { RemoteCacheSettings } from './remote-cache/settings.js';
import type { ServerKind } from '../util/server-kind.js';

/*
 * The install flow's public types, apart so that the flow (install.ts) and
 * its per-module steps (module.ts) both import them without importing each other.
 */

export type ModuleAction = 'downloaded' | 'cached' | 'unchanged' | 'removed' | 'failed';

export interface ModuleResult {
  name: string;
  repo: string;
  ref: string;
  commit?: string;
  integrity?: string;
  action: ModuleAction;
  /** Where a downloaded module's archive came from (SPEC §10); absent for the other actions. */
  source?: 'bitbucket' | 'remote-cache';
  error?: NpkgError;
}

export interface InstallReport {
  manifest: Manifest;
  modules: ModuleResult[];
  lockfileWritten: boolean;
}

/** Progress and diagnostics; the library never writes to the terminal itself. */
export interface InstallEvents {
  /** How many modules the manifest names, once it is read. */
  plan?(total: number): void;
  moduleStart?(name: string): void;
  bytes?(name: string, bytes: number, total: number | undefined): void;
  moduleDone?(result: ModuleResult): void;
  warning?(message: string): void;
  retry?(message: string): void;
  debug?(line: string): void;
  waiting?(message: string): void;
}

export interface InstallOptions {
  cwd: string;
  frozenLockfile: boolean;
  offline: boolean;
  force: boolean;
  concurrency: number;
  retries: number;
  networkTimeoutMs: number;
  bitbucketUrl: string;
  apiUrl: string;
  /** Cloud or Data Center, told once by the settings (SPEC §6). */
  kind: ServerKind;
  cacheDir: string;
  credentials: CredentialProvider;
  events?: InstallEvents;
  /** Names to resolve again from their refs (npkg update), ignoring the lockfile. */
  reresolve?: ReadonlySet<string>;
  /** The team cache (NPKG_REMOTE_CACHE), if any; never used with --offline. */
  remoteCache?: RemoteCacheSettings | undefined;
  /** How long to wait for another npkg working in the same project. */
  lockWaitMs?: number;
}
