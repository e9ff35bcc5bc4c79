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
    .command(
      'login',
      'Sign in to Bitbucket and store the credential (browser OAuth by default)',
      (command) =>
        command.options({
          'client-id': { type: 'string', describe: 'OAuth consumer key (else BITBUCKET_CLIENT_ID, config.json, or asked)', requiresArg: true },
          'callback-url': { type: 'string', describe: 'Loopback callback URL registered on the consumer (default http://127.0.0.1:8976/callback)', requiresArg: true },
          timeout: { type: 'number', describe: 'Seconds to wait for the browser (default 300)', requiresArg: true },
          browser: { type: 'boolean', default: true, describe: 'Open the browser (--no-browser only prints the URL)' },
          paste: { type: 'boolean', default: false, describe: 'No local server: paste the redirected URL or the code' },
          'client-credentials': { type: 'boolean', default: false, describe: 'Client-credentials grant of a private consumer (no browser)' },
          'with-token': { type: 'boolean', default: false, describe: 'Read a bearer token from stdin and store it' },
          oauth1: { type: 'boolean', default: false, describe: 'Legacy OAuth 1.0a (Bitbucket Cloud stopped accepting it in 2026); with --paste, a PIN' },
        }),
      async (args) => {
        const { runLogin } = await import('./cli-login.js');
        process.exitCode = await runLogin(args as unknown as Parameters<typeof runLogin>[0], process.env);
      },
    )
    .command('logout', 'Forget the stored credential for this Bitbucket host', {}, async (args) => {
      const { runLogout } = await import('./cli-login.js');
      process.exitCode = await runLogout(args as unknown as { quiet: boolean }, process.env);
    })
    .command('whoami', 'Show the account, the credential source and its expiry', {}, async (args) => {
      const { runWhoami } = await import('./cli-login.js');
      process.exitCode = await runWhoami(args as unknown as { json: boolean; verbose: boolean }, process.env);
    })
    .command('token', 'Print a valid access token (renewed if needed), for scripts', {}, async () => {
      const { runToken } = await import('./cli-login.js');
      process.exitCode = await runToken(process.env);
    })
    .command(['list', 'ls'], 'List the modules with their locked commit and state (ok, missing, modified with --verify)', (command) => command.option('verify', { type: 'boolean', default: false, describe: 'Re-hash each folder: report edited ones as modified' }), async (args) => {
      const { runList } = await import('./cli-manage.js');
      process.exitCode = await runList(args as unknown as { cwd?: string; json: boolean; verify: boolean });
    })
    .command('cache <action> [repo]', 'Show (dir), list (ls) or empty (clean [ws/slug]) the archive cache', (command) => command.positional('action', { choices: ['dir', 'ls', 'clean'] as const, describe: 'dir, ls or clean' }).positional('repo', { type: 'string', describe: 'with clean: only this workspace/slug' }), async (args) => {
      const { runCache } = await import('./cli-manage.js');
      process.exitCode = await runCache(args as unknown as { action: string; repo?: string; json: boolean; quiet: boolean }, process.env);
    })
    .command(['remove <names..>', 'rm'], 'Remove modules from modules.json, the lockfile and vendor', (command) => command.positional('names', { type: 'string', array: true, describe: 'module names' }), async (args) => {
      const { runRemove } = await import('./cli-remove.js');
      process.exitCode = await runRemove(args as unknown as { cwd?: string; names: string[]; quiet: boolean; json: boolean });
    })
    .command('add <specs..>', 'Add modules (slug, ws/slug, slug@ref, name=ws/slug@ref) and install them', (command) => command.positional('specs', { type: 'string', array: true, describe: 'what to add; with no @ref, the newest semver tag' }).option('force', { type: 'boolean', default: false, describe: 'Replace a module of the same name' }).example('$0 add acme/utils', 'the newest tag, written as an exact tag').example('$0 add icons=design-team/icon-set@^3', 'a range, under another name'), async (args) => {
      const { runAdd } = await import('./cli-add.js');
      process.exitCode = await runAdd(args as unknown as Parameters<typeof runAdd>[0], process.env);
    })
    .command('update [names..]', 'Resolve refs again (ranges and branches move; exact tags follow a moved tag) and reinstall', (command) => command.positional('names', { type: 'string', array: true, describe: 'modules to update (default: all)' }).option('latest', { type: 'boolean', default: false, describe: 'Rewrite exact tags to the newest tag, and ranges around it (^1.2.0 → ^2.0.0)' }).option('force', { type: 'boolean', default: false, describe: 'Replace folders edited locally' }).example('$0 update', 'every module').example('$0 update utils --latest', 'utils to its newest tag'), async (args) => {
      const { runUpdate } = await import('./cli-update.js');
      process.exitCode = await runUpdate({ ...(args as unknown as Omit<Parameters<typeof runUpdate>[0], 'names'>), names: ((args as { names?: string[] }).names ?? []) }, process.env);
    })
    .command('outdated', 'Show, per module, the locked version, what its ref resolves to now, and the newest tag', {}, async (args) => {
      const { runOutdated } = await import('./cli-outdated.js');
      process.exitCode = await runOutdated(args as unknown as { cwd?: string; json: boolean; verbose: boolean }, process.env);
    })
    .command('verify', 'Re-hash every vendor folder against modules.lock.json (no network)', {}, async (args) => {
      const { runVerify } = await import('./cli-verify.js');
      process.exitCode = await runVerify(args as unknown as { cwd?: string; json: boolean; quiet: boolean }, process.env);
    })
    .completion('completion', 'Print a shell completion script (bash, zsh): npkg completion >> ~/.bashrc')
    .recommendCommands()
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
