/** Fault injection: answers and broken bodies that tests ask for, drawn per request by server and path. */
import type { ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { ServerName } from './types.js';

interface FaultBase {
  server?: ServerName;
  path: RegExp;
  times: number;
}

export type Fault =
  | (FaultBase & { kind: 'status'; status: number; retryAfter?: string; body?: string; contentType?: string })
  /** A 302 to the sign-in page, as Bitbucket answers an archive request it does not accept. */
  | (FaultBase & { kind: 'signin' })
  /** Half the archive, then the connection closes cleanly: a body shorter than its Content-Length. */
  | (FaultBase & { kind: 'truncate' })
  /** Half the archive, then a TCP reset. */
  | (FaultBase & { kind: 'reset' })
  /** The archive at this many bytes per second; `chunked`: with no Content-Length, so that it streams. */
  | (FaultBase & { kind: 'drip'; bytesPerSecond: number; chunked?: boolean })
  /** Headers, then silence. */
  | (FaultBase & { kind: 'stall' });

export type BodyFault = Extract<Fault, { kind: 'truncate' | 'reset' | 'drip' }>;

/** The faults added by a test, and those drawn for responses still being sent. */
export class FaultList {
  private readonly faults: Fault[] = [];
  /** Faults that change how an archive's body is sent, for the response they were drawn for. */
  private readonly bodyFaults = new WeakMap<ServerResponse, BodyFault>();

  add(fault: Fault): void {
    this.faults.push(fault);
  }

  /**
   * Answers the request itself when a fault says so (true), or marks the
   * response for a body fault and lets the handler go on (false).
   */
  apply(server: ServerName, url: string, response: ServerResponse, signinUrl: () => string): boolean {
    const fault = this.take(server, url);
    if (fault?.kind === 'status') {
      response.writeHead(fault.status, { 'content-type': fault.contentType ?? 'text/plain', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
      response.end(fault.body ?? 'injected fault');
      return true;
    }
    if (fault?.kind === 'signin') {
      response.writeHead(302, { location: `${signinUrl()}/account/signin/?next=${encodeURIComponent(url)}` });
      response.end();
      return true;
    }
    if (fault?.kind === 'stall') {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.flushHeaders();
      return true;
    }
    if (fault?.kind === 'truncate' || fault?.kind === 'reset' || fault?.kind === 'drip') this.bodyFaults.set(response, fault);
    return false;
  }

  bodyFault(response: ServerResponse): BodyFault | undefined {
    return this.bodyFaults.get(response);
  }

  private take(server: ServerName, url: string): Fault | undefined {
    const fault = this.faults.find((candidate) => candidate.times > 0 && (candidate.server ?? server) === server && candidate.path.test(url));
    if (fault) fault.times--;
    return fault;
  }
}

/** Passes bytes on no faster than `rate` per second, in slices of a tenth of a second or less. */
export function throttle(rate: number): Transform {
  const slice = Math.max(1, Math.floor(rate / 10));
  const started = Date.now();
  let sent = 0;
  return new Transform({
    async transform(chunk: Buffer, _encoding, done) {
      for (let offset = 0; offset < chunk.length; offset += slice) {
        const piece = chunk.subarray(offset, offset + slice);
        sent += piece.length;
        const due = started + (sent / rate) * 1000;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
        this.push(piece);
      }
      done();
    },
  });
}
