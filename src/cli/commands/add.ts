import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildCredentials } from '../credentials.js';
import { runInstall } from './install.js';
import { loadSettings, type Env, type NetworkFlags } from '../../project/config.js';
import { NpkgError, hasErrnoCode } from '../../util/errors.js';
import { editManifestFile } from '../../project/manifest-edit.js';
import { MANIFEST_FILE, NAME, SLUG, loadManifest, type Manifest, type WorkspaceRule } from '../../project/manifest.js';
import { bitbucketServer, workspaceRule } from '../../bitbucket/server.js';

export interface AddArgs extends NetworkFlags {
  cwd?: string | undefined;
  specs: string[];
  force: boolean;
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  progress: boolean;
  remoteCacheWrite?: boolean | undefined;
}

interface Addition {
  name: string;
  workspace: string;
  slug: string;
  ref: string | undefined;
}

/** Reads `slug`, `ws/slug`, `slug@ref`, `name=ws/slug@ref`. */
export function parseAddSpec(text: string, defaultWorkspace: string | undefined, rule?: WorkspaceRule): Addition {
  const match = /^(?:([^=@/]+)=)?(?:([^=@/]+)\/)?([^=@/]+)(?:@(.+))?$/.exec(text);
  if (match === null) throw new NpkgError('USAGE', `cannot read "${text}": use slug, ws/slug, slug@ref or name=ws/slug@ref`);
  const [, name, workspace = defaultWorkspace, slug, ref] = match;
  if (workspace === undefined) throw new NpkgError('USAGE', `"${text}" names no workspace and modules.json has none: write ws/${slug}`);
  if (rule !== undefined) {
    const problem = rule(workspace) ?? (SLUG.test(slug!) ? undefined : `invalid slug "${slug}": lowercase letters, digits, ".", "_" and "-"`);
    if (problem !== undefined) throw new NpkgError('USAGE', `"${text}": ${problem}`);
  } else if (!SLUG.test(workspace) || !SLUG.test(slug!)) throw new NpkgError('USAGE', `"${text}": workspace and slug are lowercase letters, digits, ".", "_" and "-"`);
  const moduleName = name ?? slug!;
  if (!NAME.test(moduleName) || moduleName.includes('..')) throw new NpkgError('USAGE', `"${moduleName}" cannot be a module name: use letters, digits, ".", "_" and "-"`);
  return { name: moduleName, workspace, slug: slug!, ref: ref === '' ? undefined : ref };
}

/** `npkg add <spec>...`: resolve, then write manifest and lockfile, then install. */
export async function runAdd(args: AddArgs, env: Env): Promise<number> {
  const cwd = args.cwd ?? process.cwd();
  const settings = await loadSettings(args, env);
  const rule = workspaceRule(settings.kind);
  const manifest = await loadOrCreate(cwd, args.specs, rule);
  const additions = args.specs.map((spec) => parseAddSpec(spec, manifest.workspace, rule));
  for (const addition of additions) {
    if (!args.force && manifest.modules.some((spec) => spec.name === addition.name)) {
      throw new NpkgError('USAGE', `${addition.name} is already in ${manifest.file}: use --force to replace it`);
    }
  }
  const { provider } = buildCredentials(settings, env, { interactive: false, onWarning: (message) => process.stderr.write(`npkg: warning: ${message}\n`) });
  const [{ BitbucketHttp }, resolve] = await Promise.all([import('../../bitbucket/client.js'), import('../../bitbucket/resolve.js')]);
  const http = new BitbucketHttp({ kind: settings.kind, retries: settings.retries, timeoutMs: settings.networkTimeoutMs }, provider);
  const server = bitbucketServer(settings);
  // Everything is checked against the server before a file is touched.
  for (const addition of additions) {
    const get = (url: string) => http.getJson(url, addition.workspace, `${addition.workspace}/${addition.slug}`);
    if (addition.ref === undefined) {
      const tags = await server.listTags(get, addition.workspace, addition.slug);
      const newest = resolve.newestRelease(tags);
      if (newest === undefined) throw new NpkgError('REF_NOT_FOUND', `${addition.workspace}/${addition.slug} has no semver tag: name a ref, e.g. ${addition.slug}@main`);
      addition.ref = newest;
    } else {
      await server.resolveRef(get, { workspace: addition.workspace, slug: addition.slug, ref: addition.ref });
    }
  }
  await editManifestFile(manifest.file, (data) =>
    additions.map((addition) => {
      const plain = addition.workspace === data.workspace && addition.slug === addition.name;
      return { path: ['modules', addition.name], value: plain ? addition.ref : { repo: `${addition.workspace}/${addition.slug}`, ref: addition.ref } };
    }),
  );
  if (!args.quiet && !args.json) process.stderr.write(`npkg: added ${additions.map((addition) => `${addition.name}@${addition.ref}`).join(', ')}\n`);
  return runInstall({ cwd: manifest.root, json: args.json, verbose: args.verbose, quiet: args.quiet, progress: args.progress, frozenLockfile: false, offline: false, force: false, remoteCacheWrite: args.remoteCacheWrite }, env);
}

/** The nearest modules.json, or a new one here whose workspace is the first spec's. */
async function loadOrCreate(cwd: string, specs: string[], rule: WorkspaceRule | undefined): Promise<Manifest> {
  try {
    return await loadManifest(cwd, rule);
  } catch (error) {
    if (!(error instanceof NpkgError) || error.code !== 'MANIFEST_NOT_FOUND') throw error;
  }
  const workspace = /^(?:[^=@/]+=)?([^=@/]+)\//.exec(specs[0] ?? '')?.[1];
  const file = path.join(path.resolve(cwd), MANIFEST_FILE);
  await writeFile(file, `${JSON.stringify({ ...(workspace ? { workspace } : {}), modules: {} }, null, 2)}\n`, { flag: 'wx' }).catch((error: unknown) => {
    if (!hasErrnoCode(error, 'EEXIST')) throw error;
  });
  return loadManifest(cwd, rule);
}
