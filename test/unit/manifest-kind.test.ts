import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/project/manifest.js';
import { workspaceRule } from '../../src/bitbucket/server.js';

const parse = (manifest: unknown, kind: 'cloud' | 'datacenter') => parseManifest(JSON.stringify(manifest), '/p/modules.json', workspaceRule(kind));

describe('the manifest by server kind (SPEC §6a)', () => {
  it('takes project keys in any case and personal projects on Data Center', () => {
    const manifest = parse({ workspace: 'PLAT', modules: { utils: 'v1.0.0', tools: { repo: '~alice/tools', ref: 'main' }, low: { repo: 'plat_2/low', ref: '^1' } } }, 'datacenter');
    expect(manifest.modules.map((spec) => spec.repo)).toEqual(['PLAT/utils', '~alice/tools', 'plat_2/low']);
  });

  it('keeps Cloud strict: no upper case, no ~', () => {
    expect(() => parse({ workspace: 'PLAT', modules: {} }, 'cloud')).toThrow('/p/modules.json: workspace: must be a lowercase workspace id matching ^[a-z0-9][a-z0-9._-]*$');
    expect(() => parse({ modules: { t: { repo: '~alice/tools', ref: 'main' } } }, 'cloud')).toThrow('modules.t.repo: invalid workspace "~alice": must match ^[a-z0-9][a-z0-9._-]*$');
  });

  it.each([
    [{ workspace: 'PL-AT', modules: {} }, 'workspace: invalid project key "PL-AT"'],
    [{ modules: { t: { repo: '~Alice/tools', ref: 'main' } } }, 'modules.t.repo: invalid personal project "~Alice"'],
    [{ modules: { t: { repo: 'PLAT/Tools', ref: 'main' } } }, 'modules.t.repo: invalid slug "Tools"'],
  ])('refuses %j on Data Center', (manifest, message) => {
    expect(() => parse(manifest, 'datacenter')).toThrow(message);
  });
});
