import { buildCredentials } from '../credentials.js';
import { columns } from '../reporter.js';
import { loadSettings, type Env, type NetworkFlags } from '../../project/config.js';
import type { RefInfo } from '../../bitbucket/api.js';
import { lockfilePath, readLockfile } from '../../project/lockfile.js';
import { loadManifest, type ModuleSpec } from '../../project/manifest.js';
import { bitbucketServer, workspaceRule } from '../../bitbucket/server.js';

interface Row {
  name: string;
  repo: string;
  current: string | null;
  currentCommit: string | null;
  wanted: string | null;
  wantedCommit: string | null;
  latest: string | null;
}

/** `npkg outdated`: per module the locked version, what its ref resolves to now, and the newest tag. */
export async function runOutdated(args: { cwd?: string | undefined; json: boolean; verbose: boolean } & NetworkFlags, env: Env): Promise<number> {
  const settings = await loadSettings(args, env);
  const manifest = await loadManifest(args.cwd ?? process.cwd(), workspaceRule(settings.kind));
  const lock = (await readLockfile(lockfilePath(manifest))) ?? new Map();
  const { provider } = buildCredentials(settings, env, { interactive: false, onWarning: (message) => process.stderr.write(`npkg: warning: ${message}\n`) });
  const [{ BitbucketHttp }, resolve, { default: pLimit }] = await Promise.all([import('../../bitbucket/client.js'), import('../../bitbucket/resolve.js'), import('p-limit')]);
  const http = new BitbucketHttp({ kind: settings.kind, retries: settings.retries, timeoutMs: settings.networkTimeoutMs }, provider);
  const server = bitbucketServer(settings);
  const limit = pLimit(settings.concurrency);
  // One tag list per repository, however many modules come from it.
  const tagLists = new Map<string, Promise<RefInfo[]>>();
  const tagsOf = (spec: ModuleSpec) => {
    let list = tagLists.get(spec.repo);
    if (list === undefined) {
      list = limit(() => server.listTags((url) => http.getJson(url, spec.workspace, spec.repo), spec.workspace, spec.slug));
      tagLists.set(spec.repo, list);
    }
    return list;
  };
  const rows: Row[] = await Promise.all(
    manifest.modules.map(async (spec) => {
      const tags = await tagsOf(spec);
      const exact = tags.find((tag) => tag.name === spec.ref);
      const ranged = exact === undefined ? resolve.pickHighest(tags, spec.ref) : undefined;
      const wanted =
        exact !== undefined
          ? { commit: exact.commit, resolved: `tag:${exact.name}` }
          : ranged !== undefined
            ? { commit: ranged.commit, resolved: `tag:${ranged.name}` }
            : await limit(() => server.resolveRef((url) => http.getJson(url, spec.workspace, spec.repo), spec));
      const locked = lock.get(spec.name);
      return {
        name: spec.name,
        repo: spec.repo,
        current: locked ? describe(locked.resolved, locked.commit) : null,
        currentCommit: locked?.commit ?? null,
        wanted: describe(wanted.resolved, wanted.commit),
        wantedCommit: wanted.commit,
        latest: resolve.newestRelease(tags) ?? null,
      };
    }),
  );
  if (args.json) process.stdout.write(`${JSON.stringify({ modules: rows })}\n`);
  else process.stdout.write(table(rows));
  return 0;
}

/** `tag:v1.4.0` → `v1.4.0`; a branch or commit → its short hash (with the branch name). */
function describe(resolved: string, commit: string): string {
  if (resolved.startsWith('tag:')) return resolved.slice(4);
  if (resolved.startsWith('branch:')) return `${resolved.slice(7)}@${commit.slice(0, 12)}`;
  return commit.slice(0, 12);
}

function table(rows: Row[]): string {
  return columns([['name', 'current', 'wanted', 'latest'], ...rows.map((row) => [row.name, row.current ?? '-', row.wanted ?? '-', row.latest ?? '-'])]);
}
