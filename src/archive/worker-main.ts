/** The extraction thread of ArchiveWorker: runs extractArchive on bodies already in memory. */
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { extractArchive, preloadExtractor } from './extract.js';
import type { ExtractJob, WorkerMessage } from './worker.js';
import { toWire } from './wire-error.js';

const port = parentPort!;
const send = (message: WorkerMessage) => port.postMessage(message);

port.on('message', (job: ExtractJob) => {
  const source = Readable.from([Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength)], { objectMode: false });
  extractArchive(source, {
    dest: job.dest,
    label: job.label,
    ...(job.subpath === undefined ? {} : { subpath: job.subpath }),
    onWarning: (warning) => send({ id: job.id, warning }),
  }).then(
    (result) => send({ id: job.id, result }),
    (error: unknown) => send({ id: job.id, error: toWire(error) }),
  );
});

// The tar parser loads while the first requests wait for their answers.
await preloadExtractor();
