import { parseArgs } from 'node:util';

/** The arguments of `npkg install`, from either parser. */
export interface InstallArgs {
  cwd?: string | undefined;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  progress: boolean;
  frozenLockfile?: boolean | undefined;
  offline: boolean;
  force: boolean;
  concurrency?: number | undefined;
  retries?: number | undefined;
  networkTimeout?: number | undefined;
  remoteCacheWrite?: boolean | undefined;
}

/** One flag, described once for both parsers (yargs for help and errors, parseArgs for the fast path). */
export interface FlagSpec {
  type: 'boolean' | 'string' | 'number';
  alias?: string;
  describe: string;
  /** `--no-<flag>` turns it off. */
  negatable?: boolean;
  default?: boolean;
}

export const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  cwd: { type: 'string', alias: 'C', describe: 'Run as if started in DIR' },
  json: { type: 'boolean', default: false, describe: 'Print a machine-readable result on stdout' },
  verbose: { type: 'boolean', alias: 'v', default: false, describe: 'Explain what happens (never prints secrets)' },
  quiet: { type: 'boolean', alias: 'q', default: false, describe: 'Print errors only' },
  progress: { type: 'boolean', default: true, negatable: true, describe: 'Show progress on stderr when it is a terminal (--no-progress to hide)' },
};

/** For every command that installs (install, add, update): uploads to the team cache. */
export const REMOTE_CACHE_FLAGS: Record<string, FlagSpec> = {
  'remote-cache-write': { type: 'boolean', negatable: true, describe: 'Upload archives fetched from Bitbucket to NPKG_REMOTE_CACHE (also NPKG_REMOTE_CACHE_WRITE=1)' },
};

export const INSTALL_FLAGS: Record<string, FlagSpec> = {
  'frozen-lockfile': { type: 'boolean', negatable: true, describe: 'Fail instead of updating modules.lock.json (default when CI=true)' },
  offline: { type: 'boolean', default: false, describe: 'Use the cache only, never the network' },
  concurrency: { type: 'number', describe: 'Modules fetched at once (default 8)' },
  force: { type: 'boolean', default: false, describe: 'Reinstall every module, replacing local changes' },
  ...REMOTE_CACHE_FLAGS,
};

/** For every command that talks to Bitbucket's API or archive host. */
export const NETWORK_FLAGS: Record<string, FlagSpec> = {
  retries: { type: 'number', describe: 'Retries for network errors, 429 and 5xx (default 3)' },
  'network-timeout': { type: 'number', describe: 'Seconds to wait for a connection or for data (default 30)' },
};

/**
 * Parses a plain `npkg install ...` without loading yargs, so that a no-op
 * install starts fast. Anything unusual (help, version, errors, other
 * commands) returns undefined and goes to yargs, which explains it.
 */
export function parseInstallFast(argv: string[]): InstallArgs | undefined {
  const flags = { ...GLOBAL_FLAGS, ...INSTALL_FLAGS, ...NETWORK_FLAGS };
  const options: Record<string, { type: 'boolean' | 'string'; short?: string }> = {};
  for (const [name, spec] of Object.entries(flags)) {
    options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string', ...(spec.alias ? { short: spec.alias } : {}) };
    if (spec.negatable) options[`no-${name}`] = { type: 'boolean' };
  }
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
  const [command, ...rest] = parsed.positionals;
  if ((command !== 'install' && command !== 'i') || rest.length > 0) return undefined;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const numbers: Record<string, number | undefined> = {};
  for (const name of ['concurrency', 'retries', 'network-timeout']) {
    const text = values[name] as string | undefined;
    if (text === undefined) continue;
    if (!/^\d+$/.test(text)) return undefined;
    numbers[name] = Number(text);
  }
  const flag = (name: string, fallback: boolean) => (values[`no-${name}`] ? false : ((values[name] as boolean | undefined) ?? fallback));
  return {
    cwd: values.cwd as string | undefined,
    json: flag('json', false),
    verbose: flag('verbose', false),
    quiet: flag('quiet', false),
    progress: flag('progress', true),
    frozenLockfile: values['no-frozen-lockfile'] ? false : (values['frozen-lockfile'] as boolean | undefined),
    offline: flag('offline', false),
    force: flag('force', false),
    concurrency: numbers.concurrency,
    retries: numbers.retries,
    networkTimeout: numbers['network-timeout'],
    remoteCacheWrite: values['no-remote-cache-write'] ? false : (values['remote-cache-write'] as boolean | undefined),
  };
}
