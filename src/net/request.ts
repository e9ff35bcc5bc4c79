import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { proxyRouteFor, type ProxyRoute } from './proxy.js';

export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered, after redirects. */
  url: string;
  /** The body, not yet read: a stream that ends in an error if the connection dies or stalls. */
  body: IncomingMessage;
}

export interface RequestOptions {
  headers: Record<string, string>;
  /** Bounds connecting and every wait for data. */
  timeoutMs: number;
  maxRedirects?: number;
  /** Called once the first request has been handed to the network. */
  onSent?: () => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** An error of the connection itself (refused, reset, timed out), as opposed to an HTTP answer. */
export class ConnectionError extends Error {
  /** The proxy the connection went through, if any (host:port). */
  proxy?: string;

  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConnectionError';
  }
}

/**
 * GET with redirects followed. The Authorization header is dropped as soon
 * as a redirect leaves the origin it was meant for: Bitbucket may send
 * archives to a storage host that must never see the token.
 */
export async function get(url: string, options: RequestOptions): Promise<HttpResponse> {
  let current = new URL(url);
  const origin = current.origin;
  for (let hops = 0; ; hops++) {
    const headers = { ...options.headers };
    if (current.origin !== origin) delete headers.authorization;
    const request = current.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
    const response = await send(request, current, headers, options.timeoutMs, await proxyRouteFor(current), hops === 0 ? options.onSent : undefined);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.statusCode ?? 0) || location === undefined) {
      return { statusCode: response.statusCode ?? 0, headers: response.headers, url: current.toString(), body: response };
    }
    response.resume();
    if (hops >= (options.maxRedirects ?? 10)) throw new ConnectionError(`too many redirects from ${new URL(url).host}`, 'ETOOMANYREDIRECTS');
    const next = new URL(location, current);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new ConnectionError(`redirect to an unsupported URL scheme ${next.protocol}`, 'EBADREDIRECT');
    current = next;
  }
}

function send(
  open: typeof httpRequest,
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  proxy: ProxyRoute | undefined,
  onSent: (() => void) | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = open(url, { method: 'GET', headers, ...(proxy === undefined ? {} : { agent: proxy.agent }) });
    // An idle socket (no connection, no headers, or no body data for timeoutMs) ends in ETIMEDOUT.
    request.setTimeout(timeoutMs, () => request.destroy(new ConnectionError(`timeout after ${timeoutMs} ms`, 'ETIMEDOUT')));
    request.on('error', (error: NodeJS.ErrnoException) => reject(asConnectionError(error, proxy)));
    request.on('response', (response) => {
      // Errors after the headers (reset, stall) surface on the body stream: its reader sees them
      // as an 'error' event or, if they came before it started reading, as `body.errored`.
      // This listener only keeps such an early error from crashing the process meanwhile.
      response.on('error', () => undefined);
      request.removeAllListeners('error');
      request.on('error', (error: NodeJS.ErrnoException) => response.destroy(asConnectionError(error, proxy)));
      resolve(response);
    });
    if (onSent !== undefined) request.once('finish', onSent);
    request.end();
  });
}

function asConnectionError(error: NodeJS.ErrnoException, proxy: ProxyRoute | undefined): ConnectionError {
  const connection = error instanceof ConnectionError ? error : new ConnectionError(error.message, error.code ?? 'ECONNECTION', { cause: error });
  if (proxy !== undefined) connection.proxy = proxy.host;
  return connection;
}

/** Reads a body as text, up to `limit` bytes (API answers are small; a huge one is an error). */
export async function readText(body: IncomingMessage, limit = 8 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new ConnectionError(`answer larger than ${limit} bytes`, 'ETOOLARGE');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
