import { execFile } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { DEMO_REPOS } from '../emulator/fixtures.js';
import { makeSandbox, runCli } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'demo-test-token-123456789';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ repos: DEMO_REPOS, bearerTokens: [TOKEN] });
});
afterAll(async () => {
  await emulator.close();
});

describe('the demo project', () => {
  it('npm run demo signs in through the browser flow and installs the demo modules', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { demo: string } };
    const script = pkg.scripts.demo.split(' ');
    expect(script[0]).toBe('node');
    const sandbox = await makeSandbox();
    for (const file of ['modules.json', 'modules.lock.json', 'modules.schema.json']) {
      await copyFile(path.join(ROOT, file), path.join(sandbox.project, file));
    }
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(ROOT, script[1]!)], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: sandbox.dir, NPKG_DEMO_PROJECT: sandbox.project, CI: 'true' } }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).toMatch(/signed in|site\/oauth2\/authorize/);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/4 downloaded/);
    expect(result.stdout).toMatch(/utils\/bin\/utils\.sh/);
  });

  it('npm run demo -- --datacenter does the same install from the Data Center personality, with the committed lockfile (frozen by CI=true)', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { demo: string } };
    const sandbox = await makeSandbox();
    for (const file of ['modules.json', 'modules.lock.json', 'modules.schema.json']) {
      await copyFile(path.join(ROOT, file), path.join(sandbox.project, file));
    }
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const env = { PATH: process.env.PATH ?? '', HOME: sandbox.dir, NPKG_DEMO_PROJECT: sandbox.project, CI: 'true' };
      execFile(process.execPath, [path.join(ROOT, pkg.scripts.demo.split(' ')[1]!), '--datacenter'], { cwd: ROOT, env }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).toMatch(/Data Center emulator on http:\/\/127\.0\.0\.1:\d+\/bitbucket/);
    expect(result.stderr).toMatch(/\/bitbucket\/rest\/oauth2\/latest\/authorize\?/);
    expect(result.code).toBe(0);
    // CI=true: the frozen lockfile, rewritten to project keys, matched; the trees hash as on Cloud.
    expect(result.stdout).toMatch(/4 downloaded/);
    expect(result.stdout).toMatch(/utils\/bin\/utils\.sh/);
  });

  it('installs the root modules.json with its committed lockfile in CI mode (the hashes are machine-independent)', async () => {
    const sandbox = await makeSandbox();
    for (const file of ['modules.json', 'modules.lock.json', 'modules.schema.json']) {
      await copyFile(path.join(ROOT, file), path.join(sandbox.project, file));
    }
    const result = await runCli(['install'], { sandbox, emulator, env: { BITBUCKET_TOKEN: TOKEN, CI: 'true' } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/4 downloaded/);
  });
});
