import type { Argv, Options } from 'yargs';
import { INSTALL_FLAGS, NETWORK_FLAGS, REMOTE_CACHE_FLAGS, type FlagSpec } from './options.js';

/** yargs options from the flag table of cli-options.ts. */
export function yargsOptions(flags: Record<string, FlagSpec>): Record<string, Options> {
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

type Args = Record<string, unknown>;
type Run = (args: Args) => Promise<number>;

/** Runs a command module's entry point and sets the exit code (only the CLI does that). */
const handle = (run: Run) => async (args: Args) => {
  process.exitCode = await run(args);
};
const env = () => process.env;

/** Every command, with its flags and examples; each loads its own module only when it runs. */
export function registerCommands(parser: Argv): Argv {
  return loginCommands(inspectCommands(changeCommands(parser)));
}

/** The commands that change vendor/: install, add, remove, update. */
function changeCommands(parser: Argv): Argv {
  return parser
    .command(
      ['install', 'i'],
      'Install every module of modules.json into vendorDir',
      (command) => command.options(yargsOptions({ ...INSTALL_FLAGS, ...NETWORK_FLAGS })).example('$0 install', 'what modules.lock.json says').example('$0 i --offline', 'from the cache only'),
      handle(async (args) => (await import('./commands/install.js')).runInstall(args as never, env())),
    )
    .command(
      'add <specs..>',
      'Add modules (slug, ws/slug, slug@ref, name=ws/slug@ref) and install them',
      (command) =>
        command
          .positional('specs', { type: 'string', array: true, describe: 'what to add; with no @ref, the newest semver tag' })
          .option('force', { type: 'boolean', default: false, describe: 'Replace a module of the same name' })
          .options(yargsOptions({ ...NETWORK_FLAGS, ...REMOTE_CACHE_FLAGS }))
          .example('$0 add acme/utils', 'the newest tag, written as an exact tag')
          .example('$0 add icons=design-team/icon-set@^3', 'a range, under another name'),
      handle(async (args) => (await import('./commands/add.js')).runAdd(args as never, env())),
    )
    .command(
      ['remove <names..>', 'rm'],
      'Remove modules from modules.json, the lockfile and vendor',
      (command) => command.positional('names', { type: 'string', array: true, describe: 'module names' }).example('$0 remove theme', 'manifest, lock and folder'),
      handle(async (args) => (await import('./commands/remove.js')).runRemove(args as never, env())),
    )
    .command(
      'update [names..]',
      'Resolve refs again (ranges and branches move; exact tags follow a moved tag) and reinstall',
      (command) =>
        command
          .positional('names', { type: 'string', array: true, describe: 'modules to update (default: all)' })
          .option('latest', { type: 'boolean', default: false, describe: 'Rewrite exact tags to the newest tag, and ranges around it (^1.2.0 → ^2.0.0)' })
          .option('force', { type: 'boolean', default: false, describe: 'Replace folders edited locally' })
          .options(yargsOptions({ ...NETWORK_FLAGS, ...REMOTE_CACHE_FLAGS }))
          .example('$0 update', 'every module')
          .example('$0 update utils --latest', 'utils to its newest tag'),
      handle(async (args) => (await import('./commands/update.js')).runUpdate({ ...(args as never as object), names: (args.names as string[] | undefined) ?? [] } as never, env())),
    );
}

/** The commands that only look: outdated, list, verify, cache. */
function inspectCommands(parser: Argv): Argv {
  return parser
    .command(
      'outdated',
      'Show, per module, the locked version, what its ref resolves to now, and the newest tag',
      (command) => command.options(yargsOptions(NETWORK_FLAGS)).example('$0 outdated --json', 'name, current, wanted, latest'),
      handle(async (args) => (await import('./commands/outdated.js')).runOutdated(args as never, env())),
    )
    .command(
      ['list', 'ls'],
      'List the modules with their locked commit and state (ok, missing, modified with --verify)',
      (command) => command.option('verify', { type: 'boolean', default: false, describe: 'Re-hash each folder: report edited ones as modified' }).example('$0 ls --verify', 'also find edited folders'),
      handle(async (args) => (await import('./commands/list.js')).runList(args as never, env())),
    )
    .command(
      'verify',
      'Re-hash every vendor folder against modules.lock.json (no network)',
      (command) => command.example('$0 verify', 'exit 1 naming what differs'),
      handle(async (args) => (await import('./commands/verify.js')).runVerify(args as never, env())),
    )
    .command(
      'cache <action> [repo]',
      'Show (dir), list (ls) or empty (clean [ws/slug]) the archive cache',
      (command) =>
        command
          .positional('action', { choices: ['dir', 'ls', 'clean'] as const, describe: 'dir, ls or clean' })
          .positional('repo', { type: 'string', describe: 'with clean: only this workspace/slug' })
          .example('$0 cache ls', 'archives and sizes')
          .example('$0 cache clean acme/utils', 'one repository'),
      handle(async (args) => (await import('./commands/cache.js')).runCache(args as never, env())),
    );
}

/** The credential commands: login, logout, whoami, token. */
function loginCommands(parser: Argv): Argv {
  return parser
    .command(
      'login',
      'Sign in to Bitbucket and store the credential (browser OAuth by default)',
      (command) =>
        command
          .options({
            'client-id': { type: 'string', describe: 'OAuth consumer key (else BITBUCKET_CLIENT_ID, config.json, or asked)', requiresArg: true },
            'callback-url': { type: 'string', describe: 'Loopback callback URL registered on the consumer (default http://127.0.0.1:8976/callback)', requiresArg: true },
            timeout: { type: 'number', describe: 'Seconds to wait for the browser (default 300)', requiresArg: true },
            browser: { type: 'boolean', default: true, describe: 'Open the browser (--no-browser only prints the URL)' },
            paste: { type: 'boolean', default: false, describe: 'No local server: paste the redirected URL or the code' },
            'client-credentials': { type: 'boolean', default: false, describe: 'Client-credentials grant of a private consumer (no browser)' },
            'with-token': { type: 'boolean', default: false, describe: 'Read a bearer token from stdin and store it' },
            oauth1: { type: 'boolean', default: false, describe: 'Legacy OAuth 1.0a (Bitbucket Cloud stopped accepting it in 2026); with --paste, a PIN' },
            ...yargsOptions(NETWORK_FLAGS),
          })
          .example('$0 login', 'browser sign-in')
          .example('echo "$TOKEN" | $0 login --with-token', 'store an access token'),
      handle(async (args) => (await import('./commands/login.js')).runLogin(args as never, env())),
    )
    .command('logout', 'Forget the stored credential for this Bitbucket host', (command) => command.example('$0 logout', ''), handle(async (args) => (await import('./commands/logout.js')).runLogout(args as never, env())))
    .command('whoami', 'Show the account, the credential source and its expiry', (command) => command.options(yargsOptions(NETWORK_FLAGS)).example('$0 whoami --json', ''), handle(async (args) => (await import('./commands/whoami.js')).runWhoami(args as never, env())))
    .command(
      'token',
      'Print a valid access token (renewed if needed), for scripts',
      (command) => command.options(yargsOptions(NETWORK_FLAGS)).example('curl -H "Authorization: Bearer $($0 token)" …', ''),
      handle(async (args) => (await import('./commands/token.js')).runToken(args as never, env())),
    );
}
