import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { compareBytes } from '../util/bytes.js';
import { NpkgError, hasErrnoCode } from '../util/errors.js';
import { formatJson, parseJsonWithPosition, writeFileAtomic } from '../util/json-file.js';
import { LOCKFILE_FILE, type Manifest, type ModuleSpec } from './manifest.js';

export interface LockEntry {
  repo: string;
  ref: string;
  /** `tag:NAME`, `branch:NAME` or `commit` */
  resolved: string;
  commit: string;
  integrity: string;
  path?: string;
}

export type Lock = Map<string, LockEntry>;

const COMMIT = /^[0-9a-f]{40}$/;
const INTEGRITY = /^h1:[A-Za-z0-9+/]{43}=$/;

export function lockfilePath(manifest: Manifest): string {
  return path.join(manifest.root, LOCKFILE_FILE);
}

/** Reads modules.lock.json; undefined when there is none. */
export async function readLockfile(file: string): Promise<Lock | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  return parseLockfile(text, file);
}

export function parseLockfile(text: string, file: string): Lock {
  const advice = '; a merge conflict? keep one side, or restore it with git, then run `npkg install`';
  const data = parseJsonWithPosition(text, file, 'LOCKFILE_INVALID', advice) as Record<string, unknown> | null;
  const fail = (key: string, message: string): never => {
    throw new NpkgError('LOCKFILE_INVALID', `${file}: ${key}: ${message}; fix it or delete it and run \`npkg install\``);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail('(root)', 'must be an object');
  if (data!.lockfileVersion !== 1) fail('lockfileVersion', 'must be 1');
  const modules = data!.modules;
  if (typeof modules !== 'object' || modules === null || Array.isArray(modules)) fail('modules', 'must be an object');
  const lock: Lock = new Map();
  for (const [name, raw] of Object.entries(modules as Record<string, unknown>)) {
    const entry = raw as Record<string, unknown>;
    const key = `modules.${name}`;
    if (typeof entry !== 'object' || entry === null) fail(key, 'must be an object');
    for (const field of ['repo', 'ref', 'resolved', 'commit', 'integrity'] as const) {
      if (typeof entry[field] !== 'string') fail(`${key}.${field}`, 'must be a string');
    }
    if (!COMMIT.test(entry.commit as string)) fail(`${key}.commit`, 'must be 40 lowercase hex characters');
    if (!INTEGRITY.test(entry.integrity as string)) fail(`${key}.integrity`, 'must be "h1:" and a base64 sha256');
    if (entry.path !== undefined && typeof entry.path !== 'string') fail(`${key}.path`, 'must be a string');
    const lockEntry: LockEntry = {
      repo: entry.repo as string,
      ref: entry.ref as string,
      resolved: entry.resolved as string,
      commit: entry.commit as string,
      integrity: entry.integrity as string,
    };
    if (typeof entry.path === 'string') lockEntry.path = entry.path;
    lock.set(name, lockEntry);
  }
  return lock;
}

/** The lockfile text: entries sorted by name (byte order), fields in a fixed order. */
export function formatLockfile(lock: Lock): string {
  const modules: Record<string, LockEntry> = {};
  for (const name of [...lock.keys()].sort(compareBytes)) {
    const entry = lock.get(name)!;
    modules[name] = {
      repo: entry.repo,
      ref: entry.ref,
      resolved: entry.resolved,
      commit: entry.commit,
      integrity: entry.integrity,
      ...(entry.path === undefined ? {} : { path: entry.path }),
    };
  }
  return formatJson({ lockfileVersion: 1, modules });
}

/** Writes the lockfile only when its text changes, so a no-op install rewrites nothing. */
export async function writeLockfile(file: string, lock: Lock, previousText: string | undefined): Promise<boolean> {
  const text = formatLockfile(lock);
  if (text === previousText) return false;
  await writeFileAtomic(file, text);
  return true;
}

/** A lock entry still stands for a manifest spec when repo, ref and path are the same. */
export function lockMatches(entry: LockEntry | undefined, spec: ModuleSpec): entry is LockEntry {
  return entry !== undefined && entry.repo === spec.repo && entry.ref === spec.ref && entry.path === spec.path;
}

/** Why the lockfile does not match the manifest, or undefined when it does (for --frozen-lockfile). */
export function lockfileDrift(lock: Lock | undefined, manifest: Manifest): string | undefined {
  if (lock === undefined) return 'there is no lockfile';
  for (const spec of manifest.modules) {
    const entry = lock.get(spec.name);
    if (entry === undefined) return `${spec.name} is not locked`;
    if (!lockMatches(entry, spec)) return `${spec.name} changed in the manifest`;
  }
  const names = new Set(manifest.modules.map((spec) => spec.name));
  for (const name of lock.keys()) {
    if (!names.has(name)) return `${name} is locked but no longer in the manifest`;
  }
  return undefined;
}
