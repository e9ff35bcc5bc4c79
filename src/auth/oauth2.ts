import * as oauth from 'oauth4webapi';
import type { StoredCredential } from './store.js';
import { NpkgError } from '../util/errors.js';
import { proxiedFetch } from '../net/proxy.js';

/** The consumer of a Bitbucket workspace ("OAuth consumers" in its settings). */
export interface Consumer {
  key: string;
  secret: string;
}

/**
 * Another provider than Bitbucket Cloud's (Data Center's application link,
 * whose endpoints bitbucket/datacenter/oauth.ts knows): given by the CLI,
 * since auth/ never imports bitbucket/.
 */
export interface OAuthProvider {
  server: oauth.AuthorizationServer & { token_endpoint: string; authorization_endpoint: string };
  /** The scope asked for at authorize time (Data Center: REPO_READ); Cloud asks for none (the consumer's). */
  scope?: string;
  /**
   * The client secret in the form of every token request (Data Center, as
   * Git Credential Manager sends it) rather than HTTP Basic (Cloud).
   */
  secretInForm?: boolean;
}

/** A provider, or the URL of Bitbucket Cloud's web host. */
export type OAuthSite = string | OAuthProvider;

/** Bitbucket Cloud's OAuth 2.0 endpoints, on the web host. */
function authorizationServer(site: OAuthSite): oauth.AuthorizationServer {
  if (typeof site !== 'string') return site.server;
  const base = site.replace(/\/+$/, '');
  return {
    issuer: base,
    authorization_endpoint: `${base}/site/oauth2/authorize`,
    token_endpoint: `${base}/site/oauth2/access_token`,
  };
}

/** How the client authenticates at the token endpoint: HTTP Basic on Cloud, the form on Data Center; the secret goes every time. */
function clientAuth(site: OAuthSite, secret: string): oauth.ClientAuth {
  return typeof site !== 'string' && site.secretInForm === true ? oauth.ClientSecretPost(secret) : oauth.ClientSecretBasic(secret);
}

/** Requests go through the environment's proxy; plain http is allowed for loopback hosts only (the emulator), never elsewhere. */
function requestOptions(site: OAuthSite): { [oauth.allowInsecureRequests]?: boolean; [oauth.customFetch]: typeof proxiedFetch } {
  const host = new URL(typeof site === 'string' ? site : site.server.token_endpoint).hostname;
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  return { [oauth.customFetch]: proxiedFetch, ...(loopback ? { [oauth.allowInsecureRequests]: true } : {}) };
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  verifier: string;
  redirectUri: string;
}

/** A random `state` and PKCE verifier for one login. */
export function newLoginSecrets(): { state: string; verifier: string } {
  return { state: oauth.generateRandomState(), verifier: oauth.generateRandomCodeVerifier() };
}

/** The authorize URL, with the `state` and a PKCE S256 challenge (sent; never relied on). */
export async function startAuthorization(
  site: OAuthSite,
  consumer: Consumer,
  redirectUri: string,
  secrets = newLoginSecrets(),
): Promise<AuthorizationRequest> {
  const server = authorizationServer(site);
  const { state, verifier } = secrets;
  const url = new URL(server.authorization_endpoint!);
  url.searchParams.set('client_id', consumer.key);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('state', state);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (typeof site !== 'string' && site.scope !== undefined) url.searchParams.set('scope', site.scope);
  return { url: url.toString(), state, verifier, redirectUri };
}

/** Checks the callback's `state` and exchanges its code for tokens. */
export async function finishAuthorization(
  site: OAuthSite,
  consumer: Consumer,
  request: AuthorizationRequest,
  callback: URLSearchParams,
): Promise<StoredCredential> {
  const server = authorizationServer(site);
  const client = { client_id: consumer.key };
  const params = guard(() => oauth.validateAuthResponse(server, client, callback, request.state));
  const response = await oauth.authorizationCodeGrantRequest(
    server,
    client,
    clientAuth(site, consumer.secret),
    params,
    request.redirectUri,
    request.verifier,
    requestOptions(site),
  );
  const tokens = await tokenResponse(() => oauth.processAuthorizationCodeResponse(server, client, response));
  return toCredential('authorization_code', tokens, consumer);
}

/** A new access token from the refresh token; Bitbucket rotates the refresh token every time. */
export async function refreshCredential(site: OAuthSite, credential: StoredCredential): Promise<StoredCredential> {
  const consumer = consumerOf(credential);
  const server = authorizationServer(site);
  const client = { client_id: consumer.key };
  const response = await oauth.refreshTokenGrantRequest(
    server,
    client,
    clientAuth(site, consumer.secret),
    credential.refreshToken ?? '',
    requestOptions(site),
  );
  const tokens = await tokenResponse(() => oauth.processRefreshTokenResponse(server, client, response));
  return toCredential(credential.grant, tokens, consumer, credential.refreshToken);
}

/** The client-credentials grant of a private consumer: no browser, no refresh token. */
export async function clientCredentialsGrant(bitbucketUrl: string, consumer: Consumer): Promise<StoredCredential> {
  const server = authorizationServer(bitbucketUrl);
  const client = { client_id: consumer.key };
  const response = await oauth.clientCredentialsGrantRequest(server, client, oauth.ClientSecretBasic(consumer.secret), {}, requestOptions(bitbucketUrl));
  const tokens = await tokenResponse(() => oauth.processClientCredentialsResponse(server, client, response));
  return toCredential('client_credentials', tokens, consumer);
}

function consumerOf(credential: StoredCredential): Consumer {
  if (!credential.clientId || !credential.clientSecret) {
    throw new NpkgError('NO_CREDENTIAL', 'the stored login has no consumer key and secret to renew it: run `npkg login`');
  }
  return { key: credential.clientId, secret: credential.clientSecret };
}

function toCredential(grant: StoredCredential['grant'], tokens: oauth.TokenEndpointResponse, consumer: Consumer, previousRefresh?: string): StoredCredential {
  // Bitbucket named the field `scopes`; since May 2026 it may be `scope`: read both.
  const scopes = typeof tokens.scope === 'string' ? tokens.scope : typeof tokens.scopes === 'string' ? tokens.scopes : undefined;
  const refreshToken = tokens.refresh_token ?? previousRefresh;
  return {
    grant,
    accessToken: tokens.access_token,
    ...(typeof tokens.expires_in === 'number' ? { expiresAt: Date.now() + tokens.expires_in * 1000, obtainedAt: Date.now() } : {}),
    ...(refreshToken !== undefined && grant !== 'client_credentials' ? { refreshToken } : {}),
    ...(scopes !== undefined ? { scopes } : {}),
    clientId: consumer.key,
    clientSecret: consumer.secret,
  };
}

/** What to do about the usual OAuth errors (RFC 6749 §5.2), after the server's own words. */
const TOKEN_ERROR_ADVICE: Record<string, string> = {
  invalid_client: '; check the consumer key and secret (BITBUCKET_CLIENT_ID, BITBUCKET_CLIENT_SECRET, --client-id)',
  unauthorized_client: '; the consumer may not use this grant: client credentials need a private consumer',
  invalid_grant: '; run `npkg login` again',
};

/** Token endpoint errors as NpkgErrors; a rejected grant (400/401) means "log in again". */
async function tokenResponse(work: () => Promise<oauth.TokenEndpointResponse>): Promise<oauth.TokenEndpointResponse> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      const code = error.status === 400 || error.status === 401 ? 'CREDENTIAL_REFUSED' : 'SERVER';
      const said = `${error.status} ${error.error}${error.error_description ? `: ${error.error_description}` : ''}`;
      throw new NpkgError(code, `Bitbucket's token endpoint answered ${said}${TOKEN_ERROR_ADVICE[error.error] ?? ''}`, { retryable: error.status >= 500 });
    }
    if (error instanceof oauth.WWWAuthenticateChallengeError) throw challengeError(error);
    if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
      throw new NpkgError('SERVER', `unexpected answer from Bitbucket's token endpoint: ${error.message}`);
    }
    if (error instanceof TypeError) {
      throw new NpkgError('NETWORK', `cannot reach Bitbucket's token endpoint: ${(error.cause as Error | undefined)?.message ?? error.message}`, { retryable: true });
    }
    throw error;
  }
}

/**
 * RFC 6749 §5.2 lets a server refuse an HTTP Basic client with 401 and the
 * error in `WWW-Authenticate` (oidc-provider does): the same refusal as an
 * error in the body, so the same exit and advice.
 */
function challengeError(error: oauth.WWWAuthenticateChallengeError): NpkgError {
  const parameters = error.cause.find((challenge) => challenge.parameters.error !== undefined)?.parameters;
  const name = parameters?.error ?? 'invalid_client';
  const said = `${error.status} ${name}${parameters?.error_description ? `: ${parameters.error_description}` : ''}`;
  const code = error.status === 400 || error.status === 401 ? 'CREDENTIAL_REFUSED' : 'SERVER';
  return new NpkgError(code, `Bitbucket's token endpoint answered ${said}${TOKEN_ERROR_ADVICE[name] ?? ''}`, { retryable: error.status >= 500 });
}

function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new NpkgError('CREDENTIAL_REFUSED', `Bitbucket refused the authorization: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`);
    }
    if (error instanceof oauth.OperationProcessingError) {
      throw new NpkgError('CREDENTIAL_REFUSED', `the authorization answer is not valid: ${error.message}; run \`npkg login\` again (with --paste, paste the address of this attempt)`);
    }
    throw error;
  }
}
