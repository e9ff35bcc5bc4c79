import { describe, expect, it } from 'vitest';
import { NpkgError } from '../../src/util/errors.js';
import { parseManifest } from '../../src/project/manifest.js';

const FILE = '/project/modules.json';

function parse(value: unknown): ReturnType<typeof parseManifest> {
  return parseManifest(typeof value === 'string' ? value : JSON.stringify(value), FILE);
}

function errorOf(value: unknown): NpkgError {
  try {
    parse(value);
  } catch (error) {
    if (error instanceof NpkgError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('parseManifest', () => {
  it('normalises the four spec forms of SPEC §1', () => {
    const manifest = parse({
      $schema: './node_modules/npkg/modules.schema.json',
      workspace: 'acme',
      vendorDir: 'vendor',
      modules: {
        utils: 'v1.4.0',
        parser: '^2.0.0',
        theme: { repo: 'design-team/theme', ref: 'main' },
        icons: { repo: 'acme/icon-set', ref: 'v3.1.0', path: 'dist' },
        bare: { repo: 'other-slug', ref: 'abc1234' },
      },
    });
    expect(manifest.vendorPath).toBe('/project/vendor');
    expect(manifest.modules).toEqual([
      { name: 'utils', workspace: 'acme', slug: 'utils', repo: 'acme/utils', ref: 'v1.4.0' },
      { name: 'parser', workspace: 'acme', slug: 'parser', repo: 'acme/parser', ref: '^2.0.0' },
      { name: 'theme', workspace: 'design-team', slug: 'theme', repo: 'design-team/theme', ref: 'main' },
      { name: 'icons', workspace: 'acme', slug: 'icon-set', repo: 'acme/icon-set', ref: 'v3.1.0', path: 'dist' },
      { name: 'bare', workspace: 'acme', slug: 'other-slug', repo: 'acme/other-slug', ref: 'abc1234' },
    ]);
  });

  it.each([
    [{ modules: {}, extra: 1 }, /modules\.json: extra: unknown key/],
    [{ workspace: 'acme', modules: { utils: { repo: 'utils', ref: 'v1', tag: 'x' } } }, /modules\.utils\.tag: unknown key/],
    [{ workspace: 'Acme', modules: {} }, /workspace: must be a lowercase/],
    [{ modules: { x: { repo: 'acme/Bad_Slug', ref: 'v1' } } }, /modules\.x\.repo: invalid slug "Bad_Slug"/],
    [{ modules: { utils: 'v1' } }, /modules\.utils: a string spec needs the top-level "workspace"/],
    [{ modules: { x: { repo: 'slug', ref: 'v1' } } }, /modules\.x\.repo: a bare slug needs/],
    [{ workspace: 'acme', modules: { '../x': 'v1' } }, /modules\.\.\.\/x: invalid name/],
    [{ workspace: 'acme', modules: { 'a..b': 'v1' } }, /invalid name/],
    [{ workspace: 'acme', modules: { x: '' } }, /modules\.x: must be a non-empty ref/],
    [{ workspace: 'acme', modules: { x: { repo: 'y', ref: 'v1', path: '../up' } } }, /modules\.x\.path: must be a relative folder/],
    [{ workspace: 'acme', vendorDir: '/abs', modules: {} }, /vendorDir: must be relative/],
    [{ workspace: 'acme', vendorDir: '.', modules: {} }, /vendorDir: must not be the project folder/],
    [{ workspace: 'acme', vendorDir: 'a/../..', modules: {} }, /vendorDir: must stay inside/],
    [{ workspace: 'acme', modules: { Utils: { repo: 'u', ref: 'v1' }, utils: 'v1' } }, /collides with "Utils"/],
    [{ workspace: 'acme', modules: [] }, /modules: must be an object/],
    [[], /\(root\): must be an object/],
  ])('rejects %j', (value, message) => {
    const error = errorOf(value);
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(error.message).toMatch(message);
    expect(error.message).toContain(FILE);
  });

  it('names the line and column of a syntax error', () => {
    const error = errorOf('{\n  "workspace": "acme",\n  "modules": {\n    "utils": "v1",\n  }\n}\n');
    expect(error.code).toBe('MANIFEST_INVALID');
    expect(error.message).toMatch(/^\/project\/modules\.json:5:3: invalid JSON/);
  });

  it.each([
    ['an unquoted value', '{\n  "modules": {\n    "utils": v1\n  }\n}\n', '3:14: invalid JSON: invalid symbol at "v1"'],
    ['a missing comma', '{\n  "workspace": "acme"\n  "modules": {}\n}\n', '3:3: invalid JSON: comma expected at "\\"modules\\""'],
    ['an unclosed object', '{\n  "modules": {}\n', '3:1: invalid JSON: close brace expected'],
    ['a comment', '{\n  // deps\n  "modules": {}\n}\n', '2:3: invalid JSON: invalid comment token at "// deps"'],
  ])('points at %s, on one line', (_what, text, where) => {
    const error = errorOf(text);
    expect(error.message).toBe(`/project/modules.json:${where}`);
  });
});
