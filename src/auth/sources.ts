import { NpkgError } from '../util/errors.js';
import type { ServerKind } from '../util/server-kind.js';

/** What goes into the Authorization header, and where it came from (for messages). */
export interface Credential {
  /** Full header value, e.g. `Bearer …` or `Basic …`. Never printed. */
  authorization: string;
  /** Human name of the source, e.g. `BITBUCKET_TOKEN_ACME` or `keychain`. */
  source: string;
  /** Short, safe form of the secret: `abcd…wxyz`. */
  fingerprint: string;
  /** For OAuth 1.0a: the header is signed per request, so `authorization` is not used as is. */
  sign?: (method: string, url: string) => string;
  /** When known (OAuth tokens): expiry in ms since the epoch, and the granted scopes. */
  expiresAt?: number;
  scopes?: string;
}

/**
 * Where credentials come from. The install path only knows this interface,
 * so the OAuth sources (keychain, refresh, browser login) plug in as more
 * providers without touching it.
 */
export interface CredentialProvider {
  /** The credential for a workspace, or undefined when this source has none. */
  get(workspace: string): Promise<Credential | undefined>;
  /** Called once when a server refused `credential`: a refreshed one to retry with, or undefined. */
  refused?(workspace: string, credential: Credential): Promise<Credential | undefined>;
}

/** Environment variables as SPEC §5 lists them; read once at the edge and passed in. */
export interface CredentialEnv {
  [name: string]: string | undefined;
}

/** `BITBUCKET_TOKEN_<WORKSPACE>`: upper-cased, other characters than A-Z and 0-9 as `_`. */
export function workspaceTokenVariable(workspace: string): string {
  return `BITBUCKET_TOKEN_${workspace.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** Bearer tokens first (per workspace, then global), then Basic username + API token. */
export function environmentCredentials(env: CredentialEnv): CredentialProvider {
  return {
    async get(workspace) {
      for (const variable of [workspaceTokenVariable(workspace), 'BITBUCKET_TOKEN']) {
        const token = env[variable]?.trim();
        if (token) return { authorization: `Bearer ${token}`, source: variable, fingerprint: fingerprint(token) };
      }
      const username = env.BITBUCKET_USERNAME?.trim();
      const secretVariable = env.BITBUCKET_API_TOKEN?.trim() ? 'BITBUCKET_API_TOKEN' : 'BITBUCKET_APP_PASSWORD';
      const secret = env[secretVariable]?.trim();
      if (username && secret) {
        return {
          authorization: `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`,
          source: `BITBUCKET_USERNAME + ${secretVariable}`,
          fingerprint: fingerprint(secret),
        };
      }
      return undefined;
    },
  };
}

/** Tries providers in order; the first that has a credential wins. */
export function chainCredentials(providers: CredentialProvider[]): CredentialProvider {
  const owners = new WeakMap<Credential, CredentialProvider>();
  return {
    async get(workspace) {
      for (const provider of providers) {
        const credential = await provider.get(workspace);
        if (credential !== undefined) {
          owners.set(credential, provider);
          return credential;
        }
      }
      return undefined;
    },
    async refused(workspace, credential) {
      const refreshed = await owners.get(credential)?.refused?.(workspace, credential);
      if (refreshed !== undefined) owners.set(refreshed, owners.get(credential)!);
      return refreshed;
    },
  };
}

export function missingCredential(workspace: string, kind: ServerKind = 'cloud'): NpkgError {
  const what = kind === 'datacenter' ? 'project' : 'workspace';
  return new NpkgError('NO_CREDENTIAL', `no Bitbucket credential for ${what} ${workspace}: ${credentialHint(workspaceTokenVariable(workspace), kind)}`);
}

/** What to do without a credential: `npkg login`, or every variable of SPEC §5 (§6a: Data Center has no client-credentials grant). */
export function credentialHint(workspaceVariable?: string, kind: ServerKind = 'cloud'): string {
  if (kind === 'datacenter') {
    return (
      `run \`npkg login\`, or set ${workspaceVariable ?? 'BITBUCKET_TOKEN_<KEY>'} or BITBUCKET_TOKEN (an HTTP access token), ` +
      'or BITBUCKET_USERNAME with BITBUCKET_API_TOKEN (a personal access token)'
    );
  }
  workspaceVariable ??= 'BITBUCKET_TOKEN_<WORKSPACE>';
  return (
    `run \`npkg login\`, or set ${workspaceVariable} or BITBUCKET_TOKEN, ` +
    'or BITBUCKET_USERNAME with BITBUCKET_API_TOKEN (or BITBUCKET_APP_PASSWORD), or BITBUCKET_CLIENT_ID with BITBUCKET_CLIENT_SECRET'
  );
}

/** A short, safe form of a secret for logs: the first and last four characters only. */
export function fingerprint(secret: string): string {
  if (secret.length < 16) return '…';
  return `${secret.slice(0, 4)}…${secret.slice(-4)}`;
}
