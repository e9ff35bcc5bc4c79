import { createReadStream } from 'node:fs';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';

/** A fault that spoils a real answer rather than replacing it. */
export type BodyFault = 'truncate' | 'stall';

/**
 * Writes one response, spoiled by `fault` when given: every answer goes
 * through here so that a truncate or stall fault hits JSON, HTML and
 * archives alike, with the headers the real answer would have had.
 */
export class Reply {
  constructor(
    private readonly response: ServerResponse,
    private readonly fault: BodyFault | undefined,
  ) {}

  json(status: number, value: unknown): Promise<void> {
    return this.send(status, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(value));
  }

  /** Bitbucket's error shape: `{"type": "error", "error": {"message"}}`. */
  jsonError(status: number, message: string): Promise<void> {
    return this.json(status, { type: 'error', error: { message } });
  }

  html(status: number, title: string, text: string): Promise<void> {
    const [safeTitle, safeText] = [escapeHtml(title), escapeHtml(text)];
    const page = `<!DOCTYPE html>\n<html><head><title>${safeTitle}</title></head><body><h1>${safeTitle}</h1><p>${safeText}</p></body></html>\n`;
    return this.send(status, { 'content-type': 'text/html; charset=utf-8' }, page);
  }

  text(status: number, text: string, headers: OutgoingHttpHeaders = {}): Promise<void> {
    return this.send(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }, text);
  }

  redirect(location: string): Promise<void> {
    return this.send(302, { location }, '');
  }

  async send(status: number, headers: OutgoingHttpHeaders, body: string | Buffer): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.response.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
    if (this.fault === 'stall') return this.stall();
    if (this.fault === 'truncate') return this.truncate([bytes.subarray(0, Math.floor(bytes.length / 2))]);
    await new Promise<void>((resolve) => this.response.end(bytes, resolve));
  }

  /** Streams `file` of `size` bytes from disk. */
  async file(status: number, headers: OutgoingHttpHeaders, file: string, size: number): Promise<void> {
    this.response.writeHead(status, { ...headers, 'content-length': String(size) });
    const half = Math.floor(size / 2);
    if (this.fault === 'stall') return this.stall();
    if (this.fault === 'truncate') return this.truncate(half > 0 ? createReadStream(file, { end: half - 1 }) : []);
    await pipeline(createReadStream(file), this.response);
  }

  private stall(): void {
    // Headers reach the client; the body never comes (close() ends the socket).
    this.response.flushHeaders();
  }

  private async truncate(chunks: AsyncIterable<Buffer> | Buffer[]): Promise<void> {
    this.response.flushHeaders();
    for await (const chunk of chunks) {
      // Wait for each write to be handed to the socket, so the client really receives this part.
      await new Promise<void>((resolve, reject) => this.response.write(chunk, (error) => (error ? reject(error) : resolve())));
    }
    this.response.destroy();
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
