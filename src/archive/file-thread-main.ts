/** The file writing thread of ThreadFileSink: makes one extraction's calls in order, stops at the first failure. */
import { parentPort, workerData } from 'node:worker_threads';
import { SyncFileSink } from './file-sink.js';
import type { FileOp, FileThreadData, FromFileThread, ToFileThread } from './file-thread.js';
import { toWire } from './wire-error.js';

const port = parentPort!;
const { dest, stop } = workerData as FileThreadData;
// The same calls as on the main thread ('wx' files, 0755 folders), made here.
const files = new SyncFileSink(dest);
const send = (message: FromFileThread) => port.postMessage(message);
let failed = false;

port.on('message', (message: ToFileThread) => {
  if ('end' in message) {
    send({ closed: true });
    return port.close();
  }
  const data = Buffer.from(message.data, 0, message.length);
  let offset = 0;
  for (const op of message.ops) {
    // Set by the main thread when the extraction failed elsewhere: nothing more is written.
    if (failed || Atomics.load(stop, 0) === 1) break;
    try {
      offset = run(op, data, offset);
    } catch (error) {
      failed = true;
      send({ error: toWire(error) });
    }
  }
  // The buffer goes back to be filled again.
  port.postMessage({ done: message.length, data: message.data } satisfies FromFileThread, [message.data]);
});

/** One call; returns the offset of the next one's bytes. */
function run(op: FileOp, data: Buffer, offset: number): number {
  if (op.op === 'mkdir') {
    files.mkdir(op.path);
    return offset;
  }
  files.writeFile(op.path, data.subarray(offset, offset + op.length), op.mode);
  return offset + op.length;
}

// Until this arrives, the main thread makes the calls itself (see ThreadFileSink).
send({ ready: true });
