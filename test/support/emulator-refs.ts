import type { BuiltRepo } from './git-repos.js';

/**
 * A URL-decoded path segment, or undefined when it is badly encoded or
 * decodes to a `/`: how Bitbucket reads `%2F` in a ref name is unsettled,
 * so the emulator refuses it and the client has to use `?q=`.
 */
export function decodeSegment(raw: string): string | undefined {
  let segment: string;
  try {
    segment = decodeURIComponent(raw);
  } catch (error) {
    if (error instanceof URIError) return undefined;
    throw error;
  }
  return segment.includes('/') ? undefined : segment;
}

/** The decoded segments of `pathname` (see decodeSegment), or undefined if one is refused. */
export function decodeSegments(pathname: string): string[] | undefined {
  const segments = pathname.split('/').slice(1).map(decodeSegment);
  return segments.every((segment) => segment !== undefined) ? segments : undefined;
}

/** The one commit of `repo` that starts with `prefix` (hex, `minLength`..40), if exactly one does. */
export function commitByPrefix(repo: BuiltRepo, prefix: string, minLength: number): string | undefined {
  if (prefix.length < minLength || !/^[0-9a-f]{1,40}$/.test(prefix)) return undefined;
  const found = repo.commits.filter((commit) => commit.startsWith(prefix));
  return found.length === 1 ? found[0] : undefined;
}

/**
 * The commit an archive URL's ref names: HEAD, a full hash, a tag, a
 * branch, or a hash prefix of 12 or more (Bitbucket's own links use 12).
 * A full hash wins over a ref of the same name, as in git.
 */
export function resolveArchiveRef(repo: BuiltRepo, ref: string): string | undefined {
  if (ref === 'HEAD') return repo.branches.get('main');
  if (/^[0-9a-f]{40}$/.test(ref) && repo.commits.includes(ref)) return ref;
  return repo.tags.get(ref) ?? repo.branches.get(ref) ?? commitByPrefix(repo, ref, 12);
}
