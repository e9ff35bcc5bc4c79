import { Writable, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { readEntry } from './entries.js';
import { Extraction, type PassControl } from './extraction.js';
import { SyncFileSink, type FileSink } from './file-sink.js';
import { ArchivePathMapper, TreeIndex } from './paths.js';
import { TreeWriter } from './tree-writer.js';
import { NpkgError } from '../util/errors.js';

export interface ExtractOptions {
  /** Empty folder that receives the module's tree. */
  dest: string;
  /** `workspace/slug@commit`, for messages. */
  label: string;
  subpath?: string;
  /** Also write the raw (gzip) bytes here, e.g. a cache file. */
  copyTo?: Writable;
  /** Called with the size of each compressed chunk read, for progress. */
  onBytes?: (bytes: number) => void;
  onWarning?: (message: string) => void;
  /** Make the file system calls on a thread of their own (big archives; see file-thread.ts). */
  fileThread?: boolean;
}

export interface ExtractResult {
  integrity: string;
  files: number;
}

/** Loads the tar parser ahead of time, e.g. while a request waits for its answer. */
export async function preloadExtractor(): Promise<void> {
  await import('tar');
}

/**
 * Streams a .tar.gz into `dest` and computes its Hash1 in the same pass:
 * nothing is buffered whole, nothing is written outside `dest`. The steps:
 * each entry's path checked (entries.ts, paths.ts), written with its sha256
 * (tree-writer.ts), links made and the Hash1 taken at the end; the first
 * failure stops the pass (extraction.ts).
 */
export async function extractArchive(source: Readable, options: ExtractOptions): Promise<ExtractResult> {
  const { Parser } = await import('tar');
  // Loaded only for the archives that use it: the archive worker, which extracts small ones, never does.
  const ThreadFileSink = options.fileThread ? (await import('./file-thread.js')).ThreadFileSink : undefined;
  return new Promise<ExtractResult>((resolve, reject) => {
    const { label } = options;
    const warn = (message: string) => options.onWarning?.(message);
    const mapper = new ArchivePathMapper(label, options.subpath);
    const extraction = new Extraction<ExtractResult>(label, () => finish(), resolve, reject);
    const files: FileSink = ThreadFileSink === undefined ? new SyncFileSink(options.dest) : new ThreadFileSink(options.dest, extraction.fail);
    const writer = new TreeWriter(options.dest, label, files, extraction, warn);
    const rules = { label, mapper, index: new TreeIndex(mapper), writer, extraction, warn };
    const finish = async (): Promise<ExtractResult> => {
      if (options.subpath !== undefined && !mapper.subpathSeen) {
        throw new NpkgError('PATH_NOT_FOUND', `path ${options.subpath} not found in ${label}`);
      }
      return writer.finish();
    };

    const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
    const parser = new Parser({ strict: true, onReadEntry: (entry) => readEntry(rules, entry) });
    extraction.onAbort((failure) => {
      source.unpipe();
      source.destroy();
      gunzip.destroy();
      parser.abort(failure);
    });
    // Open files end with 'close' when destroyed, so the caller can remove the staging folder safely.
    extraction.onAbort(() => writer.abort());
    extraction.onAbort(() => options.copyTo?.destroy());
    parser.on('error', extraction.fail);
    parser.on('end', () => extraction.parsedAll());
    gunzip.on('error', extraction.fail);
    source.on('error', extraction.fail);
    if (options.copyTo !== undefined) copyRawBytes(source, options.copyTo, extraction);
    // The source may have failed before it reached us (a reset while the caller was busy).
    if (source.errored) return extraction.fail(source.errored);
    if (source.destroyed) return extraction.fail(new NpkgError('NETWORK', `the download of ${label} was cut`, { retryable: true }));
    source.pipe(gunzip).pipe(handOff(parser as unknown as Writable, writer)).on('error', extraction.fail);
    if (options.onBytes !== undefined) {
      const onBytes = options.onBytes;
      source.on('data', (chunk: Buffer) => onBytes(chunk.length));
    }
  });
}

/** The raw bytes also go to `copy` (the cache file); the pass ends only once it is closed. */
function copyRawBytes(source: Readable, copy: Writable, extraction: PassControl): void {
  extraction.track(
    new Promise<void>((done, error) => {
      copy.on('error', error);
      copy.on('close', done);
    }),
  );
  source.pipe(copy);
}

/** Bytes the decompressor may run ahead of the parser and the writes. */
const READ_AHEAD = 8 * 1024 * 1024;

/**
 * Hands each decompressed chunk to the parser on a later turn of the event
 * loop. Piped straight, the parser (and the synchronous file writes that it
 * triggers) runs inside gunzip's own callback, so the thread pool could not
 * inflate the next chunk while the main thread writes files: decompression
 * and file creation took turns. With the hand-off, gunzip runs up to
 * READ_AHEAD ahead on the thread pool while the files of the previous chunk
 * are written, as `tar -xz` overlaps its gzip process with its writes.
 * The next chunk also waits while the file thread, if any, is too far
 * behind.
 */
function handOff(parser: Writable, writer: TreeWriter): Writable {
  const feed = (chunk: Buffer, done: () => void) => {
    if (parser.write(chunk)) done();
    else parser.once('drain', () => done());
  };
  return new Writable({
    highWaterMark: READ_AHEAD,
    write(chunk: Buffer, _encoding, done) {
      setImmediate(() => {
        const room = writer.whenRoom();
        if (room === undefined) feed(chunk, done);
        else void room.then(() => feed(chunk, done));
      });
    },
    final(done) {
      parser.end();
      done();
    },
  });
}
