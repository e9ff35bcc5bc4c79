import { NpkgError } from '../../util/errors.js';
import { parseRemoteCacheTarget, type RemoteCacheTarget } from './target.js';

/** The remote cache settings of a run, resolved; undefined when no cache is configured. */
export interface RemoteCacheSettings {
  target: RemoteCacheTarget;
  write: boolean;
}

/** The raw values, read once at the edge (the CLI or loadSettings), with where each came from. */
export interface RemoteCacheInputs {
  /** NPKG_REMOTE_CACHE, else remoteCache of config.json. */
  url: string | undefined;
  /** Where `url` came from, for the exit-2 message: "NPKG_REMOTE_CACHE", "remoteCache in /…/config.json". */
  urlSource: string;
  /** NPKG_REMOTE_CACHE_TOKEN. */
  token: string | undefined;
  /** --remote-cache-write (wins over the environment when given). */
  writeFlag: boolean | undefined;
  /** NPKG_REMOTE_CACHE_WRITE. */
  writeEnv: string | undefined;
}

/**
 * Flags, then environment, then config.json (SPEC §10). A malformed URL,
 * token or NPKG_REMOTE_CACHE_WRITE is a USAGE error (exit 2), even when the
 * run would not use the cache (--offline): a typo should not go unseen.
 */
export function resolveRemoteCache(inputs: RemoteCacheInputs): RemoteCacheSettings | undefined {
  const write = inputs.writeFlag ?? parseWrite(inputs.writeEnv);
  // Writes without a cache are nothing to do (a CI-wide NPKG_REMOTE_CACHE_WRITE=1 on an agent without one).
  if (inputs.url === undefined || inputs.url === '') return undefined;
  return { target: parseRemoteCacheTarget(inputs.url, inputs.urlSource, inputs.token), write };
}

function parseWrite(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new NpkgError('USAGE', `NPKG_REMOTE_CACHE_WRITE must be 1 or 0, not "${value}"`);
}
