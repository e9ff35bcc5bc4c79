import { readFile } from 'node:fs/promises';
import { applyEdits, findNodeAtLocation, modify, parseTree, type FormattingOptions, type JSONPath, type Node } from 'jsonc-parser';
import { writeFileAtomic } from '../util/json-file.js';

/** Sets the value at `path` (inserting keys at the end of their object), or removes it when `value` is undefined. */
export interface JsonEdit {
  path: JSONPath;
  value: unknown;
}

/** The formatting of new text, read from the file: tab or n spaces, and its line ends. */
export function detectFormatting(text: string): FormattingOptions {
  const indent = /^[ \t]+(?=\S)/m.exec(text)?.[0] ?? '  ';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  return indent.startsWith('\t') ? { insertSpaces: false, tabSize: 1, eol } : { insertSpaces: true, tabSize: indent.length, eol };
}

/**
 * Edits JSON text in place: only the edited values change; key order,
 * one-line objects, indentation, blank lines and the final newline (or its
 * absence) stay as the author wrote them.
 */
export function editJson(text: string, edits: readonly JsonEdit[]): string {
  const formattingOptions = detectFormatting(text);
  return edits.reduce(
    (current, edit) => (edit.value === undefined ? removeProperty(current, edit.path) : applyEdits(current, modify(current, edit.path, edit.value, { formattingOptions }))),
    text,
  );
}

/**
 * Cuts a property out with its comma and the space before the next one.
 * Not jsonc-parser's own removal: that reformats the enclosing object, and
 * so expands a neighbour written on one line.
 */
function removeProperty(text: string, path: JSONPath): string {
  const root = parseTree(text);
  const property = root === undefined ? undefined : findNodeAtLocation(root, path)?.parent;
  const siblings = property?.parent?.children;
  if (property === undefined || siblings === undefined) return text;
  const end = (node: Node) => node.offset + node.length;
  const index = siblings.indexOf(property);
  const object = property.parent!;
  const [from, to] =
    siblings.length === 1
      ? [object.offset + 1, end(object) - 1] // the only one: `{}` is left
      : index < siblings.length - 1
        ? [property.offset, siblings[index + 1]!.offset] // up to the next one, which takes its place
        : [end(siblings[index - 1]!), end(property)]; // the last: from the end of the one before
  return text.slice(0, from) + text.slice(to);
}

/** Edits modules.json in place (see editJson), written by rename; `plan` sees the parsed file. */
export async function editManifestFile(file: string, plan: (data: Record<string, unknown>) => JsonEdit[]): Promise<void> {
  const text = await readFile(file, 'utf8');
  await writeFileAtomic(file, editJson(text, plan(JSON.parse(text) as Record<string, unknown>)));
}
