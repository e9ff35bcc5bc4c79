import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { TEST_REPOS } from '../emulator/fixtures.js';
import { makeSandbox } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/npkg.js', import.meta.url));
const CONSUMER = { key: 'tty-consumer', secret: 'tty-consumer-secret', callbackUrl: 'http://127.0.0.1' };
// util-linux `script` gives the CLI a real terminal, as a developer's shell would.
const SCRIPT = '/usr/bin/script';
let emulator: Emulator | undefined;

/** A project and the environment of a developer's terminal with no stored credential, the env consumer set. */
async function terminalSession(server: Emulator, term: string) {
  const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.0.0' } });
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: sandbox.dir,
    TERM: term,
    NPKG_CONFIG_DIR: sandbox.configDir,
    NPKG_CACHE_DIR: sandbox.cacheDir,
    NPKG_CREDENTIAL_STORE: 'file',
    NPKG_CALLBACK_URL: 'http://127.0.0.1:0/callback',
    BITBUCKET_URL: server.webUrl,
    BITBUCKET_API_URL: server.apiUrl,
    BITBUCKET_CLIENT_ID: CONSUMER.key,
    BITBUCKET_CLIENT_SECRET: CONSUMER.secret,
  };
  return { sandbox, env };
}

afterEach(async () => {
  await emulator?.close();
});

describe('install in a terminal with no credential', () => {
  it.skipIf(!existsSync(SCRIPT))('runs the browser login itself, then installs', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, oauth: { consumers: [CONSUMER] } });
    const { sandbox, env } = await terminalSession(emulator, 'dumb');
    const child = spawn(SCRIPT, ['-qec', `${process.execPath} ${BIN} install --no-progress`, '/dev/null'], { cwd: sandbox.project, env });
    let output = '';
    let visited = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /(http\S+\/site\/oauth2\/authorize\?\S+)/.exec(output)?.[1];
      if (url === undefined || visited) return;
      visited = true;
      void fetch(url, { redirect: 'manual' }).then((approved) => fetch(approved.headers.get('location')!));
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toMatch(/no Bitbucket credential found: signing in/);
    expect(output).toMatch(/utils v1\.0\.0 \w+ \(downloaded\)/);
    expect(code).toBe(0);
  });
});

describe('install in a terminal with progress, while the login waits for the user', () => {
  it.skipIf(!existsSync(SCRIPT))('takes the spinner off the screen until the login ends', async () => {
    emulator = await startEmulator({ repos: TEST_REPOS, oauth: { consumers: [CONSUMER] } });
    const { sandbox, env } = await terminalSession(emulator, 'xterm');
    // A terminal of a real size: the spinner measures its lines against the width.
    const child = spawn(SCRIPT, ['-qec', `stty cols 100 rows 30; ${process.execPath} ${BIN} install`, '/dev/null'], { cwd: sandbox.project, env });
    let output = '';
    let whileWaiting: string | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /(http\S+\/site\/oauth2\/authorize\?[^\s\u001b]+)/.exec(output);
      if (match === undefined || match === null || whileWaiting !== undefined) return;
      whileWaiting = '';
      const printedAt = output.length;
      // Not a synchronisation: the window in which a running spinner (ora redraws every 80 ms)
      // would draw a few frames under the printed URL while the user reads it.
      setTimeout(() => {
        whileWaiting = output.slice(printedAt);
        void fetch(match[1]!, { redirect: 'manual' }).then((approved) => fetch(approved.headers.get('location')!));
      }, 600);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toMatch(/0\/1 modules/);
    // Lines for the user (the URL, a browser that did not start) may come; no spinner frame may.
    expect(whileWaiting).toBeDefined();
    expect(whileWaiting).not.toMatch(/modules|[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(code).toBe(0);
  });
});
