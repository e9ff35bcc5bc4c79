import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ExtractResult } from '../archive/extract.js';
import type { CacheWriter } from './archive-cache.js';
import { warn, type TreeJob } from './context.js';

/** Bytes of small bodies waiting for the archive worker beyond which the main thread extracts the next one itself. */
const MAIN_THREAD_HELPS = 1024 * 1024;
/** Archives from this size (or of no known size) have their files written on a thread of their own. */
const FILE_THREAD_FROM = 2 * 1024 * 1024;

/** A module's tree built in a staging folder; the caller swaps it in or discards it. */
export interface StagedTree {
  staging: string;
  integrity: string;
  source: 'cache' | 'download' | 'remote-cache';
  /** Present after a download: keep() makes the archive a cache entry. */
  cacheWriter?: CacheWriter;
}

/** An archive's body: in memory (small archives, extracted on the worker) or still streaming. */
export type ArchiveBody = { bytes: Buffer } | { size: number | undefined; stream: Readable };

/**
 * Extracts a body into `staging`, its raw bytes copied to the cache writer
 * meanwhile. A cache that cannot be written is dropped with a warning (the
 * writer comes back undefined).
 */
export async function extractBody(
  job: TreeJob,
  body: ArchiveBody,
  staging: string,
  writer: CacheWriter | undefined,
): Promise<{ integrity: string; writer: CacheWriter | undefined }> {
  // A small body goes to the worker, unless bodies come faster than it extracts them (a team
  // cache nearby, no latency): then the main thread, idle meanwhile, takes it, and both cores extract.
  if ('bytes' in body && (await job.run.getArchiveWorker()).backlog() < MAIN_THREAD_HELPS) return extractInWorker(job, body.bytes, staging, writer);
  const [stream, size] = 'bytes' in body ? [Readable.from([body.bytes], { objectMode: false }), body.bytes.length] : [body.stream, body.size];
  const result = await extractStreaming(job, stream, size, staging, writer);
  return { integrity: result.integrity, writer };
}

/** Removes what a tree that will not be swapped in left: its staging folder and its cache temp file. */
export async function discardTree(tree: { staging: string; cacheWriter?: CacheWriter | undefined }): Promise<void> {
  await tree.cacheWriter?.discard();
  await rm(tree.staging, { recursive: true, force: true });
}

/** The cache is an optimisation: when it cannot be written, install goes on without it. */
export async function openCacheWriter(job: TreeJob): Promise<CacheWriter | undefined> {
  try {
    return await job.run.cache.writer(job.spec.workspace, job.spec.slug, job.commit);
  } catch (error) {
    warnNoCache(job, error);
    return undefined;
  }
}

/** extractArchive on the worker thread, the bytes written to the cache file meanwhile. */
async function extractInWorker(
  job: TreeJob,
  bytes: Buffer,
  staging: string,
  writer: CacheWriter | undefined,
): Promise<{ integrity: string; writer: CacheWriter | undefined }> {
  job.run.events.bytes?.(job.spec.name, bytes.length, bytes.length);
  const worker = await job.run.getArchiveWorker();
  // Both settle before anything is thrown: the caller removes the staging folder and the cache
  // file on failure, and neither may still be written then.
  const [extracted, copied] = await Promise.allSettled([
    worker.extract(bytes, { dest: staging, ...extractTarget(job), onWarning: (message) => warn(job, message) }),
    writer === undefined ? undefined : finished(writer.stream.end(bytes)),
  ]);
  if (extracted.status === 'rejected') throw extracted.reason;
  if (copied.status === 'rejected') {
    warnNoCache(job, copied.reason);
    await writer!.discard();
    return { integrity: extracted.value.integrity, writer: undefined };
  }
  return { integrity: extracted.value.integrity, writer };
}

/** extractArchive on the main thread, as the body streams in (big archives, and the local cache). */
async function extractStreaming(
  job: TreeJob,
  stream: Readable,
  total: number | undefined,
  staging: string,
  writer: CacheWriter | undefined,
): Promise<ExtractResult> {
  const { extractArchive } = await import('../archive/extract.js');
  return extractArchive(stream, {
    dest: staging,
    ...extractTarget(job),
    ...(writer === undefined ? {} : { copyTo: writer.stream }),
    onWarning: (message) => warn(job, message),
    onBytes: (bytes) => job.run.events.bytes?.(job.spec.name, bytes, total),
    // Starting a thread costs more than a small archive's writes take.
    fileThread: total === undefined || total >= FILE_THREAD_FROM,
  });
}

function extractTarget(job: TreeJob): { label: string; subpath?: string } {
  return { label: job.label, ...(job.spec.path === undefined ? {} : { subpath: job.spec.path }) };
}

function warnNoCache(job: TreeJob, error: unknown): void {
  const reason = error instanceof Error ? error.message : String(error);
  warn(job, `cannot write the cache in ${path.resolve(job.run.cache.dir)} (${reason}); going on without it`);
}
