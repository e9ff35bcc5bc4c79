import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { NpkgError, hasErrnoCode } from '../util/errors.js';
import { parseJsonWithPosition } from '../util/json-file.js';

export const MANIFEST_FILE = 'modules.json';
export const LOCKFILE_FILE = 'modules.lock.json';

/** One entry of `modules`, normalised: repo always `workspace/slug`. */
export interface ModuleSpec {
  name: string;
  workspace: string;
  slug: string;
  /** `workspace/slug` */
  repo: string;
  ref: string;
  path?: string;
}

export interface Manifest {
  /** Absolute path of modules.json. */
  file: string;
  /** The folder holding modules.json. */
  root: string;
  /** The top-level workspace, when the file has one. */
  workspace?: string;
  vendorDir: string;
  /** Absolute vendor folder. */
  vendorPath: string;
  modules: ModuleSpec[];
}

export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const SLUG = /^[a-z0-9][a-z0-9._-]*$/;
const TOP_KEYS = new Set(['$schema', 'workspace', 'vendorDir', 'modules']);
const SPEC_KEYS = new Set(['repo', 'ref', 'path']);

/** Finds modules.json in `start` or the nearest parent folder, as npm and Cargo do. */
export async function findManifest(start: string): Promise<{ file: string; text: string }> {
  let dir = path.resolve(start);
  for (;;) {
    const file = path.join(dir, MANIFEST_FILE);
    try {
      return { file, text: await readFile(file, 'utf8') };
    } catch (error) {
      if (!hasErrnoCode(error, 'ENOENT') && !hasErrnoCode(error, 'ENOTDIR')) throw error;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new NpkgError(
        'MANIFEST_NOT_FOUND',
        `no ${MANIFEST_FILE} in ${path.resolve(start)} or any parent folder: create one (see README) or pass -C DIR`,
      );
    }
    dir = parent;
  }
}

/**
 * Why a workspace is not valid on the server in use, or undefined. Cloud's
 * rule is the default; Data Center's project keys (`PLAT`, `~alice`) come
 * from bitbucket/server.ts workspaceRule.
 */
export type WorkspaceRule = (value: string) => string | undefined;

const cloudWorkspace: WorkspaceRule = (value) => (SLUG.test(value) ? undefined : `invalid workspace "${value}": must match ^[a-z0-9][a-z0-9._-]*$`);

export async function loadManifest(start: string, workspaceRule?: WorkspaceRule): Promise<Manifest> {
  const { file, text } = await findManifest(start);
  return parseManifest(text, file, workspaceRule);
}

/** Parses and validates the text of a modules.json; every problem names the file and a line or key path. */
export function parseManifest(text: string, file: string, workspaceRule?: WorkspaceRule): Manifest {
  const rule = workspaceRule ?? cloudWorkspace;
  const data = parseJsonWithPosition(text, file, 'MANIFEST_INVALID');
  const fail = (key: string, message: string): never => {
    throw new NpkgError('MANIFEST_INVALID', `${file}: ${key}: ${message}`);
  };
  if (!isObject(data)) fail('(root)', 'must be an object with "modules"');
  const top = data as Record<string, unknown>;
  for (const key of Object.keys(top)) {
    if (!TOP_KEYS.has(key)) fail(key, `unknown key (allowed: ${[...TOP_KEYS].join(', ')})`);
  }
  if (top.$schema !== undefined && typeof top.$schema !== 'string') fail('$schema', 'must be a string');
  const workspace = top.workspace;
  if (workspace !== undefined && (typeof workspace !== 'string' || rule(workspace) !== undefined)) {
    fail('workspace', workspaceRule === undefined || typeof workspace !== 'string' ? 'must be a lowercase workspace id matching ^[a-z0-9][a-z0-9._-]*$' : rule(workspace)!);
  }
  const vendorDir = validateVendorDir(top.vendorDir ?? 'vendor', fail);
  if (!isObject(top.modules)) fail('modules', 'must be an object mapping names to refs');
  const modules: ModuleSpec[] = [];
  const folded = new Map<string, string>();
  for (const [name, spec] of Object.entries(top.modules as Record<string, unknown>)) {
    const key = `modules.${name}`;
    if (!NAME.test(name) || name.includes('..')) {
      fail(key, 'invalid name: use letters, digits, ".", "_" and "-", starting with a letter or digit, no ".."');
    }
    const other = folded.get(name.toLowerCase());
    if (other !== undefined) fail(key, `collides with "${other}" on case-insensitive file systems`);
    folded.set(name.toLowerCase(), name);
    modules.push(parseSpec(name, spec, workspace as string | undefined, fail, rule));
  }
  const root = path.dirname(file);
  return { file, root, ...(workspace === undefined ? {} : { workspace: workspace as string }), vendorDir, vendorPath: path.join(root, vendorDir), modules };
}

type Fail = (key: string, message: string) => never;

function parseSpec(name: string, spec: unknown, workspace: string | undefined, fail: Fail, rule: WorkspaceRule): ModuleSpec {
  const key = `modules.${name}`;
  if (typeof spec === 'string') {
    if (workspace === undefined) fail(key, 'a string spec needs the top-level "workspace"');
    if (!SLUG.test(name)) fail(key, `"${name}" is not a valid slug for ${workspace}/${name}: use { "repo", "ref" }`);
    return { name, workspace: workspace!, slug: name, repo: `${workspace}/${name}`, ref: checkRef(spec, key, fail) };
  }
  if (!isObject(spec)) fail(key, 'must be a ref string or an object { "repo", "ref", "path"? }');
  const object = spec as Record<string, unknown>;
  for (const field of Object.keys(object)) {
    if (!SPEC_KEYS.has(field)) fail(`${key}.${field}`, 'unknown key (allowed: repo, ref, path)');
  }
  if (typeof object.repo !== 'string') fail(`${key}.repo`, 'must be "workspace/slug" or a slug');
  const parts = (object.repo as string).split('/');
  let ws = workspace;
  let slug = parts[0]!;
  if (parts.length === 2) [ws, slug] = parts as [string, string];
  else if (parts.length !== 1) fail(`${key}.repo`, 'must be "workspace/slug" or a slug');
  if (ws === undefined) fail(`${key}.repo`, 'a bare slug needs the top-level "workspace"');
  const problem = rule(ws!);
  if (problem !== undefined) fail(`${key}.repo`, problem);
  if (!SLUG.test(slug)) fail(`${key}.repo`, `invalid slug "${slug}": must match ^[a-z0-9][a-z0-9._-]*$`);
  const result: ModuleSpec = { name, workspace: ws!, slug, repo: `${ws}/${slug}`, ref: checkRef(object.ref, `${key}.ref`, fail) };
  if (object.path !== undefined) result.path = checkSubpath(object.path, `${key}.path`, fail);
  return result;
}

function checkRef(ref: unknown, key: string, fail: Fail): string {
  if (typeof ref !== 'string' || ref.trim() === '') fail(key, 'must be a non-empty ref (tag, semver range, branch or commit)');
  if (/[\u0000-\u001f\u007f]/.test(ref as string)) fail(key, 'must not contain control characters');
  return ref as string;
}

function checkSubpath(value: unknown, key: string, fail: Fail): string {
  if (typeof value !== 'string' || value === '') fail(key, 'must be a non-empty relative folder of the archive');
  const normal = path.posix.normalize((value as string).replace(/\/+$/, ''));
  if (path.posix.isAbsolute(normal) || normal === '.' || normal === '..' || normal.startsWith('../') || (value as string).includes('\\')) {
    fail(key, 'must be a relative folder inside the archive, without ".."');
  }
  return normal;
}

function validateVendorDir(value: unknown, fail: Fail): string {
  if (typeof value !== 'string' || value === '') fail('vendorDir', 'must be a non-empty relative path');
  const normal = path.posix.normalize((value as string).replace(/\\/g, '/')).replace(/\/+$/, '');
  if (path.isAbsolute(value as string) || path.posix.isAbsolute(normal)) fail('vendorDir', 'must be relative to the project folder');
  if (normal === '.' || normal === '') fail('vendorDir', 'must not be the project folder itself');
  if (normal === '..' || normal.startsWith('../')) fail('vendorDir', 'must stay inside the project folder');
  return normal;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
