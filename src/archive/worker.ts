import { Worker } from 'node:worker_threads';
import type { ExtractResult } from './extract.js';
import { NpkgError, asNpkgError } from '../util/errors.js';
import { fromWire, type WireError } from './wire-error.js';

/** What the worker needs to extract one archive already read into memory. */
export interface ExtractJob {
  id: number;
  bytes: Uint8Array;
  dest: string;
  label: string;
  subpath?: string;
}

export type WorkerMessage = { id: number; warning: string } | { id: number; result: ExtractResult } | { id: number; error: WireError };

/** Bytes of bodies handed to the worker and not yet extracted, beyond which downloads wait (see hasRoom). */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

interface Pending {
  bytes: number;
  resolve: (result: ExtractResult) => void;
  reject: (error: NpkgError) => void;
  onWarning: (message: string) => void;
}

/**
 * Extracts small archives, whose bodies are already in memory, on a second
 * thread: the main thread keeps reading the next responses on time instead
 * of gunzipping, parsing, hashing and writing the previous ones. Started
 * before the first answer comes back, so its start-up overlaps the wait.
 */
export class ArchiveWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private queuedBytes = 0;
  private readonly roomWaiters: Array<() => void> = [];

  /** Starts the thread now (it loads the extractor while the requests wait). */
  start(): void {
    if (this.worker !== undefined) return;
    const worker = new Worker(new URL('./worker-main.js', import.meta.url));
    worker.on('message', (message: WorkerMessage) => this.receive(message));
    worker.on('error', (error) => this.stop(worker, asNpkgError(error)));
    worker.on('exit', (code) => this.stop(worker, new NpkgError('SERVER', `the extraction thread stopped unexpectedly (exit code ${code}): run \`npkg install\` again`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.worker = worker;
  }

  /** Same contract as extractArchive: the tree in `dest`, its Hash1, the same errors and warnings. */
  extract(bytes: Uint8Array, options: { dest: string; label: string; subpath?: string; onWarning: (message: string) => void }): Promise<ExtractResult> {
    this.start();
    const id = this.nextId++;
    const { onWarning, ...paths } = options;
    return new Promise((resolve, reject) => {
      // Referenced while it has work, so the process waits for it; idle, it never holds the process.
      if (this.pending.size === 0) this.worker!.ref();
      this.pending.set(id, { bytes: bytes.length, resolve, reject, onWarning });
      this.queuedBytes += bytes.length;
      this.worker!.postMessage({ id, bytes, ...paths } satisfies ExtractJob);
    });
  }

  /**
   * Resolves once the worker is less than MAX_QUEUED_BYTES behind: downloads
   * wait on it before giving up their slot, so a network faster than the
   * disk cannot pile bodies up in memory.
   */
  hasRoom(): Promise<void> {
    if (this.queuedBytes < MAX_QUEUED_BYTES) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Bytes handed to the worker and not yet extracted. */
  backlog(): number {
    return this.queuedBytes;
  }

  /** Ends the thread; jobs still running fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    this.stop(worker, new NpkgError('SERVER', 'the extraction thread was closed'));
    await worker.terminate();
  }

  private receive(message: WorkerMessage): void {
    const job = this.pending.get(message.id);
    if (job === undefined) return;
    if ('warning' in message) return job.onWarning(message.warning);
    this.settle(message.id);
    if ('result' in message) job.resolve(message.result);
    else job.reject(asNpkgError(fromWire(message.error)));
  }

  private settle(id: number): void {
    this.queuedBytes -= this.pending.get(id)?.bytes ?? 0;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    while (this.queuedBytes < MAX_QUEUED_BYTES && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
  }

  private stop(worker: Worker, error: NpkgError): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const [id, job] of this.pending) {
      this.settle(id);
      job.reject(error);
    }
  }
}
