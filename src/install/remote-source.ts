import { NpkgError } from '../util/errors.js';
import type { TreeJob } from './context.js';
import { downloadTree } from './download.js';
import { discardTree, type StagedTree } from './staging.js';

/*
 * The team cache as a source (SPEC §10): after a local-cache miss, before
 * Bitbucket. Its key names a commit, not a content hash, so whoever can
 * write the cache could serve any bytes under it: a hit is used only when
 * its tree hashes to the lockfile's h1, and a module without a locked
 * integrity never reads it (a cache writer must not decide what an
 * unlocked install gets).
 */

/** Thrown inside the download on a miss, so that it cleans up and ends; never leaves this file. */
class Miss extends Error {}

/** The module's tree from the team cache, or undefined (a miss, an unusable hit, no cache): then Bitbucket. */
export async function fromRemoteCache(job: TreeJob): Promise<StagedTree | undefined> {
  if (job.integrity === undefined || job.run.options.offline) return undefined;
  const remote = await job.run.getRemoteCache();
  if (remote === undefined) return undefined;
  const { spec, commit } = job;
  let tree: StagedTree;
  try {
    // The same slot, extraction, local-cache copy and h1 pass as a Bitbucket download.
    tree = await downloadTree(job, async () => {
      const hit = await remote.open({ workspace: job.run.server.cacheWorkspace(spec.workspace), slug: spec.slug, commit });
      if (hit === undefined) throw new Miss();
      return hit;
    });
  } catch (error) {
    if (error instanceof Miss) return undefined;
    // The local disk is ours, not the cache's: Bitbucket's bytes would fail the same way.
    if (error instanceof NpkgError && error.code === 'FILE_SYSTEM') throw error;
    remote.unusableHit(job.label, error);
    return undefined;
  }
  if (tree.integrity !== job.integrity) {
    await discardTree(tree);
    remote.unusableHit(job.label);
    return undefined;
  }
  return { ...tree, source: 'remote-cache' };
}
