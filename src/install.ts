import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveCache } from './cache.js';
import type { CredentialProvider } from './credentials.js';
import { hashTree } from './dirhash.js';
import { NpkgError, asNpkgError, hasErrnoCode } from './errors.js';
import { fetchTree } from './fetch-module.js';
import type { BitbucketHttp } from './http.js';
import { lockfileDrift, lockfilePath, lockMatches, parseLockfile, writeLockfile, type Lock, type LockEntry } from './lockfile.js';
import { loadManifest, type Manifest, type ModuleSpec } from './manifest.js';
import { acquireProjectLock } from './project-lock.js';
import { VendorState, type StateEntry } from './state.js';
import { isFolder, removeFolder, removeLeftovers, swapIn } from './vendor.js';

export type ModuleAction = 'downloaded' | 'cached' | 'unchanged' | 'removed' | 'failed';

export interface ModuleResult {
  name: string;
  repo: string;
  ref: string;
  commit?: string;
  integrity?: string;
  action: ModuleAction;
  error?: NpkgError;
}

export interface InstallReport {
  manifest: Manifest;
  modules: ModuleResult[];
  lockfileWritten: boolean;
}

/** Progress and diagnostics; the library never writes to the terminal itself. */
export interface InstallEvents {
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
  cacheDir: string;
  credentials: CredentialProvider;
  events?: InstallEvents;
  /** How long to wait for another npkg working in the same project. */
  lockWaitMs?: number;
}

/** `npkg install`: every manifest entry into vendorDir, as the lockfile says, atomically per module. */
export async function install(input: InstallOptions): Promise<InstallReport> {
  const options = { ...input };
  const events = options.events ?? {};
  const manifest = await loadManifest(options.cwd);
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
    const results = await installAll(options, manifest, lock, state);
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

interface Outcome {
  result: ModuleResult;
  lockEntry?: LockEntry;
}

async function installAll(options: InstallOptions, manifest: Manifest, lock: Lock, state: VendorState): Promise<Outcome[]> {
  const events = options.events ?? {};
  const cache = new ArchiveCache(options.cacheDir);
  let http: Promise<BitbucketHttp> | undefined;
  // The HTTP stack loads only when a module needs the network: a no-op install stays fast.
  const getHttp = () =>
    (http ??= import('./http.js').then(
      ({ BitbucketHttp }) =>
        new BitbucketHttp(
          {
            retries: options.retries,
            timeoutMs: options.networkTimeoutMs,
            ...(events.retry ? { onRetry: events.retry } : {}),
            ...(events.debug ? { onDebug: events.debug } : {}),
          },
          options.credentials,
        ),
    ));
  const context = { options, manifest, state, cache, getHttp };
  const run = async (spec: ModuleSpec): Promise<Outcome> => {
    const locked = lockMatches(lock.get(spec.name), spec) ? lock.get(spec.name) : undefined;
    let outcome: Outcome;
    try {
      outcome = await installModule(context, spec, locked);
    } catch (error) {
      const failure = asNpkgError(error);
      outcome = { result: { name: spec.name, repo: spec.repo, ref: spec.ref, action: 'failed', error: failure } };
    }
    events.moduleDone?.(outcome.result);
    return outcome;
  };
  // Up-to-date modules are settled first; p-limit loads only when there is work.
  const outcomes = await Promise.all(manifest.modules.map((spec) => upToDate(context, spec, lock)));
  const pending = manifest.modules.filter((_, index) => outcomes[index] === undefined);
  if (pending.length > 0) {
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(options.concurrency);
    const done = await Promise.all(pending.map((spec) => limit(() => run(spec))));
    for (const [index, spec] of pending.entries()) outcomes[manifest.modules.indexOf(spec)] = done[index];
  }
  return outcomes as Outcome[];
}

/** The outcome of a module already installed at its locked commit, or undefined when it needs work. */
async function upToDate(context: ModuleContext, spec: ModuleSpec, lock: Lock): Promise<Outcome | undefined> {
  const locked = lock.get(spec.name);
  if (context.options.force || !lockMatches(locked, spec) || !isInstalled(context.state.get(spec.name), locked, spec)) return undefined;
  if (!(await isFolder(path.join(context.manifest.vendorPath, spec.name)))) return undefined;
  const result: ModuleResult = { name: spec.name, repo: spec.repo, ref: spec.ref, commit: locked.commit, integrity: locked.integrity, action: 'unchanged' };
  context.options.events?.moduleDone?.(result);
  return { result, lockEntry: locked };
}

interface ModuleContext {
  options: InstallOptions;
  manifest: Manifest;
  state: VendorState;
  cache: ArchiveCache;
  getHttp: () => Promise<BitbucketHttp>;
}

async function installModule(context: ModuleContext, spec: ModuleSpec, locked: LockEntry | undefined): Promise<Outcome> {
  const { options, manifest, state } = context;
  const events = options.events ?? {};
  const folder = path.join(manifest.vendorPath, spec.name);
  const current = state.get(spec.name);
  const base = { name: spec.name, repo: spec.repo, ref: spec.ref };
  events.moduleStart?.(spec.name);
  const target = locked ?? (await resolveModule(context, spec));
  if (await isFolder(folder)) {
    const onDisk = await hashTree(folder);
    if (!options.force && locked !== undefined && onDisk === locked.integrity) {
      // The folder already holds the locked tree (a lost state, or a kill after the swap): adopt it.
      await state.set(spec.name, stateEntry(spec, locked.commit, locked.integrity));
      return { result: { ...base, commit: locked.commit, integrity: locked.integrity, action: 'unchanged' }, lockEntry: locked };
    }
    const known = [current?.integrity, current?.next?.integrity].filter((value) => value !== undefined);
    if (!options.force && !known.includes(onDisk)) {
      throw new NpkgError(
        'LOCAL_CHANGES',
        `${manifest.vendorDir}/${spec.name} was changed locally (or not installed by npkg): move your changes away, or run \`npkg install --force\` to replace it`,
      );
    }
  }
  const tree = await fetchTree(
    {
      vendorPath: manifest.vendorPath,
      bitbucketUrl: options.bitbucketUrl,
      cache: context.cache,
      offline: options.offline,
      http: context.getHttp,
      onWarning: (message) => events.warning?.(message),
      onBytes: (name, bytes, total) => events.bytes?.(name, bytes, total),
    },
    spec,
    target.commit,
  );
  try {
    if (locked !== undefined && tree.integrity !== locked.integrity) {
      throw new NpkgError(
        'INTEGRITY_MISMATCH',
        `integrity mismatch for ${spec.name} (${spec.repo}@${locked.commit.slice(0, 12)}): the lockfile says ${locked.integrity}, the archive gives ${tree.integrity}; ` +
          `the previous folder was kept: check the repository, then run \`npkg update ${spec.name}\``,
      );
    }
    await tree.cacheWriter?.keep();
    // Mark the entry untrusted across the swap: a kill there leaves either tree in the folder.
    await state.set(spec.name, { ...(current ?? stateEntry(spec, target.commit, tree.integrity)), next: { commit: target.commit, integrity: tree.integrity } });
    await swapIn(manifest.vendorPath, spec.name, tree.staging);
    await state.set(spec.name, stateEntry(spec, target.commit, tree.integrity));
  } catch (error) {
    await tree.cacheWriter?.discard();
    await rm(tree.staging, { recursive: true, force: true });
    throw error;
  }
  const lockEntry: LockEntry = {
    repo: spec.repo,
    ref: spec.ref,
    resolved: target.resolved,
    commit: target.commit,
    integrity: tree.integrity,
    ...(spec.path === undefined ? {} : { path: spec.path }),
  };
  return {
    result: { ...base, commit: target.commit, integrity: tree.integrity, action: tree.source === 'cache' ? 'cached' : 'downloaded' },
    lockEntry,
  };
}

async function resolveModule(context: ModuleContext, spec: ModuleSpec): Promise<{ commit: string; resolved: string }> {
  if (context.options.offline) {
    throw new NpkgError('CACHE_MISS', `--offline: ${spec.name} (${spec.ref}) is not in modules.lock.json, so it cannot be resolved without the network`);
  }
  const [http, { resolveRef }] = await Promise.all([context.getHttp(), import('./resolve.js')]);
  const get = (url: string) => http.getJson(url, spec.workspace, spec.repo);
  return resolveRef(get, context.options.apiUrl, spec);
}

function isInstalled(current: StateEntry | undefined, locked: LockEntry, spec: ModuleSpec): boolean {
  return (
    current !== undefined &&
    current.next === undefined &&
    current.commit === locked.commit &&
    current.integrity === locked.integrity &&
    current.repo === spec.repo &&
    current.path === spec.path
  );
}

function stateEntry(spec: ModuleSpec, commit: string, integrity: string): StateEntry {
  return { repo: spec.repo, commit, integrity, ...(spec.path === undefined ? {} : { path: spec.path }) };
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
