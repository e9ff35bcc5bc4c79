import { describe, expect, it } from 'vitest';
import { archiveUrl, isRefName, parseRefPage, refListUrl } from '../../src/bitbucket/api.js';
import { newestRelease, newestTags, pickHighest, resolveRef } from '../../src/bitbucket/resolve.js';

const hash = (digit: string) => digit.repeat(40);
const tags = ['v1.0.0', 'v1.4.0', '1.5.0-beta.1', 'v2.0.0', 'v2.1.3', 'release-x', 'v3.0.0-rc.1'].map((name, index) => ({
  name,
  commit: hash(String(index)),
}));

describe('pickHighest', () => {
  it.each([
    ['^2.0.0', 'v2.1.3'],
    ['~1.4', 'v1.4.0'],
    ['>=1.2 <2', 'v1.4.0'],
    ['*', 'v2.1.3'],
    ['^1.5.0-beta.0', '1.5.0-beta.1'],
    ['^3.0.0-rc.0', 'v3.0.0-rc.1'],
    ['^4', undefined],
  ])('%s → %s', (range, expected) => {
    expect(pickHighest(tags, range)?.name).toBe(expected);
  });
});

describe('newestTags', () => {
  it('orders by semver, without prereleases', () => {
    expect(newestTags(tags, 3)).toEqual(['v2.1.3', 'v2.0.0', 'v1.4.0']);
  });
  it('falls back to API order when no tag is a version', () => {
    expect(newestTags([{ name: 'b', commit: hash('1') }, { name: 'a', commit: hash('2') }], 3)).toEqual(['b', 'a']);
  });
});

describe('newestRelease (add, outdated, update --latest)', () => {
  it('is the highest release tag', () => {
    expect(newestRelease(tags)).toBe('v2.1.3');
  });
  it('is none when every tag is a prerelease or not a version', () => {
    expect(newestRelease([{ name: 'v1.0.0-beta.1', commit: hash('1') }, { name: 'nightly', commit: hash('2') }])).toBeUndefined();
  });
});

describe('isRefName', () => {
  it.each([
    ['v1.4.0', true],
    ['feature/x', true],
    ['main', true],
    ['^2.0.0', false],
    ['~1.2', false],
    ['>=1.2 <2', false],
    ['*', false],
    ['a..b', false],
    ['x.lock', false],
    ['/x', false],
  ])('%s → %s', (name, expected) => {
    expect(isRefName(name)).toBe(expected);
  });
});

describe('URLs', () => {
  it('fetches archives by full hash only', () => {
    expect(archiveUrl('https://bitbucket.org/', 'acme', 'utils', hash('a'))).toBe(`https://bitbucket.org/acme/utils/get/${hash('a')}.tar.gz`);
    expect(() => archiveUrl('https://bitbucket.org', 'acme', 'utils', 'main')).toThrow();
  });
  it('asks for 100 tags a page and filters names with a slash', () => {
    const url = new URL(refListUrl('https://api.bitbucket.org', 'acme', 'utils', 'branches', 'feature/x'));
    expect(url.pathname).toBe('/2.0/repositories/acme/utils/refs/branches');
    expect(url.searchParams.get('pagelen')).toBe('100');
    expect(url.searchParams.get('q')).toBe('name="feature/x"');
  });
  it('refuses a next page on another host', () => {
    expect(() => parseRefPage({ values: [], next: 'https://evil.example/2.0/x' }, 'https://api.bitbucket.org', 'acme/utils')).toThrow(/not on the API host/);
    expect(() => parseRefPage({ values: [], next: 'not a url' }, 'https://api.bitbucket.org', 'acme/utils')).toThrow(/not on the API host/);
  });
});

describe('resolveRef', () => {
  const api = 'https://api.example';
  function fakeApi(routes: Record<string, unknown>) {
    const calls: string[] = [];
    const get = async (url: string) => {
      calls.push(url.replace(`${api}/2.0/repositories/acme/utils`, ''));
      return routes[calls.at(-1)!];
    };
    return { calls, get };
  }
  const tagList = { values: tags.map((tag) => ({ name: tag.name, target: { hash: tag.commit } })) };

  it('uses one call for an exact tag', async () => {
    const { calls, get } = fakeApi({ '/refs/tags/v1.4.0': { target: { hash: hash('1') } } });
    expect(await resolveRef(get, api, { workspace: 'acme', slug: 'utils', ref: 'v1.4.0' })).toEqual({ commit: hash('1'), resolved: 'tag:v1.4.0' });
    expect(calls).toEqual(['/refs/tags/v1.4.0']);
  });

  it('lists tags once for a range, with no single-tag lookup', async () => {
    const { calls, get } = fakeApi({ '/refs/tags?pagelen=100&sort=-target.date': tagList });
    expect(await resolveRef(get, api, { workspace: 'acme', slug: 'utils', ref: '^2.0.0' })).toEqual({ commit: hash('4'), resolved: 'tag:v2.1.3' });
    expect(calls).toHaveLength(1);
  });

  it('falls through a range that matches nothing to a commit hash', async () => {
    const { get } = fakeApi({
      '/refs/tags?pagelen=100&sort=-target.date': tagList,
      '/commit/1234567': { hash: hash('7') },
    });
    expect(await resolveRef(get, api, { workspace: 'acme', slug: 'utils', ref: '1234567' })).toEqual({ commit: hash('7'), resolved: 'commit' });
  });

  it('finds a branch with a slash through the filtered list', async () => {
    const { get } = fakeApi({
      '/refs/tags?pagelen=100&sort=-target.date&q=name%3D%22feature%2Fx%22': { values: [] },
      '/refs/branches?pagelen=100&sort=-target.date&q=name%3D%22feature%2Fx%22': { values: [{ name: 'feature/x', target: { hash: hash('9') } }] },
    });
    expect(await resolveRef(get, api, { workspace: 'acme', slug: 'utils', ref: 'feature/x' })).toEqual({ commit: hash('9'), resolved: 'branch:feature/x' });
  });

  it.each([
    ['a tag whose hash is not 40 hex', { '/refs/tags/v1.4.0': { target: { hash: '../../etc' } } }, 'v1.4.0', /a tag without a 40-hex "target.hash"/],
    ['a tag with no target', { '/refs/tags/v1.4.0': { name: 'v1.4.0' } }, 'v1.4.0', /a tag without/],
    ['a commit whose hash is a number', { '/refs/tags?pagelen=100&sort=-target.date': { values: [] }, '/commit/1234567': { hash: 1234567 } }, '1234567', /a commit without/],
    ['a tag list without values', { '/refs/tags?pagelen=100&sort=-target.date': { page: 1 } }, '^1.0.0', /a ref list without "values"/],
  ])('refuses %s with a clear error', async (_what, routes, ref, message) => {
    const { get } = fakeApi(routes);
    const failure = resolveRef(get, api, { workspace: 'acme', slug: 'utils', ref });
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toMatchObject({ code: 'SERVER', message: expect.stringMatching(/^Bitbucket sent an unexpected answer for acme\/utils: /) });
  });

  it('drops list entries whose name or hash is not valid', () => {
    const page = parseRefPage(
      { values: [{ name: 'v1.0.0', target: { hash: hash('1') } }, { name: 42, target: { hash: hash('2') } }, { name: 'v2.0.0', target: { hash: 'zz' } }, { name: '../v3.0.0', target: { hash: hash('3') } }, null] },
      api,
      'acme/utils',
    );
    expect(page.values).toEqual([{ name: 'v1.0.0', commit: hash('1') }]);
  });

  it('names the newest tags when nothing matches', async () => {
    const { get } = fakeApi({ '/refs/tags?pagelen=100&sort=-target.date': tagList });
    await expect(resolveRef(get, api, { workspace: 'acme', slug: 'utils', ref: 'v9.0.0' })).rejects.toThrow(
      'tag v9.0.0 not found in acme/utils (newest tags: v2.1.3, v2.0.0, v1.4.0)',
    );
  });
});
