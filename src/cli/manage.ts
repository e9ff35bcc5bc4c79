import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadSettings, type Env } from '../project/config.js';
import { NpkgError, hasErrnoCode } from '../util/errors.js';
import { lockfilePath, readLockfile } from '../project/lockfile.js';
import { loadManifest } from '../project/manifest.js';
import { columns, formatBytes } from './reporter.js';
import { VendorState } from '../project/state.js';
import { isFolder } from '../install/vendor.js';

interface CacheEntry {
  repo: string;
  commit: string;
  bytes: number;
}

/** `npkg cache dir|ls|clean [ws/slug]`. */
export async function runCache(args: { action: string; repo?: string | undefined; json: boolean; quiet: boolean }, env: Env): Promise<number> {
  const settings = await loadSettings({}, env);
  const archives = path.join(settings.cacheDir, 'archives');
  if (args.action === 'dir') {
    process.stdout.write(args.json ? `${JSON.stringify({ dir: settings.cacheDir })}\n` : `${settings.cacheDir}\n`);
    return 0;
  }
  const entries = await listCache(archives);
  if (args.action === 'ls') {
    if (args.json) process.stdout.write(`${JSON.stringify({ dir: settings.cacheDir, entries })}\n`);
    else {
      for (const entry of entries) process.stdout.write(`${entry.repo}  ${entry.commit.slice(0, 12)}  ${formatBytes(entry.bytes)}\n`);
      if (!args.quiet) process.stdout.write(`${entries.length} archive(s), ${formatBytes(entries.reduce((sum, entry) => sum + entry.bytes, 0))} in ${settings.cacheDir}\n`);
    }
    return 0;
  }
  if (args.repo !== undefined && !/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/.test(args.repo)) {
    throw new NpkgError('USAGE', `npkg cache clean takes a repository as workspace/slug, not "${args.repo}"`);
  }
  const doomed = entries.filter((entry) => args.repo === undefined || entry.repo === args.repo);
  // Removing by repository folder keeps half-written temp files of that repository from lingering too.
  const folders = args.repo === undefined ? [archives] : [path.join(archives, ...args.repo.split('/'))];
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  const bytes = doomed.reduce((sum, entry) => sum + entry.bytes, 0);
  if (args.json) process.stdout.write(`${JSON.stringify({ dir: settings.cacheDir, removed: doomed, bytes })}\n`);
  else if (!args.quiet) process.stdout.write(`removed ${doomed.length} archive(s), ${formatBytes(bytes)}${args.repo ? ` of ${args.repo}` : ''}\n`);
  return 0;
}

async function listCache(archives: string): Promise<CacheEntry[]> {
  const entries: CacheEntry[] = [];
  for (const workspace of await readNames(archives)) {
    for (const slug of await readNames(path.join(archives, workspace))) {
      for (const file of await readNames(path.join(archives, workspace, slug))) {
        const match = /^([0-9a-f]{40})\.tar\.gz$/.exec(file);
        if (match === null) continue;
        const info = await stat(path.join(archives, workspace, slug, file));
        entries.push({ repo: `${workspace}/${slug}`, commit: match[1]!, bytes: info.size });
      }
    }
  }
  return entries.sort((a, b) => (a.repo === b.repo ? (a.commit < b.commit ? -1 : 1) : a.repo < b.repo ? -1 : 1));
}

async function readNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT') || hasErrnoCode(error, 'ENOTDIR')) return [];
    throw error;
  }
}

/** `npkg list`: each manifest module with its locked commit and state: ok, missing, or (with --verify) modified. */
export async function runList(args: { cwd?: string | undefined; json: boolean; verify: boolean }): Promise<number> {
  const manifest = await loadManifest(args.cwd ?? process.cwd());
  const lock = (await readLockfile(lockfilePath(manifest))) ?? new Map();
  const state = await VendorState.load(manifest.vendorPath);
  const rows = [];
  for (const spec of manifest.modules) {
    const locked = lock.get(spec.name);
    const installed = state.get(spec.name);
    const folder = path.join(manifest.vendorPath, spec.name);
    let status: 'ok' | 'missing' | 'modified' = installed !== undefined && installed.next === undefined && (await isFolder(folder)) ? 'ok' : 'missing';
    if (status === 'ok' && args.verify) {
      const { hashTree } = await import('../archive/dirhash.js');
      if ((await hashTree(folder)) !== (locked?.integrity ?? installed!.integrity)) status = 'modified';
    }
    rows.push({ name: spec.name, repo: spec.repo, ref: spec.ref, commit: installed?.commit ?? locked?.commit ?? null, state: status });
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ modules: rows })}\n`);
  else process.stdout.write(columns(rows.map((row) => [row.name, row.ref, row.commit ? row.commit.slice(0, 12) : '-', row.state])));
  return 0;
}
