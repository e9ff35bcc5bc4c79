import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export interface Run {
  ms: number;
  /** Peak resident memory in KB, when /usr/bin/time could measure it. */
  maxRssKb?: number;
}

export interface Command {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const TIME = '/usr/bin/time';

/** Runs a command to completion; fails loudly on a non-zero exit (a broken run must not count as fast). */
export async function timeCommand(command: Command, options: { rss?: boolean } = {}): Promise<Run> {
  const withRss = options.rss === true && existsSync(TIME);
  const rssFile = withRss ? path.join(await mkdtemp(path.join(os.tmpdir(), 'npkg-bench-rss-')), 'rss') : undefined;
  const [file, args] = withRss ? [TIME, ['-f', '%M', '-o', rssFile!, command.file, ...command.args]] : [command.file, command.args];
  const started = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(file, args, { env: command.env ?? process.env, cwd: command.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('close', (status) => resolve({ code: status, stderr: text }));
  });
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${command.file} ${command.args.join(' ')} exited ${code}: ${stderr.trim().slice(0, 500)}`);
  if (rssFile === undefined) return { ms };
  const maxRssKb = Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1));
  await rm(path.dirname(rssFile), { recursive: true, force: true });
  return { ms, maxRssKb };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface Series {
  median: number;
  min: number;
  max: number;
}

export function summarize(runs: Run[]): Series {
  const values = runs.map((run) => run.ms);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Runs the candidate and its baseline alternately, `times` each, so that a
 * noisy moment of the machine hits both alike. `prepare` resets the state
 * before each run and is not timed.
 */
export async function compare(
  times: number,
  candidate: { prepare?: () => Promise<Command>; rss?: boolean },
  baseline: { prepare?: () => Promise<Command> },
): Promise<{ candidate: Run[]; baseline: Run[] }> {
  const result = { candidate: [] as Run[], baseline: [] as Run[] };
  for (let index = 0; index < times; index++) {
    result.baseline.push(await timeCommand(await baseline.prepare!()));
    result.candidate.push(await timeCommand(await candidate.prepare!(), { rss: candidate.rss ?? false }));
  }
  return result;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}
