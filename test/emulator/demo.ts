/**
 * `npm run demo`: starts the Bitbucket emulator with the repositories of the
 * root modules.json, signs in through the real OAuth authorization-code flow
 * (this script plays the browser: it follows the printed URL), then runs the
 * real CLI `install` and shows what landed. Config, credentials and cache go
 * to a temporary folder, never the user's; the keychain is not touched.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from './server.js';
import { DEMO_REPOS } from './fixtures.js';
import { DEMO_CLIENT, startDataCenterDemo } from './demo-datacenter.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const bin = path.join(repoRoot, 'bin', 'npkg.js');
// The project to install: this repository, unless a test points the demo at a copy.
const source = process.env.NPKG_DEMO_PROJECT ?? repoRoot;
const consumer = { key: 'demo-consumer', secret: 'demo-consumer-secret', callbackUrl: 'http://127.0.0.1' };
// `--datacenter`: the same install from the Data Center personality; the other arguments go to install.
const datacenter = process.argv.includes('--datacenter');
const installArgs = process.argv.slice(2).filter((arg) => arg !== '--datacenter');

const scratch = await mkdtemp(path.join(os.tmpdir(), 'npkg-demo-'));
const dc = datacenter ? await startDataCenterDemo(DEMO_REPOS, source, scratch) : undefined;
const emulator = dc?.emulator ?? (await startEmulator({ repos: DEMO_REPOS, oauth: { consumers: [consumer] } }));
const root = dc?.project ?? source;
let code = 1;
try {
  process.stderr.write(
    dc ? `npkg demo: Bitbucket Data Center emulator on ${emulator.siteUrl}\n` : `npkg demo: Bitbucket emulator on ${emulator.webUrl} (API ${emulator.apiUrl})\n`,
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Data Center: the site URL with its context path, and no API URL (that would mean Cloud).
    ...(dc ? { BITBUCKET_URL: emulator.siteUrl } : { BITBUCKET_URL: emulator.webUrl, BITBUCKET_API_URL: emulator.apiUrl }),
    NPKG_CONFIG_DIR: path.join(scratch, 'config'),
    NPKG_CACHE_DIR: path.join(scratch, 'cache'),
    NPKG_CREDENTIAL_STORE: 'file',
  };
  for (const name of ['BITBUCKET_TOKEN', 'BITBUCKET_USERNAME', 'BITBUCKET_API_TOKEN', 'BITBUCKET_APP_PASSWORD', 'BITBUCKET_KIND']) delete env[name];
  code = dc
    ? await login({ ...env, BITBUCKET_CLIENT_ID: DEMO_CLIENT.id, BITBUCKET_CLIENT_SECRET: DEMO_CLIENT.secret }, 'http://localhost:0/callback', /^(http\S+\/rest\/oauth2\/latest\/authorize\?\S+)$/m)
    : await login({ ...env, BITBUCKET_CLIENT_ID: consumer.key, BITBUCKET_CLIENT_SECRET: consumer.secret }, 'http://127.0.0.1:0/callback', /^(http\S+\/site\/oauth2\/authorize\?\S+)$/m);
  if (code === 0) code = await run(['install', '-C', root, ...installArgs], env);
  process.stdout.write(`\nvendor/ now holds:\n`);
  for (const line of await listTree(path.join(root, 'vendor'), '')) process.stdout.write(`  ${line}\n`);
  const again = dc ? ' (the project was a scratch copy, gone with the emulator)' : '; run `npm run demo` again: the install is then a no-op';
  process.stdout.write(`\n${emulator.requests.length} requests reached the emulator${again}.\n`);
} finally {
  await emulator.close();
  await rm(scratch, { recursive: true, force: true });
}
process.exitCode = code;

/** `npkg login`, with this script in the browser's place: open the authorize URL, follow it to the callback. */
async function login(env: NodeJS.ProcessEnv, callbackUrl: string, authorizeLine: RegExp): Promise<number> {
  const args = [bin, 'login', '--no-browser', '--callback-url', callbackUrl];
  process.stderr.write(`npkg demo: $ npkg ${args.slice(1).join(' ')}\n`);
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'inherit', 'pipe'] });
  let seen = '';
  let visited = false;
  child.stderr.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    seen += chunk.toString();
    const url = authorizeLine.exec(seen)?.[1];
    if (url === undefined || visited) return;
    visited = true;
    void visit(url);
  });
  return new Promise((resolve) => child.on('close', (status) => resolve(status ?? 1)));
}

async function visit(url: string): Promise<void> {
  process.stderr.write('npkg demo: (the browser opens that URL; the emulator approves at once)\n');
  const approved = await fetch(url, { redirect: 'manual' });
  const callback = approved.headers.get('location');
  // Data Center redirects to localhost; the callback server listens on 127.0.0.1.
  if (callback !== null) await fetch(callback.replace('//localhost:', '//127.0.0.1:'));
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stderr.write(`npkg demo: $ npkg ${args.join(' ')}\n`);
  return new Promise((resolve) => spawn(process.execPath, [bin, ...args], { env, stdio: 'inherit' }).on('close', (status) => resolve(status ?? 1)));
}

async function listTree(dir: string, prefix: string): Promise<string[]> {
  const lines: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name === '.npkg.lock') continue;
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) lines.push(`${rel}/`, ...(await listTree(path.join(dir, entry.name), `${rel}/`)));
    else lines.push(entry.isSymbolicLink() ? `${rel} (link)` : rel);
  }
  return lines;
}
