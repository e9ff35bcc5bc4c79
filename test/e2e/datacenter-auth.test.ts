import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { makeSandbox, parseJson, runCli, startCli, type Sandbox } from '../helpers.js';
import { CLIENT, PAT, PERSONAL_TOKEN, PROJECT_TOKEN, dcRun, startDataCenter } from '../support/datacenter.js';

let dc: Emulator;
beforeAll(async () => {
  dc = await startDataCenter();
});
afterAll(() => dc.close());

const CLIENT_ENV = { BITBUCKET_CLIENT_ID: CLIENT.id, BITBUCKET_CLIENT_SECRET: CLIENT.secret };
const manifest = { workspace: 'PLAT', modules: { utils: 'v1.0.0', tools: { repo: '~alice/tools', ref: 'main' } } };
const authOf = (url: RegExp) => dc.requests.filter((request) => url.test(request.url)).map((request) => String(request.headers.authorization));

/** `npkg login` on Data Center, the test playing the browser: authorize, then the redirect to the localhost callback. */
async function dataCenterLogin(sandbox: Sandbox) {
  const cli = startCli(['login', '--no-browser', '--callback-url', 'http://localhost:0/callback'], dcRun(sandbox, dc, CLIENT_ENV));
  const authorize = new URL((await cli.waitForLine(/\/rest\/oauth2\/latest\/authorize\?/)).trim());
  const approved = await fetch(authorize, { redirect: 'manual' });
  const callback = new URL(approved.headers.get('location')!);
  // (localhost, as Data Center requires; the callback server listens on 127.0.0.1 only)
  const reached = await fetch(callback.toString().replace('//localhost:', '//127.0.0.1:'));
  return { authorize, callback, reached, result: await cli.done };
}

async function stored(sandbox: Sandbox): Promise<Record<string, unknown>> {
  const all = JSON.parse(await readFile(path.join(sandbox.configDir, 'credentials.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  return all[new URL(dc.siteUrl).host]!;
}

describe('credentials on Data Center (SPEC §6a)', () => {
  it('sends BITBUCKET_TOKEN_<KEY> per project (~ as _), BITBUCKET_TOKEN as Bearer, and a PAT as Basic', async () => {
    const sandbox = await makeSandbox(manifest);
    dc.clearRequests();
    const perProject = await runCli(['install'], dcRun(sandbox, dc, { BITBUCKET_TOKEN_PLAT: PROJECT_TOKEN, BITBUCKET_TOKEN__ALICE: PERSONAL_TOKEN, BITBUCKET_TOKEN: 'not-used-token-000000000' }));
    expect(perProject.code).toBe(0);
    expect(new Set(authOf(/projects\/PLAT\//))).toEqual(new Set([`Bearer ${PROJECT_TOKEN}`]));
    expect(new Set(authOf(/projects\/~alice\//))).toEqual(new Set([`Bearer ${PERSONAL_TOKEN}`]));

    const basic = await makeSandbox(manifest);
    dc.clearRequests();
    expect((await runCli(['install'], dcRun(basic, dc, { BITBUCKET_USERNAME: 'alice', BITBUCKET_API_TOKEN: PAT }))).code).toBe(0);
    expect(new Set(authOf(/\/rest\/api\//))).toEqual(new Set([`Basic ${Buffer.from(`alice:${PAT}`).toString('base64')}`]));

    const whoami = await runCli(['whoami', '--json'], dcRun(basic, dc, { BITBUCKET_TOKEN: PAT }));
    expect(whoami.code).toBe(0);
    expect(parseJson(whoami.stdout)).toMatchObject({ username: 'alice', source: 'BITBUCKET_TOKEN' });
    const text = await runCli(['whoami'], dcRun(basic, dc, { BITBUCKET_TOKEN: PAT }));
    expect(text.stdout.split('\n')[0]).toBe(`alice on ${new URL(dc.siteUrl).host}`);
    const refused = await runCli(['whoami'], dcRun(basic, dc, { BITBUCKET_TOKEN: 'dc-wrong-token-SECRETMARK-0000' }));
    expect(refused.code).toBe(4);
    expect(refused.stderr).not.toContain('SECRETMARK');
  });

  it('logs in through the application link, installs with the stored login, and refreshes it once when refused, keeping the rotated refresh token', async () => {
    const sandbox = await makeSandbox(manifest);
    const { authorize, callback, reached, result } = await dataCenterLogin(sandbox);
    expect(reached.status).toBe(200);
    expect(result.code).toBe(0);
    expect(Object.fromEntries(['response_type', 'client_id', 'scope', 'code_challenge_method'].map((key) => [key, authorize.searchParams.get(key)]))).toEqual({
      response_type: 'code',
      client_id: CLIENT.id,
      scope: 'REPO_READ',
      code_challenge_method: 'S256',
    });
    expect(authorize.searchParams.get('state')).toBe(callback.searchParams.get('state'));
    expect(new URL(authorize.searchParams.get('redirect_uri')!).hostname).toBe('localhost');
    const first = await stored(sandbox);
    expect(first).toMatchObject({ grant: 'authorization_code', clientId: CLIENT.id, scopes: 'REPO_READ' });
    expect(result.stdout + result.stderr).not.toContain(CLIENT.secret);

    const install = await runCli(['install'], dcRun(sandbox, dc));
    expect(install.code).toBe(0);
    const whoami = await runCli(['whoami', '--json'], dcRun(sandbox, dc));
    expect(parseJson(whoami.stdout)).toMatchObject({ username: 'bob', scopes: 'REPO_READ' });

    // The server forgets the token before its hour is up: a 401 per module at most, one shared refresh, one retry.
    dc.datacenter!.oauth!.expireAll();
    const failedBefore = dc.datacenter!.log.failedAuth;
    const again = await runCli(['update'], dcRun(sandbox, dc));
    expect(again.code).toBe(0);
    expect(dc.datacenter!.oauth!.log.refreshes).toBe(1);
    expect(dc.datacenter!.log.failedAuth - failedBefore).toBeLessThanOrEqual(2);
    const second = await stored(sandbox);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    for (const secret of [second.accessToken, second.refreshToken, CLIENT.secret]) expect(again.stdout + again.stderr).not.toContain(String(secret));
  });

  it('with no credential, names what works on Data Center (exit 4)', async () => {
    const sandbox = await makeSandbox(manifest);
    const result = await runCli(['install'], dcRun(sandbox, dc));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/no Bitbucket credential for project PLAT: run `npkg login`, or set BITBUCKET_TOKEN_PLAT or BITBUCKET_TOKEN \(an HTTP access token\), or BITBUCKET_USERNAME with BITBUCKET_API_TOKEN/);
    expect(result.stderr).not.toContain('BITBUCKET_CLIENT_ID');
  });

  it.each([
    [['login', '--client-credentials'], /`npkg login --client-credentials` does not work on Bitbucket Data Center: use `npkg login`/],
    [['login', '--oauth1'], /`npkg login --oauth1` does not work on Bitbucket Data Center/],
    [['login', '--callback-url', 'http://127.0.0.1:0/callback'], /the callback URL http:\/\/127\.0\.0\.1:0\/callback will not work: Bitbucket Data Center accepts plain-http redirect URLs only to localhost: use http:\/\/localhost:8976\/callback/],
    [['install'], /BITBUCKET_CLIENT_ID with BITBUCKET_CLIENT_SECRET \(the client-credentials grant\) does not work on Bitbucket Data Center/],
  ])('%j is a usage error naming what to use instead (exit 2)', async (args, message) => {
    const sandbox = await makeSandbox(manifest);
    dc.clearRequests();
    const result = await runCli(args, dcRun(sandbox, dc, CLIENT_ENV));
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(CLIENT.secret);
    expect(dc.requests).toEqual([]);
  });
});
