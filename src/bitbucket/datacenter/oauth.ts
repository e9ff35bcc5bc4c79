/**
 * OAuth 2.0 on Bitbucket Data Center: an incoming application link
 * (BITBUCKET-DC.md §3). Endpoints under the site's context path.
 */
import { siteUrl } from '../../util/server-kind.js';

/**
 * Data Center accepts a plain-http redirect only to the literal host
 * `localhost` (127.0.0.1 is refused), so this is the default there; the
 * callback server still binds the loopback address only.
 */
export const DATACENTER_CALLBACK_URL = 'http://localhost:8976/callback';

/** The one scope npkg asks for: archives and refs need Repositories → Read. */
export const DATACENTER_SCOPE = 'REPO_READ';

/** Access tokens last an hour (`atlassian.oauth2.provider.access.token.expiration.seconds`). */
export const DATACENTER_ACCESS_TOKEN_SECONDS = 3600;

export interface DcOAuthEndpoints {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
}

/** The authorize and token endpoints (shaped as oauth4webapi's AuthorizationServer). */
export function dataCenterOAuthEndpoints(bitbucketUrl: string): DcOAuthEndpoints {
  return {
    issuer: siteUrl(bitbucketUrl, '').replace(/\/$/, ''),
    authorization_endpoint: siteUrl(bitbucketUrl, 'rest/oauth2/latest/authorize'),
    token_endpoint: siteUrl(bitbucketUrl, 'rest/oauth2/latest/token'),
  };
}

/**
 * Why Data Center would refuse this redirect URL, or undefined: absolute,
 * no fragment, at most 450 characters, https unless the host is literally
 * `localhost`. Checked before a login so the user hears it from npkg.
 */
export function redirectUrlProblem(redirectUri: string): string | undefined {
  if (!URL.canParse(redirectUri)) return `${redirectUri} is not an absolute URL`;
  const url = new URL(redirectUri);
  if (url.hash !== '' || redirectUri.includes('#')) return 'a redirect URL must not have a #fragment';
  if (redirectUri.length > 450) return 'a redirect URL must be at most 450 characters';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && url.hostname === 'localhost') return undefined;
  return `Bitbucket Data Center accepts plain-http redirect URLs only to localhost: use ${DATACENTER_CALLBACK_URL}`;
}

/** The login flows that Data Center lacks, and what the message says to use instead (exit 2). */
export function unsupportedOnDataCenter(what: '--client-credentials' | '--oauth1' | 'client-credentials'): string {
  const instead = 'use `npkg login` (an incoming application link), BITBUCKET_TOKEN or BITBUCKET_TOKEN_<KEY> (an HTTP access token), or BITBUCKET_USERNAME with BITBUCKET_API_TOKEN (a personal access token)';
  const subject =
    what === 'client-credentials'
      ? 'BITBUCKET_CLIENT_ID with BITBUCKET_CLIENT_SECRET (the client-credentials grant) does not work on Bitbucket Data Center'
      : `\`npkg login ${what}\` does not work on Bitbucket Data Center`;
  return `${subject}: ${instead}`;
}
