import { buildCredentials, noCredential } from '../credentials.js';
import { loadSettings, type Env, type NetworkFlags } from '../../project/config.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `npkg whoami`: the account, the credential source, and its expiry and scopes when known. */
export async function runWhoami(args: { json: boolean; verbose: boolean } & NetworkFlags, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const setup = buildCredentials(settings, env, { interactive: false, onWarning: (message) => say(`npkg: warning: ${message}`) });
  const credential = await setup.provider.get('');
  if (credential === undefined) throw noCredential();
  const { BitbucketHttp } = await import('../../bitbucket/client.js');
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
