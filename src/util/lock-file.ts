import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { NpkgError, hasErrnoCode } from './errors.js';

interface LockOwner {
  pid: number;
  host: string;
  /** When the owner started (Linux), to tell it from a later process given the same pid. */
  started?: string;
}

export interface LockOptions {
  waitMs: number;
  pollMs?: number;
  onWait?: (owner: string) => void;
  /** What the lock guards, for the timeout message. */
  what?: string;
}

/**
 * A lock file created exclusively, holding the owner's pid and host. A lock
 * left by a process that no longer runs is taken over.
 */
export async function acquireLock(file: string, options: LockOptions): Promise<() => Promise<void>> {
  const deadline = Date.now() + options.waitMs;
  let told = false;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      const owner: LockOwner = { pid: process.pid, host: hostname(), started: processStart(process.pid) };
      await handle.writeFile(JSON.stringify(owner));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if (!hasErrnoCode(error, 'EEXIST')) throw error;
    }
    const text = await readText(file);
    if (text === undefined) continue; // released meanwhile
    const owner = parseOwner(text);
    if (owner === undefined ? await isAbandoned(file) : isStale(owner)) {
      await takeOver(file, text);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new NpkgError(
        'PROJECT_LOCKED',
        `another npkg (${describe(owner)}) is ${options.what ?? 'holding a lock'}; waited ${Math.round(options.waitMs / 1000)} s: try again when it ends, or delete ${file} if no npkg runs`,
      );
    }
    if (!told) options.onWait?.(describe(owner));
    told = true;
    await sleep(options.pollMs ?? 100);
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** The owner in a lock file's text; undefined while it is being written (empty) or if it is damaged. */
function parseOwner(text: string): LockOwner | undefined {
  try {
    const data = JSON.parse(text) as Partial<LockOwner> | null;
    if (typeof data?.pid !== 'number' || typeof data.host !== 'string') return undefined;
    return { pid: data.pid, host: data.host, ...(typeof data.started === 'string' ? { started: data.started } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Deletes a stale lock file, unless another process took it over meanwhile:
 * under a short second lock, the file goes only if it still holds `staleText`.
 * (Without that, two processes judging the same lock stale could both take it.)
 */
async function takeOver(file: string, staleText: string): Promise<void> {
  const guard = `${file}.takeover`;
  let handle;
  try {
    handle = await open(guard, 'wx');
  } catch (error) {
    if (!hasErrnoCode(error, 'EEXIST')) throw error;
    // Another process is taking over right now; a guard that stays for seconds was left by a kill.
    if (await isAbandoned(guard)) await rm(guard, { force: true });
    return;
  }
  try {
    if ((await readText(file)) === staleText) await rm(file, { force: true });
  } finally {
    await handle.close();
    await rm(guard, { force: true });
  }
}

/**
 * Stale when its process is gone, or when its pid now belongs to a process
 * that started at another time; only decidable for locks taken on this host.
 */
function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if (hasErrnoCode(error, 'ESRCH')) return true;
    // EPERM: alive, but another user's: its start time still tells whether it is the owner.
    if (!hasErrnoCode(error, 'EPERM')) return false;
  }
  const started = processStart(owner.pid);
  return owner.started !== undefined && started !== undefined && started !== owner.started;
}

/** A process's start time in clock ticks since boot, from /proc (Linux); undefined elsewhere. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command name, is in parentheses and may hold spaces: count the fields after it.
    // The start time is field 22, the 20th after the name.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** A lock file that stayed unreadable for seconds was left by a process killed while writing it. */
async function isAbandoned(file: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(file)).mtimeMs > 5_000;
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return false;
    throw error;
  }
}

function describe(owner: LockOwner | undefined): string {
  return owner === undefined ? 'unknown process' : `pid ${owner.pid} on ${owner.host}`;
}
