import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { makeSandbox, runCli } from '../helpers.js';
import { PAT, dcRun, startDataCenter } from '../support/datacenter.js';

let dc: Emulator;
beforeAll(async () => {
  dc = await startDataCenter({ unauthenticatedArchive: 'login-redirect' });
});
afterAll(() => dc.close());

const TOKEN = { BITBUCKET_TOKEN: PAT };
const manifest = { workspace: 'PLAT', modules: { utils: 'v1.0.0' } };

describe('Data Center faults (SPEC §6a, §7)', () => {
  it('waits out a 429 with Retry-After, retries a 5xx and an archive cut short, and installs', async () => {
    const sandbox = await makeSandbox(manifest);
    dc.addFault({ kind: 'status', status: 429, retryAfter: '1', path: /\/tags\?/, times: 1 });
    dc.addFault({ kind: 'status', status: 503, path: /\/archive\?/, times: 1 });
    dc.addFault({ kind: 'truncate', path: /\/archive\?/, times: 1 });
    const started = Date.now();
    const result = await runCli(['install', '--verbose'], dcRun(sandbox, dc, TOKEN));
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(result.stderr).toMatch(/429.*retry 1 of 3 in 1 s/);
    expect(result.stderr).toMatch(/503.*retry 1 of 3/);
    // The archive cut short is the download's second failure: it starts again, cleanly.
    expect(result.stderr).toMatch(/download PLAT\/utils@[0-9a-f]{12}: network error .*; retry 2 of 3/);
  });

  it('shows errors bodies and HTML pages by their message, never raw', async () => {
    const sandbox = await makeSandbox(manifest);
    const body = JSON.stringify({ errors: [{ context: null, message: 'The index is being rebuilt', exceptionName: 'com.atlassian.bitbucket.ServiceException' }] });
    dc.addFault({ kind: 'status', status: 500, path: /\/tags\?/, times: 1, body, contentType: 'application/json;charset=UTF-8' });
    const failed = await runCli(['install', '--retries', '0'], dcRun(sandbox, dc, TOKEN));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Bitbucket answered 500 for PLAT\/utils: The index is being rebuilt/);
    expect(failed.stderr).not.toContain('exceptionName');
    // Without the context path, Bitbucket's front end answers an HTML 404.
    const wrongPath = await runCli(['install'], { sandbox, env: { BITBUCKET_URL: dc.siteUrl.replace('/bitbucket', ''), NPKG_CREDENTIAL_STORE: 'file', ...TOKEN } });
    expect(wrongPath.code).toBe(1);
    expect(wrongPath.stderr).toMatch(/404 for PLAT\/utils: an HTML page \("Page not found - Bitbucket"\): check BITBUCKET_URL, with its context path/);
    expect(wrongPath.stderr).not.toContain('<html');
  });

  it('a refused token is exit 4, asked once (no 401 loop), with the server message and no secret', async () => {
    const sandbox = await makeSandbox(manifest);
    const before = dc.datacenter!.log.failedAuth;
    const bad = 'dc-wrong-token-SECRETMARK-000000';
    const result = await runCli(['install', '--verbose'], dcRun(sandbox, dc, { BITBUCKET_TOKEN: bad }));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/refused the credential from BITBUCKET_TOKEN for PLAT\/utils \(Authentication failed\. Please check your credentials and try again\.\)/);
    expect(result.stderr).not.toContain('SECRETMARK');
    expect(dc.datacenter!.log.failedAuth - before).toBe(1);
  });

  it('ends a stalled archive with a timeout error instead of hanging', async () => {
    const sandbox = await makeSandbox(manifest);
    dc.addFault({ kind: 'stall', path: /\/archive\?/, times: 1 });
    const result = await runCli(['install', '--retries', '0', '--network-timeout', '1'], dcRun(sandbox, dc, TOKEN));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/utils: no answer from 127\.0\.0\.1:\d+ within the network timeout/);
  });

  it('a login locked behind a CAPTCHA says to sign in in a browser, and is not retried', async () => {
    const locked = await startDataCenter({ captchaAfter: 0 });
    try {
      const sandbox = await makeSandbox(manifest);
      const result = await runCli(['install'], dcRun(sandbox, locked, { BITBUCKET_TOKEN: 'dc-wrong-token-000000000000' }));
      expect(result.code).toBe(4);
      expect(result.stderr).toMatch(/\(CAPTCHA required: log in through the web interface first\.; sign in to Bitbucket once in a browser to clear the CAPTCHA\)/);
      expect(locked.datacenter!.log.failedAuth).toBe(1);
    } finally {
      await locked.close();
    }
  });

  it('an archive redirected to /login is a refused credential (exit 4)', async () => {
    const sandbox = await makeSandbox(manifest);
    expect((await runCli(['install'], dcRun(sandbox, dc, TOKEN))).code).toBe(0);
    await rm(path.join(sandbox.project, 'vendor'), { recursive: true, force: true });
    await rm(sandbox.cacheDir, { recursive: true, force: true });
    // The lockfile names the commit: no API call, the archive request alone meets the sign-in page.
    dc.clearRequests();
    const result = await runCli(['install'], dcRun(sandbox, dc, { BITBUCKET_TOKEN: 'dc-expired-token-000000000000' }));
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/refused the credential from BITBUCKET_TOKEN for PLAT\/utils/);
    expect(dc.requests.map((request) => new URL(request.url, 'http://x').pathname)).toEqual(['/bitbucket/rest/api/latest/projects/PLAT/repos/utils/archive', '/bitbucket/login']);
  });
});
