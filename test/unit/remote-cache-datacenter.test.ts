import { describe, expect, it } from 'vitest';
import { bitbucketServer } from '../../src/bitbucket/server.js';
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

  it('gives a project one key whatever the case it is written in, local and team cache alike (Cloud keeps its spelling)', () => {
    const dc = bitbucketServer({ kind: 'datacenter', bitbucketUrl: 'https://git.example.com/bitbucket', apiUrl: '' });
    const keyOf = (workspace: string) => remoteCacheKey(target, { bitbucketUrl: 'https://git.example.com/bitbucket', workspace: dc.cacheWorkspace(workspace), slug: 'utils', commit });
    expect(keyOf('plat')).toBe(keyOf('PLAT'));
    expect(dc.cacheFolders('plat', 'utils')).toEqual(dc.cacheFolders('PLAT', 'utils'));
    expect(dc.cacheWorkspace('~alice')).toBe('~alice');
    const cloud = bitbucketServer({ kind: 'cloud', bitbucketUrl: 'https://bitbucket.org', apiUrl: 'https://api.bitbucket.org' });
    expect(cloud.cacheWorkspace('acme')).toBe('acme');
  });
});
