import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REPOS } from '../emulator/fixtures.js';
import type { Emulator } from '../emulator/server.js';
import { makeSandbox, runCli, TEST_TOKEN, TOKEN_ENV, useEmulator } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface LockPackage {
  version: string;
  integrity?: string;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  hasInstallScript?: boolean;
}

/**
 * A loopback npm registry that knows exactly the runtime packages of
 * package-lock.json, with their lockfile integrity. npm finds those tarballs
 * in its cache by that integrity (`npm ci` put them there), so no tarball is
 * ever fetched: a tarball request is answered 404 and counted. `npm install
 * --offline` cannot do this alone on a clean machine: `npm ci` caches the
 * tarballs, not the registry documents a global install resolves ranges with.
 */
async function startLockfileRegistry(): Promise<{ url: string; tarballRequests: string[]; close(): Promise<void> }> {
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockPackage> };
  const documents = new Map<string, { name: string; 'dist-tags': { latest: string }; versions: Record<string, unknown> }>();
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '' || entry.dev === true || entry.integrity === undefined) continue;
    const name = where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const document = documents.get(name) ?? { name, 'dist-tags': { latest: entry.version }, versions: {} };
    const { integrity, dev: _dev, ...manifest } = entry;
    document.versions[entry.version] = { ...manifest, name, dist: { integrity, tarball: `TARBALL/${name}/-/${entry.version}.tgz` } };
    documents.set(name, document);
  }
  const tarballRequests: string[] = [];
  let base = '';
  const server: Server = createServer((request, response) => {
    const name = decodeURIComponent((request.url ?? '/').slice(1));
    const document = documents.get(name);
    if (document === undefined) {
      // Names outside the lockfile (an optional peer, npm's own update check) are simply unknown here.
      if (name.includes('/-/')) tarballRequests.push(name);
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document).replaceAll('TARBALL', base));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${base}/`, tarballRequests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', args, { cwd, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
}

let emulator: Emulator;
useEmulator({ repos: DEMO_REPOS, bearerTokens: [TEST_TOKEN] }, (started) => (emulator = started));

describe('the package as published', () => {
  let temp: string;
  let tarball: string;
  let registry: Awaited<ReturnType<typeof startLockfileRegistry>>;

  beforeAll(async () => {
    temp = await mkdtemp(path.join(os.tmpdir(), 'npkg-pack-'));
    registry = await startLockfileRegistry();
    // The build is already there (the tests run on it): pack what it made.
    const packed = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', temp], ROOT);
    expect(packed.stderr).not.toMatch(/npm error/);
    const [report] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = path.join(temp, report!.filename);
    await writeFile(path.join(temp, 'files.json'), JSON.stringify(report!.files.map((file) => file.path)));
  }, 120_000);
  afterAll(async () => {
    await registry?.close();
  });

  it('holds bin/, the compiled sources, the schema, README and LICENSE, and nothing of the tests, bench or emulator', async () => {
    const files = JSON.parse(await readFile(path.join(temp, 'files.json'), 'utf8')) as string[];
    expect(files).toEqual(expect.arrayContaining(['bin/npkg.js', 'dist/src/cli.js', 'dist/src/archive/worker-main.js', 'modules.schema.json', 'README.md', 'LICENSE', 'package.json']));
    const stray = files.filter((file) => !/^(bin\/|dist\/src\/.*\.js$|modules\.schema\.json$|README\.md$|LICENSE$|package\.json$)/.test(file));
    expect(stray).toEqual([]);
  });

  it('installs globally into a fresh prefix from the npm cache alone, and that npkg installs modules', async () => {
    const prefix = path.join(temp, 'prefix');
    const installed = await npm(['install', '-g', '--prefix', prefix, '--registry', registry.url, '--no-audit', '--no-fund', '--no-update-notifier', tarball], temp, {
      npm_config_userconfig: path.join(temp, 'no-npmrc'),
    });
    expect(installed.stderr).not.toMatch(/npm error/);
    expect(installed.code).toBe(0);
    expect(registry.tarballRequests).toEqual([]);
    const bin = path.join(prefix, 'bin', 'npkg');
    const sandbox = await makeSandbox({ workspace: 'acme', modules: { utils: 'v1.4.0' } });

    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await runCli(['--version'], { sandbox, bin })).toMatchObject({ code: 0, stdout: `${version}\n` });

    const install = await runCli(['install'], { sandbox, emulator, bin, env: TOKEN_ENV });
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect(await readFile(path.join(sandbox.project, 'vendor', 'utils', 'index.js'), 'utf8')).toBe('export const version = "1.4.0";\n');
  }, 180_000);
});
