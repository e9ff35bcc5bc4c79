import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveWorker } from '../archive/worker.js';
import type { ArchiveCache } from './archive-cache.js';
import { NpkgError } from '../util/errors.js';
import { fetchTree, type FetchedTree } from './fetch.js';
import type { BitbucketHttp } from '../bitbucket/client.js';
import type { InstallOptions, ModuleResult } from './types.js';
import { lockMatches, type Lock, type LockEntry } from '../project/lockfile.js';
import type { Manifest, ModuleSpec } from '../project/manifest.js';
import type { StateEntry, VendorState } from '../project/state.js';
import { isFolder, swapIn } from './vendor.js';

export interface Outcome {
  result: ModuleResult;
  lockEntry?: LockEntry;
}

export interface ModuleContext {
  options: InstallOptions;
  manifest: Manifest;
  state: VendorState;
  cache: ArchiveCache;
  getHttp: () => Promise<BitbucketHttp>;
  getArchiveWorker: () => Promise<ArchiveWorker>;
  /** Bounds the network part (resolve and download) to --concurrency modules at once. */
  slot: <T>(work: () => Promise<T>) => Promise<T>;
}

/** The outcome of a module already installed at its locked commit, or undefined when it needs work. */
export async function upToDate(context: ModuleContext, spec: ModuleSpec, lock: Lock): Promise<Outcome | undefined> {
  const locked = lock.get(spec.name);
  if (context.options.reresolve?.has(spec.name)) return undefined;
  if (context.options.force || !lockMatches(locked, spec) || !isInstalled(context.state.get(spec.name), locked, spec)) return undefined;
  if (!(await isFolder(path.join(context.manifest.vendorPath, spec.name)))) return undefined;
  return { result: { ...identity(spec), commit: locked.commit, integrity: locked.integrity, action: 'unchanged' }, lockEntry: locked };
}

/** Installs one module: check the folder, resolve and fetch (in a slot), verify, swap, record. */
export async function installModule(context: ModuleContext, spec: ModuleSpec, locked: LockEntry | undefined): Promise<Outcome> {
  const { options, manifest, state } = context;
  const events = options.events ?? {};
  const current = state.get(spec.name);
  events.moduleStart?.(spec.name);
  const folder = path.join(manifest.vendorPath, spec.name);
  let onDisk: string | undefined;
  if (await isFolder(folder)) {
    const { hashTree } = await import('../archive/dirhash.js');
    onDisk = await hashTree(folder);
    if (!options.force && locked !== undefined && onDisk === locked.integrity) {
      // The folder already holds the locked tree (a lost state, or a kill after the swap): adopt it.
      await state.set(spec.name, stateEntry(spec, locked.commit, locked.integrity));
      return { result: { ...identity(spec), commit: locked.commit, integrity: locked.integrity, action: 'unchanged' }, lockEntry: locked };
    }
    const known = [current?.integrity, current?.next?.integrity].filter((value) => value !== undefined);
    if (!options.force && !known.includes(onDisk)) {
      throw new NpkgError(
        'LOCAL_CHANGES',
        `${manifest.vendorDir}/${spec.name} was changed locally (or not installed by npkg): move your changes away, or run \`npkg install --force\` to replace it`,
      );
    }
  }
  // Only network requests hold a concurrency slot: extracting, verifying and swapping overlap
  // with the next downloads.
  const target = locked ?? (await context.slot(() => resolveModule(context, spec)));
  if (locked === undefined && !options.force && isInstalled(current, { ...target, repo: spec.repo, ref: spec.ref, integrity: current?.integrity ?? '' }, spec) && onDisk === current!.integrity) {
    // Re-resolved (update, or an edited ref) to the commit already installed, untouched: nothing to fetch.
    const integrity = current!.integrity;
    return { result: { ...identity(spec), commit: target.commit, integrity, action: 'unchanged' }, lockEntry: lockEntryFor(spec, target, integrity) };
  }
  const tree = await fetchTree(fetchContext(context), spec, target.commit);
  await commitTree(context, spec, locked, current, target.commit, tree);
  const lockEntry = lockEntryFor(spec, target, tree.integrity);
  const action = tree.source === 'cache' ? 'cached' : 'downloaded';
  return { result: { ...identity(spec), commit: target.commit, integrity: tree.integrity, action }, lockEntry };
}

/** Checks the staged tree against the lockfile and swaps it in; on any failure the old folder stays. */
async function commitTree(
  context: ModuleContext,
  spec: ModuleSpec,
  locked: LockEntry | undefined,
  current: StateEntry | undefined,
  commit: string,
  tree: FetchedTree,
): Promise<void> {
  const { manifest, state } = context;
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
    await state.set(spec.name, { ...(current ?? stateEntry(spec, commit, tree.integrity)), next: { commit, integrity: tree.integrity } });
    await swapIn(manifest.vendorPath, spec.name, tree.staging);
    await state.set(spec.name, stateEntry(spec, commit, tree.integrity));
  } catch (error) {
    await tree.cacheWriter?.discard();
    await rm(tree.staging, { recursive: true, force: true });
    throw error;
  }
}

function lockEntryFor(spec: ModuleSpec, target: { commit: string; resolved: string }, integrity: string): LockEntry {
  return { repo: spec.repo, ref: spec.ref, resolved: target.resolved, commit: target.commit, integrity, ...(spec.path === undefined ? {} : { path: spec.path }) };
}

function fetchContext(context: ModuleContext) {
  const events = context.options.events ?? {};
  return {
    vendorPath: context.manifest.vendorPath,
    bitbucketUrl: context.options.bitbucketUrl,
    cache: context.cache,
    offline: context.options.offline,
    http: context.getHttp,
    archiveWorker: context.getArchiveWorker,
    onWarning: (message: string) => events.warning?.(message),
    onBytes: (name: string, bytes: number, total: number | undefined) => events.bytes?.(name, bytes, total),
    slot: context.slot,
  };
}

async function resolveModule(context: ModuleContext, spec: ModuleSpec): Promise<{ commit: string; resolved: string }> {
  if (context.options.offline) {
    throw new NpkgError('CACHE_MISS', `--offline: ${spec.name} (${spec.ref}) is not in modules.lock.json, so it cannot be resolved without the network`);
  }
  const [http, { resolveRef }] = await Promise.all([context.getHttp(), import('../bitbucket/resolve.js')]);
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

function identity(spec: ModuleSpec): Pick<ModuleResult, 'name' | 'repo' | 'ref'> {
  return { name: spec.name, repo: spec.repo, ref: spec.ref };
}
