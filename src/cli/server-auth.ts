/**
 * What login and the credential chain need to know of the server kind: the
 * OAuth provider (Data Center's application link), the default callback,
 * and the flows that Data Center does not have (SPEC §6a).
 */
import type { OAuthProvider } from '../auth/oauth2.js';
import { DATACENTER_CALLBACK_URL, DATACENTER_SCOPE, dataCenterOAuthEndpoints, redirectUrlProblem, unsupportedOnDataCenter } from '../bitbucket/datacenter/oauth.js';
import type { Settings } from '../project/config.js';
import { NpkgError } from '../util/errors.js';

/** Where Cloud's browser login lands unless --callback-url, NPKG_CALLBACK_URL or config.json says otherwise. */
export const DEFAULT_CALLBACK_URL = 'http://127.0.0.1:8976/callback';

/** Data Center's OAuth 2.0 provider (code + PKCE, scope REPO_READ, the secret in every token request); undefined for Cloud's own. */
export function oauthProviderFor(settings: Pick<Settings, 'kind' | 'bitbucketUrl'>): OAuthProvider | undefined {
  if (settings.kind !== 'datacenter') return undefined;
  return { server: { ...dataCenterOAuthEndpoints(settings.bitbucketUrl) }, scope: DATACENTER_SCOPE, secretInForm: true };
}

/** Data Center takes plain-http redirects only to the literal host localhost; Cloud's default stays 127.0.0.1. */
export function defaultCallbackUrl(settings: Pick<Settings, 'kind'>): string {
  return settings.kind === 'datacenter' ? DATACENTER_CALLBACK_URL : DEFAULT_CALLBACK_URL;
}

/** A callback URL that Data Center would refuse is told by npkg, before the browser opens (exit 2). */
export function checkCallbackUrl(settings: Pick<Settings, 'kind'>, callbackUrl: string): void {
  const problem = settings.kind === 'datacenter' ? redirectUrlProblem(callbackUrl) : undefined;
  if (problem !== undefined) throw new NpkgError('USAGE', `the callback URL ${callbackUrl} will not work: ${problem}`);
}

/** Exit 2 naming what to use instead, for a flow that Data Center lacks. */
export function refuseOnDataCenter(what: Parameters<typeof unsupportedOnDataCenter>[0]): NpkgError {
  return new NpkgError('USAGE', unsupportedOnDataCenter(what));
}
