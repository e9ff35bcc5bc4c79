import { gzipSync } from 'node:zlib';

/** One raw tar entry, for crafting the hostile archives no git repository would produce. */
export interface RawEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

const TYPE_FLAGS = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, type: string, size: number, mode: number, linkname: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100);
  block.write(octal(0, 8), 108);
  block.write(octal(0, 8), 116);
  block.write(octal(size, 12), 124);
  block.write(octal(1_700_000_000, 12), 136);
  block.write('        ', 148);
  block.write(type, 156);
  block.write(linkname, 157, 100, 'utf8');
  block.write('ustar\0', 257);
  block.write('00', 263);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7), 148);
  return block;
}

/** A pax extended header carrying a long path (for names over 100 bytes). */
function paxPath(name: string): Buffer[] {
  let record = '';
  const body = ` path=${name}\n`;
  for (let length = body.length + 1; ; length++) {
    record = `${length}${body}`;
    if (Buffer.byteLength(record) === length) break;
  }
  const data = Buffer.from(record);
  return [header('PaxHeader', 'x', data.length, 0o644, ''), pad(data)];
}

function pad(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}

/** A .tar.gz of the given entries, in order, exactly as written. */
export function craftTarGz(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = TYPE_FLAGS[entry.type ?? 'file'];
    const data = Buffer.from(entry.content ?? '');
    if (Buffer.byteLength(entry.name) > 100) blocks.push(...paxPath(entry.name));
    blocks.push(header(entry.name.slice(0, 100), type, type === '0' ? data.length : 0, entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644), entry.linkname ?? ''));
    if (type === '0' && data.length > 0) blocks.push(pad(data));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}
