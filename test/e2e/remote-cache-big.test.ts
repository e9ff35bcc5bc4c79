import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Emulator } from '../emulator/server.js';
import type { RepoFixture } from '../emulator/git-fixtures.js';
import { TEST_TOKEN, TOKEN_ENV, describeTree, makeSandbox, parseJson, runCli, useEmulator, type Sandbox } from '../helpers.js';
import { startNginx, type Nginx } from '../support/nginx.js';

/*
 * SPEC §10 with a 200 MB archive, through the real CLI: agent A downloads it
 * from Bitbucket and uploads it to nginx, agent B installs it from nginx
 * alone; each stays under 150 MB of peak RSS. Random bytes, so gzip cannot
 * shrink it. About 30–60 s, most of it git and gzip building the fixture.
 */

const FILES = 8;
const FILE_MB = 25;
const LIMIT_KB = 150 * 1024;
const BIG: RepoFixture = {
  repo: 'acme/big',
  commits: [
    {
      files: Object.fromEntries(Array.from({ length: FILES }, (_, index) => [`data/blob-${index}.bin`, { content: randomBytes(FILE_MB * 1024 * 1024) }])),
      tags: ['v1.0.0'],
    },
  ],
};

let emulator: Emulator;
useEmulator({ repos: [BIG], bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

let nginx: Nginx;
beforeAll(async () => {
  nginx = await startNginx();
});
afterAll(async () => {
  await nginx?.close();
});

/** Runs `npkg install --json` with a preload that writes the process's peak RSS (KB, VmHWM) to a file. */
async function installMeasured(sandbox: Sandbox, env: Record<string, string>): Promise<{ code: number; stderr: string; sources: string[]; maxRssKb: number }> {
  const preload = path.join(sandbox.dir, 'rss.mjs');
  const out = path.join(sandbox.dir, 'rss.txt');
  // VmHWM, the peak of this process's own memory: getrusage's maxRSS also counts the forking
  // parent's (Linux keeps it across exec), and the parent here holds the 200 MB fixture.
  await writeFile(preload, `import { readFileSync, writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, /VmHWM:\\s*(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]));\n`);
  const result = await runCli(['install', '--json'], { sandbox, emulator, env: { ...TOKEN_ENV, ...env, NODE_OPTIONS: `--import=${preload}` } });
  const sources = result.code === 0 ? parseJson<{ modules: Array<{ source?: string }> }>(result.stdout).modules.map((module) => module.source ?? '') : [];
  return { code: result.code, stderr: result.stderr, sources, maxRssKb: Number(await readFile(out, 'utf8')) };
}

it('uploads a 200 MB archive from agent A and installs it on agent B from nginx alone, each under 150 MB of peak RSS', async () => {
  const manifest = { workspace: 'acme', modules: { big: 'v1.0.0' } };
  const a = await makeSandbox(manifest);
  const first = await installMeasured(a, { NPKG_REMOTE_CACHE: nginx.url, NPKG_REMOTE_CACHE_WRITE: '1' });
  expect(first.code, first.stderr).toBe(0);
  expect(first.sources).toEqual(['bitbucket']);
  const [object] = await nginx.objects();
  expect(object).toMatch(/^v1\/127\.0\.0\.1:\d+\/acme\/big\/[0-9a-f]{40}\.tar\.gz$/);

  const b = await makeSandbox();
  for (const file of ['modules.json', 'modules.lock.json']) await writeFile(path.join(b.project, file), await readFile(path.join(a.project, file)));
  emulator.clearRequests();
  const second = await installMeasured(b, { NPKG_REMOTE_CACHE: nginx.url });
  expect(second.code, second.stderr).toBe(0);
  expect(second.sources).toEqual(['remote-cache']);
  expect(emulator.requests.filter((request) => request.url.includes('/get/'))).toEqual([]);
  expect(await describeTree(path.join(b.project, 'vendor', 'big'))).toEqual(await describeTree(path.join(a.project, 'vendor', 'big')));

  expect(first.maxRssKb).toBeGreaterThan(0);
  expect(first.maxRssKb).toBeLessThan(LIMIT_KB);
  expect(second.maxRssKb).toBeLessThan(LIMIT_KB);
}, 180_000);
