import { randomBytes } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
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

/**
 * A real source tree: the folder `root` (the checkout's own `node_modules`),
 * `.bin` folders left out, as one repository. Thousands of small files,
 * symbolic links and deep folders: what real repositories are made of.
 */
export async function sourceTreeRepo(root: string): Promise<{ fixture: RepoFixture; files: number; bytes: number }> {
  const tree: RepoFixture['commits'][number]['files'] = {};
  let bytes = 0;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name === '.bin' || entry.name === '.git') continue;
      const full = path.join(dir, entry.name);
      const name = `${prefix}${entry.name}`;
      if (entry.isDirectory()) await walk(full, `${name}/`);
      else if (entry.isSymbolicLink()) tree[name] = { symlink: await readlink(full) };
      else if (entry.isFile()) {
        const content = await readFile(full);
        bytes += content.length;
        tree[name] = { content, mode: ((await lstat(full)).mode & 0o111) !== 0 ? 0o755 : 0o644 };
      }
    }
  };
  await walk(root, 'node_modules/');
  return { fixture: { repo: 'bench/source-tree', commits: [{ files: tree, tags: ['v1.0.0'] }] }, files: Object.keys(tree).length, bytes };
}
