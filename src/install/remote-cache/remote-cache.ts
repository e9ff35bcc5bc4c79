import { ConnectionError } from '../../net/request.js';
import { NpkgError } from '../../util/errors.js';
import { getObject, putObject, RemoteCacheUnavailable, type CacheHit, type ObjectRequest } from './http.js';
import { remoteCacheKey, type RemoteCacheTarget } from './target.js';

export interface RemoteCacheOptions {
  target: RemoteCacheTarget;
  /** BITBUCKET_URL: its host and port are part of every key. */
  bitbucketUrl: string;
  /** --network-timeout, in milliseconds. */
  timeoutMs: number;
  /** PUT verified Bitbucket archives (NPKG_REMOTE_CACHE_WRITE=1 or --remote-cache-write). */
  write: boolean;
  onWarning: (message: string) => void;
  /** --verbose lines: each GET and PUT, with its answer, never a credential. */
  onDebug?: (line: string) => void;
}

/** One module's place in the cache. */
export interface ModuleKey {
  workspace: string;
  slug: string;
  commit: string;
}

/**
 * Remembers that the cache failed and says so once per run, whatever the
 * number of modules that ran into it (they may be fetched in parallel).
 */
export class OnceWarning {
  private warned = false;

  constructor(private readonly onWarning: (message: string) => void) {}

  /** Passes the first message on; later ones are dropped. Returns whether this one was shown. */
  warn(message: string): boolean {
    if (this.warned) return false;
    this.warned = true;
    this.onWarning(message);
    return true;
  }
}

/**
 * The team cache of one install run (SPEC §10). It never throws for the
 * cache's own failures: a down, slow, refusing or failing cache is one
 * warning, then skipped for the rest of the run (reads and writes alike
 * when it cannot be reached; only the refused direction on 401/403), and
 * the modules come from Bitbucket.
 */
export class RemoteCache {
  private readonly options: RemoteCacheOptions;
  private readonly outage: OnceWarning;
  private readDown = false;
  private writeDown = false;

  constructor(options: RemoteCacheOptions) {
    this.options = { ...options };
    this.outage = new OnceWarning(options.onWarning);
  }

  /** The cache as messages name it (no credentials). */
  get display(): string {
    return this.options.target.display;
  }

  /** Whether archives from Bitbucket are to be uploaded after their h1 check. */
  get writes(): boolean {
    return this.options.write && !this.writeDown;
  }

  keyFor(module: ModuleKey): string {
    return remoteCacheKey(this.options.target, { bitbucketUrl: this.options.bitbucketUrl, ...module });
  }

  /**
   * The cached archive of a module, or undefined (a miss, or a cache that is
   * unavailable). Only for a module whose lockfile entry has an integrity,
   * and the caller must check the tree's h1 against it before using it.
   */
  async open(module: ModuleKey): Promise<CacheHit | undefined> {
    if (this.readDown) return undefined;
    const request = this.request(this.keyFor(module));
    try {
      const hit = await getObject(request);
      this.options.onDebug?.(`remote cache GET ${request.url} → ${hit === undefined ? '404 (miss)' : `200${hit.size === undefined ? '' : ` (${hit.size} bytes)`}`}`);
      return hit;
    } catch (error) {
      if (!(error instanceof RemoteCacheUnavailable)) throw error;
      this.options.onDebug?.(`remote cache GET ${request.url} → ${error.message}`);
      this.unavailable(error);
      return undefined;
    }
  }

  /**
   * A hit that could not be used: its tree did not hash to the locked h1
   * (pass no error), or its bytes were not a usable archive, or its
   * connection broke mid-way (pass the error). The first two say which
   * module and cache, every time; a broken connection counts as the cache
   * being unavailable. Either way the module is to come from Bitbucket.
   * A local disk error (FILE_SYSTEM) is the caller's to throw, not to pass here.
   */
  unusableHit(label: string, error?: unknown): void {
    if (error !== undefined && isTransferFailure(error)) {
      const reason = error instanceof Error ? error.message : String(error);
      this.unavailable(new RemoteCacheUnavailable('unreachable', 'GET', `the remote cache ${this.display} broke off the archive of ${label}: ${reason}`, { cause: error }));
      return;
    }
    const what = error === undefined ? 'a tree that does not match the lockfile integrity' : `an unusable archive (${error instanceof Error ? error.message : String(error)})`;
    this.options.onWarning(`the remote cache ${this.display} served ${what} for ${label}; downloading it from Bitbucket`);
  }

  /**
   * PUT an archive that came from Bitbucket and passed its h1 check, from
   * its local cache file. Returns whether the cache stored it; a failure is
   * the run's one warning, never an error.
   */
  async store(module: ModuleKey, file: string): Promise<boolean> {
    if (!this.writes) return false;
    const request = this.request(this.keyFor(module));
    try {
      const bytes = await putObject(request, file);
      this.options.onDebug?.(`remote cache PUT ${request.url} (${bytes} bytes) → stored`);
      return true;
    } catch (error) {
      const failure = error instanceof RemoteCacheUnavailable ? error : localFailure(error, file, this.display);
      this.options.onDebug?.(`remote cache PUT ${request.url} → ${failure.message}`);
      this.unavailable(failure);
      return false;
    }
  }

  private request(url: string): ObjectRequest {
    const { target, timeoutMs } = this.options;
    return { url, authorization: target.authorization, timeoutMs, display: target.display };
  }

  private unavailable(error: RemoteCacheUnavailable): void {
    // Refused is about one direction (CI may write, developers only read); anything else is the server.
    if (error.reason !== 'refused' && error.reason !== 'rejected') {
      this.readDown = true;
      this.writeDown = true;
    } else if (error.method === 'GET') this.readDown = true;
    else this.writeDown = true;
    const skipped = this.readDown && this.writeDown ? 'the remote cache is skipped for the rest of this run' : error.method === 'GET' ? 'it is not read for the rest of this run' : 'archives are not uploaded for the rest of this run';
    this.outage.warn(`${error.message}; ${skipped}, modules come from Bitbucket`);
  }
}

/** A connection that broke or stalled while the body streamed, as opposed to bad bytes. */
function isTransferFailure(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  if (!(error instanceof NpkgError)) return false;
  return error.code === 'NETWORK' || error.code === 'TIMEOUT' || error.cause instanceof ConnectionError;
}

/** The local cache file could not be read for the upload: still a warning, never a failed install. */
function localFailure(error: unknown, file: string, display: string): RemoteCacheUnavailable {
  const reason = error instanceof Error ? error.message : String(error);
  return new RemoteCacheUnavailable('rejected', 'PUT', `cannot upload ${file} to the remote cache ${display}: ${reason}`, { cause: error });
}
