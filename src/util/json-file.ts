import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { open, rename, rm } from 'node:fs/promises';
import { NpkgError, type ErrorCode } from './errors.js';

/**
 * A suffix that makes a temporary name unique enough: files are created with
 * 'wx' (or mkdir), so a clash fails instead of clobbering. Not node:crypto,
 * whose load would delay a plain install's first request.
 */
export function tempSuffix(): string {
  return `${process.pid.toString(36)}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** JSON.parse, but a syntax error names the file with line and column, on one line. */
export function parseJsonWithPosition(text: string, file: string, code: ErrorCode, advice = ''): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const { offset, reason } = locateSyntaxError(text) ?? { offset: text.length, reason: 'not valid JSON' };
    const { line, column } = lineAndColumn(text, offset);
    throw new NpkgError(code, `${file}:${line}:${column}: invalid JSON: ${reason}${advice}`, { cause: error });
  }
}

/**
 * Where JSON text first goes wrong, by jsonc-parser in strict mode (Node's
 * own message often has no position). Loaded only when a file is broken.
 */
function locateSyntaxError(text: string): { offset: number; reason: string } | undefined {
  const jsonc = createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser');
  const errors: import('jsonc-parser').ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return undefined;
  const words = jsonc.printParseErrorCode(first.error).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const token = text.slice(first.offset, first.offset + Math.min(first.length, 30));
  return { offset: first.offset, reason: token.trim() === '' ? words : `${words} at ${JSON.stringify(token)}` };
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}

/**
 * Writes a file by write-then-rename, so readers see the old or the new
 * content, never a mix. `durable` adds an fsync for files that must survive
 * a power cut (lockfile, manifest); a process kill needs none.
 */
export async function writeFileAtomic(file: string, content: string, options: { durable?: boolean; mode?: number } = {}): Promise<void> {
  const temp = `${file}.${tempSuffix()}.tmp`;
  const handle = await open(temp, 'wx', options.mode ?? 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    if (options.durable ?? true) await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** writeFileAtomic without fsync, synchronously: for a small file written often (the vendor state). */
export function writeFileAtomicSync(file: string, content: string): void {
  const temp = `${file}.${tempSuffix()}.tmp`;
  writeFileSync(temp, content, { flag: 'wx', mode: 0o644 });
  try {
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Two-space JSON with a final newline, as npm writes its files. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** JSON.parse, or undefined for text that is not JSON (a server's HTML error page). */
export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}
