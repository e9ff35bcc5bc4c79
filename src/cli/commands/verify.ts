import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ArchiveCache } from '../../install/archive-cache.js';
import { loadSettings, type Env } from '../../project/config.js';
import { hashTree, treeDigests } from '../../archive/dirhash.js';
import { NpkgError } from '../../util/errors.js';
import { lockfilePath, readLockfile, type LockEntry } from '../../project/lockfile.js';
import { loadManifest } from '../../project/manifest.js';
import { bitbucketServer, workspaceRule } from '../../bitbucket/server.js';
import { isFolder } from '../../install/vendor.js';

interface Finding {
  name: string;
  problem: string;
}

/** `npkg verify`: re-hash every vendor tree against the lockfile, with no network. */
export async function runVerify(args: { cwd?: string | undefined; json: boolean; quiet: boolean }, env: Env): Promise<number> {
  const settings = await loadSettings({}, env);
  const manifest = await loadManifest(args.cwd ?? process.cwd(), workspaceRule(settings.kind));
  const lock = await readLockfile(lockfilePath(manifest));
  if (lock === undefined) throw new NpkgError('LOCKFILE_INVALID', `no modules.lock.json next to ${manifest.file}: run \`npkg install\` first`);
  const cache = new ArchiveCache(settings.cacheDir, bitbucketServer(settings).cacheFolders);
  const findings: Finding[] = [];
  for (const [name, entry] of lock) {
    const folder = path.join(manifest.vendorPath, name);
    if (!(await isFolder(folder))) {
      findings.push({ name, problem: `${manifest.vendorDir}/${name} is missing` });
      continue;
    }
    if ((await hashTree(folder)) === entry.integrity) continue;
    const detail = await describeDifference(cache, entry, folder);
    findings.push({ name, problem: `${manifest.vendorDir}/${name} differs from the lockfile${detail ? `: ${detail}` : ' (its archive is not in the cache to say which files)'}` });
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ verified: lock.size - findings.length, failed: findings })}\n`);
  for (const finding of findings) process.stderr.write(`npkg: ${finding.name}: ${finding.problem}\n`);
  if (findings.length > 0) return 1;
  if (!args.json && !args.quiet) process.stdout.write(`${lock.size} module(s) match modules.lock.json\n`);
  return 0;
}

/** Which files were added, removed or changed, against the cached archive of the locked commit. */
async function describeDifference(cache: ArchiveCache, entry: LockEntry, folder: string): Promise<string | undefined> {
  const [workspace, slug] = entry.repo.split('/') as [string, string];
  const archive = await cache.open(workspace, slug, entry.commit);
  if (archive === undefined) return undefined;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'npkg-verify-'));
  try {
    const { extractArchive } = await import('../../archive/extract.js');
    await extractArchive(archive, { dest: scratch, label: `${entry.repo}@${entry.commit.slice(0, 12)}`, ...(entry.path ? { subpath: entry.path } : {}) });
    const expected = await treeDigests(scratch);
    const actual = await treeDigests(folder);
    const added = [...actual.keys()].filter((file) => !expected.has(file));
    const removed = [...expected.keys()].filter((file) => !actual.has(file));
    const changed = [...actual.keys()].filter((file) => expected.has(file) && expected.get(file) !== actual.get(file));
    const parts = [
      changed.length > 0 ? `changed ${changed.join(', ')}` : '',
      added.length > 0 ? `added ${added.join(', ')}` : '',
      removed.length > 0 ? `removed ${removed.join(', ')}` : '',
    ];
    return parts.filter(Boolean).join('; ');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
