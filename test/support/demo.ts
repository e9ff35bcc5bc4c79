/**
 * `npm run demo`: starts the Bitbucket emulator with the repositories of the
 * root modules.json, runs the real CLI `install` against it with temporary
 * config and cache folders (never the user's), and shows what landed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulator } from './bitbucket-emulator.js';
import { DEMO_REPOS } from './fixtures.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const token = 'demo-token-for-the-local-emulator';

const scratch = await mkdtemp(path.join(os.tmpdir(), 'npkg-demo-'));
const emulator = await startEmulator({ repos: DEMO_REPOS, bearerTokens: [token] });
let code = 1;
try {
  process.stderr.write(`npkg demo: Bitbucket emulator on ${emulator.webUrl} (API ${emulator.apiUrl})\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BITBUCKET_URL: emulator.webUrl,
    BITBUCKET_API_URL: emulator.apiUrl,
    BITBUCKET_TOKEN: token,
    NPKG_CONFIG_DIR: path.join(scratch, 'config'),
    NPKG_CACHE_DIR: path.join(scratch, 'cache'),
  };
  const args = [path.join(root, 'bin', 'npkg.js'), 'install', '-C', root, ...process.argv.slice(2)];
  process.stderr.write(`npkg demo: $ npkg ${args.slice(1).join(' ')}\n`);
  code = await new Promise<number>((resolve) => {
    spawn(process.execPath, args, { env, stdio: 'inherit' }).on('close', (status) => resolve(status ?? 1));
  });
  process.stdout.write(`\nvendor/ now holds:\n`);
  for (const line of await listTree(path.join(root, 'vendor'), '')) process.stdout.write(`  ${line}\n`);
  process.stdout.write(`\n${emulator.requests.length} requests reached the emulator; run \`npm run demo\` again for a no-op install.\n`);
} finally {
  await emulator.close();
  await rm(scratch, { recursive: true, force: true });
}
process.exitCode = code;

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
