import type { Agent } from 'node:http';
import { NpkgError } from '../util/errors.js';

/*
 * HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (either case), as curl and
 * npm read them. Nothing here is loaded unless one of them is set.
 */

const PROXY_VARIABLE = /^(?:https?|all)_proxy$/i;

export function proxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Object.keys(env).some((name) => PROXY_VARIABLE.test(name) && env[name] !== '');
}

export interface ProxyRoute {
  agent: Agent;
  /** host:port of the proxy, for messages (never its user or password). */
  host: string;
}

const routes = new Map<string, ProxyRoute>();

/** How to reach `url` through the proxy the environment names for it; undefined to go direct. */
export async function proxyRouteFor(url: URL): Promise<ProxyRoute | undefined> {
  if (!proxyConfigured()) return undefined;
  const { getProxyForUrl } = await import('proxy-from-env');
  const proxy = getProxyForUrl(url.toString());
  if (proxy === '') return undefined;
  const key = `${url.protocol} ${proxy}`;
  let route = routes.get(key);
  if (route === undefined) {
    // https targets through a CONNECT tunnel; plain http ones (loopback tests) as absolute-form requests.
    const agent =
      url.protocol === 'https:'
        ? new (await import('https-proxy-agent')).HttpsProxyAgent(proxy, { keepAlive: true })
        : new (await import('http-proxy-agent')).HttpProxyAgent(proxy, { keepAlive: true });
    route = { agent, host: new URL(proxy).host };
    routes.set(key, route);
  }
  return route;
}

const dispatchers = new Map<string, unknown>();

/** The network timeout of this run (--network-timeout / NPKG_NETWORK_TIMEOUT), set once by loadSettings. */
let fetchTimeoutMs = 30_000;

export function setFetchTimeout(ms: number): void {
  fetchTimeoutMs = ms;
}

/**
 * Global fetch for the OAuth requests: through the proxy the environment
 * names for the URL, if any, and bounded by the network timeout so that a
 * silent token endpoint ends in a clear error.
 */
export async function proxiedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const options: RequestInit = { ...init, signal: init.signal ?? AbortSignal.timeout(fetchTimeoutMs) };
  const proxy = proxyConfigured() ? (await import('proxy-from-env')).getProxyForUrl(url) : '';
  if (proxy !== '') {
    let dispatcher = dispatchers.get(proxy);
    if (dispatcher === undefined) {
      dispatcher = new (await import('undici')).ProxyAgent(proxy);
      dispatchers.set(proxy, dispatcher);
    }
    // Node's fetch is undici: it takes an undici dispatcher, an option its RequestInit type does not name.
    Object.assign(options, { dispatcher });
  }
  const host = new URL(url).host;
  // The body is read here, under the same timeout: the answers are small token documents.
  const exchange = async () => {
    const response = await fetch(url, options);
    const body = await response.arrayBuffer();
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return exchange().catch((error: unknown) => {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError') throw new NpkgError('NETWORK', `no answer from ${host} within the network timeout (--network-timeout)`, { retryable: true });
    const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
    const code = String(cause?.code ?? cause?.message ?? (error as Error).message);
    throw new NpkgError('NETWORK', `network error talking to ${host}${proxy === '' ? '' : ` through the proxy ${new URL(proxy).host}`}: ${code}`, { retryable: true, cause: error });
  });
}
