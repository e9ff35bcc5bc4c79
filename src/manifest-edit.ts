import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './json-file.js';

/** The layout of a JSON file as its author wrote it: indentation and final newline. */
export interface JsonLayout {
  indent: string | number;
  finalNewline: boolean;
}

/** Reads the indentation (tab, 2 or 4 spaces, ...) from the first indented line. */
export function detectLayout(text: string): JsonLayout {
  const indent = /^[ \t]+(?=\S)/m.exec(text)?.[0] ?? '  ';
  return { indent: indent.startsWith('\t') ? '\t' : indent.length, finalNewline: text.endsWith('\n') };
}

export function formatWithLayout(value: unknown, layout: JsonLayout): string {
  return `${JSON.stringify(value, null, layout.indent)}${layout.finalNewline ? '\n' : ''}`;
}

/**
 * Changes modules.json in place: key order, indentation and the final
 * newline (or its absence) stay as they were; written by rename.
 */
export async function editManifestFile(file: string, change: (data: Record<string, unknown>) => void): Promise<void> {
  const text = await readFile(file, 'utf8');
  const data = JSON.parse(text) as Record<string, unknown>;
  change(data);
  await writeFileAtomic(file, formatWithLayout(data, detectLayout(text)));
}
