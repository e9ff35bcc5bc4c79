import type { Agent } from 'node:http';

/*
 * HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (either case), as curl and
 * npm read them. Nothing here is loaded unless one of them is set.
 */

const PROXY_VARIABLE = /^(?:npm_config_)?(?:https?|all)_proxy$/i;

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

/** Global fetch (the OAuth requests), through the proxy the environment names for the URL, if any. */
export async function proxiedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  if (!proxyConfigured()) return fetch(url, init);
  const { getProxyForUrl } = await import('proxy-from-env');
  const proxy = getProxyForUrl(url);
  if (proxy === '') return fetch(url, init);
  let dispatcher = dispatchers.get(proxy);
  if (dispatcher === undefined) {
    dispatcher = new (await import('undici')).ProxyAgent(proxy);
    dispatchers.set(proxy, dispatcher);
  }
  // Node's fetch is undici: it takes an undici dispatcher, an option its RequestInit type does not name.
  return fetch(url, { ...init, dispatcher } as RequestInit);
}
