import { mkdir, readFile } from 'node:fs/promises';
import { NpkgError, hasErrnoCode } from '../../util/errors.js';
import { lockfilePath, parseLockfile, writeLockfile } from '../../project/lockfile.js';
import { editManifestFile } from '../../project/manifest-edit.js';
import { loadManifest } from '../../project/manifest.js';
import { loadSettings, type Env } from '../../project/config.js';
import { workspaceRule } from '../../bitbucket/server.js';
import { acquireProjectLock } from '../../project/project-lock.js';
import { VendorState } from '../../project/state.js';
import { removeFolder } from '../../install/vendor.js';

/** `npkg remove <name>...`: from the manifest, the lockfile, the state and vendor. Unknown names change nothing. */
export async function runRemove(args: { cwd?: string | undefined; names: string[]; quiet: boolean; json: boolean }, env: Env): Promise<number> {
  const settings = await loadSettings({}, env);
  const manifest = await loadManifest(args.cwd ?? process.cwd(), workspaceRule(settings.kind));
  const known = new Set(manifest.modules.map((spec) => spec.name));
  const unknown = args.names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new NpkgError('USAGE', `not in ${manifest.file}: ${unknown.join(', ')} (modules: ${[...known].join(', ') || 'none'}); nothing was changed`);
  }
  await mkdir(manifest.vendorPath, { recursive: true });
  const release = await acquireProjectLock(manifest.vendorPath, { waitMs: 60_000 });
  try {
    const lockFile = lockfilePath(manifest);
    const lockText = await readFile(lockFile, 'utf8').catch((error: unknown) => {
      if (hasErrnoCode(error, 'ENOENT')) return undefined;
      throw error;
    });
    await editManifestFile(manifest.file, () => args.names.map((name) => ({ path: ['modules', name], value: undefined })));
    if (lockText !== undefined) {
      const lock = parseLockfile(lockText, lockFile);
      for (const name of args.names) lock.delete(name);
      await writeLockfile(lockFile, lock, lockText);
    }
    const state = await VendorState.load(manifest.vendorPath);
    for (const name of args.names) {
      // Only folders npkg installed are deleted, as install does.
      if (state.get(name) !== undefined) await removeFolder(manifest.vendorPath, name);
      await state.set(name, undefined);
    }
  } finally {
    await release();
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ removed: args.names })}\n`);
  else if (!args.quiet) process.stdout.write(`removed ${args.names.join(', ')}\n`);
  return 0;
}
