import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, readlink, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ThreadFileSink as Sink } from '../../src/archive/file-thread.js';

// The worker runs the built file (npm test builds first), as it does in the CLI.
const BUILT = new URL('../../dist/src/archive/file-thread.js', import.meta.url).href;
const { ThreadFileSink } = (await import(BUILT)) as { ThreadFileSink: typeof Sink };

let dest: string;
beforeEach(async () => {
  dest = await mkdtemp(path.join(os.tmpdir(), 'npkg-file-thread-'));
});
afterEach(async () => {
  await rm(dest, { recursive: true, force: true });
});

/** The file descriptors of this process that point into `dest`. */
async function openInDest(): Promise<string[]> {
  const links = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return links.filter((target) => target.startsWith(dest));
}

function sinkWithErrors(): { sink: Sink; errors: Error[]; firstError: Promise<void> } {
  const errors: Error[] = [];
  let reported!: () => void;
  const firstError = new Promise<void>((resolve) => (reported = resolve));
  const sink = new ThreadFileSink(dest, (error) => {
    errors.push(error);
    reported();
  });
  return { sink, errors, firstError };
}

describe('ThreadFileSink', () => {
  it('makes the calls in order, here while the worker starts and on the worker after, a file streamed across the hand-over', async () => {
    const { sink, errors } = sinkWithErrors();
    const before = randomBytes(300_000);
    const after = randomBytes(700_000);
    sink.mkdir('a/b');
    sink.writeFile('a/b/first.txt', Buffer.from('first\n'), 0o644);
    sink.open('a/big.bin', 0o755);
    sink.append(before);
    await sink.takenOver;
    sink.append(after);
    sink.close();
    sink.mkdir('c');
    sink.writeFile('c/tool.sh', Buffer.from('#!/bin/sh\n'), 0o755);
    sink.writeFile('c/empty', Buffer.alloc(0), 0o644);
    await sink.drain();

    expect(errors).toEqual([]);
    expect(await readFile(path.join(dest, 'a/b/first.txt'), 'utf8')).toBe('first\n');
    expect((await readFile(path.join(dest, 'a/big.bin'))).equals(Buffer.concat([before, after]))).toBe(true);
    expect((await stat(path.join(dest, 'a/big.bin'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(dest, 'c/tool.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(dest, 'c/empty'))).size).toBe(0);
    expect(await openInDest()).toEqual([]);
  });

  it('ends with no worker call when the worker never took over', async () => {
    const { sink, errors } = sinkWithErrors();
    sink.writeFile('only.txt', Buffer.from('x'), 0o644);
    await sink.drain();
    expect(errors).toEqual([]);
    expect(await readdir(dest)).toEqual(['only.txt']);
  });

  it('reports the first failure of the worker once, makes no call after it, and closes its file', async () => {
    const { sink, errors, firstError } = sinkWithErrors();
    await sink.takenOver;
    sink.writeFile('taken', Buffer.from('1'), 0o644);
    sink.open('streaming', 0o644);
    sink.append(Buffer.from('part'));
    sink.writeFile('taken', Buffer.from('2'), 0o644);
    sink.writeFile('never', Buffer.from('3'), 0o644);
    await firstError;
    await sink.abort();
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual(['EEXIST']);
    expect((await readdir(dest)).sort()).toEqual(['streaming', 'taken']);
    expect(await readFile(path.join(dest, 'taken'), 'utf8')).toBe('1');
    expect(await openInDest()).toEqual([]);
  });

  it('rejects drain with a failure that comes while it waits, without reporting it twice', async () => {
    const { sink, errors } = sinkWithErrors();
    await sink.takenOver;
    sink.writeFile('same', Buffer.from('1'), 0o644);
    sink.writeFile('same', Buffer.from('2'), 0o644);
    await expect(sink.drain()).rejects.toMatchObject({ code: 'EEXIST' });
    expect(errors).toEqual([]);
  });

  it('stops on abort, here or on the worker, with nothing left open', async () => {
    const early = sinkWithErrors();
    early.sink.open('here.bin', 0o644);
    early.sink.append(Buffer.from('x'));
    await early.sink.abort();
    expect(await openInDest()).toEqual([]);

    const late = sinkWithErrors();
    await late.sink.takenOver;
    late.sink.open('there.bin', 0o644);
    late.sink.append(randomBytes(1000));
    await late.sink.abort();
    expect(await openInDest()).toEqual([]);
    expect([...early.errors, ...late.errors]).toEqual([]);
  });

  it('asks the parser to wait while over 4 MB are posted and not written, and lets it go on after', async () => {
    const { sink, errors } = sinkWithErrors();
    await sink.takenOver;
    const chunk = randomBytes(1024 * 1024);
    sink.open('large.bin', 0o644);
    for (let index = 0; index < 6; index++) sink.append(chunk);
    const room = sink.whenRoom();
    expect(room).toBeInstanceOf(Promise);
    await room;
    sink.close();
    await sink.drain();
    expect(errors).toEqual([]);
    expect((await stat(path.join(dest, 'large.bin'))).size).toBe(6 * chunk.length);
  });
});
