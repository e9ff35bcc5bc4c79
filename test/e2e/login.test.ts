import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import type { OAuthOptions } from '../emulator/cloud/oauth2.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { makeSandbox, runCli, startCli, type Sandbox } from '../helpers.js';

const CONSUMER = { key: 'consumer-key-1234', secret: 'consumer-secret-SECRETMARK-5678', callbackUrl: 'http://127.0.0.1', private: true };
const CONSUMER_ENV = { BITBUCKET_CLIENT_ID: CONSUMER.key, BITBUCKET_CLIENT_SECRET: CONSUMER.secret, NPKG_CREDENTIAL_STORE: 'file' };
let emulator: Emulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(oauth: Partial<OAuthOptions> = {}): Promise<Emulator> {
  emulator = await startEmulator({ repos: TEST_REPOS, oauth: { consumers: [CONSUMER], ...oauth } });
  return emulator;
}

/** Runs `npkg login` and plays the browser: follows the printed authorize URL to the callback. */
async function browserLogin(sandbox: Sandbox, server: Emulator, extra: string[] = []) {
  const cli = startCli(['login', '--no-browser', '--callback-url', 'http://127.0.0.1:0/callback', ...extra], { sandbox, emulator: server, env: CONSUMER_ENV });
  const url = (await cli.waitForLine(/\/site\/oauth2\/authorize\?/)).trim();
  const approved = await fetch(url, { redirect: 'manual' });
  const callback = new URL(approved.headers.get('location')!);
  const forged = new URL(callback);
  forged.searchParams.set('state', 'forged-state');
  const refused = await fetch(forged);
  const accepted = await fetch(callback);
  return { cli, result: await cli.done, refused, accepted, callback };
}

async function storedCredential(sandbox: Sandbox, server: Emulator): Promise<Record<string, unknown>> {
  const all = JSON.parse(await readFile(path.join(sandbox.configDir, 'credentials.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  return all[new URL(server.webUrl).host]!;
}

describe('npkg login (authorization code)', () => {
  it('signs in through the loopback callback, refuses a forged state, and stores the token privately', async () => {
    const server = await start();
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const { result, refused, accepted } = await browserLogin(sandbox, server, ['--verbose']);
    expect(refused.status).toBe(400);
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toMatch(/close this tab/);
    expect(result.code).toBe(0);
    expect(server.oauth!.log.pkceChallenges).toHaveLength(1);
    expect(server.oauth!.log.pkceChallenges[0]).toMatch(/^S256:/);
    const stored = await storedCredential(sandbox, server);
    expect(stored).toMatchObject({ grant: 'authorization_code', clientId: CONSUMER.key, scopes: 'repository account' });
    expect((await stat(path.join(sandbox.configDir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(sandbox.configDir)).mode & 0o777).toBe(0o700);
    for (const secret of [CONSUMER.secret, stored.accessToken, stored.refreshToken]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    const config = JSON.parse(await readFile(path.join(sandbox.configDir, 'config.json'), 'utf8'));
    expect(config).toEqual({ clientId: CONSUMER.key, callbackUrl: 'http://127.0.0.1:0/callback' });

    // The stored login now serves installs, with no variable set.
    const install = await runCli(['install'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
  });

  it('renews an expired token with the refresh token and saves the rotated one', async () => {
    const server = await start();
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await browserLogin(sandbox, server)).result.code).toBe(0);
    const before = await storedCredential(sandbox, server);
    server.oauth!.expireAll();
    const install = await runCli(['install', '--verbose'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(install.code).toBe(0);
    expect(server.oauth!.log.refreshes).toBe(1);
    const after = await storedCredential(sandbox, server);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(install.stdout + install.stderr).not.toContain(String(after.accessToken));
  });

  it('two installs in two projects sharing one expired login make exactly one refresh, and both succeed', async () => {
    const server = await start({ oldRefreshGraceMs: 0 });
    const first = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await browserLogin(first, server)).result.code).toBe(0);
    const second = { ...(await makeSandbox({ workspace: 'acme', modules: { theme: { repo: 'design-team/theme', ref: 'main' } } })), configDir: first.configDir };
    server.oauth!.expireAll();
    const env = { NPKG_CREDENTIAL_STORE: 'file' };
    const [a, b] = await Promise.all([runCli(['install'], { sandbox: first, emulator: server, env }), runCli(['install'], { sandbox: second, emulator: server, env })]);
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, '']);
    expect(server.oauth!.log.refreshes).toBe(1);
  });

  it('forgets a login whose refresh token was revoked, and exits 4 asking to log in', async () => {
    const server = await start();
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await browserLogin(sandbox, server)).result.code).toBe(0);
    server.oauth!.expireAll();
    server.oauth!.revokeRefreshTokens();
    const install = await runCli(['install'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(install.code).toBe(4);
    expect(install.stderr).toMatch(/run `npkg login`/);
    expect(JSON.parse(await readFile(path.join(sandbox.configDir, 'credentials.json'), 'utf8'))).toEqual({});
  });

  it('ends after --timeout with exit 1 and frees the port', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const cli = startCli(['login', '--no-browser', '--timeout', '1', '--callback-url', 'http://127.0.0.1:0/callback'], { sandbox, emulator: server, env: CONSUMER_ENV });
    const url = new URL((await cli.waitForLine(/\/site\/oauth2\/authorize\?/)).trim());
    const port = Number(new URL(url.searchParams.get('redirect_uri')!).port);
    const result = await cli.done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no login came back within 1 s/);
    const { createServer } = await import('node:net');
    await new Promise<void>((resolve, reject) => {
      const probe = createServer().once('error', reject).listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });
});

describe('other login modes', () => {
  it('--paste reads the redirected URL from stdin', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const cli = startCli(['login', '--paste', '--callback-url', 'http://127.0.0.1:9/callback'], { sandbox, emulator: server, env: CONSUMER_ENV });
    const url = (await cli.waitForLine(/\/site\/oauth2\/authorize\?/)).trim();
    const approved = await fetch(url, { redirect: 'manual' });
    cli.write(`${approved.headers.get('location')}\n`);
    const result = await cli.done;
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    const stored = await storedCredential(sandbox, server);
    expect(stored.grant).toBe('authorization_code');
    for (const secret of [CONSUMER.secret, stored.accessToken, stored.refreshToken]) expect(result.stdout + result.stderr).not.toContain(secret);
    const config = JSON.parse(await readFile(path.join(sandbox.configDir, 'config.json'), 'utf8'));
    expect(config).toEqual({ clientId: CONSUMER.key, callbackUrl: 'http://127.0.0.1:9/callback' });
  });

  it('--with-token stores a bearer token read from stdin', async () => {
    const server = await startEmulator({ repos: TEST_REPOS, bearerTokens: ['pasted-token-0123456789abcdef'] });
    emulator = server;
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const cli = startCli(['login', '--with-token', '--verbose'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    cli.write('pasted-token-0123456789abcdef\n');
    const login = await cli.done;
    expect(login.code).toBe(0);
    const install = await runCli(['install', '--verbose'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(install.code).toBe(0);
    // Only `npkg token` prints it, by request.
    expect(login.stdout + login.stderr + install.stdout + install.stderr).not.toContain('pasted-token-0123456789abcdef');
    const token = await runCli(['token'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(token.stdout).toBe('pasted-token-0123456789abcdef\n');
  });

  it('uses the client-credentials grant from BITBUCKET_CLIENT_ID/SECRET when nothing is stored and there is no TTY', async () => {
    const server = await start();
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0', theme: { repo: 'design-team/theme', ref: 'main' } } });
    const install = await runCli(['install', '--verbose'], { sandbox, emulator: server, env: CONSUMER_ENV });
    expect(install.code).toBe(0);
    expect(server.oauth!.log.clientCredentialGrants).toBe(1);
    expect(install.stdout + install.stderr).not.toContain(CONSUMER.secret);
    const whoami = JSON.parse((await runCli(['whoami', '--json'], { sandbox, emulator: server, env: CONSUMER_ENV })).stdout);
    expect(whoami).toMatchObject({ source: 'BITBUCKET_CLIENT_ID + BITBUCKET_CLIENT_SECRET (client credentials)', scopes: 'repository account' });
    expect(Date.parse(whoami.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('whoami names the account and the source; logout forgets the login', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    expect((await browserLogin(sandbox, server)).result.code).toBe(0);
    const whoami = await runCli(['whoami', '--json'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ displayName: 'Fixture User', source: 'stored login (credentials.json)', scopes: 'repository account' });
    const logout = await runCli(['logout', '--json'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(JSON.parse(logout.stdout)).toEqual({ host: new URL(server.webUrl).host, removed: true, store: 'credentials.json' });
    expect((await runCli(['logout'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } })).stdout).toMatch(/no stored login/);
    const after = await runCli(['whoami'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(after.code).toBe(4);
  });

  it('exits 2 naming the variables when no consumer is given and there is no TTY', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const result = await runCli(['login'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/BITBUCKET_CLIENT_ID and BITBUCKET_CLIENT_SECRET/);
  });
});

describe('npkg login --oauth1 (legacy)', () => {
  it('gets a token through the callback, stores token and secret, and signs every request', async () => {
    const server = await start();
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    const cli = startCli(['login', '--oauth1', '--no-browser', '--callback-url', 'http://127.0.0.1:0/callback'], { sandbox, emulator: server, env: CONSUMER_ENV });
    const url = (await cli.waitForLine(/\/api\/1\.0\/oauth\/authenticate\?/)).trim();
    const approved = await fetch(url, { redirect: 'manual' });
    expect((await fetch(approved.headers.get('location')!)).status).toBe(200);
    const result = await cli.done;
    expect(result.code).toBe(0);
    const stored = await storedCredential(sandbox, server);
    expect(stored).toMatchObject({ grant: 'oauth1', clientId: CONSUMER.key });
    expect(typeof stored.tokenSecret).toBe('string');
    const verifiedAtLogin = server.oauth1!.log.signaturesVerified;
    expect(verifiedAtLogin).toBe(2);
    const install = await runCli(['install'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    // One tag lookup and one archive, each signed and checked.
    expect(server.oauth1!.log.signaturesVerified).toBe(verifiedAtLogin + 2);
    expect(server.oauth1!.log.signaturesRejected).toBe(0);
    expect(result.stdout + result.stderr + install.stdout + install.stderr).not.toContain(String(stored.tokenSecret));
  });

  it('--oauth1 --paste takes the PIN the authorize page shows', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const cli = startCli(['login', '--oauth1', '--paste'], { sandbox, emulator: server, env: CONSUMER_ENV });
    const url = (await cli.waitForLine(/\/api\/1\.0\/oauth\/authenticate\?/)).trim();
    const page = await (await fetch(url)).text();
    cli.write(`${/<code id="verifier">(\w+)<\/code>/.exec(page)![1]}\n`);
    expect((await cli.done).code).toBe(0);
    expect((await storedCredential(sandbox, server)).grant).toBe('oauth1');
  });
});

describe('renewal and other grants', () => {
  it('renews a token about to expire before using it, and reads `scope` as well as `scopes`', async () => {
    // Tokens that live 10 s: past half their lifetime, npkg renews before any request.
    const server = await start({ tokenLifetimeSeconds: 10, scopeField: 'scope' });
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
    expect((await browserLogin(sandbox, server)).result.code).toBe(0);
    const stored = await storedCredential(sandbox, server);
    const { writeFile } = await import('node:fs/promises');
    // Age the stored token by six seconds instead of waiting.
    const all = JSON.parse(await readFile(path.join(sandbox.configDir, 'credentials.json'), 'utf8'));
    all[new URL(server.webUrl).host] = { ...stored, obtainedAt: Number(stored.obtainedAt) - 6000, expiresAt: Number(stored.expiresAt) - 6000 };
    await writeFile(path.join(sandbox.configDir, 'credentials.json'), JSON.stringify(all));
    expect((await storedCredential(sandbox, server)).scopes).toBe('repository account');
    const install = await runCli(['install', '--verbose'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
    expect(install.code).toBe(0);
    expect(server.oauth!.log.refreshes).toBe(1);
    // No request was refused first: the renewal came before the token was used.
    expect(server.requests.filter((request) => request.server === 'api').length).toBe(1);
  });

  it('login --client-credentials stores a token without a refresh token', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const result = await runCli(['login', '--client-credentials'], { sandbox, emulator: server, env: CONSUMER_ENV });
    expect(result.code).toBe(0);
    const stored = await storedCredential(sandbox, server);
    expect(stored.grant).toBe('client_credentials');
    expect(stored.refreshToken).toBeUndefined();
  });

  it('says what to check when the token endpoint refuses the consumer', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const result = await runCli(['login', '--client-credentials'], { sandbox, emulator: server, env: { ...CONSUMER_ENV, BITBUCKET_CLIENT_SECRET: 'not-the-secret-0123456789' } });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^npkg: Bitbucket's token endpoint answered 40\d invalid_client.*; check the consumer key and secret \(BITBUCKET_CLIENT_ID, BITBUCKET_CLIENT_SECRET, --client-id\)\n$/);
    expect(result.stderr).not.toContain('not-the-secret-0123456789');
  });

  describe('a server that refuses a client with a WWW-Authenticate challenge (RFC 6749 §5.2)', () => {
    const ADVICE = /; check the consumer key and secret \(BITBUCKET_CLIENT_ID, BITBUCKET_CLIENT_SECRET, --client-id\)\n$/;
    const WRONG = { ...CONSUMER_ENV, BITBUCKET_CLIENT_SECRET: 'not-the-secret-0123456789' };

    it('exits 4 with the advice on the code exchange', async () => {
      const server = await start({ clientChallenge: true });
      const sandbox = await makeSandbox();
      const cli = startCli(['login', '--no-browser', '--callback-url', 'http://127.0.0.1:0/callback'], { sandbox, emulator: server, env: WRONG });
      const url = (await cli.waitForLine(/\/site\/oauth2\/authorize\?/)).trim();
      const approved = await fetch(url, { redirect: 'manual' });
      await fetch(approved.headers.get('location')!);
      const result = await cli.done;
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/npkg: Bitbucket's token endpoint answered 401 invalid_client: client authentication failed/);
      expect(result.stderr).toMatch(ADVICE);
      expect(result.stderr).not.toContain(WRONG.BITBUCKET_CLIENT_SECRET);
    });

    it('exits 4 with the advice on the client-credentials grant', async () => {
      const server = await start({ clientChallenge: true });
      const sandbox = await makeSandbox();
      const result = await runCli(['login', '--client-credentials'], { sandbox, emulator: server, env: WRONG });
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/^npkg: Bitbucket's token endpoint answered 401 invalid_client: client authentication failed/);
      expect(result.stderr).toMatch(ADVICE);
    });

    it('exits 4 with the advice on a refresh', async () => {
      const server = await start({ clientChallenge: true });
      const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
      expect((await browserLogin(sandbox, server)).result.code).toBe(0);
      // The consumer's secret changed since the login (regenerated in Bitbucket, say).
      const file = path.join(sandbox.configDir, 'credentials.json');
      const all = JSON.parse(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
      for (const credential of Object.values(all)) credential.clientSecret = WRONG.BITBUCKET_CLIENT_SECRET;
      await writeFile(file, JSON.stringify(all), { mode: 0o600 });
      server.oauth!.expireAll();
      const install = await runCli(['install'], { sandbox, emulator: server, env: { NPKG_CREDENTIAL_STORE: 'file' } });
      expect(install.code).toBe(4);
      expect(install.stderr).toMatch(/Bitbucket's token endpoint answered 401 invalid_client/);
      expect(install.stderr).not.toMatch(/unexpected error/);
    });
  });

  it('ends a silent token endpoint with a timeout error, storing nothing', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    server.addFault({ server: 'web', path: /\/site\/oauth2\/access_token/, times: 1, kind: 'stall' });
    const result = await runCli(['login', '--client-credentials', '--network-timeout', '1'], { sandbox, emulator: server, env: CONSUMER_ENV });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`npkg: no answer from ${new URL(server.webUrl).host} within the network timeout (--network-timeout)\n`);
    await expect(readFile(path.join(sandbox.configDir, 'credentials.json'))).rejects.toThrow(/ENOENT/);
  });

  it('names the port and --callback-url when the callback port is taken', async () => {
    const server = await start();
    const sandbox = await makeSandbox();
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const result = await runCli(['login', '--no-browser', '--callback-url', `http://127.0.0.1:${port}/callback`], { sandbox, emulator: server, env: CONSUMER_ENV });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`port ${port} is in use`);
      expect(result.stderr).toContain('--callback-url');
    } finally {
      blocker.close();
    }
  });
});
