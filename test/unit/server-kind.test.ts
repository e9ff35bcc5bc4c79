import { describe, expect, it } from 'vitest';
import { contextPath, parseServerKind, serverKind, siteBase, siteHost, siteUrl } from '../../src/util/server-kind.js';

describe('serverKind (SPEC §6)', () => {
  it.each([
    [{ bitbucketUrl: 'https://bitbucket.org' }, 'cloud'],
    [{ bitbucketUrl: 'https://BitBucket.org/' }, 'cloud'],
    [{ bitbucketUrl: 'http://127.0.0.1:5000', apiUrl: 'http://127.0.0.1:5001' }, 'cloud'],
    [{ bitbucketUrl: 'https://git.example.com/bitbucket' }, 'datacenter'],
    [{ bitbucketUrl: 'http://127.0.0.1:5000' }, 'datacenter'],
    [{ bitbucketUrl: 'http://127.0.0.1:5000', apiUrl: '' }, 'datacenter'],
    [{ bitbucketUrl: 'https://bitbucket.org', kind: 'datacenter' }, 'datacenter'],
    [{ bitbucketUrl: 'https://git.example.com', kind: 'Cloud ' }, 'cloud'],
    [{ bitbucketUrl: 'https://git.example.com', apiUrl: 'https://api.example.com', kind: 'datacenter' }, 'datacenter'],
  ] as const)('%j → %s', (inputs, expected) => {
    expect(serverKind(inputs)).toBe(expected);
  });

  it('names the source of a bad kind (usage error)', () => {
    expect(() => serverKind({ bitbucketUrl: 'https://x', kind: 'server', kindSource: 'bitbucketKind in /c/config.json' })).toThrow(
      expect.objectContaining({ code: 'USAGE', message: 'bitbucketKind in /c/config.json must be cloud or datacenter, not "server"' }),
    );
    expect(() => parseServerKind('dc', 'BITBUCKET_KIND')).toThrow(/BITBUCKET_KIND must be cloud or datacenter/);
  });
});

describe('context path', () => {
  it.each([
    ['https://git.example.com', 'https://git.example.com/', ''],
    ['https://git.example.com/', 'https://git.example.com/', ''],
    ['https://git.example.com/bitbucket', 'https://git.example.com/bitbucket/', '/bitbucket'],
    ['https://git.example.com/bitbucket//', 'https://git.example.com/bitbucket/', '/bitbucket'],
    ['http://127.0.0.1:7990/a/b?x=1#f', 'http://127.0.0.1:7990/a/b/', '/a/b'],
  ])('%s → base %s, context %j', (url, base, context) => {
    expect(siteBase(url)).toBe(base);
    expect(contextPath(url)).toBe(context);
  });

  it('keeps the context path in every URL', () => {
    expect(siteUrl('https://git.example.com/bitbucket', 'rest/api/latest/x')).toBe('https://git.example.com/bitbucket/rest/api/latest/x');
    expect(siteUrl('https://git.example.com', 'rest/oauth2/latest/token')).toBe('https://git.example.com/rest/oauth2/latest/token');
    expect(() => siteUrl('https://git.example.com/bitbucket', '/rest')).toThrow(/relative/);
  });

  it('names the host with its port', () => {
    expect(siteHost('http://127.0.0.1:7990/bitbucket')).toBe('127.0.0.1:7990');
    expect(siteHost('https://Git.Example.com/bitbucket')).toBe('git.example.com');
  });
});
