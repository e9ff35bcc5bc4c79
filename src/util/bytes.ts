/** Byte order of the UTF-8 forms (Go's string order), not UTF-16 code units: the lockfile and h1 sort by it. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
