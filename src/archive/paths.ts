import { NpkgError } from '../util/errors.js';

/** Where an archive entry lands in the module: a relative `/` path, or undefined to skip it. */
export type MappedPath = { kind: 'skip' } | { kind: 'root' } | { kind: 'entry'; path: string };

/**
 * Maps archive paths to module paths: strips the single top folder
 * (`{ws}-{slug}-{hash12}/`), keeps only `subpath` when given, and refuses
 * anything that could land outside the module (`..`, absolute paths).
 */
export class ArchivePathMapper {
  private top: string | undefined;
  private readonly sub: string[];
  subpathSeen = false;

  constructor(
    private readonly label: string,
    subpath?: string,
  ) {
    this.sub = subpath === undefined ? [] : subpath.split('/');
  }

  map(raw: string): MappedPath {
    if (raw.startsWith('/') || raw.includes('\\') || raw.includes('\0')) throw this.hostile(`unsafe path ${JSON.stringify(raw)}`);
    const segments = raw.split('/').filter((segment) => segment !== '');
    if (segments.includes('..')) throw this.hostile(`path ${JSON.stringify(raw)} climbs out of its folder`);
    // git archive never writes a "." segment: an archive holding one was made by something else.
    if (segments.includes('.')) {
      throw this.hostile(`path ${JSON.stringify(raw)} has a "." segment, which no git archive writes`);
    }
    const [top, ...rest] = segments;
    if (top === undefined) return { kind: 'skip' };
    if (this.top === undefined) this.top = top;
    else if (top !== this.top) throw this.hostile(`entry ${JSON.stringify(raw)} is outside the top folder ${this.top}/`);
    if (this.sub.length > 0) {
      if (!this.sub.every((segment, index) => rest[index] === segment)) return { kind: 'skip' };
      this.subpathSeen = true;
      rest.splice(0, this.sub.length);
    }
    if (rest.length === 0) return { kind: 'root' };
    return { kind: 'entry', path: rest.join('/') };
  }

  hostile(message: string): NpkgError {
    return new NpkgError('HOSTILE_ARCHIVE', `refusing the archive of ${this.label}: ${message}`);
  }
}

/**
 * Tracks every path of the tree under case folding, so that a tree is the
 * same on every file system (as Go modules require), and that nothing is
 * written below a file or a symbolic link.
 */
export class TreeIndex {
  private readonly kinds = new Map<string, { exact: string; kind: 'dir' | 'file' | 'link' }>();

  constructor(private readonly mapper: ArchivePathMapper) {}

  add(file: string, kind: 'dir' | 'file' | 'link'): void {
    const segments = file.split('/');
    for (let index = 1; index <= segments.length; index++) {
      const prefix = segments.slice(0, index).join('/');
      const isLast = index === segments.length;
      const wanted = isLast ? kind : 'dir';
      const folded = prefix.toLowerCase();
      const known = this.kinds.get(folded);
      if (known === undefined) {
        this.kinds.set(folded, { exact: prefix, kind: wanted });
        continue;
      }
      if (known.exact !== prefix) throw this.mapper.hostile(`${prefix} and ${known.exact} collide on case-insensitive file systems`);
      if (known.kind !== 'dir' || wanted !== 'dir') {
        throw this.mapper.hostile(`${prefix} appears twice (as ${known.kind} and ${wanted})`);
      }
    }
  }

  isFile(file: string): boolean {
    return this.kinds.get(file.toLowerCase())?.kind === 'file';
  }
}

/**
 * Resolves a symbolic link's target inside the module, following the
 * archive's other links, and returns false when it would leave the module.
 */
export function linkStaysInside(linkPath: string, target: string, links: ReadonlyMap<string, string>): boolean {
  if (target.startsWith('/') || target.includes('\\') || target === '') return false;
  const stack = linkPath.split('/').slice(0, -1);
  return walkTarget(stack, target, links, 0);
}

function walkTarget(stack: string[], target: string, links: ReadonlyMap<string, string>, depth: number): boolean {
  if (depth > 40) return false;
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return false;
      stack.pop();
      continue;
    }
    stack.push(segment);
    const nested = links.get(stack.join('/'));
    if (nested !== undefined) {
      if (nested.startsWith('/')) return false;
      stack.pop();
      if (!walkTarget(stack, nested, links, depth + 1)) return false;
    }
  }
  return true;
}
