import type { IncomingMessage } from 'node:http';
import type { BuiltRepo } from '../git-fixtures.js';
import type { EmulatorOptions } from '../types.js';
import type { OAuthServer } from './oauth2.js';
import type { OAuth1Server } from './oauth1.js';

/** What the Cloud personality's handlers share. */
export interface CloudState {
  options: EmulatorOptions;
  oauth: OAuthServer | undefined;
  oauth1: OAuth1Server | undefined;
  repos: Map<string, BuiltRepo>;
  apiUrl: string;
}

/** Bearer tokens and Basic pairs of the options; a token in the query string never counts. */
export function isAuthorized(state: Pick<CloudState, 'options' | 'oauth' | 'oauth1'>, request: IncomingMessage): boolean {
  const { options } = state;
  if (options.publicRepos) return true;
  const header = request.headers.authorization ?? '';
  if (header.startsWith('OAuth ')) return state.oauth1?.accepts(request, `http://${request.headers.host}${request.url}`) ?? false;
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme === 'Bearer') return (options.bearerTokens ?? []).includes(value) || state.oauth?.check(value) === 'ok';
  if (scheme === 'Basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return (options.basicUsers ?? []).some((user) => `${user.username}:${user.password}` === decoded);
  }
  return false;
}
