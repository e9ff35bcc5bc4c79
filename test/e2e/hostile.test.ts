import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { craftTarGz, type RawEntry } from '../emulator/tar-builder.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, parseJson, runCli, useEmulator, type Sandbox } from '../helpers.js';

let emulator: Emulator;
useEmulator({ repos: [{ repo: 'evil/pkg', commits: [{ files: { 'x.txt': 'x\n' }, tags: ['v1.0.0'] }] }], bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

/** Serves `entries` (under Bitbucket's top folder) as the archive of evil/pkg@v1.0.0, then installs it. */
async function installCrafted(entries: RawEntry[]): Promise<{ sandbox: Sandbox; code: number; stderr: string; action: string }> {
  const commit = emulator.repos.get('evil/pkg')!.tags.get('v1.0.0')!;
  const top = `evil-pkg-${commit.slice(0, 12)}/`;
  await emulator.setArchive('evil/pkg', commit, craftTarGz(entries.map((entry) => ({ ...entry, name: entry.name.startsWith('/') ? entry.name : top + entry.name }))));
  const sandbox = await makeSandbox({ workspace: 'evil', modules: { pkg: 'v1.0.0' } });
  const result = await runCli(['install', '--json'], { sandbox, emulator, env: TOKEN_ENV });
  const action = parseJson<{ modules: Array<{ action: string }> }>(result.stdout).modules[0]!.action;
  return { sandbox, code: result.code, stderr: result.stderr, action };
}

/** Every path in the sandbox, so a test can assert nothing landed outside vendor/pkg. */
async function everything(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).filter((name) => !name.startsWith('cache') && !name.includes('.npkg-state'));
}

/*
 * Entries ahead of the hostile ones that make the archive big enough (over 2 MB, incompressible)
 * for its folders and small files to go to a thread of their own (archive/file-thread.ts): a big
 * file, then enough small ones for that thread to start and, most likely, take over part-way
 * (its unit tests cover each side of the hand-over for certain).
 */
const BIG_PREFIX: RawEntry[] = [
  { name: 'pad/big.bin', content: randomBytes(1_500_000) },
  ...Array.from({ length: 1500 }, (_, index) => ({ name: `pad/${index % 10}/${index}.bin`, content: randomBytes(1_000) })),
];

describe.each([
  ['', [] as RawEntry[]],
  [' (big archive, files written on their own thread)', BIG_PREFIX],
])('hostile archives%s', (_, prefix) => {
  it.each([
    ['an entry that climbs out with ..', [{ name: '../../escape.txt', content: 'pwned' }]],
    ['an absolute path', [{ name: '/tmp/npkg-absolute-escape.txt', content: 'pwned' }]],
    ['a file written through a symbolic link', [{ name: 'link', type: 'symlink', linkname: '../../..' }, { name: 'link/pwned.txt', content: 'pwned' }]],
    ['a hard link to a file outside', [{ name: 'hard', type: 'hardlink', linkname: '../../../etc/passwd' }]],
    ['names that collide under case folding', [{ name: 'README', content: 'a' }, { name: 'readme', content: 'b' }]],
    ['a file where a folder was', [{ name: 'a', content: 'file' }, { name: 'a/b', content: 'inside' }]],
  ] as Array<[string, RawEntry[]]>)('fails the module on %s and writes nothing outside it', async (_, entries) => {
    const { sandbox, code, stderr, action } = await installCrafted([...prefix, ...entries]);
    expect(code).toBe(1);
    expect(action).toBe('failed');
    expect(stderr).toMatch(/refusing the archive of evil\/pkg/);
    const files = await everything(sandbox.dir);
    expect(files.filter((name) => /escape|pwned/.test(name))).toEqual([]);
    await expect(lstat('/tmp/npkg-absolute-escape.txt')).rejects.toThrow(/ENOENT/);
    await expect(lstat(path.join(sandbox.project, 'vendor', 'pkg'))).rejects.toThrow(/ENOENT/);
    expect((await readdir(path.join(sandbox.project, 'vendor'))).filter((name) => name.startsWith('.npkg-staging'))).toEqual([]);
  });

  it('names a "." segment for what it is, not as a climb out', async () => {
    const { code, stderr } = await installCrafted([...prefix, { name: './a/b.txt', content: 'dot\n' }]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/path "evil-pkg-[0-9a-f]{12}\/\.\/a\/b\.txt" has a "\." segment, which no git archive writes/);
    expect(stderr).not.toMatch(/climbs out/);
  });

  it('installs without a symbolic link that leaves the module, naming it in a warning', async () => {
    const { sandbox, code, stderr } = await installCrafted([
      ...prefix,
      { name: 'ok.txt', content: 'fine\n' },
      { name: 'passwd', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'up', type: 'symlink', linkname: '../../outside' },
      { name: 'inside', type: 'symlink', linkname: 'ok.txt' },
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/symbolic link passwd -> \/etc\/passwd points outside the module; not created/);
    expect(stderr).toMatch(/symbolic link up -> \.\.\/\.\.\/outside points outside the module/);
    const vendor = path.join(sandbox.project, 'vendor', 'pkg');
    expect((await readdir(vendor)).filter((name) => name !== 'pad').sort()).toEqual(['inside', 'ok.txt']);
    expect(await readFile(path.join(vendor, 'inside'), 'utf8')).toBe('fine\n');
  });

  it('skips devices and FIFOs with a warning, and installs very long names', async () => {
    const long = `${'deep/'.repeat(30)}file-with-a-long-name.txt`;
    const { sandbox, code, stderr } = await installCrafted([
      ...prefix,
      { name: 'dev', type: 'char' },
      { name: 'disk', type: 'block' },
      { name: 'pipe', type: 'fifo' },
      { name: long, content: 'long\n' },
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/skipped dev \(CharacterDevice/);
    expect(stderr).toMatch(/skipped pipe \(FIFO/);
    expect(stderr).toMatch(/skipped disk \(BlockDevice/);
    expect((await readdir(path.join(sandbox.project, 'vendor', 'pkg'))).filter((name) => name !== 'pad')).toEqual(['deep']);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'pkg', long), 'utf8')).toBe('long\n');
  });

  it('installs archives with Git LFS pointers or .gitmodules, with a warning', async () => {
    const { code, stderr } = await installCrafted([
      ...prefix,
      { name: '.gitmodules', content: '[submodule "x"]\n' },
      { name: 'big.bin', content: 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n' },
    ]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/has submodules \(\.gitmodules\)/);
    expect(stderr).toMatch(/1 Git LFS pointer file/);
  });
});
