import { mkdir, readFile } from 'node:fs/promises';
import type { ArchiveWorker } from '../archive/worker.js';
import type { RunContext } from './context.js';
import { ArchiveCache } from './archive-cache.js';
import { NpkgError, asNpkgError, hasErrnoCode } from '../util/errors.js';
import { installModule, upToDate, type Outcome } from './module.js';
import type { InstallOptions, InstallReport, ModuleResult } from './types.js';
import type { BitbucketHttp } from '../bitbucket/client.js';
import { bitbucketServer, workspaceRule, type BitbucketServer } from '../bitbucket/server.js';
import type { RemoteCache } from './remote-cache/remote-cache.js';
import { lockfileDrift, lockfilePath, lockMatches, parseLockfile, writeLockfile, type Lock } from '../project/lockfile.js';
import { loadManifest, type Manifest, type ModuleSpec } from '../project/manifest.js';
import { acquireProjectLock } from '../project/project-lock.js';
import { VendorState } from '../project/state.js';
import { removeFolder, removeLeftovers } from './vendor.js';

export type { InstallEvents, InstallOptions, InstallReport, ModuleAction, ModuleResult } from './types.js';

/** `npkg install`: every manifest entry into vendorDir, as the lockfile says, atomically per module. */
export async function install(input: InstallOptions): Promise<InstallReport> {
  const options = { ...input };
  const events = options.events ?? {};
  const manifest = await loadManifest(options.cwd, workspaceRule(options.kind));
  events.plan?.(manifest.modules.length);
  const lockFile = lockfilePath(manifest);
  const lockText = await readOptional(lockFile);
  const lock: Lock = lockText === undefined ? new Map() : parseLockfile(lockText, lockFile);
  if (options.frozenLockfile) {
    const drift = lockfileDrift(lockText === undefined ? undefined : lock, manifest);
    if (drift !== undefined) {
      throw new NpkgError(
        'LOCKFILE_OUTDATED',
        `modules.lock.json does not match modules.json (${drift}): run \`npkg install\` without --frozen-lockfile (CI=true sets it) and commit the lockfile`,
      );
    }
  }
  await mkdir(manifest.vendorPath, { recursive: true });
  const release = await acquireProjectLock(manifest.vendorPath, {
    waitMs: options.lockWaitMs ?? 60_000,
    onWait: (owner) => events.waiting?.(`waiting for another npkg (${owner}) working in ${manifest.vendorDir}`),
  });
  try {
    await removeLeftovers(manifest.vendorPath);
    const state = await VendorState.load(manifest.vendorPath);
    const results = await installAll(options, manifest, lock, state, bitbucketServer(options));
    const removed = await removeDropped(manifest, state);
    const nextLock = buildLock(manifest, lock, results);
    // No lockfile is created when every module failed: an empty one would claim a resolved state.
    const create = lockText !== undefined || nextLock.size > 0 || manifest.modules.length === 0;
    const lockfileWritten = create && (await writeLockfile(lockFile, nextLock, lockText));
    return { manifest, modules: [...results.map((result) => result.result), ...removed], lockfileWritten };
  } finally {
    await release();
  }
}

async function installAll(options: InstallOptions, manifest: Manifest, lock: Lock, state: VendorState, server: BitbucketServer): Promise<Outcome[]> {
  const events = options.events ?? {};
  const cache = new ArchiveCache(options.cacheDir, server.cacheFolders);
  let http: Promise<BitbucketHttp> | undefined;
  // The HTTP stack loads only when a module needs the network: a no-op install stays fast.
  const getHttp = () =>
    (http ??= import('../bitbucket/client.js').then(
      ({ BitbucketHttp }) =>
        new BitbucketHttp(
          {
            kind: options.kind,
            retries: options.retries,
            timeoutMs: options.networkTimeoutMs,
            ...(events.retry ? { onRetry: events.retry } : {}),
            ...(events.debug ? { onDebug: events.debug } : {}),
          },
          options.credentials,
        ),
    ));
  let worker: Promise<ArchiveWorker> | undefined;
  const getArchiveWorker = () => (worker ??= import('../archive/worker.js').then(({ ArchiveWorker }) => new ArchiveWorker()));
  const getRemoteCache = remoteCacheLoader(options);
  // Up-to-date modules are settled first; p-limit loads only when there is work (not on a no-op install).
  const idle: RunContext = { options, events, manifest, state, cache, server, getHttp, getArchiveWorker, getRemoteCache, slot: (work) => work() };
  const outcomes = await Promise.all(manifest.modules.map((spec) => upToDate(idle, spec, lock)));
  for (const outcome of outcomes) if (outcome !== undefined) events.moduleDone?.(outcome.result);
  const pending = manifest.modules.filter((_, index) => outcomes[index] === undefined);
  if (pending.length > 0) {
    const { default: pLimit } = await import('p-limit');
    const context: RunContext = { ...idle, slot: pLimit(options.concurrency) };
    const done = await Promise.all(pending.map((spec) => installOne(context, spec, lock))).finally(async () => (await worker)?.close());
    for (const [index, spec] of pending.entries()) outcomes[manifest.modules.indexOf(spec)] = done[index];
  }
  return outcomes as Outcome[];
}

/** One team cache per run (its one warning per run lives there), loaded on first use; none with --offline. */
function remoteCacheLoader(options: InstallOptions): () => Promise<RemoteCache | undefined> {
  const settings = options.remoteCache;
  if (settings === undefined || options.offline) return () => Promise.resolve(undefined);
  const events = options.events ?? {};
  let remote: Promise<RemoteCache> | undefined;
  return () =>
    (remote ??= import('./remote-cache/remote-cache.js').then(
      ({ RemoteCache }) =>
        new RemoteCache({
          target: settings.target,
          bitbucketUrl: options.bitbucketUrl,
          timeoutMs: options.networkTimeoutMs,
          write: settings.write,
          onWarning: (message) => events.warning?.(message),
          ...(events.debug ? { onDebug: events.debug } : {}),
        }),
    ));
}

async function installOne(context: RunContext, spec: ModuleSpec, lock: Lock): Promise<Outcome> {
  // Modules being updated are resolved again: their lock entry is only the fallback if that fails.
  const reresolve = context.options.reresolve?.has(spec.name) ?? false;
  const locked = !reresolve && lockMatches(lock.get(spec.name), spec) ? lock.get(spec.name) : undefined;
  let outcome: Outcome;
  try {
    outcome = await installModule(context, spec, locked);
  } catch (error) {
    const failure = asNpkgError(error);
    outcome = { result: { name: spec.name, repo: spec.repo, ref: spec.ref, action: 'failed', error: failure } };
  }
  context.events.moduleDone?.(outcome.result);
  return outcome;
}

/** Deletes the folders that the state records and the manifest no longer names; nothing else. */
async function removeDropped(manifest: Manifest, state: VendorState): Promise<ModuleResult[]> {
  const wanted = new Set(manifest.modules.map((spec) => spec.name));
  const removed: ModuleResult[] = [];
  for (const name of state.names()) {
    if (wanted.has(name)) continue;
    const entry = state.get(name)!;
    await removeFolder(manifest.vendorPath, name);
    await state.set(name, undefined);
    removed.push({ name, repo: entry.repo, ref: '', commit: entry.commit, integrity: entry.integrity, action: 'removed' });
  }
  return removed;
}

/** Succeeded modules take their new entry, failed ones keep the old one; dropped names go. */
function buildLock(manifest: Manifest, previous: Lock, outcomes: Outcome[]): Lock {
  const next: Lock = new Map();
  for (const [index, spec] of manifest.modules.entries()) {
    const entry = outcomes[index]?.lockEntry ?? previous.get(spec.name);
    if (entry !== undefined) next.set(spec.name, entry);
  }
  return next;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}
