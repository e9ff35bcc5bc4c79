import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/project/config.js';

async function settingsWith(env: Record<string, string>, config?: unknown) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-kind-'));
  if (config !== undefined) await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return loadSettings({}, { NPKG_CONFIG_DIR: dir, NPKG_CACHE_DIR: path.join(dir, 'cache'), ...env });
}

describe('the server kind in the settings (SPEC §6)', () => {
  it.each([
    [{}, undefined, 'cloud'],
    [{ BITBUCKET_URL: 'https://git.example.com/bitbucket' }, undefined, 'datacenter'],
    [{ BITBUCKET_URL: 'http://127.0.0.1:7990', BITBUCKET_API_URL: 'http://127.0.0.1:7991' }, undefined, 'cloud'],
    [{ BITBUCKET_URL: 'http://127.0.0.1:7990' }, { apiUrl: 'http://127.0.0.1:7991' }, 'cloud'],
    [{ BITBUCKET_URL: 'http://127.0.0.1:7990', BITBUCKET_API_URL: 'http://127.0.0.1:7991', BITBUCKET_KIND: 'DataCenter' }, undefined, 'datacenter'],
    [{ BITBUCKET_URL: 'https://git.example.com' }, { bitbucketKind: 'cloud' }, 'cloud'],
    [{ BITBUCKET_URL: 'https://git.example.com', BITBUCKET_KIND: 'datacenter' }, { bitbucketKind: 'cloud' }, 'datacenter'],
  ])('%j with config %j is %s', async (env, config, kind) => {
    expect((await settingsWith(env, config)).kind).toBe(kind);
  });

  it('keeps the context path of BITBUCKET_URL', async () => {
    expect((await settingsWith({ BITBUCKET_URL: 'https://git.example.com/bitbucket/' })).bitbucketUrl).toBe('https://git.example.com/bitbucket');
  });

  it('refuses a bad kind, naming where it came from (exit 2)', async () => {
    await expect(settingsWith({ BITBUCKET_KIND: 'server' })).rejects.toMatchObject({ code: 'USAGE', message: 'BITBUCKET_KIND must be cloud or datacenter, not "server"' });
    await expect(settingsWith({}, { bitbucketKind: 'onprem' })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/^bitbucketKind in .*config\.json must be cloud or datacenter, not "onprem"$/) });
    await expect(settingsWith({}, { bitbucketKind: 3 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});
