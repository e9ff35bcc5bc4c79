import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCredentials } from './credentials.js';
import { credentialHint } from '../auth/sources.js';
import { loadSettings, type Env, type NetworkFlags, type Settings } from '../project/config.js';
import { NpkgError, hasErrnoCode } from '../util/errors.js';
import { formatJson, writeFileAtomic } from '../util/json-file.js';
import type { LoginMode } from '../auth/login.js';
import type { Consumer } from '../auth/oauth2.js';
import { askLine, readInput } from './prompt.js';

export const DEFAULT_CALLBACK_URL = 'http://127.0.0.1:8976/callback';

export interface LoginArgs extends NetworkFlags {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  clientId?: string | undefined;
  callbackUrl?: string | undefined;
  timeout?: number | undefined;
  browser: boolean;
  paste: boolean;
  clientCredentials: boolean;
  withToken: boolean;
  oauth1: boolean;
}

const say = (line: string) => process.stderr.write(`${line}\n`);
const interactive = () => process.stdin.isTTY === true && process.stderr.isTTY === true;

/** `npkg login`: obtain a credential, store it, remember the consumer key and callback URL. */
export async function runLogin(args: LoginArgs, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const modes = [args.paste && !args.oauth1 && 'paste', args.clientCredentials && 'client-credentials', args.withToken && 'with-token', args.oauth1 && (args.paste ? 'oauth1-pin' : 'oauth1')].filter(
    Boolean,
  ) as LoginMode[];
  if (modes.length > 1) throw new NpkgError('USAGE', 'choose one of --paste, --client-credentials, --with-token and --oauth1 (which may take --paste)');
  const mode: LoginMode = modes[0] ?? 'code';
  const callbackUrl = args.callbackUrl ?? env.NPKG_CALLBACK_URL ?? settings.callbackUrl ?? DEFAULT_CALLBACK_URL;
  const consumer = mode === 'with-token' ? undefined : await resolveConsumer(args, env, settings);
  const { host, openStore } = buildCredentials(settings, env, { interactive: interactive(), onWarning: (message) => say(`npkg: warning: ${message}`) });
  const store = await openStore();
  const { login } = await import('../auth/login.js');
  const credential = await login({
    mode,
    bitbucketUrl: settings.bitbucketUrl,
    host,
    store,
    ...(consumer ? { consumer } : {}),
    callbackUrl,
    timeoutMs: (args.timeout ?? 300) * 1000,
    openBrowser: args.browser,
    readInput,
    say,
  });
  // The modes that send the callback URL as redirect_uri remember it.
  const usedCallback = mode === 'code' || mode === 'paste' || mode === 'oauth1';
  if (consumer !== undefined) await saveConfig(settings.configDir, { clientId: consumer.key, ...(usedCallback ? { callbackUrl } : {}) });
  const summary = { host, store: store.name, grant: credential.grant, expiresAt: credential.expiresAt ?? null, scopes: credential.scopes ?? null };
  if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!args.quiet) process.stdout.write(`signed in to ${host} (${credential.grant.replace('_', ' ')}, kept in ${store.name === 'keychain' ? 'the keychain' : store.name})\n`);
  return 0;
}

/** The consumer key and secret: flags and environment, else asked for; never in a script. */
export async function resolveConsumer(args: Pick<LoginArgs, 'clientId'>, env: Env, settings: Settings): Promise<Consumer> {
  let key = args.clientId ?? env.BITBUCKET_CLIENT_ID ?? settings.clientId;
  let secret = env.BITBUCKET_CLIENT_SECRET;
  if ((!key || !secret) && !interactive()) {
    throw new NpkgError('USAGE', 'no OAuth consumer: set BITBUCKET_CLIENT_ID and BITBUCKET_CLIENT_SECRET (or pass --client-id), see "Registering an OAuth consumer" in the README');
  }
  key ||= (await askLine('OAuth consumer key: ')).trim();
  secret ||= (await askLine('OAuth consumer secret (not shown): ', true)).trim();
  if (!key || !secret) throw new NpkgError('USAGE', 'the consumer key and secret are both needed');
  return { key, secret };
}

/** Merges keys into config.json. The consumer secret never goes there. */
async function saveConfig(configDir: string, values: Record<string, string>): Promise<void> {
  const file = path.join(configDir, 'config.json');
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (!hasErrnoCode(error, 'ENOENT')) throw error;
  }
  const { mkdir } = await import('node:fs/promises');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, formatJson({ ...current, ...values }));
}

/** `npkg logout`: forget the stored credential for this host. */
export async function runLogout(args: { quiet: boolean; json: boolean }, env: Env): Promise<number> {
  const settings = await loadSettings({}, env);
  const { host, openStore } = buildCredentials(settings, env, { interactive: false, onWarning: () => undefined });
  const store = await openStore();
  const removed = await store.delete(host);
  if (args.json) process.stdout.write(`${JSON.stringify({ host, removed, store: store.name })}\n`);
  else if (!args.quiet) process.stdout.write(removed ? `logged out of ${host} (removed from the ${store.name})\n` : `no stored login for ${host}\n`);
  return 0;
}

/** `npkg token`: a valid access token on stdout, renewed if needed, for scripts. */
export async function runToken(args: NetworkFlags, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const { provider } = buildCredentials(settings, env, { interactive: false, onWarning: (message) => say(`npkg: warning: ${message}`) });
  const credential = await provider.get('');
  if (credential === undefined) throw noCredential();
  if (!credential.authorization.startsWith('Bearer ')) {
    throw new NpkgError('USAGE', `the credential in use (${credential.source}) is a username and API token, not a bearer token`);
  }
  // By request, the one place a secret reaches stdout.
  process.stdout.write(`${credential.authorization.slice('Bearer '.length)}\n`);
  return 0;
}

/** `npkg whoami`: the account, the credential source, and its expiry and scopes when known. */
export async function runWhoami(args: { json: boolean; verbose: boolean } & NetworkFlags, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const setup = buildCredentials(settings, env, { interactive: false, onWarning: (message) => say(`npkg: warning: ${message}`) });
  const credential = await setup.provider.get('');
  if (credential === undefined) throw noCredential();
  const { BitbucketHttp } = await import('../bitbucket/client.js');
  const http = new BitbucketHttp({ retries: settings.retries, timeoutMs: settings.networkTimeoutMs }, setup.provider);
  const user = (await http.getJson(`${settings.apiUrl}/2.0/user`, '', 'your account')) as Record<string, unknown> | undefined;
  const info = {
    displayName: typeof user?.display_name === 'string' ? user.display_name : null,
    username: typeof user?.username === 'string' ? user.username : typeof user?.nickname === 'string' ? user.nickname : null,
    accountId: typeof user?.account_id === 'string' ? user.account_id : null,
    source: credential.source,
    expiresAt: credential.expiresAt !== undefined ? new Date(credential.expiresAt).toISOString() : null,
    scopes: credential.scopes ?? null,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  else {
    process.stdout.write(`${info.displayName ?? '(unknown)'}${info.username ? ` (${info.username})` : ''} on ${setup.host}\n`);
    process.stdout.write(`credential: ${info.source}${info.expiresAt ? `, expires ${info.expiresAt}` : ''}${info.scopes ? `, scopes: ${info.scopes}` : ''}\n`);
  }
  return 0;
}

function noCredential(): NpkgError {
  return new NpkgError('NO_CREDENTIAL', `not logged in: ${credentialHint()}`);
}
