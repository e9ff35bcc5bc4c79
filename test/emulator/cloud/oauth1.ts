import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OAuthConsumer } from './oauth2.js';

/** RFC 3986 percent-encoding, as OAuth 1.0a signatures need it. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `OAuth k="v", ...` → its parameters. */
function headerParams(header: string): Map<string, string> | undefined {
  if (!header.startsWith('OAuth ')) return undefined;
  const params = new Map<string, string>();
  for (const match of header.slice(6).matchAll(/([\w.-]+)="([^"]*)"/g)) params.set(decodeURIComponent(match[1]!), decodeURIComponent(match[2]!));
  return params;
}

/**
 * Legacy OAuth 1.0a (`/api/1.0/oauth/...`), with every signature checked
 * here, independently of the client's library: HMAC-SHA1 over the base string.
 */
export class OAuth1Server {
  private readonly requestTokens = new Map<string, { secret: string; consumer: OAuthConsumer; callback: string; verifier?: string }>();
  private readonly accessTokens = new Map<string, { secret: string; consumer: OAuthConsumer }>();
  readonly log = { signaturesVerified: 0, signaturesRejected: 0 };

  constructor(private readonly consumers: OAuthConsumer[]) {}

  /** Whether a signed API or archive request carries a valid access token and signature. */
  accepts(request: IncomingMessage, fullUrl: string): boolean {
    const params = headerParams(request.headers.authorization ?? '');
    const token = params?.get('oauth_token');
    const access = token === undefined ? undefined : this.accessTokens.get(token);
    if (params === undefined || access === undefined) return false;
    return this.verify(request.method ?? 'GET', fullUrl, params, new URLSearchParams(), access.consumer, access.secret);
  }

  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (!url.pathname.startsWith('/api/1.0/oauth/')) return false;
    const name = url.pathname.slice('/api/1.0/oauth/'.length);
    if (name === 'authenticate') {
      const entry = this.requestTokens.get(url.searchParams.get('oauth_token') ?? '');
      if (entry === undefined) return send(response, 400, 'text/html', '<h1>Invalid request token</h1>'), true;
      entry.verifier = randomBytes(8).toString('hex');
      if (entry.callback === 'oob') return send(response, 200, 'text/html', `<p>Your PIN: <code id="verifier">${entry.verifier}</code></p>`), true;
      const target = new URL(entry.callback);
      target.searchParams.set('oauth_token', url.searchParams.get('oauth_token')!);
      target.searchParams.set('oauth_verifier', entry.verifier);
      response.writeHead(302, { location: target.toString() });
      response.end();
      return true;
    }
    const body = new URLSearchParams(await readBody(request));
    const params = headerParams(request.headers.authorization ?? '') ?? new Map<string, string>();
    const consumer = this.consumers.find((candidate) => candidate.key === params.get('oauth_consumer_key'));
    if (consumer === undefined) return send(response, 401, 'text/plain', 'unknown consumer'), true;
    if (name === 'request_token') {
      if (!this.verify('POST', url.toString(), params, body, consumer, '')) return send(response, 401, 'text/plain', 'bad signature'), true;
      const token = randomBytes(10).toString('hex');
      const secret = randomBytes(10).toString('hex');
      this.requestTokens.set(token, { secret, consumer, callback: params.get('oauth_callback') ?? body.get('oauth_callback') ?? 'oob' });
      return send(response, 200, 'application/x-www-form-urlencoded', `oauth_token=${token}&oauth_token_secret=${secret}&oauth_callback_confirmed=true`), true;
    }
    if (name === 'access_token') {
      const entry = this.requestTokens.get(params.get('oauth_token') ?? '');
      if (entry === undefined || !this.verify('POST', url.toString(), params, body, consumer, entry.secret)) return send(response, 401, 'text/plain', 'bad signature'), true;
      const verifier = params.get('oauth_verifier') ?? body.get('oauth_verifier');
      if (entry.verifier === undefined || verifier !== entry.verifier) return send(response, 401, 'text/plain', 'bad verifier'), true;
      this.requestTokens.delete(params.get('oauth_token')!);
      const token = randomBytes(12).toString('hex');
      const secret = randomBytes(12).toString('hex');
      this.accessTokens.set(token, { secret, consumer });
      return send(response, 200, 'application/x-www-form-urlencoded', `oauth_token=${token}&oauth_token_secret=${secret}`), true;
    }
    return send(response, 404, 'text/plain', 'not found'), true;
  }

  private verify(method: string, fullUrl: string, header: Map<string, string>, body: URLSearchParams, consumer: OAuthConsumer, tokenSecret: string): boolean {
    const url = new URL(fullUrl);
    const pairs: Array<[string, string]> = [];
    for (const [key, value] of header) if (key !== 'oauth_signature' && key !== 'realm') pairs.push([key, value]);
    for (const [key, value] of url.searchParams) pairs.push([key, value]);
    for (const [key, value] of body) pairs.push([key, value]);
    const normalized = pairs
      .map(([key, value]) => [encode(key), encode(value)] as const)
      .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
      .map(([key, value]) => `${key}=${value}`)
      .join('&');
    const base = [method.toUpperCase(), encode(`${url.origin}${url.pathname}`), encode(normalized)].join('&');
    const expected = createHmac('sha1', `${encode(consumer.secret)}&${encode(tokenSecret)}`).update(base).digest('base64');
    const ok = header.get('oauth_signature_method') === 'HMAC-SHA1' && header.get('oauth_signature') === expected;
    if (ok) this.log.signaturesVerified++;
    else this.log.signaturesRejected++;
    return ok;
  }
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type });
  response.end(body);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
