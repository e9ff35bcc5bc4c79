import { describe, expect, it } from 'vitest';
import { dcCommitId, dcErrorMessage, dcErrorText, isCaptchaRequired, parseDcRefPage, userFromHeaders } from '../../src/bitbucket/datacenter/answers.js';
import { isProjectKey, parseDcRepo, projectKeyProblem } from '../../src/bitbucket/datacenter/names.js';
import { workspaceTokenVariable } from '../../src/auth/sources.js';
import { DATACENTER_CALLBACK_URL, dataCenterOAuthEndpoints, redirectUrlProblem } from '../../src/bitbucket/datacenter/oauth.js';
import { resolveDataCenterRef } from '../../src/bitbucket/datacenter/resolve.js';
import { dcArchiveUrl, dcCommitUrl, dcRefListUrl, withStart } from '../../src/bitbucket/datacenter/urls.js';

const SITE = 'https://git.example.com/bitbucket';
const PLAT = { key: 'PLAT', slug: 'utils' };
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('names', () => {
  it.each([
    ['PLAT', true], ['plat', true], ['Plat_2', true], ['~alice', true], ['~a.b-c', true],
    ['', false], ['PL-AT', false], ['~', false], ['~Alice', false], ['PL AT', false], ['acme.x', false],
  ])('%j is a project key: %s', (key, ok) => {
    expect(isProjectKey(key)).toBe(ok);
    expect(projectKeyProblem(key) === undefined).toBe(ok);
  });
  it.each([
    ['PLAT/utils', { key: 'PLAT', slug: 'utils' }],
    ['~alice/tools', { key: '~alice', slug: 'tools' }],
    ['PLAT/Utils', undefined],
    ['PLAT/utils/x', undefined],
  ])('%s → %j', (repo, parsed) => {
    expect(parseDcRepo(repo)).toEqual(parsed);
  });
  it.each([['PLAT', 'BITBUCKET_TOKEN_PLAT'], ['plat', 'BITBUCKET_TOKEN_PLAT'], ['~alice', 'BITBUCKET_TOKEN__ALICE'], ['my_key', 'BITBUCKET_TOKEN_MY_KEY']])(
    'token variable of %s is %s', (key, variable) => expect(workspaceTokenVariable(key)).toBe(variable),
  );
});

describe('URLs (context path kept, refs only in query strings)', () => {
  it('lists refs with filterText, percent-encoded', () => {
    expect(dcRefListUrl(SITE, PLAT, 'tags', { filterText: 'release/1.0+b (x)' })).toBe(
      'https://git.example.com/bitbucket/rest/api/latest/projects/PLAT/repos/utils/tags?filterText=release%2F1.0%2Bb%20%28x%29&orderBy=ALPHABETICAL&limit=100',
    );
    expect(dcRefListUrl('http://127.0.0.1:7990', { key: '~alice', slug: 'tools' }, 'branches', { filterText: 'feature/x', start: 25, limit: 10 })).toBe(
      'http://127.0.0.1:7990/rest/api/latest/projects/~alice/repos/tools/branches?filterText=feature%2Fx&boostMatches=true&orderBy=ALPHABETICAL&start=25&limit=10',
    );
  });
  it('moves a page URL to nextPageStart, keeping the rest', () => {
    const first = dcRefListUrl(SITE, PLAT, 'tags', { filterText: 'v1/x' });
    expect(withStart(first, 7)).toBe(`${first}&start=7`);
    expect(withStart(withStart(first, 7), 9)).toBe(`${first}&start=9`);
  });
  it('builds commit and archive URLs from hashes only', () => {
    expect(dcCommitUrl(SITE, PLAT, 'abcdef1')).toBe('https://git.example.com/bitbucket/rest/api/latest/projects/PLAT/repos/utils/commits/abcdef1');
    expect(() => dcCommitUrl(SITE, PLAT, 'refs/heads/main')).toThrow();
    expect(dcArchiveUrl(SITE, PLAT, A)).toBe(
      `https://git.example.com/bitbucket/rest/api/latest/projects/PLAT/repos/utils/archive?at=${A}&format=tar.gz&prefix=PLAT-utils-aaaaaaaaaaaa%2F`,
    );
    expect(() => dcArchiveUrl(SITE, PLAT, 'v1.0.0')).toThrow();
  });
  it('has the OAuth endpoints under the context path, and the localhost callback', () => {
    expect(dataCenterOAuthEndpoints(SITE)).toEqual({
      issuer: 'https://git.example.com/bitbucket',
      authorization_endpoint: 'https://git.example.com/bitbucket/rest/oauth2/latest/authorize',
      token_endpoint: 'https://git.example.com/bitbucket/rest/oauth2/latest/token',
    });
    expect(DATACENTER_CALLBACK_URL).toBe('http://localhost:8976/callback');
  });
  it.each([
    ['http://localhost:8976/callback', false], ['https://ci.example.com/cb', false],
    ['http://127.0.0.1:8976/callback', true], ['http://localhost:1/cb#x', true], ['callback', true],
  ])('redirect %s refused: %s', (url, refused) => expect(redirectUrlProblem(url) !== undefined).toBe(refused));
});

const url = dcRefListUrl(SITE, PLAT, 'tags', { filterText: 'v1' });
describe('parseDcRefPage', () => {
  it('reads latestCommit, never hash (null, absent, or a tag object)', () => {
    const page = parseDcRefPage({
      values: [
        { id: 'refs/tags/v1', displayId: 'v1', type: 'TAG', latestCommit: A, hash: null },
        { id: 'refs/tags/v1.0', displayId: 'v1.0', type: 'TAG', latestCommit: B },
        { id: 'refs/tags/v1.1', displayId: 'v1.1', type: 'TAG', latestCommit: C, hash: A },
      ],
      isLastPage: true, start: 0, limit: 25, size: 3,
    }, url, 'PLAT/utils');
    expect(page).toEqual({ values: [{ name: 'v1', commit: A }, { name: 'v1.0', commit: B }, { name: 'v1.1', commit: C }] });
  });
  it.each([
    [{ isLastPage: false, nextPageStart: 4 }, `${url}&start=4`],
    [{ isLastPage: false }, undefined],
    [{ isLastPage: true, nextPageStart: 4 }, undefined],
    [{ isLastPage: false, nextPageStart: null }, undefined],
  ])('paging %j → next %s', (paging, next) => {
    expect(parseDcRefPage({ values: [], ...paging }, url, 'PLAT/utils').next).toBe(next);
  });
  it.each([
    [null], [{}], [{ values: {} }],
    [{ values: [{ displayId: 'v1', latestCommit: 'abc' }] }],
    [{ values: [{ displayId: 'v1', hash: A }] }],
    [{ values: [{ displayId: '../x', latestCommit: A }] }],
    [{ values: [], isLastPage: false, nextPageStart: 0 }],
    [{ values: [], isLastPage: false, nextPageStart: '4' }],
  ])('%j is an unexpected answer, not "not found"', (json) => {
    expect(() => parseDcRefPage(json, url, 'PLAT/utils')).toThrow(expect.objectContaining({ code: 'SERVER', message: expect.stringContaining('unexpected answer for PLAT/utils') }));
  });
  it('reads a commit id', () => {
    expect(dcCommitId({ id: A, displayId: 'aaaaaaaaaaa' })).toBe(A);
    expect(dcCommitId({ hash: A })).toBeUndefined();
  });
});

describe('error bodies, by message', () => {
  const notFound = { errors: [{ context: null, message: 'Repository PLAT/nope does not exist.', exceptionName: 'com.atlassian.bitbucket.repository.NoSuchRepositoryException' }] };
  it('reads errors[].message', () => {
    expect(dcErrorMessage(notFound)).toBe('Repository PLAT/nope does not exist.');
    expect(dcErrorText(JSON.stringify(notFound), 'application/json;charset=UTF-8')).toBe('Repository PLAT/nope does not exist.');
    expect(dcErrorMessage({ error: { message: 'cloud' } })).toBeUndefined();
  });
  it('shows an HTML page by its title, never raw', () => {
    expect(dcErrorText('<!DOCTYPE html><html><head><title>Page not found - Bitbucket</title></head><body><script>x</script></body></html>', 'text/html')).toBe(
      'an HTML page ("Page not found - Bitbucket")',
    );
    expect(dcErrorText('<html><body>oops</body></html>', 'text/html')).toBe('an HTML page');
    expect(dcErrorText('', undefined)).toBeUndefined();
  });
  it('tells a CAPTCHA lockout', () => {
    expect(isCaptchaRequired({ errors: [{ message: 'CAPTCHA', exceptionName: 'com.atlassian.bitbucket.auth.CaptchaRequiredAuthenticationException' }] })).toBe(true);
    expect(isCaptchaRequired(notFound)).toBe(false);
  });
  it.each([[{ 'x-ausername': 'alice' }, 'alice'], [{ 'x-ausername': 'j%C3%B6rg' }, 'jörg'], [{}, undefined], [{ 'x-ausername': ' ' }, undefined]])(
    'X-AUSERNAME %j → %s', (headers, user) => expect(userFromHeaders(headers)).toBe(user),
  );
});

describe('resolveDataCenterRef', () => {
  // A fuzzy filterText: "v1" also lists v1.0 and v1x; two refs a page, as a server that lowered limit.
  const tags = [['v1', A], ['v1.0.0', B], ['v1.2.0', C], ['v1x', A]] as const;
  const fake = (seen: string[]) => async (request: string): Promise<unknown> => {
    seen.push(request);
    const u = new URL(request);
    if (u.pathname.endsWith('/commits/abcdef1')) return { id: B };
    if (u.pathname.includes('/commits/')) return undefined;
    const filter = u.searchParams.get('filterText') ?? '';
    const list = u.pathname.endsWith('/tags') ? tags : ([['main', C], ['feature/x', B]] as const);
    const matching = list.filter(([name]) => name.includes(filter));
    const start = Number(u.searchParams.get('start') ?? 0);
    const values = matching.slice(start, start + 2).map(([displayId, latestCommit]) => ({ displayId, latestCommit, hash: null }));
    const more = start + 2 < matching.length;
    return { values, start, limit: 2, size: values.length, isLastPage: !more, ...(more ? { nextPageStart: start + 2 } : {}) };
  };
  it.each([
    ['v1x', { commit: A, resolved: 'tag:v1x' }],
    ['^1.0.0', { commit: C, resolved: 'tag:v1.2.0' }],
    ['feature/x', { commit: B, resolved: 'branch:feature/x' }],
    ['abcdef1', { commit: B, resolved: 'commit' }],
  ])('%s → %j', async (ref, expected) => {
    const seen: string[] = [];
    expect(await resolveDataCenterRef(fake(seen), SITE, { workspace: 'PLAT', slug: 'utils', ref })).toEqual(expected);
    expect(seen.every((request) => request.startsWith(`${SITE}/rest/api/latest/projects/PLAT/repos/utils/`))).toBe(true);
    expect(seen.some((request) => new URL(request).pathname.includes(ref) && ref.includes('/'))).toBe(false);
  });
  it('says which tags exist when nothing matches', async () => {
    await expect(resolveDataCenterRef(fake([]), SITE, { workspace: 'PLAT', slug: 'utils', ref: 'v9.0.0' })).rejects.toThrow(
      'tag v9.0.0 not found in PLAT/utils (newest tags: v1.2.0, v1.0.0)',
    );
  });
});
