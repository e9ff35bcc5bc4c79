import { Worker } from 'node:worker_threads';
import { SyncFileSink, type FileSink } from './file-sink.js';
import { fromWire, type WireError } from './wire-error.js';
import { NpkgError } from '../util/errors.js';

/** One call for the file thread; the bytes of `file` and `append` follow each other in the batch's data. */
export type FileOp =
  | { op: 'mkdir'; path: string }
  | { op: 'file'; path: string; mode: number; length: number }
  | { op: 'open'; path: string; mode: number }
  /** A file this thread began while the worker started: the worker goes on appending to it. */
  | { op: 'reopen'; path: string }
  | { op: 'append'; length: number }
  | { op: 'close' };

/** `data` holds `length` bytes; the thread hands it back with `done`, to be filled again. */
export type ToFileThread = { ops: FileOp[]; data: ArrayBuffer; length: number } | { end: true };
export type FromFileThread = { ready: true } | { done: number; data: ArrayBuffer } | { error: WireError } | { closed: true };

/** The thread's start-up data: the staging folder, and a flag the main thread sets to stop it at once. */
export interface FileThreadData {
  dest: string;
  stop: Int32Array;
}

/** A batch's buffer: a batch is posted when the next bytes would not fit (else at the end of the current turn). */
const BATCH_BYTES = 1024 * 1024;
/** Bytes posted and not yet written, beyond which whenRoom makes the parser wait. */
const MAX_IN_FLIGHT = 4 * 1024 * 1024;

/**
 * The file system calls of one extraction made on a thread of their own,
 * in order, while this thread inflates, parses and hashes the next entries.
 * A source tree's thousands of file creations cost more kernel time than
 * everything else together (BENCHMARKS.md, "Real source trees"): made here,
 * they took turns with the parsing; there, both run at once, as tar's writes
 * run beside its gzip process. Calls are gathered into batches whose bytes
 * are copied once into a buffer handed over whole (no further copy).
 *
 * A worker takes about 100 ms to start: until it says it is ready, the calls
 * are made here, synchronously, and it takes over then (reopening the file
 * being written, if any).
 */
export class ThreadFileSink implements FileSink {
  private readonly worker: Worker;
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  /** This thread's own writes, while the worker starts; undefined once it has taken over. */
  private local: SyncFileSink | undefined;
  /** The file open here, if any: the worker reopens it on taking over. */
  private localFile: string | undefined;
  private ops: FileOp[] = [];
  private batch: Buffer | undefined;
  private batchBytes = 0;
  /** Buffers handed back by the thread: reused, their memory is already mapped (a fresh one page-faults on every 4 KB). */
  private readonly spare: Buffer[] = [];
  private flushQueued = false;
  private inFlight = 0;
  private roomWaiters: Array<() => void> = [];
  private failure: Error | undefined;
  private draining = false;
  private finished = false;
  private readonly closed: Promise<void>;
  private markClosed!: () => void;
  /** Resolves once the worker makes the calls, not this thread (the unit tests wait on it). */
  readonly takenOver: Promise<void>;
  private markTakenOver!: () => void;

  /** `onError` gets the first failure of a call made before drain; drain itself rejects with a later one. */
  constructor(
    dest: string,
    private readonly onError: (error: Error) => void,
  ) {
    this.local = new SyncFileSink(dest);
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.takenOver = new Promise((resolve) => (this.markTakenOver = resolve));
    this.worker = new Worker(new URL('./file-thread-main.js', import.meta.url), { workerData: { dest, stop: this.stopFlag } satisfies FileThreadData });
    this.worker.on('message', (message: FromFileThread) => this.receive(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (!this.finished) this.fail(new NpkgError('SERVER', `the file writing thread stopped unexpectedly (exit code ${code}): run \`npkg install\` again`));
      this.ended();
    });
  }

  mkdir(relative: string): void {
    if (this.local !== undefined) return this.local.mkdir(relative);
    this.push({ op: 'mkdir', path: relative });
  }

  writeFile(relative: string, content: Buffer, mode: number): void {
    if (this.local !== undefined) return this.local.writeFile(relative, content, mode);
    this.push({ op: 'file', path: relative, mode, length: content.length }, content);
  }

  open(relative: string, mode: number): void {
    if (this.local !== undefined) {
      this.local.open(relative, mode);
      this.localFile = relative;
      return;
    }
    this.push({ op: 'open', path: relative, mode });
  }

  append(chunk: Buffer): void {
    if (this.localFile !== undefined) return this.local!.append(chunk);
    this.push({ op: 'append', length: chunk.length }, chunk);
  }

  close(): void {
    if (this.localFile === undefined) return this.push({ op: 'close' });
    this.localFile = undefined;
    this.local!.close();
  }

  whenRoom(): Promise<void> | undefined {
    if (this.inFlight < MAX_IN_FLIGHT || this.failure !== undefined) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Posts what is left and ends the thread once all of it is written; rejects with the thread's failure. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.local !== undefined) return this.stopUnused();
    this.flush();
    this.worker.postMessage({ end: true } satisfies ToFileThread);
    await this.closed;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops the thread before its next call; resolves once what was open, here or there, is closed. */
  abort(): Promise<void> {
    Atomics.store(this.stopFlag, 0, 1);
    this.local?.abort();
    this.wakeWaiters();
    if (this.draining) return this.closed;
    this.draining = true;
    if (this.local !== undefined) return this.stopUnused();
    this.worker.postMessage({ end: true } satisfies ToFileThread);
    return this.closed;
  }

  /** The worker never took a call (a small archive, or a failure early on): it is stopped where it is. */
  private async stopUnused(): Promise<void> {
    this.finished = true;
    await this.worker.terminate();
    this.ended();
  }

  private push(op: FileOp, content?: Buffer): void {
    if (content !== undefined && content.length > 0) {
      if (this.batch !== undefined && this.batchBytes + content.length > this.batch.length) this.flush();
      this.batch ??= this.spare.pop() ?? Buffer.allocUnsafeSlow(Math.max(BATCH_BYTES, content.length));
      this.batchBytes += content.copy(this.batch, this.batchBytes);
    }
    this.ops.push(op);
    if (!this.flushQueued) {
      this.flushQueued = true;
      // The parser hands over a whole inflated chunk in one synchronous call: one batch per chunk.
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.ops.length === 0) return;
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's pool, so its memory can be handed over.
    const data = (this.batch ?? Buffer.allocUnsafeSlow(0)).buffer as ArrayBuffer;
    this.inFlight += this.batchBytes;
    this.worker.postMessage({ ops: this.ops, data, length: this.batchBytes } satisfies ToFileThread, [data]);
    this.ops = [];
    this.batch = undefined;
    this.batchBytes = 0;
  }

  private receive(message: FromFileThread): void {
    if ('ready' in message) {
      this.handOver();
    } else if ('done' in message) {
      this.inFlight -= message.done;
      if (message.data.byteLength === BATCH_BYTES) this.spare.push(Buffer.from(message.data));
      if (this.inFlight < MAX_IN_FLIGHT) this.wakeWaiters();
    } else if ('error' in message) {
      this.fail(fromWire(message.error));
    } else {
      this.finished = true;
      this.ended();
    }
  }

  /** From now on the worker makes the calls; a file begun here is closed and reopened there. */
  private handOver(): void {
    if (this.local === undefined || this.draining) return;
    const file = this.localFile;
    this.local.close();
    this.local = undefined;
    this.localFile = undefined;
    if (file !== undefined) this.push({ op: 'reopen', path: file });
    this.markTakenOver();
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.wakeWaiters();
    if (!this.draining) this.onError(error);
  }

  private ended(): void {
    this.wakeWaiters();
    this.markClosed();
  }

  private wakeWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
