/**
 * SPEC §1's resolution order on Bitbucket Data Center (§6a): exact tag,
 * semver range over every tag, branch, commit hash. Tags and branches are
 * looked up by `filterText` and matched exactly on `displayId`, pages
 * followed by `nextPageStart` only. Same contract as ../resolve.ts resolveRef.
 */
import semver from 'semver';
import { isRefName, unexpectedAnswer, type RefInfo } from '../api.js';
import { newestTags, pickHighest, type GetJson, type RepoRef, type Resolution } from '../resolve.js';
import { NpkgError } from '../../util/errors.js';
import { findExactRef, dcCommitId, parseDcRefPage } from './answers.js';
import { dcCommitUrl, dcRefListUrl } from './urls.js';

const HASH = /^[0-9a-f]{7,40}$/i;
/** 100 pages of up to 100 refs: as far as Cloud's listTags goes. */
const MAX_PAGES = 100;

/** `target.workspace` is the project key (`PLAT`, `~alice`). */
export async function resolveDataCenterRef(get: GetJson, bitbucketUrl: string, target: RepoRef): Promise<Resolution> {
  const { ref } = target;
  const validName = isRefName(ref);
  if (validName) {
    const tag = await findRef(get, bitbucketUrl, target, 'tags');
    if (tag !== undefined) return { commit: tag.commit, resolved: `tag:${ref}` };
  }
  let tags: RefInfo[] | undefined;
  if (semver.validRange(ref) !== null) {
    tags = await listDataCenterTags(get, bitbucketUrl, target.workspace, target.slug);
    const best = pickHighest(tags, ref);
    if (best !== undefined) return { commit: best.commit, resolved: `tag:${best.name}` };
  }
  if (validName) {
    const branch = await findRef(get, bitbucketUrl, target, 'branches');
    if (branch !== undefined) return { commit: branch.commit, resolved: `branch:${ref}` };
  }
  if (HASH.test(ref)) {
    const json = await get(dcCommitUrl(bitbucketUrl, repoName(target), ref.toLowerCase()));
    if (json !== undefined) {
      const id = dcCommitId(json);
      if (id === undefined) throw unexpectedAnswer(label(target), 'a commit without a 40-hex "id"');
      return { commit: id, resolved: 'commit' };
    }
  }
  tags ??= await listDataCenterTags(get, bitbucketUrl, target.workspace, target.slug);
  const newest = newestTags(tags, 3);
  throw new NpkgError(
    'REF_NOT_FOUND',
    `tag ${ref} not found in ${label(target)} (${newest.length > 0 ? `newest tags: ${newest.join(', ')}` : 'it has no tags'})`,
  );
}

/** Every tag of a repository (for ranges, `add`, `outdated`, `update --latest`), following `nextPageStart`. */
export async function listDataCenterTags(get: GetJson, bitbucketUrl: string, key: string, slug: string): Promise<RefInfo[]> {
  const tags: RefInfo[] = [];
  for await (const page of pages(get, dcRefListUrl(bitbucketUrl, { key, slug }, 'tags'), `${key}/${slug}`)) tags.push(...page);
  return tags;
}

/** The tag or branch named exactly `ref`, through the (fuzzy) `filterText`, page after page until found. */
async function findRef(get: GetJson, bitbucketUrl: string, target: RepoRef, kind: 'tags' | 'branches'): Promise<RefInfo | undefined> {
  const first = dcRefListUrl(bitbucketUrl, repoName(target), kind, { filterText: target.ref });
  for await (const page of pages(get, first, label(target))) {
    const found = findExactRef({ values: page }, target.ref);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function* pages(get: GetJson, first: string, repo: string): AsyncGenerator<RefInfo[]> {
  let url: string | undefined = first;
  for (let count = 0; url !== undefined; count++) {
    if (count >= MAX_PAGES) throw new NpkgError('SERVER', `${repo} has more than ${MAX_PAGES} pages of refs; pin an exact tag instead of a range`);
    const json = await get(url);
    if (json === undefined) throw new NpkgError('REPO_NOT_FOUND', `repository ${repo} not found, or the credential in use cannot see it`);
    const page = parseDcRefPage(json, url, repo);
    yield page.values;
    url = page.next;
  }
}

function repoName(target: RepoRef): { key: string; slug: string } {
  return { key: target.workspace, slug: target.slug };
}

function label(target: RepoRef): string {
  return `${target.workspace}/${target.slug}`;
}
