/** Pure helpers for Bitbucket Cloud: spec → URL, API JSON → values. No I/O here. */

import { NpkgError } from '../util/errors.js';

const COMMIT = /^[0-9a-f]{40}$/;

function repoBase(apiUrl: string, workspace: string, slug: string): string {
  return `${trimSlash(apiUrl)}/2.0/repositories/${encodeURIComponent(workspace)}/${encodeURIComponent(slug)}`;
}

export function tagUrl(apiUrl: string, workspace: string, slug: string, tag: string): string {
  return `${repoBase(apiUrl, workspace, slug)}/refs/tags/${encodeURIComponent(tag)}`;
}

export function branchUrl(apiUrl: string, workspace: string, slug: string, branch: string): string {
  return `${repoBase(apiUrl, workspace, slug)}/refs/branches/${encodeURIComponent(branch)}`;
}

/**
 * A list of tags or branches, 100 per page (the maximum), newest first.
 * With `name`, filtered to that exact name: the way to look up a ref with a
 * `/` in it, since how to encode one inside the path is not settled.
 */
export function refListUrl(apiUrl: string, workspace: string, slug: string, kind: 'tags' | 'branches', name?: string): string {
  const query = new URLSearchParams({ pagelen: '100', sort: '-target.date' });
  if (name !== undefined) query.set('q', `name="${name.replace(/["\\]/g, '\\$&')}"`);
  return `${repoBase(apiUrl, workspace, slug)}/refs/${kind}?${query.toString()}`;
}

export function commitUrl(apiUrl: string, workspace: string, slug: string, hash: string): string {
  return `${repoBase(apiUrl, workspace, slug)}/commit/${encodeURIComponent(hash)}`;
}

/** Archives are always fetched by full commit hash: refs with `/` do not work in this URL. */
export function archiveUrl(webUrl: string, workspace: string, slug: string, commit: string): string {
  if (!COMMIT.test(commit)) throw new Error(`not a full commit hash: ${commit}`);
  return `${trimSlash(webUrl)}/${encodeURIComponent(workspace)}/${encodeURIComponent(slug)}/get/${commit}.tar.gz`;
}

/** The commit a tag or branch object points to, validated. */
export function refTarget(json: unknown): string | undefined {
  const hash = (json as { target?: { hash?: unknown } } | null)?.target?.hash;
  return typeof hash === 'string' && COMMIT.test(hash) ? hash : undefined;
}

/** The hash of a commit object, validated. */
export function commitHash(json: unknown): string | undefined {
  const hash = (json as { hash?: unknown } | null)?.hash;
  return typeof hash === 'string' && COMMIT.test(hash) ? hash : undefined;
}

export interface RefInfo {
  name: string;
  commit: string;
}

export interface RefPage {
  values: RefInfo[];
  next?: string;
}

/** An API answer that is not what Bitbucket sends: never used, reported. */
export function unexpectedAnswer(repo: string, what: string): NpkgError {
  return new NpkgError('SERVER', `Bitbucket sent an unexpected answer for ${repo}: ${what}`);
}

/**
 * One page of a ref list. Entries without a string name, a 40-hex commit and
 * a valid ref name are dropped. `next` is only followed when it stays on the
 * API host: our credential is sent with it.
 */
export function parseRefPage(json: unknown, apiUrl: string, repo: string): RefPage {
  const page = json as { values?: unknown; next?: unknown } | null;
  if (page === null || typeof page !== 'object' || !Array.isArray(page.values)) {
    throw unexpectedAnswer(repo, 'a ref list without "values"');
  }
  const values: RefInfo[] = [];
  for (const value of page.values as unknown[]) {
    const name = (value as { name?: unknown } | null)?.name;
    const commit = refTarget(value);
    if (typeof name === 'string' && commit !== undefined && isRefName(name)) values.push({ name, commit });
  }
  const result: RefPage = { values };
  if (typeof page.next === 'string') {
    if (!URL.canParse(page.next) || new URL(page.next).origin !== new URL(apiUrl).origin) {
      throw unexpectedAnswer(repo, 'a "next" page that is not on the API host');
    }
    result.next = page.next;
  }
  return result;
}

/**
 * Whether a name can be a git ref (git check-ref-format): a semver range
 * like `^2.0.0` or `>=1.2 <2` cannot, so it needs no tag or branch lookup.
 */
export function isRefName(name: string): boolean {
  if (name === '' || name === '@' || name.length > 255) return false;
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.startsWith('-')) return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

/** The message of a Bitbucket error body `{"type":"error","error":{"message"}}`, if that is what it is. */
export function errorMessage(json: unknown): string | undefined {
  const message = (json as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === 'string' ? message.slice(0, 200) : undefined;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
