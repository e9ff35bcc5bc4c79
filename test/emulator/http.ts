/** The generic part of every emulated host: a loopback server on port 0 that logs each request, waits, and draws faults. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultList } from './faults.js';
import type { LoggedRequest, ServerName } from './types.js';

export type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export interface HostContext {
  requests: LoggedRequest[];
  faults: FaultList;
  /** Read at each request: benchmarks change it while running. */
  latencyMs: () => number | undefined;
  /** Base URL of the host whose sign-in page a `signin` fault redirects to. */
  signinUrl: () => string;
}

/** A server named `name` in the request log, running `handler` unless a fault answers first. */
export function createHost(name: ServerName, context: HostContext, handler: Handler): Server {
  return createServer((request, response) => {
    context.requests.push({ server: name, method: request.method ?? 'GET', url: request.url ?? '/', headers: { ...request.headers } });
    const run = async () => {
      const latency = context.latencyMs();
      if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
      if (context.faults.apply(name, request.url ?? '/', response, context.signinUrl)) return;
      await handler(request, response);
    };
    run().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`emulator error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
}

/** Listens on 127.0.0.1, port 0; resolves to the base URL. */
export function listen(server: Server): Promise<string> {
  return new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

export async function closeHost(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
