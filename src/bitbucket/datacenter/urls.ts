/**
 * URL builders for Bitbucket Data Center's REST 1.0 API (SPEC §6a). Pure.
 * A ref never goes into a path (names with `/` break there, BITBUCKET-DC.md
 * §7): only into query parameters, fully percent-encoded.
 */
import { siteUrl } from '../../util/server-kind.js';
import type { DcRepoName } from './names.js';

const COMMIT = /^[0-9a-f]{40}$/;
const HASH = /^[0-9a-f]{7,40}$/;

/** Page size asked for; a server may answer with a lower `limit`, which is fine. */
export const DC_PAGE_LIMIT = 100;

export interface RefListQuery {
  /** Server-side filter: fuzzy, so the answer is matched exactly on `displayId`. */
  filterText?: string;
  /** The `nextPageStart` of the previous page (never computed from `start + size`). */
  start?: number;
  limit?: number;
}

/** Percent-encodes everything but unreserved characters (encodeURIComponent leaves `!'()*`). */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

function query(params: Array<[string, string | number | undefined]>): string {
  const parts = params.filter(([, value]) => value !== undefined).map(([key, value]) => `${key}=${encodeQueryValue(String(value))}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** `{site}/rest/api/latest/projects/{key}/repos/{slug}`, context path kept. */
export function dcRepoBase(bitbucketUrl: string, repo: DcRepoName): string {
  return siteUrl(bitbucketUrl, `rest/api/latest/projects/${encodeURIComponent(repo.key)}/repos/${encodeURIComponent(repo.slug)}`);
}

/** A page of tags or branches, alphabetical; with `filterText`, narrowed (not exactly) to that name. */
export function dcRefListUrl(bitbucketUrl: string, repo: DcRepoName, kind: 'tags' | 'branches', options: RefListQuery = {}): string {
  return (
    `${dcRepoBase(bitbucketUrl, repo)}/${kind}` +
    query([
      ['filterText', options.filterText],
      // Exact and prefix matches first, so the wanted branch is on the first page.
      ['boostMatches', kind === 'branches' && options.filterText !== undefined ? 'true' : undefined],
      ['orderBy', 'ALPHABETICAL'],
      ['start', options.start],
      ['limit', options.limit ?? DC_PAGE_LIMIT],
    ])
  );
}

/** The same list URL at another page: how a `nextPageStart` becomes the next request. */
export function withStart(pageUrl: string, start: number): string {
  const url = new URL(pageUrl);
  const params: Array<[string, string | number]> = [...url.searchParams.entries()].filter(([key]) => key !== 'start');
  return `${url.origin}${url.pathname}${query([...params, ['start', start]])}`;
}

/** One commit by hash (7 to 40 hex): `/commits/{id}` refuses ref names since 2.11. */
export function dcCommitUrl(bitbucketUrl: string, repo: DcRepoName, hash: string): string {
  if (!HASH.test(hash)) throw new Error(`not a commit hash: ${hash}`);
  return `${dcRepoBase(bitbucketUrl, repo)}/commits/${hash}`;
}

/** `{key}-{slug}-{hash12}/`: the same single top folder as Cloud's archives. */
export function dcArchivePrefix(repo: DcRepoName, commit: string): string {
  return `${repo.key}-${repo.slug}-${commit.slice(0, 12)}/`;
}

/** The archive of a full commit, tar.gz, with the Cloud-like top folder. */
export function dcArchiveUrl(bitbucketUrl: string, repo: DcRepoName, commit: string): string {
  if (!COMMIT.test(commit)) throw new Error(`not a full commit hash: ${commit}`);
  return `${dcRepoBase(bitbucketUrl, repo)}/archive` + query([['at', commit], ['format', 'tar.gz'], ['prefix', dcArchivePrefix(repo, commit)]]);
}

/** Instance information, no authentication needed (not used to tell the kind: that costs no request). */
export function dcApplicationPropertiesUrl(bitbucketUrl: string): string {
  return siteUrl(bitbucketUrl, 'rest/api/latest/application-properties');
}
