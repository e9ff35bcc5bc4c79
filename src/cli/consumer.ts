import type { Consumer } from '../auth/oauth2.js';
import type { Env, Settings } from '../project/config.js';
import { NpkgError } from '../util/errors.js';
import { askLine } from './prompt.js';

const interactive = () => process.stdin.isTTY === true && process.stderr.isTTY === true;

/** The consumer key and secret: flags and environment, else asked for; never in a script. */
export async function resolveConsumer(args: { clientId?: string | undefined }, env: Env, settings: Settings): Promise<Consumer> {
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
