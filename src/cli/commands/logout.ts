import { buildCredentials } from '../credentials.js';
import { loadSettings, type Env } from '../../project/config.js';

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
