import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export type FileSpec = string | { content: string | Buffer; mode?: 0o644 | 0o755 } | { symlink: string };

export interface CommitSpec {
  files: Record<string, FileSpec>;
  tags?: string[];
  branches?: string[];
  message?: string;
}

export interface RepoFixture {
  /** `workspace/slug` */
  repo: string;
  commits: CommitSpec[];
}

export interface BuiltRepo {
  workspace: string;
  slug: string;
  dir: string;
  /** 40-hex hashes, oldest first. */
  commits: string[];
  /** When each commit was made (ISO), by hash. */
  dates: Map<string, string>;
  tags: Map<string, string>;
  /** Includes `main`, at the last commit. */
  branches: Map<string, string>;
}

const EPOCH = Date.UTC(2024, 0, 1) / 1000;

/** An environment that makes git deterministic and blind to the user's configuration. */
function gitEnv(date: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'npkg fixtures',
    GIT_AUTHOR_EMAIL: 'fixtures@npkg.invalid',
    GIT_COMMITTER_NAME: 'npkg fixtures',
    GIT_COMMITTER_EMAIL: 'fixtures@npkg.invalid',
    GIT_AUTHOR_DATE: `@${date} +0000`,
    GIT_COMMITTER_DATE: `@${date} +0000`,
  };
}

export function git(dir: string, args: string[], date = EPOCH): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', dir, ...args], { env: gitEnv(date), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Builds a real git repository whose commit hashes are the same on every machine. */
export async function buildRepo(root: string, fixture: RepoFixture): Promise<BuiltRepo> {
  const [workspace, slug] = fixture.repo.split('/') as [string, string];
  const dir = path.join(root, `${workspace}--${slug}`);
  await mkdir(dir, { recursive: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  for (const [key, value] of [
    ['core.autocrlf', 'false'],
    ['commit.gpgsign', 'false'],
    ['core.symlinks', 'true'],
    ['tag.gpgsign', 'false'],
    // Big benchmark fixtures are random bytes: compressing them only costs time.
    ['core.looseCompression', '0'],
  ]) {
    await git(dir, ['config', key!, value!]);
  }
  const built: BuiltRepo = { workspace, slug, dir, commits: [], dates: new Map(), tags: new Map(), branches: new Map() };
  for (const [index, commit] of fixture.commits.entries()) {
    const date = EPOCH + index * 3600;
    await writeTree(dir, commit.files);
    await git(dir, ['add', '-A']);
    await git(dir, ['commit', '-q', '--allow-empty', '-m', commit.message ?? `commit ${index}`], date);
    const hash = await git(dir, ['rev-parse', 'HEAD']);
    built.commits.push(hash);
    built.dates.set(hash, new Date(date * 1000).toISOString());
    for (const tag of commit.tags ?? []) {
      await git(dir, ['tag', tag, hash]);
      built.tags.set(tag, hash);
    }
    for (const branch of commit.branches ?? []) {
      await git(dir, ['branch', branch, hash]);
      built.branches.set(branch, hash);
    }
  }
  built.branches.set('main', built.commits.at(-1)!);
  return built;
}

/** Replaces the work tree (all but .git) with `files`. */
async function writeTree(dir: string, files: Record<string, FileSpec>): Promise<void> {
  const { readdir } = await import('node:fs/promises');
  for (const name of await readdir(dir)) {
    if (name !== '.git') await rm(path.join(dir, name), { recursive: true, force: true });
  }
  for (const [name, spec] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    if (typeof spec === 'object' && 'symlink' in spec) await symlink(spec.symlink, file);
    else if (typeof spec === 'string') await writeFile(file, spec, { mode: 0o644 });
    else await writeFile(file, spec.content, { mode: spec.mode ?? 0o644 });
  }
}

/** `git archive` with Bitbucket's top folder `{ws}-{slug}-{hash12}/`, gzipped: what Bitbucket serves. */
export async function gitArchiveGz(repo: BuiltRepo, commit: string, outFile: string): Promise<void> {
  const prefix = `${repo.workspace}-${repo.slug}-${commit.slice(0, 12)}/`;
  const child = spawn('git', ['-C', repo.dir, 'archive', '--format=tar', `--prefix=${prefix}`, commit], { env: gitEnv(EPOCH) });
  const exited = new Promise<void>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`git archive exited ${code}`)))),
  );
  await Promise.all([pipeline(child.stdout, createGzip(), createWriteStream(outFile)), exited]);
}
