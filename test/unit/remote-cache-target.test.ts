import { describe, expect, it } from 'vitest';
import { parseRemoteCacheTarget, remoteCacheKey } from '../../src/install/remote-cache/target.js';
import { resolveRemoteCache } from '../../src/install/remote-cache/settings.js';
import { OnceWarning } from '../../src/install/remote-cache/remote-cache.js';
import { NpkgError, exitCodeFor } from '../../src/util/errors.js';

const COMMIT = 'a'.repeat(40);
const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;

function usageError(work: () => unknown): NpkgError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(NpkgError);
    expect(exitCodeFor((error as NpkgError).code)).toBe(2);
    return error as NpkgError;
  }
  throw new Error('expected a USAGE error');
}

describe('parseRemoteCacheTarget', () => {
  it.each([
    ['https://cache.example', undefined, 'https://cache.example', undefined],
    ['https://cache.example/npkg///', undefined, 'https://cache.example/npkg', undefined],
    ['http://127.0.0.1:8080/cache', undefined, 'http://127.0.0.1:8080/cache', undefined],
    ['https://ci:s3cret@cache.example/npkg', undefined, 'https://cache.example/npkg', basic('ci:s3cret')],
    ['https://ci%40corp:p%3Aw%2Fd@cache.example', undefined, 'https://cache.example', basic('ci@corp:p:w/d')],
    ['https://reader@cache.example', undefined, 'https://cache.example', basic('reader:')],
    ['https://cache.example', 'tok-123', 'https://cache.example', 'Bearer tok-123'],
    ['https://cache.example', '', 'https://cache.example', undefined],
  ])('%s (token %s)', (value, token, base, authorization) => {
    const target = parseRemoteCacheTarget(value, 'NPKG_REMOTE_CACHE', token);
    expect(target).toEqual({ base, authorization, display: base });
  });

  it.each([
    ['not a url', /NPKG_REMOTE_CACHE is not a URL/],
    ['ftp://cache.example', /must be an http\(s\) URL/],
    ['https://cache.example/?sig=1', /query or a fragment/],
    ['https://cache.example/#x', /query or a fragment/],
    ['https://ci:%zz@cache.example', /percent-encoding/],
  ])('%s is a usage error', (value, message) => {
    expect(usageError(() => parseRemoteCacheTarget(value, 'NPKG_REMOTE_CACHE')).message).toMatch(message);
  });

  it('names the source and never repeats a password, even of a value that does not parse', () => {
    const error = usageError(() => parseRemoteCacheTarget('https://ci:hunter2@[bad', 'remoteCache in /x/config.json'));
    expect(error.message).toContain('remoteCache in /x/config.json');
    expect(error.message).not.toContain('hunter2');
  });

  it('refuses two credentials and a token that cannot go in a header', () => {
    expect(usageError(() => parseRemoteCacheTarget('https://a:b@cache.example', 'NPKG_REMOTE_CACHE', 'tok')).message).toMatch(/one credential/);
    const error = usageError(() => parseRemoteCacheTarget('https://cache.example', 'NPKG_REMOTE_CACHE', 'tok\r\nX-Evil: 1'));
    expect(error.message).not.toContain('Evil');
  });
});

describe('remoteCacheKey', () => {
  const target = parseRemoteCacheTarget('https://u:p@cache.example/npkg/', 'NPKG_REMOTE_CACHE');
  it.each([
    ['https://bitbucket.org', 'https://cache.example/npkg/v1/bitbucket.org/acme/utils/' + COMMIT + '.tar.gz'],
    ['http://127.0.0.1:7990', 'https://cache.example/npkg/v1/127.0.0.1:7990/acme/utils/' + COMMIT + '.tar.gz'],
    ['https://BitBucket.Example:443/', 'https://cache.example/npkg/v1/bitbucket.example/acme/utils/' + COMMIT + '.tar.gz'],
    ['http://[::1]:8080', 'https://cache.example/npkg/v1/%5B::1%5D:8080/acme/utils/' + COMMIT + '.tar.gz'],
  ])('host of %s', (bitbucketUrl, key) => {
    expect(remoteCacheKey(target, { bitbucketUrl, workspace: 'acme', slug: 'utils', commit: COMMIT })).toBe(key);
  });

  it.each([
    [{ workspace: '..', slug: 'utils', commit: COMMIT }],
    [{ workspace: 'acme', slug: 'a/b', commit: COMMIT }],
    [{ workspace: 'acme', slug: '%2e%2e', commit: COMMIT }],
    [{ workspace: 'acme', slug: 'utils?x', commit: COMMIT }],
    [{ workspace: 'acme', slug: 'utils', commit: 'A'.repeat(40) }],
    [{ workspace: 'acme', slug: 'utils', commit: '../../etc' }],
  ])('refuses a part that could leave its place: %o', (parts) => {
    expect(() => remoteCacheKey(target, { bitbucketUrl: 'https://bitbucket.org', ...parts })).toThrow(NpkgError);
  });
});

describe('resolveRemoteCache', () => {
  const inputs = { url: 'https://cache.example', urlSource: 'NPKG_REMOTE_CACHE', token: undefined, writeFlag: undefined, writeEnv: undefined };
  it.each([
    [undefined, undefined, false],
    [undefined, '1', true],
    [undefined, 'true', true],
    [undefined, '0', false],
    [false, '1', false],
    [true, undefined, true],
  ])('--remote-cache-write %s, NPKG_REMOTE_CACHE_WRITE %s → write %s', (writeFlag, writeEnv, write) => {
    expect(resolveRemoteCache({ ...inputs, writeFlag, writeEnv })?.write).toBe(write);
  });
  it('is off without a URL, and a bad NPKG_REMOTE_CACHE_WRITE is a usage error', () => {
    expect(resolveRemoteCache({ ...inputs, url: undefined, writeEnv: '1' })).toBeUndefined();
    expect(usageError(() => resolveRemoteCache({ ...inputs, writeEnv: 'yes' })).message).toMatch(/NPKG_REMOTE_CACHE_WRITE/);
  });
});

describe('OnceWarning', () => {
  it('passes the first message only', () => {
    const seen: string[] = [];
    const once = new OnceWarning((message) => seen.push(message));
    expect([once.warn('a'), once.warn('b')]).toEqual([true, false]);
    expect(seen).toEqual(['a']);
  });
});
