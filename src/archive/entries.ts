import type { ReadEntry } from 'tar';
import type { PassControl } from './extraction.js';
import type { ArchivePathMapper, TreeIndex } from './paths.js';
import type { TreeWriter } from './tree-writer.js';

/** What the entry step reads: the path rules and where the checked entries go. */
export interface EntryRules {
  label: string;
  mapper: ArchivePathMapper;
  index: TreeIndex;
  writer: TreeWriter;
  extraction: PassControl;
  warn: (message: string) => void;
}

/**
 * One archive entry: its path mapped and checked (top folder, subpath, no
 * escape, no collision), then written by type; anything else is skipped
 * with a warning. A hostile path fails the whole extraction.
 */
export function readEntry(rules: EntryRules, entry: ReadEntry): void {
  if (rules.extraction.failure !== undefined) return void entry.resume();
  try {
    const mapped = rules.mapper.map(entry.path);
    if (mapped.kind !== 'entry') return void entry.resume();
    writeEntry(rules, entry, mapped.path);
  } catch (error) {
    entry.resume();
    rules.extraction.fail(error);
  }
}

function writeEntry(rules: EntryRules, entry: ReadEntry, relative: string): void {
  const { index, label, writer, warn } = rules;
  switch (entry.type) {
    case 'Directory':
      index.add(relative, 'dir');
      writer.ensureDir(relative);
      return void entry.resume();
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      index.add(relative, 'file');
      if (relative === '.gitmodules') warn(`${label} has submodules (.gitmodules): their content is not in Bitbucket's archives`);
      return writer.writeFile(entry, relative);
    case 'SymbolicLink':
      index.add(relative, 'link');
      writer.addSymlink(relative, entry.linkpath ?? '');
      return void entry.resume();
    case 'Link':
      addHardLink(rules, relative, entry.linkpath ?? '');
      return void entry.resume();
    default:
      warn(`${label}: skipped ${relative} (${entry.type}: only files, folders and links are installed)`);
      return void entry.resume();
  }
}

/** A hard link is kept only when it points at a file already in the module. */
function addHardLink(rules: EntryRules, relative: string, linkpath: string): void {
  const target = rules.mapper.map(linkpath);
  if (target.kind === 'entry' && rules.index.isFile(target.path)) {
    rules.index.add(relative, 'file');
    rules.writer.addHardLink(relative, target.path);
  } else {
    rules.warn(`${rules.label}: hard link ${relative} points outside the module; not created`);
  }
}
