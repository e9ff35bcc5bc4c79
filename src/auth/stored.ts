import path from 'node:path';
import type { Credential, CredentialProvider } from './sources.js';
import { fingerprint } from './sources.js';
import type { CredentialStore, StoredCredential } from './store.js';
import type { OAuthProvider } from './oauth2.js';
import { NpkgError } from '../util/errors.js';
import { acquireLock } from '../util/lock-file.js';

/** Renew this long before expiry, so a token never dies in the middle of an install. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

export interface StoredLoginOptions {
  bitbucketUrl: string;
  /** The OAuth provider when it is not Bitbucket Cloud's (Data Center's application link). */
  oauth?: OAuthProvider;
  /** `host[:port]` of BITBUCKET_URL: the account of the stored credential. */
  host: string;
  configDir: string;
  /** Opened on first use only: a no-op install never wakes the keychain. */
  openStore: () => Promise<CredentialStore>;
  onDebug?: (line: string) => void;
}

/** Within the renewal margin: a few minutes, or half the lifetime of a token that lives less than that. */
export function isExpiring(credential: StoredCredential, now = Date.now()): boolean {
  if (credential.expiresAt === undefined) return false;
  const lifetime = credential.obtainedAt === undefined ? Number.POSITIVE_INFINITY : credential.expiresAt - credential.obtainedAt;
  return credential.expiresAt - now < Math.min(EXPIRY_MARGIN_MS, lifetime / 2);
}

export function asCredential(credential: StoredCredential, source: string): Credential {
  return {
    authorization: `Bearer ${credential.accessToken}`,
    source,
    fingerprint: fingerprint(credential.accessToken),
    ...(credential.expiresAt === undefined ? {} : { expiresAt: credential.expiresAt }),
    ...(credential.scopes === undefined ? {} : { scopes: credential.scopes }),
  };
}

/**
 * The credential of `npkg login`: renewed shortly before it expires and once
 * when a server refuses it, under a lock shared by every npkg process, so that
 * a rotated refresh token is used (and saved) exactly once.
 */
export function storedCredentials(options: StoredLoginOptions): CredentialProvider & { renew(force: boolean): Promise<StoredCredential | undefined> } {
  let store: CredentialStore | undefined;
  let current: StoredCredential | undefined;
  const openStore = async () => (store ??= await options.openStore());
  const source = () => `stored login (${store?.name ?? 'keychain'})`;

  const renew = async (force: boolean, rejected?: string): Promise<StoredCredential | undefined> => {
    const renewed = await renewUnderLock(options, await openStore(), force, rejected);
    if (renewed !== undefined) current = renewed;
    return renewed;
  };

  // Modules of one install ask at once: they share one renewal.
  let renewing: Promise<StoredCredential | undefined> | undefined;
  const renewOnce = (force: boolean, rejected?: string) => {
    renewing ??= renew(force, rejected).finally(() => {
      renewing = undefined;
    });
    return renewing;
  };

  return {
    renew: (force) => renewOnce(force),
    async get() {
      current ??= await (await openStore()).get(options.host);
      if (current === undefined) return undefined;
      if (isExpiring(current)) {
        const renewed = await renewOnce(false);
        if (renewed === undefined) return undefined;
      }
      if (current!.grant === 'oauth1') {
        const { oauth1Header } = await import('./oauth1.js');
        const signed = current!;
        return { ...asCredential(signed, `${source()}, OAuth 1.0a`), sign: (method, url) => oauth1Header(signed, method, url) };
      }
      return asCredential(current!, source());
    },
    async refused(_workspace, credential) {
      if (current === undefined || credential.authorization !== `Bearer ${current.accessToken}`) return undefined;
      const renewed = await renewOnce(true, current.accessToken);
      return renewed === undefined ? undefined : asCredential(renewed, source());
    },
  };
}

/**
 * Under the refresh lock of the host: the stored credential as it is now
 * (renewed by another process meanwhile, or still fresh), else renewed and
 * saved; undefined when there is none or it cannot be renewed.
 */
async function renewUnderLock(options: StoredLoginOptions, opened: CredentialStore, force: boolean, rejected?: string): Promise<StoredCredential | undefined> {
  const lockFile = path.join(options.configDir, `refresh-${options.host.replace(/[^A-Za-z0-9.-]/g, '_')}.lock`);
  const release = await acquireLock(lockFile, { waitMs: 60_000, what: `renewing the login for ${options.host}` });
  try {
    // Another process may have renewed it while this one waited for the lock.
    const latest = await opened.get(options.host);
    if (latest === undefined) return undefined;
    const renewedElsewhere = rejected !== undefined && latest.accessToken !== rejected;
    if (renewedElsewhere || (!force && !isExpiring(latest))) return latest;
    if (latest.grant === 'token' || latest.grant === 'oauth1') return undefined;
    options.onDebug?.(`renewing the stored login for ${options.host} (${latest.grant === 'client_credentials' ? 'client credentials' : 'refresh token'})`);
    const { clientCredentialsGrant, refreshCredential } = await import('./oauth2.js');
    let next: StoredCredential;
    try {
      next =
        latest.grant === 'client_credentials'
          ? await clientCredentialsGrant(options.bitbucketUrl, { key: latest.clientId ?? '', secret: latest.clientSecret ?? '' })
          : await refreshCredential(options.oauth ?? options.bitbucketUrl, latest);
    } catch (error) {
      if (!(error instanceof NpkgError) || error.code !== 'CREDENTIAL_REFUSED') throw error;
      // A refresh token the server rejects will never work again: forget it.
      await opened.delete(options.host);
      throw new NpkgError('NO_CREDENTIAL', `the stored login for ${options.host} was refused when renewing it (${error.message}); run \`npkg login\``);
    }
    // The rotated refresh token is saved before anything else: the old one dies within minutes.
    await opened.set(options.host, next);
    return next;
  } finally {
    await release();
  }
}

/**
 * SPEC §5.4: `BITBUCKET_CLIENT_ID` + `BITBUCKET_CLIENT_SECRET` with no stored
 * login and no TTY: the client-credentials grant, kept in memory, granted
 * again when it expires or is refused (it has no refresh token).
 */
export function clientCredentialsFromEnv(bitbucketUrl: string, key: string, secret: string): CredentialProvider {
  const source = 'BITBUCKET_CLIENT_ID + BITBUCKET_CLIENT_SECRET (client credentials)';
  let current: StoredCredential | undefined;
  // Modules of one install ask at once: they share one grant.
  let granting: Promise<StoredCredential> | undefined;
  const grant = async (rejected?: string) => {
    if (current !== undefined && current.accessToken !== rejected && !isExpiring(current)) return current;
    granting ??= import('./oauth2.js')
      .then(({ clientCredentialsGrant }) => clientCredentialsGrant(bitbucketUrl, { key, secret }))
      .finally(() => {
        granting = undefined;
      });
    return (current = await granting);
  };
  return {
    get: async () => asCredential(await grant(), source),
    refused: async (_workspace, credential) => asCredential(await grant(credential.authorization.slice('Bearer '.length)), source),
  };
}
