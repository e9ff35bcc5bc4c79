import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import type { ExtractResult } from '../archive/extract.js';
import type { ArchiveWorker } from '../archive/worker.js';
import { archiveUrl } from '../bitbucket/api.js';
import type { ArchiveCache, CacheWriter } from './archive-cache.js';
import { NpkgError, asNpkgError } from '../util/errors.js';
import { networkError, type ArchiveResponse, type BitbucketHttp } from '../bitbucket/client.js';
import { ConnectionError } from '../net/request.js';
import type { ModuleSpec } from '../project/manifest.js';
import { makeStaging } from './vendor.js';

export interface FetchContext {
  vendorPath: string;
  bitbucketUrl: string;
  cache: ArchiveCache;
  offline: boolean;
  http: () => Promise<BitbucketHttp>;
  archiveWorker: () => Promise<ArchiveWorker>;
  onWarning: (message: string) => void;
  onBytes: (name: string, bytes: number, total: number | undefined) => void;
  /** Bounds downloads to --concurrency at once. */
  slot: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Bytes read off the network ahead of the extraction, per download. */
const READ_AHEAD = 1024 * 1024;
/** Archives up to this size are read whole and extracted on the archive worker; bigger ones stream. */
const IN_MEMORY = READ_AHEAD;

/** A download whose body is either in memory (small archives) or still streaming. */
type Download = { bytes: Buffer } | { size: number | undefined; stream: Readable };

export interface FetchedTree {
  /** Staging folder holding the tree; the caller swaps it in or removes it. */
  staging: string;
  integrity: string;
  source: 'cache' | 'download';
  /** Present after a download: keep() makes the archive a cache entry. */
  cacheWriter?: CacheWriter;
}

/**
 * Builds a module's tree for `commit` in a staging folder, from the cache
 * when it holds the archive, else by download (retried from scratch).
 */
export async function fetchTree(context: FetchContext, spec: ModuleSpec, commit: string): Promise<FetchedTree> {
  const label = `${spec.repo}@${commit.slice(0, 12)}`;
  const cached = await context.cache.open(spec.workspace, spec.slug, commit);
  if (cached !== undefined) {
    const staging = await makeStaging(context.vendorPath, spec.name);
    try {
      const result = await extract(context, spec, label, cached, staging, undefined, undefined);
      return { staging, integrity: result.integrity, source: 'cache' };
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (!(error instanceof NpkgError) || error.code !== 'NOT_AN_ARCHIVE' || context.offline) throw error;
      // A damaged cache entry is dropped and fetched again.
      context.onWarning(`cached archive of ${label} is damaged; downloading it again`);
      await rm(context.cache.file(spec.workspace, spec.slug, commit), { force: true });
    }
  }
  if (context.offline) {
    throw new NpkgError('CACHE_MISS', `${label} is not in the cache (${context.cache.dir}): run without --offline once`);
  }
  const http = await context.http();
  const url = archiveUrl(context.bitbucketUrl, spec.workspace, spec.slug, commit);
  return http.withRetries(`download ${label}`, async () => {
    // The request goes out first; the folders are made while the server thinks, not before
    // the request has left: the other modules' requests leave first too.
    let sent!: () => void;
    const onTheWire = new Promise<void>((resolve) => (sent = resolve));
    const opening = openInSlot(context, () => http.openArchive(url, spec.workspace, spec.repo, sent));
    // Awaited below; this branch only keeps a rejection meanwhile from counting as unhandled.
    opening.catch(() => undefined);
    let staging: string | undefined;
    let writer: CacheWriter | undefined;
    try {
      await Promise.race([onTheWire, opening]);
      staging = await makeStaging(context.vendorPath, spec.name);
      writer = await openCacheWriter(context, spec, commit);
      // The worker starts (and loads the extractor) while the request waits for its answer.
      const worker = await context.archiveWorker();
      worker.start();
      const download = await opening;
      let result: ExtractResult;
      if ('bytes' in download) ({ result, writer } = await extractInWorker(context, spec, label, download.bytes, staging, writer, worker));
      else result = await extract(context, spec, label, download.stream, staging, writer, download.size);
      return { staging, integrity: result.integrity, source: 'download', ...(writer === undefined ? {} : { cacheWriter: writer }) };
    } catch (error) {
      // Nothing of a failed attempt survives: the next one starts clean.
      const download = await opening.catch(() => undefined);
      if (download !== undefined && 'stream' in download) download.stream.destroy();
      await writer?.discard();
      if (staging !== undefined) await rm(staging, { recursive: true, force: true });
      throw isTransferError(error) ? networkError(error.cause, url) : error;
    }
  });
}

/**
 * Opens a download in a concurrency slot that stays taken until the body has
 * been read off the network, not until it is extracted: the next download
 * starts while this one's files are still being written. A small body (its
 * Content-Length at most IN_MEMORY, or no Content-Length and a body that
 * ends within IN_MEMORY) is read whole, for the archive worker.
 */
function openInSlot(context: FetchContext, open: () => Promise<ArchiveResponse>): Promise<Download> {
  return new Promise((resolve, reject) => {
    context
      .slot(async () => {
        const response = await open();
        const small = response.size === undefined || response.size <= IN_MEMORY ? await readSmall(response.stream) : undefined;
        if (small?.ended) {
          // The slot stays taken while the worker is far behind: bodies never pile up in memory.
          await (await context.archiveWorker()).hasRoom();
          resolve({ bytes: Buffer.concat(small.chunks) });
          return;
        }
        const readAhead = new PassThrough({ highWaterMark: READ_AHEAD });
        // A failure of the body reaches the extraction through readAhead (destroyed with it);
        // this listener only keeps that from crashing the process before the reader attaches.
        readAhead.on('error', () => undefined);
        // A body without Content-Length that outgrew IN_MEMORY streams on, from what was read.
        for (const chunk of small?.chunks ?? []) readAhead.write(chunk);
        const received = pipeline(response.stream, readAhead);
        // Extraction starts once the body is in (small archives) or the read-ahead is full (big
        // ones): reading the other downloads' bodies, and so freeing their slots, comes first.
        // (A failed body settles both; its error reaches the reader through readAhead.)
        await Promise.race([received, once(response.stream, 'pause')]).catch(() => undefined);
        resolve({ ...response, stream: readAhead });
        await received.catch(() => undefined);
      })
      .catch(reject);
  });
}

/**
 * Reads a body until it ends or passes IN_MEMORY bytes (then `ended` is false
 * and the stream, paused, holds the rest). A cut connection fails as it does
 * while streaming (see isTransferError).
 */
async function readSmall(stream: Readable): Promise<{ chunks: Buffer[]; ended: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > IN_MEMORY) return { chunks, ended: false };
    }
  } catch (error) {
    throw asNpkgError(error, 'NETWORK');
  }
  return { chunks, ended: true };
}

/**
 * extractArchive on the worker, the raw bytes written to the cache meanwhile.
 * A cache that cannot be written is dropped with a warning (the writer comes back undefined).
 */
async function extractInWorker(
  context: FetchContext,
  spec: ModuleSpec,
  label: string,
  bytes: Buffer,
  staging: string,
  writer: CacheWriter | undefined,
  worker: ArchiveWorker,
): Promise<{ result: ExtractResult; writer: CacheWriter | undefined }> {
  context.onBytes(spec.name, bytes.length, bytes.length);
  // Both settle before anything is thrown: the caller removes the staging folder and the cache
  // file on failure, and neither may still be written then.
  const [extracted, copied] = await Promise.allSettled([
    worker.extract(bytes, { dest: staging, label, ...(spec.path === undefined ? {} : { subpath: spec.path }), onWarning: context.onWarning }),
    writer === undefined ? undefined : finished(writer.stream.end(bytes)),
  ]);
  if (extracted.status === 'rejected') throw extracted.reason;
  if (copied.status === 'rejected') {
    warnNoCache(context, copied.reason);
    await writer!.discard();
    return { result: extracted.value, writer: undefined };
  }
  return { result: extracted.value, writer };
}

async function extract(
  context: FetchContext,
  spec: ModuleSpec,
  label: string,
  stream: Readable,
  staging: string,
  writer: CacheWriter | undefined,
  total: number | undefined,
): Promise<ExtractResult> {
  const { extractArchive } = await import('../archive/extract.js');
  return extractArchive(stream, {
    dest: staging,
    label,
    ...(spec.path === undefined ? {} : { subpath: spec.path }),
    ...(writer === undefined ? {} : { copyTo: writer.stream }),
    onWarning: context.onWarning,
    onBytes: (bytes) => context.onBytes(spec.name, bytes, total),
  });
}

/** The cache is an optimisation: when it cannot be written, install goes on without it. */
async function openCacheWriter(context: FetchContext, spec: ModuleSpec, commit: string): Promise<CacheWriter | undefined> {
  try {
    return await context.cache.writer(spec.workspace, spec.slug, commit);
  } catch (error) {
    warnNoCache(context, error);
    return undefined;
  }
}

function warnNoCache(context: FetchContext, error: unknown): void {
  const reason = error instanceof Error ? error.message : String(error);
  context.onWarning(`cannot write the cache in ${path.resolve(context.cache.dir)} (${reason}); going on without it`);
}

const TRANSFER_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A failure of the connection while the body streamed (reset, timeout), as opposed to a local one. */
function isTransferError(error: unknown): error is NpkgError {
  if (!(error instanceof NpkgError) || error.code !== 'NETWORK') return false;
  if (error.cause instanceof ConnectionError) return true;
  return TRANSFER_CODES.has(String((error.cause as { code?: unknown } | undefined)?.code));
}
