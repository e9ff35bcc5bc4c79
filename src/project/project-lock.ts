import path from 'node:path';
import { acquireLock, type LockOptions } from '../util/lock-file.js';

export const PROJECT_LOCK_FILE = '.npkg.lock';

/** SPEC §8: one npkg at a time per project, `<vendorDir>/.npkg.lock`. */
export function acquireProjectLock(vendorPath: string, options: LockOptions): Promise<() => Promise<void>> {
  return acquireLock(path.join(vendorPath, PROJECT_LOCK_FILE), { what: `working in ${vendorPath}`, ...options });
}
