import type { ArchiveWorker } from '../archive/worker.js';
import type { BitbucketHttp } from '../bitbucket/client.js';
import type { BitbucketServer } from '../bitbucket/server.js';
import type { Manifest, ModuleSpec } from '../project/manifest.js';
import type { VendorState } from '../project/state.js';
import type { ArchiveCache } from './archive-cache.js';
import type { RemoteCache } from './remote-cache/remote-cache.js';
import type { InstallEvents, InstallOptions } from './types.js';

/** What every module's install shares in one run: made once by install(), read by every step. */
export interface RunContext {
  options: InstallOptions;
  events: InstallEvents;
  manifest: Manifest;
  state: VendorState;
  cache: ArchiveCache;
  /** The Bitbucket of this run: how refs resolve and where archives are. */
  server: BitbucketServer;
  /** The HTTP stack, loaded on first use: a no-op install never loads it. */
  getHttp: () => Promise<BitbucketHttp>;
  getArchiveWorker: () => Promise<ArchiveWorker>;
  /** The team cache of this run, loaded on first use; undefined when none is set or with --offline. */
  getRemoteCache: () => Promise<RemoteCache | undefined>;
  /** Bounds the network part (resolve and download) to --concurrency modules at once. */
  slot: <T>(work: () => Promise<T>) => Promise<T>;
}

/** One module's tree to build, once its commit is known: what the source and extraction steps read. */
export interface TreeJob {
  run: RunContext;
  spec: ModuleSpec;
  commit: string;
  /** The lockfile's h1 for this commit; only then may the team cache be read. */
  integrity: string | undefined;
  /** `repo@commit12`, for messages. */
  label: string;
}

export function treeJob(run: RunContext, spec: ModuleSpec, commit: string, integrity?: string): TreeJob {
  return { run, spec, commit, integrity, label: `${spec.repo}@${commit.slice(0, 12)}` };
}

export function warn(job: TreeJob, message: string): void {
  job.run.events.warning?.(message);
}
