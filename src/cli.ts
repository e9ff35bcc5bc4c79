import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { GLOBAL_FLAGS, INSTALL_FLAGS, NETWORK_FLAGS, parseInstallFast } from './cli/options.js';
import { NpkgError, exitCodeFor } from './util/errors.js';
import { printError } from './cli/reporter.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The full parser: help, version, every command, and clear usage errors. */
async function parseWithYargs(argv: string[]): Promise<void> {
  const [{ default: yargs }, { registerCommands, yargsOptions }] = await Promise.all([import('yargs'), import('./cli/registry.js')]);
  const parser: Argv = registerCommands(yargs(argv)
    .scriptName('npkg')
    .usage('$0 <command> [options]\n\nVendor Bitbucket repositories listed in modules.json.')
    .options(yargsOptions(GLOBAL_FLAGS)))
    .completion('completion', 'Print a shell completion script (bash, zsh): npkg completion >> ~/.bashrc')
    .recommendCommands()
    .demandCommand(1, 'name a command, e.g. npkg install')
    .strict()
    .version(version())
    .alias('version', 'V')
    .help()
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 80))
    .fail((message, error) => {
      // yargs' own errors (a flag without its value) are usage errors too; any other is ours.
      if (error && error.name !== 'YError') throw error;
      const text = message ?? error?.message ?? 'invalid command line';
      // yargs' "Did you mean install?" does not say what was wrong: one sentence that does.
      const said = text.startsWith('Did you mean') ? `unknown command "${commandWord(argv)}", did you mean${text.slice('Did you mean'.length)}` : text;
      throw new NpkgError('USAGE', `${said}${suggestFlag(text)}; see \`npkg --help\``);
    });
  await parser.parseAsync();
}

/** The command as typed: the first word that is neither a flag nor the value of -C/--cwd (the one global flag with a value). */
function commandWord(argv: string[]): string {
  const word = argv.find((arg, index) => !arg.startsWith('-') && argv[index - 1] !== '-C' && argv[index - 1] !== '--cwd');
  return word ?? '';
}

/** "Unknown argument: ofline" → ", did you mean --offline?" when a known flag is one or two edits away. */
export function suggestFlag(message: string): string {
  const unknown = /^Unknown arguments?: ([\w-]+)/.exec(message)?.[1];
  if (unknown === undefined) return '';
  const known = [...Object.keys(GLOBAL_FLAGS), ...Object.keys(INSTALL_FLAGS), ...Object.keys(NETWORK_FLAGS), 'latest', 'verify', 'paste', 'oauth1', 'client-id', 'callback-url', 'with-token', 'client-credentials', 'timeout'];
  const best = known.map((flag) => ({ flag, distance: editDistance(unknown, flag) })).sort((a, b) => a.distance - b.distance)[0];
  // Two edits for a word of six letters or more, fewer for shorter ones: `c` suggests nothing.
  return best !== undefined && best.distance <= Math.min(2, Math.floor(unknown.length / 3)) ? `, did you mean --${best.flag}?` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** Runs the CLI; every error ends here as one line and an exit code. */
export async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  // A reader that stops early (`npkg ls | head -1`) ends the output, not the command.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
  try {
    const fast = parseInstallFast(argv);
    if (fast !== undefined) {
      const { runInstall } = await import('./cli/commands/install.js');
      process.exitCode = await runInstall(fast, process.env);
    } else await parseWithYargs(argv);
  } catch (error) {
    printError(error, verbose);
    process.exitCode = error instanceof NpkgError ? exitCodeFor(error.code) : 1;
  }
}

await main(process.argv.slice(2));
