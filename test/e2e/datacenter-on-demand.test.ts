import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import { makeSandbox } from '../helpers.js';
import { CLIENT, startDataCenter } from '../support/datacenter.js';

const BIN = fileURLToPath(new URL('../../bin/npkg.js', import.meta.url));
// util-linux `script` gives the CLI a real terminal, as a developer's shell would.
const SCRIPT = '/usr/bin/script';
let dc: Emulator;
beforeAll(async () => {
  dc = await startDataCenter();
});
afterAll(() => dc.close());

describe('install on Data Center in a terminal with no credential', () => {
  it.skipIf(!existsSync(SCRIPT))('signs in through the application link itself (not the client-credentials refusal), then installs', async () => {
    const sandbox = await makeSandbox({ workspace: 'PLAT', modules: { utils: 'v1.0.0' } });
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: sandbox.dir,
      TERM: 'dumb',
      NPKG_CONFIG_DIR: sandbox.configDir,
      NPKG_CACHE_DIR: sandbox.cacheDir,
      NPKG_CREDENTIAL_STORE: 'file',
      NPKG_CALLBACK_URL: 'http://localhost:0/callback',
      BITBUCKET_URL: dc.siteUrl,
      BITBUCKET_CLIENT_ID: CLIENT.id,
      BITBUCKET_CLIENT_SECRET: CLIENT.secret,
    };
    const child = spawn(SCRIPT, ['-qec', `${process.execPath} ${BIN} install --no-progress`, '/dev/null'], { cwd: sandbox.project, env });
    let output = '';
    let visited = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /(http\S+\/bitbucket\/rest\/oauth2\/latest\/authorize\?\S+)/.exec(output)?.[1];
      if (url === undefined || visited) return;
      visited = true;
      // Data Center sends the browser to localhost; the callback server listens on 127.0.0.1.
      void fetch(url, { redirect: 'manual' }).then((approved) => fetch(approved.headers.get('location')!.replace('//localhost:', '//127.0.0.1:')));
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toMatch(/no Bitbucket credential found: signing in/);
    expect(output).toMatch(/utils v1\.0\.0 \w+ \(downloaded\)/);
    expect(code).toBe(0);
    expect(dc.datacenter!.oauth!.log.codeGrants).toBe(1);
  });
});
