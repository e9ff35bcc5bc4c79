/** Stable error codes; the CLI maps them to exit codes in one place. */
export type ErrorCode =
  | 'USAGE'
  | 'MANIFEST_NOT_FOUND'
  | 'MANIFEST_INVALID'
  | 'LOCKFILE_INVALID'
  | 'LOCKFILE_OUTDATED'
  | 'NO_CREDENTIAL'
  | 'CREDENTIAL_REFUSED'
  | 'REF_NOT_FOUND'
  | 'REPO_NOT_FOUND'
  | 'PATH_NOT_FOUND'
  | 'INTEGRITY_MISMATCH'
  | 'LOCAL_CHANGES'
  | 'NOT_AN_ARCHIVE'
  | 'HOSTILE_ARCHIVE'
  | 'CACHE_MISS'
  | 'PROJECT_LOCKED'
  | 'NETWORK'
  | 'TIMEOUT'
  | 'SERVER'
  /** The local disk refused: no space, no permission, read-only. */
  | 'FILE_SYSTEM';

export interface ErrorDetails {
  /** Extra lines shown with --verbose only (URLs without secrets, status, body excerpt). */
  detail?: string[];
  /** Whether a retry may succeed (network errors, 429, 5xx). */
  retryable?: boolean;
  /** Milliseconds the server asked us to wait (Retry-After). */
  retryAfterMs?: number;
  cause?: unknown;
}

/** The one error class of npkg: a one-line message that says what to do, plus a stable code. */
export class NpkgError extends Error {
  readonly code: ErrorCode;
  readonly detail: string[];
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'NpkgError';
    this.code = code;
    this.detail = details.detail ?? [];
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs;
  }
}

const CREDENTIAL_CODES: ReadonlySet<ErrorCode> = new Set(['NO_CREDENTIAL', 'CREDENTIAL_REFUSED']);
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'USAGE',
  'MANIFEST_NOT_FOUND',
  'MANIFEST_INVALID',
  'LOCKFILE_INVALID',
  'LOCKFILE_OUTDATED',
]);

/** SPEC §4: 0 success, 1 run-time failure, 2 usage/manifest/lockfile, 4 no usable credential. */
export function exitCodeFor(code: ErrorCode): 1 | 2 | 4 {
  if (CREDENTIAL_CODES.has(code)) return 4;
  if (USAGE_CODES.has(code)) return 2;
  return 1;
}

/** The exit code of a command whose modules failed with these codes: the gravest decides (4, then 2, else 1). */
export function exitCodeForFailures(codes: ErrorCode[]): 1 | 2 | 4 {
  const exits = new Set(codes.map(exitCodeFor));
  return exits.has(4) ? 4 : exits.has(2) ? 2 : 1;
}

const FILE_SYSTEM_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'ENFILE', 'EIO']);

/** Wraps anything thrown into an NpkgError, keeping the original as the cause; a local disk error is FILE_SYSTEM. */
export function asNpkgError(error: unknown, fallback: ErrorCode = 'SERVER'): NpkgError {
  if (error instanceof NpkgError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return new NpkgError(typeof code === 'string' && FILE_SYSTEM_ERRORS.has(code) ? 'FILE_SYSTEM' : fallback, message, { cause: error });
}

export function hasErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
