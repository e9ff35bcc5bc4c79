import { buildCredentials, noCredential } from '../credentials.js';
import { loadSettings, type Env, type NetworkFlags } from '../../project/config.js';
import { bitbucketServer } from '../../bitbucket/server.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `npkg whoami`: the account, the credential source, and its expiry and scopes when known. */
export async function runWhoami(args: { json: boolean; verbose: boolean } & NetworkFlags, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const setup = buildCredentials(settings, env, { interactive: false, onWarning: (message) => say(`npkg: warning: ${message}`) });
  const credential = await setup.provider.get('');
  if (credential === undefined) throw noCredential(settings.kind);
  const { BitbucketHttp } = await import('../../bitbucket/client.js');
  const http = new BitbucketHttp({ kind: settings.kind, retries: settings.retries, timeoutMs: settings.networkTimeoutMs }, setup.provider);
  const info = {
    ...(await bitbucketServer(settings).whoami(http)),
    source: credential.source,
    expiresAt: credential.expiresAt !== undefined ? new Date(credential.expiresAt).toISOString() : null,
    scopes: credential.scopes ?? null,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  else {
    // Data Center names only the user (X-AUSERNAME); Cloud gives the display name too.
    const who = settings.kind === 'datacenter' ? (info.username ?? '(unknown)') : `${info.displayName ?? '(unknown)'}${info.username ? ` (${info.username})` : ''}`;
    process.stdout.write(`${who} on ${setup.host}\n`);
    process.stdout.write(`credential: ${info.source}${info.expiresAt ? `, expires ${info.expiresAt}` : ''}${info.scopes ? `, scopes: ${info.scopes}` : ''}\n`);
  }
  return 0;
}
