import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import type { StoredCredential } from './store.js';
import { NpkgError } from '../util/errors.js';
import type { Consumer } from './oauth2.js';
import { proxiedFetch } from '../net/proxy.js';

/**
 * Legacy OAuth 1.0a, as in Bitbucket's older examples (HMAC-SHA1 only).
 * Bitbucket Cloud stopped accepting it in 2026; kept for servers that still do.
 */
function signer(consumer: Consumer): OAuth {
  return new OAuth({
    consumer: { key: consumer.key, secret: consumer.secret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
}

function endpoint(bitbucketUrl: string, name: 'request_token' | 'authenticate' | 'access_token'): string {
  return `${bitbucketUrl.replace(/\/+$/, '')}/api/1.0/oauth/${name}`;
}

/** A signed form POST to an OAuth 1.0a endpoint; the answer is form-encoded too. */
async function signedPost(url: string, consumer: Consumer, form: Record<string, string>, token?: { key: string; secret: string }): Promise<URLSearchParams> {
  const authorization = signer(consumer).authorize({ url, method: 'POST', data: form }, token);
  const response = await proxiedFetch(url, {
    method: 'POST',
    headers: { ...signer(consumer).toHeader(authorization), 'content-type': 'application/x-www-form-urlencoded' },
    // oauth_* parameters travel in the header (the library puts them there): sending them in the
    // body too would count them twice in the signature base string.
    body: new URLSearchParams(Object.entries(form).filter(([key]) => !key.startsWith('oauth_'))).toString(),
  });
  const text = await response.text();
  if (response.status === 400 || response.status === 401) {
    throw new NpkgError('CREDENTIAL_REFUSED', `the OAuth 1.0a endpoint refused the request (${response.status}); Bitbucket Cloud no longer accepts OAuth 1.0a: use \`npkg login\``);
  }
  if (!response.ok) throw new NpkgError('SERVER', `the OAuth 1.0a endpoint answered ${response.status}`);
  return new URLSearchParams(text);
}

export interface Oauth1Request {
  url: string;
  token: string;
  secret: string;
}

/** Step 1: a request token, and the URL where the user authorizes it. `callback` may be `oob` (a PIN). */
export async function startOauth1(bitbucketUrl: string, consumer: Consumer, callback: string): Promise<Oauth1Request> {
  const answer = await signedPost(endpoint(bitbucketUrl, 'request_token'), consumer, { oauth_callback: callback });
  const token = answer.get('oauth_token');
  const secret = answer.get('oauth_token_secret');
  if (!token || !secret) throw new NpkgError('SERVER', 'the OAuth 1.0a request_token answer has no token');
  const url = new URL(endpoint(bitbucketUrl, 'authenticate'));
  url.searchParams.set('oauth_token', token);
  return { url: url.toString(), token, secret };
}

/** Step 3: the verifier (from the callback, or a pasted PIN) for the access token and its secret. */
export async function finishOauth1(bitbucketUrl: string, consumer: Consumer, request: Oauth1Request, verifier: string): Promise<StoredCredential> {
  const answer = await signedPost(endpoint(bitbucketUrl, 'access_token'), consumer, { oauth_verifier: verifier }, { key: request.token, secret: request.secret });
  const token = answer.get('oauth_token');
  const secret = answer.get('oauth_token_secret');
  if (!token || !secret) throw new NpkgError('SERVER', 'the OAuth 1.0a access_token answer has no token');
  return { grant: 'oauth1', accessToken: token, tokenSecret: secret, clientId: consumer.key, clientSecret: consumer.secret };
}

/** The Authorization header of one request, signed with the consumer and the access token. */
export function oauth1Header(credential: StoredCredential, method: string, url: string): string {
  const consumer = { key: credential.clientId ?? '', secret: credential.clientSecret ?? '' };
  const oauth = signer(consumer);
  const token = { key: credential.accessToken, secret: credential.tokenSecret ?? '' };
  return oauth.toHeader(oauth.authorize({ url, method }, token)).Authorization;
}
