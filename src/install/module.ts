import path from 'node:path';
import { lockMatches, type Lock, type LockEntry } from '../project/lockfile.js';
import type { ModuleSpec } from '../project/manifest.js';
import type { StateEntry } from '../project/state.js';
import { NpkgError } from '../util/errors.js';
import { treeJob, type RunContext } from './context.js';
import { buildTree } from './sources.js';
import { discardTree, type StagedTree } from './staging.js';
import type { ModuleResult } from './types.js';
import { isFolder, swapIn } from './vendor.js';

export interface Outcome {
  result: ModuleResult;
  lockEntry?: LockEntry;
}

/** One module's own values, made once and read by each step of its install. */
interface ModuleJob {
  run: RunContext;
  spec: ModuleSpec;
  /** The lock entry to install; undefined when the ref is resolved again. */
  locked: LockEntry | undefined;
  /** What the state recorded for the module before this install. */
  current: StateEntry | undefined;
  /** h1 of the module's folder as found, undefined when there is none. */
  onDisk: string | undefined;
}

/** A resolved ref: the commit to install and what it was resolved as. */
type Target = Pick<LockEntry, 'commit' | 'resolved'>;

/** The outcome of a module already installed at its locked commit, or undefined when it needs work. */
export async function upToDate(run: RunContext, spec: ModuleSpec, lock: Lock): Promise<Outcome | undefined> {
  const locked = lock.get(spec.name);
  if (run.options.reresolve?.has(spec.name)) return undefined;
  if (run.options.force || !lockMatches(locked, spec) || !isInstalled(run.state.get(spec.name), locked, spec)) return undefined;
  if (!(await isFolder(path.join(run.manifest.vendorPath, spec.name)))) return undefined;
  return unchanged(spec, locked);
}

/**
 * Installs one module, as a line of steps: check the folder, resolve, build
 * the tree in staging (open a source, extract), verify, swap, record.
 */
export async function installModule(run: RunContext, spec: ModuleSpec, locked: LockEntry | undefined): Promise<Outcome> {
  run.events.moduleStart?.(spec.name);
  const job: ModuleJob = { run, spec, locked, current: run.state.get(spec.name), onDisk: await hashFolder(run, spec) };
  if (canAdopt(job)) return adopt(job, job.locked);
  refuseLocalChanges(job);
  // Only network requests hold a concurrency slot: extracting, verifying and swapping overlap
  // with the next downloads.
  const target = locked ?? (await run.slot(() => resolveModule(run, spec)));
  if (isAlreadyThere(job, target)) return unchanged(spec, lockEntryFor(spec, target, job.current.integrity));
  const tree = await buildTree(treeJob(run, spec, target.commit, locked?.integrity));
  try {
    verifyTree(job, tree);
    await tree.cacheWriter?.keep();
    await swapTree(job, target.commit, tree);
    await run.state.set(spec.name, stateEntry(spec, target.commit, tree.integrity));
  } catch (error) {
    // On any failure the old folder stays, and nothing of the new tree does.
    await discardTree(tree);
    throw error;
  }
  if (tree.source === 'download' && tree.cacheWriter !== undefined) await shareArchive(run, spec, target.commit);
  const result: ModuleResult =
    tree.source === 'cache'
      ? { ...identity(spec), commit: target.commit, integrity: tree.integrity, action: 'cached' }
      : { ...identity(spec), commit: target.commit, integrity: tree.integrity, action: 'downloaded', source: tree.source === 'download' ? 'bitbucket' : 'remote-cache' };
  return { result, lockEntry: lockEntryFor(spec, target, tree.integrity) };
}

/**
 * With NPKG_REMOTE_CACHE_WRITE, a Bitbucket archive that passed its h1 check
 * goes to the team cache, from the local cache file just kept (hits are not
 * sent back). Never fails the module: the cache warns instead.
 */
async function shareArchive(run: RunContext, spec: ModuleSpec, commit: string): Promise<void> {
  const remote = await run.getRemoteCache();
  if (remote === undefined || !remote.writes) return;
  const file = run.cache.file(spec.workspace, spec.slug, commit);
  await run.slot(() => remote.store({ workspace: run.server.cacheWorkspace(spec.workspace), slug: spec.slug, commit }, file));
}

/** h1 of the module's folder, or undefined when it has none. */
async function hashFolder(run: RunContext, spec: ModuleSpec): Promise<string | undefined> {
  const folder = path.join(run.manifest.vendorPath, spec.name);
  if (!(await isFolder(folder))) return undefined;
  const { hashTree } = await import('../archive/dirhash.js');
  return hashTree(folder);
}

/** The folder already holds the locked tree (a lost state, or a kill after the swap). */
function canAdopt(job: ModuleJob): job is ModuleJob & { locked: LockEntry } {
  return job.onDisk !== undefined && !job.run.options.force && job.locked !== undefined && job.onDisk === job.locked.integrity;
}

async function adopt(job: ModuleJob, locked: LockEntry): Promise<Outcome> {
  await job.run.state.set(job.spec.name, stateEntry(job.spec, locked.commit, locked.integrity));
  return unchanged(job.spec, locked);
}

/** A folder that holds neither the recorded tree nor the one being swapped in was edited: never overwritten without --force. */
function refuseLocalChanges(job: ModuleJob): void {
  const { current, onDisk, run, spec } = job;
  if (onDisk === undefined || run.options.force) return;
  const known = [current?.integrity, current?.next?.integrity].filter((value) => value !== undefined);
  if (known.includes(onDisk)) return;
  throw new NpkgError(
    'LOCAL_CHANGES',
    `${run.manifest.vendorDir}/${spec.name} was changed locally (or not installed by npkg): move your changes away, or run \`npkg install --force\` to replace it`,
  );
}

async function resolveModule(run: RunContext, spec: ModuleSpec): Promise<Target> {
  if (run.options.offline) {
    throw new NpkgError('CACHE_MISS', `--offline: ${spec.name} (${spec.ref}) is not in modules.lock.json, so it cannot be resolved without the network`);
  }
  const http = await run.getHttp();
  const get = (url: string) => http.getJson(url, spec.workspace, spec.repo);
  return run.server.resolveRef(get, spec);
}

/** Re-resolved (update, or an edited ref) to the commit already installed, untouched: nothing to fetch. */
function isAlreadyThere(job: ModuleJob, target: Target): job is ModuleJob & { current: StateEntry } {
  const { current, locked, onDisk, run, spec } = job;
  if (locked !== undefined || run.options.force || current === undefined) return false;
  return isInstalled(current, { ...target, repo: spec.repo, ref: spec.ref, integrity: current.integrity }, spec) && onDisk === current.integrity;
}

/** The staged tree must be the one the lockfile names. */
function verifyTree(job: ModuleJob, tree: StagedTree): void {
  const { locked, spec } = job;
  if (locked === undefined || tree.integrity === locked.integrity) return;
  throw new NpkgError(
    'INTEGRITY_MISMATCH',
    `integrity mismatch for ${spec.name} (${spec.repo}@${locked.commit.slice(0, 12)}): the lockfile says ${locked.integrity}, the archive gives ${tree.integrity}; ` +
      `the previous folder was kept: check the repository, then run \`npkg update ${spec.name}\``,
  );
}

/** Renames the staged tree in, the state entry marked untrusted across it: a kill there leaves either tree in the folder. */
async function swapTree(job: ModuleJob, commit: string, tree: StagedTree): Promise<void> {
  const { current, run, spec } = job;
  await run.state.set(spec.name, { ...(current ?? stateEntry(spec, commit, tree.integrity)), next: { commit, integrity: tree.integrity } });
  await swapIn(run.manifest.vendorPath, spec.name, tree.staging);
}

function unchanged(spec: ModuleSpec, lockEntry: LockEntry): Outcome {
  return { result: { ...identity(spec), commit: lockEntry.commit, integrity: lockEntry.integrity, action: 'unchanged' }, lockEntry };
}

function lockEntryFor(spec: ModuleSpec, target: Target, integrity: string): LockEntry {
  return { repo: spec.repo, ref: spec.ref, resolved: target.resolved, commit: target.commit, integrity, ...(spec.path === undefined ? {} : { path: spec.path }) };
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
