import { rm } from 'node:fs/promises';
import { networkError } from '../bitbucket/client.js';
import { ConnectionError } from '../net/request.js';
import { NpkgError } from '../util/errors.js';
import { warn, type TreeJob } from './context.js';
import { downloadTree } from './download.js';
import { fromRemoteCache } from './remote-source.js';
import { extractBody, type StagedTree } from './staging.js';
import { makeStaging } from './vendor.js';

/*
 * Where a module's archive comes from. Each source either builds the tree in
 * a staging folder or answers undefined (a miss), and the next one is tried.
 */

/** The module's tree for its commit in a staging folder: from the local cache, else the team cache, else Bitbucket. */
export async function buildTree(job: TreeJob): Promise<StagedTree> {
  return (await fromLocalCache(job)) ?? (await fromRemoteCache(job)) ?? (await fromBitbucket(job));
}

/** The cached archive, streamed; a damaged entry is dropped (a miss), unless --offline leaves no other source. */
async function fromLocalCache(job: TreeJob): Promise<StagedTree | undefined> {
  const { cache, manifest, options } = job.run;
  const { spec, commit } = job;
  const cached = await cache.open(spec.workspace, spec.slug, commit);
  if (cached === undefined) return undefined;
  const staging = await makeStaging(manifest.vendorPath, spec.name);
  try {
    const { integrity } = await extractBody(job, { stream: cached, size: undefined }, staging, undefined);
    return { staging, integrity, source: 'cache' };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (!(error instanceof NpkgError) || error.code !== 'NOT_AN_ARCHIVE' || options.offline) throw error;
    warn(job, `cached archive of ${job.label} is damaged; downloading it again`);
    await rm(cache.file(spec.workspace, spec.slug, commit), { force: true });
    return undefined;
  }
}

/** Bitbucket's archive of the commit, downloaded and retried from scratch on what may succeed later. */
async function fromBitbucket(job: TreeJob): Promise<StagedTree> {
  const { cache, options } = job.run;
  const { spec, commit } = job;
  if (options.offline) {
    throw new NpkgError('CACHE_MISS', `${job.label} is not in the cache (${cache.dir}): run without --offline once`);
  }
  const http = await job.run.getHttp();
  const url = job.run.server.archiveUrl(spec.workspace, spec.slug, commit);
  return http.withRetries(`download ${job.label}`, () =>
    downloadTree(job, (sent) => http.openArchive(url, spec.workspace, spec.repo, sent)).catch((error: unknown) => {
      throw isTransferError(error) ? networkError(error.cause, url) : error;
    }),
  );
}

const TRANSFER_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A failure of the connection while the body streamed (reset, timeout), as opposed to a local one. */
function isTransferError(error: unknown): error is NpkgError {
  if (!(error instanceof NpkgError) || error.code !== 'NETWORK') return false;
  if (error.cause instanceof ConnectionError) return true;
  return TRANSFER_CODES.has(String((error.cause as { code?: unknown } | undefined)?.code));
}
