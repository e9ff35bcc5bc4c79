import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from './emulator/server.js';

const BIN = fileURLToPath(new URL('../bin/npkg.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  dir: string;
  project: string;
  configDir: string;
  cacheDir: string;
}

/** A fresh project folder with its own config and cache folders. */
export async function makeSandbox(manifest?: unknown): Promise<Sandbox> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'npkg-e2e-'));
  const sandbox = { dir, project: path.join(dir, 'project'), configDir: path.join(dir, 'config'), cacheDir: path.join(dir, 'cache') };
  await import('node:fs/promises').then(({ mkdir }) => mkdir(sandbox.project));
  if (manifest !== undefined) await writeManifest(sandbox, manifest);
  return sandbox;
}

export async function writeManifest(sandbox: Sandbox, manifest: unknown): Promise<void> {
  const text = typeof manifest === 'string' ? manifest : `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(path.join(sandbox.project, 'modules.json'), text);
}

/**
 * Runs the real CLI as a user would. The environment is built explicitly
 * (never inherited) so CI=true or a developer's token cannot leak in.
 */
export function runCli(
  args: string[],
  options: { sandbox: Sandbox; emulator?: Emulator; env?: Record<string, string>; cwd?: string; /** Another npkg, such as an installed package's. */ bin?: string },
): Promise<CliResult> {
  const env = cliEnv(options);
  return new Promise((resolve) => {
    execFile(process.execPath, [options.bin ?? BIN, ...args], { cwd: options.cwd ?? options.sandbox.project, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The CLI's whole environment: the sandbox's folders, the emulator's URLs, and the test's extras. */
function cliEnv(options: { sandbox: Sandbox; emulator?: Emulator; env?: Record<string, string> }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: options.sandbox.dir,
    NPKG_CONFIG_DIR: options.sandbox.configDir,
    NPKG_CACHE_DIR: options.sandbox.cacheDir,
    ...(options.emulator ? { BITBUCKET_URL: options.emulator.webUrl, BITBUCKET_API_URL: options.emulator.apiUrl } : {}),
    ...options.env,
  };
}

/** The bearer token the shared test emulator accepts, and the environment that carries it. */
export const TEST_TOKEN = 'test-token-0123456789abcdef';
export const TOKEN_ENV = { BITBUCKET_TOKEN: TEST_TOKEN };

/** One emulator for a test file: started before its tests, closed after them. */
export function useEmulator(options: EmulatorOptions, started: (emulator: Emulator) => void): void {
  let emulator: Emulator | undefined;
  beforeAll(async () => {
    emulator = await startEmulator(options);
    started(emulator);
  });
  afterAll(async () => {
    await emulator?.close();
  });
}

export interface RunningCli {
  /** Resolves with the first stderr line matching `pattern`. */
  waitForLine(pattern: RegExp): Promise<string>;
  write(text: string): void;
  kill(signal: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

/** Process groups of CLIs started by startCli and still running. */
const running = new Set<number>();

// A test that failed half-way leaves nothing running (a CLI held in a system call by strace, say).
afterEach(() => {
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  running.clear();
});

/**
 * Waits for a state of the file system or the emulator, polling; fails after
 * `timeoutMs`, or as soon as `cli` (when given) ends first.
 */
export async function waitUntil(reached: () => Promise<boolean> | boolean, options: { cli?: RunningCli; timeoutMs?: number } = {}): Promise<void> {
  let ended = false;
  void options.cli?.done.then(() => (ended = true));
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (!(await reached())) {
    if (ended) throw new Error(`the CLI ended before the awaited moment: ${(await options.cli!.done).stderr}`);
    if (Date.now() > deadline) throw new Error('the awaited moment did not come');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Starts the CLI and lets the test talk to it while it runs (a login, playing the browser). */
export function startCli(
  args: string[],
  options: { sandbox: Sandbox; emulator?: Emulator; env?: Record<string, string>; /** A command the CLI runs under, such as strace. */ under?: string[] },
): RunningCli {
  const env = cliEnv(options);
  const [command, ...commandArgs] = [...(options.under ?? []), process.execPath, BIN, ...args] as [string, ...string[]];
  // Its own process group, so that a kill reaches the CLI and whatever it runs under.
  const child = spawn(command, commandArgs, { cwd: options.sandbox.project, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of [...waiters]) {
      const line = stderr.split('\n').find((candidate) => waiter.pattern.test(candidate));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr })));
  running.add(child.pid!);
  void done.then(() => running.delete(child.pid!));
  return {
    waitForLine: (pattern) =>
      new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void done.then(() => reject(new Error(`the CLI ended without printing ${pattern}: ${stderr}`)));
      }),
    write: (text) => {
      child.stdin.write(text);
      child.stdin.end();
    },
    kill: (signal) => process.kill(-child.pid!, signal),
    done,
  };
}

/**
 * Hash1 computed here independently of src/dirhash.ts: from a folder that
 * `tar` extracted, or from any tree, following the SPEC's definition.
 */
export async function independentHash1(root: string): Promise<string> {
  const lines: string[] = [];
  async function walk(relative: string): Promise<void> {
    for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(rel);
      else {
        const content = entry.isSymbolicLink() ? Buffer.from(await readlink(path.join(root, rel))) : await readFile(path.join(root, rel));
        lines.push(`${createHash('sha256').update(content).digest('hex')}  ${rel}\n`);
      }
    }
  }
  await walk('');
  lines.sort((a, b) => Buffer.compare(Buffer.from(a.slice(66)), Buffer.from(b.slice(66))));
  return `h1:${createHash('sha256').update(lines.join('')).digest('base64')}`;
}

/** Lists a tree as `path mode-or-link` lines, for comparing two trees. */
export async function describeTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const { lstat } = await import('node:fs/promises');
  async function walk(relative: string): Promise<void> {
    for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      const full = path.join(root, rel);
      if (entry.isDirectory()) await walk(rel);
      else if (entry.isSymbolicLink()) out.push(`${rel} -> ${await readlink(full)}`);
      else {
        const stats = await lstat(full);
        const hash = createHash('sha256').update(await readFile(full)).digest('hex').slice(0, 16);
        out.push(`${rel} ${stats.mode & 0o111 ? 'x' : '-'} ${hash}`);
      }
    }
  }
  await walk('');
  return out.sort();
}

/** Extracts a commit of a fixture repo with real git and tar, as the reference tree. */
export function gitTree(repoDir: string, commit: string, dest: string, subpath?: string): Promise<void> {
  const git = spawn('git', ['-C', repoDir, 'archive', '--format=tar', commit, ...(subpath ? [subpath] : [])]);
  const tar = spawn('tar', ['-x', '-C', dest]);
  git.stdout.pipe(tar.stdin);
  const done = (child: ReturnType<typeof spawn>, name: string) =>
    new Promise<void>((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited ${code}`)))));
  return Promise.all([done(git, 'git archive'), done(tar, 'tar')]).then(() => undefined);
}

export function parseJson<T = unknown>(text: string): T {
  return JSON.parse(text) as T;
}
