import semver from 'semver';
import { branchUrl, commitHash, commitUrl, isRefName, parseRefPage, refListUrl, refTarget, tagUrl, unexpectedAnswer, type RefInfo } from './api.js';
import { NpkgError } from '../util/errors.js';

/** GET a JSON document; undefined when the server answers 404. */
export type GetJson = (url: string) => Promise<unknown>;

export interface RepoRef {
  workspace: string;
  slug: string;
  ref: string;
}

export interface Resolution {
  commit: string;
  /** `tag:NAME`, `branch:NAME` or `commit`, as the lockfile records it. */
  resolved: string;
}

const HASH = /^[0-9a-f]{7,40}$/i;

/**
 * Resolves a ref in SPEC order: exact tag, semver range over tags, branch,
 * commit hash. Uses as few API calls as it can (Bitbucket allows 1,000 an hour).
 */
export async function resolveRef(get: GetJson, apiUrl: string, target: RepoRef): Promise<Resolution> {
  const { workspace, slug, ref } = target;
  const validName = isRefName(ref);
  if (validName) {
    const tag = await lookupRef(get, apiUrl, target, 'tags');
    if (tag !== undefined) return { commit: tag, resolved: `tag:${ref}` };
  }
  let tags: RefInfo[] | undefined;
  if (semver.validRange(ref) !== null) {
    tags = await listTags(get, apiUrl, workspace, slug);
    const best = pickHighest(tags, ref);
    if (best !== undefined) return { commit: best.commit, resolved: `tag:${best.name}` };
  }
  if (validName) {
    const branch = await lookupRef(get, apiUrl, target, 'branches');
    if (branch !== undefined) return { commit: branch, resolved: `branch:${ref}` };
  }
  if (HASH.test(ref)) {
    const json = await get(commitUrl(apiUrl, workspace, slug, ref.toLowerCase()));
    if (json !== undefined) return { commit: valid(commitHash(json), target, 'a commit without a 40-hex "hash"'), resolved: 'commit' };
  }
  tags ??= await listTags(get, apiUrl, workspace, slug);
  const newest = newestTags(tags, 3);
  throw new NpkgError(
    'REF_NOT_FOUND',
    // SPEC §4's own example of an error message, kept word for word.
    `tag ${ref} not found in ${workspace}/${slug} (${newest.length > 0 ? `newest tags: ${newest.join(', ')}` : 'it has no tags'})`,
  );
}

async function lookupRef(get: GetJson, apiUrl: string, target: RepoRef, kind: 'tags' | 'branches'): Promise<string | undefined> {
  const { workspace, slug, ref } = target;
  if (!ref.includes('/')) {
    const json = await get(kind === 'tags' ? tagUrl(apiUrl, workspace, slug, ref) : branchUrl(apiUrl, workspace, slug, ref));
    return json === undefined ? undefined : valid(refTarget(json), target, `a ${kind === 'tags' ? 'tag' : 'branch'} without a 40-hex "target.hash"`);
  }
  const page = await get(refListUrl(apiUrl, workspace, slug, kind, ref));
  if (page === undefined) return undefined;
  return parseRefPage(page, apiUrl, `${workspace}/${slug}`).values.find((value) => value.name === ref)?.commit;
}

function valid(commit: string | undefined, target: RepoRef, what: string): string {
  if (commit === undefined) throw unexpectedAnswer(`${target.workspace}/${target.slug}`, what);
  return commit;
}

/** Every tag of a repository, following `next` (never building page URLs). */
export async function listTags(get: GetJson, apiUrl: string, workspace: string, slug: string): Promise<RefInfo[]> {
  const tags: RefInfo[] = [];
  let url: string | undefined = refListUrl(apiUrl, workspace, slug, 'tags');
  for (let pages = 0; url !== undefined; pages++) {
    if (pages >= 100) throw new NpkgError('SERVER', `${workspace}/${slug} has more than 10,000 tags; pin an exact tag instead of a range`);
    const json = await get(url);
    if (json === undefined) {
      throw new NpkgError('REPO_NOT_FOUND', `repository ${workspace}/${slug} not found, or the credential in use cannot see it`);
    }
    const page = parseRefPage(json, apiUrl, `${workspace}/${slug}`);
    tags.push(...page.values);
    url = page.next;
  }
  return tags;
}

/** The version a tag names (optional leading `v`), or null. */
export function tagVersion(name: string): string | null {
  return semver.valid(name.startsWith('v') ? name.slice(1) : name);
}

/** The highest tag satisfying a range; prereleases only when the range names one. */
export function pickHighest(tags: readonly RefInfo[], range: string): RefInfo | undefined {
  let best: { tag: RefInfo; version: string } | undefined;
  for (const tag of tags) {
    const version = tagVersion(tag.name);
    if (version === null || !semver.satisfies(version, range)) continue;
    if (best === undefined || semver.gt(version, best.version)) best = { tag, version };
  }
  return best?.tag;
}

/** Release tags (semver, no prerelease), highest first. */
function releaseTags(tags: readonly RefInfo[]): string[] {
  return tags
    .map((tag) => ({ name: tag.name, version: tagVersion(tag.name) }))
    .filter((tag): tag is { name: string; version: string } => tag.version !== null && semver.prerelease(tag.version) === null)
    .sort((a, b) => semver.rcompare(a.version, b.version))
    .map((tag) => tag.name);
}

/** The newest tags for messages: highest release first, else (no release tag) in API order. */
export function newestTags(tags: readonly RefInfo[], count: number): string[] {
  const releases = releaseTags(tags);
  return (releases.length > 0 ? releases : tags.map((tag) => tag.name)).slice(0, count);
}

/** The newest release tag (SPEC §4: prereleases and non-semver tags excluded), if any. */
export function newestRelease(tags: readonly RefInfo[]): string | undefined {
  return releaseTags(tags)[0];
}
