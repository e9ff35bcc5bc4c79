/** Archive serving, whatever the server kind: `git archive` once per commit, crafted bytes, bodies with faults and rate caps. */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { throttle, type BodyFault } from './faults.js';
import { gitArchiveGz, type BuiltRepo } from './git-fixtures.js';

/** Archives up to this size are kept in memory once made. */
const MEMORY_ARCHIVE = 4 * 1024 * 1024;

export class ArchiveStore {
  private readonly files = new Map<string, Promise<string>>();
  private readonly memory = new Map<string, Buffer>();

  constructor(
    private readonly root: string,
    private readonly repos: Map<string, BuiltRepo>,
  ) {}

  /** Makes (once) and returns the .tar.gz of a commit. */
  file(repoName: string, commit: string): Promise<string> {
    const key = `${repoName}@${commit}`;
    let file = this.files.get(key);
    if (file === undefined) {
      const repo = this.repos.get(repoName)!;
      const out = path.join(this.root, 'archives', `${repo.workspace}-${repo.slug}-${commit}.tar.gz`);
      file = mkdir(path.dirname(out), { recursive: true })
        .then(() => gitArchiveGz(repo, commit, out))
        .then(() => out);
      this.files.set(key, file);
    }
    return file;
  }

  /** Serves these bytes as the archive of a commit (hostile-archive tests). */
  async set(repoName: string, commit: string, bytes: Buffer): Promise<void> {
    const repo = this.repos.get(repoName)!;
    const out = path.join(this.root, 'archives', `${repo.workspace}-${repo.slug}-${commit}-crafted.tar.gz`);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, bytes);
    this.files.set(`${repoName}@${commit}`, Promise.resolve(out));
    this.memory.delete(out);
  }

  /** A 200 with the archive, cut short, reset or dripped when a body fault was drawn; capped at `bytesPerSecond` if set. */
  async send(response: ServerResponse, repoName: string, commit: string, fault: BodyFault | undefined, bytesPerSecond: number | undefined): Promise<void> {
    const file = await this.file(repoName, commit);
    const size = (await stat(file)).size;
    const chunked = fault?.kind === 'drip' && fault.chunked === true;
    response.writeHead(200, { 'content-type': 'application/x-gzip', ...(chunked ? {} : { 'content-length': String(size) }) });
    if (fault?.kind === 'truncate' || fault?.kind === 'reset') {
      const socket = response.socket!;
      createReadStream(file, { start: 0, end: Math.max(0, Math.floor(size / 2) - 1) })
        .on('end', () => (fault.kind === 'reset' ? socket.resetAndDestroy() : socket.end()))
        .pipe(response, { end: false });
      return;
    }
    const body = await this.open(file, size);
    const rate = fault?.kind === 'drip' ? fault.bytesPerSecond : bytesPerSecond;
    if (rate) body.pipe(throttle(rate)).pipe(response);
    else body.pipe(response);
  }

  /** Small archives are served from memory, as a CDN would: no disk read between request and bytes. */
  private async open(file: string, size: number): Promise<Readable> {
    if (size > MEMORY_ARCHIVE) return createReadStream(file, { highWaterMark: 256 * 1024 });
    const bytes = this.memory.get(file) ?? (await readFile(file));
    this.memory.set(file, bytes);
    return Readable.from([bytes]);
  }
}

/** A ref of an archive URL: a 40- or 12-hex commit, a tag, a branch, or HEAD. */
export function findCommit(repo: BuiltRepo, ref: string): string | undefined {
  if (ref === 'HEAD') return repo.branches.get('main');
  if (/^[0-9a-f]{12,40}$/.test(ref)) {
    const matches = repo.commits.filter((commit) => commit.startsWith(ref));
    if (matches.length === 1) return matches[0];
  }
  return repo.tags.get(ref) ?? repo.branches.get(ref);
}
