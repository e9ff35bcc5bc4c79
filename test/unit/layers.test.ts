import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * The layers of src/, top to bottom (STYLE.md: commands → flows → domain →
 * network → errors). A file may import its own folder and any lower layer,
 * never a higher one; the entry point src/cli.ts sits above them all.
 */
const LAYERS: Record<string, number> = {
  entry: 5,
  cli: 4,
  install: 3,
  bitbucket: 2,
  archive: 2,
  auth: 2,
  project: 2,
  net: 1,
  util: 0,
};

/**
 * Imports between folders of the same layer: only these. bitbucket/client.ts
 * sends every request with a credential and asks for a fresh one when the
 * server refuses it, so it needs auth/'s Credential and CredentialProvider;
 * auth/ never needs bitbucket/ (its OAuth calls go to the web host through net/).
 */
const SIDEWAYS = new Set(['bitbucket → auth']);


const root = path.resolve(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

/** Every relative import of a file (static, dynamic, `import type`, `export … from`, `typeof import()`), as src/ paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(path.join(root, file), 'utf8'), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => path.posix.join(path.posix.dirname(file), name).replace(/\.js$/, '.ts'));
}

function layerOf(file: string): string {
  const parts = file.split('/');
  return parts.length === 2 ? 'entry' : parts[1]!;
}

const files = sourceFiles('src');
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Strongly connected components of more than one file (Tarjan), each sorted. */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string) => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, index.get(next)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.sort());
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

describe('layers of src/', () => {
  it('reads the imports it checks', () => {
    // Guards the reader itself: a parser that saw nothing would pass every rule below.
    expect(graph.get('src/cli.ts')).toContain('src/cli/registry.ts');
    expect(graph.get('src/cli/commands/install.ts')).toContain('src/install/install.ts');
    expect(files.every((file) => LAYERS[layerOf(file)] !== undefined)).toBe(true);
  });

  it('has every import resolve to a file of src/', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((target) => !graph.has(target)).map((target) => `${file} → ${target}`));
    expect(missing).toEqual([]);
  });

  it('imports only downwards, and sideways only where allowed', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file);
      for (const target of targets) {
        const to = layerOf(target);
        if (from === to || LAYERS[to]! < LAYERS[from]!) continue;
        if (LAYERS[to] === LAYERS[from] && SIDEWAYS.has(`${from} → ${to}`)) continue;
        wrong.push(`${file} → ${target} (${from} → ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles().map((component) => component.join(' '))).toEqual([]);
  });
});
