/**
 * Real git repositories for tests, built so that every machine gets the
 * same commit hashes: fixed author, committer and dates, and a git that
 * reads no user or system configuration.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export type FileSpec = string | { content: string | Buffer; mode?: 0o644 | 0o755 } | { symlink: string };

export interface CommitSpec {
  /** The whole tree of this commit; `/` in a path makes subfolders. */
  files: Record<string, FileSpec>;
  /** Lightweight tags on this commit. */
  tags?: string[];
  /** Extra branches at this commit (`main` always ends at the last one). */
  branches?: string[];
  /** Defaults to `commit <index>`. */
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
  tags: Map<string, string>;
  /** Includes `main`, at the last commit. */
  branches: Map<string, string>;
}

/** 2024-01-01T00:00:00Z; commit i is dated i hours later. */
const FIRST_COMMIT_SECONDS = Date.UTC(2024, 0, 1) / 1000;

/** When commit `hash` of `repo` was made, as Bitbucket prints dates (`2024-01-01T02:00:00+00:00`). */
export function commitDate(repo: BuiltRepo, hash: string): string | undefined {
  const index = repo.commits.indexOf(hash);
  if (index < 0) return undefined;
  return new Date((FIRST_COMMIT_SECONDS + index * 3600) * 1000).toISOString().replace(/\.000Z$/, '+00:00');
}

/**
 * Only what git needs: inheriting HOME or GIT_DIR would let the user's
 * ignore rules, templates or hooks change what gets committed.
 */
function gitEnv(seconds: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    LC_ALL: 'C',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'npkg fixtures',
    GIT_AUTHOR_EMAIL: 'fixtures@npkg.invalid',
    GIT_COMMITTER_NAME: 'npkg fixtures',
    GIT_COMMITTER_EMAIL: 'fixtures@npkg.invalid',
    GIT_AUTHOR_DATE: `@${seconds} +0000`,
    GIT_COMMITTER_DATE: `@${seconds} +0000`,
  };
}

/** Runs git in `dir` and returns its trimmed stdout. */
export function runGit(dir: string, args: string[], seconds = FIRST_COMMIT_SECONDS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['-C', dir, ...args], { env: gitEnv(seconds), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`git ${args.join(' ')} in ${dir} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout.trim());
    });
  });
}

/** Builds `fixture` as a git repository in `{root}/{workspace}/{slug}`, which must not exist yet. */
export async function buildRepo(root: string, fixture: RepoFixture): Promise<BuiltRepo> {
  const [workspace, slug, ...rest] = fixture.repo.split('/');
  if (!workspace || !slug || rest.length > 0) throw new Error(`repo "${fixture.repo}" is not "workspace/slug"`);
  if (fixture.commits.length === 0) throw new Error(`repo "${fixture.repo}" has no commits`);
  const dir = path.join(root, workspace, slug);
  await mkdir(path.dirname(dir), { recursive: true });
  // Not recursive: each commit empties the folder, so it must be ours alone.
  await mkdir(dir);
  await runGit(dir, ['init', '-q', '-b', 'main']);
  await runGit(dir, ['config', 'core.autocrlf', 'false']);
  await runGit(dir, ['config', 'commit.gpgsign', 'false']);
  await runGit(dir, ['config', 'tag.gpgsign', 'false']);
  await runGit(dir, ['config', 'core.symlinks', 'true']);

  const built: BuiltRepo = { workspace, slug, dir, commits: [], tags: new Map(), branches: new Map() };
  for (const [index, spec] of fixture.commits.entries()) {
    const hash = await commitTree(dir, spec, index);
    built.commits.push(hash);
    for (const tag of spec.tags ?? []) {
      await runGit(dir, ['tag', tag, hash]);
      built.tags.set(tag, hash);
    }
    for (const branch of spec.branches ?? []) {
      await runGit(dir, ['branch', branch, hash]);
      built.branches.set(branch, hash);
    }
  }
  built.branches.set('main', built.commits[built.commits.length - 1]!);
  return built;
}

/** Replaces the tree with `spec.files`, commits it on main and returns the hash. */
async function commitTree(dir: string, spec: CommitSpec, index: number): Promise<string> {
  const executables = await writeTree(dir, spec.files);
  // A fresh index takes every mode from the files as they are now, not from the previous commit.
  await runGit(dir, ['read-tree', '--empty']);
  await runGit(dir, ['add', '--all', '--force', '--', '.']);
  // Set in the index as well: a filesystem without exec bits (core.filemode=false) would drop them.
  if (executables.length > 0) await runGit(dir, ['update-index', '--chmod=+x', '--', ...executables]);
  const seconds = FIRST_COMMIT_SECONDS + index * 3600;
  await runGit(dir, ['commit', '-q', '--allow-empty', '--no-verify', '-m', spec.message ?? `commit ${index}`], seconds);
  return runGit(dir, ['rev-parse', 'HEAD']);
}

/** Empties `dir` (but .git), writes `files` and returns the paths that are executable. */
async function writeTree(dir: string, files: Record<string, FileSpec>): Promise<string[]> {
  for (const name of await readdir(dir)) {
    if (name !== '.git') await rm(path.join(dir, name), { recursive: true, force: true });
  }
  const executables: string[] = [];
  for (const [name, spec] of Object.entries(files)) {
    const segments = name.split('/');
    if (name.startsWith('/') || segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment === '.git')) {
      throw new Error(`fixture path "${name}" must be relative, without empty, ".", ".." or ".git" parts`);
    }
    const file = path.join(dir, ...segments);
    await mkdir(path.dirname(file), { recursive: true });
    if (typeof spec === 'object' && 'symlink' in spec) {
      await symlink(spec.symlink, file);
      continue;
    }
    const content = typeof spec === 'string' ? spec : spec.content;
    const mode = typeof spec === 'string' ? 0o644 : (spec.mode ?? 0o644);
    await writeFile(file, content);
    // chmod, unlike writeFile's mode, ignores the umask.
    await chmod(file, mode);
    if (mode === 0o755) executables.push(name);
  }
  return executables;
}

/** `git archive` of `commit` under Bitbucket's top folder `{workspace}-{slug}-{hash12}/`, gzipped into `outFile`. */
export async function gitArchiveGz(repo: BuiltRepo, commit: string, outFile: string): Promise<void> {
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`gitArchiveGz needs a 40-hex commit, got "${commit}"`);
  const prefix = `${repo.workspace}-${repo.slug}-${commit.slice(0, 12)}/`;
  const args = ['-C', repo.dir, 'archive', '--format=tar', `--prefix=${prefix}`, commit];
  const child = spawn('git', args, { env: gitEnv(FIRST_COMMIT_SECONDS), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`git ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
  await Promise.all([pipeline(child.stdout, createGzip(), createWriteStream(outFile)), exited]);
}
