import { createReadStream, createWriteStream, mkdirSync, renameSync, statSync, type ReadStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { tempSuffix } from '../util/json-file.js';

/** A temp file that becomes a cache entry only when `keep()` renames it into place. */
export interface CacheWriter {
  stream: WriteStream;
  keep(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Archives by `workspace/slug/commit`: a commit never changes, so an entry
 * never goes stale. Entries appear by rename, so a reader never sees half a file.
 */
export class ArchiveCache {
  /** `folders`: where a repository's archives go under `archives/` (the server's cacheFolders; default `workspace/slug`). */
  constructor(
    readonly dir: string,
    private readonly folders: (workspace: string, slug: string) => string[] = (workspace, slug) => [workspace, slug],
  ) {}

  file(workspace: string, slug: string, commit: string): string {
    return path.join(this.dir, 'archives', ...this.folders(workspace, slug), `${commit}.tar.gz`);
  }

  /** The cached archive as a stream, or undefined when it is not cached. */
  async open(workspace: string, slug: string, commit: string): Promise<ReadStream | undefined> {
    const file = this.file(workspace, slug, commit);
    // One metadata call per module before its request: synchronous is cheaper than a thread-pool round trip.
    const info = statSync(file, { throwIfNoEntry: false });
    if (info === undefined || !info.isFile()) return undefined;
    return createReadStream(file, { highWaterMark: 256 * 1024 });
  }

  async writer(workspace: string, slug: string, commit: string): Promise<CacheWriter> {
    const file = this.file(workspace, slug, commit);
    // One metadata call each: synchronous is cheaper than a thread-pool round trip.
    mkdirSync(path.dirname(file), { recursive: true });
    const temp = `${file}.${tempSuffix()}.tmp`;
    const stream = createWriteStream(temp, { flags: 'wx', highWaterMark: 256 * 1024 });
    return {
      stream,
      keep: async () => renameSync(temp, file),
      discard: () => rm(temp, { force: true }),
    };
  }
}
