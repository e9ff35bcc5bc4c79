import { describe, expect, it } from 'vitest';
import { linkStaysInside } from '../../src/archive/paths.js';
import { environmentCredentials, fingerprint, workspaceTokenVariable } from '../../src/auth/sources.js';
import { asNpkgError, exitCodeFor } from '../../src/util/errors.js';
import { parseRetryAfter, redact } from '../../src/bitbucket/client.js';
import { formatLockfile, lockfileDrift, parseLockfile, type LockEntry } from '../../src/project/lockfile.js';
import { parseManifest } from '../../src/project/manifest.js';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from '../../src/net/retry.js';

describe('linkStaysInside', () => {
  const links = new Map([
    ['here', '.'],
    ['sub/deep', '../sub2'],
  ]);
  it.each([
    ['a/link', '../b', true],
    ['link', 'a/b/../c', true],
    ['link', '../outside', false],
    ['a/link', '../../outside', false],
    ['link', '/etc/passwd', false],
    ['x', 'here/..', false],
    ['x', 'sub/deep/../y', true],
  ])('%s -> %s: %s', (link, target, expected) => {
    expect(linkStaysInside(link, target, links)).toBe(expected);
  });
});

describe('credentials from the environment', () => {
  it('prefers the workspace token, then BITBUCKET_TOKEN, then Basic', async () => {
    const env = { BITBUCKET_TOKEN_MY_TEAM: 'workspace-token-1234567890', BITBUCKET_TOKEN: 'global-token-1234567890' };
    expect(workspaceTokenVariable('my-team')).toBe('BITBUCKET_TOKEN_MY_TEAM');
    expect((await environmentCredentials(env).get('my-team'))?.source).toBe('BITBUCKET_TOKEN_MY_TEAM');
    expect((await environmentCredentials(env).get('other'))?.authorization).toBe('Bearer global-token-1234567890');
    const basic = await environmentCredentials({ BITBUCKET_USERNAME: 'me@example.com', BITBUCKET_API_TOKEN: 'secret' }).get('x');
    expect(basic?.authorization).toBe(`Basic ${Buffer.from('me@example.com:secret').toString('base64')}`);
    expect(await environmentCredentials({}).get('x')).toBeUndefined();
  });
  it('fingerprints show only the ends of a long secret', () => {
    expect(fingerprint('abcdefghijklmnopqrstuvwxyz')).toBe('abcd…wxyz');
    expect(fingerprint('short')).toBe('…');
  });
});

describe('retries', () => {
  it('backs off exponentially and caps Retry-After at 60 s', () => {
    expect(retryDelayMs(1)).toBeGreaterThanOrEqual(250);
    expect(retryDelayMs(3)).toBeGreaterThanOrEqual(1000);
    expect(retryDelayMs(1, 5000)).toBe(5000);
    expect(retryDelayMs(1, 3_600_000)).toBe(MAX_RETRY_DELAY_MS);
  });
  it('reads Retry-After as seconds or a date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
  it('redacts secrets from URLs', () => {
    expect(redact('https://user:pw@host/x?access_token=abc&pagelen=100')).toBe('https://host/x?access_token=%E2%80%A6&pagelen=100');
  });
});

describe('exit codes', () => {
  it('maps codes as SPEC §4 says', () => {
    expect(exitCodeFor('MANIFEST_INVALID')).toBe(2);
    expect(exitCodeFor('LOCKFILE_OUTDATED')).toBe(2);
    expect(exitCodeFor('NO_CREDENTIAL')).toBe(4);
    expect(exitCodeFor('CREDENTIAL_REFUSED')).toBe(4);
    expect(exitCodeFor('INTEGRITY_MISMATCH')).toBe(1);
    expect(exitCodeFor('FILE_SYSTEM')).toBe(1);
  });

  it('reports a local disk error as FILE_SYSTEM, whatever the fallback', () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write '/p/vendor/x'"), { code: 'ENOSPC' });
    expect(asNpkgError(full, 'NETWORK')).toMatchObject({ code: 'FILE_SYSTEM', message: full.message });
    expect(asNpkgError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'NETWORK').code).toBe('NETWORK');
  });
});

describe('lockfile', () => {
  const entry = { repo: 'acme/utils', ref: 'v1', resolved: 'tag:v1', commit: 'a'.repeat(40), integrity: `h1:${'A'.repeat(43)}=` };
  it('writes entries sorted and reads them back', () => {
    const text = formatLockfile(new Map<string, LockEntry>([['zeta', entry], ['alpha', { ...entry, path: 'dist' }]]));
    expect(Object.keys(JSON.parse(text).modules)).toEqual(['alpha', 'zeta']);
    expect(parseLockfile(text, 'modules.lock.json').get('alpha')?.path).toBe('dist');
  });
  it('reports drift from the manifest', () => {
    const manifest = parseManifest(JSON.stringify({ workspace: 'acme', modules: { utils: 'v1' } }), '/p/modules.json');
    expect(lockfileDrift(undefined, manifest)).toBe('there is no lockfile');
    expect(lockfileDrift(new Map([['utils', entry]]), manifest)).toBeUndefined();
    expect(lockfileDrift(new Map([['utils', { ...entry, ref: 'v2' }]]), manifest)).toBe('utils changed in the manifest');
  });
  it('rejects a bad commit', () => {
    expect(() => parseLockfile(JSON.stringify({ lockfileVersion: 1, modules: { x: { ...entry, commit: 'zz' } } }), 'l.json')).toThrow(/modules\.x\.commit/);
  });
});

describe('latestRef (update --latest)', () => {
  it.each([
    ['v1.2.0', true, 'v2.0.0', 'v2.0.0'],
    ['^1.2.0', false, 'v2.0.0', '^2.0.0'],
    ['~1.2', false, '2.1.0', '~2.1.0'],
    ['>=1.2 <2', false, 'v2.0.0', '>=1.2 <2'],
    ['main', false, 'v2.0.0', 'main'],
    ['v1.2.0', true, undefined, 'v1.2.0'],
  ])('%s (tag: %s, newest %s) → %s', async (ref, isTag, newest, expected) => {
    const { latestRef } = await import('../../src/cli/commands/update.js');
    expect(latestRef(ref, isTag, newest)).toBe(expected);
  });
});
