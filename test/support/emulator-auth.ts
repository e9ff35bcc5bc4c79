import type { IncomingMessage } from 'node:http';
import type { EmulatorOptions } from './emulator-types.js';

/**
 * Whether the request carries a credential the options accept. Only the
 * Authorization header counts: Bitbucket rejects tokens in the query string.
 */
export function isAuthorized(options: EmulatorOptions, request: IncomingMessage): boolean {
  if (options.publicRepos) return true;
  const match = /^(\S+) +(\S+)$/.exec(request.headers.authorization ?? '');
  if (!match) return false;
  const [, scheme = '', value = ''] = match;
  if (scheme.toLowerCase() === 'bearer') return (options.bearerTokens ?? []).includes(value);
  if (scheme.toLowerCase() === 'basic') {
    const pair = Buffer.from(value, 'base64').toString('utf8');
    return (options.basicUsers ?? []).some((user) => `${user.username}:${user.password}` === pair);
  }
  return false;
}
