import { mkdirSync, renameSync, statSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { hasErrnoCode } from '../util/errors.js';
import { tempSuffix } from '../util/json-file.js';

const STAGING_PREFIX = '.npkg-staging-';
const OLD_PREFIX = '.npkg-old-';

/** Removes what a killed npkg may have left: staging trees and replaced trees not yet deleted. */
export async function removeLeftovers(vendorPath: string): Promise<void> {
  const names = await readdir(vendorPath);
  await Promise.all(
    names
      .filter((name) => name.startsWith(STAGING_PREFIX) || name.startsWith(OLD_PREFIX))
      .map((name) => rm(path.join(vendorPath, name), { recursive: true, force: true })),
  );
}

/** A fresh staging folder inside vendorDir, so the final rename stays on one file system. */
export async function makeStaging(vendorPath: string, name: string): Promise<string> {
  // Not mkdtemp: that makes a private (0700) folder, and the module folder should read like any other.
  const dir = path.join(vendorPath, `${STAGING_PREFIX}${name}-${tempSuffix()}`);
  mkdirSync(dir, { mode: 0o755 });
  return dir;
}

/*
 * The renames, mkdir and stat here are synchronous on purpose: they are single
 * metadata calls, and a thread-pool round trip costs more than the call itself.
 */

/**
 * Puts a staged tree in place: the old folder is renamed away, the new one
 * renamed in, the old one deleted. At any moment the folder is wholly old,
 * wholly new, or (between the two renames) absent.
 */
export async function swapIn(vendorPath: string, name: string, staging: string): Promise<void> {
  const target = path.join(vendorPath, name);
  const old = path.join(vendorPath, `${OLD_PREFIX}${name}-${tempSuffix()}`);
  let hadOld = true;
  try {
    renameSync(target, old);
  } catch (error) {
    if (!hasErrnoCode(error, 'ENOENT')) throw error;
    hadOld = false;
  }
  renameSync(staging, target);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Deletes a module folder: renamed away first, so it never shows half-deleted. */
export async function removeFolder(vendorPath: string, name: string): Promise<void> {
  const target = path.join(vendorPath, name);
  const old = path.join(vendorPath, `${OLD_PREFIX}${name}-${tempSuffix()}`);
  try {
    await rename(target, old);
  } catch (error) {
    if (hasErrnoCode(error, 'ENOENT')) return;
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

export async function isFolder(file: string): Promise<boolean> {
  try {
    return statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch (error) {
    if (hasErrnoCode(error, 'ENOTDIR')) return false;
    throw error;
  }
}
