import { randomBytes } from 'node:crypto';
import type { RepoFixture } from '../test/emulator/git-fixtures.js';

/** One repository holding `files` files of `fileMb` MB of random (incompressible) bytes. */
export function bigRepo(files: number, fileMb: number): RepoFixture {
  const tree: RepoFixture['commits'][number]['files'] = {};
  for (let index = 0; index < files; index++) tree[`data/blob-${index}.bin`] = { content: randomBytes(fileMb * 1024 * 1024) };
  tree['README.md'] = `${files} files of ${fileMb} MB of random bytes\n`;
  return { repo: 'bench/big', commits: [{ files: tree, tags: ['v1.0.0'] }] };
}

/** `count` repositories of about `kb` KB each: one random file and a few small ones. */
export function smallRepos(count: number, kb: number): RepoFixture[] {
  return Array.from({ length: count }, (_, index) => ({
    repo: `bench/mod-${String(index + 1).padStart(2, '0')}`,
    commits: [
      {
        files: {
          'README.md': `module ${index + 1}\n`,
          'src/index.js': `export const id = ${index + 1};\n`,
          'assets/blob.bin': { content: randomBytes(kb * 1024) },
        },
        tags: ['v1.0.0'],
      },
    ],
  }));
}
