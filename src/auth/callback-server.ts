import type { FastifyInstance } from 'fastify';
import { NpkgError, hasErrnoCode } from '../util/errors.js';

export interface CallbackServer {
  /** The redirect URI with the port actually bound (port 0 picks a free one). */
  redirectUri: string;
  /** Resolves with the query of the one callback whose `state` matched. */
  result: Promise<URLSearchParams>;
  close(): Promise<void>;
}

const PAGE = (title: string, text: string) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:sans-serif;margin:4em"><h1>${title}</h1><p>${text}</p></body></html>`;

/** The callback route alone, so it can be tested with `app.inject()`. */
export async function buildCallbackApp(
  path: string,
  /** The expected value, or a getter when it is known only after the server listens (OAuth 1.0a). */
  state: string | (() => string),
  settle: (query: URLSearchParams) => void,
  /** The query parameter that must carry `state`: `state` (OAuth 2.0) or `oauth_token` (OAuth 1.0a). */
  stateParam = 'state',
): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  let done = false;
  app.get(path, async (request, reply) => {
    const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1));
    reply.type('text/html; charset=utf-8');
    if (done) return reply.code(410).send(PAGE('Already signed in', 'npkg already received a login; you can close this tab.'));
    // Only the answer to our own request counts: a forged or stale callback is refused, and we keep waiting.
    const expected = typeof state === 'function' ? state() : state;
    if (expected === '' || query.get(stateParam) !== expected) {
      return reply.code(400).send(PAGE('Wrong login request', 'This answer does not match the login npkg started. Run <code>npkg login</code> again.'));
    }
    done = true;
    settle(query);
    if (query.has('error')) {
      return reply.code(400).send(PAGE('Login refused', `Bitbucket answered: ${escapeHtml(query.get('error') ?? '')}. You can close this tab.`));
    }
    return reply.send(PAGE('Signed in', 'npkg is signed in to Bitbucket. You can close this tab.'));
  });
  return app;
}

/**
 * A Fastify server on the loopback callback URL: it accepts exactly one
 * request whose `state` matches, then closes; or closes after `timeoutMs`.
 */
export async function startCallbackServer(callbackUrl: string, state: string | (() => string), timeoutMs: number, stateParam = 'state'): Promise<CallbackServer> {
  const url = new URL(callbackUrl);
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new NpkgError('USAGE', `the callback URL must be http on the loopback address (127.0.0.1), not ${callbackUrl}`);
  }
  let settle!: (query: URLSearchParams) => void;
  let fail!: (error: Error) => void;
  const result = new Promise<URLSearchParams>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const app = await buildCallbackApp(url.pathname, state, (query) => settle(query), stateParam);
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, '');
  const wantedPort = Number(url.port || 80);
  try {
    await app.listen({ host, port: wantedPort });
  } catch (error) {
    if (hasErrnoCode(error, 'EADDRINUSE') || hasErrnoCode(error, 'EACCES')) {
      const why = hasErrnoCode(error, 'EACCES') ? 'needs privileges to listen on' : 'is in use';
      throw new NpkgError('USAGE', `port ${wantedPort} ${why}, so the login callback cannot listen on ${callbackUrl}: free it, or pass another --callback-url (the consumer's registered callback must match)`);
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : Number(url.port);
  url.port = String(port);
  const timer = setTimeout(() => fail(new NpkgError('TIMEOUT', `no login came back within ${Math.round(timeoutMs / 1000)} s (--timeout): run \`npkg login\` again`)), timeoutMs);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    await app.close();
  };
  // Closing after the one accepted request (or the timeout) frees the port at once.
  void result.then(close, close);
  return { redirectUri: url.toString(), result, close };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
