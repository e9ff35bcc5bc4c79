import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * Where a tree writer's file system calls go. Paths are relative to the
 * module's staging folder and already checked (see entries.ts); every file
 * is created with 'wx', which never follows or replaces anything already at
 * that path. Files of a tar archive come one after another, so at most one
 * streamed file is open at a time.
 */
export interface FileSink {
  mkdir(relative: string): void;
  /** A whole file at once. */
  writeFile(relative: string, content: Buffer, mode: number): void;
  /** A file that streams: open, its chunks in order, close. */
  open(relative: string, mode: number): void;
  append(chunk: Buffer): void;
  close(): void;
  /** Undefined when the sink takes more now, else when it will again (see extract.ts's hand-off). */
  whenRoom(): Promise<void> | undefined;
  /** Resolves once every call made so far is on disk. */
  drain(): Promise<void>;
  /** Stops after a failure; resolves once what was open is closed (the extraction ends only after). */
  abort(): Promise<void>;
}

/**
 * The calls made at once, synchronously, on this thread: for the many small
 * files of a source tree a thread-pool round trip per call costs more than
 * the call itself (as in `tar -x`). Errors are thrown to the caller.
 */
export class SyncFileSink implements FileSink {
  private fd: number | undefined;

  constructor(private readonly dest: string) {}

  mkdir(relative: string): void {
    mkdirSync(path.join(this.dest, relative), { recursive: true, mode: 0o755 });
  }

  writeFile(relative: string, content: Buffer, mode: number): void {
    writeFileSync(path.join(this.dest, relative), content, { flag: 'wx', mode });
  }

  open(relative: string, mode: number): void {
    this.fd = openSync(path.join(this.dest, relative), 'wx', mode);
  }

  append(chunk: Buffer): void {
    for (let offset = 0; offset < chunk.length; ) offset += writeSync(this.fd!, chunk, offset);
  }

  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  whenRoom(): undefined {
    return undefined;
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  abort(): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
