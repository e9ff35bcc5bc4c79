import semver from 'semver';
import { buildCredentials } from '../credentials.js';
import { remoteCacheSettings } from '../remote-cache.js';
import { installSettings, loadSettings, type Env, type NetworkFlags } from '../../project/config.js';
import { NpkgError, exitCodeForFailures } from '../../util/errors.js';
import { install, type InstallEvents } from '../../install/install.js';
import { lockfilePath, readLockfile, type Lock } from '../../project/lockfile.js';
import { editManifestFile } from '../../project/manifest-edit.js';
import { loadManifest, type ModuleSpec } from '../../project/manifest.js';
import { bitbucketServer, workspaceRule } from '../../bitbucket/server.js';
import { Reporter, printError } from '../reporter.js';

export interface UpdateArgs extends NetworkFlags {
  cwd?: string | undefined;
  names: string[];
  latest: boolean;
  force: boolean;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  remoteCacheWrite?: boolean | undefined;
}

/**
 * The ref text `--latest` writes: an exact tag becomes the newest tag, a
 * simple range keeps its operator around the newest version, anything else
 * (branch, commit, compound range) stays.
 */
export function latestRef(ref: string, isTag: boolean, newest: string | undefined): string {
  if (newest === undefined) return ref;
  if (isTag) return newest;
  const range = /^(\^|~|>=|>|=)v?\d+(\.\d+){0,2}$/.exec(ref);
  if (range === null || semver.validRange(ref) === null) return ref;
  return `${range[1]}${newest.replace(/^v/, '')}`;
}

/** `npkg update [name...]`: resolve refs again (and with --latest, rewrite them), reinstall, report old → new. */
export async function runUpdate(args: UpdateArgs, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const remoteCache = await remoteCacheSettings(settings, env, args.remoteCacheWrite);
  let manifest = await loadManifest(args.cwd ?? process.cwd(), workspaceRule(settings.kind));
  const unknown = args.names.filter((name) => !manifest.modules.some((spec) => spec.name === name));
  if (unknown.length > 0) throw new NpkgError('USAGE', `not in ${manifest.file}: ${unknown.join(', ')}; nothing was changed`);
  const targets = manifest.modules.filter((spec) => args.names.length === 0 || args.names.includes(spec.name));
  const lockFile = lockfilePath(manifest);
  const before: Lock = (await readLockfile(lockFile)) ?? new Map();
  const { provider } = buildCredentials(settings, env, { interactive: false, onWarning: (message) => process.stderr.write(`npkg: warning: ${message}\n`) });
  if (args.latest) {
    const rewrites = await newestRefs(targets, before, settings, provider);
    if (rewrites.size > 0) {
      await editManifestFile(manifest.file, (data) =>
        [...rewrites].map(([name, ref]) => {
          const entry = (data.modules as Record<string, unknown>)[name];
          return { path: typeof entry === 'string' ? ['modules', name] : ['modules', name, 'ref'], value: ref };
        }),
      );
      manifest = await loadManifest(manifest.root, workspaceRule(settings.kind));
    }
  }
  const report = await install({
    cwd: manifest.root,
    frozenLockfile: false,
    offline: false,
    force: args.force,
    ...installSettings(settings),
    remoteCache,
    credentials: provider,
    reresolve: new Set(targets.map((spec) => spec.name)),
    events: updateEvents(args),
  });
  // No lockfile is written when every module failed.
  const after: Lock = (await readLockfile(lockFile)) ?? new Map();
  const changes = targets.map((spec) => {
    const old = before.get(spec.name);
    const now = after.get(spec.name);
    const failure = report.modules.find((result) => result.name === spec.name && result.error !== undefined)?.error;
    return { name: spec.name, from: old ? label(old.resolved, old.commit) : null, to: now ? label(now.resolved, now.commit) : null, ...(failure ? { error: failure } : {}) };
  });
  if (args.json) process.stdout.write(`${JSON.stringify({ modules: changes.map(({ error, ...rest }) => ({ ...rest, ...(error ? { error: { code: error.code, message: error.message } } : {}) })) })}\n`);
  else if (!args.quiet) {
    for (const change of changes) if (!change.error) process.stdout.write(`${change.name}: ${change.from === change.to ? `${change.to} (unchanged)` : `${change.from ?? '(none)'} → ${change.to}`}\n`);
  }
  const failed = changes.filter((change) => change.error !== undefined);
  for (const change of failed) printError(change.error, args.verbose, `npkg: ${change.name}`);
  if (failed.length === 0) return 0;
  return exitCodeForFailures(failed.map((change) => change.error!.code));
}

/** Install's warnings, retries, --verbose lines and the wait for another npkg; the per-module lines are update's own. */
function updateEvents(args: Pick<UpdateArgs, 'verbose' | 'quiet'>): InstallEvents {
  const { warning, retry, debug, waiting } = new Reporter({ verbose: args.verbose, quiet: args.quiet, progress: false }).events();
  return { warning, retry, debug, waiting };
}

function label(resolved: string, commit: string): string {
  return resolved.startsWith('tag:') ? `${resolved.slice(4)} (${commit.slice(0, 12)})` : `${resolved.replace(/^branch:/, '')}@${commit.slice(0, 12)}`;
}

/** For --latest: the ref text each module should now have, where it changes. */
async function newestRefs(targets: ModuleSpec[], lock: Lock, settings: Awaited<ReturnType<typeof loadSettings>>, provider: ReturnType<typeof buildCredentials>['provider']): Promise<Map<string, string>> {
  const [{ BitbucketHttp }, resolve] = await Promise.all([import('../../bitbucket/client.js'), import('../../bitbucket/resolve.js')]);
  const http = new BitbucketHttp({ kind: settings.kind, retries: settings.retries, timeoutMs: settings.networkTimeoutMs }, provider);
  const server = bitbucketServer(settings);
  const tagLists = new Map<string, ReturnType<typeof resolve.listTags>>();
  const rewrites = new Map<string, string>();
  for (const spec of targets) {
    if (!tagLists.has(spec.repo)) tagLists.set(spec.repo, server.listTags((url) => http.getJson(url, spec.workspace, spec.repo), spec.workspace, spec.slug));
    const tags = await tagLists.get(spec.repo)!;
    const newest = resolve.newestRelease(tags);
    const isTag = tags.some((tag) => tag.name === spec.ref) || lock.get(spec.name)?.resolved === `tag:${spec.ref}`;
    const ref = latestRef(spec.ref, isTag, newest);
    if (ref !== spec.ref) rewrites.set(spec.name, ref);
  }
  return rewrites;
}
