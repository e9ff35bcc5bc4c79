/**
 * Data Center's OAuth 2.0 provider (incoming application link) as
 * BITBUCKET-DC.md §3 describes it: code + PKCE S256 + state, the client
 * secret required on every token request (form or Basic), plain-http
 * redirects only to the literal host `localhost`, 1 h access tokens, and a
 * refresh that returns a new refresh token while the old one dies at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DcClient {
  id: string;
  secret: string;
  /** The link's redirect URL; on localhost the port may differ (RFC 8252 §7.3; Data Center's rule: UNCONFIRMED). */
  redirectUrl: string;
  /** Application permissions of the link (default REPO_READ). */
  scopes?: string[];
}

export interface DcOAuthOptions {
  clients: DcClient[];
  /** The user who approves in the browser: the X-AUSERNAME of the tokens. */
  username?: string;
  accessTokenSeconds?: number;
}

export class DcOAuthServer {
  private readonly codes = new Map<string, { client: DcClient; challenge: string; redirectUri: string; scope: string }>();
  private readonly access = new Map<string, { expiresAt: number }>();
  private readonly refresh = new Map<string, { client: DcClient; scope: string }>();
  readonly log = { codeGrants: 0, refreshes: 0, scopes: [] as string[], rejectedRedirects: [] as string[] };

  constructor(readonly options: DcOAuthOptions, private readonly context = '') {}

  /** The user of a token this server issued and still honours, else undefined. */
  userOf(token: string): string | undefined {
    const entry = this.access.get(token);
    return entry !== undefined && entry.expiresAt > Date.now() ? (this.options.username ?? 'alice') : undefined;
  }

  expireAll(): void {
    for (const entry of this.access.values()) entry.expiresAt = 0;
  }

  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname === `${this.context}/rest/oauth2/latest/authorize`) return this.authorize(url, response);
    if (url.pathname === `${this.context}/rest/oauth2/latest/token` && request.method === 'POST') return this.token(request, response);
    return false;
  }

  private authorize(url: URL, response: ServerResponse): true {
    const p = url.searchParams;
    const client = this.options.clients.find((candidate) => candidate.id === p.get('client_id'));
    const redirectUri = p.get('redirect_uri') ?? client?.redirectUrl ?? '';
    if (client === undefined || p.get('response_type') !== 'code') return html(response, 400, 'Invalid client_id or response_type');
    if (!redirectAllowed(redirectUri, client.redirectUrl)) {
      this.log.rejectedRedirects.push(redirectUri);
      return html(response, 400, 'Invalid redirect_uri');
    }
    const scope = p.get('scope') ?? '';
    this.log.scopes.push(scope);
    const allowed = client.scopes ?? ['REPO_READ'];
    if (scope === '' || !scope.split(' ').every((one) => allowed.includes(one))) return html(response, 400, 'Invalid scope');
    const challenge = p.get('code_challenge');
    if (challenge === null || p.get('code_challenge_method') !== 'S256') return html(response, 400, 'PKCE S256 required');
    const code = randomBytes(12).toString('hex');
    this.codes.set(code, { client, challenge, redirectUri, scope });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (p.get('state') !== null) target.searchParams.set('state', p.get('state')!);
    response.writeHead(302, { location: target.toString() });
    response.end();
    return true;
  }

  private async token(request: IncomingMessage, response: ServerResponse): Promise<true> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const [id, secret] = [form.get('client_id'), form.get('client_secret')];
    // The secret is checked on every grant (atlassian.oauth2.provider.validate.client.secret), and only
    // in the form: Data Center does not read client credentials from a Basic header (BITBUCKET-DC.md).
    const client = this.options.clients.find((candidate) => candidate.id === id && candidate.secret === secret);
    if (client === undefined) return oauthError(response, 401, 'invalid_client', 'Client authentication failed');
    if (form.get('grant_type') === 'authorization_code') {
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      if (grant === undefined || grant.client !== client || form.get('redirect_uri') !== grant.redirectUri) return oauthError(response, 400, 'invalid_grant', 'Invalid authorization code');
      if (createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url') !== grant.challenge) return oauthError(response, 400, 'invalid_grant', 'PKCE verification failed');
      this.log.codeGrants++;
      return this.issue(response, client, grant.scope);
    }
    if (form.get('grant_type') === 'refresh_token') {
      const old = this.refresh.get(form.get('refresh_token') ?? '');
      if (old === undefined || old.client !== client) return oauthError(response, 400, 'invalid_grant', 'Invalid refresh token');
      this.refresh.delete(form.get('refresh_token')!);
      this.log.refreshes++;
      return this.issue(response, client, old.scope);
    }
    return oauthError(response, 400, 'unsupported_grant_type', 'Unsupported grant type');
  }

  private issue(response: ServerResponse, client: DcClient, scope: string): true {
    const lifetime = this.options.accessTokenSeconds ?? 3600;
    const [accessToken, refreshToken] = [randomBytes(24).toString('base64url'), randomBytes(24).toString('base64url')];
    this.access.set(accessToken, { expiresAt: Date.now() + lifetime * 1000 });
    this.refresh.set(refreshToken, { client, scope });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ access_token: accessToken, token_type: 'bearer', expires_in: lifetime, refresh_token: refreshToken, scope }));
    return true;
  }
}

/** https anywhere; plain http only to the literal host localhost; same URL as the link's, port aside on localhost. */
export function redirectAllowed(redirectUri: string, registered: string): boolean {
  if (!URL.canParse(redirectUri) || redirectUri.includes('#') || redirectUri.length > 450) return false;
  const url = new URL(redirectUri);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && url.hostname === 'localhost')) return false;
  const expected = new URL(registered);
  if (url.hostname === 'localhost') expected.port = url.port;
  return url.toString() === expected.toString();
}

function html(response: ServerResponse, status: number, message: string): true {
  response.writeHead(status, { 'content-type': 'text/html;charset=UTF-8' });
  response.end(`<!DOCTYPE html><html><head><title>${message}</title></head><body><h1>${message}</h1></body></html>`);
  return true;
}

function oauthError(response: ServerResponse, status: number, error: string, description: string): true {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error, error_description: description }));
  return true;
}
