import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { NpkgError, exitCodeFor } from './errors.js';
import { printError } from './reporter.js';

/** Flags every command takes (SPEC §4). */
export interface GlobalArgs {
  cwd: string | undefined;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  progress: boolean;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function buildParser(argv: string[]): Argv<GlobalArgs> {
  return yargs(argv)
    .scriptName('npkg')
    .usage('$0 <command> [options]\n\nVendor Bitbucket repositories listed in modules.json.')
    .option('cwd', { alias: 'C', type: 'string', describe: 'Run as if started in DIR', requiresArg: true })
    .option('json', { type: 'boolean', default: false, describe: 'Print a machine-readable result on stdout' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Explain what happens (never prints secrets)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print errors only' })
    .option('progress', { type: 'boolean', default: true, describe: 'Show progress on stderr when it is a terminal (--no-progress to hide)' })
    .command(
      ['install', 'i'],
      'Install every module of modules.json into vendorDir',
      (command) =>
        command
          .option('frozen-lockfile', { type: 'boolean', describe: 'Fail instead of updating modules.lock.json (default when CI=true)' })
          .option('offline', { type: 'boolean', default: false, describe: 'Use the cache only, never the network' })
          .option('concurrency', { type: 'number', describe: 'Modules fetched at once (default 8)', requiresArg: true })
          .option('force', { type: 'boolean', default: false, describe: 'Reinstall every module, replacing local changes' })
          .option('retries', { type: 'number', describe: 'Retries for network errors, 429 and 5xx (default 3)', requiresArg: true })
          .option('network-timeout', { type: 'number', describe: 'Seconds to wait for a connection or for data (default 30)', requiresArg: true }),
      async (args) => {
        const { runInstall } = await import('./cli-install.js');
        process.exitCode = await runInstall(args, process.env);
      },
    )
    .demandCommand(1, 'name a command: npkg install (see npkg --help)')
    .strict()
    .version(version())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 80))
    .fail((message, error) => {
      if (error) throw error;
      throw new NpkgError('USAGE', `${message}; see \`npkg --help\``);
    }) as unknown as Argv<GlobalArgs>;
}

/** Runs the CLI; every error ends here as one line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    await buildParser(argv).parseAsync();
  } catch (error) {
    printError(error, verbose);
    process.exitCode = error instanceof NpkgError ? exitCodeFor(error.code) : 1;
  }
}

await main(hideBin(process.argv));
