import type { IncomingMessage } from 'node:http';
import { closeSync, createReadStream, fstat, open as openFd, type ReadStream } from 'node:fs';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { ConnectionError, get } from '../../net/request.js';
import { proxyRouteFor } from '../../net/proxy.js';
import { NpkgError } from '../../util/errors.js';

/*
 * GET and PUT of one object of the team cache (the protocol of Bazel's and
 * Gradle's HTTP caches: 200 hit, 404 miss, any 2xx stored). Everything that
 * is not a hit, a miss or a store is a RemoteCacheUnavailable, which the
 * caller turns into one warning: the cache can never fail an install.
 */

export type UnavailableReason =
  /** Refused, reset, DNS, TLS: no answer at all. */
  | 'unreachable'
  /** No connection, no headers or no data within the network timeout. */
  | 'timeout'
  /** 401 or 403: the cache's credential is missing or wrong. */
  | 'refused'
  /** 5xx. */
  | 'server'
  /** Anything else: another 4xx (413 too large), a redirect on PUT, a 1xx/3xx left over. */
  | 'rejected';

/** The cache did not serve or store an object; says why, with the cache named without secrets. */
export class RemoteCacheUnavailable extends NpkgError {
  constructor(
    readonly reason: UnavailableReason,
    readonly method: 'GET' | 'PUT',
    message: string,
    details: { detail?: string[]; cause?: unknown } = {},
  ) {
    super(reason === 'unreachable' || reason === 'timeout' ? 'NETWORK' : 'SERVER', message, details);
    this.name = 'RemoteCacheUnavailable';
  }
}

export interface ObjectRequest {
  /** The key's full URL, without credentials (see remoteCacheKey). */
  url: string;
  /** The cache's own Authorization header, if any. */
  authorization: string | undefined;
  /** Bounds connecting and every wait for data (--network-timeout). */
  timeoutMs: number;
  /** How the cache is named in messages (RemoteCacheTarget.display). */
  display: string;
}

export interface CacheHit {
  /** The archive's bytes; ends in an error if the connection dies or stalls. */
  stream: IncomingMessage;
  /** Content-Length when the cache sent one. */
  size: number | undefined;
}

/** GET a key: the body on 200, undefined on 404, RemoteCacheUnavailable otherwise. Redirects are followed. */
export async function getObject(request: ObjectRequest): Promise<CacheHit | undefined> {
  let response;
  try {
    // request.get drops the Authorization header when a redirect leaves the cache's origin.
    response = await get(request.url, { headers: headersFor(request), timeoutMs: request.timeoutMs });
  } catch (error) {
    throw connectionFailure(error, 'GET', request);
  }
  const status = response.statusCode;
  if (status === 200) {
    const length = response.headers['content-length'] === undefined ? Number.NaN : Number(response.headers['content-length']);
    return { stream: response.body, size: Number.isSafeInteger(length) && length >= 0 ? length : undefined };
  }
  response.body.resume();
  if (status === 404) return undefined;
  throw statusFailure(status, 'GET', request);
}

/**
 * PUT a local file to a key, streamed from disk with its Content-Length
 * (node:http and a pipeline: global fetch holds several times the file in
 * memory). Any 2xx is stored; returns the bytes sent. A redirect is not
 * followed: the body is gone.
 */
export async function putObject(request: ObjectRequest, file: string): Promise<number> {
  // One descriptor for the size and the bytes: the Content-Length is that of the file actually sent.
  const fd = await promisify(openFd)(file, 'r');
  let body: ReadStream;
  let size: number;
  try {
    size = (await promisify(fstat)(fd)).size;
    // The stream owns the descriptor from here: it closes it when it ends or is destroyed.
    body = createReadStream(file, { fd, highWaterMark: 256 * 1024 });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const status = await send(new URL(request.url), request, size, body);
  if (status < 200 || status >= 300) throw statusFailure(status, 'PUT', request);
  return size;
}

function send(url: URL, request: ObjectRequest, size: number, body: ReadStream): Promise<number> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const { request: openRequest } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
      const proxy = await proxyRouteFor(url);
      const headers = { ...headersFor(request), 'content-type': 'application/gzip', 'content-length': String(size) };
      const outgoing = openRequest(url, { method: 'PUT', headers, ...(proxy === undefined ? {} : { agent: proxy.agent }) });
      // Idle for timeoutMs (connecting, sending, or waiting for the answer): ETIMEDOUT.
      outgoing.setTimeout(request.timeoutMs, () => outgoing.destroy(new ConnectionError(`timeout after ${request.timeoutMs} ms`, 'ETIMEDOUT')));
      let answered = false;
      outgoing.on('response', (response) => {
        answered = true;
        // The status is the answer; whatever body comes with it is drained and dropped.
        response.on('error', () => undefined).resume();
        const status = response.statusCode ?? 0;
        // An early refusal (401 before the body is all sent): stop sending, the answer is known.
        if (status < 200 || status >= 300) outgoing.destroy();
        resolve(status);
      });
      // After an answer, a broken pipe is the server closing on us: the status says what happened.
      const fail = (error: unknown) => {
        if (!answered) reject(connectionFailure(error, 'PUT', request));
      };
      // The request's own errors count after the body is sent too (a timeout waiting for the answer).
      outgoing.on('error', fail);
      pipeline(body, outgoing).catch(fail);
    })().catch((error: unknown) => {
      body.destroy();
      reject(error);
    });
  });
}

function headersFor(request: ObjectRequest): Record<string, string> {
  return { 'user-agent': 'npkg', ...(request.authorization === undefined ? {} : { authorization: request.authorization }) };
}

function connectionFailure(error: unknown, method: 'GET' | 'PUT', request: ObjectRequest): RemoteCacheUnavailable {
  if (error instanceof RemoteCacheUnavailable) return error;
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const detail = [`${method} ${request.url}`];
  if (code === 'ETIMEDOUT') {
    return new RemoteCacheUnavailable('timeout', method, `no answer from the remote cache ${request.display} within the network timeout (--network-timeout)`, { detail, cause: error });
  }
  const why = code || (error instanceof Error ? error.message : String(error));
  return new RemoteCacheUnavailable('unreachable', method, `cannot reach the remote cache ${request.display}: ${why}`, { detail, cause: error });
}

function statusFailure(status: number, method: 'GET' | 'PUT', request: ObjectRequest): RemoteCacheUnavailable {
  const detail = [`${method} ${request.url} → ${status}`];
  if (status === 401 || status === 403) {
    const hint = request.authorization === undefined ? 'it needs a credential' : 'check its credential';
    return new RemoteCacheUnavailable(
      'refused',
      method,
      `the remote cache ${request.display} refused ${method} (${status}): ${hint} (NPKG_REMOTE_CACHE_TOKEN, or user:password@ in its URL)`,
      { detail },
    );
  }
  if (status >= 500) return new RemoteCacheUnavailable('server', method, `the remote cache ${request.display} answered ${method} with ${status}`, { detail });
  const hint = status === 413 ? ' (too large: nginx needs `client_max_body_size 0`)' : status >= 300 && status < 400 ? ' (uploads do not follow redirects)' : '';
  return new RemoteCacheUnavailable('rejected', method, `the remote cache ${request.display} answered ${method} with ${status}${hint}`, { detail });
}
