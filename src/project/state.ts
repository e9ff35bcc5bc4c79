import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hasErrnoCode } from '../util/errors.js';
import { formatJson, writeFileAtomicSync } from '../util/json-file.js';

export const STATE_FILE = '.npkg-state.json';

/** What npkg installed in one vendor folder. */
export interface StateEntry {
  repo: string;
  commit: string;
  integrity: string;
  path?: string;
  /**
   * Set just before a swap and cleared after it: a kill in between leaves the
   * folder holding either tree, so the entry is not trusted as up to date.
   */
  next?: { commit: string; integrity: string };
}

/** The vendor state, updated per module and written by write-then-rename. */
export class VendorState {
  private entries: Map<string, StateEntry>;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  private constructor(
    readonly file: string,
    entries: Map<string, StateEntry>,
  ) {
    this.entries = entries;
  }

  static async load(vendorPath: string): Promise<VendorState> {
    const file = path.join(vendorPath, STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return new VendorState(file, new Map());
      throw error;
    }
    return new VendorState(file, parseState(text));
  }

  get(name: string): StateEntry | undefined {
    return this.entries.get(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Records (or, with undefined, forgets) a module; resolves once a write that includes it is done. */
  async set(name: string, entry: StateEntry | undefined): Promise<void> {
    if (entry === undefined) this.entries.delete(name);
    else this.entries.set(name, entry);
    await this.flush();
  }

  /**
   * Modules finish concurrently: one write runs at a time, and every change
   * made while it runs is carried by the single next write, not one each.
   */
  private flush(): Promise<void> {
    this.queued ??= (async () => {
      // The running write's failure was already reported to the callers waiting on it.
      await this.running?.catch(() => undefined);
      this.queued = undefined;
      this.running = this.persist();
      await this.running;
    })();
    return this.queued;
  }

  private async persist(): Promise<void> {
    const modules = Object.fromEntries([...this.entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    // Written twice per module, so no fsync: a killed process cannot lose it (the page cache
    // survives); only a power cut could leave it stale, which `npkg install --force` repairs.
    writeFileAtomicSync(this.file, formatJson({ stateVersion: 1, modules }));
  }
}

function parseState(text: string): Map<string, StateEntry> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // The state is ours, not the user's: a damaged one means "trust nothing", not a hard stop.
    if (error instanceof SyntaxError) return new Map();
    throw error;
  }
  const modules = (data as { modules?: unknown } | null)?.modules;
  if (typeof modules !== 'object' || modules === null) return new Map();
  const entries = new Map<string, StateEntry>();
  for (const [name, raw] of Object.entries(modules as Record<string, unknown>)) {
    const entry = raw as Partial<StateEntry> | null;
    if (entry && typeof entry.commit === 'string' && typeof entry.integrity === 'string' && typeof entry.repo === 'string') {
      entries.set(name, entry as StateEntry);
    }
  }
  return entries;
}
