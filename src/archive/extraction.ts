import { NpkgError, asNpkgError } from '../util/errors.js';

/** What the steps of a pass use: its first failure, fail, and the tracking of writes. */
export type PassControl = Pick<Extraction<unknown>, 'failure' | 'fail' | 'track'>;

/**
 * The life of one extraction pass: the work still running (the cache copy), the first
 * failure (which stops everything else), and the end, which comes once the
 * archive is parsed and every write has settled (or, after a failure, once
 * every open file is closed, so the caller can remove the staging folder).
 */
export class Extraction<Result> {
  failure: NpkgError | undefined;
  private parsed = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly aborts: Array<(failure: NpkgError) => void> = [];

  constructor(
    private readonly label: string,
    private readonly finish: () => Promise<Result>,
    private readonly resolve: (result: Result) => void,
    private readonly reject: (error: NpkgError) => void,
  ) {}

  /** Called once on the first failure, in the order registered: stop reading, close what is open. */
  onAbort(stop: (failure: NpkgError) => void): void {
    this.aborts.push(stop);
  }

  /** Records the first failure and stops the pass; later ones are consequences and dropped. */
  readonly fail = (error: unknown): void => {
    if (this.failure !== undefined) return;
    const failure = mapStreamError(error, this.label);
    this.failure = failure;
    for (const stop of this.aborts) stop(failure);
    void this.settle();
  };

  /** A write the end waits for; its failure fails the pass. */
  track(work: Promise<void>): void {
    const tracked = work.catch(this.fail).finally(() => {
      this.pending.delete(tracked);
      void this.settle();
    });
    this.pending.add(tracked);
  }

  /** The parser has seen the whole archive. */
  parsedAll(): void {
    if (this.failure !== undefined) return;
    this.parsed = true;
    void this.settle();
  }

  private async settle(): Promise<void> {
    if (this.pending.size > 0 || (!this.parsed && this.failure === undefined)) return;
    if (this.failure !== undefined) return this.reject(this.failure);
    this.parsed = false; // settle once
    try {
      this.resolve(await this.finish());
    } catch (error) {
      this.reject(asNpkgError(error));
    }
  }
}

function mapStreamError(error: unknown, label: string): NpkgError {
  if (error instanceof NpkgError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'TAR_BAD_ARCHIVE' || code === 'TAR_ENTRY_INVALID') {
    return new NpkgError('NOT_AN_ARCHIVE', `the archive of ${label} is not a valid .tar.gz (${(error as Error).message})`, { cause: error, retryable: true });
  }
  return asNpkgError(error, 'NETWORK');
}
