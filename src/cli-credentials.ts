import type { Env, Settings } from './config.js';
import { credentialAccount, openCredentialStore, type CredentialStore } from './credential-store.js';
import { chainCredentials, environmentCredentials, type CredentialProvider } from './credentials.js';
import { clientCredentialsFromEnv, storedCredentials } from './stored-credentials.js';

export interface CredentialSetup {
  provider: CredentialProvider;
  host: string;
  openStore: () => Promise<CredentialStore>;
}

/**
 * SPEC §5, in order: per-workspace bearer, bearer, Basic (environment);
 * the stored login (refreshed as needed); then, with no TTY, the
 * client-credentials grant from BITBUCKET_CLIENT_ID and _SECRET.
 */
export function buildCredentials(settings: Settings, env: Env, options: { interactive: boolean; onWarning: (message: string) => void; onDebug?: (line: string) => void }): CredentialSetup {
  const host = credentialAccount(settings.bitbucketUrl);
  let store: Promise<CredentialStore> | undefined;
  const openStore = () => (store ??= openCredentialStore(settings.configDir, env.NPKG_CREDENTIAL_STORE, options.onWarning));
  const providers: CredentialProvider[] = [
    environmentCredentials(env),
    storedCredentials({
      bitbucketUrl: settings.bitbucketUrl,
      host,
      configDir: settings.configDir,
      openStore,
      ...(options.onDebug ? { onDebug: options.onDebug } : {}),
    }),
  ];
  const key = env.BITBUCKET_CLIENT_ID?.trim();
  const secret = env.BITBUCKET_CLIENT_SECRET?.trim();
  if (key && secret && !options.interactive) providers.push(clientCredentialsFromEnv(settings.bitbucketUrl, key, secret));
  return { provider: chainCredentials(providers), host, openStore };
}
