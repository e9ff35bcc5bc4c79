import { readFileSync } from 'node:fs';
import type { Argv, Options } from 'yargs';
import { GLOBAL_FLAGS, INSTALL_FLAGS, parseInstallFast, type FlagSpec } from './cli-options.js';
import { NpkgError, exitCodeFor } from './errors.js';
import { printError } from './reporter.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function yargsOptions(flags: Record<string, FlagSpec>): Record<string, Options> {
  return Object.fromEntries(
    Object.entries(flags).map(([name, spec]) => [
      name,
      {
        type: spec.type,
        describe: spec.describe,
        ...(spec.alias ? { alias: spec.alias } : {}),
        ...(spec.default !== undefined ? { default: spec.default } : {}),
        ...(spec.type !== 'boolean' ? { requiresArg: true } : {}),
      },
    ]),
  );
}

async function runInstallCommand(args: Parameters<typeof import('./cli-install.js').runInstall>[0]): Promise<void> {
  const { runInstall } = await import('./cli-install.js');
  process.exitCode = await runInstall(args, process.env);
}

/** The full parser: help, version, every command, and clear usage errors. */
async function parseWithYargs(argv: string[]): Promise<void> {
  const { default: yargs } = await import('yargs');
  const parser: Argv = yargs(argv)
    .scriptName('npkg')
    .usage('$0 <command> [options]\n\nVendor Bitbucket repositories listed in modules.json.')
    .options(yargsOptions(GLOBAL_FLAGS))
    .command(
      ['install', 'i'],
      'Install every module of modules.json into vendorDir',
      (command) => command.options(yargsOptions(INSTALL_FLAGS)),
      (args) => runInstallCommand(args as unknown as Parameters<typeof runInstallCommand>[0]),
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
    });
  await parser.parseAsync();
}

/** Runs the CLI; every error ends here as one line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const fast = parseInstallFast(argv);
    if (fast !== undefined) await runInstallCommand(fast);
    else await parseWithYargs(argv);
  } catch (error) {
    printError(error, verbose);
    process.exitCode = error instanceof NpkgError ? exitCodeFor(error.code) : 1;
  }
}

await main(process.argv.slice(2));
