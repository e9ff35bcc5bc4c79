import { performance } from 'node:perf_hooks';
import { isatty } from 'node:tty';
import { installSettings, loadSettings, type Env } from '../../project/config.js';
import { buildCredentials } from '../credentials.js';
import { remoteCacheSettings } from '../remote-cache.js';
import { NpkgError, exitCodeFor, exitCodeForFailures } from '../../util/errors.js';
import { install, type ModuleResult } from '../../install/install.js';
import type { InstallArgs } from '../options.js';
import { Reporter, formatResult, printError } from '../reporter.js';

/** CI=true means --frozen-lockfile for install, unless --no-frozen-lockfile (SPEC §2). */
export function isCi(env: Env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** Maps argv to `install()` and prints the outcome; returns the exit code. */
export async function runInstall(args: InstallArgs, env: Env): Promise<number> {
  const started = performance.now();
  const reporter = new Reporter({
    verbose: args.verbose,
    quiet: args.quiet,
    progress: args.progress && !args.json && !args.quiet && isatty(2),
  });
  let modules: ModuleResult[] = [];
  let failure: NpkgError | undefined;
  try {
    const settings = await loadSettings({ concurrency: args.concurrency, retries: args.retries, networkTimeout: args.networkTimeout }, env);
    const remoteCache = await remoteCacheSettings(settings, env, args.remoteCacheWrite);
    await reporter.start();
    const report = await install({
      cwd: args.cwd ?? process.cwd(),
      frozenLockfile: args.frozenLockfile ?? isCi(env),
      offline: args.offline,
      force: args.force,
      ...installSettings(settings),
      remoteCache,
      credentials: buildCredentials(settings, env, {
        // isatty, not process.stdin.isTTY: that getter builds a stdin stream, a few ms at every start.
        interactive: isatty(0) && isatty(2),
        loginWhenMissing: true,
        aside: (work) => reporter.aside(work),
        onWarning: (message) => reporter.events().warning?.(message),
        ...(args.verbose ? { onDebug: (line: string) => reporter.events().debug?.(line) } : {}),
      }).provider,
      events: reporter.events(),
    });
    modules = report.modules;
  } catch (error) {
    if (!(error instanceof NpkgError)) throw error;
    failure = error;
  } finally {
    reporter.stop();
  }
  const durationMs = Math.round(performance.now() - started);
  const failed = modules.filter((result) => result.error !== undefined);
  if (args.json) process.stdout.write(`${JSON.stringify(jsonReport(modules, durationMs, failure))}\n`);
  else if (!args.quiet && failure === undefined) printSummary(modules, durationMs);
  for (const result of failed) printError(result.error, args.verbose, `npkg: ${result.name}`);
  if (failure !== undefined) {
    printError(failure, args.verbose);
    return exitCodeFor(failure.code);
  }
  if (failed.length === 0) return 0;
  // A usage error met by a module (a credential source that this server lacks) is exit 2, below a credential's 4.
  return exitCodeForFailures(failed.map((result) => result.error!.code));
}

function printSummary(modules: ModuleResult[], durationMs: number): void {
  const lines = modules.filter((result) => result.action !== 'unchanged' || modules.length <= 20).map(formatResult);
  const counts = new Map<string, number>();
  for (const result of modules) counts.set(result.action, (counts.get(result.action) ?? 0) + 1);
  const parts = [...counts.entries()].map(([action, count]) => `${count} ${action}`);
  lines.push(`${modules.length === 0 ? 'nothing to install' : parts.join(', ')} in ${(durationMs / 1000).toFixed(1)} s`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** SPEC §4: `{"modules": [...], "durationMs"}`, also when the command fails. */
function jsonReport(modules: ModuleResult[], durationMs: number, failure: NpkgError | undefined): unknown {
  return {
    modules: modules.map((result) => ({
      name: result.name,
      repo: result.repo,
      ref: result.ref,
      commit: result.commit ?? null,
      integrity: result.integrity ?? null,
      action: result.action,
      ...(result.source === undefined ? {} : { source: result.source }),
      ...(result.error === undefined ? {} : { error: { code: result.error.code, message: result.error.message } }),
    })),
    durationMs,
    ...(failure === undefined ? {} : { error: { code: failure.code, message: failure.message } }),
  };
}
