import { describe, expect, it } from 'vitest';
import { parseRemoteCacheTarget, remoteCacheKey } from '../../src/install/remote-cache/target.js';

const target = parseRemoteCacheTarget('https://cache.example.com/npkg', 'NPKG_REMOTE_CACHE');
const commit = 'a'.repeat(40);

describe('team cache keys for Data Center repositories', () => {
  it.each([
    ['PLAT', 'https://cache.example.com/npkg/v1/git.example.com/PLAT/utils/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tar.gz'],
    ['~alice', 'https://cache.example.com/npkg/v1/git.example.com/~alice/utils/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tar.gz'],
    ['PLAT_2', 'https://cache.example.com/npkg/v1/git.example.com/PLAT_2/utils/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tar.gz'],
  ])('%s keeps its place under the host', (workspace, key) => {
    expect(remoteCacheKey(target, { bitbucketUrl: 'https://git.example.com/bitbucket', workspace, slug: 'utils', commit })).toBe(key);
  });

  it.each(['~', '~/x', '..', '~..', 'a/b', '%2e'])('refuses %j', (workspace) => {
    expect(() => remoteCacheKey(target, { bitbucketUrl: 'https://git.example.com', workspace, slug: 'utils', commit })).toThrow(/cannot build a remote cache key/);
  });
});
