import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveConsumer } from '../consumer.js';
import { checkCallbackUrl, defaultCallbackUrl, oauthProviderFor, refuseOnDataCenter } from '../server-auth.js';
import { buildCredentials } from '../credentials.js';
import { readInput } from '../prompt.js';
import type { LoginMode } from '../../auth/login.js';
import { loadSettings, type Env, type NetworkFlags } from '../../project/config.js';
import { NpkgError, hasErrnoCode } from '../../util/errors.js';
import { formatJson, writeFileAtomic } from '../../util/json-file.js';

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
  if (settings.kind === 'datacenter' && mode === 'client-credentials') throw refuseOnDataCenter('--client-credentials');
  if (settings.kind === 'datacenter' && (mode === 'oauth1' || mode === 'oauth1-pin')) throw refuseOnDataCenter('--oauth1');
  const callbackUrl = args.callbackUrl ?? env.NPKG_CALLBACK_URL ?? settings.callbackUrl ?? defaultCallbackUrl(settings);
  if (mode === 'code' || mode === 'paste') checkCallbackUrl(settings, callbackUrl);
  const oauth = oauthProviderFor(settings);
  const consumer = mode === 'with-token' ? undefined : await resolveConsumer(args, env, settings);
  const { host, openStore } = buildCredentials(settings, env, { interactive: interactive(), onWarning: (message) => say(`npkg: warning: ${message}`) });
  const store = await openStore();
  const { login } = await import('../../auth/login.js');
  const credential = await login({
    mode,
    bitbucketUrl: settings.bitbucketUrl,
    ...(oauth ? { oauth } : {}),
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
