/**
 * Which kind of Bitbucket a URL names, and how URLs under a context path are
 * built (SPEC §6). Pure: the caller reads the environment and config once
 * and passes the values in; telling the kind costs no request.
 */
import { NpkgError } from './errors.js';

export type ServerKind = 'cloud' | 'datacenter';

export const SERVER_KINDS: readonly ServerKind[] = ['cloud', 'datacenter'];

export interface KindInputs {
  /** `BITBUCKET_URL` (or config `bitbucketUrl`, or the default https://bitbucket.org). */
  bitbucketUrl: string;
  /** `BITBUCKET_API_URL` or config `apiUrl` when given; undefined when only the default applies. */
  apiUrl?: string | undefined;
  /** `BITBUCKET_KIND` or config `bitbucketKind` when given. */
  kind?: string | undefined;
  /** Where `kind` came from, for the message of a bad value (`BITBUCKET_KIND`, `bitbucketKind in …/config.json`). */
  kindSource?: string;
}

/**
 * SPEC §6: an explicit kind wins; else `cloud` when the host is bitbucket.org
 * or an API URL was given (Cloud's split web/API hosts, as the Cloud
 * emulator has), else `datacenter`.
 */
export function serverKind(inputs: KindInputs): ServerKind {
  if (inputs.kind !== undefined && inputs.kind !== '') return parseServerKind(inputs.kind, inputs.kindSource ?? 'BITBUCKET_KIND');
  if (new URL(inputs.bitbucketUrl).hostname.toLowerCase() === 'bitbucket.org') return 'cloud';
  if (inputs.apiUrl !== undefined && inputs.apiUrl !== '') return 'cloud';
  return 'datacenter';
}

/** `cloud` or `datacenter` (any case, spaces trimmed); anything else is a usage error naming its source. */
export function parseServerKind(value: string, source: string): ServerKind {
  const kind = value.trim().toLowerCase();
  if (kind === 'cloud' || kind === 'datacenter') return kind;
  throw new NpkgError('USAGE', `${source} must be cloud or datacenter, not "${value}"`);
}

/**
 * The site URL with exactly one trailing `/`, query and fragment dropped:
 * the base that `new URL('rest/…', base)` resolves against without losing
 * a context path (`https://git.example.com/bitbucket` → `…/bitbucket/`).
 */
export function siteBase(bitbucketUrl: string): string {
  const url = new URL(bitbucketUrl);
  url.search = '';
  url.hash = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/`;
  return url.toString();
}

/** The context path of a site URL: `''` at the root, else `/bitbucket` (no trailing `/`). */
export function contextPath(bitbucketUrl: string): string {
  return new URL(siteBase(bitbucketUrl)).pathname.replace(/\/$/, '');
}

/** A URL under the site, context path kept; `relative` must not start with `/` (that would drop it). */
export function siteUrl(bitbucketUrl: string, relative: string): string {
  if (relative.startsWith('/')) throw new Error(`siteUrl takes a relative path, not ${relative}`);
  return new URL(relative, siteBase(bitbucketUrl)).toString();
}

/** `host[:port]` of the site, lower-cased: the keychain account and the host part of cache keys. */
export function siteHost(bitbucketUrl: string): string {
  return new URL(bitbucketUrl).host.toLowerCase();
}
