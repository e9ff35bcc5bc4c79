import { describe, expect, it } from 'vitest';
import { defaultCallbackUrl, oauthProviderFor } from '../../src/cli/server-auth.js';

describe('login settings by server kind', () => {
  it('defaults the callback to localhost on Data Center (its only plain-http redirect host), 127.0.0.1 on Cloud', () => {
    expect(defaultCallbackUrl({ kind: 'datacenter' })).toBe('http://localhost:8976/callback');
    expect(defaultCallbackUrl({ kind: 'cloud' })).toBe('http://127.0.0.1:8976/callback');
  });

  it("uses Data Center's application link endpoints under the context path, REPO_READ, the secret in the form", () => {
    expect(oauthProviderFor({ kind: 'datacenter', bitbucketUrl: 'https://git.example.com/bitbucket' })).toEqual({
      server: {
        issuer: 'https://git.example.com/bitbucket',
        authorization_endpoint: 'https://git.example.com/bitbucket/rest/oauth2/latest/authorize',
        token_endpoint: 'https://git.example.com/bitbucket/rest/oauth2/latest/token',
      },
      scope: 'REPO_READ',
      secretInForm: true,
    });
    expect(oauthProviderFor({ kind: 'cloud', bitbucketUrl: 'https://bitbucket.org' })).toBeUndefined();
  });
});
