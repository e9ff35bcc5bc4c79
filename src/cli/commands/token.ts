import { buildCredentials, noCredential } from '../credentials.js';
import { loadSettings, type Env, type NetworkFlags } from '../../project/config.js';
import { NpkgError } from '../../util/errors.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** `npkg token`: a valid access token on stdout, renewed if needed, for scripts. */
export async function runToken(args: NetworkFlags, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const { provider } = buildCredentials(settings, env, { interactive: false, onWarning: (message) => say(`npkg: warning: ${message}`) });
  const credential = await provider.get('');
  if (credential === undefined) throw noCredential(settings.kind);
  if (!credential.authorization.startsWith('Bearer ')) {
    throw new NpkgError('USAGE', `the credential in use (${credential.source}) is a username and API token, not a bearer token`);
  }
  // By request, the one place a secret reaches stdout.
  process.stdout.write(`${credential.authorization.slice('Bearer '.length)}\n`);
  return 0;
}
