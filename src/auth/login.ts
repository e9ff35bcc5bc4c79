import { spawn } from 'node:child_process';
import type { CredentialStore, StoredCredential } from './store.js';
import { NpkgError } from '../util/errors.js';
import type { Consumer, OAuthProvider } from './oauth2.js';

export type LoginMode = 'code' | 'paste' | 'client-credentials' | 'with-token' | 'oauth1' | 'oauth1-pin';

export interface LoginOptions {
  mode: LoginMode;
  bitbucketUrl: string;
  /** The OAuth 2.0 provider when it is not Bitbucket Cloud's (Data Center's application link). */
  oauth?: OAuthProvider;
  host: string;
  store: CredentialStore;
  /** Needed by every mode but `with-token`. */
  consumer?: Consumer;
  callbackUrl: string;
  timeoutMs: number;
  openBrowser: boolean;
  /** Reads what the user pastes (a URL, a code or a token). */
  readInput: (prompt: string) => Promise<string>;
  /** A line for the user, on stderr. */
  say: (line: string) => void;
}

/** Gets a credential by the chosen flow and stores it for the host. */
export async function login(options: LoginOptions): Promise<StoredCredential> {
  const credential = await obtain(options);
  await options.store.set(options.host, credential);
  return credential;
}

async function obtain(options: LoginOptions): Promise<StoredCredential> {
  if (options.mode === 'with-token') {
    const token = (await options.readInput('paste the access token: ')).trim();
    if (token === '' || /\s/.test(token)) throw new NpkgError('USAGE', '--with-token reads one token from stdin: got nothing usable');
    return { grant: 'token', accessToken: token };
  }
  const consumer = options.consumer;
  if (consumer === undefined) throw new NpkgError('USAGE', 'no OAuth consumer: pass --client-id and set BITBUCKET_CLIENT_SECRET');
  if (options.mode === 'oauth1' || options.mode === 'oauth1-pin') return oauth1Login(options, consumer);
  const oauth = await import('./oauth2.js');
  const site = options.oauth ?? options.bitbucketUrl;
  if (options.mode === 'client-credentials') return oauth.clientCredentialsGrant(options.bitbucketUrl, consumer);
  if (options.mode === 'paste') {
    const request = await oauth.startAuthorization(site, consumer, options.callbackUrl);
    options.say('Open this URL in a browser, approve, then paste the address you were sent to (or its code):');
    options.say(request.url);
    const answer = (await options.readInput('redirected URL or code: ')).trim();
    return oauth.finishAuthorization(site, consumer, request, pastedCallback(answer, request.state));
  }
  const { startCallbackServer } = await import('./callback-server.js');
  // The server starts first: with port 0, its real port goes into the redirect URI.
  const secrets = oauth.newLoginSecrets();
  const server = await startCallbackServer(options.callbackUrl, secrets.state, options.timeoutMs);
  try {
    const request = await oauth.startAuthorization(site, consumer, server.redirectUri, secrets);
    options.say('Sign in to Bitbucket in your browser; if it does not open, visit:');
    options.say(request.url);
    if (options.openBrowser) openInBrowser(request.url, options.say);
    const query = await server.result;
    return await oauth.finishAuthorization(site, consumer, request, query);
  } finally {
    await server.close();
  }
}

/** OAuth 1.0a: request token, authorize in the browser, access token with the verifier (or a pasted PIN). */
async function oauth1Login(options: LoginOptions, consumer: Consumer): Promise<StoredCredential> {
  const oauth1 = await import('./oauth1.js');
  if (options.mode === 'oauth1-pin') {
    const request = await oauth1.startOauth1(options.bitbucketUrl, consumer, 'oob');
    options.say('Open this URL in a browser, approve, then paste the PIN (verifier) it shows:');
    options.say(request.url);
    return oauth1.finishOauth1(options.bitbucketUrl, consumer, request, (await options.readInput('PIN: ')).trim());
  }
  const { startCallbackServer } = await import('./callback-server.js');
  let token = '';
  // The request token is the state of OAuth 1.0a: known once the server listens and the token is issued.
  const server = await startCallbackServer(options.callbackUrl, () => token, options.timeoutMs, 'oauth_token');
  try {
    const request = await oauth1.startOauth1(options.bitbucketUrl, consumer, server.redirectUri);
    token = request.token;
    options.say('Sign in to Bitbucket in your browser (legacy OAuth 1.0a); if it does not open, visit:');
    options.say(request.url);
    if (options.openBrowser) openInBrowser(request.url, options.say);
    const query = await server.result;
    const verifier = query.get('oauth_verifier');
    if (!verifier) throw new NpkgError('CREDENTIAL_REFUSED', 'the OAuth 1.0a callback carried no oauth_verifier');
    return await oauth1.finishOauth1(options.bitbucketUrl, consumer, request, verifier);
  } finally {
    await server.close();
  }
}

/** A pasted redirect URL gives its query; a bare code is taken as the answer to our own state. */
export function pastedCallback(answer: string, state: string): URLSearchParams {
  if (/^https?:\/\//.test(answer)) {
    if (!URL.canParse(answer)) throw new NpkgError('USAGE', 'that is not a whole URL: paste the full address the browser ended on, or only the value of its `code`');
    return new URL(answer).searchParams;
  }
  if (!/^[A-Za-z0-9._~-]+$/.test(answer)) throw new NpkgError('USAGE', 'paste the whole redirected URL, or the value of its `code` parameter');
  return new URLSearchParams({ code: answer, state });
}

/** Opens the system browser; failing that, the printed URL is enough. */
function openInBrowser(url: string, say: (line: string) => void): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => say(`(could not start ${command}: open the URL above yourself)`));
  child.unref();
}
