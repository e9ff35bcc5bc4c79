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

/** Writes enough small files for the worker to start, and waits until it makes the calls. */
async function takeOver(sink: Sink): Promise<void> {
  sink.mkdir('pre');
  for (let index = 0; index < 64; index++) sink.writeFile(`pre/${index}`, Buffer.from(`${index}`), 0o644);
  await sink.takenOver;
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
  it('makes the small-file calls here, then on the worker once it is ready; big files stream here, into a folder the worker may not have made yet', async () => {
    const { sink, errors } = sinkWithErrors();
    await takeOver(sink);
    const big = randomBytes(1_500_000);
    sink.mkdir('x/y');
    sink.open('x/y/big.bin', 0o755);
    sink.append(big.subarray(0, 700_000));
    sink.append(big.subarray(700_000));
    sink.close();
    sink.writeFile('x/y/tool.sh', Buffer.from('#!/bin/sh\n'), 0o755);
    sink.writeFile('x/empty', Buffer.alloc(0), 0o644);
    await sink.drain();

    expect(errors).toEqual([]);
    expect((await readdir(path.join(dest, 'pre'))).length).toBe(64);
    expect(await readFile(path.join(dest, 'pre/63'), 'utf8')).toBe('63');
    expect((await readFile(path.join(dest, 'x/y/big.bin'))).equals(big)).toBe(true);
    expect((await stat(path.join(dest, 'x/y/big.bin'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(dest, 'x/y/tool.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(dest, 'x/empty'))).size).toBe(0);
    expect(await openInDest()).toEqual([]);
  });

  it('writes an archive of few small files here alone', async () => {
    const { sink, errors } = sinkWithErrors();
    sink.writeFile('only.txt', Buffer.from('x'), 0o644);
    sink.open('big.bin', 0o644);
    sink.append(Buffer.from('y'));
    sink.close();
    await sink.drain();
    expect(errors).toEqual([]);
    expect((await readdir(dest)).sort()).toEqual(['big.bin', 'only.txt']);
  });

  it('reports the first failure of the worker once and makes no call after it', async () => {
    const { sink, errors, firstError } = sinkWithErrors();
    await takeOver(sink);
    sink.writeFile('taken', Buffer.from('1'), 0o644);
    sink.writeFile('taken', Buffer.from('2'), 0o644);
    sink.writeFile('never', Buffer.from('3'), 0o644);
    await firstError;
    await sink.abort();
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual(['EEXIST']);
    expect((await readdir(dest)).sort()).toEqual(['pre', 'taken']);
    expect(await readFile(path.join(dest, 'taken'), 'utf8')).toBe('1');
  });

  it('rejects drain with a failure that comes while it waits, without reporting it twice', async () => {
    const { sink, errors } = sinkWithErrors();
    await takeOver(sink);
    sink.writeFile('same', Buffer.from('1'), 0o644);
    sink.writeFile('same', Buffer.from('2'), 0o644);
    await expect(sink.drain()).rejects.toMatchObject({ code: 'EEXIST' });
    expect(errors).toEqual([]);
  });

  it('stops on abort, before or after the worker took over, with nothing left open', async () => {
    const early = sinkWithErrors();
    early.sink.open('here.bin', 0o644);
    early.sink.append(Buffer.from('x'));
    await early.sink.abort();
    expect(await openInDest()).toEqual([]);

    const late = sinkWithErrors();
    await takeOver(late.sink);
    late.sink.open('there.bin', 0o644);
    late.sink.append(randomBytes(1000));
    late.sink.writeFile('queued', Buffer.from('q'), 0o644);
    await late.sink.abort();
    expect(await openInDest()).toEqual([]);
    expect([...early.errors, ...late.errors]).toEqual([]);
  });

  it('asks the parser to wait while over 4 MB are posted and not written, and lets it go on after', async () => {
    const { sink, errors } = sinkWithErrors();
    await takeOver(sink);
    const content = randomBytes(1024 * 1024);
    for (let index = 0; index < 6; index++) sink.writeFile(`mb-${index}`, content, 0o644);
    const room = sink.whenRoom();
    expect(room).toBeInstanceOf(Promise);
    await room;
    await sink.drain();
    expect(errors).toEqual([]);
    expect((await stat(path.join(dest, 'mb-5'))).size).toBe(content.length);
  });
});
