import type { Env, Settings } from '../project/config.js';
import type { CredentialStore } from '../auth/store.js';
import { chainCredentials, credentialHint, environmentCredentials, type Credential, type CredentialProvider } from '../auth/sources.js';
import { NpkgError } from '../util/errors.js';

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
export function buildCredentials(
  settings: Settings,
  env: Env,
  options: {
    interactive: boolean;
    loginWhenMissing?: boolean;
    onWarning: (message: string) => void;
    onDebug?: (line: string) => void;
    /** Runs the on-demand login with the progress display set aside (it prompts and prints a URL). */
    aside?: <T>(work: () => Promise<T>) => Promise<T>;
  },
): CredentialSetup {
  // The account of the stored credential: `host[:port]` of BITBUCKET_URL.
  const host = new URL(settings.bitbucketUrl).host;
  let store: Promise<CredentialStore> | undefined;
  const openStore = () =>
    (store ??= import('../auth/store.js').then(({ openCredentialStore }) => openCredentialStore(settings.configDir, env.NPKG_CREDENTIAL_STORE, options.onWarning)));
  const providers: CredentialProvider[] = [
    environmentCredentials(env),
    // Loaded only when no variable gave a credential: installs with BITBUCKET_TOKEN stay lean.
    lazy(async () => {
      const [{ storedCredentials }, { oauthProviderFor }] = await Promise.all([import('../auth/stored.js'), import('./server-auth.js')]);
      const oauth = oauthProviderFor(settings);
      return storedCredentials({
        bitbucketUrl: settings.bitbucketUrl,
        ...(oauth ? { oauth } : {}),
        host,
        configDir: settings.configDir,
        openStore,
        ...(options.onDebug ? { onDebug: options.onDebug } : {}),
      });
    }),
  ];
  const key = env.BITBUCKET_CLIENT_ID?.trim();
  const secret = env.BITBUCKET_CLIENT_SECRET?.trim();
  if (key && secret && !options.interactive && settings.kind === 'datacenter') {
    // Reached only when nothing above had a credential: then it is a usage error, not a missing login.
    providers.push({ get: () => import('./server-auth.js').then(({ refuseOnDataCenter }) => Promise.reject(refuseOnDataCenter('client-credentials'))) });
  } else if (key && secret && !options.interactive) {
    providers.push(lazy(() => import('../auth/stored.js').then(({ clientCredentialsFromEnv }) => clientCredentialsFromEnv(settings.bitbucketUrl, key, secret))));
  }
  if (options.interactive && options.loginWhenMissing) {
    const aside = options.aside ?? ((work) => work());
    providers.push(loginOnDemand(settings, env, { host, openStore }, (line) => process.stderr.write(`${line}\n`), aside));
  }
  return { provider: chainCredentials(providers), host, openStore };
}

/**
 * SPEC §5.5: in a terminal with no credential at all, `install` runs the
 * browser login itself (with the env consumer when set), stores it, and goes on.
 */
export function loginOnDemand(
  settings: Settings,
  env: Env,
  setup: Pick<CredentialSetup, 'host' | 'openStore'>,
  say: (line: string) => void,
  aside: <T>(work: () => Promise<T>) => Promise<T>,
): CredentialProvider {
  let running: Promise<Credential | undefined> | undefined;
  const run = async (): Promise<Credential | undefined> => {
    say('npkg: no Bitbucket credential found: signing in (Ctrl-C to stop; see `npkg login --help`)');
    const [{ login }, { resolveConsumer }, { readInput }, { defaultCallbackUrl, oauthProviderFor }] = await Promise.all([
      import('../auth/login.js'),
      import('./consumer.js'),
      import('./prompt.js'),
      import('./server-auth.js'),
    ]);
    const consumer = await resolveConsumer({}, env, settings);
    const oauth = oauthProviderFor(settings);
    const credential = await login({
      mode: 'code',
      bitbucketUrl: settings.bitbucketUrl,
      ...(oauth ? { oauth } : {}),
      host: setup.host,
      store: await setup.openStore(),
      consumer,
      callbackUrl: env.NPKG_CALLBACK_URL ?? settings.callbackUrl ?? defaultCallbackUrl(settings),
      timeoutMs: 300_000,
      openBrowser: true,
      readInput,
      say,
    });
    const { asCredential } = await import('../auth/stored.js');
    return asCredential(credential, `stored login (${(await setup.openStore()).name})`);
  };
  return {
    get: () => (running ??= aside(run)),
  };
}

/** A provider whose module loads on first use. */
function lazy(load: () => Promise<CredentialProvider>): CredentialProvider {
  let loaded: Promise<CredentialProvider> | undefined;
  const provider = () => (loaded ??= load());
  return {
    get: async (workspace) => (await provider()).get(workspace),
    refused: async (workspace, credential) => (await provider()).refused?.(workspace, credential),
  };
}

/** whoami's and token's error when no source has a credential. */
export function noCredential(kind?: Settings['kind']): NpkgError {
  return new NpkgError('NO_CREDENTIAL', `not logged in: ${credentialHint(undefined, kind)}`);
}
