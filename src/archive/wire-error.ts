/** Errors as they cross a thread boundary (the archive worker, the file thread): posted as plain data, rebuilt on the other side. */
import { NpkgError, type ErrorCode } from '../util/errors.js';

/** An error as it crosses the thread boundary: NpkgError's fields and its cause chain. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  detail?: string[];
  retryable?: boolean;
  cause?: WireError;
}

export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const wire: WireError = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') wire.code = code;
  if (error instanceof NpkgError) Object.assign(wire, { detail: error.detail, retryable: error.retryable });
  if (error.cause !== undefined && depth < 5) wire.cause = toWire(error.cause, depth + 1);
  return wire;
}

/** An NpkgError again (same code, message, detail, retryable); causes become plain Errors with their name, message and code. */
export function fromWire(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : fromWire(wire.cause);
  if (wire.name === 'NpkgError') {
    return new NpkgError(wire.code as ErrorCode, wire.message, { detail: wire.detail ?? [], retryable: wire.retryable ?? false, ...(cause === undefined ? {} : { cause }) });
  }
  const error = new Error(wire.message, cause === undefined ? undefined : { cause });
  error.name = wire.name;
  if (wire.code !== undefined) Object.assign(error, { code: wire.code });
  return error;
}
