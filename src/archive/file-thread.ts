import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SyncFileSink, type FileSink } from './file-sink.js';
import { fromWire, type WireError } from './wire-error.js';
import { NpkgError } from '../util/errors.js';

/** One call for the file thread; the bytes of each `file` follow each other in the batch's data. */
export type FileOp = { op: 'mkdir'; path: string } | { op: 'file'; path: string; mode: number; length: number };

/** `data` holds `length` bytes; the thread hands it back with `done`, to be filled again. */
export type ToFileThread = { ops: FileOp[]; data: ArrayBuffer; length: number } | { end: true };
export type FromFileThread = { ready: true } | { done: number; data: ArrayBuffer } | { error: WireError } | { closed: true };

/** The thread's start-up data: the staging folder, and a flag the main thread sets to stop it at once. */
export interface FileThreadData {
  dest: string;
  stop: Int32Array;
}

/** Small files written here before the thread is started: an archive of a few big files never needs it. */
const START_AFTER_FILES = 64;
/** A batch's buffer: a batch is posted when the next bytes would not fit (else at the end of the current turn). */
const BATCH_BYTES = 1024 * 1024;
/** Bytes posted and not yet written, beyond which whenRoom makes the parser wait. */
const MAX_IN_FLIGHT = 4 * 1024 * 1024;

/**
 * Folders and small files made on a thread of their own, in order, while
 * this thread inflates, parses and hashes the next entries. A source tree's
 * thousands of file creations cost more kernel time than everything else
 * together (BENCHMARKS.md, "Real source trees"): made here, they took turns
 * with the parsing; there, both run at once, as tar's writes run beside its
 * gzip process. Calls are gathered into batches whose bytes are copied once
 * into a buffer handed over and back.
 *
 * Big files stream here, as with SyncFileSink: their writes are cheap per
 * byte, and the thread would cost a copy of every byte. A worker takes about
 * 100 ms to start, so it is started only once an archive shows many small
 * files, and this thread writes them until the worker says it is ready.
 */
export class ThreadFileSink implements FileSink {
  private worker: Worker | undefined;
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private readonly local: SyncFileSink;
  private localFiles = 0;
  /** Set once the worker makes the small-file calls. */
  private handedOver = false;
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
  private closed: Promise<void> = Promise.resolve();
  private markClosed: () => void = () => {};
  /** Resolves once the worker makes the calls (the unit tests wait on it). */
  readonly takenOver: Promise<void>;
  private markTakenOver!: () => void;

  /** `onError` gets the first failure of a call made before drain; drain itself rejects with a later one. */
  constructor(
    private readonly dest: string,
    private readonly onError: (error: Error) => void,
  ) {
    this.local = new SyncFileSink(dest);
    this.takenOver = new Promise((resolve) => (this.markTakenOver = resolve));
  }

  mkdir(relative: string): void {
    if (!this.handedOver) return this.local.mkdir(relative);
    this.push({ op: 'mkdir', path: relative });
  }

  writeFile(relative: string, content: Buffer, mode: number): void {
    if (this.handedOver) return this.push({ op: 'file', path: relative, mode, length: content.length }, content);
    this.local.writeFile(relative, content, mode);
    if (++this.localFiles === START_AFTER_FILES) this.startWorker();
  }

  open(relative: string, mode: number): void {
    // Its folder may still wait in the worker's queue: made here too (a folder made twice is no error).
    const parent = path.posix.dirname(relative);
    if (this.handedOver && parent !== '.') this.local.mkdir(parent);
    this.local.open(relative, mode);
  }

  append(chunk: Buffer): void {
    this.local.append(chunk);
  }

  close(): void {
    this.local.close();
  }

  whenRoom(): Promise<void> | undefined {
    if (this.inFlight < MAX_IN_FLIGHT || this.failure !== undefined) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Posts what is left and ends the thread once all of it is written; rejects with the thread's failure. */
  async drain(): Promise<void> {
    this.draining = true;
    if (!this.handedOver) return this.stopUnused();
    this.flush();
    this.worker!.postMessage({ end: true } satisfies ToFileThread);
    await this.closed;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops the thread before its next call; resolves once what was open, here or there, is closed. */
  abort(): Promise<void> {
    Atomics.store(this.stopFlag, 0, 1);
    this.local.close();
    this.wakeWaiters();
    if (this.draining) return this.closed;
    this.draining = true;
    if (!this.handedOver) return this.stopUnused();
    this.worker!.postMessage({ end: true } satisfies ToFileThread);
    return this.closed;
  }

  private startWorker(): void {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    const worker = new Worker(new URL('./file-thread-main.js', import.meta.url), { workerData: { dest: this.dest, stop: this.stopFlag } satisfies FileThreadData });
    worker.on('message', (message: FromFileThread) => this.receive(message));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.finished) this.fail(new NpkgError('SERVER', `the file writing thread stopped unexpectedly (exit code ${code}): run \`npkg install\` again`));
      this.ended();
    });
    this.worker = worker;
  }

  /** The worker, if started, never took a call (few small files, or a failure early on): it is stopped where it is. */
  private async stopUnused(): Promise<void> {
    this.finished = true;
    await this.worker?.terminate();
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
    this.worker!.postMessage({ ops: this.ops, data, length: this.batchBytes } satisfies ToFileThread, [data]);
    this.ops = [];
    this.batch = undefined;
    this.batchBytes = 0;
  }

  private receive(message: FromFileThread): void {
    if ('ready' in message) {
      // From now on the worker makes the small-file calls; those made here are all done.
      if (!this.draining) {
        this.handedOver = true;
        this.markTakenOver();
      }
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
