import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import type { ArchiveResponse } from '../bitbucket/client.js';
import { asNpkgError } from '../util/errors.js';
import type { RunContext, TreeJob } from './context.js';
import { discardTree, extractBody, openCacheWriter, type ArchiveBody, type StagedTree } from './staging.js';
import { makeStaging } from './vendor.js';
import type { CacheWriter } from './archive-cache.js';

/** Bytes read off the network ahead of the extraction, per download. */
const READ_AHEAD = 1024 * 1024;
/** Archives up to this size are read whole and extracted on the archive worker; bigger ones stream. */
const IN_MEMORY = READ_AHEAD;

/** Sends the request; calls `onSent` once it is on the wire. */
export type OpenArchive = (onSent: () => void) => Promise<ArchiveResponse>;

/**
 * One attempt at a download: the request in a concurrency slot, the tree
 * extracted into a fresh staging folder, the archive copied to a cache temp
 * file. Nothing of a failed attempt survives, so a retry starts clean.
 */
export async function downloadTree(job: TreeJob, open: OpenArchive): Promise<StagedTree> {
  // The request goes out first; the folders are made while the server thinks, not before
  // the request has left: the other modules' requests leave first too.
  let sent!: () => void;
  const onTheWire = new Promise<void>((resolve) => (sent = resolve));
  const opening = openInSlot(job.run, () => open(sent));
  // Awaited below; this branch only keeps a rejection meanwhile from counting as unhandled.
  opening.catch(() => undefined);
  let staging: string | undefined;
  let writer: CacheWriter | undefined;
  try {
    await Promise.race([onTheWire, opening]);
    staging = await makeStaging(job.run.manifest.vendorPath, job.spec.name);
    writer = await openCacheWriter(job);
    // The worker starts (and loads the extractor) while the request waits for its answer.
    (await job.run.getArchiveWorker()).start();
    const extracted = await extractBody(job, await opening, staging, writer);
    writer = extracted.writer;
    return { staging, integrity: extracted.integrity, source: 'download', ...(writer === undefined ? {} : { cacheWriter: writer }) };
  } catch (error) {
    const body = await opening.catch(() => undefined);
    if (body !== undefined && 'stream' in body) body.stream.destroy();
    // (The cache writer is opened only once the staging folder is made.)
    if (staging !== undefined) await discardTree({ staging, cacheWriter: writer });
    throw error;
  }
}

/**
 * Opens a download in a concurrency slot that stays taken until the body has
 * been read off the network, not until it is extracted: the next download
 * starts while this one's files are still being written. A small body (its
 * Content-Length at most IN_MEMORY, or no Content-Length and a body that
 * ends within IN_MEMORY) is read whole, for the archive worker.
 */
function openInSlot(run: RunContext, open: () => Promise<ArchiveResponse>): Promise<ArchiveBody> {
  return new Promise((resolve, reject) => {
    run
      .slot(async () => {
        const response = await open();
        const small = response.size === undefined || response.size <= IN_MEMORY ? await readSmall(response.stream) : undefined;
        if (small?.ended) {
          // The slot stays taken while the worker is far behind: bodies never pile up in memory.
          await (await run.getArchiveWorker()).hasRoom();
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
 * while streaming (see isTransferError in sources.ts).
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
