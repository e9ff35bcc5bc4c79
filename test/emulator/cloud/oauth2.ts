import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An OAuth consumer as registered in Bitbucket's workspace settings. */
export interface OAuthConsumer {
  key: string;
  secret: string;
  /** The registered callback URL: a `redirect_uri` must extend it. */
  callbackUrl: string;
  /** "This is a private consumer": needed for the client-credentials grant. */
  private?: boolean;
}

export interface OAuthOptions {
  consumers: OAuthConsumer[];
  /** Access-token lifetime (Bitbucket: 7200 s); short in tests. */
  tokenLifetimeSeconds?: number;
  /** How long a rotated refresh token keeps working (Bitbucket: about 10 minutes). */
  oldRefreshGraceMs?: number;
  /** Token responses name the scopes `scopes` (historic) or `scope` (since May 2026). */
  scopeField?: 'scopes' | 'scope';
  /** Refresh tokens of this length (rotated ones exceed 2,500 characters). */
  refreshTokenLength?: number;
  /** Starts every access and refresh token (a marker that a secrets audit looks for). */
  tokenPrefix?: string;
  /** Refuse a client as RFC 6749 §5.2 allows (and oidc-provider does): 401 with `WWW-Authenticate: Basic error="invalid_client"`. */
  clientChallenge?: boolean;
}

interface Grant {
  consumer: OAuthConsumer;
  challenge: string | undefined;
  redirectUri: string | undefined;
}

/** Bitbucket's OAuth 2.0 endpoints under `/site/oauth2/`, as BITBUCKET.md describes them. */
export class OAuthServer {
  private readonly codes = new Map<string, Grant>();
  private readonly access = new Map<string, { expiresAt: number; consumer: OAuthConsumer }>();
  private readonly refresh = new Map<string, { consumer: OAuthConsumer; diesAt: number }>();
  /** What the tests look at: grants made, PKCE challenges seen. */
  readonly log = { refreshes: 0, codeGrants: 0, clientCredentialGrants: 0, pkceChallenges: [] as string[] };

  constructor(readonly options: OAuthOptions) {}

  /** 'ok', 'expired', or undefined for a token this server never issued. */
  check(token: string): 'ok' | 'expired' | undefined {
    const entry = this.access.get(token);
    if (entry === undefined) return undefined;
    return entry.expiresAt > Date.now() ? 'ok' : 'expired';
  }

  /** Makes every stored access token expire now (a test's way to force a refresh). */
  expireAll(): void {
    for (const entry of this.access.values()) entry.expiresAt = 0;
  }

  /** Kills every refresh token (revocation in the web UI). */
  revokeRefreshTokens(): void {
    this.refresh.clear();
  }

  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname === '/site/oauth2/authorize') {
      this.authorize(url, response);
      return true;
    }
    if (url.pathname === '/site/oauth2/access_token') {
      await this.token(request, response);
      return true;
    }
    return false;
  }

  /** Auto-approves, like a signed-in user clicking "Grant access". */
  private authorize(url: URL, response: ServerResponse): void {
    const consumer = this.options.consumers.find((candidate) => candidate.key === url.searchParams.get('client_id'));
    const redirectUri = url.searchParams.get('redirect_uri') ?? undefined;
    if (consumer === undefined || url.searchParams.get('response_type') !== 'code') {
      return html(response, 400, 'Invalid client_id or response_type');
    }
    if (redirectUri !== undefined && !redirectUri.startsWith(consumer.callbackUrl)) return html(response, 400, 'Invalid redirect_uri');
    const challenge = url.searchParams.get('code_challenge') ?? undefined;
    if (challenge !== undefined) this.log.pkceChallenges.push(`${url.searchParams.get('code_challenge_method')}:${challenge}`);
    const code = randomBytes(12).toString('hex');
    this.codes.set(code, { consumer, challenge, redirectUri });
    const target = new URL(redirectUri ?? consumer.callbackUrl);
    target.searchParams.set('code', code);
    const state = url.searchParams.get('state');
    if (state !== null) target.searchParams.set('state', state);
    response.writeHead(302, { location: target.toString() });
    response.end();
  }

  private async token(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (!String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return oauthError(response, 400, 'invalid_request', 'the body must be form-encoded');
    }
    const form = new URLSearchParams(body);
    const consumer = this.authenticate(request, form);
    if (consumer === undefined && this.options.clientChallenge === true) {
      response.setHeader('www-authenticate', 'Basic realm="token", error="invalid_client", error_description="client authentication failed"');
    }
    if (consumer === undefined) return oauthError(response, 401, 'invalid_client', 'Invalid OAuth client credentials');
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      if (grant === undefined || grant.consumer !== consumer) return oauthError(response, 400, 'invalid_grant', 'The authorization code is invalid or expired.');
      if (grant.redirectUri !== undefined && form.get('redirect_uri') !== grant.redirectUri) {
        return oauthError(response, 400, 'invalid_grant', 'redirect_uri does not match');
      }
      if (grant.challenge !== undefined) {
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
          return oauthError(response, 400, 'invalid_grant', 'PKCE verification failed');
        }
      }
      this.log.codeGrants++;
      return this.issue(response, consumer, true);
    }
    if (grantType === 'refresh_token') {
      const old = this.refresh.get(form.get('refresh_token') ?? '');
      // A bad refresh token has been seen answered as invalid_request, not invalid_grant.
      if (old === undefined || old.consumer !== consumer || old.diesAt <= Date.now()) {
        return oauthError(response, 400, 'invalid_request', 'Invalid refresh_token');
      }
      old.diesAt = Math.min(old.diesAt, Date.now() + (this.options.oldRefreshGraceMs ?? 0));
      this.log.refreshes++;
      return this.issue(response, consumer, true);
    }
    if (grantType === 'client_credentials') {
      if (!consumer.private) return oauthError(response, 400, 'unauthorized_client', 'Client credentials need a private consumer');
      this.log.clientCredentialGrants++;
      return this.issue(response, consumer, false);
    }
    return oauthError(response, 400, 'unsupported_grant_type', `Unsupported grant type: ${grantType}`);
  }

  /** Client authentication: HTTP Basic (documented) or form fields (what GCM sends). */
  private authenticate(request: IncomingMessage, form: URLSearchParams): OAuthConsumer | undefined {
    let key = form.get('client_id');
    let secret = form.get('client_secret');
    const header = request.headers.authorization ?? '';
    if (header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      key = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    }
    return this.options.consumers.find((consumer) => consumer.key === key && consumer.secret === secret);
  }

  private issue(response: ServerResponse, consumer: OAuthConsumer, withRefresh: boolean): void {
    const lifetime = this.options.tokenLifetimeSeconds ?? 7200;
    const prefix = this.options.tokenPrefix ?? '';
    const accessToken = `${prefix}${randomBytes(24).toString('base64url')}`;
    this.access.set(accessToken, { expiresAt: Date.now() + lifetime * 1000, consumer });
    const body: Record<string, unknown> = { access_token: accessToken, expires_in: lifetime, token_type: 'bearer' };
    body[this.options.scopeField ?? 'scopes'] = 'repository account';
    if (withRefresh) {
      const length = this.options.refreshTokenLength ?? 40;
      const refreshToken = `${prefix}${randomBytes(Math.ceil(length / 2)).toString('hex')}`.slice(0, length);
      this.refresh.set(refreshToken, { consumer, diesAt: Number.POSITIVE_INFINITY });
      body.refresh_token = refreshToken;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }
}

function html(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  response.end(`<!DOCTYPE html><html><body><h1>${message}</h1></body></html>`);
}

function oauthError(response: ServerResponse, status: number, error: string, description: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error, error_description: description }));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
