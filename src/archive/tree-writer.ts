import { createHash } from 'node:crypto';
import { copyFile, constants, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { ReadEntry } from 'tar';
import { hash1, sha256Hex } from './dirhash.js';
import type { PassControl } from './extraction.js';
import type { FileSink } from './file-sink.js';
import { linkStaysInside } from './paths.js';

const LFS_POINTER = 'version https://git-lfs.github.com/spec/';
/** Files up to this size are gathered and written in one call; bigger ones stream. */
const SMALL_FILE = 1024 * 1024;

/**
 * Writes a module's tree into `dest` as the entries come, and records the
 * sha256 of every file as it is written, for the tree's Hash1 at the end.
 * Paths reach it already checked (see entries.ts).
 */
export class TreeWriter {
  private readonly digests = new Map<string, string>();
  private readonly links = new Map<string, string>();
  private readonly hardLinks: Array<[string, string]> = [];
  private readonly madeDirs = new Set<string>();
  private lfsFiles = 0;

  constructor(
    private readonly dest: string,
    private readonly label: string,
    private readonly files: FileSink,
    private readonly extraction: PassControl,
    private readonly warn: (message: string) => void,
  ) {}

  /** Closes the file still open, if any; the pass ends after, so the caller can remove the staging folder. */
  abort(): void {
    this.extraction.track(this.files.abort());
  }

  /** Undefined when the writer takes more entries now, else when it will again. */
  whenRoom(): Promise<void> | undefined {
    return this.files.whenRoom();
  }

  ensureDir(relative: string): void {
    if (relative === '' || this.madeDirs.has(relative)) return;
    this.files.mkdir(relative);
    this.madeDirs.add(relative);
  }

  writeFile(entry: ReadEntry, relative: string): void {
    const mode = (entry.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
    if ((entry.size ?? Infinity) <= SMALL_FILE) return this.writeSmallFile(entry, relative, mode);
    try {
      this.streamFile(entry, relative, mode);
    } catch (error) {
      entry.resume();
      this.extraction.fail(error);
    }
  }

  /** Symbolic links are made last (see finish), so no file is ever written through one. */
  addSymlink(relative: string, target: string): void {
    this.links.set(relative, target);
  }

  /** A hard link to a file of the archive becomes a copy of it, made at the end. */
  addHardLink(relative: string, target: string): void {
    this.hardLinks.push([relative, target]);
  }

  /** Makes the hard links and symbolic links, warns of Git LFS pointers, and returns the tree's Hash1. */
  async finish(): Promise<{ integrity: string; files: number }> {
    // Every file is on disk before a link is made: nothing is ever written through a link.
    await this.files.drain();
    for (const [relative, target] of this.hardLinks) {
      this.ensureDir(parentOf(relative));
      await copyFile(path.join(this.dest, target), path.join(this.dest, relative), constants.COPYFILE_EXCL);
      this.digests.set(relative, this.digests.get(target)!);
    }
    for (const [relative, target] of this.links) {
      if (!linkStaysInside(relative, target, this.links)) {
        this.warn(`${this.label}: symbolic link ${relative} -> ${target} points outside the module; not created`);
        continue;
      }
      this.ensureDir(parentOf(relative));
      await symlink(target, path.join(this.dest, relative));
      this.digests.set(relative, sha256Hex(target));
    }
    if (this.lfsFiles > 0) this.warn(`${this.label} holds ${this.lfsFiles} Git LFS pointer file(s): their content is not in Bitbucket's archives`);
    return { integrity: hash1(this.digests), files: this.digests.size };
  }

  private writeSmallFile(entry: ReadEntry, relative: string, mode: number): void {
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    entry.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      chunks.push(chunk);
    });
    entry.on('error', this.extraction.fail);
    entry.on('end', () => {
      if (this.extraction.failure !== undefined) return;
      try {
        this.ensureDir(parentOf(relative));
        const content = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        this.files.writeFile(relative, content, mode);
        this.recordFile(relative, hash.digest('hex'), content.subarray(0, LFS_POINTER.length).toString('latin1'));
      } catch (error) {
        this.extraction.fail(error);
      }
    });
  }

  /**
   * A big file is written chunk by chunk as the parser hands it over, not
   * gathered: an archive's 25 MB file costs no more memory than a chunk.
   */
  private streamFile(entry: ReadEntry, relative: string, mode: number): void {
    this.ensureDir(parentOf(relative));
    this.files.open(relative, mode);
    const hash = createHash('sha256');
    let head = '';
    entry.on('data', (chunk: Buffer) => {
      if (this.extraction.failure !== undefined) return;
      try {
        hash.update(chunk);
        if (head.length < LFS_POINTER.length) head += chunk.subarray(0, LFS_POINTER.length).toString('latin1');
        this.files.append(chunk);
      } catch (error) {
        this.extraction.fail(error);
      }
    });
    entry.on('error', this.extraction.fail);
    entry.on('end', () => {
      if (this.extraction.failure !== undefined) return;
      try {
        this.files.close();
        this.recordFile(relative, hash.digest('hex'), head);
      } catch (error) {
        this.extraction.fail(error);
      }
    });
  }

  private recordFile(relative: string, digest: string, head: string): void {
    this.digests.set(relative, digest);
    if (head.startsWith(LFS_POINTER)) this.lfsFiles++;
  }
}

export function parentOf(relative: string): string {
  return path.posix.dirname(relative) === '.' ? '' : path.posix.dirname(relative);
}
