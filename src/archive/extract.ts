import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { copyFile, constants, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ReadEntry } from 'tar';
import { ArchivePathMapper, TreeIndex, linkStaysInside } from './paths.js';
import { hash1, sha256Hex } from './dirhash.js';
import { NpkgError, asNpkgError } from '../util/errors.js';

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
}

export interface ExtractResult {
  integrity: string;
  files: number;
}

const LFS_POINTER = 'version https://git-lfs.github.com/spec/';
/** Files up to this size are gathered and written in one call; bigger ones stream. */
const SMALL_FILE = 1024 * 1024;
/** Files written at once: enough to keep the disk busy, few enough for any fd limit. */
const MAX_OPEN_FILES = 16;

/** Loads the tar parser ahead of time, e.g. while a request waits for its answer. */
export async function preloadExtractor(): Promise<void> {
  await import('tar');
}

/**
 * Streams a .tar.gz into `dest` and computes its Hash1 in the same pass:
 * nothing is buffered whole, nothing is written outside `dest`.
 */
export async function extractArchive(source: Readable, options: ExtractOptions): Promise<ExtractResult> {
  const { Parser } = await import('tar');
  return new Promise<ExtractResult>((resolve, reject) => {
    const mapper = new ArchivePathMapper(options.label, options.subpath);
    const index = new TreeIndex(mapper);
    const digests = new Map<string, string>();
    const links = new Map<string, string>();
    const hardLinks: Array<[string, string]> = [];
    const madeDirs = new Set<string>();
    const pending = new Set<Promise<void>>();
    const waiting: Array<() => void> = [];
    const outs = new Set<Writable>();
    let lfsFiles = 0;
    let failure: NpkgError | undefined;
    let parsed = false;

    const warn = (message: string) => options.onWarning?.(message);
    const fail = (error: unknown) => {
      if (failure !== undefined) return;
      failure = mapStreamError(error, options.label);
      waiting.length = 0;
      source.unpipe();
      source.destroy();
      gunzip.destroy();
      parser.abort(failure);
      // Open files end with 'close' when destroyed, so the caller can remove the staging folder safely.
      for (const out of outs) out.destroy();
      options.copyTo?.destroy();
      void settle();
    };
    const track = (work: Promise<void>) => {
      const tracked = work.catch(fail).finally(() => {
        pending.delete(tracked);
        waiting.shift()?.();
        void settle();
      });
      pending.add(tracked);
    };
    const settle = async () => {
      if (pending.size > 0 || (!parsed && failure === undefined)) return;
      if (failure !== undefined) return reject(failure);
      parsed = false; // settle once
      try {
        resolve(await finish());
      } catch (error) {
        reject(asNpkgError(error));
      }
    };

    // Folders and small files are written synchronously: for the many small files of a source
    // tree, a thread-pool round trip per call costs more than the write itself (as in `tar -x`).
    const ensureDir = (relative: string) => {
      if (relative === '' || madeDirs.has(relative)) return;
      mkdirSync(path.join(options.dest, relative), { recursive: true, mode: 0o755 });
      madeDirs.add(relative);
    };
    const parentOf = (relative: string) => (path.posix.dirname(relative) === '.' ? '' : path.posix.dirname(relative));

    const writeSmallFile = (entry: ReadEntry, relative: string, mode: number) => {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        chunks.push(chunk);
      });
      entry.on('error', fail);
      entry.on('end', () => {
        if (failure !== undefined) return;
        try {
          ensureDir(parentOf(relative));
          const content = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          // 'wx' never follows or replaces anything already at that path.
          writeFileSync(path.join(options.dest, relative), content, { flag: 'wx', mode });
          digests.set(relative, hash.digest('hex'));
          if (content.subarray(0, LFS_POINTER.length).toString('latin1') === LFS_POINTER) lfsFiles++;
        } catch (error) {
          fail(error);
        }
      });
    };

    const writeFile = (entry: ReadEntry, relative: string) => {
      const mode = (entry.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
      if ((entry.size ?? Infinity) <= SMALL_FILE) return writeSmallFile(entry, relative, mode);
      const start = () => {
        track(
          (async () => {
            ensureDir(parentOf(relative));
            // 'wx' never follows or replaces anything already at that path.
            const out = createWriteStream(path.join(options.dest, relative), { flags: 'wx', mode });
            outs.add(out);
            const hash = createHash('sha256');
            let head = '';
            await new Promise<void>((done, error) => {
              out.on('error', error);
              entry.on('error', error);
              out.on('close', () => {
                outs.delete(out);
                done();
              });
              out.on('drain', () => entry.resume());
              entry.on('data', (chunk: Buffer) => {
                hash.update(chunk);
                if (head.length < LFS_POINTER.length) head += chunk.subarray(0, LFS_POINTER.length).toString('latin1');
                if (!out.write(chunk)) entry.pause();
              });
              entry.on('end', () => out.end());
            });
            digests.set(relative, hash.digest('hex'));
            if (head.startsWith(LFS_POINTER)) lfsFiles++;
          })(),
        );
      };
      // Backpressure: a paused entry makes the tar parser stop reading.
      if (pending.size >= MAX_OPEN_FILES) waiting.push(start);
      else start();
    };

    const onEntry = (entry: ReadEntry) => {
      if (failure !== undefined) return entry.resume();
      try {
        const mapped = mapper.map(entry.path);
        if (mapped.kind !== 'entry') return entry.resume();
        const relative = mapped.path;
        switch (entry.type) {
          case 'Directory':
            index.add(relative, 'dir');
            ensureDir(relative);
            return entry.resume();
          case 'File':
          case 'OldFile':
          case 'ContiguousFile':
            index.add(relative, 'file');
            if (relative === '.gitmodules') warn(`${options.label} has submodules (.gitmodules): their content is not in Bitbucket's archives`);
            return writeFile(entry, relative);
          case 'SymbolicLink':
            index.add(relative, 'link');
            links.set(relative, entry.linkpath ?? '');
            return entry.resume();
          case 'Link': {
            const target = mapper.map(entry.linkpath ?? '');
            if (target.kind === 'entry' && index.isFile(target.path)) {
              index.add(relative, 'file');
              hardLinks.push([relative, target.path]);
            } else {
              warn(`${options.label}: hard link ${relative} points outside the module; not created`);
            }
            return entry.resume();
          }
          default:
            warn(`${options.label}: skipped ${relative} (${entry.type}: only files, folders and links are installed)`);
            return entry.resume();
        }
      } catch (error) {
        entry.resume();
        fail(error);
      }
    };

    const finish = async (): Promise<ExtractResult> => {
      if (options.subpath !== undefined && !mapper.subpathSeen) {
        throw new NpkgError('PATH_NOT_FOUND', `path ${options.subpath} not found in ${options.label}`);
      }
      for (const [relative, target] of hardLinks) {
        ensureDir(parentOf(relative));
        await copyFile(path.join(options.dest, target), path.join(options.dest, relative), constants.COPYFILE_EXCL);
        digests.set(relative, digests.get(target)!);
      }
      // Links are made last, so no file is ever written through one.
      for (const [relative, target] of links) {
        if (!linkStaysInside(relative, target, links)) {
          warn(`${options.label}: symbolic link ${relative} -> ${target} points outside the module; not created`);
          continue;
        }
        ensureDir(parentOf(relative));
        await symlink(target, path.join(options.dest, relative));
        digests.set(relative, sha256Hex(target));
      }
      if (lfsFiles > 0) warn(`${options.label} holds ${lfsFiles} Git LFS pointer file(s): their content is not in Bitbucket's archives`);
      return { integrity: hash1(digests), files: digests.size };
    };

    const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
    const parser = new Parser({ strict: true, onReadEntry: onEntry });
    parser.on('error', fail);
    parser.on('end', () => {
      if (failure !== undefined) return;
      parsed = true;
      void settle();
    });
    gunzip.on('error', fail);
    source.on('error', fail);
    if (options.copyTo !== undefined) {
      const copy = options.copyTo;
      track(
        new Promise<void>((done, error) => {
          copy.on('error', error);
          copy.on('close', done);
        }),
      );
      source.pipe(copy);
    }
    // The source may have failed before it reached us (a reset while the caller was busy).
    if (source.errored) return fail(source.errored);
    if (source.destroyed) return fail(new NpkgError('NETWORK', `the download of ${options.label} was cut`, { retryable: true }));
    source.pipe(gunzip).pipe(parser as unknown as Writable);
    if (options.onBytes !== undefined) {
      const onBytes = options.onBytes;
      source.on('data', (chunk: Buffer) => onBytes(chunk.length));
    }
  });
}

function mapStreamError(error: unknown, label: string): NpkgError {
  if (error instanceof NpkgError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID') {
    return new NpkgError('NOT_AN_ARCHIVE', `the archive of ${label} is not a valid .tar.gz (${(error as Error).message})`, { cause: error, retryable: true });
  }
  return asNpkgError(error, 'NETWORK');
}
