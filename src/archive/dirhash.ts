import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { compareBytes } from '../util/bytes.js';
import { NpkgError } from '../util/errors.js';

/**
 * Go's dirhash Hash1: sorted lines of `hex(sha256(content))  path\n`, hashed
 * again and base64-encoded. Paths are relative, with `/` separators.
 */
export function hash1(files: Iterable<readonly [path: string, sha256Hex: string]>): string {
  const sorted = [...files].sort(([a], [b]) => compareBytes(a, b));
  const summary = createHash('sha256');
  for (const [file, digest] of sorted) {
    if (file.includes('\n')) {
      throw new NpkgError('HOSTILE_ARCHIVE', `a file name holds a newline, which the tree hash (h1) cannot record: ${JSON.stringify(file)}; rename it in the repository`);
    }
    summary.update(`${digest}  ${file}\n`);
  }
  return `h1:${summary.digest('base64')}`;
}

/** sha256 hex of a buffer or string. */
export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Hash1 of a tree on disk: regular files by content, symbolic links by their
 * target text (never followed, so a link out of the tree is never read).
 */
export async function hashTree(root: string): Promise<string> {
  return hash1(await treeDigests(root));
}

/** Every file of a tree with its sha256 hex (a link: of its target text), by `/` path. */
export async function treeDigests(root: string): Promise<Map<string, string>> {
  const files: Array<[string, string]> = [];
  await walk(root, '', files);
  return new Map(files);
}

async function walk(root: string, relative: string, files: Array<[string, string]>): Promise<void> {
  const entries = await readdir(path.join(root, relative), { withFileTypes: true });
  for (const entry of entries) {
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
    const full = path.join(root, rel);
    if (entry.isDirectory()) {
      await walk(root, rel, files);
    } else if (entry.isSymbolicLink()) {
      files.push([rel, sha256Hex(await readlink(full))]);
    } else if (entry.isFile()) {
      files.push([rel, await hashFile(full)]);
    } else {
      // Sockets, FIFOs and devices never come from an archive: count them so an edit shows.
      const stats = await lstat(full);
      files.push([rel, sha256Hex(`special:${stats.mode}`)]);
    }
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
