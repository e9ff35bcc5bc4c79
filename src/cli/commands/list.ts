import path from 'node:path';
import { isFolder } from '../../install/vendor.js';
import { lockfilePath, readLockfile } from '../../project/lockfile.js';
import { loadManifest } from '../../project/manifest.js';
import { loadSettings, type Env } from '../../project/config.js';
import { workspaceRule } from '../../bitbucket/server.js';
import { VendorState } from '../../project/state.js';
import { columns } from '../reporter.js';

/** `npkg list`: each manifest module with its locked commit and state: ok, missing, or (with --verify) modified. */
export async function runList(args: { cwd?: string | undefined; json: boolean; verify: boolean }, env: Env): Promise<number> {
  const settings = await loadSettings({}, env);
  const manifest = await loadManifest(args.cwd ?? process.cwd(), workspaceRule(settings.kind));
  const lock = (await readLockfile(lockfilePath(manifest))) ?? new Map();
  const state = await VendorState.load(manifest.vendorPath);
  const rows = [];
  for (const spec of manifest.modules) {
    const locked = lock.get(spec.name);
    const installed = state.get(spec.name);
    const folder = path.join(manifest.vendorPath, spec.name);
    let status: 'ok' | 'missing' | 'modified' = installed !== undefined && installed.next === undefined && (await isFolder(folder)) ? 'ok' : 'missing';
    if (status === 'ok' && args.verify) {
      const { hashTree } = await import('../../archive/dirhash.js');
      if ((await hashTree(folder)) !== (locked?.integrity ?? installed!.integrity)) status = 'modified';
    }
    rows.push({ name: spec.name, repo: spec.repo, ref: spec.ref, commit: installed?.commit ?? locked?.commit ?? null, state: status });
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ modules: rows })}\n`);
  else process.stdout.write(columns(rows.map((row) => [row.name, row.ref, row.commit ? row.commit.slice(0, 12) : '-', row.state])));
  return 0;
}
