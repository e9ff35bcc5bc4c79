import { NpkgError } from '../../util/errors.js';

/*
 * Where the team cache lives and how to sign in to it (SPEC §10). Pure
 * functions: the CLI reads NPKG_REMOTE_CACHE / remoteCache and
 * NPKG_REMOTE_CACHE_TOKEN once and passes the values here.
 */

/** A parsed cache base URL: credentials taken out of it, kept apart, never printed. */
export interface RemoteCacheTarget {
  /** The base URL without credentials, query or trailing slash: `https://cache.example/npkg`. */
  base: string;
  /** The cache's own Authorization header (Basic from the URL, or Bearer from the token); never Bitbucket's. */
  authorization: string | undefined;
  /** How the cache is named in messages and --verbose lines: the base, without any secret. */
  display: string;
}

/**
 * Parses the cache's base URL. `source` names where the value came from
 * ("NPKG_REMOTE_CACHE", "remoteCache in /…/config.json") for the USAGE
 * error a malformed one gives (exit 2). The message never repeats a secret.
 */
export function parseRemoteCacheTarget(value: string, source: string, token?: string): RemoteCacheTarget {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    if (error instanceof TypeError) throw new NpkgError('USAGE', `${source} is not a URL: ${maskUserInfo(value)}`);
    throw error;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NpkgError('USAGE', `${source} must be an http(s) URL, not ${url.protocol}`);
  }
  // The key is appended to the path: a query or fragment would end up in the middle of it.
  if (url.search !== '' || url.hash !== '') throw new NpkgError('USAGE', `${source} must not have a query or a fragment`);
  const basic = basicFromUrl(url, source);
  const bearer = token === undefined || token === '' ? undefined : bearerFromToken(token);
  if (basic !== undefined && bearer !== undefined) {
    throw new NpkgError('USAGE', `${source} holds a user and password and NPKG_REMOTE_CACHE_TOKEN is set: give the cache one credential`);
  }
  url.username = '';
  url.password = '';
  const base = url.toString().replace(/\/+$/, '');
  return { base, authorization: basic ?? bearer, display: base };
}

/** `user:password@` in the URL → Basic (both parts percent-decoded, as curl does). */
function basicFromUrl(url: URL, source: string): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  let user: string;
  let password: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch (error) {
    if (error instanceof URIError) throw new NpkgError('USAGE', `${source}: the user or password is not valid percent-encoding`);
    throw error;
  }
  // RFC 7617: the user-id cannot contain a colon; control characters cannot go in a header.
  if (user.includes(':') || /[\u0000-\u001f\u007f]/.test(user + password)) {
    throw new NpkgError('USAGE', `${source}: the user or password holds a character that cannot go in a Basic credential`);
  }
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

function bearerFromToken(token: string): string {
  // Only visible ASCII: anything else would break the header or smuggle another one.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new NpkgError('USAGE', 'NPKG_REMOTE_CACHE_TOKEN must be visible ASCII characters without spaces');
  return `Bearer ${token}`;
}

/** A URL-ish string with whatever sits between `//` and `@` hidden: for a value that did not even parse. */
export function maskUserInfo(text: string): string {
  return text.replace(/\/\/[^/?#]*@/, '//…@');
}

/** The parts of one key; each was validated by the manifest and lockfile, and is checked again here. */
export interface RemoteCacheKeyParts {
  /** BITBUCKET_URL (its host and port name the server, so two servers never collide). */
  bitbucketUrl: string;
  workspace: string;
  slug: string;
  commit: string;
}

/**
 * Workspace ids, project keys and slugs: no `/`, no `%`, never `.` or `..`
 * (they start with a letter, a digit, `_`, or the `~` of a Data Center
 * personal project, which is unreserved in URLs).
 */
const SEGMENT = /^~?[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const COMMIT = /^[0-9a-f]{40}$/;

/**
 * `{base}/v1/{host}/{workspace}/{slug}/{commit}.tar.gz`. A part that could
 * leave its place in the URL (a slash, a dot segment, a percent sign) is a
 * programming error here: the manifest and lockfile parsers refuse them first.
 */
export function remoteCacheKey(target: RemoteCacheTarget, parts: RemoteCacheKeyParts): string {
  const host = new URL(parts.bitbucketUrl).host;
  for (const [name, value] of [['workspace', parts.workspace], ['slug', parts.slug]] as const) {
    if (!SEGMENT.test(value)) throw new NpkgError('USAGE', `cannot build a remote cache key: ${name} "${value}" must match ${SEGMENT.source}`);
  }
  if (!COMMIT.test(parts.commit)) throw new NpkgError('USAGE', `cannot build a remote cache key: commit "${parts.commit}" must be 40 lowercase hex characters`);
  // URL().host is already normalised (lowercase, punycode, default port dropped); only an IPv6
  // literal has characters ([ and ]) that a path segment must not hold raw.
  const hostSegment = host.replace('[', '%5B').replace(']', '%5D');
  return `${target.base}/v1/${hostSegment}/${parts.workspace}/${parts.slug}/${parts.commit}.tar.gz`;
}
