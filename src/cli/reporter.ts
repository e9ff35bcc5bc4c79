import type { Ora } from 'ora';
import { NpkgError } from '../util/errors.js';
import type { InstallEvents, ModuleResult } from '../install/install.js';

export interface ReporterOptions {
  verbose: boolean;
  quiet: boolean;
  /** Spinners on stderr: only when it is a TTY and neither --json, --quiet nor --no-progress. */
  progress: boolean;
}

/** Turns library events into stderr lines and an ora spinner; the library itself never prints. */
export class Reporter {
  private spinner: Ora | undefined;
  private readonly active = new Map<string, number>();
  private done = 0;
  private total = 0;
  /** Set while the user has to read or answer something: the spinner neither spins nor redraws. */
  private paused = false;

  constructor(private readonly options: ReporterOptions) {}

  async start(): Promise<void> {
    if (!this.options.progress) return;
    const { default: ora } = await import('ora');
    this.spinner = ora({ stream: process.stderr, text: 'reading modules.json' }).start();
  }

  events(): InstallEvents {
    return {
      plan: (total) => {
        this.total = total;
        this.render();
      },
      moduleStart: (name) => {
        this.active.set(name, 0);
        this.render();
      },
      bytes: (name, bytes) => {
        this.active.set(name, (this.active.get(name) ?? 0) + bytes);
        this.render();
      },
      moduleDone: (result) => {
        this.active.delete(result.name);
        this.done++;
        this.render();
      },
      warning: (message) => this.line(`warning: ${message}`, !this.options.quiet),
      retry: (message) => this.line(message, this.options.verbose),
      debug: (line) => this.line(line, this.options.verbose),
      waiting: (message) => this.line(message, !this.options.quiet),
    };
  }

  stop(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }

  /**
   * Runs `work` with the spinner off the screen: a prompt or a URL that waits
   * for the user must not be redrawn over (the login that install starts itself).
   */
  async aside<T>(work: () => Promise<T>): Promise<T> {
    if (this.spinner === undefined || this.paused) return work();
    this.paused = true;
    this.spinner.stop();
    try {
      return await work();
    } finally {
      this.paused = false;
      this.spinner?.start();
    }
  }

  private line(text: string, show: boolean): void {
    if (!show) return;
    const drawn = this.paused ? undefined : this.spinner;
    drawn?.clear();
    process.stderr.write(`npkg: ${text}\n`);
    drawn?.render();
  }

  private lastRender = 0;

  private render(): void {
    if (this.spinner === undefined || this.paused) return;
    const now = Date.now();
    if (now - this.lastRender < 80) return;
    this.lastRender = now;
    const bytes = [...this.active.values()].reduce((sum, value) => sum + value, 0);
    const names = [...this.active.keys()].slice(0, 3).join(', ');
    this.spinner.text = `${this.done}/${this.total} modules${names ? `: ${names}` : ''}${bytes ? ` (${formatBytes(bytes)})` : ''}`;
  }
}

/** Cells in columns as wide as their widest cell, two spaces apart. */
export function columns(lines: string[][]): string {
  if (lines.length === 0) return '';
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  return `${lines.map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** One line per module for humans, e.g. `+ utils v1.4.0 1a2b3c4d5e6f (downloaded)`. */
export function formatResult(result: ModuleResult): string {
  const mark = { downloaded: '+', cached: '+', unchanged: '=', removed: '-', failed: '!' }[result.action];
  const commit = result.commit ? ` ${result.commit.slice(0, 12)}` : '';
  const ref = result.ref ? ` ${result.ref}` : '';
  return `${mark} ${result.name}${ref}${commit} (${result.action})`;
}

export function printError(error: unknown, verbose: boolean, prefix = 'npkg'): void {
  if (error instanceof NpkgError) {
    process.stderr.write(`${prefix}: ${error.message}\n`);
    if (verbose) for (const line of errorDetail(error)) process.stderr.write(`  ${line}\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${prefix}: unexpected error: ${message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
}

/** The --verbose lines of an error: its detail and its cause chain. */
export function errorDetail(error: NpkgError): string[] {
  const lines = error.detail.filter((line) => line !== '');
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    lines.push(`caused by: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines;
}
