import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hash1, hashTree, sha256Hex } from '../../src/archive/dirhash.js';

const GO_VECTOR = 'h1:EP6WfDoQTSk9klnxcjriWJOGztueJUywHNmWeq+efB8=';

describe('hash1 (Go dirhash Hash1)', () => {
  it('matches the test vector of golang.org/x/mod/sumdb/dirhash', () => {
    const files: Array<[string, string]> = [
      ['xyz', sha256Hex('data for xyz')],
      ['abc', sha256Hex('data for abc')],
    ];
    expect(hash1(files)).toBe(GO_VECTOR);
  });

  it('equals sha256sum of the files piped to sha256sum, base64', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-h1-'));
    await writeFile(path.join(dir, 'abc'), 'data for abc');
    await writeFile(path.join(dir, 'xyz'), 'data for xyz');
    const lines = execFileSync('sha256sum', ['abc', 'xyz'], { cwd: dir });
    const digest = execFileSync('sha256sum', [], { input: lines }).toString().split(' ')[0]!;
    expect(`h1:${Buffer.from(digest, 'hex').toString('base64')}`).toBe(GO_VECTOR);
    expect(await hashTree(dir)).toBe(GO_VECTOR);
  });

  it('sorts paths as byte strings and uses / separators', () => {
    const a = hash1([
      ['b/x', sha256Hex('1')],
      ['B', sha256Hex('2')],
      ['a', sha256Hex('3')],
    ]);
    const b = hash1([
      ['a', sha256Hex('3')],
      ['B', sha256Hex('2')],
      ['b/x', sha256Hex('1')],
    ]);
    expect(a).toBe(b);
  });

  it('counts a symbolic link as a file holding its target text, and ignores folders', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-h1-'));
    await mkdir(path.join(dir, 'empty'));
    await writeFile(path.join(dir, 'abc'), 'data for abc');
    await symlink('abc', path.join(dir, 'link'));
    expect(await hashTree(dir)).toBe(
      hash1([
        ['abc', sha256Hex('data for abc')],
        ['link', sha256Hex('abc')],
      ]),
    );
  });
});
