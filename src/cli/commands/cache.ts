import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../reporter.js';
import { loadSettings, type Env } from '../../project/config.js';
import { NpkgError, hasErrnoCode } from '../../util/errors.js';
import { dataCenterCacheFolder, workspaceRule } from '../../bitbucket/server.js';

interface CacheEntry {
  repo: string;
  commit: string;
  bytes: number;
}

/** `npkg cache dir|ls|clean [ws/slug]`. */
export async function runCache(args: { action: string; repo?: string | undefined; json: boolean; quiet: boolean }, env: Env): Promise<number> {
  const settings = await loadSettings({}, env);
  // A Data Center's archives are kept under its host: ls and clean see this server's only.
  const archives = path.join(settings.cacheDir, 'archives', ...(settings.kind === 'datacenter' ? [dataCenterCacheFolder(settings.bitbucketUrl)] : []));
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
  const repo = args.repo === undefined ? undefined : cacheRepo(args.repo, settings.kind);
  const doomed = entries.filter((entry) => repo === undefined || entry.repo === repo);
  // Removing by repository folder keeps half-written temp files of that repository from lingering too.
  const folders = repo === undefined ? [archives] : [path.join(archives, ...repo.split('/'))];
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  const bytes = doomed.reduce((sum, entry) => sum + entry.bytes, 0);
  if (args.json) process.stdout.write(`${JSON.stringify({ dir: settings.cacheDir, removed: doomed, bytes })}\n`);
  else if (!args.quiet) process.stdout.write(`removed ${doomed.length} archive(s), ${formatBytes(bytes)}${args.repo ? ` of ${args.repo}` : ''}\n`);
  return 0;
}

/** `ws/slug` as the cache keeps it (Data Center: the project key upper-cased); anything else is a usage error. */
function cacheRepo(text: string, kind: 'cloud' | 'datacenter'): string {
  const [workspace = '', slug = '', ...rest] = text.split('/');
  const valid = rest.length === 0 && /^[a-z0-9][a-z0-9._-]*$/.test(slug) && (kind === 'datacenter' ? workspaceRule(kind)!(workspace) === undefined : /^[a-z0-9][a-z0-9._-]*$/.test(workspace));
  if (!valid) throw new NpkgError('USAGE', `npkg cache clean takes a repository as ${kind === 'datacenter' ? 'KEY/slug' : 'workspace/slug'}, not "${text}"`);
  return kind === 'datacenter' && !workspace.startsWith('~') ? `${workspace.toUpperCase()}/${slug}` : text;
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
