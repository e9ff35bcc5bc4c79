import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy, type ProxyServer } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, makeSandbox, runCli, useEmulator } from '../helpers.js';

const CONSUMER = { key: 'proxy-key', secret: 'proxy-consumer-secret-0123', callbackUrl: 'http://127.0.0.1', private: true };
let emulator: Emulator;
useEmulator({ repos: TEST_REPOS, bearerTokens: [TEST_TOKEN], oauth: { consumers: [CONSUMER] } }, (started) => (emulator = started));

/** A real forwarding proxy (the one the proxy-agent packages test with), recording what it forwards. */
let proxy: ProxyServer;
let proxyUrl: string;
const forwarded: string[] = [];
beforeAll(async () => {
  proxy = createProxy(createServer());
  proxy.on('request', (request: IncomingMessage) => forwarded.push(request.url ?? ''));
  proxy.on('connect', (request: IncomingMessage) => forwarded.push(`CONNECT ${request.url ?? ''}`));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

describe('HTTP_PROXY / HTTPS_PROXY / NO_PROXY', () => {
  it('sends API, archive and OAuth requests through the proxy, and none when NO_PROXY names the host', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    forwarded.length = 0;
    const installed = await runCli(['install'], { sandbox, emulator, env: { ...TOKEN_ENV, HTTP_PROXY: proxyUrl } });
    expect(installed.code).toBe(0);
    expect(forwarded.some((url) => url.startsWith(`${emulator.apiUrl}/2.0/repositories/acme/utils/refs/tags/v1.4.0`))).toBe(true);
    expect(forwarded.some((url) => url.startsWith(`${emulator.webUrl}/acme/utils/get/`))).toBe(true);
    // OAuth goes through fetch (undici): through the same proxy, as a CONNECT tunnel.
    const login = await runCli(['login', '--client-credentials'], {
      sandbox,
      emulator,
      env: { http_proxy: proxyUrl, BITBUCKET_CLIENT_ID: CONSUMER.key, BITBUCKET_CLIENT_SECRET: CONSUMER.secret, NPKG_CREDENTIAL_STORE: 'file' },
    });
    expect(login.code).toBe(0);
    expect(forwarded).toContain(`CONNECT ${new URL(emulator.webUrl).host}`);
    forwarded.length = 0;
    const bypassed = await runCli(['update'], { sandbox, emulator, env: { ...TOKEN_ENV, HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } });
    expect(bypassed.code).toBe(0);
    expect(forwarded).toEqual([]);
  });

  it('reports a proxy that does not answer without its password', async () => {
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });
    const result = await runCli(['install', '--retries', '0', '--verbose'], { sandbox, emulator, env: { ...TOKEN_ENV, HTTP_PROXY: 'http://user:proxy-password-42@127.0.0.1:9' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/network error talking to 127\.0\.0\.1:\d+ through the proxy 127\.0\.0\.1:9: ECONNREFUSED/);
    expect(result.stderr + result.stdout).not.toContain('proxy-password-42');
  });
});
