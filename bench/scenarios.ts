import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Emulator } from '../test/emulator/server.js';
import type { Command } from './measure.js';
import { timeCommand } from './measure.js';

export const TOKEN = 'bench-token-0123456789abcdef';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'npkg.js');

/** Folders of the previous run, removed before the next one so a full bench fits on a small disk. */
const scratch: string[] = [];
async function freshDir(): Promise<string> {
  while (scratch.length > 0) await rm(scratch.pop()!, { recursive: true, force: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-bench-'));
  scratch.push(dir);
  return dir;
}

/** A project with a manifest and, after `create`, the lockfile of a first install. */
export class BenchProject {
  private lockText = '';
  private commits = new Map<string, string>();
  private warmCache = '';
  private project = '';

  private constructor(
    private readonly emulator: Emulator,
    private readonly modules: Record<string, { repo: string; ref: string }>,
  ) {}

  /** A Data Center emulator (its `datacenter` option) is reached through its site URL, with no API URL. */
  private get datacenter(): boolean {
    return this.emulator.datacenter !== undefined;
  }

  static async create(emulator: Emulator, modules: Record<string, { repo: string; ref: string }>): Promise<BenchProject> {
    const bench = new BenchProject(emulator, modules);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-bench-template-'));
    bench.warmCache = path.join(dir, 'cache');
    await bench.writeProject(dir, false);
    await timeCommand(bench.command(dir, bench.warmCache, []));
    bench.lockText = await readFile(path.join(dir, 'modules.lock.json'), 'utf8');
    const lock = JSON.parse(bench.lockText) as { modules: Record<string, { commit: string }> };
    for (const [name, entry] of Object.entries(lock.modules)) bench.commits.set(name, entry.commit);
    await rm(path.join(dir, 'vendor'), { recursive: true, force: true });
    return bench;
  }

  env(cacheDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      ...extra,
      PATH: process.env.PATH,
      HOME: os.tmpdir(),
      ...(this.datacenter
        ? { BITBUCKET_URL: this.emulator.siteUrl, BITBUCKET_KIND: 'datacenter' }
        : { BITBUCKET_URL: this.emulator.webUrl, BITBUCKET_API_URL: this.emulator.apiUrl }),
      BITBUCKET_TOKEN: TOKEN,
      NPKG_CACHE_DIR: cacheDir,
      NPKG_CONFIG_DIR: path.join(os.tmpdir(), 'npkg-bench-config'),
    };
  }

  private command(project: string, cacheDir: string, extra: string[], env: Record<string, string> = {}): Command {
    return { file: process.execPath, args: [BIN, 'install', '-q', '-C', project, ...extra], env: this.env(cacheDir, env) };
  }

  private async writeProject(dir: string, withLock: boolean): Promise<void> {
    await writeFile(path.join(dir, 'modules.json'), `${JSON.stringify({ modules: this.modules }, null, 2)}\n`);
    if (withLock) await writeFile(path.join(dir, 'modules.lock.json'), this.lockText);
  }

  /** A new project folder (and cache folder) for one timed install. */
  async freshInstallCommand(options: { lock: boolean; cache: 'empty' | 'warm'; offline?: boolean; env?: Record<string, string> }): Promise<Command> {
    const dir = await freshDir();
    const project = path.join(dir, 'project');
    await mkdir(project);
    await this.writeProject(project, options.lock);
    const cacheDir = options.cache === 'warm' ? this.warmCache : path.join(dir, 'cache');
    return this.command(project, cacheDir, options.offline ? ['--offline'] : [], options.env);
  }

  /** Installs once into a project kept for no-op runs. */
  async installFresh(options: { keepCache: boolean }): Promise<void> {
    this.project = await mkdtemp(path.join(os.tmpdir(), 'npkg-bench-noop-'));
    await this.writeProject(this.project, true);
    await timeCommand(this.command(this.project, options.keepCache ? this.warmCache : path.join(this.project, '.cache'), []));
  }

  noopCommand(): Command {
    return this.command(this.project, path.join(this.project, '.cache'), []);
  }

  archiveUrls(): string[] {
    return Object.entries(this.modules).map(([name, spec]) => {
      const [key, slug] = spec.repo.split('/') as [string, string];
      const commit = this.commits.get(name)!;
      return this.datacenter
        ? `${this.emulator.siteUrl}/rest/api/latest/projects/${key.toUpperCase()}/repos/${slug}/archive?at=${commit}&format=tar.gz`
        : `${this.emulator.webUrl}/${spec.repo}/get/${commit}.tar.gz`;
    });
  }

  cachedArchive(): string {
    const [name, spec] = Object.entries(this.modules)[0]!;
    return path.join(this.warmCache, 'archives', ...spec.repo.split('/'), `${this.commits.get(name)}.tar.gz`);
  }
}

const shellEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...extra });

/** What the old scripts did: `curl -sfL URL | tar -xz`. Values reach the shell as variables, never as code. */
export async function curlTar(url: string): Promise<Command> {
  const dest = await freshDir();
  return {
    file: 'sh',
    args: ['-c', 'curl -sfL -H "Authorization: Bearer $TOKEN" "$URL" | tar -xz -C "$DEST"'],
    env: shellEnv({ TOKEN, URL: url, DEST: dest }),
  };
}

export async function curlLoop(urls: string[]): Promise<Command> {
  const dest = await freshDir();
  const script = 'i=0; for u in $URLS; do i=$((i+1)); mkdir -p "$DEST/$i"; curl -sfL -H "Authorization: Bearer $TOKEN" "$u" | tar -xz -C "$DEST/$i" || exit 1; done';
  return { file: 'sh', args: ['-c', script], env: shellEnv({ TOKEN, URLS: urls.join(' '), DEST: dest }) };
}

export async function tarExtract(archive: string): Promise<Command> {
  const dest = await freshDir();
  return { file: 'tar', args: ['-xzf', archive, '-C', dest] };
}

/** giget over the same archive URLs, one after another; undefined when giget is not installed. */
export async function gigetLoop(urls: string[]): Promise<Command | undefined> {
  const giget = path.join(ROOT, 'node_modules', '.bin', 'giget');
  if (!existsSync(giget)) return undefined;
  const dest = await freshDir();
  const script = 'i=0; for u in $URLS; do i=$((i+1)); "$GIGET" "$u" "$DEST/$i" --force >/dev/null || exit 1; done';
  return { file: 'sh', args: ['-c', script], env: shellEnv({ GIGET: giget, GIGET_AUTH: TOKEN, URLS: urls.join(' '), DEST: dest, HOME: os.tmpdir() }) };
}

