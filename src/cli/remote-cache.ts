import type { RemoteCacheSettings } from '../install/remote-cache/settings.js';
import type { Env, Settings } from '../project/config.js';

/**
 * The team cache of an installing command (SPEC §10): NPKG_REMOTE_CACHE or
 * remoteCache, NPKG_REMOTE_CACHE_TOKEN, and --remote-cache-write over
 * NPKG_REMOTE_CACHE_WRITE. A malformed value is exit 2 even with --offline.
 * Its parser loads only when one of them is set: a plain no-op install skips it.
 */
export async function remoteCacheSettings(settings: Settings, env: Env, writeFlag: boolean | undefined): Promise<RemoteCacheSettings | undefined> {
  if (settings.remoteCacheUrl === undefined && !env.NPKG_REMOTE_CACHE_WRITE) return undefined;
  const { resolveRemoteCache } = await import('../install/remote-cache/settings.js');
  return resolveRemoteCache({
    url: settings.remoteCacheUrl,
    urlSource: settings.remoteCacheSource,
    token: env.NPKG_REMOTE_CACHE_TOKEN,
    writeFlag,
    writeEnv: env.NPKG_REMOTE_CACHE_WRITE,
  });
}
